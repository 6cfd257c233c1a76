//! The mock Responses API server.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::scenario::{MockResponse, ResponseBody, Scenario, ScenarioError, last_tool_output};
use crate::sse;

/// The only route the mock serves.
const RESPONSES_PATH: &str = "/v1/responses";

/// Largest request body read (image inputs make bodies big).
const MAX_BODY_BYTES: usize = 256 * 1024 * 1024;

/// The headers that name a conversation, in order of preference (codex sets both, and
/// `x-client-request-id`, to the thread id).
const THREAD_HEADERS: &[&str] = &["session-id", "thread-id"];

/// An error of the mock server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MockError {
    /// The scenario is invalid.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The listening socket could not be opened.
    #[error("codexkit mock: cannot listen on 127.0.0.1: {0}")]
    Bind(#[source] std::io::Error),
    /// [`MockModel::wait_for_requests`] reached its deadline.
    #[error("codexkit mock: waited {waited:?} for {expected} request(s), got {got}")]
    Timeout {
        /// How long it waited.
        waited: Duration,
        /// How many requests it waited for.
        expected: usize,
        /// How many had arrived.
        got: usize,
    },
    /// [`MockModel::ensure_no_failures`] found failures.
    #[error("codexkit mock: {} failure(s): {}", .0.len(), .0.join("; "))]
    Failures(Vec<String>),
}

/// One HTTP request that the mock received, as received.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// 1-based arrival number among all requests the mock received.
    pub seq: usize,
    /// The method, e.g. `POST`.
    pub method: String,
    /// The path without the query, e.g. `/v1/responses`.
    pub path: String,
    /// The query string without `?`, if any.
    pub query: Option<String>,
    /// The headers in arrival order, names lower-case. Values that are not UTF-8 are
    /// converted lossily.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
    /// The body parsed as JSON, when it is JSON.
    pub json: Option<Value>,
}

impl RecordedRequest {
    /// Whether this is a `POST /v1/responses` (a model request).
    pub fn is_model_request(&self) -> bool {
        self.method == "POST" && self.path == RESPONSES_PATH
    }

    /// The body parsed as JSON, when it is JSON.
    pub fn body_json(&self) -> Option<&Value> {
        self.json.as_ref()
    }

    /// The body as text (lossy UTF-8).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `model` field of the body.
    pub fn model(&self) -> Option<&str> {
        self.json.as_ref()?.get("model")?.as_str()
    }

