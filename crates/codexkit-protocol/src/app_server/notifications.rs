//! Server→client notifications (`{"method","params","emittedAtMs"}` without an `id`).

use super::{AppServerItem, RequestId, Thread, ThreadStatus, Turn, TurnError};
use crate::{ExtraFields, ItemId, ThreadId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Routing keys of a params type.
trait Routing {
    fn thread_id(&self) -> Option<&str>;
    fn turn_id(&self) -> Option<&str>;
}

macro_rules! server_notifications {
    ($( $(#[doc = $doc:literal])* $variant:ident($params:ty) = $method:literal, )*) => {
        /// A notification from the server, adjacently tagged: `{"method": …, "params": {…}}`.
        ///
        /// Decode the whole message (`serde_json::from_value` / `from_str`; other members such
        /// as `emittedAtMs` are ignored) or its parts with [`ServerNotification::from_parts`].
        /// A method this version does not know, or a known method whose params do not have the
        /// expected shape, becomes [`ServerNotification::Unknown`] with the raw
        /// `{"method","params"}`; decoding a JSON object never fails.
        #[non_exhaustive]
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "method", content = "params")]
        pub enum ServerNotification {
            $(
                $(#[doc = $doc])*
                #[serde(rename = $method)]
                $variant($params),
            )*
            /// A notification this version of codexkit does not know (or could not decode),
            /// kept as the raw message.
            #[serde(untagged)]
            Unknown(Value),
        }

        impl ServerNotification {
            /// Every method that has a typed variant.
            pub const KNOWN_METHODS: &'static [&'static str] = &[$($method),*];

            /// The method name.
            pub fn method(&self) -> &str {
                match self {
                    $(Self::$variant(_) => $method,)*
                    Self::Unknown(raw) => raw.get("method").and_then(Value::as_str).unwrap_or(""),
                }
            }

            /// The thread the notification is about (`threadId`, or `thread.id`), if any.
            pub fn thread_id(&self) -> Option<&str> {
                match self {
                    $(Self::$variant(params) => Routing::thread_id(params),)*
                    Self::Unknown(raw) => raw_routing_key(raw.get("params"), "threadId", "thread"),
                }
            }

            /// The turn the notification is about (`turnId`, or `turn.id`), if any.
            pub fn turn_id(&self) -> Option<&str> {
                match self {
                    $(Self::$variant(params) => Routing::turn_id(params),)*
                    Self::Unknown(raw) => raw_routing_key(raw.get("params"), "turnId", "turn"),
                }
            }
        }
    };
}

fn raw_routing_key<'a>(params: Option<&'a Value>, key: &str, object: &str) -> Option<&'a str> {
    let params = params?;
    params
        .get(key)
        .and_then(Value::as_str)
        .or_else(|| params.get(object)?.get("id")?.as_str())
}

impl ServerNotification {
    /// Decodes a notification from its method and params (as [`super::Incoming::Notification`]
    /// holds them); absent (`null`) params count as `{}`. Never fails: anything not decodable is
    /// [`ServerNotification::Unknown`].
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

    /// Whether this is a method this version of codexkit knows but decoded as
    /// [`ServerNotification::Unknown`] because its params had an unexpected shape.
    pub fn is_malformed_known(&self) -> bool {
        matches!(self, Self::Unknown(_)) && Self::KNOWN_METHODS.contains(&self.method())
    }
}

