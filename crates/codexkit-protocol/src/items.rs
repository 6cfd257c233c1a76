//! Thread items: what the agent said, ran, changed or called during a turn.

use crate::{ExtraFields, ItemId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One item of a turn, with the id Codex gave it and its typed payload.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadItem {
    /// The item id; stable across `item.started`, `item.updated` and `item.completed`.
    pub id: ItemId,
    /// What the item is.
    #[serde(flatten)]
    pub details: ItemDetails,
}

impl ThreadItem {
    /// Builds an item from its id and payload.
    pub fn new(id: impl Into<ItemId>, details: ItemDetails) -> Self {
        Self {
            id: id.into(),
            details,
        }
    }

    /// The wire name of the item type (`agent_message`, `command_execution`, …).
    pub fn kind(&self) -> &str {
        self.details.kind()
    }
}

/// The typed payload of a [`ThreadItem`], tagged by `type` on the wire.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ItemDetails {
    /// Text from the agent; a JSON string when an output schema was given.
    AgentMessage(AgentMessageItem),
    /// A summary of the agent's reasoning.
    Reasoning(ReasoningItem),
    /// A shell command the agent ran.
    CommandExecution(CommandExecutionItem),
    /// Files the agent added, updated or deleted with a patch.
    FileChange(FileChangeItem),
    /// A call to a tool of an MCP server.
    McpToolCall(McpToolCallItem),
    /// A web search.
    WebSearch(WebSearchItem),
    /// The agent's to-do list.
    TodoList(TodoListItem),
    /// A non-fatal error or warning reported as an item.
    Error(ErrorItem),
    /// A call to a tool the client implements (app-server dynamic tools only).
    DynamicToolCall(DynamicToolCallItem),
    /// An item type this version of codexkit does not know, kept as raw JSON (without `id`).
    #[serde(untagged)]
    Unknown(Value),
}

impl ItemDetails {
    /// The wire name of the item type.
    pub fn kind(&self) -> &str {
        match self {
            Self::AgentMessage(_) => "agent_message",
            Self::Reasoning(_) => "reasoning",
            Self::CommandExecution(_) => "command_execution",
            Self::FileChange(_) => "file_change",
            Self::McpToolCall(_) => "mcp_tool_call",
            Self::WebSearch(_) => "web_search",
            Self::TodoList(_) => "todo_list",
            Self::Error(_) => "error",
            Self::DynamicToolCall(_) => "dynamic_tool_call",
            Self::Unknown(raw) => raw.get("type").and_then(Value::as_str).unwrap_or("unknown"),
        }
    }
}

/// Text from the agent.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentMessageItem {
    /// The message text.
    pub text: String,
    /// `commentary` or `final_answer` when the model marked the message (app-server only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl AgentMessageItem {
    /// Builds a message item.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            phase: None,
            extra: ExtraFields::new(),
        }
    }

    /// Sets the phase.
    pub fn with_phase(mut self, phase: Option<String>) -> Self {
        self.phase = phase;
        self
    }
}

/// A reasoning summary.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReasoningItem {
    /// The summary text.
    pub text: String,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl ReasoningItem {
    /// Builds a reasoning item.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            extra: ExtraFields::new(),
        }
    }
}

/// Status of a command execution.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandExecutionStatus {
    /// Still running.
    InProgress,
    /// Exited with code 0.
    Completed,
    /// Exited with a non-zero code or could not run.
    Failed,
    /// Refused by an approval decision.
    Declined,
    /// A status this version of codexkit does not know.
    #[serde(untagged)]
    Unknown(Value),
}

/// A shell command the agent ran.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandExecutionItem {
    /// The command line as Codex ran it (e.g. `/bin/bash -lc 'ls'`).
    pub command: String,
    /// Combined stdout and stderr.
    #[serde(default)]
    pub aggregated_output: String,
    /// The exit code, once the command has exited.
    pub exit_code: Option<i32>,
    /// Where the command is in its life.
    pub status: CommandExecutionStatus,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// Status of a patch application.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PatchApplyStatus {
    /// Being applied.
    InProgress,
    /// Applied.
    Completed,
    /// Could not be applied.
    Failed,
    /// A status this version of codexkit does not know.
    #[serde(untagged)]
    Unknown(Value),
}

