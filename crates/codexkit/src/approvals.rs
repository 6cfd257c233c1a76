//! Answering codex's approval requests, with deadlines that never let a turn hang.
//!
//! On the app-server transport codex asks the client before it runs a command, applies a
//! patch, grants permissions or lets an MCP tool run (depending on the approval policy). An
//! [`ApprovalHandler`] decides. Whatever the handler does — answers, fails, panics, or never
//! answers — codex gets exactly one answer per request: the handler's decision, or the
//! fallback decision when the deadline passes or the handler fails.
//!
//! The default handler declines everything: codexkit fails closed.

use serde_json::{Value, json};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::oneshot;

/// Default time a handler gets to decide.
pub const DEFAULT_APPROVAL_TIMEOUT: Duration = Duration::from_secs(30);

/// What codex asks to be approved.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApprovalKind {
    /// Running a shell command.
    CommandExecution,
    /// Applying a patch.
    FileChange,
    /// Granting more sandbox permissions.
    Permissions,
    /// An MCP server asks for input or for a tool to run (elicitation).
    McpElicitation,
    /// The model asks the user questions.
    UserInput,
}

impl ApprovalKind {
    /// The kind for a server request method, if it is an approval.
    pub fn from_method(method: &str) -> Option<Self> {
        Some(match method {
            "item/commandExecution/requestApproval" | "execCommandApproval" => {
                Self::CommandExecution
            }
            "item/fileChange/requestApproval" | "applyPatchApproval" => Self::FileChange,
            "item/permissions/requestApproval" => Self::Permissions,
            "mcpServer/elicitation/request" => Self::McpElicitation,
            "item/tool/requestUserInput" => Self::UserInput,
            _ => return None,
        })
    }

    /// The name used in events (`command_execution`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CommandExecution => "command_execution",
            Self::FileChange => "file_change",
            Self::Permissions => "permissions",
            Self::McpElicitation => "mcp_elicitation",
            Self::UserInput => "user_input",
        }
    }
}

/// A decision on an approval request.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApprovalDecision {
    /// Allow this once.
    Accept,
    /// Allow this and identical requests for the rest of the session.
    AcceptForSession,
    /// Allow, and add this prefix rule to the exec policy so matching commands run without
    /// asking (command approvals only; others treat it as `Accept`).
    AcceptWithExecpolicyAmendment(Vec<String>),
    /// Refuse; the turn goes on.
    Decline,
    /// Refuse and interrupt the turn.
    Cancel,
}

impl ApprovalDecision {
    /// The JSON result codex expects for a request of `method`.
    pub(crate) fn to_result(&self, method: &str, params: &Value) -> Value {
        match method {
            "item/commandExecution/requestApproval" => json!({ "decision": match self {
                Self::Accept => json!("accept"),
                Self::AcceptForSession => json!("acceptForSession"),
                Self::AcceptWithExecpolicyAmendment(rule) => json!({
                    "acceptWithExecpolicyAmendment": { "execpolicy_amendment": rule }
                }),
                Self::Decline => json!("decline"),
                Self::Cancel => json!("cancel"),
            }}),
            "item/fileChange/requestApproval" => json!({ "decision": match self {
                Self::Accept | Self::AcceptWithExecpolicyAmendment(_) => "accept",
                Self::AcceptForSession => "acceptForSession",
                Self::Decline => "decline",
                Self::Cancel => "cancel",
            }}),
            "execCommandApproval" | "applyPatchApproval" => json!({ "decision": match self {
                Self::Accept => json!("approved"),
                Self::AcceptForSession => json!("approved_for_session"),
                Self::AcceptWithExecpolicyAmendment(rule) => json!({
                    "approved_execpolicy_amendment": { "proposed_execpolicy_amendment": rule }
                }),
                Self::Decline => json!("denied"),
                Self::Cancel => json!("abort"),
            }}),
            "item/permissions/requestApproval" => match self {
                Self::Accept | Self::AcceptForSession | Self::AcceptWithExecpolicyAmendment(_) => {
                    let scope = if *self == Self::AcceptForSession {
                        "session"
                    } else {
                        "turn"
                    };
                    json!({
                        "permissions": params.get("permissions").cloned().unwrap_or_else(|| json!({})),
                        "scope": scope,
                    })
                }
                Self::Decline | Self::Cancel => json!({ "permissions": {} }),
            },
            "mcpServer/elicitation/request" => json!({
                "action": match self {
                    Self::Accept | Self::AcceptForSession | Self::AcceptWithExecpolicyAmendment(_) => "accept",
                    Self::Decline => "decline",
                    Self::Cancel => "cancel",
                },
                "content": match self {
                    Self::Accept | Self::AcceptForSession | Self::AcceptWithExecpolicyAmendment(_) => json!({}),
                    _ => Value::Null,
                },
                "_meta": Value::Null,
            }),
            // User input: a decline is "no answers".
            _ => json!({ "answers": {} }),
        }
    }