    /// The items of the body's `input` array (empty when there is none).
    pub fn input_items(&self) -> &[Value] {
        self.json
            .as_ref()
            .and_then(|j| j.get("input"))
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The texts of user-role message items in `input`, one entry per text part
    /// (`input_text` parts, or a plain string `content`), in order. This includes the
    /// `<environment_context>` message codex sends as a user message.
    pub fn user_texts(&self) -> Vec<String> {
        let mut texts = Vec::new();
        for item in self.input_items() {
            let is_user_message = item.get("role").and_then(Value::as_str) == Some("user")
                && item
                    .get("type")
                    .and_then(Value::as_str)
                    .is_none_or(|t| t == "message");
            if !is_user_message {
                continue;
            }
            match item.get("content") {
                Some(Value::String(text)) => texts.push(text.clone()),
                Some(Value::Array(parts)) => texts.extend(
                    parts
                        .iter()
                        .filter(|p| {
                            matches!(
                                p.get("type").and_then(Value::as_str),
                                Some("input_text" | "text")
                            )
                        })
                        .filter_map(|p| p.get("text").and_then(Value::as_str))
                        .map(str::to_owned),
                ),
                _ => {}
            }
        }
        texts
    }

    /// The last entry of [`user_texts`](Self::user_texts): usually the prompt.
    pub fn last_user_text(&self) -> Option<String> {
        self.user_texts().pop()
    }

    /// Whether any `input` item contains an `input_image` part.
    pub fn has_input_image(&self) -> bool {
        fn contains_image(value: &Value) -> bool {
            match value {
                Value::Object(map) => {
                    map.get("type").and_then(Value::as_str) == Some("input_image")
                        || map.values().any(contains_image)
                }
                Value::Array(items) => items.iter().any(contains_image),
                _ => false,
            }
        }
        self.input_items().iter().any(contains_image)
    }

    /// The body's `text.format` (set by `--output-schema`), if any.
    pub fn text_format(&self) -> Option<&Value> {
        self.json.as_ref()?.get("text")?.get("format")
    }

    /// The output of the last tool call in `input`, by the rule of
    /// [`crate::scenario::last_tool_output`] (what `{{last_output}}` becomes).
    pub fn last_tool_output(&self) -> Option<String> {
        last_tool_output(self.json.as_ref()?)
    }

    /// The conversation this request belongs to: the first non-empty value among the
    /// `session-id` header, the `thread-id` header and the body's `prompt_cache_key` (codex
    /// sets all three to the thread id). `None` when there is none of them.
    ///
    /// With [`Scenario::per_thread`](crate::Scenario#structfield.per_thread) the mock keeps one
    /// cursor through the responses per thread key.
    pub fn thread_key(&self) -> Option<&str> {
        thread_key_of(&self.headers, self.json.as_ref())
    }
}

fn thread_key_of<'a>(headers: &'a [(String, String)], json: Option<&'a Value>) -> Option<&'a str> {
    THREAD_HEADERS
        .iter()
        .find_map(|wanted| {
            headers
                .iter()
                .find(|(name, value)| name.eq_ignore_ascii_case(wanted) && !value.is_empty())
                .map(|(_, value)| value.as_str())
        })
        .or_else(|| {
            json?
                .get("prompt_cache_key")?
                .as_str()
                .filter(|key| !key.is_empty())
        })
}

/// How failures and error bodies name the conversation of a per-thread request.
fn thread_label(key: Option<&str>) -> String {
    match key {
        Some(key) => format!("thread {key:?}"),
        None => "the requests without a thread key".to_owned(),
    }
}

#[derive(Default)]
struct Log {
    requests: Vec<RecordedRequest>,
    failures: Vec<String>,
    model_requests: usize,
    /// With `per_thread`: model requests received per thread key.
    cursors: HashMap<Option<String>, usize>,
}

struct Shared {
    scenario: Scenario,
    log: Mutex<Log>,
    count: watch::Sender<usize>,
    /// Becomes `true` (or loses its sender) when the mock shuts down; ends `hang_after` holds.
    stop: watch::Receiver<bool>,
}

impl Shared {
    fn log(&self) -> MutexGuard<'_, Log> {
        self.log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A mock OpenAI Responses API server on `127.0.0.1`, answering from a [`Scenario`].
///
/// * `POST /v1/responses` number N (1-based) is answered by `scenario.responses[N-1]`.
///   With [`Scenario::per_thread`](crate::Scenario#structfield.per_thread), N counts only the
///   requests of the same [thread key](RecordedRequest::thread_key), so each conversation
///   walks through the responses on its own.
/// * A `POST /v1/responses` beyond the list gets HTTP 400 with body
///   `codexkit mock: no scenario response left for request #N` (codex does not retry a 400),
///   and a failure is recorded. With `per_thread`, both name the thread:
///   `... for request #N of thread "<key>"`.
/// * Any other method or path gets HTTP 404 and a failure is recorded.
/// * A body that is not JSON is answered normally, and a failure is recorded.
///
/// Every request is recorded before it is answered (before any `delay_ms`). The server stops
/// when the value is dropped or [`shutdown`](Self::shutdown) is called; responses held open by
/// `hang_after` then end (without `response.completed`).
///
/// ```no_run
/// # async fn demo() -> Result<(), codexkit_testkit::MockError> {
/// use codexkit_testkit::{MockModel, MockResponse, Scenario};
/// let mock = MockModel::start(Scenario::new().response(MockResponse::message("hi"))).await?;
/// // ... run codex against mock.base_url() ...
/// mock.wait_for_requests(1, std::time::Duration::from_secs(10)).await?;
/// mock.ensure_no_failures()?;
/// # Ok(()) }
/// ```
#[non_exhaustive]
pub struct MockModel {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: Option<JoinHandle<()>>,
    /// Set to `true` (and dropped) on shutdown, which ends the `hang_after` holds.
    stop: watch::Sender<bool>,
}

impl std::fmt::Debug for MockModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockModel")
            .field("addr", &self.addr)
            .field("scenario", &self.shared.scenario.name)
            .field("requests", &self.request_count())
            .finish()
    }
}

