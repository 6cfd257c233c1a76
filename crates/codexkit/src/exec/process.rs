//! Spawning codex in its own process group, and making sure it never outlives its owner.

use crate::{Error, Result};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use tokio::process::{Child, Command};

/// What to run.
pub(crate) struct Launch<'a> {
    pub program: &'a Path,
    pub args: &'a [OsString],
    pub env: &'a BTreeMap<OsString, OsString>,
    pub current_dir: Option<&'a Path>,
    /// Whether a prompt will be written to stdin (otherwise stdin is null).
    pub stdin: bool,
}

/// Starts the child with piped stdout/stderr, in a new process group on Unix so that cancelling
/// reaches the commands codex runs too.
pub(crate) async fn spawn(launch: &Launch<'_>) -> Result<(Child, GroupGuard)> {
    let mut command = Command::new(launch.program);
    command
        .args(launch.args)
        .env_clear()
        .envs(launch.env)
        .stdin(if launch.stdin {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(dir) = launch.current_dir {
        command.current_dir(dir);
    }
    #[cfg(unix)]
    command.process_group(0);
    let mut attempt = 1;
    let child = loop {
        match command.spawn() {
            Ok(child) => break child,
            // "Text file busy": the binary was just written and another thread's fork still
            // holds it open for writing (an install or a test writing a script). It clears
            // as soon as that child execs, so a short wait is enough.
            Err(error) if is_text_file_busy(&error) && attempt < SPAWN_ATTEMPTS => {
                tracing::debug!(attempt, "codex binary busy; retrying the spawn");
                tokio::time::sleep(std::time::Duration::from_millis(25 * u64::from(attempt))).await;
                attempt += 1;
            }
            Err(source) => {
                return Err(Error::Spawn {
                    program: PathBuf::from(launch.program),
                    source,
                });
            }
        }
    };
    let guard = GroupGuard {
        pid: child.id(),
        armed: true,
    };
    metrics::gauge!("codexkit.processes.alive").increment(1.0);
    tracing::debug!(pid = ?guard.pid, program = %launch.program.display(), "codex spawned");
    Ok((child, guard))
}

/// How often a spawn that fails with "text file busy" is tried.
const SPAWN_ATTEMPTS: u32 = 5;

#[cfg(unix)]
fn is_text_file_busy(error: &std::io::Error) -> bool {
    error.raw_os_error() == Some(nix::errno::Errno::ETXTBSY as i32)
}

#[cfg(not(unix))]
fn is_text_file_busy(_error: &std::io::Error) -> bool {
    false
}

/// Kills the child's whole process group when dropped, unless disarmed after a clean exit.
///
/// This runs even when the task that owns the child is dropped (runtime shutdown, a dropped
/// stream), so no codex process or command it started is left behind.
pub(crate) struct GroupGuard {
    pid: Option<u32>,
    armed: bool,
}

impl GroupGuard {
    /// Kills the group now (SIGKILL).
    pub(crate) fn kill(&self) {
        if let Some(pid) = self.pid {
            signal_group(pid, GroupSignal::Kill);
        }
    }

    /// Asks the group to stop (SIGTERM).
    pub(crate) fn terminate(&self) {
        if let Some(pid) = self.pid {
            signal_group(pid, GroupSignal::Terminate);
        }
    }

    /// The child's pid.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// The child exited by itself; killing its group is still done, for commands it left.
    pub(crate) fn finish(mut self) {
        self.kill();
        self.armed = false;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        metrics::gauge!("codexkit.processes.alive").decrement(1.0);
        if self.armed {
            tracing::debug!(pid = ?self.pid, "codex killed");
            self.kill();
        } else {
            tracing::debug!(pid = ?self.pid, "codex exited");
        }
    }
}

/// SIGKILL to a process group by its leader's pid (for code that does not own a guard).
pub(crate) fn kill_group_now(pid: u32) {
    signal_group(pid, GroupSignal::Kill);
}

#[derive(Debug, Clone, Copy)]
enum GroupSignal {
    Terminate,
    Kill,
}

#[cfg(unix)]
fn signal_group(pid: u32, which: GroupSignal) {
    use nix::sys::signal::{Signal, killpg};
    use nix::unistd::Pid;
    let Ok(raw) = i32::try_from(pid) else { return };
    let signal = match which {
        GroupSignal::Terminate => Signal::SIGTERM,
        GroupSignal::Kill => Signal::SIGKILL,
    };
    match killpg(Pid::from_raw(raw), signal) {
        Ok(()) => tracing::debug!(pid, ?signal, "signalled codex process group"),
        // Already gone: nothing to do.
        Err(nix::errno::Errno::ESRCH) => {}
        Err(error) => tracing::warn!(pid, %error, "could not signal codex process group"),
    }
}

/// Without process groups (Windows), `kill_on_drop` on the child ends the direct child;
/// grandchildren are not reached. A job object would reach them; see docs/architecture.md.
#[cfg(not(unix))]
fn signal_group(_pid: u32, _which: GroupSignal) {}
