//! Runs one tool call, whatever the transport: lookup, argument check, guards, the handler on
//! its own task under its timeout. Every path ends in a result for the model; nothing hangs
//! or panics.

use super::definition::ToolOutput;
use super::guard::{GuardDecision, ToolCall};
use super::registry::{RegisteredTool, ToolSet, qualified};
use codexkit_protocol::{ThreadEvent, ToolCallEvent};
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Instrument as _;

/// Where a call's `tool.call.*` events go.
pub(crate) type EventSink = Arc<dyn Fn(ThreadEvent) + Send + Sync>;

/// Longest list of schema violations reported to the model.
const MAX_VIOLATIONS: usize = 10;

/// A call as the transport received it.
#[derive(Debug, Clone)]
pub(crate) struct CallRequest {
    pub namespace: Option<String>,
    pub name: String,
    pub arguments: Value,
    pub call_id: Option<String>,
    pub thread_id: Option<String>,
    pub turn_id: Option<String>,
}

/// Why a call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureKind {
    UnknownTool,
    InvalidArguments,
    Denied,
    HandlerError,
    Panicked,
    TimedOut,
}

impl FailureKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::UnknownTool => "unknown_tool",
            Self::InvalidArguments => "invalid_arguments",
            Self::Denied => "denied",
            Self::HandlerError => "handler_error",
            Self::Panicked => "panicked",
            Self::TimedOut => "timed_out",
        }
    }
}

/// What the model gets back.
#[derive(Debug, Clone)]
pub(crate) enum CallResult {
    Success(ToolOutput),
    Failure { kind: FailureKind, message: String },
}

impl CallResult {
    fn failure(kind: FailureKind, message: impl Into<String>) -> Self {
        Self::Failure {
            kind,
            message: message.into(),
        }
    }
}

/// Aborts the task when dropped, so a cancelled call does not leave its handler running.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs `future` on a task of its own with a deadline. `Err` says why it gave no value.
async fn run_isolated<T: Send + 'static>(
    future: impl std::future::Future<Output = T> + Send + 'static,
    timeout: Duration,
) -> Result<T, Isolation> {
    let mut task = AbortOnDrop(tokio::spawn(future));
    match tokio::time::timeout(timeout, &mut task.0).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) if error.is_panic() => {
            Err(Isolation::Panicked(panic_message(error.into_panic())))
        }
        Ok(Err(_)) => Err(Isolation::Panicked("the task was cancelled".into())),
        Err(_) => Err(Isolation::TimedOut),
    }
}

enum Isolation {
    Panicked(String),
    TimedOut,
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a non-text panic payload".to_owned()
    }
}

/// Runs one call from `set`, emitting `tool.call.started` and `tool.call.completed` to
/// `events` and tracing a span for it.
pub(crate) async fn run_call(
    set: &ToolSet,
    request: CallRequest,
    events: &EventSink,
) -> CallResult {
    let qualified_name = qualified(request.namespace.as_deref(), &request.name);
    let span = tracing::info_span!(
        "tool_call",
        tool = %qualified_name,
        call_id = request.call_id.as_deref().unwrap_or(""),
    );
    run_traced(set, request, events, qualified_name)
        .instrument(span)
        .await
}

async fn run_traced(
    set: &ToolSet,
    request: CallRequest,
    events: &EventSink,
    qualified_name: String,
) -> CallResult {
    let started_at = Instant::now();
    let tool = set.lookup(request.namespace.as_deref(), &request.name);
    let shown_arguments = match &tool {
        Some(tool) => tool.tool.redact(&request.arguments),
        None => request.arguments.clone(),
    };
    let started = ToolCallEvent::started(
        request.call_id.clone(),
        request.namespace.clone(),
        request.name.clone(),
        shown_arguments,
    );
    events(ThreadEvent::ToolCallStarted(started.clone()));
    tracing::debug!("host tool call started");

    let result = match tool {
        None => CallResult::failure(
            FailureKind::UnknownTool,
            format!(
                "unknown tool {qualified_name}; the registered tools are: {}",
                set.describe_names()
            ),
        ),
        Some(tool) => execute(set, &tool, request, &qualified_name).await,
    };

    let elapsed = u64::try_from(started_at.elapsed().as_millis()).unwrap_or(u64::MAX);
    let completed = match &result {
        CallResult::Success(_) => {
            tracing::debug!(duration_ms = elapsed, "host tool call succeeded");
            started.succeeded(elapsed)
        }
        CallResult::Failure { kind, message } => {
            tracing::warn!(
                duration_ms = elapsed,
                failure = kind.as_str(),
                error = %message,
                "host tool call failed"
            );
            started.failed(elapsed, kind.as_str(), message.clone())
        }
    };
    events(ThreadEvent::ToolCallCompleted(completed));
    result
}