    /// The decision as shown in events.
    pub(crate) fn label(&self) -> Value {
        match self {
            Self::Accept => json!("accept"),
            Self::AcceptForSession => json!("accept_for_session"),
            Self::AcceptWithExecpolicyAmendment(rule) => {
                json!({ "accept_with_execpolicy_amendment": rule })
            }
            Self::Decline => json!("decline"),
            Self::Cancel => json!("cancel"),
        }
    }
}

/// One approval request from codex.
#[non_exhaustive]
#[derive(Debug)]
pub struct ApprovalRequest {
    /// What is asked.
    pub kind: ApprovalKind,
    /// The JSON-RPC method codex used.
    pub method: String,
    /// The thread it belongs to.
    pub thread_id: Option<String>,
    /// The turn it belongs to.
    pub turn_id: Option<String>,
    /// The item it is about.
    pub item_id: Option<String>,
    /// The command line, for command approvals.
    pub command: Option<String>,
    /// Why codex asks, when it says.
    pub reason: Option<String>,
    /// codex's parameters, as sent.
    pub params: Value,
    deferred: Option<oneshot::Sender<ApprovalDecision>>,
    deferred_used: Arc<AtomicBool>,
    deferred_rx: Option<oneshot::Receiver<ApprovalDecision>>,
}

impl ApprovalRequest {
    pub(crate) fn new(kind: ApprovalKind, method: &str, params: Value) -> Self {
        let text = |key: &str| params.get(key).and_then(Value::as_str).map(str::to_owned);
        let command = match params.get("command") {
            Some(Value::String(command)) => Some(command.clone()),
            // Legacy requests send argv.
            Some(Value::Array(argv)) => Some(
                argv.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            _ => None,
        };
        let (tx, rx) = oneshot::channel();
        Self {
            kind,
            method: method.to_owned(),
            thread_id: text("threadId").or_else(|| text("conversationId")),
            turn_id: text("turnId"),
            item_id: text("itemId").or_else(|| text("callId")),
            command,
            reason: text("reason"),
            deferred: Some(tx),
            deferred_used: Arc::new(AtomicBool::new(false)),
            deferred_rx: Some(rx),
            params,
        }
    }

    /// Parks the request: returns a handle that decides it later from any task, and a future
    /// the handler returns (or awaits) to wait for that decision. The request's deadline
    /// still applies.
    ///
    /// ```
    /// # use codexkit::approvals::{ApprovalDecision, ApprovalRequest, DeferredApproval};
    /// # async fn park(request: ApprovalRequest, inbox: tokio::sync::mpsc::Sender<DeferredApproval>)
    /// # -> Result<ApprovalDecision, codexkit::approvals::ApprovalError> {
    /// let (handle, decision) = request.defer();
    /// inbox.send(handle).await.ok(); // someone calls handle.approve() later
    /// decision.await
    /// # }
    /// ```
    pub fn defer(
        mut self,
    ) -> (
        DeferredApproval,
        impl Future<Output = Result<ApprovalDecision, ApprovalError>> + Send + 'static,
    ) {
        let handle = DeferredApproval {
            sender: self.deferred.take(),
            used: Arc::clone(&self.deferred_used),
            kind: self.kind,
            command: self.command.clone(),
        };
        let receiver = self.deferred_rx.take();
        let wait = async move {
            match receiver {
                Some(receiver) => receiver.await.map_err(|_| {
                    ApprovalError::new("the deferred approval handle was dropped undecided")
                }),
                None => Err(ApprovalError::new("the request was already deferred")),
            }
        };
        (handle, wait)
    }

    pub(crate) fn deferred_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.deferred_used)
    }
}

