//! Scenarios: the scripted answers of the mock model, as a JSON file or built in Rust.
//!
//! # JSON format
//!
//! ```json
//! {
//!   "name": "shell then answer",
//!   "retries": 0,
//!   "responses": [
//!     {"output": [{"reasoning": "Planning"}, {"exec_command": "echo hi"}],
//!      "usage": {"input_tokens": 100, "input_tokens_details": {"cached_tokens": 10},
//!                "output_tokens": 20, "output_tokens_details": {"reasoning_tokens": 5},
//!                "total_tokens": 120}},
//!     {"output": [{"message": "the command printed: {{last_output}}"}]}
//!   ]
//! }
//! ```
//!
//! Top-level keys: `responses` (required), `retries` (optional `u32`, see
//! [`Scenario::retries`]), `per_thread` (optional boolean, see below) and `name` (optional).
//! Any other key is an error ([`ScenarioError::UnknownKey`]), and so is an unknown key inside
//! a response or an item: a typo in a scenario file must not pass silently.
//!
//! Each entry of `responses` answers the next `POST /v1/responses`, in order (the first entry
//! answers the first request).
//!
//! With `"per_thread": true` the order is kept per conversation instead: each codex thread
//! walks through `responses` from the start on its own, so several threads (or several codex
//! processes) can share one mock concurrently. The conversation of a request is its
//! [thread key](crate::RecordedRequest::thread_key): the `session-id` header, else the
//! `thread-id` header, else the body's `prompt_cache_key` (codex sets all three to the thread
//! id). Requests with none of them share one cursor.
//!
//! An entry is exactly one of:
//!
//! * `{"output": [ITEM, ...], "usage": {...}}`: a normal streamed turn. `usage` is optional and
//!   sent verbatim as `response.usage` of `response.completed` (see [`usage`]).
//! * `{"status": 500, "body": "...", "headers": {"retry-after": "1"}}`: a plain HTTP reply with
//!   that status. `body` (default empty) is a string sent as is, or any other JSON value, which
//!   is sent serialized. `headers` is optional.
//! * `{"sse": [EVENT, ...]}`: raw SSE events. An object is sent as one frame
//!   `event: <its "type">\ndata: <json>\n\n` (a `data:`-only frame when it has no string
//!   `"type"`); a string is sent verbatim as `data: <string>\n\n`, which lets a test send
//!   malformed JSON.
//!
//! Every entry may also have `"delay_ms": N` (wait N milliseconds before answering) and, for
//! `output` and `sse` entries, one of:
//!
//! * `"cut_after": K`: send only the first K SSE frames, counting `response.created`, then end
//!   the stream without `response.completed`.
//! * `"hang_after": K`: send the first K SSE frames, then keep the response open and send
//!   nothing more until the client disconnects or the mock shuts down (for interrupt and
//!   deadline tests). When K is at least the number of frames, every frame is sent before
//!   the hold.
//!
//! An `output` entry may also have `"stream": true`: it is then sent the way the real API
//! streams it (see [`crate::sse::streamed_output_events`]). Messages get
//! `response.output_item.added`, `response.content_part.added`, their text in about three
//! `response.output_text.delta` frames, `response.output_text.done`,
//! `response.content_part.done` and `response.output_item.done`; reasoning items get
//! `response.output_item.added`, `response.reasoning_summary_part.added`, one
//! `response.reasoning_summary_text.delta`, `response.reasoning_summary_text.done` and
//! `response.output_item.done`. Tool calls and `raw` items are still one
//! `response.output_item.done` each.
//!
//! An `ITEM` of `output` is exactly one of:
//!
//! | JSON | sent as |
//! |---|---|
//! | `{"message": "text"}`, optional `"phase": "commentary"` | assistant `message` with one `output_text` part |
//! | `{"reasoning": "summary"}` | `reasoning` item with one `summary_text` |
//! | `{"exec_command": "cmd"}` | `function_call` `exec_command`, arguments `{"cmd":"cmd"}` |
//! | `{"apply_patch": "*** Begin Patch..."}` | `custom_tool_call` `apply_patch` with that `input` |
//! | `{"tool": "name", "namespace": "ns", "arguments": {...}}` | `function_call`; `namespace` and `arguments` optional |
//! | `{"raw": {...}}` | the object, sent as the item unchanged |
//!
//! `arguments` of `tool` is serialized to the JSON string that `function_call.arguments`
//! carries (default `{}`). If it is already a JSON string, that string is used verbatim, which
//! lets a test send malformed arguments.
//!
//! # Generated ids
//!
//! Ids are deterministic, so reruns send identical bytes. For the n-th response (1-based,
//! equal to the number of the request it answers) and its i-th output item (1-based):
//! `resp_<n>` for the response, `msg_<n>_<i>` for messages, `rs_<n>_<i>` for reasoning,
//! `fc_<n>_<i>` for function calls, `ctc_<n>_<i>` for custom tool calls and `call_<n>_<i>` for
//! the `call_id` of both kinds of calls. With `per_thread`, n is the position of the response
//! in the list (the number of the request within its thread), so every thread gets the same
//! ids: codex does not need them to be unique across threads.
//!
//! # `{{last_output}}`
//!
//! In message text, `{{last_output}}` is replaced by the output of the most recent tool call
//! found in the request being answered; see [`last_tool_output`] for the exact rule. With no
//! tool output in that request it is replaced by an empty string.

