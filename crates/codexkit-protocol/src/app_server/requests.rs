//! Client→server requests: the method table ([`ClientRequest`]) and typed params and responses
//! of the methods an SDK uses.
//!
//! Params types have `new`/`with_*` constructors, since `#[non_exhaustive]` forbids struct
//! literals outside this crate; every field is also public, and fields this crate does not
//! type can be set through `extra`, which is flattened into the JSON.

use super::jsonrpc::decode_result;
use super::{Thread, Turn};
use crate::{ExtraFields, ThreadId};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// A client→server request method: its name and its typed params and response.
///
/// ```
/// use codexkit_protocol::app_server::{ClientRequest, OutgoingRequest, TurnInterrupt, TurnInterruptParams};
///
/// let params = TurnInterruptParams::new("thread-1", "turn-1");
/// let request = OutgoingRequest::typed::<TurnInterrupt>(7, &params).unwrap();
/// assert_eq!(request.method, "turn/interrupt");
/// // codex answers `{}` (or `null`)
/// let _response = TurnInterrupt::decode_response(serde_json::Value::Null).unwrap();
/// ```
pub trait ClientRequest {
    /// The JSON-RPC method name.
    const METHOD: &'static str;
    /// The `params` type.
    type Params: Serialize;
    /// The `result` type of a successful response.
    type Response: DeserializeOwned;

    /// Decodes a response `result` (a `null` result decodes like `{}`).
    fn decode_response(result: Value) -> Result<Self::Response, serde_json::Error> {
        decode_result(result)
    }
}

macro_rules! client_requests {
    ($( $(#[doc = $doc:literal])* $marker:ident = $method:literal, $params:ty => $response:ty; )*) => {
        $(
            $(#[doc = $doc])*
            #[non_exhaustive]
            #[derive(Debug, Clone, Copy, PartialEq, Eq)]
            pub struct $marker;

            impl ClientRequest for $marker {
                const METHOD: &'static str = $method;
                type Params = $params;
                type Response = $response;
            }
        )*
    };
}

client_requests! {
    /// `initialize`: the first request of a connection. Follow its response with
    /// [`super::OutgoingNotification::initialized`].
    Initialize = "initialize", InitializeParams => InitializeResponse;
    /// `thread/start`: creates a thread.
    ThreadStart = "thread/start", ThreadStartParams => ThreadStartResponse;
    /// `thread/resume`: loads a thread from disk (by id) and makes it usable in this server.
    ThreadResume = "thread/resume", ThreadResumeParams => ThreadResumeResponse;
    /// `thread/fork`: copies a thread (optionally up to a turn) into a new one.
    ThreadFork = "thread/fork", ThreadForkParams => ThreadForkResponse;
    /// `thread/list`: lists stored threads, newest first.
    ThreadList = "thread/list", ThreadListParams => ThreadListResponse;
    /// `thread/read`: reads one thread, optionally with its turns.
    ThreadRead = "thread/read", ThreadReadParams => ThreadReadResponse;
    /// `thread/archive`: archives a thread.
    ThreadArchive = "thread/archive", ThreadArchiveParams => EmptyResponse;
    /// `turn/start`: starts a turn; its events arrive as notifications.
    TurnStart = "turn/start", TurnStartParams => TurnStartResponse;
    /// `turn/steer`: adds input to the running turn.
    TurnSteer = "turn/steer", TurnSteerParams => TurnSteerResponse;
    /// `turn/interrupt`: stops the running turn; `turn/completed` with status `interrupted`
    /// follows.
    TurnInterrupt = "turn/interrupt", TurnInterruptParams => EmptyResponse;
    /// `model/list`: the models the server offers.
    ModelList = "model/list", ModelListParams => ModelListResponse;
    /// `account/read`: the account codex is logged in with.
    AccountRead = "account/read", AccountReadParams => AccountReadResponse;
}

/// A response with no members (`{}`); also decodes from `null`.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EmptyResponse {
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl<'de> Deserialize<'de> for EmptyResponse {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let extra = Option::<ExtraFields>::deserialize(deserializer)?.unwrap_or_default();
        Ok(Self { extra })
    }
}

// ---------------------------------------------------------------------------------------------
// Policies and inputs
// ---------------------------------------------------------------------------------------------

/// When codex asks the client for approval: `"untrusted"`, `"on-request"`, `"never"` or
/// `{"granular":{…}}`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AskForApproval {
    /// Ask before anything not known to be safe.
    Untrusted,
    /// The model decides when to ask (for example to leave the sandbox).
    OnRequest,
    /// Never ask; failures go back to the model.
    Never,
    /// Per-category switches.
    Granular(GranularApproval),
    /// A policy this version of codexkit does not know, raw.
    #[serde(untagged)]
    Unknown(Value),
}

/// The switches of [`AskForApproval::Granular`] (snake_case on the wire).
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GranularApproval {
    /// Ask for MCP elicitations.
    #[serde(default)]
    pub mcp_elicitations: bool,
    /// Ask for permission requests.
    #[serde(default)]
    pub request_permissions: bool,
    /// Ask when execpolicy rules say so.
    #[serde(default)]
    pub rules: bool,
    /// Ask to leave the sandbox.
    #[serde(default)]
    pub sandbox_approval: bool,
    /// Ask for skills.
    #[serde(default)]
    pub skill_approval: bool,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// The sandbox of a thread: `read-only`, `workspace-write` or `danger-full-access`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SandboxMode {
    /// Commands may read but not write.
    ReadOnly,
    /// Commands may write inside the workspace.
    WorkspaceWrite,
    /// No sandbox.
    DangerFullAccess,
    /// A mode this version of codexkit does not know, raw.
    #[serde(untagged)]
    Unknown(Value),
}

/// One piece of user input, tagged by `type`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum UserInput {
    /// Text (`{"type":"text","text","text_elements":[]}`).
    Text(TextInput),
    /// An image by URL (including `data:` URLs) or uploaded file id.
    Image(ImageInput),
    /// An image file on the server's machine.
    LocalImage(LocalImageInput),
    /// Another input type (`audio`, `localAudio`, `skill`, `mention`, …), raw with `type`.
    #[serde(untagged)]
    Unknown(Value),
}

