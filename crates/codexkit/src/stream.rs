//! The event stream of one turn, on either transport.

use crate::app_server::TurnControl;
use crate::app_server::queue::QueueReceiver;
use crate::exec::ExecTurn;
use crate::options::Input;
use crate::{Error, Result};
use codexkit_protocol::ThreadEvent;
use futures_core::Stream;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// Sees each event before the consumer does (thread bookkeeping).
pub(crate) type EventObserver = Arc<dyn Fn(&ThreadEvent) + Send + Sync>;

/// The events of one turn, in order, ending after the terminal event (`turn.completed`,
/// `turn.failed`, `turn.interrupted`) or an error.
///
/// Dropping the stream before it has given its terminal event cancels the turn: on exec, codex
/// and every process it started are killed and reaped; on the app-server, the turn is
/// interrupted. From the terminal event on, codex (exec) has
/// [`CodexOptions::exit_grace`](crate::CodexOptions::exit_grace) to exit by itself, and is
/// stopped after that, whether the stream is kept or dropped; [`EventStream::finish`] waits
/// for it.
pub struct EventStream {
    inner: Inner,
    observer: Option<EventObserver>,
    telemetry: Option<Box<crate::telemetry::TurnTelemetry>>,
    deadlines: Deadlines,
    done: bool,
    /// `interrupt()` killed codex (exec): the stream ends with `Error::Cancelled`.
    killed_by_interrupt: bool,
}

enum Inner {
    Exec(ExecTurn),
    AppServer {
        events: QueueReceiver,
        control: Arc<TurnControl>,
    },
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let transport = match &self.inner {
            Inner::Exec(_) => "exec",
            Inner::AppServer { .. } => "app-server",
        };
        f.debug_struct("EventStream")
            .field("transport", &transport)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

/// The turn and idle deadlines, as timers.
struct Deadlines {
    turn: Option<(Instant, Duration)>,
    idle: Option<Duration>,
    timer: Option<(Pin<Box<Sleep>>, &'static str, Duration)>,
}

impl Deadlines {
    fn new(turn: Option<Duration>, idle: Option<Duration>) -> Self {
        let mut deadlines = Self {
            turn: turn.map(|d| (Instant::now() + d, d)),
            idle,
            timer: None,
        };
        deadlines.rearm();
        deadlines
    }

    /// Restarts the timer after an event: the earlier of the idle and turn deadlines.
    fn rearm(&mut self) {
        let idle = self.idle.map(|d| (Instant::now() + d, "idle", d));
        let turn = self.turn.map(|(at, d)| (at, "turn", d));
        let next = match (idle, turn) {
            (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
            (a, b) => a.or(b),
        };
        self.timer =
            next.map(|(at, name, length)| (Box::pin(tokio::time::sleep_until(at)), name, length));
    }

    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Option<Error> {
        let (sleep, name, length) = self.timer.as_mut()?;
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Some(Error::DeadlineExceeded {
                deadline: name,
                after: *length,
            }),
            Poll::Pending => None,
        }
    }
}

impl EventStream {
    pub(crate) fn exec(
        turn: ExecTurn,
        observer: EventObserver,
        timeout: Option<Duration>,
        idle_timeout: Option<Duration>,
    ) -> Self {
        Self {
            inner: Inner::Exec(turn),
            observer: Some(observer),
            telemetry: None,
            deadlines: Deadlines::new(timeout, idle_timeout),
            done: false,
            killed_by_interrupt: false,
        }
    }

    pub(crate) fn app_server(
        events: QueueReceiver,
        control: Arc<TurnControl>,
        observer: EventObserver,
        timeout: Option<Duration>,
        idle_timeout: Option<Duration>,
    ) -> Self {
        Self {
            inner: Inner::AppServer { events, control },
            observer: Some(observer),
            telemetry: None,
            deadlines: Deadlines::new(timeout, idle_timeout),
            done: false,
            killed_by_interrupt: false,
        }
    }

    /// Attaches the turn's telemetry (its span ends when the stream ends or is dropped).
    pub(crate) fn with_telemetry(mut self, telemetry: crate::telemetry::TurnTelemetry) -> Self {
        self.telemetry = Some(Box::new(telemetry));
        self
    }

    /// The next event, `None` when the turn is over.
    pub async fn next(&mut self) -> Option<Result<ThreadEvent>> {
        std::future::poll_fn(|cx| self.poll_event(cx)).await
    }

    /// The codex process id (exec transport), for diagnostics.
    pub fn process_id(&self) -> Option<u32> {
        match &self.inner {
            Inner::Exec(turn) => turn.pid,
            Inner::AppServer { .. } => None,
        }
    }

    /// The turn id (app-server transport).
    pub fn turn_id(&self) -> Option<String> {
        match &self.inner {
            Inner::Exec(_) => None,
            Inner::AppServer { control, .. } => control.turn_id(),
        }
    }