use std::fmt;
use std::path::Path;

use serde_json::{Map, Value, json};

/// The placeholder replaced in message text by the last tool output of the request.
pub const LAST_OUTPUT_PLACEHOLDER: &str = "{{last_output}}";

/// Where a scenario came from, used in error messages.
const INLINE_ORIGIN: &str = "<inline scenario>";

/// An error while reading, parsing or validating a scenario.
///
/// Every variant names the origin: the file path, or `<inline scenario>` for text and values
/// parsed directly.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// The scenario file could not be read.
    #[error("scenario {origin}: cannot read file: {source}")]
    Io {
        /// The file path.
        origin: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The text is not valid JSON (the message has line and column).
    #[error("scenario {origin}: invalid JSON: {source}")]
    Json {
        /// The file path or `<inline scenario>`.
        origin: String,
        /// The underlying serde error.
        #[source]
        source: serde_json::Error,
    },
    /// An object has a key that the format does not define.
    #[error("scenario {origin}: unknown key `{key}` in {location}")]
    UnknownKey {
        /// The file path or `<inline scenario>`.
        origin: String,
        /// Where the object is, e.g. `top level` or `responses[1].output[0]`.
        location: String,
        /// The unexpected key.
        key: String,
    },
    /// A value has the wrong type or an invalid content.
    #[error("scenario {origin}: {location}: {message}")]
    Invalid {
        /// The file path or `<inline scenario>`.
        origin: String,
        /// Where the value is, e.g. `responses[0].status`.
        location: String,
        /// What is wrong.
        message: String,
    },
}

impl ScenarioError {
    /// The file path, or `<inline scenario>`, that the error is about.
    pub fn origin(&self) -> &str {
        match self {
            Self::Io { origin, .. }
            | Self::Json { origin, .. }
            | Self::UnknownKey { origin, .. }
            | Self::Invalid { origin, .. } => origin,
        }
    }
}

/// Builds a Responses API `usage` object from four numbers.
///
/// The result is
/// `{"input_tokens", "input_tokens_details": {"cached_tokens"}, "output_tokens",
/// "output_tokens_details": {"reasoning_tokens"}, "total_tokens"}` with
/// `total_tokens = input_tokens + output_tokens`.
///
/// ```
/// let u = codexkit_testkit::usage(100, 10, 20, 5);
/// assert_eq!(u["total_tokens"], 120);
/// assert_eq!(u["input_tokens_details"]["cached_tokens"], 10);
/// ```
pub fn usage(
    input_tokens: u64,
    cached_tokens: u64,
    output_tokens: u64,
    reasoning_tokens: u64,
) -> Value {
    json!({
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": cached_tokens},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
        "total_tokens": input_tokens.saturating_add(output_tokens),
    })
}

/// A whole scenario: the ordered answers of the mock model.
///
/// Build it in Rust or parse it from JSON (see the [module docs](self) for the format):
///
/// ```
/// use codexkit_testkit::{MockResponse, OutputItem, Scenario, usage};
///
/// let scenario = Scenario::new()
///     .name("shell")
///     .response(MockResponse::output([OutputItem::exec_command("echo hi")]))
///     .response(MockResponse::message("it said {{last_output}}").with_usage(usage(100, 0, 20, 0)));
/// let parsed = Scenario::from_json_str(
///     r#"{"name":"shell","responses":[{"output":[{"exec_command":"echo hi"}]},
///        {"output":[{"message":"it said {{last_output}}"}],
///         "usage":{"input_tokens":100,"input_tokens_details":{"cached_tokens":0},
///                  "output_tokens":20,"output_tokens_details":{"reasoning_tokens":0},
///                  "total_tokens":120}}]}"#,
/// ).unwrap();
/// assert_eq!(scenario, parsed);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Scenario {
    /// An optional name, for messages.
    pub name: Option<String>,
    /// Retries that the codex provider should be configured with (both
    /// `request_max_retries` and `stream_max_retries`); `None` keeps codex's defaults.
    /// [`crate::HermeticCodex::new`] picks it up.
    pub retries: Option<u32>,
    /// Whether each conversation walks through [`responses`](Self::responses) on its own (one
    /// cursor per [thread key](crate::RecordedRequest::thread_key)) instead of all requests
    /// sharing one cursor in arrival order.
    pub per_thread: bool,
    /// The answers, in request order.
    pub responses: Vec<MockResponse>,
}