async fn execute(
    set: &ToolSet,
    tool: &Arc<RegisteredTool>,
    request: CallRequest,
    qualified_name: &str,
) -> CallResult {
    // MCP clients may omit arguments for a tool without parameters.
    let arguments = match request.arguments {
        Value::Null => Value::Object(Map::new()),
        other => other,
    };
    let violations: Vec<String> = tool
        .validator
        .iter_errors(&arguments)
        .take(MAX_VIOLATIONS)
        .map(|error| {
            let path = error.instance_path().to_string();
            if path.is_empty() {
                format!("- {error}")
            } else {
                format!("- at {path}: {error}")
            }
        })
        .collect();
    if !violations.is_empty() {
        return CallResult::failure(
            FailureKind::InvalidArguments,
            format!(
                "invalid arguments for tool {qualified_name}:\n{}",
                violations.join("\n")
            ),
        );
    }

    let timeout = tool.tool.timeout;
    let call = ToolCall {
        namespace: request.namespace.clone(),
        name: request.name.clone(),
        arguments: arguments.clone(),
        call_id: request.call_id.clone(),
        thread_id: request.thread_id.clone(),
        turn_id: request.turn_id.clone(),
    };
    if let Some(denied) = check_guards(set, tool, call, timeout).await {
        return CallResult::failure(
            FailureKind::Denied,
            format!("the host denied the call of tool {qualified_name}: {denied}"),
        );
    }

    let Some(handler) = tool.tool.handler.clone() else {
        return CallResult::failure(
            FailureKind::HandlerError,
            format!("tool {qualified_name} has no handler"),
        );
    };
    match run_isolated(async move { handler(arguments).await }, timeout).await {
        Ok(Ok(output)) => match output.serialize_error.clone() {
            Some(message) => CallResult::failure(FailureKind::HandlerError, message),
            None => CallResult::Success(output),
        },
        Ok(Err(error)) if error.invalid_arguments => CallResult::failure(
            FailureKind::InvalidArguments,
            format!("invalid arguments for tool {qualified_name}: {error}"),
        ),
        Ok(Err(error)) => CallResult::failure(
            FailureKind::HandlerError,
            format!("tool {qualified_name} failed: {error}"),
        ),
        Err(Isolation::Panicked(message)) => CallResult::failure(
            FailureKind::Panicked,
            format!("tool {qualified_name} failed: its handler panicked: {message}"),
        ),
        Err(Isolation::TimedOut) => CallResult::failure(
            FailureKind::TimedOut,
            format!(
                "tool {qualified_name} did not finish within {}; it was stopped",
                humanize(timeout)
            ),
        ),
    }
}

/// The per-tool predicate, then the set's guard. `Some(reason)` when the call is denied.
async fn check_guards(
    set: &ToolSet,
    tool: &Arc<RegisteredTool>,
    call: ToolCall,
    timeout: Duration,
) -> Option<String> {
    if let Some(predicate) = tool.tool.predicate.clone() {
        let checked = call.clone();
        match run_isolated(async move { predicate(&checked) }, timeout).await {
            Ok(GuardDecision::Allow) => {}
            Ok(GuardDecision::Deny(reason)) => return Some(reason),
            Err(Isolation::Panicked(message)) => {
                return Some(format!("the tool's guard panicked ({message})"));
            }
            Err(Isolation::TimedOut) => return Some("the tool's guard did not answer".into()),
        }
    }
    if let Some(guard) = set.guard() {
        let future = guard.check(call);
        match run_isolated(future, timeout).await {
            Ok(GuardDecision::Allow) => {}
            Ok(GuardDecision::Deny(reason)) => return Some(reason),
            Err(Isolation::Panicked(message)) => {
                return Some(format!("the guard panicked ({message})"));
            }
            Err(Isolation::TimedOut) => {
                return Some(format!(
                    "the guard did not answer within {}",
                    humanize(timeout)
                ));
            }
        }
    }
    None
}