server_notifications! {
    /// `error`: an error in a turn. With `willRetry: true` codex retries (a "Reconnecting…"
    /// notice); otherwise `turn/completed` with status `failed` follows.
    Error(ErrorNotification) = "error",
    /// `thread/started`: a thread was created, resumed or forked.
    ThreadStarted(ThreadStartedNotification) = "thread/started",
    /// `thread/status/changed`: idle, active (with flags such as `waitingOnApproval`),
    /// systemError.
    ThreadStatusChanged(ThreadStatusChangedNotification) = "thread/status/changed",
    /// `thread/tokenUsage/updated`: token usage after a model call.
    ThreadTokenUsageUpdated(TokenUsageUpdatedNotification) = "thread/tokenUsage/updated",
    /// `turn/started`.
    TurnStarted(TurnNotification) = "turn/started",
    /// `turn/completed`: the turn ended; `turn.status` says how (completed, interrupted,
    /// failed).
    TurnCompleted(TurnNotification) = "turn/completed",
    /// `turn/diff/updated`: the turn's aggregated unified diff.
    TurnDiffUpdated(TurnDiffUpdatedNotification) = "turn/diff/updated",
    /// `turn/plan/updated`: the agent's plan (to-do list).
    TurnPlanUpdated(TurnPlanUpdatedNotification) = "turn/plan/updated",
    /// `item/started`.
    ItemStarted(ItemNotification) = "item/started",
    /// `item/completed`.
    ItemCompleted(ItemNotification) = "item/completed",
    /// `item/agentMessage/delta`: streamed agent message text.
    ItemAgentMessageDelta(DeltaNotification) = "item/agentMessage/delta",
    /// `item/plan/delta`: streamed plan text (experimental).
    ItemPlanDelta(DeltaNotification) = "item/plan/delta",
    /// `item/commandExecution/outputDelta`: streamed command output.
    ItemCommandExecutionOutputDelta(DeltaNotification) = "item/commandExecution/outputDelta",
    /// `item/fileChange/outputDelta`: legacy patch output (no longer sent).
    ItemFileChangeOutputDelta(DeltaNotification) = "item/fileChange/outputDelta",
    /// `item/reasoning/summaryTextDelta`: streamed reasoning summary text.
    ItemReasoningSummaryTextDelta(ReasoningDeltaNotification) = "item/reasoning/summaryTextDelta",
    /// `item/reasoning/summaryPartAdded`: a new summary part begins.
    ItemReasoningSummaryPartAdded(ReasoningSummaryPartAddedNotification) = "item/reasoning/summaryPartAdded",
    /// `item/reasoning/textDelta`: streamed raw reasoning text.
    ItemReasoningTextDelta(ReasoningDeltaNotification) = "item/reasoning/textDelta",
    /// `item/mcpToolCall/progress`: a progress message of an MCP tool call.
    ItemMcpToolCallProgress(McpToolCallProgressNotification) = "item/mcpToolCall/progress",
    /// `serverRequest/resolved`: a server→client request was answered (or dropped, for
    /// example by an interrupt).
    ServerRequestResolved(ServerRequestResolvedNotification) = "serverRequest/resolved",
    /// `configWarning`: a configuration problem (for example bubblewrap missing).
    ConfigWarning(ConfigWarningNotification) = "configWarning",
    /// `deprecationNotice`: the client used something deprecated.
    DeprecationNotice(DeprecationNoticeNotification) = "deprecationNotice",
    /// `warning`: a warning for the user.
    Warning(WarningNotification) = "warning",
    /// `mcpServer/startupStatus/updated`: an MCP server is starting, ready, failed or cancelled.
    McpServerStartupStatusUpdated(McpServerStatusNotification) = "mcpServer/startupStatus/updated",
    /// `account/rateLimits/updated`: a sparse rate-limit update.
    AccountRateLimitsUpdated(RateLimitsUpdatedNotification) = "account/rateLimits/updated",
    /// `thread/readState/changed`.
    ThreadReadStateChanged(GenericNotification) = "thread/readState/changed",
    /// `thread/archived`.
    ThreadArchived(GenericNotification) = "thread/archived",
    /// `thread/deleted`.
    ThreadDeleted(GenericNotification) = "thread/deleted",
    /// `thread/unarchived`.
    ThreadUnarchived(GenericNotification) = "thread/unarchived",
    /// `thread/closed`.
    ThreadClosed(GenericNotification) = "thread/closed",
    /// `thread/reverted`.
    ThreadReverted(GenericNotification) = "thread/reverted",
    /// `skills/changed`: Notification emitted when watched local skill files change.
    SkillsChanged(GenericNotification) = "skills/changed",
    /// `thread/name/updated`.
    ThreadNameUpdated(GenericNotification) = "thread/name/updated",
    /// `thread/section/changed`: Broadcast after a successful move into, within, or out of a section.
    ThreadSectionChanged(GenericNotification) = "thread/section/changed",
    /// `thread/attachment/updated`: Notification published after a thread attachment is created or deleted.
    ThreadAttachmentUpdated(GenericNotification) = "thread/attachment/updated",
    /// `thread/goal/updated`.
    ThreadGoalUpdated(GenericNotification) = "thread/goal/updated",
    /// `thread/prediction/updated`.
    ThreadPredictionUpdated(GenericNotification) = "thread/prediction/updated",
    /// `thread/goal/cleared`.
    ThreadGoalCleared(GenericNotification) = "thread/goal/cleared",
    /// `thread/queue/changed`.
    ThreadQueueChanged(GenericNotification) = "thread/queue/changed",
    /// `project/changed`.
    ProjectChanged(GenericNotification) = "project/changed",
    /// `thread/project/updated`.
    ThreadProjectUpdated(GenericNotification) = "thread/project/updated",
    /// `thread/environment/connected`.
    ThreadEnvironmentConnected(GenericNotification) = "thread/environment/connected",
    /// `thread/environment/disconnected`.
    ThreadEnvironmentDisconnected(GenericNotification) = "thread/environment/disconnected",
    /// `thread/settings/updated`.
    ThreadSettingsUpdated(GenericNotification) = "thread/settings/updated",
    /// `hook/started`.
    HookStarted(GenericNotification) = "hook/started",
    /// `hook/completed`.
    HookCompleted(GenericNotification) = "hook/completed",
    /// `item/autoApprovalReview/started`: (unstable) temporary notification payload for approval auto-review. This shape is expected to change soon.
    ItemAutoApprovalReviewStarted(GenericNotification) = "item/autoApprovalReview/started",
    /// `item/autoApprovalReview/completed`: (unstable) temporary notification payload for approval auto-review. This shape is expected to change soon.
    ItemAutoApprovalReviewCompleted(GenericNotification) = "item/autoApprovalReview/completed",
    /// `autoApprovalReview/strictReviewRequired`.
    AutoApprovalReviewStrictReviewRequired(GenericNotification) = "autoApprovalReview/strictReviewRequired",
    /// `command/exec/outputDelta`: Base64-encoded output chunk emitted for a streaming `command/exec` request.
    CommandExecOutputDelta(GenericNotification) = "command/exec/outputDelta",
    /// `process/outputDelta`: Base64-encoded output chunk emitted for a streaming `process/spawn` request.
    ProcessOutputDelta(GenericNotification) = "process/outputDelta",
    /// `thread/search/partial`: A best-effort incremental batch for `thread/search/stream`. Match `requestId` to the request on this connection. Only a small subset of verified matches may be emitted; rows are unique and arrive in discovery order, but may be dropped under load or fall outside the final sorted page. Thread fields use stored metadata and the current watched status; live thread settings are enriched in the final response. Replace provisional rows with the authoritative final response. No partials follow it or an error.
    ThreadSearchPartial(GenericNotification) = "thread/search/partial",
    /// `process/exited`: Final process exit notification for `process/spawn`.
    ProcessExited(GenericNotification) = "process/exited",
    /// `item/commandExecution/terminalInteraction`.
    ItemCommandExecutionTerminalInteraction(GenericNotification) = "item/commandExecution/terminalInteraction",
    /// `item/fileChange/patchUpdated`.
    ItemFileChangePatchUpdated(GenericNotification) = "item/fileChange/patchUpdated",
    /// `mcpServer/oauthLogin/completed`.
    McpServerOauthLoginCompleted(GenericNotification) = "mcpServer/oauthLogin/completed",
    /// `mcpServer/event/stream/notification`.
    McpServerEventStreamNotification(GenericNotification) = "mcpServer/event/stream/notification",
    /// `account/updated`.
    AccountUpdated(GenericNotification) = "account/updated",
    /// `account/gatewayOAuth/changed`.
    AccountGatewayOAuthChanged(GenericNotification) = "account/gatewayOAuth/changed",
    /// `app/list/updated`: notification emitted when the app list changes.
    AppListUpdated(GenericNotification) = "app/list/updated",
    /// `remoteControl/status/changed`: Current remote-control connection status and remote identity exposed to clients.
    RemoteControlStatusChanged(GenericNotification) = "remoteControl/status/changed",
    /// `externalAgentConfig/import/progress`.
    ExternalAgentConfigImportProgress(GenericNotification) = "externalAgentConfig/import/progress",
    /// `externalAgentConfig/import/completed`.
    ExternalAgentConfigImportCompleted(GenericNotification) = "externalAgentConfig/import/completed",
    /// `fs/changed`: Filesystem watch notification emitted for `fs/watch` subscribers.
    FsChanged(GenericNotification) = "fs/changed",
    /// `thread/compacted`: Deprecated: Use `ContextCompaction` item type instead.
    ThreadCompacted(GenericNotification) = "thread/compacted",
    /// `model/rerouted`.
    ModelRerouted(GenericNotification) = "model/rerouted",
    /// `model/verification`.
    ModelVerification(GenericNotification) = "model/verification",
    /// `modelProvider/authRecoveryStarted`.
    ModelProviderAuthRecoveryStarted(GenericNotification) = "modelProvider/authRecoveryStarted",
    /// `modelProvider/authRecoveryCompleted`.
    ModelProviderAuthRecoveryCompleted(GenericNotification) = "modelProvider/authRecoveryCompleted",
    /// `turn/moderationMetadata`.
    TurnModerationMetadata(GenericNotification) = "turn/moderationMetadata",
    /// `model/safetyBuffering/updated`.
    ModelSafetyBufferingUpdated(GenericNotification) = "model/safetyBuffering/updated",
    /// `guardianWarning`.
    GuardianWarning(GenericNotification) = "guardianWarning",
    /// `fuzzyFileSearch/sessionUpdated`.
    FuzzyFileSearchSessionUpdated(GenericNotification) = "fuzzyFileSearch/sessionUpdated",
    /// `fuzzyFileSearch/sessionCompleted`.
    FuzzyFileSearchSessionCompleted(GenericNotification) = "fuzzyFileSearch/sessionCompleted",
    /// `thread/realtime/started`: emitted when thread realtime startup is accepted.
    ThreadRealtimeStarted(GenericNotification) = "thread/realtime/started",
    /// `thread/realtime/itemAdded`: raw non-audio thread realtime item emitted by the backend.
    ThreadRealtimeItemAdded(GenericNotification) = "thread/realtime/itemAdded",
    /// `thread/realtime/item/started`: a realtime timeline item started before its content streams.
    ThreadRealtimeItemStarted(GenericNotification) = "thread/realtime/item/started",
    /// `thread/realtime/item/transcript/delta`: text appended to an active realtime transcript item.
    ThreadRealtimeItemTranscriptDelta(GenericNotification) = "thread/realtime/item/transcript/delta",
    /// `thread/realtime/item/completed`: a realtime timeline item published after canonical commit.
    ThreadRealtimeItemCompleted(GenericNotification) = "thread/realtime/item/completed",
    /// `thread/realtime/transcript/delta`: flat transcript delta emitted whenever realtime transcript text changes.
    ThreadRealtimeTranscriptDelta(GenericNotification) = "thread/realtime/transcript/delta",
    /// `thread/realtime/transcript/done`: final transcript text emitted when realtime completes a transcript part.
    ThreadRealtimeTranscriptDone(GenericNotification) = "thread/realtime/transcript/done",
    /// `thread/realtime/outputAudio/delta`: streamed output audio emitted by thread realtime.
    ThreadRealtimeOutputAudioDelta(GenericNotification) = "thread/realtime/outputAudio/delta",
    /// `thread/realtime/sdp`: emitted with the remote SDP for a WebRTC realtime session.
    ThreadRealtimeSdp(GenericNotification) = "thread/realtime/sdp",
    /// `thread/realtime/error`: emitted when thread realtime encounters an error.
    ThreadRealtimeError(GenericNotification) = "thread/realtime/error",
    /// `thread/realtime/closed`: emitted when thread realtime transport closes.
    ThreadRealtimeClosed(GenericNotification) = "thread/realtime/closed",
    /// `windows/worldWritableWarning`.
    WindowsWorldWritableWarning(GenericNotification) = "windows/worldWritableWarning",
    /// `windowsSandbox/setupCompleted`.
    WindowsSandboxSetupCompleted(GenericNotification) = "windowsSandbox/setupCompleted",
    /// `account/login/completed`.
    AccountLoginCompleted(GenericNotification) = "account/login/completed",
}

