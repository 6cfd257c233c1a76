//! The exec transport: one `codex exec --json` child process per turn.
//!
//! Flow: options → argv/env ([`argv`]) → child process ([`process`]) → line reader ([`lines`])
//! → wire events (`codexkit_protocol::decode_event`) → the turn's `EventStream`.

pub(crate) mod argv;
pub(crate) mod lines;
pub(crate) mod process;
pub(crate) mod stderr;

use crate::redact::Redactor;
use crate::{Error, Result};
use codexkit_protocol::{ThreadEvent, Warning, decode_event};
use lines::{LineError, LineReader};
use process::{GroupGuard, Launch};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use std::time::Duration;
use stderr::StderrTail;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::process::Child;
use tokio::sync::mpsc;

/// How many decoded events may wait for a slow consumer before codex's output is paused.
const EVENT_BUFFER: usize = 256;
/// How long codex's stdout may stay open after codex exited.
const OUTPUT_DRAIN: Duration = Duration::from_secs(2);
/// How long to wait for the rest of stderr after codex exited.
const STDERR_SETTLE: Duration = Duration::from_secs(2);
/// Longest excerpt of a bad line kept in a warning or error.
const EXCERPT_CHARS: usize = 200;

/// Everything needed to run one turn.
pub(crate) struct ExecRun {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub env: BTreeMap<OsString, OsString>,
    pub current_dir: Option<PathBuf>,
    pub prompt: String,
    pub max_line_bytes: usize,
    pub stderr_tail_bytes: usize,
    pub exit_grace: Duration,
    pub kill_grace: Duration,
    pub startup_timeout: Duration,
    pub redactor: Redactor,
    /// Files that must live as long as the child (the output schema).
    pub keep_alive: Vec<tempfile::TempPath>,
}

/// Starts codex and returns the stream of its events.
pub(crate) async fn start(run: ExecRun) -> Result<ExecTurn> {
    let launch = Launch {
        program: &run.program,
        args: &run.args,
        env: &run.env,
        current_dir: run.current_dir.as_deref(),
        stdin: true,
    };
    let (child, guard) = process::spawn(&launch).await?;
    let pid = guard.pid();
    let (tx, rx) = mpsc::channel(EVENT_BUFFER);
    let end_received = Arc::new(AtomicBool::new(false));
    let driver = tokio::spawn(drive(run, child, guard, tx, Arc::clone(&end_received)));
    Ok(ExecTurn {
        rx,
        pid,
        driver: Some(driver),
        end_received,
    })
}

/// The consumer's side of one exec turn.
#[derive(Debug)]
pub(crate) struct ExecTurn {
    pub(crate) rx: mpsc::Receiver<Result<ThreadEvent>>,
    pub(crate) pid: Option<u32>,
    pub(crate) driver: Option<tokio::task::JoinHandle<()>>,
    /// Set by the stream once the consumer has the terminal event: from then on, a closed
    /// stream lets codex exit by itself instead of killing it.
    pub(crate) end_received: Arc<AtomicBool>,
}

impl ExecTurn {
    /// Records that the consumer has the terminal event.
    pub(crate) fn mark_end_received(&self) {
        self.end_received.store(true, Ordering::SeqCst);
    }

    /// Kills codex and its process group and waits until they are reaped.
    pub(crate) async fn kill_and_wait(&mut self) {
        self.end_received.store(false, Ordering::SeqCst);
        self.close_and_wait().await;
    }

    /// Closes the stream and waits until codex and its process group are reaped: killed
    /// unless the consumer has the terminal event; then given `exit_grace` to exit by itself.
    pub(crate) async fn close_and_wait(&mut self) {
        self.rx.close();
        if let Some(driver) = self.driver.take() {
            let _ = driver.await;
        }
    }
}

