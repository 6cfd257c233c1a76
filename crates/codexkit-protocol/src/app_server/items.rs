//! Thread items as the app-server API (v2) sends them: camelCase, tagged by `type`.
//!
//! [`AppServerItem::to_thread_item`] maps them onto exec's item vocabulary ([`ThreadItem`]).

use crate::{
    AgentMessageItem, CommandExecutionItem, CommandExecutionStatus, DynamicToolCallItem,
    DynamicToolCallStatus, ExtraFields, FileChangeItem, FileChangeKind, FileUpdateChange,
    ItemDetails, ItemId, McpToolCallError, McpToolCallItem, McpToolCallResult, McpToolCallStatus,
    PatchApplyStatus, ReasoningItem, ThreadItem, WebSearchItem,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One thread item of the app-server API, tagged by `type` on the wire.
///
/// Item ids are the model's ids (`msg_1`, `rs_1`), the tool `call_id` (`call_1`) or UUIDs for
/// items codex makes itself (user messages, compactions).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum AppServerItem {
    /// What the user sent (`userMessage`).
    UserMessage(UserMessage),
    /// Text from the agent (`agentMessage`).
    AgentMessage(AgentMessage),
    /// The agent's reasoning (`reasoning`).
    Reasoning(Reasoning),
    /// A shell command (`commandExecution`).
    CommandExecution(CommandExecution),
    /// A patch (`fileChange`).
    FileChange(FileChange),
    /// A call to an MCP server's tool (`mcpToolCall`).
    McpToolCall(McpToolCall),
    /// A call to a tool the client implements (`dynamicToolCall`, experimental API).
    DynamicToolCall(DynamicToolCall),
    /// A web search (`webSearch`).
    WebSearch(WebSearch),
    /// The history was compacted (`contextCompaction`).
    ContextCompaction(ContextCompaction),
    /// A proposed plan (`plan`, experimental).
    Plan(Plan),
    /// An item type this version of codexkit does not know, kept as raw JSON (with `type`).
    #[serde(untagged)]
    Unknown(Value),
}

impl AppServerItem {
    /// The item id (for an unknown item, its `id` member when it has one).
    pub fn id(&self) -> Option<&str> {
        match self {
            Self::UserMessage(i) => Some(i.id.as_str()),
            Self::AgentMessage(i) => Some(i.id.as_str()),
            Self::Reasoning(i) => Some(i.id.as_str()),
            Self::CommandExecution(i) => Some(i.id.as_str()),
            Self::FileChange(i) => Some(i.id.as_str()),
            Self::McpToolCall(i) => Some(i.id.as_str()),
            Self::DynamicToolCall(i) => Some(i.id.as_str()),
            Self::WebSearch(i) => Some(i.id.as_str()),
            Self::ContextCompaction(i) => Some(i.id.as_str()),
            Self::Plan(i) => Some(i.id.as_str()),
            Self::Unknown(raw) => raw.get("id").and_then(Value::as_str),
        }
    }

    /// The wire name of the item type (`agentMessage`, `commandExecution`, …).
    pub fn kind(&self) -> &str {
        match self {
            Self::UserMessage(_) => "userMessage",
            Self::AgentMessage(_) => "agentMessage",
            Self::Reasoning(_) => "reasoning",
            Self::CommandExecution(_) => "commandExecution",
            Self::FileChange(_) => "fileChange",
            Self::McpToolCall(_) => "mcpToolCall",
            Self::DynamicToolCall(_) => "dynamicToolCall",
            Self::WebSearch(_) => "webSearch",
            Self::ContextCompaction(_) => "contextCompaction",
            Self::Plan(_) => "plan",
            Self::Unknown(raw) => raw.get("type").and_then(Value::as_str).unwrap_or("unknown"),
        }
    }

