//! One JSON-RPC connection to a codex app-server, shared by many threads and turns.
//!
//! A single router task reads every message: responses complete pending requests by id,
//! notifications go to the turn of the thread they name, and server→client requests
//! (approvals, tool calls) are answered on tasks of their own so reading never waits.

use super::queue::QueueSender;
use crate::approvals::{self, ApprovalKind, ApprovalRequest, Approver, Settlement};
use crate::tools::ToolSet;
use crate::{Error, Result};
use codexkit_protocol::app_server::{ServerNotification, TurnNormalizer};
use codexkit_protocol::{ApprovalEvent, ThreadEvent};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// What the transport-specific pump hands the router.
#[derive(Debug)]
pub(crate) enum Inbound {
    /// One JSON-RPC message.
    Message(String),
    /// The link is gone, and why.
    Closed(ClosedInfo),
}

/// How a link ended.
#[derive(Debug, Clone, Default)]
pub(crate) struct ClosedInfo {
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub detail: String,
}

impl ClosedInfo {
    pub(crate) fn to_error(&self) -> Error {
        Error::ConnectionClosed {
            code: self.code,
            signal: self.signal,
            stderr_tail: self.detail.clone(),
        }
    }
}

/// Attempts for a request the server refused as overloaded.
const OVERLOAD_ATTEMPTS: u32 = 5;

/// The turn currently running on a thread.
struct TurnSink {
    queue: QueueSender,
    normalizer: TurnNormalizer,
    turn_id: Option<String>,
}

/// Per-thread routing state.
struct ThreadRoute {
    approver: Approver,
    /// The thread's host tools, which answer its `item/tool/call` requests.
    tools: Option<ToolSet>,
    turn: Option<TurnSink>,
}

/// A request waiting for its response: its method (for errors) and where the result goes.
type PendingRequest = (String, oneshot::Sender<Result<Value>>);

struct Shared {
    outgoing: mpsc::UnboundedSender<String>,
    next_id: AtomicI64,
    pending: Mutex<HashMap<i64, PendingRequest>>,
    routes: Mutex<HashMap<String, ThreadRoute>>,
    loaded_threads: Mutex<HashSet<String>>,
    closed: Mutex<Option<ClosedInfo>>,
    /// Whether `initialize` turned on the experimental API.
    experimental_api: AtomicBool,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A live connection. Cheap to share behind an `Arc`; dropping the last one ends the link.
pub(crate) struct Connection {
    shared: Arc<Shared>,
    /// Keeps the child process (if this connection spawned one) alive, and kills it on drop.
    _link_guard: Box<dyn Send + Sync>,
    /// Default deadline for a request.
    pub(crate) request_timeout: Duration,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Starts the router over a link: `inbound` from the link's reader, `outgoing` to its
    /// writer.
    pub(crate) fn start(
        inbound: mpsc::Receiver<Inbound>,
        outgoing: mpsc::UnboundedSender<String>,
        link_guard: Box<dyn Send + Sync>,
        request_timeout: Duration,
    ) -> Self {
        let shared = Arc::new(Shared {
            outgoing,
            next_id: AtomicI64::new(0),
            pending: Mutex::new(HashMap::new()),
            routes: Mutex::new(HashMap::new()),
            loaded_threads: Mutex::new(HashSet::new()),
            closed: Mutex::new(None),
            experimental_api: AtomicBool::new(false),
        });
        tokio::spawn(route(Arc::clone(&shared), inbound));
        Self {
            shared,
            _link_guard: link_guard,
            request_timeout,
        }
    }

    /// Whether the link is gone.
    pub(crate) fn is_closed(&self) -> bool {
        lock(&self.shared.closed).is_some()
    }

    fn closed_error(&self) -> Option<Error> {
        lock(&self.shared.closed).as_ref().map(ClosedInfo::to_error)
    }

    /// Sends a request and waits for its result, retrying "overloaded" refusals with jittered
    /// backoff. Every wait has the connection's request deadline.
    pub(crate) async fn request(&self, method: &str, params: Value) -> Result<Value> {
        self.request_with_timeout(method, params, self.request_timeout)
            .await
    }

