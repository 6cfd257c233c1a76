//! Guards: checks that may deny a tool call before its handler runs.

use serde_json::Value;
use std::future::Future;
use std::pin::Pin;

/// One call of a host tool, as a guard sees it.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    /// The tool's namespace (`None` for a tool registered at the top of its [`super::ToolSet`]).
    pub namespace: Option<String>,
    /// The tool name.
    pub name: String,
    /// The arguments the model passed (already checked against the tool's schema; secret
    /// fields are not redacted here).
    pub arguments: Value,
    /// codex's id for the call, when known.
    pub call_id: Option<String>,
    /// The thread, when known (app-server).
    pub thread_id: Option<String>,
    /// The turn, when known (app-server).
    pub turn_id: Option<String>,
}

/// A guard's answer.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardDecision {
    /// Run the handler.
    Allow,
    /// Do not run it; the model is told the call was denied, with this reason.
    Deny(String),
}

impl GuardDecision {
    /// Denies with a reason.
    pub fn deny(reason: impl Into<String>) -> Self {
        Self::Deny(reason.into())
    }
}

/// The future a [`ToolGuard`] returns.
pub type GuardFuture = Pin<Box<dyn Future<Output = GuardDecision> + Send + 'static>>;

/// Decides whether a tool call may run; set one on a [`super::ToolSet`] with
/// [`super::ToolSet::with_guard`]. It runs on a task of its own under the tool's timeout; a
/// guard that panics or does not answer in time denies the call.
pub trait ToolGuard: Send + Sync + 'static {
    /// Checks one call.
    fn check(&self, call: ToolCall) -> GuardFuture;
}

/// A [`ToolGuard`] made from an async closure.
pub fn guard_fn<F, Fut>(check: F) -> impl ToolGuard
where
    F: Fn(ToolCall) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = GuardDecision> + Send + 'static,
{
    GuardFn(check)
}

struct GuardFn<F>(F);

impl<F, Fut> ToolGuard for GuardFn<F>
where
    F: Fn(ToolCall) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = GuardDecision> + Send + 'static,
{
    fn check(&self, call: ToolCall) -> GuardFuture {
        Box::pin((self.0)(call))
    }
}
