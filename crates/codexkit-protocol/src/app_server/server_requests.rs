//! Server→client requests (`{"method","id","params"}`) and the typed responses the client sends
//! back.
//!
//! Codex waits for an answer **indefinitely**: a client must answer every request, applying its
//! own timeout. Answer with [`super::OutgoingResponse::typed`] and one of the response types
//! here, or with an [`super::OutgoingError`] for a request it does not handle.

use crate::{ExtraFields, ItemId, ThreadId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// A request from the server, adjacently tagged: `{"method": …, "params": {…}}`.
///
/// Decode it from [`super::Incoming::Request`] with [`ServerRequest::from_parts`], or from the
/// whole message with serde (the `id` member is ignored; keep it to answer). A method this
/// version does not know, or params of an unexpected shape, give [`ServerRequest::Unknown`]
/// with the raw `{"method","params"}`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", content = "params")]
pub enum ServerRequest {
    /// `item/commandExecution/requestApproval`: may codex run this command? Answer with
    /// [`CommandExecutionApprovalResponse`].
    #[serde(rename = "item/commandExecution/requestApproval")]
    CommandExecutionRequestApproval(CommandExecutionRequestApprovalParams),
    /// `item/fileChange/requestApproval`: may codex apply this patch? Answer with
    /// [`FileChangeApprovalResponse`].
    #[serde(rename = "item/fileChange/requestApproval")]
    FileChangeRequestApproval(FileChangeRequestApprovalParams),
    /// `item/permissions/requestApproval`: may codex have these extra permissions? Answer with
    /// [`PermissionsApprovalResponse`].
    #[serde(rename = "item/permissions/requestApproval")]
    PermissionsRequestApproval(PermissionsRequestApprovalParams),
    /// `mcpServer/elicitation/request`: an MCP server (or codex, for MCP tool-call approval)
    /// asks the user. Answer with [`McpElicitationResponse`].
    #[serde(rename = "mcpServer/elicitation/request")]
    McpServerElicitationRequest(McpServerElicitationRequestParams),
    /// `item/tool/requestUserInput`: the agent asks the user questions (experimental). Answer
    /// with [`ToolRequestUserInputResponse`].
    #[serde(rename = "item/tool/requestUserInput")]
    ToolRequestUserInput(ToolRequestUserInputParams),
    /// `item/tool/call`: the model called a dynamic (client-implemented) tool. Answer with
    /// [`DynamicToolCallResponse`].
    #[serde(rename = "item/tool/call")]
    DynamicToolCall(DynamicToolCallParams),
    /// `account/chatgptAuthTokens/refresh`: codex needs fresh ChatGPT tokens. Answer with
    /// [`ChatgptAuthTokensRefreshResponse`].
    #[serde(rename = "account/chatgptAuthTokens/refresh")]
    ChatgptAuthTokensRefresh(ChatgptAuthTokensRefreshParams),
    /// `attestation/generate`: codex needs a client attestation token. Answer with
    /// [`AttestationGenerateResponse`].
    #[serde(rename = "attestation/generate")]
    AttestationGenerate(AttestationGenerateParams),
    /// `applyPatchApproval` (legacy v1 API). Answer with [`LegacyApprovalResponse`].
    #[serde(rename = "applyPatchApproval")]
    ApplyPatchApproval(ApplyPatchApprovalParams),
    /// `execCommandApproval` (legacy v1 API). Answer with [`LegacyApprovalResponse`].
    #[serde(rename = "execCommandApproval")]
    ExecCommandApproval(ExecCommandApprovalParams),
    /// A request this version of codexkit does not know (or could not decode), kept as the raw
    /// message. Answer it with an error rather than leaving it pending.
    #[serde(untagged)]
    Unknown(Value),
}

impl ServerRequest {
    /// Every method that has a typed variant.
    pub const KNOWN_METHODS: &'static [&'static str] = &[
        "item/commandExecution/requestApproval",
        "item/fileChange/requestApproval",
        "item/permissions/requestApproval",
        "mcpServer/elicitation/request",
        "item/tool/requestUserInput",
        "item/tool/call",
        "account/chatgptAuthTokens/refresh",
        "attestation/generate",
        "applyPatchApproval",
        "execCommandApproval",
    ];

    /// Decodes a request from its method and params (as [`super::Incoming::Request`] holds
    /// them); absent (`null`) params count as `{}`. Never fails: anything not decodable is
    /// [`ServerRequest::Unknown`].
    pub fn from_parts(method: &str, params: Value) -> Self {
        let mut raw = serde_json::Map::new();
        raw.insert("method".to_owned(), Value::from(method));
        let params = if params.is_null() {
            Value::Object(serde_json::Map::new())
        } else {
            params
        };
        raw.insert("params".to_owned(), params);
        let raw = Value::Object(raw);
        Self::deserialize(&raw).unwrap_or(Self::Unknown(raw))
    }

    /// The method name.
    pub fn method(&self) -> &str {
        match self {
            Self::CommandExecutionRequestApproval(_) => "item/commandExecution/requestApproval",
            Self::FileChangeRequestApproval(_) => "item/fileChange/requestApproval",
            Self::PermissionsRequestApproval(_) => "item/permissions/requestApproval",
            Self::McpServerElicitationRequest(_) => "mcpServer/elicitation/request",
            Self::ToolRequestUserInput(_) => "item/tool/requestUserInput",
            Self::DynamicToolCall(_) => "item/tool/call",
            Self::ChatgptAuthTokensRefresh(_) => "account/chatgptAuthTokens/refresh",
            Self::AttestationGenerate(_) => "attestation/generate",
            Self::ApplyPatchApproval(_) => "applyPatchApproval",
            Self::ExecCommandApproval(_) => "execCommandApproval",
            Self::Unknown(raw) => raw.get("method").and_then(Value::as_str).unwrap_or(""),
        }
    }

    /// The thread the request is about (`threadId`, or `conversationId` in the legacy API).
    pub fn thread_id(&self) -> Option<&str> {
        match self {
            Self::CommandExecutionRequestApproval(p) => Some(p.thread_id.as_str()),
            Self::FileChangeRequestApproval(p) => Some(p.thread_id.as_str()),
            Self::PermissionsRequestApproval(p) => Some(p.thread_id.as_str()),
            Self::McpServerElicitationRequest(p) => Some(p.thread_id.as_str()),
            Self::ToolRequestUserInput(p) => Some(p.thread_id.as_str()),
            Self::DynamicToolCall(p) => Some(p.thread_id.as_str()),
            Self::ApplyPatchApproval(p) => Some(p.conversation_id.as_str()),
            Self::ExecCommandApproval(p) => Some(p.conversation_id.as_str()),
            Self::ChatgptAuthTokensRefresh(_) | Self::AttestationGenerate(_) => None,
            Self::Unknown(raw) => {
                let params = raw.get("params")?;
                params
                    .get("threadId")
                    .or_else(|| params.get("conversationId"))
                    .and_then(Value::as_str)
            }
        }
    }

    /// The turn the request is about, if it names one.
    pub fn turn_id(&self) -> Option<&str> {
        match self {
            Self::CommandExecutionRequestApproval(p) => Some(p.turn_id.as_str()),
            Self::FileChangeRequestApproval(p) => Some(p.turn_id.as_str()),
            Self::PermissionsRequestApproval(p) => Some(p.turn_id.as_str()),
            Self::McpServerElicitationRequest(p) => p.turn_id.as_deref(),
            Self::ToolRequestUserInput(p) => Some(p.turn_id.as_str()),
            Self::DynamicToolCall(p) => Some(p.turn_id.as_str()),
            Self::ApplyPatchApproval(_)
            | Self::ExecCommandApproval(_)
            | Self::ChatgptAuthTokensRefresh(_)
            | Self::AttestationGenerate(_) => None,
            Self::Unknown(raw) => raw.get("params")?.get("turnId")?.as_str(),
        }
    }

    /// The item the request is about (`itemId`; `callId` for tool calls and legacy approvals).
    pub fn item_id(&self) -> Option<&str> {
        match self {
            Self::CommandExecutionRequestApproval(p) => Some(p.item_id.as_str()),
            Self::FileChangeRequestApproval(p) => Some(p.item_id.as_str()),
            Self::PermissionsRequestApproval(p) => Some(p.item_id.as_str()),
            Self::ToolRequestUserInput(p) => Some(p.item_id.as_str()),
            Self::DynamicToolCall(p) => Some(p.call_id.as_str()),
            Self::ApplyPatchApproval(p) => Some(p.call_id.as_str()),
            Self::ExecCommandApproval(p) => Some(p.call_id.as_str()),
            Self::McpServerElicitationRequest(_)
            | Self::ChatgptAuthTokensRefresh(_)
            | Self::AttestationGenerate(_) => None,
            Self::Unknown(raw) => {
                let params = raw.get("params")?;
                params
                    .get("itemId")
                    .or_else(|| params.get("callId"))
                    .and_then(Value::as_str)
            }
        }
    }

    /// The kind of approval, as [`crate::ApprovalEvent::kind`] names it: `command_execution`,
    /// `file_change`, `permissions`, `mcp_elicitation`, `user_input`; `None` for requests that
    /// are not approvals (dynamic tool calls, auth, attestation, unknown methods).
    pub fn approval_kind(&self) -> Option<&'static str> {
        match self {
            Self::CommandExecutionRequestApproval(_) | Self::ExecCommandApproval(_) => {
                Some("command_execution")
            }
            Self::FileChangeRequestApproval(_) | Self::ApplyPatchApproval(_) => Some("file_change"),
            Self::PermissionsRequestApproval(_) => Some("permissions"),
            Self::McpServerElicitationRequest(_) => Some("mcp_elicitation"),
            Self::ToolRequestUserInput(_) => Some("user_input"),
            Self::DynamicToolCall(_)
            | Self::ChatgptAuthTokensRefresh(_)
            | Self::AttestationGenerate(_)
            | Self::Unknown(_) => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Command execution
// ---------------------------------------------------------------------------------------------

/// Params of `item/commandExecution/requestApproval`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandExecutionRequestApprovalParams {
    /// The thread.
    pub thread_id: ThreadId,
    /// The turn.
    pub turn_id: String,
    /// The `commandExecution` item (already started, status `inProgress`).
    pub item_id: ItemId,
    /// `command` (default), or another kind of action under review.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Identifies this approval callback when one item asks more than once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_id: Option<String>,
    /// The command line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// The working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// Why the model wants it (for example the justification of an escalation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The environment the command runs in (`local`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_id: Option<String>,
    /// When the request started, Unix milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at_ms: Option<i64>,
    /// Parsed actions for display, raw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_actions: Option<Vec<Value>>,
    /// The execpolicy rule that would allow similar commands from now on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposed_execpolicy_amendment: Option<Vec<String>>,
    /// Proposed network rules, raw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposed_network_policy_amendments: Option<Vec<Value>>,
    /// The decisions to offer, in order. Codex also accepted `decline` and
    /// `acceptForSession` when they were not listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_decisions: Option<Vec<CommandExecutionApprovalDecision>>,
    /// Context of a managed-network approval, raw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_approval_context: Option<Value>,
    /// Extra permissions requested with the command, raw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_permissions: Option<Value>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// A decision on a command: `"accept"`, `"acceptForSession"`,
/// `{"acceptWithExecpolicyAmendment":{"execpolicy_amendment":[…]}}`,
/// `{"applyNetworkPolicyAmendment":{"network_policy_amendment":{…}}}`, `"decline"` or
/// `"cancel"`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CommandExecutionApprovalDecision {
    /// Run it.
    Accept,
    /// Run it and similar commands for the rest of the session without asking.
    AcceptForSession,
    /// Run it and add the execpolicy rule.
    AcceptWithExecpolicyAmendment(ExecpolicyAmendment),
    /// Persist a network rule for the host.
    ApplyNetworkPolicyAmendment(NetworkPolicyAmendment),
    /// Do not run it; the turn goes on (the model is told it was rejected).
    Decline,
    /// Do not run it and interrupt the turn.
    Cancel,
    /// A decision this version of codexkit does not know, raw.
    #[serde(untagged)]
    Unknown(Value),
}

impl CommandExecutionApprovalDecision {
    /// `acceptWithExecpolicyAmendment` with this rule (a command prefix).
    pub fn accept_with_execpolicy_amendment(prefix: Vec<String>) -> Self {
        Self::AcceptWithExecpolicyAmendment(ExecpolicyAmendment {
            execpolicy_amendment: prefix,
            extra: ExtraFields::new(),
        })
    }
}

/// The members of [`CommandExecutionApprovalDecision::AcceptWithExecpolicyAmendment`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecpolicyAmendment {
    /// The command prefix to allow.
    pub execpolicy_amendment: Vec<String>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// The members of [`CommandExecutionApprovalDecision::ApplyNetworkPolicyAmendment`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkPolicyAmendment {
    /// The rule (`{host, action: "allow"|"deny"}`), raw.
    pub network_policy_amendment: Value,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// Result of `item/commandExecution/requestApproval`: `{"decision": …}`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandExecutionApprovalResponse {
    /// The decision.
    pub decision: CommandExecutionApprovalDecision,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl CommandExecutionApprovalResponse {
    /// Builds the response.
    pub fn new(decision: CommandExecutionApprovalDecision) -> Self {
        Self {
            decision,
            extra: ExtraFields::new(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// File change
// ---------------------------------------------------------------------------------------------

/// Params of `item/fileChange/requestApproval`. The patch itself is the `fileChange` item
/// (`item/started`) with this `itemId`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileChangeRequestApprovalParams {
    /// The thread.
    pub thread_id: ThreadId,
    /// The turn.
    pub turn_id: String,
    /// The `fileChange` item.
    pub item_id: ItemId,
    /// Why the model wants it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A root the agent asks to write under for the rest of the session (unstable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_root: Option<String>,
    /// When the request started, Unix milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at_ms: Option<i64>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// A decision on a patch: `accept`, `acceptForSession`, `decline` or `cancel`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FileChangeApprovalDecision {
    /// Apply it.
    Accept,
    /// Apply it and later changes to the same files without asking.
    AcceptForSession,
    /// Do not apply it; the turn goes on.
    Decline,
    /// Do not apply it and interrupt the turn.
    Cancel,
    /// A decision this version of codexkit does not know, raw.
    #[serde(untagged)]
    Unknown(Value),
}

/// Result of `item/fileChange/requestApproval`: `{"decision": …}`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileChangeApprovalResponse {
    /// The decision.
    pub decision: FileChangeApprovalDecision,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl FileChangeApprovalResponse {
    /// Builds the response.
    pub fn new(decision: FileChangeApprovalDecision) -> Self {
        Self {
            decision,
            extra: ExtraFields::new(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Permissions
// ---------------------------------------------------------------------------------------------

/// Params of `item/permissions/requestApproval`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionsRequestApprovalParams {
    /// The thread.
    pub thread_id: ThreadId,
    /// The turn.
    pub turn_id: String,
    /// The item asking.
    pub item_id: ItemId,
    /// The working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// The permissions asked for.
    #[serde(default)]
    pub permissions: PermissionProfile,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_id: Option<String>,
    /// When the request started, Unix milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at_ms: Option<i64>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// Permissions asked for or granted: file system and network.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionProfile {
    /// File-system permissions (`{entries, read, write, …}`), raw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_system: Option<Value>,
    /// Network permissions (`{enabled}`), raw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<Value>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl PermissionProfile {
    /// No permissions (granting this refuses the request).
    pub fn none() -> Self {
        Self::default()
    }
}

/// How long granted permissions last: `turn` or `session`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PermissionGrantScope {
    /// This turn only.
    Turn,
    /// The rest of the session.
    Session,
    /// A scope this version of codexkit does not know, raw.
    #[serde(untagged)]
    Unknown(Value),
}

/// Result of `item/permissions/requestApproval`: what is granted.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionsApprovalResponse {
    /// The permissions granted (a subset of those asked for; empty refuses).
    pub permissions: PermissionProfile,
    /// How long the grant lasts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<PermissionGrantScope>,
    /// Review every later command of this turn before running it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict_auto_review: Option<bool>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl PermissionsApprovalResponse {
    /// Grants these permissions.
    pub fn new(permissions: PermissionProfile) -> Self {
        Self {
            permissions,
            scope: None,
            strict_auto_review: None,
            extra: ExtraFields::new(),
        }
    }

    /// Grants nothing.
    pub fn deny() -> Self {
        Self::new(PermissionProfile::none())
    }

    /// Sets the scope.
    pub fn with_scope(mut self, scope: PermissionGrantScope) -> Self {
        self.scope = Some(scope);
        self
    }
}

// ---------------------------------------------------------------------------------------------
// MCP elicitation
// ---------------------------------------------------------------------------------------------

/// Params of `mcpServer/elicitation/request`.
///
/// Codex also uses it to approve MCP tool calls: then `_meta.codex_approval_kind` is
/// `"mcp_tool_call"` and `_meta` names the tool and its arguments.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct McpServerElicitationRequestParams {
    /// The thread.
    pub thread_id: ThreadId,
    /// The turn, when codex could tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_id: Option<String>,
    /// The MCP server.
    pub server_name: String,
    /// `form`, `url`, `openai/form`, `openai/userVerification`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// The question (form and url modes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The JSON Schema of the expected `content` (form modes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_schema: Option<Value>,
    /// The URL to open (url mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The elicitation id (url mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elicitation_id: Option<String>,
    /// Request metadata (`codex_approval_kind`, `tool_name`, `tool_params`, `persist`, …).
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Value>,
    /// The environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_id: Option<String>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// The user's answer to an elicitation: `accept`, `decline` or `cancel`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ElicitationAction {
    /// Accepted (with `content` for forms).
    Accept,
    /// Declined (an MCP tool call then fails with `user rejected MCP tool call`).
    Decline,
    /// Dismissed.
    Cancel,
    /// An action this version of codexkit does not know, raw.
    #[serde(untagged)]
    Unknown(Value),
}

/// Result of `mcpServer/elicitation/request`: `{"action","content","_meta"}`.
///
/// `content` and `_meta` are always sent, as `null` when `None` (what was observed to work).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McpElicitationResponse {
    /// The answer.
    pub action: ElicitationAction,
    /// The form content, for an accepted form.
    #[serde(default)]
    pub content: Option<Value>,
    /// Client metadata (for MCP tool-call approval, e.g. `{"persist":"session"}`).
    #[serde(rename = "_meta", default)]
    pub meta: Option<Value>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl McpElicitationResponse {
    /// An answer with no content.
    pub fn new(action: ElicitationAction) -> Self {
        Self {
            action,
            content: None,
            meta: None,
            extra: ExtraFields::new(),
        }
    }

    /// Sets the content.
    pub fn with_content(mut self, content: Value) -> Self {
        self.content = Some(content);
        self
    }

    /// Sets `_meta`.
    pub fn with_meta(mut self, meta: Value) -> Self {
        self.meta = Some(meta);
        self
    }
}

// ---------------------------------------------------------------------------------------------
// User input
// ---------------------------------------------------------------------------------------------

/// Params of `item/tool/requestUserInput` (experimental).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolRequestUserInputParams {
    /// The thread.
    pub thread_id: ThreadId,
    /// The turn.
    pub turn_id: String,
    /// The item asking.
    pub item_id: ItemId,
    /// The questions.
    #[serde(default)]
    pub questions: Vec<UserInputQuestion>,
    /// Whether the turn blocks until answered.
    #[serde(default)]
    pub is_blocking: bool,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// One question of [`ToolRequestUserInputParams`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInputQuestion {
    /// The question id (key of the answer).
    pub id: String,
    /// A short header.
    #[serde(default)]
    pub header: String,
    /// The question.
    #[serde(default)]
    pub question: String,
    /// Whether a free-form "other" answer is allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_other: Option<bool>,
    /// Whether the answer is secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_secret: Option<bool>,
    /// The options (`{label, description}`), raw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<Value>>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// Result of `item/tool/requestUserInput`: answers keyed by question id.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolRequestUserInputResponse {
    /// The answers.
    pub answers: BTreeMap<String, UserInputAnswer>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl ToolRequestUserInputResponse {
    /// No answers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the answers to one question.
    pub fn with_answer(mut self, question_id: impl Into<String>, answers: Vec<String>) -> Self {
        self.answers.insert(
            question_id.into(),
            UserInputAnswer {
                answers,
                extra: ExtraFields::new(),
            },
        );
        self
    }
}

/// The answer to one question.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserInputAnswer {
    /// The selected or typed answers.
    pub answers: Vec<String>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

// ---------------------------------------------------------------------------------------------
// Dynamic tool call
// ---------------------------------------------------------------------------------------------

/// Params of `item/tool/call`: the model called a tool declared in
/// `thread/start.dynamicTools`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DynamicToolCallParams {
    /// The thread.
    pub thread_id: ThreadId,
    /// The turn.
    pub turn_id: String,
    /// The call id (also the `dynamicToolCall` item id).
    pub call_id: ItemId,
    /// The namespace, for a tool declared in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The tool name.
    pub tool: String,
    /// The arguments.
    #[serde(default)]
    pub arguments: Value,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// One content item of a [`DynamicToolCallResponse`], tagged by `type`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum DynamicToolContentItem {
    /// Text (`{"type":"inputText","text"}`).
    InputText {
        /// The text.
        text: String,
    },
    /// An image (`{"type":"inputImage","imageUrl"}`).
    #[serde(rename_all = "camelCase")]
    InputImage {
        /// The image URL (a `data:` URL works).
        image_url: String,
    },
    /// Audio (`{"type":"inputAudio","audioUrl"}`).
    #[serde(rename_all = "camelCase")]
    InputAudio {
        /// The audio URL.
        audio_url: String,
    },
    /// A content type this version of codexkit does not know, raw (with `type`).
    #[serde(untagged)]
    Unknown(Value),
}

impl DynamicToolContentItem {
    /// A text item.
    pub fn text(text: impl Into<String>) -> Self {
        Self::InputText { text: text.into() }
    }

    /// An image item.
    pub fn image_url(url: impl Into<String>) -> Self {
        Self::InputImage {
            image_url: url.into(),
        }
    }
}

/// Result of `item/tool/call`: `{"contentItems":[…],"success"}`. The model receives the text.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DynamicToolCallResponse {
    /// The output.
    pub content_items: Vec<DynamicToolContentItem>,
    /// Whether the tool succeeded.
    pub success: bool,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl DynamicToolCallResponse {
    /// Builds the response.
    pub fn new(content_items: Vec<DynamicToolContentItem>, success: bool) -> Self {
        Self {
            content_items,
            success,
            extra: ExtraFields::new(),
        }
    }

    /// A successful call returning this text.
    pub fn text(text: impl Into<String>) -> Self {
        Self::new(vec![DynamicToolContentItem::text(text)], true)
    }

    /// A failed call with this message.
    pub fn failure(message: impl Into<String>) -> Self {
        Self::new(vec![DynamicToolContentItem::text(message)], false)
    }
}

// ---------------------------------------------------------------------------------------------
// Auth and attestation
// ---------------------------------------------------------------------------------------------

/// Params of `account/chatgptAuthTokens/refresh`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatgptAuthTokensRefreshParams {
    /// Why (`unauthorized`), raw.
    #[serde(default)]
    pub reason: Value,
    /// The account codex used before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_account_id: Option<String>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// Result of `account/chatgptAuthTokens/refresh`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatgptAuthTokensRefreshResponse {
    /// The access token.
    pub access_token: String,
    /// The ChatGPT account id.
    pub chatgpt_account_id: String,
    /// The plan type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chatgpt_plan_type: Option<String>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl ChatgptAuthTokensRefreshResponse {
    /// Builds the response.
    pub fn new(access_token: impl Into<String>, chatgpt_account_id: impl Into<String>) -> Self {
        Self {
            access_token: access_token.into(),
            chatgpt_account_id: chatgpt_account_id.into(),
            chatgpt_plan_type: None,
            extra: ExtraFields::new(),
        }
    }
}

/// Params of `attestation/generate` (none are defined).
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AttestationGenerateParams {
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// Result of `attestation/generate`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttestationGenerateResponse {
    /// The opaque attestation token.
    pub token: String,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl AttestationGenerateResponse {
    /// Builds the response.
    pub fn new(token: impl Into<String>) -> Self {
        Self {
            token: token.into(),
            extra: ExtraFields::new(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Legacy (v1) approvals
// ---------------------------------------------------------------------------------------------

/// Params of the legacy `applyPatchApproval`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyPatchApprovalParams {
    /// The thread.
    pub conversation_id: ThreadId,
    /// The patch call id.
    pub call_id: String,
    /// The changes by path, raw.
    #[serde(default)]
    pub file_changes: Value,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A root the agent asks to write under for the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_root: Option<String>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// Params of the legacy `execCommandApproval`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecCommandApprovalParams {
    /// The thread.
    pub conversation_id: ThreadId,
    /// The command call id.
    pub call_id: String,
    /// The approval callback id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_id: Option<String>,
    /// The command, as argv.
    #[serde(default)]
    pub command: Vec<String>,
    /// The working directory.
    #[serde(default)]
    pub cwd: String,
    /// Parsed command, raw.
    #[serde(default)]
    pub parsed_cmd: Vec<Value>,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// A legacy decision (snake_case): `"approved"`, `"approved_for_session"`, `"abort"`,
/// `{"denied":{"rejection"}}`, `{"approved_execpolicy_amendment":{…}}`, …
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    /// Run or apply it.
    Approved,
    /// Approve and add the proposed execpolicy rule (`proposed_execpolicy_amendment`), raw.
    ApprovedExecpolicyAmendment(Value),
    /// Approve for the rest of the session.
    ApprovedForSession,
    /// Approve and amend the MCP policy.
    ApprovedMcpPolicyAmendment,
    /// Persist a network rule (`network_policy_amendment`), raw.
    NetworkPolicyAmendment(Value),
    /// Deny but continue (`rejection` tells the model why), raw.
    Denied(Value),
    /// Automatic review timed out.
    TimedOut,
    /// Deny and stop until the user's next message.
    Abort,
    /// A decision this version of codexkit does not know, raw.
    #[serde(untagged)]
    Unknown(Value),
}

/// Result of `applyPatchApproval` and `execCommandApproval`: `{"decision": …}`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LegacyApprovalResponse {
    /// The decision.
    pub decision: ReviewDecision,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl LegacyApprovalResponse {
    /// Builds the response.
    pub fn new(decision: ReviewDecision) -> Self {
        Self {
            decision,
            extra: ExtraFields::new(),
        }
    }
}