/// Params of notifications this crate does not type further: the routing keys and the rest.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenericNotification {
    /// The thread, when the notification names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<ThreadId>,
    /// The turn, when the notification names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_id: Option<String>,
    /// Every other member.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl Routing for GenericNotification {
    fn thread_id(&self) -> Option<&str> {
        self.thread_id.as_ref().map(ThreadId::as_str)
    }
    fn turn_id(&self) -> Option<&str> {
        self.turn_id.as_deref()
    }
}

/// Params of `error`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorNotification {
    /// The thread.
    pub thread_id: ThreadId,
    /// The turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_id: Option<String>,
    /// The error.
    pub error: TurnError,
    /// Whether codex will retry (a transient error).
    #[serde(default)]
    pub will_retry: bool,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl Routing for ErrorNotification {
    fn thread_id(&self) -> Option<&str> {
        Some(self.thread_id.as_str())
    }
    fn turn_id(&self) -> Option<&str> {
        self.turn_id.as_deref()
    }
}

/// Params of `thread/started`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadStartedNotification {
    /// The thread.
    pub thread: Thread,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl Routing for ThreadStartedNotification {
    fn thread_id(&self) -> Option<&str> {
        Some(self.thread.id.as_str())
    }
    fn turn_id(&self) -> Option<&str> {
        None
    }
}