fn humanize(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{} s", duration.as_secs())
    } else {
        format!("{} ms", duration.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::{GuardDecision, Tool, ToolError, guard_fn};
    use serde_json::json;
    use std::sync::Mutex;

    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct Add {
        a: i64,
        b: i64,
    }

    fn set() -> ToolSet {
        let set = ToolSet::new();
        set.register(
            Tool::new("add")
                .secret_field("b")
                .handler(|args: Add| async move {
                    Ok(ToolOutput::json(&json!({"sum": args.a + args.b})))
                }),
        )
        .unwrap();
        set.register(Tool::new("fail").raw_handler(|_| async { Err(ToolError::new("no luck")) }))
            .unwrap();
        set.register(Tool::new("boom").raw_handler(|_| async {
            if true {
                panic!("kaboom");
            }
            Ok(ToolOutput::text(""))
        }))
        .unwrap();
        set.register(
            Tool::new("slow")
                .timeout(Duration::from_millis(50))
                .raw_handler(|_| async {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    Ok(ToolOutput::text("late"))
                }),
        )
        .unwrap();
        set.register(
            Tool::new("guarded")
                .guard(|call| match call.arguments.get("ok") {
                    Some(Value::Bool(true)) => GuardDecision::Allow,
                    _ => GuardDecision::deny("ok must be true"),
                })
                .raw_handler(|_| async { Ok(ToolOutput::text("ran")) }),
        )
        .unwrap();
        set
    }

    fn request(name: &str, arguments: Value) -> CallRequest {
        CallRequest {
            namespace: None,
            name: name.into(),
            arguments,
            call_id: Some("call_1".into()),
            thread_id: None,
            turn_id: None,
        }
    }

    fn recorder() -> (EventSink, Arc<Mutex<Vec<ThreadEvent>>>) {
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink_events = Arc::clone(&events);
        let sink: EventSink = Arc::new(move |event| sink_events.lock().unwrap().push(event));
        (sink, events)
    }

    fn failure_of(result: &CallResult) -> (FailureKind, &str) {
        match result {
            CallResult::Failure { kind, message } => (*kind, message.as_str()),
            CallResult::Success(output) => panic!("expected a failure, got {output:?}"),
        }
    }

    #[tokio::test]
    async fn a_good_call_runs_and_emits_redacted_events() {
        let (sink, events) = recorder();
        let result = run_call(&set(), request("add", json!({"a": 2, "b": 3})), &sink).await;
        let CallResult::Success(output) = result else {
            panic!("{result:?}")
        };
        assert_eq!(output.structured, Some(json!({"sum": 5})));
        let events = events.lock().unwrap();
        let [
            ThreadEvent::ToolCallStarted(started),
            ThreadEvent::ToolCallCompleted(done),
        ] = events.as_slice()
        else {
            panic!("{events:?}")
        };
        assert_eq!(started.arguments, json!({"a": 2, "b": "[redacted]"}));
        assert_eq!(done.success, Some(true));
        assert!(done.duration_ms.is_some());
    }

    #[tokio::test]
    async fn every_failure_is_a_result_for_the_model() {
        let set = set();
        let (sink, events) = recorder();
        let cases = [
            (
                "nope",
                json!({}),
                FailureKind::UnknownTool,
                "unknown tool nope",
            ),
            (
                "add",
                json!({"a": "x"}),
                FailureKind::InvalidArguments,
                "\"b\" is a required property",
            ),
            ("fail", json!({}), FailureKind::HandlerError, "no luck"),
            ("boom", json!({}), FailureKind::Panicked, "kaboom"),
            (
                "slow",
                json!({}),
                FailureKind::TimedOut,
                "did not finish within 50 ms",
            ),
            (
                "guarded",
                json!({"ok": false}),
                FailureKind::Denied,
                "ok must be true",
            ),
        ];
        for (name, args, kind, text) in cases {
            let result = run_call(&set, request(name, args), &sink).await;
            let (got, message) = failure_of(&result);
            assert_eq!(got, kind, "{name}: {message}");
            assert!(message.contains(text), "{name}: {message}");
        }
        let allowed = run_call(&set, request("guarded", json!({"ok": true})), &sink).await;
        assert!(matches!(allowed, CallResult::Success(_)));
        let completed: Vec<_> = events
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                ThreadEvent::ToolCallCompleted(done) => done.failure.clone(),
                _ => None,
            })
            .collect();
        assert_eq!(
            completed,
            [
                "unknown_tool",
                "invalid_arguments",
                "handler_error",
                "panicked",
                "timed_out",
                "denied"
            ]
        );
    }

    #[tokio::test]
    async fn the_set_guard_can_deny_and_a_panicking_guard_denies() {
        let set = set().with_guard(guard_fn(|call: ToolCall| async move {
            match call.name.as_str() {
                "fail" => panic!("guard bug"),
                "add" => GuardDecision::deny("not today"),
                _ => GuardDecision::Allow,
            }
        }));
        let (sink, _) = recorder();
        let result = run_call(&set, request("add", json!({"a": 1, "b": 2})), &sink).await;
        assert_eq!(failure_of(&result).0, FailureKind::Denied);
        assert!(failure_of(&result).1.contains("not today"));
        let result = run_call(&set, request("fail", json!({})), &sink).await;
        assert_eq!(failure_of(&result).0, FailureKind::Denied);
        assert!(failure_of(&result).1.contains("guard bug"));
    }
}