impl Scenario {
    /// An empty scenario: every request is answered with HTTP 400.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the provider retries (see [`Scenario::retries`](Self#structfield.retries)).
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = Some(retries);
        self
    }

    /// Gives every conversation its own cursor (see
    /// [`per_thread`](Self#structfield.per_thread)): each codex thread, identified by
    /// [`RecordedRequest::thread_key`](crate::RecordedRequest::thread_key), gets the responses
    /// from the first one on, independently of the others.
    pub fn per_thread(mut self, per_thread: bool) -> Self {
        self.per_thread = per_thread;
        self
    }

    /// Appends the answer to the next request.
    pub fn response(mut self, response: MockResponse) -> Self {
        self.responses.push(response);
        self
    }

    /// Reads and parses a scenario file. Errors name the file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ScenarioError> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            origin: origin.clone(),
            source,
        })?;
        Self::parse(&text, &origin)
    }

    /// Parses scenario JSON text; errors name the origin `<inline scenario>`.
    pub fn from_json_str(text: &str) -> Result<Self, ScenarioError> {
        Self::parse(text, INLINE_ORIGIN)
    }

    /// Parses scenario JSON text; errors name `origin` (for example a file name).
    pub fn parse(text: &str, origin: &str) -> Result<Self, ScenarioError> {
        let value: Value = serde_json::from_str(text).map_err(|source| ScenarioError::Json {
            origin: origin.to_owned(),
            source,
        })?;
        let scenario = Parser { origin }.scenario(&value)?;
        scenario.validate_as(origin)?;
        Ok(scenario)
    }

    /// Converts an already parsed JSON value; errors name the origin `<inline scenario>`.
    pub fn from_value(value: &Value) -> Result<Self, ScenarioError> {
        let scenario = Parser {
            origin: INLINE_ORIGIN,
        }
        .scenario(value)?;
        scenario.validate_as(INLINE_ORIGIN)?;
        Ok(scenario)
    }

    /// The scenario in its JSON form; [`Scenario::from_value`] gives it back.
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        if let Some(name) = &self.name {
            map.insert("name".into(), Value::String(name.clone()));
        }
        if let Some(retries) = self.retries {
            map.insert("retries".into(), Value::from(retries));
        }
        if self.per_thread {
            map.insert("per_thread".into(), Value::Bool(true));
        }
        map.insert(
            "responses".into(),
            Value::Array(self.responses.iter().map(MockResponse::to_value).collect()),
        );
        Value::Object(map)
    }

    /// Checks what the JSON parser checks but a Rust builder cannot prevent: valid HTTP
    /// statuses, header names and values, no `cut_after` or `hang_after` on HTTP replies,
    /// `stream` only on `output` answers, and never both `cut_after` and `hang_after`.
    /// [`crate::MockModel::start`] calls it.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        self.validate_as(self.name.as_deref().unwrap_or(INLINE_ORIGIN))
    }

    fn validate_as(&self, origin: &str) -> Result<(), ScenarioError> {
        for (index, response) in self.responses.iter().enumerate() {
            let invalid = |field: &str, message: String| ScenarioError::Invalid {
                origin: origin.to_owned(),
                location: format!("responses[{index}]{field}"),
                message,
            };
            if let ResponseBody::Http {
                status, headers, ..
            } = &response.body
            {
                if !(100..=999).contains(status) {
                    return Err(invalid(
                        ".status",
                        format!("HTTP status {status} is out of range"),
                    ));
                }
                for (name, value) in headers {
                    if axum::http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                        return Err(invalid(".headers", format!("invalid header name {name:?}")));
                    }
                    if axum::http::HeaderValue::from_str(value).is_err() {
                        return Err(invalid(
                            ".headers",
                            format!("invalid value {value:?} for header {name:?}"),
                        ));
                    }
                }
                if response.cut_after.is_some() {
                    return Err(invalid(
                        ".cut_after",
                        "`cut_after` applies to `output` and `sse` responses only".into(),
                    ));
                }
                if response.hang_after.is_some() {
                    return Err(invalid(
                        ".hang_after",
                        "`hang_after` applies to `output` and `sse` responses only".into(),
                    ));
                }
            }
            if response.stream && !matches!(response.body, ResponseBody::Output { .. }) {
                return Err(invalid(
                    ".stream",
                    "`stream` applies to `output` responses only".into(),
                ));
            }
            if response.cut_after.is_some() && response.hang_after.is_some() {
                return Err(invalid(
                    "",
                    "keys `cut_after` and `hang_after` cannot be combined".into(),
                ));
            }
        }
        Ok(())
    }
}

impl serde::Serialize for Scenario {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for Scenario {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Self::from_value(&value).map_err(serde::de::Error::custom)
    }
}