/// A parked approval request; decide it from any task.
#[derive(Debug)]
pub struct DeferredApproval {
    sender: Option<oneshot::Sender<ApprovalDecision>>,
    used: Arc<AtomicBool>,
    /// What is asked.
    pub kind: ApprovalKind,
    /// The command line, for command approvals.
    pub command: Option<String>,
}

impl DeferredApproval {
    /// Decides the request. Returns `false` when it was already answered (for example by its
    /// deadline).
    pub fn decide(mut self, decision: ApprovalDecision) -> bool {
        self.used.store(true, Ordering::Relaxed);
        match self.sender.take() {
            Some(sender) => sender.send(decision).is_ok(),
            None => false,
        }
    }

    /// Accepts the request.
    pub fn approve(self) -> bool {
        self.decide(ApprovalDecision::Accept)
    }

    /// Declines the request.
    pub fn decline(self) -> bool {
        self.decide(ApprovalDecision::Decline)
    }
}

/// Why a handler could not decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalError {
    message: String,
}

impl ApprovalError {
    /// An error with a message (shown in the `approval.failed` event).
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl fmt::Display for ApprovalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ApprovalError {}

/// The future a handler returns.
pub type ApprovalFuture =
    Pin<Box<dyn Future<Output = Result<ApprovalDecision, ApprovalError>> + Send + 'static>>;

/// Decides approval requests.
///
/// Implement it, or wrap a closure with [`approval_fn`]. The future runs on its own task, under
/// the request's deadline; a panic in it counts as a failure.
pub trait ApprovalHandler: Send + Sync + 'static {
    /// Decides one request.
    fn decide(&self, request: ApprovalRequest) -> ApprovalFuture;
}

/// Declines every request (the default).
#[derive(Debug, Clone, Copy, Default)]
pub struct DeclineAll;

impl ApprovalHandler for DeclineAll {
    fn decide(&self, _request: ApprovalRequest) -> ApprovalFuture {
        Box::pin(async { Ok(ApprovalDecision::Decline) })
    }
}

/// Accepts every request. Only for trusted prompts in a sandbox you trust.
#[derive(Debug, Clone, Copy, Default)]
pub struct AcceptAll;

impl ApprovalHandler for AcceptAll {
    fn decide(&self, _request: ApprovalRequest) -> ApprovalFuture {
        Box::pin(async { Ok(ApprovalDecision::Accept) })
    }
}

struct FnHandler<F>(F);