    /// Maps the item onto exec's vocabulary, keeping its id.
    ///
    /// `agentMessage` → `agent_message` (with `phase`), `reasoning` → `reasoning` (summary parts
    /// joined by `"\n"`), `commandExecution` → `command_execution`, `fileChange` →
    /// `file_change` (`declined` becomes `failed`: exec has no declined patch),
    /// `mcpToolCall` → `mcp_tool_call`, `webSearch` → `web_search` (the action in `extra`),
    /// `dynamicToolCall` → `dynamic_tool_call`. User messages give `None`, as exec does not show
    /// them. Every other type becomes [`ItemDetails::Unknown`] with the raw item (without `id`).
    pub fn to_thread_item(&self) -> Option<ThreadItem> {
        let details = match self {
            Self::UserMessage(_) => return None,
            Self::AgentMessage(m) => ItemDetails::AgentMessage(
                AgentMessageItem::new(&m.text).with_phase(m.phase.clone()),
            ),
            Self::Reasoning(r) => ItemDetails::Reasoning(ReasoningItem::new(r.summary.join("\n"))),
            Self::CommandExecution(c) => ItemDetails::CommandExecution(CommandExecutionItem {
                command: c.command.clone(),
                aggregated_output: c.aggregated_output.clone().unwrap_or_default(),
                exit_code: c.exit_code,
                status: match &c.status {
                    ItemStatus::InProgress => CommandExecutionStatus::InProgress,
                    ItemStatus::Completed => CommandExecutionStatus::Completed,
                    ItemStatus::Failed => CommandExecutionStatus::Failed,
                    ItemStatus::Declined => CommandExecutionStatus::Declined,
                    ItemStatus::Unknown(raw) => CommandExecutionStatus::Unknown(raw.clone()),
                },
                extra: ExtraFields::new(),
            }),
            Self::FileChange(f) => ItemDetails::FileChange(FileChangeItem {
                changes: f
                    .changes
                    .iter()
                    .map(|change| FileUpdateChange {
                        path: change.path.clone(),
                        kind: match &change.kind {
                            PatchChangeKind::Add(_) => FileChangeKind::Add,
                            PatchChangeKind::Delete(_) => FileChangeKind::Delete,
                            PatchChangeKind::Update(_) => FileChangeKind::Update,
                            PatchChangeKind::Unknown(raw) => FileChangeKind::Unknown(
                                raw.get("type").cloned().unwrap_or_else(|| raw.clone()),
                            ),
                        },
                        extra: ExtraFields::new(),
                    })
                    .collect(),
                status: match &f.status {
                    ItemStatus::InProgress => PatchApplyStatus::InProgress,
                    ItemStatus::Completed => PatchApplyStatus::Completed,
                    ItemStatus::Failed | ItemStatus::Declined => PatchApplyStatus::Failed,
                    ItemStatus::Unknown(raw) => PatchApplyStatus::Unknown(raw.clone()),
                },
                extra: ExtraFields::new(),
            }),
            Self::McpToolCall(m) => ItemDetails::McpToolCall(McpToolCallItem {
                server: m.server.clone(),
                tool: m.tool.clone(),
                arguments: m.arguments.clone(),
                result: m.result.as_ref().map(|r| {
                    let mut extra = ExtraFields::new();
                    if let Some(meta) = &r.meta {
                        extra.insert("_meta".to_owned(), meta.clone());
                    }
                    McpToolCallResult {
                        content: r.content.clone(),
                        structured_content: r.structured_content.clone(),
                        extra,
                    }
                }),
                error: m.error.as_ref().map(|e| McpToolCallError {
                    message: e.message.clone(),
                    extra: ExtraFields::new(),
                }),
                status: match &m.status {
                    ItemStatus::InProgress => McpToolCallStatus::InProgress,
                    ItemStatus::Completed => McpToolCallStatus::Completed,
                    ItemStatus::Failed | ItemStatus::Declined => McpToolCallStatus::Failed,
                    ItemStatus::Unknown(raw) => McpToolCallStatus::Unknown(raw.clone()),
                },
                extra: ExtraFields::new(),
            }),
            Self::DynamicToolCall(d) => {
                let mut item = DynamicToolCallItem::new(
                    d.tool.clone(),
                    d.arguments.clone(),
                    match &d.status {
                        ItemStatus::InProgress => DynamicToolCallStatus::InProgress,
                        ItemStatus::Completed => DynamicToolCallStatus::Completed,
                        ItemStatus::Failed | ItemStatus::Declined => DynamicToolCallStatus::Failed,
                        ItemStatus::Unknown(raw) => DynamicToolCallStatus::Unknown(raw.clone()),
                    },
                );
                item.namespace = d.namespace.clone();
                item.content_items = d.content_items.clone();
                item.success = d.success;
                ItemDetails::DynamicToolCall(item)
            }
            Self::WebSearch(w) => {
                let mut extra = ExtraFields::new();
                if let Some(action) = &w.action {
                    extra.insert("action".to_owned(), action.clone());
                }
                ItemDetails::WebSearch(WebSearchItem {
                    query: w.query.clone(),
                    extra,
                })
            }
            Self::ContextCompaction(_) | Self::Plan(_) | Self::Unknown(_) => {
                // `ThreadItem` flattens its details, so only an object can be kept; anything
                // else is not an item at all.
                let Ok(Value::Object(mut object)) = serde_json::to_value(self) else {
                    return None;
                };
                object.remove("id");
                ItemDetails::Unknown(Value::Object(object))
            }
        };
        Some(ThreadItem::new(
            ItemId::from(self.id().unwrap_or_default()),
            details,
        ))
    }
}

/// Status of a command, patch, MCP call or dynamic tool call (`inProgress`, `completed`,
/// `failed`, `declined`).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ItemStatus {
    /// Still running.
    InProgress,
    /// Finished successfully.
    Completed,
    /// Finished with an error.
    Failed,
    /// Refused by an approval decision (commands and patches).
    Declined,
    /// A status this version of codexkit does not know.
    #[serde(untagged)]
    Unknown(Value),
}