/// One scripted answer to one `POST /v1/responses`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MockResponse {
    /// What is sent.
    pub body: ResponseBody,
    /// Milliseconds to wait before answering.
    pub delay_ms: Option<u64>,
    /// For SSE answers: send only this many frames (counting `response.created`), then end
    /// the stream without `response.completed`.
    pub cut_after: Option<usize>,
    /// For SSE answers: send only this many frames (counting `response.created`), then keep
    /// the response open, sending nothing, until the client disconnects or the mock shuts
    /// down. Cannot be combined with [`cut_after`](Self::cut_after).
    pub hang_after: Option<usize>,
    /// For `output` answers: stream messages and reasoning with `added`/`delta`/`done` events
    /// as the real API does (see [`crate::sse::streamed_output_events`]).
    pub stream: bool,
}

impl MockResponse {
    fn from_body(body: ResponseBody) -> Self {
        Self {
            body,
            delay_ms: None,
            cut_after: None,
            hang_after: None,
            stream: false,
        }
    }

    /// A streamed turn with these output items and no usage.
    pub fn output(items: impl IntoIterator<Item = OutputItem>) -> Self {
        Self::from_body(ResponseBody::Output {
            items: items.into_iter().collect(),
            usage: None,
        })
    }

    /// A streamed turn with one assistant message.
    pub fn message(text: impl Into<String>) -> Self {
        Self::output([OutputItem::message(text)])
    }

    /// A plain HTTP reply with this status and body (a string sent as is).
    pub fn http_error(status: u16, body: impl Into<String>) -> Self {
        Self::from_body(ResponseBody::Http {
            status,
            body: body.into(),
            headers: Vec::new(),
        })
    }

    /// Raw SSE events: an object is sent as one frame, a string as `data: <string>`.
    pub fn sse(events: impl IntoIterator<Item = Value>) -> Self {
        Self::from_body(ResponseBody::Sse {
            events: events.into_iter().collect(),
        })
    }

    /// Sets the `usage` of `response.completed`; no effect on other kinds of answers.
    pub fn with_usage(mut self, usage_value: Value) -> Self {
        if let ResponseBody::Output { usage, .. } = &mut self.body {
            *usage = Some(usage_value);
        }
        self
    }

    /// Adds a header to an HTTP reply; no effect on other kinds of answers.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        if let ResponseBody::Http { headers, .. } = &mut self.body {
            headers.push((name.into(), value.into()));
        }
        self
    }

    /// Waits this many milliseconds before answering.
    pub fn delay_ms(mut self, ms: u64) -> Self {
        self.delay_ms = Some(ms);
        self
    }

    /// Sends only the first `frames` SSE frames, then ends the stream without
    /// `response.completed`.
    pub fn cut_after(mut self, frames: usize) -> Self {
        self.cut_after = Some(frames);
        self
    }

    /// Sends only the first `frames` SSE frames, then keeps the response open without sending
    /// anything more, until the client disconnects or the mock is dropped or shut down.
    /// Cannot be combined with [`cut_after`](Self::cut_after) (a validation error).
    pub fn hang_after(mut self, frames: usize) -> Self {
        self.hang_after = Some(frames);
        self
    }

    /// Streams the output as the real API does: messages as `output_item.added`,
    /// `content_part.added`, about three `output_text.delta` frames, `output_text.done`,
    /// `content_part.done` and `output_item.done`; reasoning summaries likewise. Tool calls
    /// are still one `output_item.done` each. Only for [`output`](Self::output) answers (a
    /// validation error on others).
    pub fn streamed(mut self) -> Self {
        self.stream = true;
        self
    }

    /// The answer in its JSON scenario form.
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        match &self.body {
            ResponseBody::Output { items, usage } => {
                map.insert(
                    "output".into(),
                    Value::Array(items.iter().map(OutputItem::to_value).collect()),
                );
                if let Some(usage) = usage {
                    map.insert("usage".into(), usage.clone());
                }
            }
            ResponseBody::Http {
                status,
                body,
                headers,
            } => {
                map.insert("status".into(), Value::from(*status));
                map.insert("body".into(), Value::String(body.clone()));
                if !headers.is_empty() {
                    let headers: Map<String, Value> = headers
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                        .collect();
                    map.insert("headers".into(), Value::Object(headers));
                }
            }
            ResponseBody::Sse { events } => {
                map.insert("sse".into(), Value::Array(events.clone()));
            }
        }
        if let Some(delay) = self.delay_ms {
            map.insert("delay_ms".into(), Value::from(delay));
        }
        if let Some(cut) = self.cut_after {
            map.insert("cut_after".into(), Value::from(cut));
        }
        if let Some(hang) = self.hang_after {
            map.insert("hang_after".into(), Value::from(hang));
        }
        if self.stream {
            map.insert("stream".into(), Value::Bool(true));
        }
        Value::Object(map)
    }
}

