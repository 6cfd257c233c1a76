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

use std::time::Duration;
use stderr::StderrTail;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::process::Child;
use tokio::sync::mpsc;

/// How many decoded events may wait for a slow consumer before codex's output is paused.
const EVENT_BUFFER: usize = 256;
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
    let driver = tokio::spawn(drive(run, child, guard, tx));
    Ok(ExecTurn {
        rx,
        pid,
        driver: Some(driver),
    })
}

/// The consumer's side of one exec turn.
#[derive(Debug)]
pub(crate) struct ExecTurn {
    pub(crate) rx: mpsc::Receiver<Result<ThreadEvent>>,
    pub(crate) pid: Option<u32>,
    pub(crate) driver: Option<tokio::task::JoinHandle<()>>,
}

impl ExecTurn {
    /// Kills codex and its process group and waits until they are reaped.
    pub(crate) async fn cancel(&mut self) {
        self.rx.close();
        if let Some(driver) = self.driver.take() {
            let _ = driver.await;
        }
    }
}

/// Owns the child for the whole turn. Any exit path drops `guard`, which kills the group.
async fn drive(
    run: ExecRun,
    mut child: Child,
    guard: GroupGuard,
    tx: mpsc::Sender<Result<ThreadEvent>>,
) {
    let ExecRun {
        prompt,
        max_line_bytes,
        stderr_tail_bytes,
        exit_grace,
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
        let _ = tx
            .send(Err(Error::Protocol {
                message: "codex's stdout was not captured".into(),
                excerpt: String::new(),
            }))
            .await;
        return;
    };
    let mut reader = LineReader::new(BufReader::with_capacity(64 * 1024, stdout), max_line_bytes);

    let mut terminal_seen = false;
    let mut failure: Option<Error> = None;
    loop {
        let line = tokio::select! {
            _ = tx.closed() => {
                tracing::debug!("event stream dropped; cancelling the turn");
                guard.kill();
                let _ = child.wait().await;
                return;
            }
            line = reader.next_line() => line,
        };
        let event = match line {
            Ok(Some(bytes)) => match line_to_event(&bytes) {
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
            terminal_seen = true;
        }
        if tx.send(Ok(event)).await.is_err() {
            tracing::debug!("event stream dropped; cancelling the turn");
            guard.kill();
            let _ = child.wait().await;
            return;
        }
    }

    if let Some(error) = failure {
        guard.kill();
        let _ = child.wait().await;
        let _ = tx.send(Err(error)).await;
        return;
    }

    let status = match tokio::time::timeout(exit_grace, child.wait()).await {
        Ok(Ok(status)) => Some(status),
        Ok(Err(error)) => {
            tracing::warn!(%error, "waiting for codex failed");
            None
        }
        Err(_) => {
            tracing::warn!(
                ?exit_grace,
                "codex closed its output but did not exit; killing it"
            );
            guard.kill();
            let _ = child.wait().await;
            None
        }
    };
    guard.finish();
    drop(keep_alive);

    let code = status.and_then(|s| s.code());
    let signal = status.and_then(exit_signal);
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

/// Decodes one stdout line; lines that are not events become warnings, blank lines nothing.
fn line_to_event(bytes: &[u8]) -> Option<ThreadEvent> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Some(ThreadEvent::Warning(Warning::new(
            "codex printed a line that is not UTF-8",
            Some(excerpt(&String::from_utf8_lossy(bytes))),
        )));
    };
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