impl MockModel {
    /// Validates the scenario, binds `127.0.0.1:0` and starts serving on the current tokio
    /// runtime.
    pub async fn start(scenario: Scenario) -> Result<Self, MockError> {
        scenario.validate()?;
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(MockError::Bind)?;
        let addr = listener.local_addr().map_err(MockError::Bind)?;
        let (count, _) = watch::channel(0);
        let (stop, stop_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            scenario,
            log: Mutex::new(Log::default()),
            count,
            stop: stop_rx,
        });
        let router = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                tracing::warn!(%error, "codexkit mock server stopped");
            }
        });
        tracing::debug!(%addr, "codexkit mock model listening");
        Ok(Self {
            addr,
            shared,
            task: Some(task),
            stop,
        })
    }

    /// Reads a scenario file and starts a server for it.
    pub async fn from_file(path: impl AsRef<Path>) -> Result<Self, MockError> {
        Self::start(Scenario::from_file(path)?).await
    }

    /// `http://127.0.0.1:PORT/v1`: the provider `base_url` (codex appends `/responses`).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The scenario being served.
    pub fn scenario(&self) -> &Scenario {
        &self.shared.scenario
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.log().requests.clone()
    }

    /// The requests (of any kind) whose [`thread_key`](RecordedRequest::thread_key) is
    /// `thread_key`, in arrival order: one conversation's requests.
    pub fn requests_for(&self, thread_key: &str) -> Vec<RecordedRequest> {
        self.shared
            .log()
            .requests
            .iter()
            .filter(|r| r.thread_key() == Some(thread_key))
            .cloned()
            .collect()
    }

    /// Only the `POST /v1/responses` requests, in arrival order.
    pub fn model_requests(&self) -> Vec<RecordedRequest> {
        self.shared
            .log()
            .requests
            .iter()
            .filter(|r| r.is_model_request())
            .cloned()
            .collect()
    }

    /// How many requests (of any kind) were received.
    pub fn request_count(&self) -> usize {
        self.shared.log().requests.len()
    }

    /// How many scenario responses have not been used yet.
    ///
    /// With [`Scenario::per_thread`](crate::Scenario#structfield.per_thread): the most that any
    /// thread seen so far has left (0 once every thread seen has used the whole list), or the
    /// whole list before the first model request.
    pub fn remaining_responses(&self) -> usize {
        let log = self.shared.log();
        let used = if self.shared.scenario.per_thread {
            log.cursors.values().copied().min().unwrap_or(0)
        } else {
            log.model_requests
        };
        self.shared.scenario.responses.len().saturating_sub(used)
    }

    /// The failures recorded so far: requests beyond the scenario, unknown routes, bodies
    /// that are not JSON.
    pub fn failures(&self) -> Vec<String> {
        self.shared.log().failures.clone()
    }

    /// `Err(MockError::Failures)` when any failure was recorded.
    pub fn ensure_no_failures(&self) -> Result<(), MockError> {
        let failures = self.failures();
        if failures.is_empty() {
            Ok(())
        } else {
            Err(MockError::Failures(failures))
        }
    }

    /// Waits until at least `n` requests (of any kind) were received, at most `timeout`, and
    /// returns all requests received.
    pub async fn wait_for_requests(
        &self,
        n: usize,
        timeout: Duration,
    ) -> Result<Vec<RecordedRequest>, MockError> {
        let mut rx = self.shared.count.subscribe();
        let reached = tokio::time::timeout(timeout, async {
            // `wait_for` only fails when the sender is gone; `self.shared` keeps it alive.
            rx.wait_for(|count| *count >= n).await.is_ok()
        })
        .await
        .unwrap_or(false);
        if reached {
            Ok(self.requests())
        } else {
            Err(MockError::Timeout {
                waited: timeout,
                expected: n,
                got: self.request_count(),
            })
        }
    }

    /// Stops the server and waits until it no longer accepts connections. Responses held
    /// open by `hang_after` end.
    pub async fn shutdown(mut self) {
        self.stop.send_replace(true);
        if let Some(task) = self.task.take() {
            task.abort();
            // The only possible error is the cancellation just requested.
            let _ = task.await;
        }
    }
}