/// What a [`MockResponse`] sends.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ResponseBody {
    /// `200 text/event-stream`: `response.created`, one `response.output_item.done` per
    /// item, then `response.completed`. With [`MockResponse::stream`], messages and reasoning
    /// also get the `added`/`delta`/`done` events of the real API.
    Output {
        /// The output items, in order.
        items: Vec<OutputItem>,
        /// `response.usage` of `response.completed`, sent verbatim when present.
        usage: Option<Value>,
    },
    /// A plain HTTP reply.
    Http {
        /// The status code.
        status: u16,
        /// The body, sent as is. A body that parses as JSON is sent as `application/json`,
        /// any other as `text/plain`, unless `headers` sets `content-type`.
        body: String,
        /// Extra headers, in order.
        headers: Vec<(String, String)>,
    },
    /// `200 text/event-stream` with these raw events, one frame each.
    Sse {
        /// Objects are sent as `event: <type>\ndata: <json>`; strings as `data: <string>`.
        events: Vec<Value>,
    },
}

/// One output item of a streamed turn.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum OutputItem {
    /// An assistant `message`. `{{last_output}}` in the text is substituted.
    Message {
        /// The text.
        text: String,
        /// The optional `phase` (`"commentary"`, `"final_answer"`, ...).
        phase: Option<String>,
    },
    /// A `reasoning` item with one summary text.
    Reasoning(String),
    /// A `function_call` of `exec_command` with arguments `{"cmd": <command>}`.
    ExecCommand(String),
    /// A `custom_tool_call` of `apply_patch` with this patch as `input`.
    ApplyPatch(String),
    /// A `function_call` of any tool.
    Tool {
        /// The tool name.
        name: String,
        /// The namespace (MCP servers as `mcp__<server>`, dynamic tool namespaces).
        namespace: Option<String>,
        /// The arguments: serialized to a JSON string, or used verbatim if a JSON string.
        arguments: Value,
    },
    /// An item object sent unchanged.
    Raw(Value),
}

impl OutputItem {
    /// An assistant message.
    pub fn message(text: impl Into<String>) -> Self {
        Self::Message {
            text: text.into(),
            phase: None,
        }
    }

    /// An assistant message with a `phase` (`"commentary"`, `"final_answer"`).
    pub fn message_with_phase(text: impl Into<String>, phase: impl Into<String>) -> Self {
        Self::Message {
            text: text.into(),
            phase: Some(phase.into()),
        }
    }

    /// A reasoning item with this summary text.
    pub fn reasoning(summary: impl Into<String>) -> Self {
        Self::Reasoning(summary.into())
    }

    /// An `exec_command` call running `cmd`.
    pub fn exec_command(cmd: impl Into<String>) -> Self {
        Self::ExecCommand(cmd.into())
    }

    /// An `apply_patch` call with this patch text.
    pub fn apply_patch(patch: impl Into<String>) -> Self {
        Self::ApplyPatch(patch.into())
    }

    /// A call of tool `name` (no namespace) with these arguments.
    pub fn tool(name: impl Into<String>, arguments: Value) -> Self {
        Self::Tool {
            name: name.into(),
            namespace: None,
            arguments,
        }
    }

    /// A call of tool `name` in `namespace` with these arguments.
    pub fn namespaced_tool(
        namespace: impl Into<String>,
        name: impl Into<String>,
        arguments: Value,
    ) -> Self {
        Self::Tool {
            name: name.into(),
            namespace: Some(namespace.into()),
            arguments,
        }
    }

    /// An item object sent unchanged.
    pub fn raw(item: Value) -> Self {
        Self::Raw(item)
    }

    /// The item in its JSON scenario form.
    pub fn to_value(&self) -> Value {
        match self {
            Self::Message { text, phase } => {
                let mut map = Map::new();
                map.insert("message".into(), Value::String(text.clone()));
                if let Some(phase) = phase {
                    map.insert("phase".into(), Value::String(phase.clone()));
                }
                Value::Object(map)
            }
            Self::Reasoning(text) => json!({ "reasoning": text }),
            Self::ExecCommand(cmd) => json!({ "exec_command": cmd }),
            Self::ApplyPatch(patch) => json!({ "apply_patch": patch }),
            Self::Tool {
                name,
                namespace,
                arguments,
            } => {
                let mut map = Map::new();
                map.insert("tool".into(), Value::String(name.clone()));
                if let Some(ns) = namespace {
                    map.insert("namespace".into(), Value::String(ns.clone()));
                }
                map.insert("arguments".into(), arguments.clone());
                Value::Object(map)
            }
            Self::Raw(item) => json!({ "raw": item }),
        }
    }

