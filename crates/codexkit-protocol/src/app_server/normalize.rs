//! Maps app-server notifications onto codexkit's normalized event domain ([`ThreadEvent`],
//! the vocabulary of `codex exec --json`).

use super::{ServerNotification, TurnError, TurnStatus};
use crate::{
    ErrorItem, ExtraFields, ItemDelta, ItemDetails, ItemEvent, StreamError, ThreadEvent,
    ThreadItem, ThreadStarted, TokenUsageUpdate, TurnCompleted, TurnDiff, TurnFailed,
    TurnInterrupted, TurnStarted, Usage,
};
use serde_json::Value;

/// Turns app-server notifications into [`ThreadEvent`]s.
///
/// It keeps a little state: the last thread-total usage seen (reported by `turn.completed` and
/// `turn.interrupted`) and a counter for the ids of synthesized warning items. Use one per turn
/// or per thread; feed it only the notifications of that turn or thread (route with
/// [`ServerNotification::thread_id`] and [`ServerNotification::turn_id`]).
///
/// | notification | events |
/// |---|---|
/// | `thread/started` | `thread.started` |
/// | `turn/started` | `turn.started` with `turn_id` |
/// | `item/started`, `item/completed` | `item.started`, `item.completed` with the item mapped by [`super::AppServerItem::to_thread_item`] (user messages give nothing) |
/// | `item/agentMessage/delta` | `item.agent_message.delta` |
/// | `item/reasoning/summaryTextDelta` | `item.reasoning.delta` |
/// | `item/reasoning/summaryPartAdded` (second part on) | `item.reasoning.delta` of `"\n"`, so that the deltas add up to the item's text |
/// | `item/commandExecution/outputDelta` | `item.command_execution.output_delta` |
/// | `turn/diff/updated` | `turn.diff.updated` |
/// | `thread/tokenUsage/updated` | `thread.token_usage.updated` (the total is remembered) |
/// | `turn/completed` | by `turn.status`: `turn.completed` with the last total usage (zeros if none was seen), `turn.failed` with `turn.error.message`, or `turn.interrupted` with the last total usage |
/// | `error` | `error` (message as exec prints it, `"<message> (<additionalDetails>)"`; `will_retry` and `codex_error_info` in `extra`) |
/// | `configWarning`, `warning` | `item.completed` of an `error` item with a synthesized id `warning_<n>` (as exec shows them) |
/// | anything else | nothing |
#[non_exhaustive]
#[derive(Debug, Clone, Default)]
pub struct TurnNormalizer {
    last_total: Option<Usage>,
    next_warning: u64,
}

impl TurnNormalizer {
    /// A normalizer that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// A normalizer that starts from this thread-total usage (for example the total of the
    /// thread's previous turn), reported if the turn ends before any usage update.
    pub fn with_usage(total: Usage) -> Self {
        Self {
            last_total: Some(total),
            next_warning: 0,
        }
    }

    /// The last thread-total usage seen, if any.
    pub fn last_total_usage(&self) -> Option<&Usage> {
        self.last_total.as_ref()
    }