    /// [`Connection::request`] with an explicit deadline per attempt.
    pub(crate) async fn request_with_timeout(
        &self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value> {
        self.request_traced(method, params, timeout, None).await
    }

    /// [`Connection::request_with_timeout`] with a W3C trace context (the request's
    /// top-level `trace` field).
    pub(crate) async fn request_traced(
        &self,
        method: &str,
        params: Value,
        timeout: Duration,
        trace: Option<&Value>,
    ) -> Result<Value> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self
                .request_once(method, params.clone(), timeout, trace)
                .await
            {
                Err(Error::Rpc { code, .. })
                    if code == crate::error::OVERLOADED && attempt < OVERLOAD_ATTEMPTS =>
                {
                    let delay = backoff(attempt);
                    tracing::debug!(method, attempt, ?delay, "app-server overloaded; retrying");
                    tokio::time::sleep(delay).await;
                }
                other => return other,
            }
        }
    }

    async fn request_once(
        &self,
        method: &str,
        params: Value,
        timeout: Duration,
        trace: Option<&Value>,
    ) -> Result<Value> {
        if let Some(error) = self.closed_error() {
            return Err(error);
        }
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        lock(&self.shared.pending).insert(id, (method.to_owned(), tx));
        let mut message = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        if let (Some(trace), Some(fields)) = (trace, message.as_object_mut()) {
            fields.insert("trace".into(), trace.clone());
        }
        if self.shared.outgoing.send(message.to_string()).is_err() {
            lock(&self.shared.pending).remove(&id);
            return Err(self
                .closed_error()
                .unwrap_or_else(|| ClosedInfo::default().to_error()));
        }
        // The link may have closed between the check above and registering: the router fails
        // everything pending when it closes, so the wait below ends either way.
        if let Some(error) = self.closed_error() {
            lock(&self.shared.pending).remove(&id);
            return Err(error);
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(self
                .closed_error()
                .unwrap_or_else(|| ClosedInfo::default().to_error())),
            Err(_) => {
                lock(&self.shared.pending).remove(&id);
                Err(Error::DeadlineExceeded {
                    deadline: "request",
                    after: timeout,
                })
            }
        }
    }

    /// Sends a notification (no answer expected).
    pub(crate) fn notify(&self, method: &str) -> Result<()> {
        let message = json!({"jsonrpc": "2.0", "method": method});
        self.shared.outgoing.send(message.to_string()).map_err(|_| {
            self.closed_error()
                .unwrap_or_else(|| ClosedInfo::default().to_error())
        })
    }

    /// Registers a thread so its approval requests use `approver`.
    pub(crate) fn register_thread(&self, thread_id: &str, approver: Approver) {
        let mut routes = lock(&self.shared.routes);
        match routes.get_mut(thread_id) {
            Some(route) => route.approver = approver,
            None => {
                routes.insert(
                    thread_id.to_owned(),
                    ThreadRoute {
                        approver,
                        tools: None,
                        turn: None,
                    },
                );
            }
        }
    }

    /// Sets the host tools that answer the thread's `item/tool/call` requests.
    pub(crate) fn register_tools(&self, thread_id: &str, tools: Option<ToolSet>) {
        let mut routes = lock(&self.shared.routes);
        let route = routes
            .entry(thread_id.to_owned())
            .or_insert_with(|| ThreadRoute {
                approver: Approver::default(),
                tools: None,
                turn: None,
            });
        route.tools = tools;
    }

    /// Records whether `initialize` turned on the experimental API.
    pub(crate) fn set_experimental_api(&self, enabled: bool) {
        self.shared
            .experimental_api
            .store(enabled, Ordering::Relaxed);
    }

    /// Whether the connection was initialized with the experimental API.
    pub(crate) fn experimental_api(&self) -> bool {
        self.shared.experimental_api.load(Ordering::Relaxed)
    }

    /// Whether this connection has loaded the thread (started, resumed or forked it).
    pub(crate) fn has_loaded(&self, thread_id: &str) -> bool {
        lock(&self.shared.loaded_threads).contains(thread_id)
    }