impl UserInput {
    /// Text input.
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text(TextInput {
            text: text.into(),
            text_elements: Vec::new(),
            extra: ExtraFields::new(),
        })
    }

    /// An image given by URL.
    pub fn image_url(url: impl Into<String>) -> Self {
        Self::Image(ImageInput {
            url: Some(url.into()),
            file_id: None,
            detail: None,
            extra: ExtraFields::new(),
        })
    }

    /// An image file on the server's machine.
    pub fn local_image(path: impl Into<String>) -> Self {
        Self::LocalImage(LocalImageInput {
            path: path.into(),
            detail: None,
            extra: ExtraFields::new(),
        })
    }
}

/// The members of [`UserInput::Text`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextInput {
    /// The text.
    pub text: String,
    /// UI spans inside `text` (`{byteRange:{start,end}, placeholder}`), raw; always sent.
    #[serde(default)]
    pub text_elements: Vec<Value>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// The members of [`UserInput::Image`]: one of `url` and `fileId`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageInput {
    /// The image URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// An uploaded file id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_id: Option<String>,
    /// `auto`, `low`, `high` or `original`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// The members of [`UserInput::LocalImage`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalImageInput {
    /// Path of the image file.
    pub path: String,
    /// `auto`, `low`, `high` or `original`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

// ---------------------------------------------------------------------------------------------
// initialize
// ---------------------------------------------------------------------------------------------

/// Params of `initialize`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitializeParams {
    /// Who the client is; codex puts it in its user agent and `originator`.
    pub client_info: ClientInfo,
    /// What the client opts into.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<InitializeCapabilities>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl InitializeParams {
    /// Params with this client info and default capabilities (no experimental API).
    pub fn new(client_info: ClientInfo) -> Self {
        Self {
            client_info,
            capabilities: Some(InitializeCapabilities::default()),
            extra: ExtraFields::new(),
        }
    }

    /// Sets the capabilities.
    pub fn with_capabilities(mut self, capabilities: InitializeCapabilities) -> Self {
        self.capabilities = Some(capabilities);
        self
    }
}

