//! A fake `codex` executable for fault injection: a `/bin/sh` script that runs scripted steps.
//!
//! ```no_run
//! # fn demo(dir: &std::path::Path) -> std::io::Result<()> {
//! use codexkit_testkit::FakeCodex;
//! let codex = FakeCodex::new()
//!     .record_invocation(dir.join("calls"))
//!     .stdout_line(r#"{"type":"thread.started","thread_id":"t1"}"#)
//!     .stderr_bytes(100_000)
//!     .exit(3)
//!     .write_to(dir)?;
//! // run `codex` with your SDK, then:
//! let call = codexkit_testkit::Invocation::read(dir.join("calls"))?;
//! assert_eq!(call.args[0], "exec");
//! # Ok(()) }
//! ```

use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The version the fake prints by default.
pub const DEFAULT_FAKE_VERSION: &str = "0.171.0";

#[derive(Debug, Clone, PartialEq)]
enum Step {
    StdoutLine(String),
    StdoutRaw(String),
    StdoutFile(PathBuf),
    StdoutLongLine(u64),
    StderrLine(String),
    StderrBytes(u64),
    SleepMs(u64),
    SpawnGrandchildSleep { secs: u64, pid_file: PathBuf },
    RecordInvocation(PathBuf),
    Exit(i32),
}

/// Builder of a fake `codex` script.
///
/// Invoked with `--version` as its only argument, the script prints `codex-cli <version>`
/// and exits 0 without running any step. Otherwise it runs the steps in the order they were
/// added, then exits 0 unless an [`exit`](Self::exit) step ended it earlier.
///
/// Unix only. The script uses `/bin/sh`, `head`, `tr`, `cat`, `sleep` (with a fractional
/// argument, as GNU coreutils and busybox accept) and, for
/// [`record_invocation`](Self::record_invocation), `env -0`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FakeCodex {
    version: String,
    steps: Vec<Step>,
}

impl Default for FakeCodex {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeCodex {
    /// A fake that reports version 0.171.0 and exits 0 with no output.
    pub fn new() -> Self {
        Self {
            version: DEFAULT_FAKE_VERSION.to_owned(),
            steps: Vec::new(),
        }
    }

    /// The version printed for `--version` (as `codex-cli <version>`).
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// Prints `line` and a newline on stdout.
    pub fn stdout_line(mut self, line: impl Into<String>) -> Self {
        self.steps.push(Step::StdoutLine(line.into()));
        self
    }

    /// Prints `text` on stdout exactly, with no newline added (e.g. a partial line).
    pub fn stdout_raw(mut self, text: impl Into<String>) -> Self {
        self.steps.push(Step::StdoutRaw(text.into()));
        self
    }

    /// Copies a file to stdout when the step runs (e.g. a recorded JSONL transcript).
    pub fn stdout_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.steps.push(Step::StdoutFile(path.into()));
        self
    }

    /// Prints one line of `bytes` bytes of `x`, then a newline (not counted in `bytes`).
    pub fn stdout_long_line(mut self, bytes: u64) -> Self {
        self.steps.push(Step::StdoutLongLine(bytes));
        self
    }

    /// Prints `line` and a newline on stderr.
    pub fn stderr_line(mut self, line: impl Into<String>) -> Self {
        self.steps.push(Step::StderrLine(line.into()));
        self
    }

    /// Writes exactly `bytes` bytes of filler (`e`, no newline) to stderr, quickly.
    pub fn stderr_bytes(mut self, bytes: u64) -> Self {
        self.steps.push(Step::StderrBytes(bytes));
        self
    }

    /// Sleeps `ms` milliseconds.
    pub fn sleep_ms(mut self, ms: u64) -> Self {
        self.steps.push(Step::SleepMs(ms));
        self
    }

    /// Starts `sleep <secs>` in the background and writes its pid (and a newline) to
    /// `pid_file`.
    ///
    /// The grandchild stays in the script's process group and keeps the script's stdout and
    /// stderr open, so a reader waiting for EOF waits for it too: the situation a client must
    /// handle by killing the whole process group. A test can check that the pid is gone.
    pub fn spawn_grandchild_sleep(mut self, secs: u64, pid_file: impl Into<PathBuf>) -> Self {
        self.steps.push(Step::SpawnGrandchildSleep {
            secs,
            pid_file: pid_file.into(),
        });
        self
    }

    /// Records this invocation into directory `dir` (created if needed), read back with
    /// [`Invocation::read`]: `dir/argv` (each argument followed by a NUL byte), `dir/stdin`
    /// (all of stdin: the step reads it to EOF), `dir/env` (`env -0` output) and `dir/cwd`.
    ///
    /// A later invocation overwrites the record. `--version` probes are not recorded.
    pub fn record_invocation(mut self, dir: impl Into<PathBuf>) -> Self {
        self.steps.push(Step::RecordInvocation(dir.into()));
        self
    }

    /// Exits with `code` (steps added after it never run).
    pub fn exit(mut self, code: i32) -> Self {
        self.steps.push(Step::Exit(code));
        self
    }