/// Owns the child for the whole turn. Every exit path ends with the child reaped and its
/// process group gone (`guard` kills what is left when dropped).
async fn drive(
    run: ExecRun,
    mut child: Child,
    guard: GroupGuard,
    tx: mpsc::Sender<Result<ThreadEvent>>,
    end_received: Arc<AtomicBool>,
) {
    let ExecRun {
        prompt,
        max_line_bytes,
        stderr_tail_bytes,
        exit_grace,
        kill_grace,
        startup_timeout,
        redactor,
        keep_alive,
        ..
    } = run;

    if let Some(mut stdin) = child.stdin.take() {
        // Written on its own task: a huge prompt must not block reading stdout.
        tokio::spawn(async move {
            if let Err(error) = stdin.write_all(prompt.as_bytes()).await {
                tracing::debug!(%error, "writing the prompt to codex failed");
            }
            // Dropping stdin closes it; codex waits for EOF before it starts.
        });
    }
    let tail = StderrTail::new(stderr_tail_bytes);
    let stderr_drain = child
        .stderr
        .take()
        .map(|stderr| tokio::spawn(tail.clone().drain(stderr)));
    let Some(stdout) = child.stdout.take() else {
        terminate(&mut child, &guard, kill_grace).await;
        let _ = tx
            .send(Err(Error::Protocol {
                message: "codex's stdout was not captured".into(),
                excerpt: String::new(),
            }))
            .await;
        return;
    };
    let mut reader = LineReader::new(BufReader::with_capacity(64 * 1024, stdout), max_line_bytes);

    let mut first_line_seen = false;
    let mut exit_status: Option<std::process::ExitStatus> = None;
    let startup_deadline = tokio::time::Instant::now() + startup_timeout;
    // Once codex has exited, its output gets this long to drain: a process it left behind
    // may hold stdout open forever.
    let mut drain_deadline: Option<tokio::time::Instant> = None;
    let mut failure: Option<Error> = None;
    // Set by the terminal event: from then on, codex has until this instant to exit.
    let mut exit_deadline: Option<tokio::time::Instant> = None;
    loop {
        let line = tokio::select! {
            _ = tx.closed() => {
                if end_received.load(Ordering::SeqCst) {
                    // The consumer has the whole turn: codex gets `exit_grace` to exit by itself.
                    break;
                }
                tracing::debug!("event stream dropped; cancelling the turn");
                terminate(&mut child, &guard, kill_grace).await;
                return;
            }
            _ = sleep_until_option(exit_deadline) => {
                tracing::debug!(?exit_grace, "codex did not exit after the turn ended; stopping it");
                terminate(&mut child, &guard, kill_grace).await;
                return;
            }
            status = child.wait(), if exit_status.is_none() => {
                exit_status = status.ok();
                drain_deadline = Some(tokio::time::Instant::now() + OUTPUT_DRAIN);
                continue;
            }
            _ = tokio::time::sleep_until(startup_deadline), if !first_line_seen => {
                failure = Some(Error::DeadlineExceeded { deadline: "startup", after: startup_timeout });
                break;
            }
            _ = sleep_until_option(drain_deadline) => {
                tracing::debug!("codex exited but its stdout stayed open; stopping the read");
                break;
            }
            line = reader.next_line() => line,
        };
        first_line_seen = true;
        let event = match line {
            Ok(Some(bytes)) => match line_to_event(&bytes, &redactor) {
                Some(event) => event,
                None => continue,
            },
            Ok(None) => break,
            Err(LineError::TooLong { limit }) => {
                failure = Some(Error::LineTooLong { limit });
                break;
            }
            Err(LineError::Io(error)) => {
                failure = Some(Error::Protocol {
                    message: format!("reading codex output failed: {error}"),
                    excerpt: String::new(),
                });
                break;
            }
        };
        if event.is_terminal() {
            exit_deadline = Some(tokio::time::Instant::now() + exit_grace);
        }
        if tx.send(Ok(event)).await.is_err() {
            if end_received.load(Ordering::SeqCst) {
                break;
            }
            tracing::debug!("event stream dropped; cancelling the turn");
            terminate(&mut child, &guard, kill_grace).await;
            return;
        }
    }

    if let Some(error) = failure {
        terminate(&mut child, &guard, kill_grace).await;
        let _ = tx.send(Err(error)).await;
        return;
    }

    let status = match exit_status {
        Some(status) => Some(status),
        // After the end of the turn, what is left of `exit_grace`.
        None => match tokio::time::timeout_at(
            exit_deadline.unwrap_or_else(|| tokio::time::Instant::now() + exit_grace),
            child.wait(),
        )
        .await
        {
            Ok(Ok(status)) => Some(status),
            Ok(Err(error)) => {
                tracing::warn!(%error, "waiting for codex failed");
                None
            }
            Err(_) => {
                tracing::warn!(
                    ?exit_grace,
                    "codex closed its output but did not exit; stopping it"
                );
                terminate(&mut child, &guard, kill_grace).await;
                None
            }
        },
    };
    guard.finish();
    drop(keep_alive);

    let code = status.and_then(|s| s.code());
    let signal = status.and_then(exit_signal);
    let terminal_seen = exit_deadline.is_some();
    if terminal_seen {
        if code.is_some_and(|c| c != 0) {
            tracing::debug!(
                ?code,
                "codex exited non-zero after reporting the end of the turn"
            );
        }
        return;
    }
    if let Some(drain) = stderr_drain {
        // The last stderr lines explain the exit; they may still be in the pipe. A process
        // codex left behind can hold the pipe open, hence the deadline.
        let _ = tokio::time::timeout(STDERR_SETTLE, drain).await;
    }
    let _ = tx
        .send(Err(Error::ProcessExited {
            code,
            signal,
            stderr_tail: redactor.redact(&tail.text()),
        }))
        .await;
}