/// Params of `thread/status/changed`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadStatusChangedNotification {
    /// The thread.
    pub thread_id: ThreadId,
    /// Its new status.
    pub status: ThreadStatus,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl Routing for ThreadStatusChangedNotification {
    fn thread_id(&self) -> Option<&str> {
        Some(self.thread_id.as_str())
    }
    fn turn_id(&self) -> Option<&str> {
        None
    }
}

/// Params of `thread/tokenUsage/updated`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenUsageUpdatedNotification {
    /// The thread.
    pub thread_id: ThreadId,
    /// The turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_id: Option<String>,
    /// The usage.
    pub token_usage: ThreadTokenUsage,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl Routing for TokenUsageUpdatedNotification {
    fn thread_id(&self) -> Option<&str> {
        Some(self.thread_id.as_str())
    }
    fn turn_id(&self) -> Option<&str> {
        self.turn_id.as_deref()
    }
}

/// Token usage of a thread: the running total and the last model call.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadTokenUsage {
    /// Cumulative for the thread (including history loaded on resume).
    pub total: TokenUsageBreakdown,
    /// The last model call alone.
    pub last: TokenUsageBreakdown,
    /// The model's context window, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_context_window: Option<u64>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// Token counts, camelCase.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenUsageBreakdown {
    /// Input plus output tokens.
    #[serde(default)]
    pub total_tokens: u64,
    /// Input tokens.
    #[serde(default)]
    pub input_tokens: u64,
    /// Input tokens served from the prompt cache.
    #[serde(default)]
    pub cached_input_tokens: u64,
    /// Input tokens written to the prompt cache.
    #[serde(default)]
    pub cache_write_input_tokens: u64,
    /// Output tokens.
    #[serde(default)]
    pub output_tokens: u64,
    /// Output tokens spent on reasoning.
    #[serde(default)]
    pub reasoning_output_tokens: u64,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl TokenUsageBreakdown {
    /// The counts in the normalized [`crate::Usage`] shape.
    pub fn to_usage(&self) -> crate::Usage {
        let mut usage = crate::Usage::new(
            self.input_tokens,
            self.cached_input_tokens,
            self.output_tokens,
            self.reasoning_output_tokens,
        );
        usage.cache_write_input_tokens = self.cache_write_input_tokens;
        usage
    }
}