impl<F, Fut> ApprovalHandler for FnHandler<F>
where
    F: Fn(ApprovalRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<ApprovalDecision, ApprovalError>> + Send + 'static,
{
    fn decide(&self, request: ApprovalRequest) -> ApprovalFuture {
        Box::pin((self.0)(request))
    }
}

/// Makes an [`ApprovalHandler`] from an async closure.
///
/// ```
/// use codexkit::approvals::{approval_fn, ApprovalDecision, ApprovalKind};
/// let handler = approval_fn(|request| async move {
///     Ok(match (request.kind, request.command.as_deref()) {
///         (ApprovalKind::CommandExecution, Some(cmd)) if cmd.contains("rm ") => ApprovalDecision::Decline,
///         _ => ApprovalDecision::Accept,
///     })
/// });
/// # let _ = handler;
/// ```
pub fn approval_fn<F, Fut>(f: F) -> Arc<dyn ApprovalHandler>
where
    F: Fn(ApprovalRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<ApprovalDecision, ApprovalError>> + Send + 'static,
{
    Arc::new(FnHandler(f))
}

/// How a thread answers approval requests: who decides, how long they get, and what is sent
/// when they do not decide in time.
#[non_exhaustive]
#[derive(Clone)]
pub struct Approver {
    /// Who decides.
    pub handler: Arc<dyn ApprovalHandler>,
    /// Time the handler gets per request.
    pub timeout: Duration,
    /// Deadlines for particular kinds, overriding `timeout`.
    pub timeouts: HashMap<ApprovalKind, Duration>,
    /// What is sent when the deadline passes or the handler fails.
    pub fallback: ApprovalDecision,
}

impl Default for Approver {
    fn default() -> Self {
        Self {
            handler: Arc::new(DeclineAll),
            timeout: DEFAULT_APPROVAL_TIMEOUT,
            timeouts: HashMap::new(),
            fallback: ApprovalDecision::Decline,
        }
    }
}

impl fmt::Debug for Approver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Approver")
            .field("timeout", &self.timeout)
            .field("timeouts", &self.timeouts)
            .field("fallback", &self.fallback)
            .finish_non_exhaustive()
    }
}

impl Approver {
    /// A policy with this handler and the default deadline and fallback.
    pub fn new(handler: Arc<dyn ApprovalHandler>) -> Self {
        Self {
            handler,
            ..Self::default()
        }
    }

    /// Sets the deadline for every kind.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the deadline for one kind.
    pub fn with_kind_timeout(mut self, kind: ApprovalKind, timeout: Duration) -> Self {
        self.timeouts.insert(kind, timeout);
        self
    }

    /// Sets the decision sent on deadline or failure.
    pub fn with_fallback(mut self, fallback: ApprovalDecision) -> Self {
        self.fallback = fallback;
        self
    }

    pub(crate) fn timeout_for(&self, kind: ApprovalKind) -> Duration {
        self.timeouts.get(&kind).copied().unwrap_or(self.timeout)
    }
}

/// How one request was settled.
#[derive(Debug)]
pub(crate) enum Settlement {
    /// The handler (directly or through a deferred handle) decided.
    Decided {
        decision: ApprovalDecision,
        deferred: bool,
    },
    /// The deadline passed.
    TimedOut { fallback: ApprovalDecision },
    /// The handler failed or panicked.
    Failed {
        fallback: ApprovalDecision,
        message: String,
    },
}