    /// The Responses API item this sends, as item `item_number` (1-based) of response
    /// `response_number` (1-based), with `{{last_output}}` in message text replaced by
    /// `last_output`. See the [module docs](self) for the ids.
    pub fn to_response_item(
        &self,
        response_number: usize,
        item_number: usize,
        last_output: &str,
    ) -> Value {
        let suffix = format!("{response_number}_{item_number}");
        match self {
            Self::Message { text, phase } => {
                let text = text.replace(LAST_OUTPUT_PLACEHOLDER, last_output);
                let mut item = json!({
                    "type": "message",
                    "role": "assistant",
                    "id": format!("msg_{suffix}"),
                    "content": [{"type": "output_text", "text": text}],
                });
                if let (Some(phase), Some(map)) = (phase, item.as_object_mut()) {
                    map.insert("phase".into(), Value::String(phase.clone()));
                }
                item
            }
            Self::Reasoning(summary) => json!({
                "type": "reasoning",
                "id": format!("rs_{suffix}"),
                "summary": [{"type": "summary_text", "text": summary}],
                "encrypted_content": "codexkit-mock-opaque",
            }),
            Self::ExecCommand(cmd) => json!({
                "type": "function_call",
                "id": format!("fc_{suffix}"),
                "call_id": format!("call_{suffix}"),
                "name": "exec_command",
                "arguments": json!({ "cmd": cmd }).to_string(),
            }),
            Self::ApplyPatch(patch) => json!({
                "type": "custom_tool_call",
                "id": format!("ctc_{suffix}"),
                "call_id": format!("call_{suffix}"),
                "name": "apply_patch",
                "input": patch,
            }),
            Self::Tool {
                name,
                namespace,
                arguments,
            } => {
                let arguments = match arguments {
                    Value::String(verbatim) => verbatim.clone(),
                    other => other.to_string(),
                };
                let mut item = json!({
                    "type": "function_call",
                    "id": format!("fc_{suffix}"),
                    "call_id": format!("call_{suffix}"),
                    "name": name,
                    "arguments": arguments,
                });
                if let (Some(ns), Some(map)) = (namespace, item.as_object_mut()) {
                    map.insert("namespace".into(), Value::String(ns.clone()));
                }
                item
            }
            Self::Raw(item) => item.clone(),
        }
    }
}

/// Header lines that codex puts before `Output:` in tool outputs.
const OUTPUT_HEADER_PREFIXES: &[&str] = &[
    "Chunk ID:",
    "Wall time:",
    "Process exited with code",
    "Process running with session ID",
    "Original token count:",
    "Exit code:",
];

/// The output of the most recent tool call in a `POST /v1/responses` body: the rule behind
/// `{{last_output}}`.
///
/// 1. Take the last item of `input` whose `type` is `function_call_output` or
///    `custom_tool_call_output`. None: `None`.
/// 2. Its `output` is a string, or an array of parts whose `text` fields (of
///    `input_text`/`output_text` parts) are joined with `"\n"`. Any other shape gives `""`.
/// 3. Codex wraps outputs in a header, e.g.
///    `Chunk ID: …\nWall time: …\nProcess exited with code 0\nOriginal token count: N\nOutput:\n<real output>`
///    for `exec_command`, `Exit code: 0\nWall time: …\nOutput:\n…` for `apply_patch` and
///    `Wall time: …\nOutput:\n…` for MCP tools. When the text has a line that is exactly
///    `Output:` and every line before it starts with one of codex's header labels (`Chunk ID:`,
///    `Wall time:`, `Process exited with code`, `Process running with session ID`,
///    `Original token count:`, `Exit code:`), only the part after that `Output:` line is
///    returned. Otherwise the whole text is returned unchanged.
pub fn last_tool_output(request_body: &Value) -> Option<String> {
    let input = request_body.get("input")?.as_array()?;
    let item = input.iter().rev().find(|item| {
        matches!(
            item.get("type").and_then(Value::as_str),
            Some("function_call_output" | "custom_tool_call_output")
        )
    })?;
    let text = match item.get("output") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter(|part| {
                matches!(
                    part.get("type").and_then(Value::as_str),
                    Some("input_text" | "output_text" | "text")
                )
            })
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    };
    Some(strip_output_header(&text).to_owned())
}

/// Returns the text after codex's `Output:` header line, or the whole text when it has none.
fn strip_output_header(text: &str) -> &str {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let bare = line.strip_suffix('\n').unwrap_or(line);
        let bare = bare.strip_suffix('\r').unwrap_or(bare);
        if bare == "Output:" {
            if offset == 0 {
                // An `Output:` first line with no header before it is not codex's wrapper.
                return text;
            }
            return &text[offset + line.len()..];
        }
        if !OUTPUT_HEADER_PREFIXES.iter().any(|p| bare.starts_with(p)) {
            return text;
        }
        offset += line.len();
    }
    text
}

/// Converts scenario JSON into [`Scenario`], with located errors.
struct Parser<'a> {
    origin: &'a str,
}

