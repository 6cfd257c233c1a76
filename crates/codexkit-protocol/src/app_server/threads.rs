//! The `Thread` and `Turn` objects of the app-server API.

use super::AppServerItem;
use crate::{ExtraFields, ThreadId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A thread (conversation) as `thread/start`, `thread/resume`, `thread/fork`, `thread/read`,
/// `thread/list` and `thread/started` describe it.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Thread {
    /// The thread id (a UUIDv7); pass it to `thread/resume` or `turn/start`.
    pub id: ThreadId,
    /// Usually the first user message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<String>,
    /// The source thread, for a fork (only in the fork response and its `thread/started`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forked_from_id: Option<String>,
    /// Whether the thread is kept in memory only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral: Option<bool>,
    /// The model currently configured, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The model provider (for example `openai`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_provider: Option<String>,
    /// The working directory captured for the thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// Path of the rollout file on disk (unstable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The user-facing title, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Creation time, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
    /// Last update time, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<i64>,
    /// The runtime status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ThreadStatus>,
    /// The version of the CLI that created the thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cli_version: Option<String>,
    /// The turns; only filled by `thread/resume`, `thread/fork` and `thread/read` with
    /// `includeTurns`.
    #[serde(default)]
    pub turns: Vec<Turn>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// The runtime status of a thread: `{"type":"notLoaded"|"idle"|"systemError"|"active", …}`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ThreadStatus {
    /// Known on disk but not loaded in this server.
    NotLoaded,
    /// Loaded, no turn running.
    Idle,
    /// The last turn hit a system error (for example the model API failed).
    SystemError,
    /// A turn is running.
    Active(ThreadActiveStatus),
    /// A status this version of codexkit does not know, raw (with `type`).
    #[serde(untagged)]
    Unknown(Value),
}

/// The members of [`ThreadStatus::Active`].
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadActiveStatus {
    /// What the turn waits for: `waitingOnApproval`, `waitingOnUserInput`.
    #[serde(default)]
    pub active_flags: Vec<String>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// A turn: one user input and everything the agent did for it.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Turn {
    /// The turn id (a UUIDv7); needed by `turn/interrupt` and `turn/steer`.
    pub id: String,
    /// Where the turn is.
    pub status: TurnStatus,
    /// Items included in this payload. In `turn/completed` only a summary (for example the
    /// final `agentMessage`); `item/*` notifications carry the full stream.
    #[serde(default)]
    pub items: Vec<AppServerItem>,
    /// Why the turn failed, for failed turns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<TurnError>,
    /// Start time, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<i64>,
    /// Completion time, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<i64>,
    /// How long the turn ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<i64>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// Status of a [`Turn`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TurnStatus {
    /// Running.
    InProgress,
    /// Finished normally.
    Completed,
    /// Stopped by `turn/interrupt` or a `cancel` decision.
    Interrupted,
    /// Failed; see [`Turn::error`].
    Failed,
    /// A status this version of codexkit does not know.
    #[serde(untagged)]
    Unknown(Value),
}

/// An error of a turn, in `turn/completed` and in the `error` notification.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnError {
    /// The message.
    pub message: String,
    /// Codex's error classification (`"internalServerError"`,
    /// `{"responseStreamDisconnected":{"httpStatusCode":null}}`, …), raw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codex_error_info: Option<Value>,
    /// More detail, such as the provider's message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_details: Option<String>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}