/// Runs the handler on its own task under the deadline. Always returns a decision.
pub(crate) async fn settle(policy: &Approver, request: ApprovalRequest) -> Settlement {
    let deadline = policy.timeout_for(request.kind);
    let deferred = request.deferred_flag();
    let task = tokio::spawn(policy.handler.decide(request));
    let abort = task.abort_handle();
    let outcome = tokio::time::timeout(deadline, task).await;
    match outcome {
        Ok(Ok(Ok(decision))) => Settlement::Decided {
            decision,
            deferred: deferred.load(Ordering::Relaxed),
        },
        Ok(Ok(Err(error))) => Settlement::Failed {
            fallback: policy.fallback.clone(),
            message: format!("approval handler failed: {error}"),
        },
        Ok(Err(join_error)) => Settlement::Failed {
            fallback: policy.fallback.clone(),
            message: if join_error.is_panic() {
                "approval handler panicked".to_owned()
            } else {
                "approval handler was cancelled".to_owned()
            },
        },
        Err(_) => {
            abort.abort();
            Settlement::TimedOut {
                fallback: policy.fallback.clone(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> ApprovalRequest {
        ApprovalRequest::new(
            ApprovalKind::CommandExecution,
            "item/commandExecution/requestApproval",
            json!({"threadId": "t", "turnId": "u", "itemId": "call_1", "command": "touch x"}),
        )
    }

    #[test]
    fn decisions_render_per_method() {
        let p = json!({"permissions": {"network": {"enabled": true}}});
        let cmd = "item/commandExecution/requestApproval";
        assert_eq!(
            ApprovalDecision::Accept.to_result(cmd, &p),
            json!({"decision": "accept"})
        );
        assert_eq!(
            ApprovalDecision::AcceptWithExecpolicyAmendment(vec!["touch".into()])
                .to_result(cmd, &p),
            json!({"decision": {"acceptWithExecpolicyAmendment": {"execpolicy_amendment": ["touch"]}}})
        );
        assert_eq!(
            ApprovalDecision::Cancel.to_result("item/fileChange/requestApproval", &p),
            json!({"decision": "cancel"})
        );
        assert_eq!(
            ApprovalDecision::Decline.to_result("execCommandApproval", &p),
            json!({"decision": "denied"})
        );
        assert_eq!(
            ApprovalDecision::Accept.to_result("item/permissions/requestApproval", &p),
            json!({"permissions": {"network": {"enabled": true}}, "scope": "turn"})
        );
        assert_eq!(
            ApprovalDecision::Decline.to_result("mcpServer/elicitation/request", &p)["action"],
            "decline"
        );
    }

    #[test]
    fn requests_expose_their_fields() {
        let r = request();
        assert_eq!(r.item_id.as_deref(), Some("call_1"));
        assert_eq!(r.command.as_deref(), Some("touch x"));
        assert_eq!(r.thread_id.as_deref(), Some("t"));
    }

    #[tokio::test]
    async fn handler_decision_failure_panic_and_timeout_all_settle() {
        let fast = Approver::new(Arc::new(AcceptAll));
        assert!(matches!(
            settle(&fast, request()).await,
            Settlement::Decided {
                decision: ApprovalDecision::Accept,
                deferred: false
            }
        ));

        let failing = Approver::new(approval_fn(|_| async {
            Err(ApprovalError::new("db down"))
        }));
        assert!(matches!(
            settle(&failing, request()).await,
            Settlement::Failed { fallback: ApprovalDecision::Decline, ref message } if message.contains("db down")
        ));

        #[allow(unreachable_code)]
        let panicking = Approver::new(approval_fn(|_| async {
            panic!("handler bug");
            Ok(ApprovalDecision::Accept)
        }));
        assert!(matches!(
            settle(&panicking, request()).await,
            Settlement::Failed { ref message, .. } if message.contains("panicked")
        ));

        let silent = Approver::new(approval_fn(|_| std::future::pending()))
            .with_timeout(Duration::from_millis(20))
            .with_fallback(ApprovalDecision::Cancel);
        assert!(matches!(
            settle(&silent, request()).await,
            Settlement::TimedOut {
                fallback: ApprovalDecision::Cancel
            }
        ));
    }

    #[tokio::test]
    async fn deferred_decisions_come_from_another_task() {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<DeferredApproval>(1);
        let policy = Approver::new(approval_fn(move |request: ApprovalRequest| {
            let tx = tx.clone();
            async move {
                let (handle, decision) = request.defer();
                tx.send(handle)
                    .await
                    .map_err(|_| ApprovalError::new("inbox closed"))?;
                decision.await
            }
        }));
        let approver = tokio::spawn(async move {
            let handle = rx.recv().await.unwrap();
            assert_eq!(handle.command.as_deref(), Some("touch x"));
            assert!(handle.approve());
        });
        let settled = settle(&policy, request()).await;
        approver.await.unwrap();
        assert!(matches!(
            settled,
            Settlement::Decided {
                decision: ApprovalDecision::Accept,
                deferred: true
            }
        ));
    }
}