    /// Records that the thread is loaded on this connection.
    pub(crate) fn mark_loaded(&self, thread_id: &str) {
        lock(&self.shared.loaded_threads).insert(thread_id.to_owned());
    }

    /// Routes the thread's notifications to a new turn. Fails when a turn is already running
    /// on the thread or the connection is closed.
    pub(crate) fn attach_turn(&self, thread_id: &str, queue: QueueSender) -> Result<()> {
        if let Some(error) = self.closed_error() {
            return Err(error);
        }
        let mut routes = lock(&self.shared.routes);
        let route = routes
            .entry(thread_id.to_owned())
            .or_insert_with(|| ThreadRoute {
                approver: Approver::default(),
                tools: None,
                turn: None,
            });
        if route.turn.as_ref().is_some_and(|t| !t.queue.is_finished()) {
            return Err(Error::invalid(
                "turn",
                format!("thread {thread_id} already has a turn running; wait for it to end"),
            ));
        }
        route.turn = Some(TurnSink {
            queue,
            normalizer: TurnNormalizer::new(),
            turn_id: None,
        });
        Ok(())
    }

    /// Tells the router which turn id the thread's current turn has.
    pub(crate) fn set_turn_id(&self, thread_id: &str, turn_id: &str) {
        if let Some(turn) = lock(&self.shared.routes)
            .get_mut(thread_id)
            .and_then(|r| r.turn.as_mut())
        {
            turn.turn_id = Some(turn_id.to_owned());
        }
    }

    /// Stops routing to the thread's current turn (after it ended or was abandoned).
    pub(crate) fn detach_turn(&self, thread_id: &str) {
        if let Some(route) = lock(&self.shared.routes).get_mut(thread_id) {
            route.turn = None;
        }
    }
}

fn backoff(attempt: u32) -> Duration {
    let base = 100u64.saturating_mul(1 << attempt.min(6));
    Duration::from_millis(base + jitter_ms(base / 2))
}

/// A little randomness without a random-number crate: the clock's nanoseconds.
fn jitter_ms(max: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::from(d.subsec_nanos()))
        .unwrap_or(0);
    if max == 0 { 0 } else { nanos % max }
}

/// The router: the only reader of the link.
async fn route(shared: Arc<Shared>, mut inbound: mpsc::Receiver<Inbound>) {
    let info = loop {
        match inbound.recv().await {
            Some(Inbound::Message(text)) => dispatch(&shared, &text),
            Some(Inbound::Closed(info)) => break info,
            None => break ClosedInfo::default(),
        }
    };
    tracing::debug!(?info, "app-server connection closed");
    *lock(&shared.closed) = Some(info.clone());
    let pending: Vec<_> = lock(&shared.pending).drain().collect();
    for (_, (_, tx)) in pending {
        let _ = tx.send(Err(info.to_error()));
    }
    let mut routes = lock(&shared.routes);
    for route in routes.values_mut() {
        if let Some(turn) = route.turn.take() {
            turn.queue.fail(info.to_error());
        }
    }
}

fn dispatch(shared: &Arc<Shared>, text: &str) {
    let message: Value = match serde_json::from_str(text) {
        Ok(Value::Object(map)) => Value::Object(map),
        Ok(_) | Err(_) => {
            tracing::warn!(excerpt = %text.chars().take(200).collect::<String>(), "app-server sent a line that is not a JSON object");
            return;
        }
    };
    let method = message
        .get("method")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let id = message.get("id").cloned();
    match (method, id) {
        (Some(method), Some(id)) => {
            let params = message.get("params").cloned().unwrap_or(Value::Null);
            answer_server_request(shared, id, method, params);
        }
        (Some(_), None) => route_notification(shared, message),
        (None, Some(id)) => complete_request(shared, &id, &message),
        (None, None) => tracing::warn!("app-server sent a message with neither id nor method"),
    }
}