    /// Stops the turn now and waits until it stopped. On exec, codex and its process group are
    /// killed and reaped (also after the last event; [`EventStream::finish`] lets codex exit
    /// by itself); on the app-server the turn is interrupted (see [`EventStream::interrupt`])
    /// and the stream closed.
    pub async fn cancel(mut self) {
        self.done = true;
        match &mut self.inner {
            Inner::Exec(turn) => turn.kill_and_wait().await,
            Inner::AppServer { control, .. } => control.interrupt_and_wait().await,
        }
    }

    /// Waits until codex is done with the turn. After the stream's last event: on exec, until
    /// codex has exited by itself (stopped after
    /// [`CodexOptions::exit_grace`](crate::CodexOptions::exit_grace)), so that no process of
    /// the turn is left when this returns; nothing to wait for on the app-server. Before the
    /// end, this is [`EventStream::cancel`].
    pub async fn finish(mut self) {
        if !self.done {
            return self.cancel().await;
        }
        if let Inner::Exec(turn) = &mut self.inner {
            // The driver sees the stream closed after the terminal event and lets codex exit.
            turn.close_and_wait().await;
        }
    }

    /// Asks codex to stop the turn gracefully; the stream then ends with `turn.interrupted`.
    ///
    /// On the app-server this sends `turn/interrupt`; if the turn has not ended within the
    /// grace period the stream ends with [`Error::Cancelled`]. On exec, which has no graceful
    /// interrupt, codex is killed and the stream ends with [`Error::Cancelled`]. Once the
    /// stream has given its terminal event, there is nothing to interrupt and this does
    /// nothing.
    pub async fn interrupt(&mut self) -> Result<()> {
        match &mut self.inner {
            // After the end there is nothing to interrupt; codex exits by itself.
            Inner::Exec(_) if self.done => Ok(()),
            Inner::Exec(turn) => {
                turn.kill_and_wait().await;
                self.killed_by_interrupt = true;
                Ok(())
            }
            Inner::AppServer { control, .. } => control.interrupt().await,
        }
    }

    /// Adds input to the running turn (app-server only).
    pub async fn steer(&self, input: impl Into<Input>) -> Result<()> {
        match &self.inner {
            Inner::Exec(_) => Err(Error::Unsupported {
                operation: "steer",
                transport: "exec",
            }),
            Inner::AppServer { control, .. } => control.steer(input.into()).await,
        }
    }

    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<ThreadEvent>>> {
        if self.done {
            return Poll::Ready(None);
        }
        let polled = match &mut self.inner {
            Inner::Exec(turn) => turn.rx.poll_recv(cx),
            Inner::AppServer { events, .. } => events.poll_pop(cx),
        };
        match polled {
            Poll::Ready(Some(item)) => {
                match &item {
                    Ok(event) => {
                        if let Some(observer) = &self.observer {
                            observer(event);
                        }
                        if let Some(telemetry) = &mut self.telemetry {
                            telemetry.observe(event);
                        }
                        if event.is_terminal() {
                            self.done = true;
                            if let Inner::Exec(turn) = &self.inner {
                                turn.mark_end_received();
                            }
                        }
                    }
                    Err(error) => {
                        if let Some(telemetry) = &mut self.telemetry {
                            telemetry.error(error);
                        }
                        self.done = true;
                    }
                }
                self.deadlines.rearm();
                Poll::Ready(Some(item))
            }
            Poll::Ready(None) => {
                self.done = true;
                if self.killed_by_interrupt {
                    if let Some(telemetry) = &mut self.telemetry {
                        telemetry.error(&Error::Cancelled);
                    }
                    return Poll::Ready(Some(Err(Error::Cancelled)));
                }
                Poll::Ready(None)
            }
            Poll::Pending => match self.deadlines.poll_expired(cx) {
                Some(error) => {
                    tracing::warn!(%error, "turn deadline passed; stopping the turn");
                    if let Some(telemetry) = &mut self.telemetry {
                        telemetry.error(&error);
                    }
                    self.done = true;
                    self.stop_in_background();
                    Poll::Ready(Some(Err(error)))
                }
                None => Poll::Pending,
            },
        }
    }

    /// Stops the turn without waiting (from `poll` or `Drop`).
    fn stop_in_background(&mut self) {
        match &mut self.inner {
            // Closing the channel makes the driver kill the process group.
            Inner::Exec(turn) => turn.rx.close(),
            Inner::AppServer { control, .. } => control.interrupt_in_background(),
        }
    }
}

impl Stream for EventStream {
    type Item = Result<ThreadEvent>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.poll_event(cx)
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        if !self.done {
            self.stop_in_background();
        }
    }
}
