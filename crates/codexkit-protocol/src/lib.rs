//! Wire and event types for driving the Codex CLI.
//!
//! This crate holds serde types only: the JSONL events that `codex exec --json` prints, the
//! items inside them, token usage, and identifiers. The event vocabulary of `codex exec` is also
//! codexkit's normalized event domain: every transport maps what it receives onto
//! [`ThreadEvent`].
//!
//! Decoding is tolerant by design. Every enum decoded from the wire has an `Unknown` variant that
//! keeps the raw JSON, and every struct keeps fields it does not know in an `extra` map, so a newer
//! codex binary never fails a stream and re-encoding gives back the JSON that was read.
//!
//! ```
//! use codexkit_protocol::{decode_event, ThreadEvent, ItemDetails};
//!
//! let line = r#"{"type":"item.completed","item":{"id":"item_0","type":"agent_message","text":"hi"}}"#;
//! let event = decode_event(line).unwrap();
//! let ThreadEvent::ItemCompleted(completed) = &event else { panic!("not an item event") };
//! let ItemDetails::AgentMessage(message) = &completed.item.details else { panic!("not a message") };
//! assert_eq!(message.text, "hi");
//! ```

#![deny(missing_docs)]

pub mod app_server;
mod events;
mod ids;
mod items;
mod usage;

pub use events::{
    ApprovalEvent, ItemDelta, ItemEvent, Lagged, StreamError, ThreadEvent, ThreadStarted,
    TokenUsageUpdate, ToolCallEvent, TurnCompleted, TurnDiff, TurnFailed, TurnInterrupted,
    TurnStarted, Warning, decode_event,
};
pub use ids::{ItemId, ThreadId};
pub use items::{
    AgentMessageItem, CommandExecutionItem, CommandExecutionStatus, DynamicToolCallItem,
    DynamicToolCallStatus, ErrorItem, FileChangeItem, FileChangeKind, FileUpdateChange,
    ItemDetails, McpToolCallError, McpToolCallItem, McpToolCallResult, McpToolCallStatus,
    PatchApplyStatus, ReasoningItem, ThreadItem, TodoEntry, TodoListItem, WebSearchItem,
};
pub use usage::Usage;

/// Fields a decoder did not recognise, kept so that re-encoding loses nothing.
pub type ExtraFields = serde_json::Map<String, serde_json::Value>;