fn complete_request(shared: &Shared, id: &Value, message: &Value) {
    let Some(id) = id.as_i64() else {
        tracing::warn!(%id, "response to an id codexkit never used");
        return;
    };
    let Some((method, tx)) = lock(&shared.pending).remove(&id) else {
        tracing::debug!(id, "response after its request timed out");
        return;
    };
    let result = match message.get("error") {
        Some(error) => Err(Error::Rpc {
            method,
            code: error.get("code").and_then(Value::as_i64).unwrap_or(0),
            message: error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("no message")
                .to_owned(),
        }),
        None => Ok(message.get("result").cloned().unwrap_or(Value::Null)),
    };
    let _ = tx.send(result);
}

fn route_notification(shared: &Shared, message: Value) {
    let notification: ServerNotification = match serde_json::from_value(message) {
        Ok(n) => n,
        Err(error) => {
            tracing::debug!(%error, "undecodable app-server notification");
            return;
        }
    };
    let Some(thread_id) = notification.thread_id().map(str::to_owned) else {
        tracing::trace!(?notification, "app-server notification without a thread");
        return;
    };
    let mut routes = lock(&shared.routes);
    let Some(route) = routes.get_mut(&thread_id) else {
        return;
    };
    let Some(turn) = route.turn.as_mut() else {
        return;
    };
    if let (Some(expected), Some(got)) = (turn.turn_id.as_deref(), notification.turn_id())
        && expected != got
    {
        tracing::debug!(expected, got, "notification for another turn of the thread");
        return;
    }
    let mut ended = false;
    for event in turn.normalizer.on_notification(&notification) {
        // The turn's stream already opened with the thread's `thread.started` (as exec's
        // does); codex's own `thread/started` would announce the same thread twice.
        if matches!(event, ThreadEvent::ThreadStarted(_)) {
            continue;
        }
        ended |= event.is_terminal();
        turn.queue.push(event);
    }
    if ended {
        route.turn = None;
    }
}