impl Parser<'_> {
    fn invalid(&self, location: &str, message: impl fmt::Display) -> ScenarioError {
        ScenarioError::Invalid {
            origin: self.origin.to_owned(),
            location: location.to_owned(),
            message: message.to_string(),
        }
    }

    fn object<'v>(
        &self,
        value: &'v Value,
        location: &str,
        allowed: &[&str],
    ) -> Result<&'v Map<String, Value>, ScenarioError> {
        let map = value
            .as_object()
            .ok_or_else(|| self.invalid(location, format!("expected an object, got {value}")))?;
        if let Some(key) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(ScenarioError::UnknownKey {
                origin: self.origin.to_owned(),
                location: location.to_owned(),
                key: key.clone(),
            });
        }
        Ok(map)
    }

    fn string(&self, value: &Value, location: &str) -> Result<String, ScenarioError> {
        value
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| self.invalid(location, format!("expected a string, got {value}")))
    }

    fn boolean(&self, value: &Value, location: &str) -> Result<bool, ScenarioError> {
        value
            .as_bool()
            .ok_or_else(|| self.invalid(location, format!("expected a boolean, got {value}")))
    }

    fn unsigned(&self, value: &Value, location: &str) -> Result<u64, ScenarioError> {
        value.as_u64().ok_or_else(|| {
            self.invalid(
                location,
                format!("expected a non-negative integer, got {value}"),
            )
        })
    }

    /// Exactly one of `kinds` must be a key of `map`.
    fn one_kind<'k>(
        &self,
        map: &Map<String, Value>,
        location: &str,
        kinds: &[&'k str],
    ) -> Result<&'k str, ScenarioError> {
        let present: Vec<&'k str> = kinds
            .iter()
            .copied()
            .filter(|k| map.contains_key(*k))
            .collect();
        match present.as_slice() {
            [one] => Ok(one),
            [] => Err(self.invalid(
                location,
                format!(
                    "expected one of the keys {}",
                    kinds
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
            several => Err(self.invalid(
                location,
                format!(
                    "keys {} cannot be combined",
                    several
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
            )),
        }
    }

    fn scenario(&self, value: &Value) -> Result<Scenario, ScenarioError> {
        let map = self.object(
            value,
            "top level",
            &["name", "retries", "per_thread", "responses"],
        )?;
        let name = map
            .get("name")
            .map(|v| self.string(v, "name"))
            .transpose()?;
        let retries = map
            .get("retries")
            .map(|v| {
                let n = self.unsigned(v, "retries")?;
                u32::try_from(n).map_err(|_| self.invalid("retries", "value is too large"))
            })
            .transpose()?;
        let per_thread = map
            .get("per_thread")
            .map(|v| self.boolean(v, "per_thread"))
            .transpose()?
            .unwrap_or(false);
        let responses = map
            .get("responses")
            .ok_or_else(|| self.invalid("top level", "missing key `responses`"))?
            .as_array()
            .ok_or_else(|| self.invalid("responses", "expected an array"))?
            .iter()
            .enumerate()
            .map(|(i, v)| self.response(v, &format!("responses[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Scenario {
            name,
            retries,
            per_thread,
            responses,
        })
    }

    fn response(&self, value: &Value, location: &str) -> Result<MockResponse, ScenarioError> {
        let map = self.object(
            value,
            location,
            &[
                "output",
                "usage",
                "status",
                "body",
                "headers",
                "sse",
                "delay_ms",
                "cut_after",
                "hang_after",
                "stream",
            ],
        )?;
        let kind = self.one_kind(map, location, &["output", "status", "sse"])?;
        let foreign: &[&str] = match kind {
            "output" => &["body", "headers"],
            "status" => &["usage", "cut_after", "hang_after", "stream"],
            _ => &["usage", "body", "headers", "stream"],
        };
        if let Some(key) = foreign.iter().find(|k| map.contains_key(**k)) {
            return Err(self.invalid(
                location,
                format!("key `{key}` does not apply to a `{kind}` response"),
            ));
        }
        let body = match kind {
            "output" => {
                let at = format!("{location}.output");
                let items = map
                    .get("output")
                    .and_then(Value::as_array)
                    .ok_or_else(|| self.invalid(&at, "expected an array of items"))?
                    .iter()
                    .enumerate()
                    .map(|(i, v)| self.item(v, &format!("{at}[{i}]")))
                    .collect::<Result<Vec<_>, _>>()?;
                let usage = match map.get("usage") {
                    None | Some(Value::Null) => None,
                    Some(u @ Value::Object(_)) => Some(u.clone()),
                    Some(other) => {
                        return Err(self.invalid(
                            &format!("{location}.usage"),
                            format!("expected an object, got {other}"),
                        ));
                    }
                };
                ResponseBody::Output { items, usage }
            }
            "status" => {
                let at = format!("{location}.status");
                let status = map
                    .get("status")
                    .map(|v| self.unsigned(v, &at))
                    .transpose()?
                    .unwrap_or_default();
                let status = u16::try_from(status)
                    .ok()
                    .filter(|s| (100..=999).contains(s))
                    .ok_or_else(|| {
                        self.invalid(&at, format!("HTTP status {status} is out of range"))
                    })?;
                let body = match map.get("body") {
                    None | Some(Value::Null) => String::new(),
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                };
                let headers = match map.get("headers") {
                    None => Vec::new(),
                    Some(h) => {
                        let at = format!("{location}.headers");
                        h.as_object()
                            .ok_or_else(|| self.invalid(&at, "expected an object"))?
                            .iter()
                            .map(|(k, v)| Ok((k.clone(), self.string(v, &format!("{at}.{k}"))?)))
                            .collect::<Result<Vec<_>, ScenarioError>>()?
                    }
                };
                ResponseBody::Http {
                    status,
                    body,
                    headers,
                }
            }
            _ => {
                let at = format!("{location}.sse");
                let events = map
                    .get("sse")
                    .and_then(Value::as_array)
                    .ok_or_else(|| self.invalid(&at, "expected an array of events"))?;
                for (i, event) in events.iter().enumerate() {
                    if !(event.is_object() || event.is_string()) {
                        return Err(self.invalid(
                            &format!("{at}[{i}]"),
                            format!("expected an object or a string, got {event}"),
                        ));
                    }
                }
                ResponseBody::Sse {
                    events: events.clone(),
                }
            }
        };
        let delay_ms = map
            .get("delay_ms")
            .map(|v| self.unsigned(v, &format!("{location}.delay_ms")))
            .transpose()?;
        let frames = |key: &str| {
            map.get(key)
                .map(|v| {
                    let at = format!("{location}.{key}");
                    let n = self.unsigned(v, &at)?;
                    usize::try_from(n).map_err(|_| self.invalid(&at, "value is too large"))
                })
                .transpose()
        };
        let cut_after = frames("cut_after")?;
        let hang_after = frames("hang_after")?;
        if cut_after.is_some() && hang_after.is_some() {
            return Err(self.invalid(
                location,
                "keys `cut_after` and `hang_after` cannot be combined",
            ));
        }
        let stream = map
            .get("stream")
            .map(|v| self.boolean(v, &format!("{location}.stream")))
            .transpose()?
            .unwrap_or(false);
        Ok(MockResponse {
            body,
            delay_ms,
            cut_after,
            hang_after,
            stream,
        })
    }

    fn item(&self, value: &Value, location: &str) -> Result<OutputItem, ScenarioError> {
        let map = self.object(
            value,
            location,
            &[
                "message",
                "phase",
                "reasoning",
                "exec_command",
                "apply_patch",
                "tool",
                "namespace",
                "arguments",
                "raw",
            ],
        )?;
        let kind = self.one_kind(
            map,
            location,
            &[
                "message",
                "reasoning",
                "exec_command",
                "apply_patch",
                "tool",
                "raw",
            ],
        )?;
        let allowed_extra: &[&str] = match kind {
            "message" => &["phase"],
            "tool" => &["namespace", "arguments"],
            _ => &[],
        };
        if let Some(key) = ["phase", "namespace", "arguments"]
            .iter()
            .find(|k| map.contains_key(**k) && !allowed_extra.contains(k))
        {
            return Err(self.invalid(
                location,
                format!("key `{key}` does not apply to a `{kind}` item"),
            ));
        }
        let field = |key: &str| -> Result<String, ScenarioError> {
            let v = map.get(key).unwrap_or(&Value::Null);
            self.string(v, &format!("{location}.{key}"))
        };
        Ok(match kind {
            "message" => OutputItem::Message {
                text: field("message")?,
                phase: if map.contains_key("phase") {
                    Some(field("phase")?)
                } else {
                    None
                },
            },
            "reasoning" => OutputItem::Reasoning(field("reasoning")?),
            "exec_command" => OutputItem::ExecCommand(field("exec_command")?),
            "apply_patch" => OutputItem::ApplyPatch(field("apply_patch")?),
            "tool" => OutputItem::Tool {
                name: field("tool")?,
                namespace: if map.contains_key("namespace") {
                    Some(field("namespace")?)
                } else {
                    None
                },
                arguments: map.get("arguments").cloned().unwrap_or_else(|| json!({})),
            },
            _ => {
                let raw = map.get("raw").unwrap_or(&Value::Null);
                if !raw.is_object() {
                    return Err(self.invalid(
                        &format!("{location}.raw"),
                        format!("expected an object, got {raw}"),
                    ));
                }
                OutputItem::Raw(raw.clone())
            }
        })
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "scenario {} ({} responses)",
            self.name.as_deref().unwrap_or("<unnamed>"),
            self.responses.len()
        )
    }
}
