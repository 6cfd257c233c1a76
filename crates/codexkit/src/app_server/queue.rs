//! A bounded event queue that never drops what matters.

use crate::{Error, Result};
use codexkit_protocol::{Lagged, ThreadEvent};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// Default number of queued events per turn.
pub(crate) const DEFAULT_CAPACITY: usize = 1024;

/// Creates the two ends of one turn's event queue.
pub(crate) fn event_queue(capacity: usize) -> (QueueSender, QueueReceiver) {
    let state = Arc::new(Mutex::new(QueueState {
        items: VecDeque::new(),
        capacity: capacity.max(1),
        lagged: 0,
        finished: false,
    }));
    // One pending wake-up is enough: the receiver drains everything each time it wakes.
    let (wake_tx, wake_rx) = mpsc::channel(1);
    (
        QueueSender {
            state: Arc::clone(&state),
            wake: wake_tx,
        },
        QueueReceiver {
            state,
            wake: wake_rx,
        },
    )
}

/// Events of one turn on their way from the connection's reader to the consumer.
///
/// The reader never waits: when the consumer falls behind and the queue is full, streaming
/// details (deltas, usage and diff updates) are dropped and counted, and the consumer gets one
/// `stream.lagged` event saying how many before the next event. Items, approvals, errors and the
/// terminal event are always kept, so a turn's result is complete even for a slow consumer.
#[derive(Debug)]
struct QueueState {
    items: VecDeque<Result<ThreadEvent>>,
    capacity: usize,
    lagged: u64,
    /// A terminal event or an error was queued; nothing more is accepted.
    finished: bool,
}

fn lock(state: &Mutex<QueueState>) -> std::sync::MutexGuard<'_, QueueState> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// The producing end (the connection's reader, approval tasks).
#[derive(Debug, Clone)]
pub(crate) struct QueueSender {
    state: Arc<Mutex<QueueState>>,
    wake: mpsc::Sender<()>,
}

impl QueueSender {
    /// Queues an event; returns `false` when the queue no longer accepts events.
    pub(crate) fn push(&self, event: ThreadEvent) -> bool {
        let terminal = event.is_terminal();
        let essential = terminal || is_essential(&event);
        {
            let mut state = lock(&self.state);
            if state.finished {
                return false;
            }
            if !essential && state.items.len() >= state.capacity {
                state.lagged += 1;
                return true;
            }
            if state.lagged > 0 {
                let skipped = std::mem::take(&mut state.lagged);
                state
                    .items
                    .push_back(Ok(ThreadEvent::Lagged(Lagged::new(skipped))));
            }
            state.items.push_back(Ok(event));
            state.finished = terminal;
        }
        let _ = self.wake.try_send(());
        true
    }

    /// Ends the stream with an error (unless it already ended).
    pub(crate) fn fail(&self, error: Error) {
        {
            let mut state = lock(&self.state);
            if state.finished {
                return;
            }
            state.items.push_back(Err(error));
            state.finished = true;
        }
        let _ = self.wake.try_send(());
    }

    /// Whether the terminal event or an error was queued.
    pub(crate) fn is_finished(&self) -> bool {
        lock(&self.state).finished
    }
}

/// The consuming end, owned by the turn's `EventStream`.
#[derive(Debug)]
pub(crate) struct QueueReceiver {
    state: Arc<Mutex<QueueState>>,
    wake: mpsc::Receiver<()>,
}

impl QueueReceiver {
    /// The next event; `None` once the terminal event or error was taken.
    #[cfg(test)]
    pub(crate) async fn pop(&mut self) -> Option<Result<ThreadEvent>> {
        std::future::poll_fn(|cx| self.poll_pop(cx)).await
    }

    /// Poll form of [`QueueReceiver::pop`].
    pub(crate) fn poll_pop(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<ThreadEvent>>> {
        loop {
            {
                let mut state = lock(&self.state);
                if let Some(item) = state.items.pop_front() {
                    return Poll::Ready(Some(item));
                }
                if state.finished {
                    return Poll::Ready(None);
                }
            }
            match self.wake.poll_recv(cx) {
                Poll::Ready(Some(())) => continue,
                // Every sender is gone without finishing the stream.
                Poll::Ready(None) => {
                    let mut state = lock(&self.state);
                    if state.items.is_empty() && !state.finished {
                        state.finished = true;
                        return Poll::Ready(Some(Err(Error::Protocol {
                            message: "the turn's event source went away without ending the turn"
                                .into(),
                            excerpt: String::new(),
                        })));
                    }
                    continue;
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// Events a consumer must see even when it is slow.
fn is_essential(event: &ThreadEvent) -> bool {
    !matches!(
        event,
        ThreadEvent::AgentMessageDelta(_)
            | ThreadEvent::ReasoningDelta(_)
            | ThreadEvent::CommandOutputDelta(_)
            | ThreadEvent::TokenUsageUpdated(_)
            | ThreadEvent::TurnDiffUpdated(_)
            | ThreadEvent::ItemUpdated(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use codexkit_protocol::{ItemDelta, TurnCompleted, Usage};

    fn delta(n: usize) -> ThreadEvent {
        ThreadEvent::AgentMessageDelta(ItemDelta::new("msg", n.to_string()))
    }

    #[tokio::test]
    async fn a_slow_consumer_gets_lagged_and_the_terminal_event() {
        let (queue, mut receiver) = event_queue(3);
        for n in 0..10 {
            assert!(queue.push(delta(n)));
        }
        queue.push(ThreadEvent::TurnCompleted(TurnCompleted::new(
            Usage::default(),
        )));
        assert!(!queue.push(delta(99)), "nothing after the terminal event");

        let mut kinds = Vec::new();
        while let Some(event) = receiver.pop().await {
            kinds.push(event.unwrap());
        }
        assert_eq!(kinds.len(), 5);
        assert_eq!(kinds[..3], [delta(0), delta(1), delta(2)]);
        assert_eq!(kinds[3], ThreadEvent::Lagged(Lagged::new(7)));
        assert!(kinds[4].is_terminal());
    }

    #[tokio::test]
    async fn errors_end_the_stream_and_wake_the_consumer() {
        let (queue, mut receiver) = event_queue(4);
        let consumer = tokio::spawn(async move {
            let first = receiver.pop().await;
            let second = receiver.pop().await;
            (first, second)
        });
        tokio::task::yield_now().await;
        queue.fail(Error::Cancelled);
        let (first, second) = consumer.await.unwrap();
        assert!(matches!(first, Some(Err(Error::Cancelled))));
        assert!(second.is_none());
    }
}