/// Answers a server→client request. Approvals go to the thread's approver on a task of their
/// own; anything codexkit does not handle is refused at once, never left pending.
fn answer_server_request(shared: &Arc<Shared>, id: Value, method: String, params: Value) {
    if let Some(kind) = ApprovalKind::from_method(&method) {
        let thread_id = params
            .get("threadId")
            .or_else(|| params.get("conversationId"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let (approver, queue) = {
            let routes = lock(&shared.routes);
            match thread_id.as_deref().and_then(|t| routes.get(t)) {
                Some(route) => (
                    route.approver.clone(),
                    route.turn.as_ref().map(|t| t.queue.clone()),
                ),
                None => (Approver::default(), None),
            }
        };
        let shared = Arc::clone(shared);
        tokio::spawn(async move {
            let audit = ApprovalEvent::requested(id.clone(), kind.as_str(), params.clone());
            if let Some(queue) = &queue {
                queue.push(ThreadEvent::ApprovalRequested(audit.clone()));
            }
            let request = ApprovalRequest::new(kind, &method, params.clone());
            let settlement = approvals::settle(&approver, request).await;
            let (decision, decided_by, message) = match &settlement {
                Settlement::Decided { decision, deferred } => (
                    decision.clone(),
                    if *deferred { "deferred" } else { "handler" },
                    None,
                ),
                Settlement::TimedOut { fallback } => (
                    fallback.clone(),
                    "timeout",
                    Some(format!(
                        "no decision within {:?}; sent the fallback",
                        approver.timeout_for(kind)
                    )),
                ),
                Settlement::Failed { fallback, message } => {
                    (fallback.clone(), "fallback", Some(message.clone()))
                }
            };
            let decided = audit.decided(decision.label(), decided_by, message.clone());
            match &settlement {
                Settlement::TimedOut { .. } => tracing::warn!(
                    kind = kind.as_str(),
                    message = message.as_deref().unwrap_or(""),
                    "approval timed out"
                ),
                Settlement::Failed { .. } => tracing::warn!(
                    kind = kind.as_str(),
                    message = message.as_deref().unwrap_or(""),
                    "approval handler failed"
                ),
                Settlement::Decided { .. } => {
                    tracing::debug!(kind = kind.as_str(), decided_by, "approval decided")
                }
            }
            // The audit events go out before the answer: once codex has the answer it may end
            // the turn, and nothing is queued after the terminal event.
            if let Some(queue) = &queue {
                match &settlement {
                    Settlement::TimedOut { .. } => {
                        queue.push(ThreadEvent::ApprovalTimedOut(decided.clone()));
                    }
                    Settlement::Failed { .. } => {
                        queue.push(ThreadEvent::ApprovalFailed(decided.clone()));
                    }
                    Settlement::Decided { .. } => {}
                }
                queue.push(ThreadEvent::ApprovalResolved(decided));
            }
            let result = decision.to_result(&method, &params);
            let reply = json!({"jsonrpc": "2.0", "id": id, "result": result});
            if shared.outgoing.send(reply.to_string()).is_err() {
                tracing::debug!("connection closed before the approval answer was sent");
            }
        });
        return;
    }
    if method == "item/tool/call" {
        answer_tool_call(shared, id, params);
        return;
    }
    tracing::debug!(method, "refusing a server request codexkit does not handle");
    let reply = json!({"jsonrpc": "2.0", "id": id, "error": {
        "code": -32601,
        "message": format!("codexkit does not handle {method}"),
    }});
    let _ = shared.outgoing.send(reply.to_string());
}

/// Answers a dynamic tool call from the thread's tool set, on a task of its own: the call's
/// events go to the thread's turn before the answer goes to codex.
fn answer_tool_call(shared: &Arc<Shared>, id: Value, params: Value) {
    let thread_id = params.get("threadId").and_then(Value::as_str);
    let (tools, queue) = {
        let routes = lock(&shared.routes);
        match thread_id.and_then(|t| routes.get(t)) {
            Some(route) => (
                route.tools.clone(),
                route.turn.as_ref().map(|t| t.queue.clone()),
            ),
            None => (None, None),
        }
    };
    let Some(tools) = tools else {
        let result = crate::tools::dynamic::no_tools_response(&params);
        let reply = json!({"jsonrpc": "2.0", "id": id, "result": result});
        let _ = shared.outgoing.send(reply.to_string());
        return;
    };
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        let sink: crate::tools::runner::EventSink = Arc::new(move |event| {
            if let Some(queue) = &queue {
                queue.push(event);
            }
        });
        let result = crate::tools::dynamic::answer_call(&tools, &params, &sink).await;
        let reply = json!({"jsonrpc": "2.0", "id": id, "result": result});
        if shared.outgoing.send(reply.to_string()).is_err() {
            tracing::debug!("connection closed before the tool result was sent");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app_server::queue::event_queue;
    use crate::approvals::{ApprovalDecision, approval_fn};

    /// A connection over in-memory channels: the test plays the app-server.
    struct FakeServer {
        to_client: mpsc::Sender<Inbound>,
        from_client: mpsc::UnboundedReceiver<String>,
    }

    impl FakeServer {
        async fn next_message(&mut self) -> Value {
            let text = tokio::time::timeout(Duration::from_secs(5), self.from_client.recv())
                .await
                .expect("a message within 5 s")
                .expect("client still there");
            serde_json::from_str(&text).expect("client sends JSON")
        }

        async fn send(&self, message: Value) {
            self.to_client
                .send(Inbound::Message(message.to_string()))
                .await
                .expect("router alive");
        }
    }

    fn connect() -> (Arc<Connection>, FakeServer) {
        let (to_client, inbound) = mpsc::channel(64);
        let (outgoing, from_client) = mpsc::unbounded_channel();
        let connection = Connection::start(inbound, outgoing, Box::new(()), Duration::from_secs(5));
        (
            Arc::new(connection),
            FakeServer {
                to_client,
                from_client,
            },
        )
    }

    #[tokio::test]
    async fn responses_are_matched_by_id_and_errors_are_typed() {
        let (connection, mut server) = connect();
        let first = tokio::spawn({
            let c = Arc::clone(&connection);
            async move { c.request("thread/list", json!({})).await }
        });
        let second = tokio::spawn({
            let c = Arc::clone(&connection);
            async move { c.request("model/list", json!({})).await }
        });
        let a = server.next_message().await;
        let b = server.next_message().await;
        let (list, models) = if a["method"] == "thread/list" {
            (a, b)
        } else {
            (b, a)
        };
        // Answer out of order; server messages carry no "jsonrpc".
        server
            .send(json!({"id": models["id"], "error": {"code": -32600, "message": "nope"}}))
            .await;
        server
            .send(json!({"id": list["id"], "result": {"data": []}}))
            .await;
        assert_eq!(first.await.unwrap().unwrap(), json!({"data": []}));
        let error = second.await.unwrap().unwrap_err();
        assert!(
            matches!(&error, Error::Rpc { method, code: -32600, .. } if method == "model/list"),
            "{error:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn overloaded_requests_are_retried_with_backoff() {
        let (connection, mut server) = connect();
        let call = tokio::spawn({
            let c = Arc::clone(&connection);
            async move { c.request("turn/start", json!({})).await }
        });
        for _ in 0..2 {
            let request = server.next_message().await;
            server
                .send(json!({"id": request["id"], "error": {"code": -32001, "message": "busy"}}))
                .await;
        }
        let request = server.next_message().await;
        server
            .send(json!({"id": request["id"], "result": {"ok": true}}))
            .await;
        assert_eq!(call.await.unwrap().unwrap(), json!({"ok": true}));
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_without_an_answer_hits_its_deadline() {
        let (connection, mut server) = connect();
        let call = tokio::spawn({
            let c = Arc::clone(&connection);
            async move {
                c.request_with_timeout("thread/read", json!({}), Duration::from_secs(3))
                    .await
            }
        });
        let _ = server.next_message().await;
        let error = call.await.unwrap().unwrap_err();
        assert!(
            matches!(
                error,
                Error::DeadlineExceeded {
                    deadline: "request",
                    ..
                }
            ),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn closing_fails_pending_requests_and_streams_at_once() {
        let (connection, mut server) = connect();
        let (sender, mut receiver) = event_queue(16);
        connection.attach_turn("thread-1", sender).unwrap();
        let call = tokio::spawn({
            let c = Arc::clone(&connection);
            async move { c.request("thread/list", json!({})).await }
        });
        let _ = server.next_message().await;
        server
            .to_client
            .send(Inbound::Closed(ClosedInfo {
                code: Some(137),
                signal: None,
                detail: "killed".into(),
            }))
            .await
            .unwrap();
        let error = tokio::time::timeout(Duration::from_secs(2), call)
            .await
            .unwrap()
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(
                error,
                Error::ConnectionClosed {
                    code: Some(137),
                    ..
                }
            ),
            "{error:?}"
        );
        let streamed = receiver.pop().await.unwrap().unwrap_err();
        assert!(matches!(streamed, Error::ConnectionClosed { .. }));
        let after = connection
            .request("thread/list", json!({}))
            .await
            .unwrap_err();
        assert!(matches!(after, Error::ConnectionClosed { .. }));
    }

    #[tokio::test]
    async fn unknown_server_requests_are_refused_at_once() {
        let (_connection, mut server) = connect();
        server
            .send(json!({"id": 7, "method": "account/chatgptAuthTokens/refresh", "params": {}}))
            .await;
        let reply = server.next_message().await;
        assert_eq!(reply["id"], 7);
        assert_eq!(reply["error"]["code"], -32601);
        server
            .send(json!({"id": 8, "method": "item/tool/call", "params": {"tool": "lookup", "threadId": "t"}}))
            .await;
        let reply = server.next_message().await;
        assert_eq!(reply["id"], 8);
        assert_eq!(reply["result"]["success"], false);
    }

    #[tokio::test]
    async fn tool_calls_are_answered_from_the_thread_tool_set_with_events_first() {
        use crate::tools::{Tool, ToolOutput, ToolSet};
        let (connection, mut server) = connect();
        let tools = ToolSet::new()
            .with(Tool::new("lookup").raw_handler(|args| async move {
                // Slow enough that the router must not wait for it.
                tokio::time::sleep(Duration::from_millis(200)).await;
                Ok(ToolOutput::text(format!(
                    "sunny in {}",
                    args["city"].as_str().unwrap_or("?")
                )))
            }))
            .unwrap();
        connection.register_tools("thread-a", Some(tools));
        let (sender, mut events) = event_queue(64);
        connection.attach_turn("thread-a", sender).unwrap();
        server
            .send(json!({"id": 3, "method": "item/tool/call", "params": {"threadId": "thread-a", "turnId": "u", "callId": "call_1", "namespace": null, "tool": "lookup", "arguments": {"city": "Oslo"}}}))
            .await;
        // Meanwhile the router still routes other requests at once.
        server
            .send(json!({"id": 4, "method": "item/tool/call", "params": {"threadId": "thread-b", "tool": "lookup", "arguments": {}}}))
            .await;
        let first = server.next_message().await;
        assert_eq!(
            first["id"], 4,
            "a thread without tools is refused without waiting"
        );
        assert_eq!(first["result"]["success"], false);
        let reply = server.next_message().await;
        assert_eq!(
            reply,
            json!({"jsonrpc": "2.0", "id": 3, "result": {
                "contentItems": [{"type": "inputText", "text": "sunny in Oslo"}],
                "success": true,
            }})
        );
        server
            .send(json!({"method": "turn/completed", "params": {"threadId": "thread-a", "turn": {"id": "u", "status": "completed", "items": []}}}))
            .await;
        let mut kinds = Vec::new();
        while let Some(event) = events.pop().await {
            kinds.push(event.unwrap().kind().to_owned());
        }
        assert_eq!(
            kinds,
            ["tool.call.started", "tool.call.completed", "turn.completed"]
        );
    }

    #[tokio::test]
    async fn notifications_and_approvals_reach_only_their_thread() {
        let (connection, mut server) = connect();
        let (a_sender, mut a_events) = event_queue(64);
        let (b_sender, mut b_events) = event_queue(64);
        connection.register_thread(
            "thread-a",
            Approver::new(approval_fn(|_| async { Ok(ApprovalDecision::Accept) })),
        );
        connection.attach_turn("thread-a", a_sender).unwrap();
        connection.attach_turn("thread-b", b_sender).unwrap();
        server
            .send(json!({"method": "item/agentMessage/delta", "params": {"threadId": "thread-b", "turnId": "u", "itemId": "m", "delta": "for b"}}))
            .await;
        server
            .send(json!({"id": 0, "method": "item/commandExecution/requestApproval", "params": {"threadId": "thread-a", "turnId": "u", "itemId": "call_1", "command": "touch x"}}))
            .await;
        let reply = server.next_message().await;
        assert_eq!(
            reply,
            json!({"jsonrpc": "2.0", "id": 0, "result": {"decision": "accept"}})
        );
        // thread-b (default approver) is declined.
        server
            .send(json!({"id": 1, "method": "item/fileChange/requestApproval", "params": {"threadId": "thread-b", "turnId": "u", "itemId": "call_2"}}))
            .await;
        let reply = server.next_message().await;
        assert_eq!(reply["result"], json!({"decision": "decline"}));
        server
            .send(json!({"method": "turn/completed", "params": {"threadId": "thread-a", "turn": {"id": "u", "status": "completed", "items": []}}}))
            .await;
        server
            .send(json!({"method": "turn/completed", "params": {"threadId": "thread-b", "turn": {"id": "u", "status": "completed", "items": []}}}))
            .await;

        let mut a_kinds = Vec::new();
        while let Some(event) = a_events.pop().await {
            a_kinds.push(event.unwrap().kind().to_owned());
        }
        let mut b_kinds = Vec::new();
        while let Some(event) = b_events.pop().await {
            b_kinds.push(event.unwrap().kind().to_owned());
        }
        assert_eq!(
            a_kinds,
            ["approval.requested", "approval.resolved", "turn.completed"]
        );
        assert_eq!(
            b_kinds,
            [
                "item.agent_message.delta",
                "approval.requested",
                "approval.resolved",
                "turn.completed"
            ]
        );
        assert!(
            connection.attach_turn("thread-a", event_queue(1).0).is_ok(),
            "the ended turn was detached"
        );
    }
}
