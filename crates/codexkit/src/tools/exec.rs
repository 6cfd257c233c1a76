//! Ties the host tool server of an exec turn to the turn's event stream.

use super::mcp_host::{HostedTools, StopGuard, TOOLS_TOKEN_ENV};
use crate::Result;
use crate::exec::ExecTurn;
use crate::options::ThreadOptions;
use crate::redact::Redactor;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ffi::OsString;
use tokio::sync::mpsc;

/// Events that may wait between the forwarder and a slow consumer.
const FORWARD_BUFFER: usize = 256;

/// The thread options codex gets for an exec turn: the thread's own, plus
/// `mcp_servers.<name>` for the hosted tools and for the user's MCP servers.
pub(crate) fn thread_options<'a>(
    options: &'a ThreadOptions,
    hosted: Option<&HostedTools>,
) -> Result<Cow<'a, ThreadOptions>> {
    let user_servers = super::mcp_servers::config_overrides(&options.mcp_servers)?;
    if hosted.is_none() && user_servers.is_empty() {
        return Ok(Cow::Borrowed(options));
    }
    let mut options = options.clone();
    if let Some(hosted) = hosted {
        for served in &hosted.overrides {
            if user_servers.iter().any(|user| user.key == served.key) {
                return Err(crate::Error::InvalidTool {
                    name: served.key.trim_start_matches("mcp_servers.").to_owned(),
                    reason: "a host tool namespace has the name of an MCP server of the thread"
                        .into(),
                });
            }
        }
        options.config.extend(hosted.overrides.iter().cloned());
    }
    options.config.extend(user_servers);
    Ok(Cow::Owned(options))
}

/// Puts the hosted tools' token into the child's environment (only there) and the redactor.
pub(crate) fn add_token(
    hosted: &HostedTools,
    env: &mut BTreeMap<OsString, OsString>,
    redactor: &mut Redactor,
) {
    env.insert(TOOLS_TOKEN_ENV.into(), hosted.token.clone().into());
    redactor.add(&hosted.token);
}

/// Wraps an exec turn so that the tool events of its hosted tools join its event stream, and
/// the tool server lives exactly as long as the turn: it stops when codex's output ended, or
/// when the consumer dropped or cancelled the stream (which also stops codex, as before).
pub(crate) fn attach(turn: ExecTurn, hosted: HostedTools) -> ExecTurn {
    let ExecTurn {
        rx: mut codex_events,
        pid,
        driver,
        end_received,
    } = turn;
    let HostedTools {
        events: mut tool_events,
        stop,
        ..
    } = hosted;
    let (tx, rx) = mpsc::channel(FORWARD_BUFFER);
    tokio::spawn(async move {
        let _stop: StopGuard = stop;
        let mut tools_open = true;
        loop {
            tokio::select! {
                biased;
                _ = tx.closed() => {
                    // Dropping `codex_events` makes the driver stop codex.
                    break;
                }
                event = tool_events.recv(), if tools_open => match event {
                    Some(event) => {
                        if tx.send(Ok(event)).await.is_err() {
                            break;
                        }
                    }
                    None => tools_open = false,
                },
                item = codex_events.recv() => match item {
                    Some(item) => {
                        let terminal = matches!(&item, Ok(event) if event.is_terminal());
                        if terminal {
                            // Tool events are sent before codex learns the result; flush any
                            // still queued so they precede the end of the turn.
                            while let Ok(event) = tool_events.try_recv() {
                                let _ = tx.send(Ok(event)).await;
                            }
                        }
                        if tx.send(item).await.is_err() {
                            break;
                        }
                    }
                    None => break,
                },
            }
        }
        tracing::debug!("exec turn over; stopping its host tool server");
    });
    ExecTurn {
        rx,
        pid,
        driver,
        end_received,
    }
}