/// Params of `turn/started` and `turn/completed`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnNotification {
    /// The thread.
    pub thread_id: ThreadId,
    /// The turn.
    pub turn: Turn,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl Routing for TurnNotification {
    fn thread_id(&self) -> Option<&str> {
        Some(self.thread_id.as_str())
    }
    fn turn_id(&self) -> Option<&str> {
        Some(self.turn.id.as_str())
    }
}

/// Params of `turn/diff/updated`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnDiffUpdatedNotification {
    /// The thread.
    pub thread_id: ThreadId,
    /// The turn.
    pub turn_id: String,
    /// The unified diff of everything the turn changed so far.
    pub diff: String,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl Routing for TurnDiffUpdatedNotification {
    fn thread_id(&self) -> Option<&str> {
        Some(self.thread_id.as_str())
    }
    fn turn_id(&self) -> Option<&str> {
        Some(self.turn_id.as_str())
    }
}

/// Params of `turn/plan/updated`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnPlanUpdatedNotification {
    /// The thread.
    pub thread_id: ThreadId,
    /// The turn.
    pub turn_id: String,
    /// Why the plan changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
    /// The steps, in order.
    #[serde(default)]
    pub plan: Vec<TurnPlanStep>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl Routing for TurnPlanUpdatedNotification {
    fn thread_id(&self) -> Option<&str> {
        Some(self.thread_id.as_str())
    }
    fn turn_id(&self) -> Option<&str> {
        Some(self.turn_id.as_str())
    }
}