impl Drop for MockModel {
    fn drop(&mut self) {
        self.stop.send_replace(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let (body, body_error) = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => (bytes.to_vec(), None),
        Err(error) => (Vec::new(), Some(error.to_string())),
    };
    let json: Option<Value> = serde_json::from_slice(&body).ok();
    let method = parts.method.as_str().to_owned();
    let path = parts.uri.path().to_owned();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let is_model = parts.method == axum::http::Method::POST && path == RESPONSES_PATH;
    let last_output = json.as_ref().and_then(last_tool_output).unwrap_or_default();
    let json_missing = json.is_none();
    let per_thread = shared.scenario.per_thread;
    let thread_key = per_thread
        .then(|| thread_key_of(&headers, json.as_ref()).map(str::to_owned))
        .flatten();

    let (seq, model_number) = {
        let mut log = shared.log();
        let seq = log.requests.len() + 1;
        log.requests.push(RecordedRequest {
            seq,
            method: method.clone(),
            path: path.clone(),
            query: parts.uri.query().map(str::to_owned),
            headers,
            body,
            json,
        });
        let model_number = if is_model {
            log.model_requests += 1;
            if per_thread {
                let cursor = log.cursors.entry(thread_key.clone()).or_insert(0);
                *cursor += 1;
                Some(*cursor)
            } else {
                Some(log.model_requests)
            }
        } else {
            log.failures.push(format!(
                "request #{seq}: unexpected {method} {path} (only POST {RESPONSES_PATH} is served)"
            ));
            None
        };
        if let Some(error) = body_error {
            log.failures
                .push(format!("request #{seq}: cannot read the body: {error}"));
        } else if is_model && json_missing {
            log.failures.push(format!(
                "request #{seq} (POST {RESPONSES_PATH}): the body is not valid JSON"
            ));
        }
        (seq, model_number)
    };
    shared.count.send_replace(seq);

    let Some(number) = model_number else {
        tracing::debug!(%method, %path, "codexkit mock: unexpected request");
        return (
            StatusCode::NOT_FOUND,
            format!("codexkit mock: no route for {method} {path}"),
        )
            .into_response();
    };
    let Some(response) = shared.scenario.responses.get(number - 1) else {
        let available = shared.scenario.responses.len();
        let of_thread = if per_thread {
            format!(" of {}", thread_label(thread_key.as_deref()))
        } else {
            String::new()
        };
        shared.log().failures.push(format!(
            "request #{seq} (POST {RESPONSES_PATH} #{number}{of_thread}): no scenario response \
             left (the scenario has {available})"
        ));
        return (
            StatusCode::BAD_REQUEST,
            format!("codexkit mock: no scenario response left for request #{number}{of_thread}"),
        )
            .into_response();
    };
    if let Some(ms) = response.delay_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    answer(response, number, &last_output, &shared.stop)
}

fn answer(
    response: &MockResponse,
    number: usize,
    last_output: &str,
    stop: &watch::Receiver<bool>,
) -> Response {
    let limit = match (response.cut_after, response.hang_after) {
        (_, Some(frames)) => Limit::HangAfter(frames, stop.clone()),
        (Some(frames), None) => Limit::CutAfter(frames),
        (None, None) => Limit::None,
    };
    match &response.body {
        ResponseBody::Output { items, usage } => {
            let events = if response.stream {
                sse::streamed_output_events(number, items, usage.as_ref(), last_output)
            } else {
                sse::output_events(number, items, usage.as_ref(), last_output)
            };
            sse_reply(&events, limit)
        }
        ResponseBody::Sse { events } => sse_reply(events, limit),
        ResponseBody::Http {
            status,
            body,
            headers,
        } => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut map = HeaderMap::new();
            // Names and values were checked by `Scenario::validate` in `MockModel::start`.
            for (name, value) in headers {
                if let (Ok(name), Ok(value)) = (
                    HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_str(value),
                ) {
                    map.append(name, value);
                }
            }
            if !map.contains_key(header::CONTENT_TYPE) {
                let content_type = if serde_json::from_str::<Value>(body).is_ok() {
                    "application/json"
                } else {
                    "text/plain; charset=utf-8"
                };
                map.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            }
            (status, map, body.clone()).into_response()
        }
    }
}

/// How much of an SSE reply is sent.
enum Limit {
    /// Every frame.
    None,
    /// The first N frames, then the end of the stream.
    CutAfter(usize),
    /// The first N frames, then nothing until the client goes away or the mock stops.
    HangAfter(usize, watch::Receiver<bool>),
}

fn sse_reply(events: &[Value], limit: Limit) -> Response {
    let take = match &limit {
        Limit::None => usize::MAX,
        Limit::CutAfter(frames) | Limit::HangAfter(frames, _) => *frames,
    };
    let frames: Vec<String> = events.iter().take(take).map(sse::encode_event).collect();
    let head = futures_util::stream::iter(frames.into_iter().map(Ok::<_, Infallible>));
    let body = match limit {
        Limit::HangAfter(_, mut stop) => {
            // Ends when the mock sets `stop` or drops its sender; when the client goes away,
            // hyper drops the body and this future with it.
            let hold = async move {
                // An error only means the sender is gone: the mock stopped either way.
                let _ = stop.wait_for(|stopped| *stopped).await;
            };
            let tail = futures_util::stream::once(hold)
                .filter_map(|()| std::future::ready(None::<Result<String, Infallible>>));
            Body::from_stream(head.chain(tail))
        }
        Limit::None | Limit::CutAfter(_) => Body::from_stream(head),
    };
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, sse::CONTENT_TYPE),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}