/// The `clientInfo` of `initialize`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientInfo {
    /// A short name (also the `originator` of the threads it creates).
    pub name: String,
    /// A display title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The client's version.
    pub version: String,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl ClientInfo {
    /// Builds the client info.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            title: None,
            version: version.into(),
            extra: ExtraFields::new(),
        }
    }

    /// Sets the title.
    pub fn with_title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }
}

/// The `capabilities` of `initialize`.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitializeCapabilities {
    /// Opt into experimental methods and fields (needed for dynamic tools). Always sent.
    #[serde(default)]
    pub experimental_api: bool,
    /// Opt into `attestation/generate` requests. Always sent.
    #[serde(default)]
    pub request_attestation: bool,
    /// Notification methods the server should not send on this connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opt_out_notification_methods: Option<Vec<String>>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl InitializeCapabilities {
    /// Sets `experimentalApi`.
    pub fn with_experimental_api(mut self, enabled: bool) -> Self {
        self.experimental_api = enabled;
        self
    }

    /// Sets `optOutNotificationMethods`.
    pub fn with_opt_out_notification_methods(mut self, methods: Vec<String>) -> Self {
        self.opt_out_notification_methods = Some(methods);
        self
    }
}

/// Result of `initialize`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitializeResponse {
    /// The user agent codex sends upstream (contains its version).
    #[serde(default)]
    pub user_agent: String,
    /// The server's `CODEX_HOME`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codex_home: Option<String>,
    /// `unix` or `windows`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_family: Option<String>,
    /// `linux`, `macos` or `windows`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_os: Option<String>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

// ---------------------------------------------------------------------------------------------
// thread/start, thread/resume, thread/fork
// ---------------------------------------------------------------------------------------------

macro_rules! thread_config_builders {
    ($ty:ty) => {
        impl $ty {
            /// Sets the model.
            pub fn with_model(mut self, model: impl Into<String>) -> Self {
                self.model = Some(model.into());
                self
            }

            /// Sets the working directory (absolute).
            pub fn with_cwd(mut self, cwd: impl Into<String>) -> Self {
                self.cwd = Some(cwd.into());
                self
            }

            /// Sets the approval policy.
            pub fn with_approval_policy(mut self, policy: AskForApproval) -> Self {
                self.approval_policy = Some(policy);
                self
            }

            /// Sets the sandbox mode.
            pub fn with_sandbox(mut self, sandbox: SandboxMode) -> Self {
                self.sandbox = Some(sandbox);
                self
            }

            /// Sets config overrides (the keys of `config.toml`, dotted or nested).
            pub fn with_config(mut self, config: Map<String, Value>) -> Self {
                self.config = Some(config);
                self
            }

            /// Replaces the base instructions.
            pub fn with_base_instructions(mut self, instructions: impl Into<String>) -> Self {
                self.base_instructions = Some(instructions.into());
                self
            }

            /// Sets developer instructions.
            pub fn with_developer_instructions(mut self, instructions: impl Into<String>) -> Self {
                self.developer_instructions = Some(instructions.into());
                self
            }
        }
    };
}

/// Params of `thread/start`.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadStartParams {
    /// The model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The model provider (a key of `model_providers`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_provider: Option<String>,
    /// The working directory (absolute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// When to ask for approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_policy: Option<AskForApproval>,
    /// The sandbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<SandboxMode>,
    /// Config overrides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Map<String, Value>>,
    /// Replaces the base instructions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_instructions: Option<String>,
    /// Developer instructions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub developer_instructions: Option<String>,
    /// Keep the thread in memory only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral: Option<bool>,
    /// The service tier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<String>,
    /// Client-implemented tools (experimental API), raw:
    /// `{"type":"function","name","description","inputSchema"}` or
    /// `{"type":"namespace","name","description","tools":[…]}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic_tools: Option<Vec<Value>>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl ThreadStartParams {
    /// Params with nothing set (the server's configuration decides).
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps the thread in memory only.
    pub fn with_ephemeral(mut self, ephemeral: bool) -> Self {
        self.ephemeral = Some(ephemeral);
        self
    }

    /// Sets the dynamic tools (requires the experimental API).
    pub fn with_dynamic_tools(mut self, tools: Vec<Value>) -> Self {
        self.dynamic_tools = Some(tools);
        self
    }
}