/// One step of a plan.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnPlanStep {
    /// What is to be done.
    pub step: String,
    /// How far it is.
    pub status: PlanStepStatus,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// Status of a [`TurnPlanStep`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PlanStepStatus {
    /// Not started.
    Pending,
    /// Being worked on.
    InProgress,
    /// Done.
    Completed,
    /// A status this version of codexkit does not know.
    #[serde(untagged)]
    Unknown(Value),
}

/// Params of `item/started` and `item/completed`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemNotification {
    /// The item.
    pub item: AppServerItem,
    /// The thread.
    pub thread_id: ThreadId,
    /// The turn.
    pub turn_id: String,
    /// When the item started, Unix milliseconds (`item/started`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at_ms: Option<i64>,
    /// When the item completed, Unix milliseconds (`item/completed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at_ms: Option<i64>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl Routing for ItemNotification {
    fn thread_id(&self) -> Option<&str> {
        Some(self.thread_id.as_str())
    }
    fn turn_id(&self) -> Option<&str> {
        Some(self.turn_id.as_str())
    }
}

/// Params of the streamed-text notifications (`item/agentMessage/delta`,
/// `item/commandExecution/outputDelta`, …).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeltaNotification {
    /// The thread.
    pub thread_id: ThreadId,
    /// The turn.
    pub turn_id: String,
    /// The item the text belongs to.
    pub item_id: ItemId,
    /// The new text.
    pub delta: String,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl Routing for DeltaNotification {
    fn thread_id(&self) -> Option<&str> {
        Some(self.thread_id.as_str())
    }
    fn turn_id(&self) -> Option<&str> {
        Some(self.turn_id.as_str())
    }
}

/// Params of `item/reasoning/summaryTextDelta` and `item/reasoning/textDelta`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReasoningDeltaNotification {
    /// The thread.
    pub thread_id: ThreadId,
    /// The turn.
    pub turn_id: String,
    /// The reasoning item.
    pub item_id: ItemId,
    /// The new text.
    pub delta: String,
    /// Which summary part the text belongs to (summary deltas).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary_index: Option<i64>,
    /// Which content part the text belongs to (raw text deltas).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_index: Option<i64>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl Routing for ReasoningDeltaNotification {
    fn thread_id(&self) -> Option<&str> {
        Some(self.thread_id.as_str())
    }
    fn turn_id(&self) -> Option<&str> {
        Some(self.turn_id.as_str())
    }
}

