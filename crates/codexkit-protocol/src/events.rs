//! Thread events: the JSONL vocabulary of `codex exec --json`, which is also codexkit's
//! normalized event domain.

use crate::{ExtraFields, ThreadId, ThreadItem, Usage};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One event of a thread's stream.
///
/// On the wire each event is a JSON object tagged by `type` (`thread.started`, `turn.started`,
/// `item.started`, `item.updated`, `item.completed`, `turn.completed`, `turn.failed`, `error`).
/// [`ThreadEvent::Warning`] is added by codexkit itself (never sent by codex) for input it could
/// not decode, such as a stdout line that is not JSON.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ThreadEvent {
    /// The first event of a run: the thread exists and has this id.
    #[serde(rename = "thread.started")]
    ThreadStarted(ThreadStarted),
    /// The turn began.
    #[serde(rename = "turn.started")]
    TurnStarted(TurnStarted),
    /// An item began (typically in progress).
    #[serde(rename = "item.started")]
    ItemStarted(ItemEvent),
    /// An item changed.
    #[serde(rename = "item.updated")]
    ItemUpdated(ItemEvent),
    /// An item reached its final state.
    #[serde(rename = "item.completed")]
    ItemCompleted(ItemEvent),
    /// The turn completed; terminal.
    #[serde(rename = "turn.completed")]
    TurnCompleted(TurnCompleted),
    /// The turn failed; terminal.
    #[serde(rename = "turn.failed")]
    TurnFailed(TurnFailed),
    /// An error notice from the stream (for example a retry announcement). Not terminal by itself.
    #[serde(rename = "error")]
    Error(StreamError),
    /// Something codexkit could not decode; the stream goes on.
    #[serde(rename = "codexkit.warning")]
    Warning(Warning),
    /// A piece of an agent message as the model streams it (app-server only).
    #[serde(rename = "item.agent_message.delta")]
    AgentMessageDelta(ItemDelta),
    /// A piece of reasoning summary text (app-server only).
    #[serde(rename = "item.reasoning.delta")]
    ReasoningDelta(ItemDelta),
    /// A piece of a running command's output (app-server only).
    #[serde(rename = "item.command_execution.output_delta")]
    CommandOutputDelta(ItemDelta),
    /// The turn's aggregated diff changed (app-server only).
    #[serde(rename = "turn.diff.updated")]
    TurnDiffUpdated(TurnDiff),
    /// Token usage after a model call (app-server only).
    #[serde(rename = "thread.token_usage.updated")]
    TokenUsageUpdated(TokenUsageUpdate),
    /// Codex asked for an approval (app-server only).
    #[serde(rename = "approval.requested")]
    ApprovalRequested(ApprovalEvent),
    /// An approval request was answered; says what was decided and by whom.
    #[serde(rename = "approval.resolved")]
    ApprovalResolved(ApprovalEvent),
    /// Nobody decided before the deadline; the fallback decision was sent.
    #[serde(rename = "approval.timed_out")]
    ApprovalTimedOut(ApprovalEvent),
    /// The approval handler failed or panicked; the fallback decision was sent.
    #[serde(rename = "approval.failed")]
    ApprovalFailed(ApprovalEvent),
    /// The turn was interrupted; terminal.
    #[serde(rename = "turn.interrupted")]
    TurnInterrupted(TurnInterrupted),
    /// The consumer was too slow: this many non-essential events were dropped here.
    #[serde(rename = "stream.lagged")]
    Lagged(Lagged),
    /// A host tool (a function of this process exposed to the agent) was called; added by
    /// codexkit, on both transports.
    #[serde(rename = "tool.call.started")]
    ToolCallStarted(ToolCallEvent),
    /// A host tool call ended: its duration, whether it succeeded, and why not.
    #[serde(rename = "tool.call.completed")]
    ToolCallCompleted(ToolCallEvent),
    /// An event type this version of codexkit does not know, kept as raw JSON.
    #[serde(untagged)]
    Unknown(Value),
}