thread_config_builders!(ThreadStartParams);

/// Result of `thread/start`, `thread/resume` and `thread/fork`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadStartResponse {
    /// The thread.
    pub thread: Thread,
    /// The model in effect.
    #[serde(default)]
    pub model: String,
    /// The model provider in effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_provider: Option<String>,
    /// The working directory in effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// The approval policy in effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_policy: Option<AskForApproval>,
    /// The sandbox policy in effect (`{"type":"readOnly","networkAccess":false}`, …), raw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<Value>,
    /// The reasoning effort in effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<String>,
    /// The service tier in effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<String>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// Result of `thread/resume` (same shape as [`ThreadStartResponse`]).
pub type ThreadResumeResponse = ThreadStartResponse;

/// Result of `thread/fork` (same shape as [`ThreadStartResponse`]; the thread has
/// `forkedFromId`).
pub type ThreadForkResponse = ThreadStartResponse;

/// Params of `thread/resume`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadResumeParams {
    /// The thread to resume.
    pub thread_id: ThreadId,
    /// Model override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Model provider override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_provider: Option<String>,
    /// Working directory override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// Approval policy override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_policy: Option<AskForApproval>,
    /// Sandbox override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<SandboxMode>,
    /// Config overrides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Map<String, Value>>,
    /// Replaces the base instructions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_instructions: Option<String>,
    /// Developer instructions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub developer_instructions: Option<String>,
    /// Return the thread without its turns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_turns: Option<bool>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl ThreadResumeParams {
    /// Params resuming this thread with no overrides.
    pub fn new(thread_id: impl Into<ThreadId>) -> Self {
        Self {
            thread_id: thread_id.into(),
            model: None,
            model_provider: None,
            cwd: None,
            approval_policy: None,
            sandbox: None,
            config: None,
            base_instructions: None,
            developer_instructions: None,
            exclude_turns: None,
            extra: ExtraFields::new(),
        }
    }

    /// Sets `excludeTurns`.
    pub fn with_exclude_turns(mut self, exclude: bool) -> Self {
        self.exclude_turns = Some(exclude);
        self
    }
}

thread_config_builders!(ThreadResumeParams);

/// Params of `thread/fork`.
///
/// The model is **not** inherited from the source thread: pass the source's model to avoid a
/// model switch (which starts with a compaction).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadForkParams {
    /// The source thread.
    pub thread_id: ThreadId,
    /// Fork through this turn (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_turn_id: Option<String>,
    /// Fork before this turn (exclusive); not with `lastTurnId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_turn_id: Option<String>,
    /// Return the new thread without its turns (and avoid a deprecation notice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_turns: Option<bool>,
    /// Model of the fork.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Model provider of the fork.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_provider: Option<String>,
    /// Working directory of the fork.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// Approval policy of the fork.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_policy: Option<AskForApproval>,
    /// Sandbox of the fork.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<SandboxMode>,
    /// Config overrides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Map<String, Value>>,
    /// Replaces the base instructions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_instructions: Option<String>,
    /// Developer instructions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub developer_instructions: Option<String>,
    /// Keep the fork in memory only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral: Option<bool>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl ThreadForkParams {
    /// Params forking this whole thread with no overrides.
    pub fn new(thread_id: impl Into<ThreadId>) -> Self {
        Self {
            thread_id: thread_id.into(),
            last_turn_id: None,
            before_turn_id: None,
            exclude_turns: None,
            model: None,
            model_provider: None,
            cwd: None,
            approval_policy: None,
            sandbox: None,
            config: None,
            base_instructions: None,
            developer_instructions: None,
            ephemeral: None,
            extra: ExtraFields::new(),
        }
    }

    /// Forks through this turn (inclusive).
    pub fn with_last_turn_id(mut self, turn_id: impl Into<String>) -> Self {
        self.last_turn_id = Some(turn_id.into());
        self
    }

    /// Sets `excludeTurns`.
    pub fn with_exclude_turns(mut self, exclude: bool) -> Self {
        self.exclude_turns = Some(exclude);
        self
    }

    /// Keeps the fork in memory only.
    pub fn with_ephemeral(mut self, ephemeral: bool) -> Self {
        self.ephemeral = Some(ephemeral);
        self
    }
}