/// Stops codex and everything in its process group: SIGTERM, `kill_grace` to exit, then
/// SIGKILL; always reaps the child. Safe to call when it already exited.
async fn terminate(child: &mut Child, guard: &GroupGuard, kill_grace: Duration) {
    if let Ok(Some(_)) = child.try_wait() {
        // Exited: whatever it left in its group still goes.
        guard.kill();
        return;
    }
    guard.terminate();
    match tokio::time::timeout(kill_grace, child.wait()).await {
        Ok(_) => guard.kill(),
        Err(_) => {
            tracing::debug!(?kill_grace, "codex ignored SIGTERM; killing it");
            guard.kill();
            let _ = child.wait().await;
        }
    }
}

/// Sleeps until `deadline`, or forever without one (for optional `select!` branches).
pub(crate) async fn sleep_until_option(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Decodes one stdout line; lines that are not events become warnings, blank lines nothing.
/// Known secrets are replaced before decoding, so no event carries one.
fn line_to_event(bytes: &[u8], redactor: &Redactor) -> Option<ThreadEvent> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        let lossy = String::from_utf8_lossy(bytes);
        return Some(ThreadEvent::Warning(Warning::new(
            "codex printed a line that is not UTF-8",
            Some(excerpt(&redactor.redact(&lossy))),
        )));
    };
    let text = redactor.redact_cow(text);
    let text = text.as_ref();
    if text.trim().is_empty() {
        return None;
    }
    match decode_event(text) {
        Ok(ThreadEvent::Unknown(raw)) => {
            tracing::debug!(
                kind = raw.get("type").and_then(|t| t.as_str()),
                "unknown codex event"
            );
            Some(ThreadEvent::Unknown(raw))
        }
        Ok(event) => Some(event),
        Err(error) => Some(ThreadEvent::Warning(Warning::new(
            format!("codex printed a line that is not a JSON event: {error}"),
            Some(excerpt(text)),
        ))),
    }
}

fn excerpt(text: &str) -> String {
    text.chars().take(EXCERPT_CHARS).collect()
}

#[cfg(unix)]
pub(crate) fn exit_signal(status: std::process::ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    status.signal()
}

#[cfg(not(unix))]
pub(crate) fn exit_signal(_status: std::process::ExitStatus) -> Option<i32> {
    None
}
