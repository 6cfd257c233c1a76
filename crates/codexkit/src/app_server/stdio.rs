//! A link to a `codex app-server` child over its stdin/stdout.

use super::connection::{ClosedInfo, Inbound};
use crate::Result;
use crate::exec::lines::{LineError, LineReader};
use crate::exec::process::{self, GroupGuard, Launch};
use crate::exec::stderr::StderrTail;
use crate::redact::Redactor;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

/// Messages from the child waiting for the router.
const INBOUND_BUFFER: usize = 1024;
/// How long the child gets to exit after its stdout closed.
const EXIT_WAIT: Duration = Duration::from_secs(2);

/// Keeps the child alive; dropping it kills the child's process group.
pub(crate) struct ChildGuard {
    _group: GroupGuard,
}

/// Spawns `program args…` and pumps its stdio: lines from stdout to the router, messages
/// from the connection to stdin, stderr into a bounded tail used when the link closes.
pub(crate) async fn spawn(
    program: &Path,
    args: &[OsString],
    env: &BTreeMap<OsString, OsString>,
    current_dir: Option<&Path>,
    max_line_bytes: usize,
    stderr_tail_bytes: usize,
    redactor: Redactor,
) -> Result<(
    mpsc::Receiver<Inbound>,
    mpsc::UnboundedSender<String>,
    ChildGuard,
)> {
    let launch = Launch {
        program,
        args,
        env,
        current_dir,
        stdin: true,
    };
    let (mut child, group) = process::spawn(&launch).await?;
    let (inbound_tx, inbound_rx) = mpsc::channel(INBOUND_BUFFER);
    let (outgoing_tx, mut outgoing_rx) = mpsc::unbounded_channel::<String>();

    let tail = StderrTail::new(stderr_tail_bytes);
    let stderr_drain = child
        .stderr
        .take()
        .map(|stderr| tokio::spawn(tail.clone().drain(stderr)));

    if let Some(mut stdin) = child.stdin.take() {
        tokio::spawn(async move {
            while let Some(mut line) = outgoing_rx.recv().await {
                line.push('\n');
                if stdin.write_all(line.as_bytes()).await.is_err() || stdin.flush().await.is_err() {
                    break;
                }
            }
        });
    }

    let stdout = child.stdout.take();
    let group_pid = group.pid();
    tokio::spawn(async move {
        let mut detail = String::new();
        let mut status = None;
        if let Some(stdout) = stdout {
            let mut reader =
                LineReader::new(BufReader::with_capacity(64 * 1024, stdout), max_line_bytes);
            // Once the app-server has exited, what it printed gets a moment to drain; a process
            // it left behind may hold stdout open forever.
            let mut drain_deadline: Option<tokio::time::Instant> = None;
            loop {
                let line = tokio::select! {
                    exited = child.wait(), if status.is_none() => {
                        status = exited.ok();
                        drain_deadline = Some(tokio::time::Instant::now() + EXIT_WAIT);
                        continue;
                    }
                    _ = crate::exec::sleep_until_option(drain_deadline) => break,
                    line = reader.next_line() => line,
                };
                match line {
                    Ok(Some(bytes)) => {
                        let text = String::from_utf8_lossy(&bytes);
                        let text = redactor.redact_cow(&text).into_owned();
                        if text.trim().is_empty() {
                            continue;
                        }
                        if inbound_tx.send(Inbound::Message(text)).await.is_err() {
                            return;
                        }
                    }
                    Ok(None) => break,
                    Err(LineError::TooLong { limit }) => {
                        detail = format!("app-server printed a line longer than {limit} bytes");
                        break;
                    }
                    Err(LineError::Io(error)) => {
                        detail = format!("reading app-server output failed: {error}");
                        break;
                    }
                }
            }
        }
        if status.is_none() {
            status = match tokio::time::timeout(EXIT_WAIT, child.wait()).await {
                Ok(Ok(status)) => Some(status),
                _ => {
                    let _ = child.start_kill();
                    child.wait().await.ok()
                }
            };
        }
        // Whatever the app-server started goes with it.
        if let Some(pid) = group_pid {
            crate::exec::process::kill_group_now(pid);
        }
        if let Some(drain) = stderr_drain {
            let _ = tokio::time::timeout(EXIT_WAIT, drain).await;
        }
        let stderr = redactor.redact(&tail.text());
        let detail = match (detail.is_empty(), stderr.is_empty()) {
            (true, _) => stderr,
            (false, true) => detail,
            (false, false) => format!("{detail}; stderr: {stderr}"),
        };
        let info = ClosedInfo {
            code: status.and_then(|s| s.code()),
            signal: status.and_then(crate::exec::exit_signal),
            detail,
        };
        let _ = inbound_tx.send(Inbound::Closed(info)).await;
    });

    Ok((inbound_rx, outgoing_tx, ChildGuard { _group: group }))
}