thread_config_builders!(ThreadForkParams);

// ---------------------------------------------------------------------------------------------
// thread/list, thread/read, thread/archive
// ---------------------------------------------------------------------------------------------

/// Params of `thread/list`.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadListParams {
    /// The cursor of a previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Page size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// `true`: only archived threads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived: Option<bool>,
    /// Only threads whose cwd is this path (or one of these paths), raw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<Value>,
    /// Substring filter on the title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_term: Option<String>,
    /// Only these model providers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_providers: Option<Vec<String>>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl ThreadListParams {
    /// Params listing the first page with server defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the cursor.
    pub fn with_cursor(mut self, cursor: impl Into<String>) -> Self {
        self.cursor = Some(cursor.into());
        self
    }

    /// Sets the page size.
    pub fn with_limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }
}

/// Result of `thread/list`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadListResponse {
    /// The threads of this page.
    #[serde(default)]
    pub data: Vec<Thread>,
    /// The cursor of the next page; `None` at the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// Params of `thread/read`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadReadParams {
    /// The thread.
    pub thread_id: ThreadId,
    /// Include the turns and their items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_turns: Option<bool>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl ThreadReadParams {
    /// Params reading this thread's metadata.
    pub fn new(thread_id: impl Into<ThreadId>) -> Self {
        Self {
            thread_id: thread_id.into(),
            include_turns: None,
            extra: ExtraFields::new(),
        }
    }

    /// Sets `includeTurns`.
    pub fn with_include_turns(mut self, include: bool) -> Self {
        self.include_turns = Some(include);
        self
    }
}