    /// The events for one notification (often none, sometimes one).
    pub fn on_notification(&mut self, notification: &ServerNotification) -> Vec<ThreadEvent> {
        use ServerNotification as N;
        let event = match notification {
            N::ThreadStarted(p) => {
                ThreadEvent::ThreadStarted(ThreadStarted::new(p.thread.id.clone()))
            }
            N::TurnStarted(p) => ThreadEvent::TurnStarted(TurnStarted {
                turn_id: Some(p.turn.id.clone()),
                extra: ExtraFields::new(),
            }),
            N::ItemStarted(p) => match p.item.to_thread_item() {
                Some(item) => ThreadEvent::ItemStarted(ItemEvent::new(item)),
                None => return Vec::new(),
            },
            N::ItemCompleted(p) => match p.item.to_thread_item() {
                Some(item) => ThreadEvent::ItemCompleted(ItemEvent::new(item)),
                None => return Vec::new(),
            },
            N::ItemAgentMessageDelta(p) => {
                ThreadEvent::AgentMessageDelta(ItemDelta::new(p.item_id.clone(), p.delta.clone()))
            }
            N::ItemReasoningSummaryTextDelta(p) => {
                ThreadEvent::ReasoningDelta(ItemDelta::new(p.item_id.clone(), p.delta.clone()))
            }
            N::ItemReasoningSummaryPartAdded(p) if p.summary_index > 0 => {
                ThreadEvent::ReasoningDelta(ItemDelta::new(p.item_id.clone(), "\n"))
            }
            N::ItemCommandExecutionOutputDelta(p) => {
                ThreadEvent::CommandOutputDelta(ItemDelta::new(p.item_id.clone(), p.delta.clone()))
            }
            N::TurnDiffUpdated(p) => ThreadEvent::TurnDiffUpdated(TurnDiff::new(p.diff.clone())),
            N::ThreadTokenUsageUpdated(p) => {
                let total = p.token_usage.total.to_usage();
                self.last_total = Some(total.clone());
                ThreadEvent::TokenUsageUpdated(TokenUsageUpdate::new(
                    total,
                    p.token_usage.last.to_usage(),
                    p.token_usage.model_context_window,
                ))
            }
            N::TurnCompleted(p) => match (&p.turn.status, &p.turn.error) {
                (TurnStatus::Interrupted, _) => {
                    ThreadEvent::TurnInterrupted(TurnInterrupted::new(self.last_total.clone()))
                }
                (TurnStatus::Failed, error) => ThreadEvent::TurnFailed(turn_failed(error.as_ref())),
                (TurnStatus::Unknown(_), Some(error)) => {
                    ThreadEvent::TurnFailed(turn_failed(Some(error)))
                }
                _ => ThreadEvent::TurnCompleted(TurnCompleted::new(
                    self.last_total.clone().unwrap_or_default(),
                )),
            },
            N::Error(p) => {
                let mut error = stream_error(&p.error);
                error
                    .extra
                    .insert("will_retry".to_owned(), Value::Bool(p.will_retry));
                ThreadEvent::Error(error)
            }
            N::ConfigWarning(p) => self.warning_item(&p.summary, p.details.as_deref()),
            N::Warning(p) => self.warning_item(&p.message, None),
            _ => return Vec::new(),
        };
        vec![event]
    }

    fn warning_item(&mut self, message: &str, details: Option<&str>) -> ThreadEvent {
        let id = format!("warning_{}", self.next_warning);
        self.next_warning = self.next_warning.saturating_add(1);
        let mut extra = ExtraFields::new();
        if let Some(details) = details {
            extra.insert("details".to_owned(), Value::from(details));
        }
        let item = ErrorItem {
            message: message.to_owned(),
            extra,
        };
        ThreadEvent::ItemCompleted(ItemEvent::new(ThreadItem::new(
            id,
            ItemDetails::Error(item),
        )))
    }
}

/// The message as exec prints it: the details in parentheses after the message.
fn error_message(error: &TurnError) -> String {
    match error
        .additional_details
        .as_deref()
        .filter(|details| !details.is_empty() && !error.message.contains(details))
    {
        Some(details) => format!("{} ({details})", error.message),
        None => error.message.clone(),
    }
}

fn stream_error(error: &TurnError) -> StreamError {
    let mut stream_error = StreamError::new(error_message(error));
    if let Some(info) = &error.codex_error_info {
        stream_error
            .extra
            .insert("codex_error_info".to_owned(), info.clone());
    }
    stream_error
}

fn turn_failed(error: Option<&TurnError>) -> TurnFailed {
    let mut failed = TurnFailed::new("");
    failed.error = match error {
        Some(error) => stream_error(error),
        None => StreamError::new("turn failed"),
    };
    failed
}