impl ThreadEvent {
    /// Whether this event ends the turn (`turn.completed`, `turn.failed` or `turn.interrupted`).
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Self::TurnCompleted(_) | Self::TurnFailed(_) | Self::TurnInterrupted(_)
        )
    }

    /// The wire name of the event type.
    pub fn kind(&self) -> &str {
        match self {
            Self::ThreadStarted(_) => "thread.started",
            Self::TurnStarted(_) => "turn.started",
            Self::ItemStarted(_) => "item.started",
            Self::ItemUpdated(_) => "item.updated",
            Self::ItemCompleted(_) => "item.completed",
            Self::TurnCompleted(_) => "turn.completed",
            Self::TurnFailed(_) => "turn.failed",
            Self::Error(_) => "error",
            Self::Warning(_) => "codexkit.warning",
            Self::AgentMessageDelta(_) => "item.agent_message.delta",
            Self::ReasoningDelta(_) => "item.reasoning.delta",
            Self::CommandOutputDelta(_) => "item.command_execution.output_delta",
            Self::TurnDiffUpdated(_) => "turn.diff.updated",
            Self::TokenUsageUpdated(_) => "thread.token_usage.updated",
            Self::ApprovalRequested(_) => "approval.requested",
            Self::ApprovalResolved(_) => "approval.resolved",
            Self::ApprovalTimedOut(_) => "approval.timed_out",
            Self::ApprovalFailed(_) => "approval.failed",
            Self::TurnInterrupted(_) => "turn.interrupted",
            Self::Lagged(_) => "stream.lagged",
            Self::ToolCallStarted(_) => "tool.call.started",
            Self::ToolCallCompleted(_) => "tool.call.completed",
            Self::Unknown(raw) => raw.get("type").and_then(Value::as_str).unwrap_or("unknown"),
        }
    }

    /// The item carried by `item.started`, `item.updated` or `item.completed`.
    pub fn item(&self) -> Option<&ThreadItem> {
        match self {
            Self::ItemStarted(e) | Self::ItemUpdated(e) | Self::ItemCompleted(e) => Some(&e.item),
            _ => None,
        }
    }
}

/// Decodes one JSONL line of `codex exec --json` output.
///
/// Any JSON object decodes: a type this version does not know, or a known type whose fields do
/// not have the expected shape, becomes [`ThreadEvent::Unknown`] with the raw JSON. Only text
/// that is not a JSON object is an error.
pub fn decode_event(line: &str) -> Result<ThreadEvent, serde_json::Error> {
    // Known events decode in one pass from the text; building a `Value` first would allocate
    // the whole tree twice. Anything else, an unknown event or item included, takes the
    // two-step path, whose `Value` also settles what one pass rejects, such as a repeated key
    // (the last one wins, as everywhere else).
    match serde_json::from_str::<ThreadEvent>(line) {
        Ok(event) if !has_unknown(&event) => Ok(event),
        _ => decode_event_via_value(line),
    }
}

/// Whether the event, or the item it carries, is of a type (or shape) not known here.
fn has_unknown(event: &ThreadEvent) -> bool {
    matches!(event, ThreadEvent::Unknown(_))
        || event
            .item()
            .is_some_and(|item| matches!(item.details, crate::ItemDetails::Unknown(_)))
}