/// A `userMessage` item: what the user sent.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserMessage {
    /// The item id.
    pub id: ItemId,
    /// The inputs, as sent in `turn/start` or `turn/steer`.
    #[serde(default)]
    pub content: Vec<super::UserInput>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// An `agentMessage` item: text from the agent.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentMessage {
    /// The item id.
    pub id: ItemId,
    /// The text so far (empty on `item/started`).
    #[serde(default)]
    pub text: String,
    /// `commentary`, `partial_answer` or `final_answer` when the model marked the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// A `reasoning` item.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reasoning {
    /// The item id.
    pub id: ItemId,
    /// Summary parts, in order.
    #[serde(default)]
    pub summary: Vec<String>,
    /// Raw reasoning text parts, when the provider sends them.
    #[serde(default)]
    pub content: Vec<String>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// A `commandExecution` item.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandExecution {
    /// The item id (the tool call id).
    pub id: ItemId,
    /// The command line (e.g. `/bin/bash -lc 'ls'`).
    pub command: String,
    /// The working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// Combined stdout and stderr, once there is some.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregated_output: Option<String>,
    /// The exit code, once the command exited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Where the command is in its life.
    pub status: ItemStatus,
    /// The process id, once it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_id: Option<String>,
    /// How long it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<i64>,
    /// Parsed actions for display (`read`, `listFiles`, `search`, `unknown`), raw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_actions: Option<Vec<Value>>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// A `fileChange` item: one patch.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileChange {
    /// The item id (the tool call id).
    pub id: ItemId,
    /// Each file the patch touches.
    #[serde(default)]
    pub changes: Vec<FileUpdate>,
    /// Whether the patch applied.
    pub status: ItemStatus,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// One file of a [`FileChange`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileUpdate {
    /// Absolute path of the file.
    pub path: String,
    /// What happens to it.
    pub kind: PatchChangeKind,
    /// The file's diff (for an added file, its content).
    #[serde(default)]
    pub diff: String,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// What a patch does to one file: `{"type":"add"|"delete"|"update", …}`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum PatchChangeKind {
    /// The file is created.
    Add(PatchChangeDetails),
    /// The file is removed.
    Delete(PatchChangeDetails),
    /// The file is modified (and maybe moved: `move_path`).
    Update(PatchChangeDetails),
    /// A kind this version of codexkit does not know, raw (with `type`).
    #[serde(untagged)]
    Unknown(Value),
}

/// The members of a [`PatchChangeKind`] besides `type`.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PatchChangeDetails {
    /// For an update that also renames the file: the new path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub move_path: Option<String>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// An `mcpToolCall` item.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct McpToolCall {
    /// The item id (the tool call id).
    pub id: ItemId,
    /// The MCP server name, as configured under `mcp_servers`.
    pub server: String,
    /// The tool name.
    pub tool: String,
    /// The arguments the model passed.
    #[serde(default)]
    pub arguments: Value,
    /// The tool's result, once it returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<McpCallResult>,
    /// Why the call failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<McpCallError>,
    /// Where the call is in its life.
    pub status: ItemStatus,
    /// How long the call took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<i64>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// The result an MCP tool returned.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct McpCallResult {
    /// MCP content blocks, as the server sent them.
    #[serde(default)]
    pub content: Vec<Value>,
    /// Structured content, when the tool returned some.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structured_content: Option<Value>,
    /// The result's `_meta`.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Value>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// Why an MCP tool call failed (for example `user rejected MCP tool call`).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McpCallError {
    /// Codex's description of the failure.
    pub message: String,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// A `dynamicToolCall` item: a call to a tool the client implements.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DynamicToolCall {
    /// The item id (the tool call id, also `callId` of the `item/tool/call` request).
    pub id: ItemId,
    /// The tool's namespace, for a tool declared inside a namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The tool name.
    pub tool: String,
    /// The arguments the model passed.
    #[serde(default)]
    pub arguments: Value,
    /// Where the call is in its life.
    pub status: ItemStatus,
    /// The content the client answered with, once it did (`[{type:"inputText",text}, …]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_items: Option<Value>,
    /// Whether the client reported success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<bool>,
    /// How long the call took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<i64>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// A `webSearch` item.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebSearch {
    /// The item id.
    pub id: ItemId,
    /// The search query.
    #[serde(default)]
    pub query: String,
    /// What the search did (`{type:"search"|"openPage"|"findInPage"|"other", …}`), raw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Value>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// A `contextCompaction` item: codex summarized the history to fit the context window.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextCompaction {
    /// The item id.
    pub id: ItemId,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// A `plan` item: a proposed plan (experimental).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// The item id.
    pub id: ItemId,
    /// The plan text.
    #[serde(default)]
    pub text: String,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}