    /// The script text.
    ///
    /// Fails with [`io::ErrorKind::InvalidInput`] if a string or path contains a NUL byte,
    /// which a shell script cannot carry.
    pub fn script(&self) -> io::Result<String> {
        let mut s = String::from("#!/bin/sh\n# fake codex written by codexkit-testkit\n");
        s.push_str(&format!(
            "if [ \"$#\" -eq 1 ] && [ \"$1\" = \"--version\" ]; then\n  printf '%s\\n' {}\n  exit 0\nfi\n",
            quote(&format!("codex-cli {}", self.version))?
        ));
        for step in &self.steps {
            match step {
                Step::StdoutLine(line) => {
                    s.push_str(&format!("printf '%s\\n' {}\n", quote(line)?));
                }
                Step::StdoutRaw(text) => {
                    s.push_str(&format!("printf '%s' {}\n", quote(text)?));
                }
                Step::StdoutFile(path) => {
                    s.push_str(&format!("cat {}\n", quote_path(path)?));
                }
                Step::StdoutLongLine(bytes) => {
                    s.push_str(&format!(
                        "head -c {bytes} /dev/zero | tr '\\000' 'x'\nprintf '\\n'\n"
                    ));
                }
                Step::StderrLine(line) => {
                    s.push_str(&format!("printf '%s\\n' {} >&2\n", quote(line)?));
                }
                Step::StderrBytes(bytes) => {
                    s.push_str(&format!("head -c {bytes} /dev/zero | tr '\\000' 'e' >&2\n"));
                }
                Step::SleepMs(ms) => {
                    s.push_str(&format!("sleep {}.{:03}\n", ms / 1000, ms % 1000));
                }
                Step::SpawnGrandchildSleep { secs, pid_file } => {
                    s.push_str(&format!(
                        "sleep {secs} &\nprintf '%s\\n' \"$!\" > {}\n",
                        quote_path(pid_file)?
                    ));
                }
                Step::RecordInvocation(dir) => {
                    let q = |name: &str| quote_path(&dir.join(name));
                    s.push_str(&format!(
                        "mkdir -p {dir}\n: > {argv}\nfor codexkit_arg in \"$@\"; do printf '%s\\000' \"$codexkit_arg\" >> {argv}; done\ncat > {stdin}\nenv -0 > {env}\npwd > {cwd}\n",
                        dir = quote_path(dir)?,
                        argv = q("argv")?,
                        stdin = q("stdin")?,
                        env = q("env")?,
                        cwd = q("cwd")?,
                    ));
                }
                Step::Exit(code) => {
                    s.push_str(&format!("exit {code}\n"));
                }
            }
        }
        s.push_str("exit 0\n");
        Ok(s)
    }

    /// Writes the script as `dir/codex` (mode 0755, replacing an existing file atomically)
    /// and returns its path.
    ///
    /// If the test process spawns programs from several threads at once, the first spawn of
    /// a just-written script can fail with [`io::ErrorKind::ExecutableFileBusy`] (another
    /// thread's fork briefly holds the write handle); retry the spawn in that case.
    pub fn write_to(&self, dir: impl AsRef<Path>) -> io::Result<PathBuf> {
        let dir = dir.as_ref();
        let script = self.script()?;
        let path = dir.join("codex");
        let tmp = dir.join(format!(".codex.codexkit-tmp-{}", std::process::id()));
        {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o755)
                .open(&tmp)?;
            file.write_all(script.as_bytes())?;
            file.sync_all()?;
        }
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))?;
        std::fs::rename(&tmp, &path)?;
        Ok(path)
    }
}

/// What a fake codex recorded with [`FakeCodex::record_invocation`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Invocation {
    /// The arguments, without the program name.
    pub args: Vec<String>,
    /// Everything read from stdin.
    pub stdin: Vec<u8>,
    /// The environment, in `env` order.
    pub env: Vec<(String, String)>,
    /// The working directory.
    pub cwd: PathBuf,
}

impl Invocation {
    /// Reads the record written into `dir`.
    pub fn read(dir: impl AsRef<Path>) -> io::Result<Self> {
        let dir = dir.as_ref();
        let nul_separated = |bytes: Vec<u8>| -> Vec<String> {
            bytes
                .split(|b| *b == 0)
                .map(|part| String::from_utf8_lossy(part).into_owned())
                .collect::<Vec<_>>()
        };
        let mut args = nul_separated(std::fs::read(dir.join("argv"))?);
        // Every argument is NUL-terminated, so the split leaves one empty tail.
        args.pop();
        let stdin = std::fs::read(dir.join("stdin"))?;
        let env = nul_separated(std::fs::read(dir.join("env"))?)
            .into_iter()
            .filter_map(|entry| {
                entry
                    .split_once('=')
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
            })
            .collect();
        let cwd = std::fs::read_to_string(dir.join("cwd"))?;
        let cwd = PathBuf::from(cwd.strip_suffix('\n').unwrap_or(&cwd));
        Ok(Self {
            args,
            stdin,
            env,
            cwd,
        })
    }

    /// The value of environment variable `name`, if it was set.
    pub fn env_var(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Single-quotes `s` for sh.
fn quote(s: &str) -> io::Result<String> {
    if s.contains('\0') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a fake codex script cannot contain NUL bytes",
        ));
    }
    Ok(format!("'{}'", s.replace('\'', "'\\''")))
}

fn quote_path(path: &Path) -> io::Result<String> {
    let text = path.to_str().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("path {} is not UTF-8", path.display()),
        )
    })?;
    quote(text)
}