/// The two-step decode: text → `Value` → a known event, or `Unknown` with the raw object.
fn decode_event_via_value(line: &str) -> Result<ThreadEvent, serde_json::Error> {
    let raw: Value = serde_json::from_str(line)?;
    if !raw.is_object() {
        return Err(serde::de::Error::custom(format!(
            "expected a JSON object, found {}",
            json_kind(&raw)
        )));
    }
    Ok(ThreadEvent::deserialize(&raw).unwrap_or(ThreadEvent::Unknown(raw)))
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Payload of `thread.started`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadStarted {
    /// The thread id; pass it to resume the thread.
    pub thread_id: ThreadId,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl ThreadStarted {
    /// Builds the payload.
    pub fn new(thread_id: impl Into<ThreadId>) -> Self {
        Self {
            thread_id: thread_id.into(),
            extra: ExtraFields::new(),
        }
    }
}

/// Payload of `turn.started`.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TurnStarted {
    /// The turn id (app-server only; exec does not name turns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_id: Option<String>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// Payload of `item.started`, `item.updated` and `item.completed`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemEvent {
    /// The item in its current state.
    pub item: ThreadItem,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl ItemEvent {
    /// Wraps an item.
    pub fn new(item: ThreadItem) -> Self {
        Self {
            item,
            extra: ExtraFields::new(),
        }
    }
}

/// Payload of `turn.completed`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnCompleted {
    /// Token usage, cumulative for the thread (see [`Usage`]).
    #[serde(default)]
    pub usage: Usage,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl TurnCompleted {
    /// Builds the payload.
    pub fn new(usage: Usage) -> Self {
        Self {
            usage,
            extra: ExtraFields::new(),
        }
    }
}

/// Payload of `turn.failed`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnFailed {
    /// Why the turn failed.
    pub error: StreamError,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl TurnFailed {
    /// Builds the payload.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            error: StreamError::new(message),
            extra: ExtraFields::new(),
        }
    }
}

/// An error message, as in the top-level `error` event and in `turn.failed`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamError {
    /// The message.
    pub message: String,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl StreamError {
    /// Builds an error from its message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            extra: ExtraFields::new(),
        }
    }
}

/// Something codexkit could not decode, reported instead of failing the stream.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Warning {
    /// What was wrong.
    pub message: String,
    /// The start of the offending input, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excerpt: Option<String>,
}

impl Warning {
    /// Builds a warning.
    pub fn new(message: impl Into<String>, excerpt: Option<String>) -> Self {
        Self {
            message: message.into(),
            excerpt,
        }
    }
}

/// A streamed piece of an item's text.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemDelta {
    /// The item the text belongs to.
    pub item_id: crate::ItemId,
    /// The new text.
    pub delta: String,
}

impl ItemDelta {
    /// Builds a delta.
    pub fn new(item_id: impl Into<crate::ItemId>, delta: impl Into<String>) -> Self {
        Self {
            item_id: item_id.into(),
            delta: delta.into(),
        }
    }
}

/// Payload of `turn.diff.updated`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnDiff {
    /// The unified diff of everything the turn changed so far.
    pub diff: String,
}

impl TurnDiff {
    /// Builds the payload.
    pub fn new(diff: impl Into<String>) -> Self {
        Self { diff: diff.into() }
    }
}

/// Payload of `thread.token_usage.updated`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenUsageUpdate {
    /// Cumulative for the thread (what `turn.completed` reports).
    pub total: Usage,
    /// The last model call alone.
    pub last: Usage,
    /// The model's context window, when codex knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_context_window: Option<u64>,
}

impl TokenUsageUpdate {
    /// Builds the payload.
    pub fn new(total: Usage, last: Usage, model_context_window: Option<u64>) -> Self {
        Self {
            total,
            last,
            model_context_window,
        }
    }
}

/// An approval request and, once decided, its decision: the audit record of one approval.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalEvent {
    /// The JSON-RPC id of codex's request.
    pub request_id: Value,
    /// What is to be approved: `command_execution`, `file_change`, `permissions`,
    /// `mcp_elicitation`, `user_input`, or the raw method name for others.
    pub kind: String,
    /// The item the request is about, when codex names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_id: Option<crate::ItemId>,
    /// The decision sent (`accept`, `decline`, …), once there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Value>,
    /// Who decided: `handler`, `deferred`, `timeout` or `fallback`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// Why the fallback was used, for timeouts and failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// codex's request parameters, as sent.
    #[serde(default)]
    pub params: Value,
}

impl ApprovalEvent {
    /// A request not decided yet.
    pub fn requested(request_id: Value, kind: impl Into<String>, params: Value) -> Self {
        let item_id = params
            .get("itemId")
            .and_then(Value::as_str)
            .map(crate::ItemId::from);
        Self {
            request_id,
            kind: kind.into(),
            item_id,
            decision: None,
            decided_by: None,
            message: None,
            params,
        }
    }