/// Result of `thread/read`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadReadResponse {
    /// The thread.
    pub thread: Thread,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// Params of `thread/archive`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadArchiveParams {
    /// The thread.
    pub thread_id: ThreadId,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl ThreadArchiveParams {
    /// Params archiving this thread.
    pub fn new(thread_id: impl Into<ThreadId>) -> Self {
        Self {
            thread_id: thread_id.into(),
            extra: ExtraFields::new(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// turn/start, turn/steer, turn/interrupt
// ---------------------------------------------------------------------------------------------

/// Params of `turn/start`. Overrides apply to this turn and the following ones.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnStartParams {
    /// The thread.
    pub thread_id: ThreadId,
    /// The user input.
    pub input: Vec<UserInput>,
    /// JSON Schema the final message must follow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<Value>,
    /// Model override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Reasoning effort override (`low`, `medium`, `high`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<String>,
    /// Reasoning summary override (`auto`, `concise`, `detailed`, `none`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Approval policy override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_policy: Option<AskForApproval>,
    /// Working directory override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// Sandbox policy override (`{"type":"workspaceWrite","writableRoots":[…],…}`), raw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox_policy: Option<Value>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl TurnStartParams {
    /// Params starting a turn on this thread with this input.
    pub fn new(thread_id: impl Into<ThreadId>, input: Vec<UserInput>) -> Self {
        Self {
            thread_id: thread_id.into(),
            input,
            output_schema: None,
            model: None,
            effort: None,
            summary: None,
            approval_policy: None,
            cwd: None,
            sandbox_policy: None,
            extra: ExtraFields::new(),
        }
    }

    /// Sets the output schema.
    pub fn with_output_schema(mut self, schema: Value) -> Self {
        self.output_schema = Some(schema);
        self
    }

    /// Sets the model.
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// Sets the reasoning effort.
    pub fn with_effort(mut self, effort: impl Into<String>) -> Self {
        self.effort = Some(effort.into());
        self
    }

    /// Sets the approval policy.
    pub fn with_approval_policy(mut self, policy: AskForApproval) -> Self {
        self.approval_policy = Some(policy);
        self
    }

    /// Sets the working directory.
    pub fn with_cwd(mut self, cwd: impl Into<String>) -> Self {
        self.cwd = Some(cwd.into());
        self
    }

    /// Sets the sandbox policy.
    pub fn with_sandbox_policy(mut self, policy: Value) -> Self {
        self.sandbox_policy = Some(policy);
        self
    }
}

/// Result of `turn/start`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnStartResponse {
    /// The new turn (status `inProgress`, no items).
    pub turn: Turn,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// Params of `turn/steer`: more input for the running turn.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnSteerParams {
    /// The thread.
    pub thread_id: ThreadId,
    /// The turn that must be running; the request fails otherwise.
    pub expected_turn_id: String,
    /// The input.
    pub input: Vec<UserInput>,
    /// A client id for the user message item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_user_message_id: Option<String>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl TurnSteerParams {
    /// Builds the params.
    pub fn new(
        thread_id: impl Into<ThreadId>,
        expected_turn_id: impl Into<String>,
        input: Vec<UserInput>,
    ) -> Self {
        Self {
            thread_id: thread_id.into(),
            expected_turn_id: expected_turn_id.into(),
            input,
            client_user_message_id: None,
            extra: ExtraFields::new(),
        }
    }
}

/// Result of `turn/steer`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnSteerResponse {
    /// The running turn the input went to.
    pub turn_id: String,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// Params of `turn/interrupt`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnInterruptParams {
    /// The thread.
    pub thread_id: ThreadId,
    /// The running turn.
    pub turn_id: String,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl TurnInterruptParams {
    /// Builds the params.
    pub fn new(thread_id: impl Into<ThreadId>, turn_id: impl Into<String>) -> Self {
        Self {
            thread_id: thread_id.into(),
            turn_id: turn_id.into(),
            extra: ExtraFields::new(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// model/list, account/read
// ---------------------------------------------------------------------------------------------

/// Params of `model/list`.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelListParams {
    /// The cursor of a previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Page size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Include models hidden from the default picker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_hidden: Option<bool>,
    /// List this provider's models instead of the default provider's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_provider: Option<String>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl ModelListParams {
    /// Params listing the first page.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Result of `model/list`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelListResponse {
    /// The models of this page.
    #[serde(default)]
    pub data: Vec<Model>,
    /// The cursor of the next page; `None` at the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// One model of `model/list`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Model {
    /// The catalog id.
    pub id: String,
    /// The model slug to pass as `model`.
    #[serde(default)]
    pub model: String,
    /// Display name.
    #[serde(default)]
    pub display_name: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Hidden from the default picker.
    #[serde(default)]
    pub hidden: bool,
    /// The default model.
    #[serde(default)]
    pub is_default: bool,
    /// The default reasoning effort.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_reasoning_effort: Option<String>,
    /// Supported efforts (`{reasoningEffort, description}`), raw.
    #[serde(default)]
    pub supported_reasoning_efforts: Vec<Value>,
    /// Input modalities (`text`, `image`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_modalities: Option<Vec<String>>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// Params of `account/read`.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountReadParams {
    /// Refresh the token before answering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<bool>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl AccountReadParams {
    /// Params reading the account without a refresh.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Result of `account/read`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountReadResponse {
    /// The account, when logged in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<Account>,
    /// Whether the configured provider needs an OpenAI login.
    #[serde(default)]
    pub requires_openai_auth: bool,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// How codex is authenticated, tagged by `type`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Account {
    /// An API key.
    ApiKey(AccountDetails),
    /// A ChatGPT login.
    Chatgpt(AccountDetails),
    /// Amazon Bedrock.
    AmazonBedrock(AccountDetails),
    /// Google Cloud Vertex AI.
    Gcp(AccountDetails),
    /// An account type this version of codexkit does not know, raw (with `type`).
    #[serde(untagged)]
    Unknown(Value),
}

/// The members of an [`Account`] besides `type`.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountDetails {
    /// The e-mail address (ChatGPT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The plan (ChatGPT), raw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_type: Option<Value>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}