/// Params of `item/reasoning/summaryPartAdded`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReasoningSummaryPartAddedNotification {
    /// The thread.
    pub thread_id: ThreadId,
    /// The turn.
    pub turn_id: String,
    /// The reasoning item.
    pub item_id: ItemId,
    /// The index of the new part (0 for the first).
    #[serde(default)]
    pub summary_index: i64,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl Routing for ReasoningSummaryPartAddedNotification {
    fn thread_id(&self) -> Option<&str> {
        Some(self.thread_id.as_str())
    }
    fn turn_id(&self) -> Option<&str> {
        Some(self.turn_id.as_str())
    }
}

/// Params of `item/mcpToolCall/progress`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct McpToolCallProgressNotification {
    /// The thread.
    pub thread_id: ThreadId,
    /// The turn.
    pub turn_id: String,
    /// The MCP tool call item.
    pub item_id: ItemId,
    /// The progress message.
    #[serde(default)]
    pub message: String,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl Routing for McpToolCallProgressNotification {
    fn thread_id(&self) -> Option<&str> {
        Some(self.thread_id.as_str())
    }
    fn turn_id(&self) -> Option<&str> {
        Some(self.turn_id.as_str())
    }
}

/// Params of `serverRequest/resolved`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerRequestResolvedNotification {
    /// The thread.
    pub thread_id: ThreadId,
    /// The id of the server→client request that is settled.
    pub request_id: RequestId,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl Routing for ServerRequestResolvedNotification {
    fn thread_id(&self) -> Option<&str> {
        Some(self.thread_id.as_str())
    }
    fn turn_id(&self) -> Option<&str> {
        None
    }
}

/// Params of `configWarning`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigWarningNotification {
    /// A one-line summary.
    pub summary: String,
    /// More guidance, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// The config file at fault, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Where in the file, raw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<Value>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl Routing for ConfigWarningNotification {
    fn thread_id(&self) -> Option<&str> {
        None
    }
    fn turn_id(&self) -> Option<&str> {
        None
    }
}

/// Params of `deprecationNotice`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeprecationNoticeNotification {
    /// What is deprecated.
    pub summary: String,
    /// Migration guidance, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl Routing for DeprecationNoticeNotification {
    fn thread_id(&self) -> Option<&str> {
        None
    }
    fn turn_id(&self) -> Option<&str> {
        None
    }
}

/// Params of `warning`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WarningNotification {
    /// The warning.
    pub message: String,
    /// The thread it concerns, if one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<ThreadId>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl Routing for WarningNotification {
    fn thread_id(&self) -> Option<&str> {
        self.thread_id.as_ref().map(ThreadId::as_str)
    }
    fn turn_id(&self) -> Option<&str> {
        None
    }
}

/// Params of `mcpServer/startupStatus/updated`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct McpServerStatusNotification {
    /// The server name.
    pub name: String,
    /// `starting`, `ready`, `failed` or `cancelled`.
    pub status: String,
    /// The error, for a failed server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The thread whose startup this is, if one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<ThreadId>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl Routing for McpServerStatusNotification {
    fn thread_id(&self) -> Option<&str> {
        self.thread_id.as_ref().map(ThreadId::as_str)
    }
    fn turn_id(&self) -> Option<&str> {
        None
    }
}

/// Params of `account/rateLimits/updated`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimitsUpdatedNotification {
    /// The rate-limit snapshot (sparse; merge into the last `account/rateLimits/read`), raw.
    pub rate_limits: Value,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl Routing for RateLimitsUpdatedNotification {
    fn thread_id(&self) -> Option<&str> {
        None
    }
    fn turn_id(&self) -> Option<&str> {
        None
    }
}