/// What a patch did to one file.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileChangeKind {
    /// The file was created.
    Add,
    /// The file was removed.
    Delete,
    /// The file was modified.
    Update,
    /// A kind this version of codexkit does not know.
    #[serde(untagged)]
    Unknown(Value),
}

/// One file touched by a patch.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileUpdateChange {
    /// Absolute path of the file.
    pub path: String,
    /// What happened to it.
    pub kind: FileChangeKind,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// Files changed by one patch.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileChangeItem {
    /// Each file the patch touched.
    pub changes: Vec<FileUpdateChange>,
    /// Whether the patch applied.
    pub status: PatchApplyStatus,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// Status of an MCP tool call.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum McpToolCallStatus {
    /// Dispatched, no result yet.
    InProgress,
    /// The tool returned a result.
    Completed,
    /// The call failed or the tool reported an error.
    Failed,
    /// A status this version of codexkit does not know.
    #[serde(untagged)]
    Unknown(Value),
}

/// The result an MCP tool returned.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McpToolCallResult {
    /// MCP content blocks, as sent by the server.
    #[serde(default)]
    pub content: Vec<Value>,
    /// Structured content, when the tool returned some.
    #[serde(default)]
    pub structured_content: Option<Value>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// Why an MCP tool call failed.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McpToolCallError {
    /// Codex's description of the failure.
    pub message: String,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// A call to a tool of an MCP server.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McpToolCallItem {
    /// The server name, as configured under `mcp_servers`.
    pub server: String,
    /// The tool name.
    pub tool: String,
    /// The arguments the model passed.
    #[serde(default)]
    pub arguments: Value,
    /// The tool's result, once it returned.
    #[serde(default)]
    pub result: Option<McpToolCallResult>,
    /// The failure, when the call could not complete.
    #[serde(default)]
    pub error: Option<McpToolCallError>,
    /// Where the call is in its life.
    pub status: McpToolCallStatus,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// A web search the agent made.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebSearchItem {
    /// The search query.
    #[serde(default)]
    pub query: String,
    /// Fields this version of codexkit does not know (such as the search action).
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// One entry of the agent's to-do list.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TodoEntry {
    /// What is to be done.
    pub text: String,
    /// Whether it is done.
    #[serde(default)]
    pub completed: bool,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// The agent's to-do list.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TodoListItem {
    /// The entries, in order.
    #[serde(default)]
    pub items: Vec<TodoEntry>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// A non-fatal error reported as an item (for example a configuration warning).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorItem {
    /// The message.
    pub message: String,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// Status of a dynamic tool call.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DynamicToolCallStatus {
    /// Sent to the client, no answer yet.
    InProgress,
    /// The client answered.
    Completed,
    /// The call failed.
    Failed,
    /// A status this version of codexkit does not know.
    #[serde(untagged)]
    Unknown(Value),
}

/// A call to a tool the client implements (app-server dynamic tools, experimental API).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DynamicToolCallItem {
    /// The tool's namespace, for a tool declared inside a namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The tool name.
    pub tool: String,
    /// The arguments the model passed.
    #[serde(default)]
    pub arguments: Value,
    /// Where the call is in its life.
    pub status: DynamicToolCallStatus,
    /// The content items the client answered with, once it did (raw app-server JSON, e.g.
    /// `[{"type":"inputText","text":"…"}]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_items: Option<Value>,
    /// Whether the client reported success, once it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<bool>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl DynamicToolCallItem {
    /// Builds an item with no namespace and no answer yet.
    pub fn new(tool: impl Into<String>, arguments: Value, status: DynamicToolCallStatus) -> Self {
        Self {
            namespace: None,
            tool: tool.into(),
            arguments,
            status,
            content_items: None,
            success: None,
            extra: ExtraFields::new(),
        }
    }
}