    /// The same request with its decision.
    pub fn decided(
        &self,
        decision: Value,
        decided_by: impl Into<String>,
        message: Option<String>,
    ) -> Self {
        Self {
            decision: Some(decision),
            decided_by: Some(decided_by.into()),
            message,
            ..self.clone()
        }
    }
}

/// Payload of `turn.interrupted`.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TurnInterrupted {
    /// Usage so far, cumulative for the thread, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

impl TurnInterrupted {
    /// Builds the payload.
    pub fn new(usage: Option<Usage>) -> Self {
        Self { usage }
    }
}

/// Payload of `stream.lagged`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lagged {
    /// How many events were dropped.
    pub skipped: u64,
}

impl Lagged {
    /// Builds the payload.
    pub fn new(skipped: u64) -> Self {
        Self { skipped }
    }
}

/// Payload of `tool.call.started` and `tool.call.completed`: one call of a host tool.
///
/// The completed event repeats the started one's fields and adds `duration_ms`, `success`
/// and, for a failed call, `error` and `failure`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCallEvent {
    /// The call id codex gave the call, when it is known (app-server: `callId`; exec: the
    /// `callId` codex passes in the MCP request's `_meta`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<String>,
    /// The tool's namespace, for a tool registered in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The tool name.
    pub name: String,
    /// The arguments the model passed, with the values of fields the tool marks secret
    /// replaced by `"[redacted]"`.
    #[serde(default)]
    pub arguments: Value,
    /// How long the call took, in milliseconds (completed only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Whether the call succeeded (completed only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<bool>,
    /// What the model was told about the failure (completed, failed calls only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why the call failed: `unknown_tool`, `invalid_arguments`, `denied`, `handler_error`,
    /// `panicked`, `timed_out` or `cancelled` (completed, failed calls only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

impl ToolCallEvent {
    /// A call that is starting.
    pub fn started(
        call_id: Option<String>,
        namespace: Option<String>,
        name: impl Into<String>,
        arguments: Value,
    ) -> Self {
        Self {
            call_id,
            namespace,
            name: name.into(),
            arguments,
            duration_ms: None,
            success: None,
            error: None,
            failure: None,
        }
    }

    /// The same call, completed successfully after `duration_ms`.
    pub fn succeeded(&self, duration_ms: u64) -> Self {
        Self {
            duration_ms: Some(duration_ms),
            success: Some(true),
            ..self.clone()
        }
    }

    /// The same call, failed after `duration_ms` for `failure` (see the field) with `error`.
    pub fn failed(
        &self,
        duration_ms: u64,
        failure: impl Into<String>,
        error: impl Into<String>,
    ) -> Self {
        Self {
            duration_ms: Some(duration_ms),
            success: Some(false),
            error: Some(error.into()),
            failure: Some(failure.into()),
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tool_call_event_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tool_call_events_round_trip_with_their_kind() {
        let started = ToolCallEvent::started(
            Some("call_1".into()),
            Some("calc".into()),
            "add",
            json!({"a": 1}),
        );
        let done = started.failed(12, "timed_out", "too slow");
        let event = ThreadEvent::ToolCallCompleted(done.clone());
        assert_eq!(event.kind(), "tool.call.completed");
        let wire = serde_json::to_value(&event).unwrap();
        assert_eq!(
            wire,
            json!({"type": "tool.call.completed", "call_id": "call_1", "namespace": "calc",
                   "name": "add", "arguments": {"a": 1}, "duration_ms": 12, "success": false,
                   "error": "too slow", "failure": "timed_out"})
        );
        assert_eq!(decode_event(&wire.to_string()).unwrap(), event);
        let ok = ThreadEvent::ToolCallStarted(started.clone());
        assert_eq!(ok.kind(), "tool.call.started");
        assert_eq!(started.succeeded(3).success, Some(true));
    }
}
