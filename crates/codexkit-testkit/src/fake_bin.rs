//! A fake `codex` *binary* for fault injection, driven by a JSON script.
//!
//! [`crate::FakeCodex`] writes a `/bin/sh` script; this module is its compiled sibling, the
//! `codexkit-fake-codex` executable of this crate. It can do what a shell script cannot do
//! reliably: print arbitrary bytes (invalid UTF-8, a multibyte character split across two
//! writes), close its own stdio, block `SIGTERM`, kill itself with a signal, leave behind a
//! grandchild that holds stdout open, and speak JSON-RPC as a scripted `codex app-server`.
//!
//! ```no_run
//! # fn demo() -> std::io::Result<()> {
//! use codexkit_testkit::fake_bin::{FakeScript, FakeStep};
//! let dir = tempfile::tempdir()?;
//! let codex = FakeScript::new()
//!     .step(FakeStep::stdout_line(r#"{"type":"thread.started","thread_id":"t1"}"#))
//!     .step(FakeStep::StdoutBytes(b"{\"type\":\"turn.st".to_vec().into()))
//!     .step(FakeStep::SleepMs(50))
//!     .step(FakeStep::StdoutBytes(b"arted\"}\n".to_vec().into()))
//!     .step(FakeStep::KillSelf(9))
//!     .install(dir.path())?;
//! // `codex` is `dir/codex`: run it as the codex binary of the code under test.
//! # let _ = codex; Ok(()) }
//! ```
//!
//! # How the binary finds its script
//!
//! 1. The file named by the environment variable [`SCRIPT_ENV`], when it is set.
//! 2. Otherwise `<argv[0]>.fake.json`: [`FakeScript::install`] puts a symlink `dir/codex` to
//!    the binary next to `dir/codex.fake.json`, so even a `codex --version` probe run with
//!    an environment the test does not control finds its script.
//!
//! Invoked as `codex --version` it prints `codex-cli <version>` (the script's
//! [`version`](FakeScript::version), `0.171.0` by default). Invoked as `codex app-server …`
//! it runs [`FakeScript::app_server`]'s steps, any other way [`FakeScript::exec`]'s steps.
//!
//! # Finding the binary from a test
//!
//! [`fake_codex_bin`] looks next to the running test executable (`target/<profile>/`); it
//! builds nothing. Cargo builds this crate's binaries whenever this crate's own integration
//! tests are built, so plain `cargo test --workspace` always has it. A narrower command, such
//! as `cargo test -p codexkit --test e2e`, does not build another package's binaries: run
//! `cargo build -p codexkit-testkit --bins` first. A binary built from other sources than the
//! library calling [`fake_codex_bin`] is reported as stale rather than used.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::ffi::OsString;
use std::io::{self, BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// The name of the fake codex binary built by this crate.
pub const FAKE_CODEX_BIN_NAME: &str = "codexkit-fake-codex";

/// Environment variable naming the JSON script the fake runs (takes precedence over the
/// `<argv[0]>.fake.json` sidecar).
pub const SCRIPT_ENV: &str = "CODEXKIT_FAKE_SCRIPT";

/// Environment variable that overrides where [`fake_codex_bin`] finds the binary.
pub const BIN_ENV: &str = "CODEXKIT_FAKE_CODEX_BIN";

/// The first argument of a grandchild started by [`FakeStep::SpawnGrandchild`].
const GRANDCHILD_ARG: &str = "__codexkit_fake_grandchild";

/// The only argument of a fingerprint probe (see [`fake_codex_bin`]).
const FINGERPRINT_ARG: &str = "--codexkit-fake-fingerprint";

/// Exit code when the script cannot be read or parsed.
const EXIT_BAD_SCRIPT: u8 = 2;
/// Exit code when writing to stdout or stderr failed (the reader went away).
const EXIT_WRITE_FAILED: u8 = 120;
/// Exit code when [`FakeStep::AwaitResponse`] timed out.
const EXIT_AWAIT_TIMEOUT: u8 = 121;

/// A fingerprint of this file, compiled into both the library and the binary, so a stale
/// binary (built from other sources) is detected instead of silently used.
const FINGERPRINT: u64 = fnv1a(include_bytes!("fake_bin.rs"));

const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

/// Bytes in a script: hex, base64 or UTF-8 text in JSON, so invalid UTF-8 can be written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RawBytes {
    /// Hex digits, two per byte (`"c3a9"`).
    Hex(String),
    /// Standard base64.
    Base64(String),
    /// UTF-8 text, taken as is (no template expansion).
    Text(String),
}

impl RawBytes {
    /// The bytes, or why the encoding is invalid.
    pub fn decode(&self) -> Result<Vec<u8>, String> {
        match self {
            Self::Text(text) => Ok(text.as_bytes().to_vec()),
            Self::Base64(text) => {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD
                    .decode(text.trim())
                    .map_err(|e| format!("invalid base64: {e}"))
            }
            Self::Hex(text) => {
                let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
                if !digits.len().is_multiple_of(2) {
                    return Err("odd number of hex digits".into());
                }
                digits
                    .chunks(2)
                    .map(|pair| {
                        let text = std::str::from_utf8(pair).map_err(|e| e.to_string())?;
                        u8::from_str_radix(text, 16)
                            .map_err(|e| format!("invalid hex {text:?}: {e}"))
                    })
                    .collect()
            }
        }
    }
}

impl From<Vec<u8>> for RawBytes {
    /// Encodes the bytes as hex.
    fn from(bytes: Vec<u8>) -> Self {
        Self::Hex(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }
}

impl From<&[u8]> for RawBytes {
    fn from(bytes: &[u8]) -> Self {
        bytes.to_vec().into()
    }
}

/// Which output stream a step writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// One step of a fake codex script.
///
/// Text in [`StdoutLine`](Self::StdoutLine), [`StderrLine`](Self::StderrLine),
/// [`SendRaw`](Self::SendRaw) and in the string values of [`Send`](Self::Send),
/// [`Respond`](Self::Respond) and [`RespondError`](Self::RespondError) is expanded first:
/// `{{env:NAME}}` becomes the value of environment variable `NAME` (empty when unset),
/// `{{json_env:NAME}}` the same value escaped for use inside a JSON string,
/// `{{env}}` every variable as space-separated `NAME=value`, `{{pid}}` the fake's pid.
///
/// Every write is flushed at once, so two steps are two separate writes; a
/// [`SleepMs`](Self::SleepMs) between them makes the reader see them apart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FakeStep {
    /// Prints the (expanded) text and a newline on stdout.
    StdoutLine(String),
    /// Prints the (expanded) text and a newline on stderr.
    StderrLine(String),
    /// Writes exactly these bytes on stdout, no newline added.
    StdoutBytes(RawBytes),
    /// Writes exactly these bytes on stderr, no newline added.
    StderrBytes(RawBytes),
    /// Writes `len` copies of `byte` (then a newline when `newline`), in 64 KiB writes, without
    /// holding them all in memory.
    Fill {
        /// Where to write.
        stream: Stream,
        /// The filler byte.
        byte: u8,
        /// How many bytes.
        len: u64,
        /// Whether a newline follows (not counted in `len`).
        newline: bool,
    },
    /// Copies a file (e.g. a recorded transcript) to stdout.
    StdoutFile(PathBuf),
    /// Prints every environment variable as a `NAME=value` line.
    EchoEnv(Stream),
    /// Sleeps this many milliseconds.
    SleepMs(u64),
    /// Sleeps forever (until killed).
    Hang,
    /// Exits with this code (steps after it never run).
    Exit(i32),
    /// Sends itself this signal (by number; `9` is `SIGKILL`, `11` `SIGSEGV`), unblocking it
    /// first. If the signal does not end the process, exits with 125.
    KillSelf(i32),
    /// Starts a copy of the binary in grandchild mode: it stays in the fake's process group,
    /// inherits stdout and stderr (so a reader waiting for EOF waits for it too), blocks
    /// `SIGTERM`, writes its pid to `pid_file` (when given) and lives for `lifetime_ms`.
    SpawnGrandchild {
        /// Where the grandchild writes its pid (and a newline), atomically.
        pid_file: Option<PathBuf>,
        /// How long it lives; bounded so a leaked grandchild still goes away eventually.
        lifetime_ms: u64,
    },
    /// Closes stdin (a writer then gets `EPIPE`).
    CloseStdin,
    /// Closes stdout (the reader sees EOF while the fake goes on).
    CloseStdout,
    /// Closes stderr (the reader sees EOF while the fake goes on).
    CloseStderr,
    /// Reads stdin to its end and discards it.
    ReadStdin,
    /// Records argv, stdin (read to EOF), environment and cwd into a directory, in the format
    /// [`crate::Invocation::read`] reads.
    RecordInvocation(PathBuf),
    /// App-server: waits for `initialize` and answers it like codex does.
    Handshake,
    /// App-server: reads messages until a request with this method arrives; later
    /// [`Respond`](Self::Respond) / [`RespondError`](Self::RespondError) steps answer it.
    /// At the end of stdin, the fake exits 0.
    AwaitRequest(String),
    /// App-server: answers the last awaited request with this result.
    Respond(Value),
    /// App-server: answers the last awaited request with an error.
    RespondError {
        /// The JSON-RPC error code.
        code: i64,
        /// The message.
        message: String,
    },
    /// App-server: sends one JSON message (a notification, a response, anything) as a line.
    Send(Value),
    /// App-server: sends this (expanded) text as a line, e.g. malformed JSON.
    SendRaw(String),
    /// App-server: sends a server→client request.
    SendRequest {
        /// Its id.
        id: Value,
        /// Its method.
        method: String,
        /// Its parameters.
        params: Value,
    },
    /// App-server: reads messages until the response with this id arrives. If none comes
    /// within `timeout_ms`, the fake exits with code 121.
    AwaitResponse {
        /// The id of the request it answers.
        id: Value,
        /// How long to wait.
        timeout_ms: u64,
    },
}

impl FakeStep {
    /// [`FakeStep::StdoutLine`].
    pub fn stdout_line(line: impl Into<String>) -> Self {
        Self::StdoutLine(line.into())
    }

    /// [`FakeStep::StderrLine`].
    pub fn stderr_line(line: impl Into<String>) -> Self {
        Self::StderrLine(line.into())
    }

    /// [`FakeStep::Fill`] on stdout with `x` and a newline: one line of `len` bytes.
    pub fn long_line(len: u64) -> Self {
        Self::Fill {
            stream: Stream::Stdout,
            byte: b'x',
            len,
            newline: true,
        }
    }

    /// [`FakeStep::Fill`] on stderr with `e`, no newline.
    pub fn stderr_flood(len: u64) -> Self {
        Self::Fill {
            stream: Stream::Stderr,
            byte: b'e',
            len,
            newline: false,
        }
    }

    /// [`FakeStep::SpawnGrandchild`] living 120 s.
    pub fn grandchild(pid_file: impl Into<PathBuf>) -> Self {
        Self::SpawnGrandchild {
            pid_file: Some(pid_file.into()),
            lifetime_ms: 120_000,
        }
    }
}

/// A fake codex script: what the `codexkit-fake-codex` binary does, as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct FakeScript {
    /// The version printed for `--version` (as `codex-cli <version>`).
    pub version: String,
    /// Blocks `SIGTERM` before anything else, so only `SIGKILL` ends the fake.
    pub ignore_sigterm: bool,
    /// Where the fake writes its pid at start (not for `--version`).
    pub pid_file: Option<PathBuf>,
    /// App-server mode: every line read from stdin is appended here (flushed at once).
    pub received_log: Option<PathBuf>,
    /// Steps when run as anything but `app-server` (e.g. `codex exec --json …`).
    pub exec: Vec<FakeStep>,
    /// Steps when run as `codex app-server`. After the last step the fake keeps reading
    /// stdin, answers every request with a `-32601` error, and exits 0 at its end.
    pub app_server: Vec<FakeStep>,
}

impl Default for FakeScript {
    fn default() -> Self {
        Self {
            version: crate::fake::DEFAULT_FAKE_VERSION.to_owned(),
            ignore_sigterm: false,
            pid_file: None,
            received_log: None,
            exec: Vec::new(),
            app_server: Vec::new(),
        }
    }
}

impl FakeScript {
    /// An empty script: version 0.171.0, exits 0 with no output.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the version printed for `--version`.
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// Adds an exec-mode step.
    pub fn step(mut self, step: FakeStep) -> Self {
        self.exec.push(step);
        self
    }

    /// Adds exec-mode steps.
    pub fn steps(mut self, steps: impl IntoIterator<Item = FakeStep>) -> Self {
        self.exec.extend(steps);
        self
    }

    /// Adds an app-server-mode step.
    pub fn app_server_step(mut self, step: FakeStep) -> Self {
        self.app_server.push(step);
        self
    }

    /// Adds app-server-mode steps.
    pub fn app_server_steps(mut self, steps: impl IntoIterator<Item = FakeStep>) -> Self {
        self.app_server.extend(steps);
        self
    }

    /// Blocks `SIGTERM` for the whole run.
    pub fn ignore_sigterm(mut self, ignore: bool) -> Self {
        self.ignore_sigterm = ignore;
        self
    }

    /// Writes the fake's pid to `path` at start.
    pub fn pid_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.pid_file = Some(path.into());
        self
    }

    /// Logs every line the app-server mode reads to `path`.
    pub fn received_log(mut self, path: impl Into<PathBuf>) -> Self {
        self.received_log = Some(path.into());
        self
    }

    /// The script as JSON.
    pub fn to_json(&self) -> String {
        // A derived Serialize of strings, numbers, paths and JSON values cannot fail, except
        // on a path that is not UTF-8; such a path is written lossily.
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".to_owned())
    }

    /// Makes `dir/codex` run this script: a symlink to the fake binary (found with
    /// [`fake_codex_bin`]) next to the script `dir/codex.fake.json`. Returns `dir/codex`.
    pub fn install(&self, dir: impl AsRef<Path>) -> io::Result<PathBuf> {
        let bin = fake_codex_bin()?;
        self.install_with(dir, &bin)
    }

    /// [`FakeScript::install`] with an explicit binary.
    pub fn install_with(&self, dir: impl AsRef<Path>, bin: &Path) -> io::Result<PathBuf> {
        let dir = dir.as_ref();
        let path = dir.join("codex");
        std::fs::write(sidecar_path(path.as_os_str()), self.to_json())?;
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(error),
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink(bin, &path)?;
        #[cfg(not(unix))]
        std::fs::copy(bin, &path).map(drop)?;
        Ok(path)
    }
}

fn sidecar_path(program: &std::ffi::OsStr) -> PathBuf {
    let mut name = program.to_owned();
    name.push(".fake.json");
    PathBuf::from(name)
}

/// The path of the `codexkit-fake-codex` binary, checked to be built from the same sources as
/// this library.
///
/// Looks at [`BIN_ENV`] first, then next to the running executable and its parent
/// directory (a test executable lives in `target/<profile>/deps/`, binaries in
/// `target/<profile>/`). Builds nothing: when the binary is missing or stale, the error says
/// to run `cargo build -p codexkit-testkit --bins` (plain `cargo test --workspace` builds it).
pub fn fake_codex_bin() -> io::Result<PathBuf> {
    static FOUND: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    FOUND
        .get_or_init(locate)
        .clone()
        .map_err(|message| io::Error::new(io::ErrorKind::NotFound, message))
}

fn locate() -> Result<PathBuf, String> {
    let file_name = format!("{FAKE_CODEX_BIN_NAME}{}", std::env::consts::EXE_SUFFIX);
    let mut candidates = Vec::new();
    if let Some(path) = std::env::var_os(BIN_ENV).filter(|p| !p.is_empty()) {
        candidates.push(PathBuf::from(path));
    } else {
        let exe = std::env::current_exe().map_err(|e| format!("no current executable: {e}"))?;
        for dir in exe.ancestors().skip(1).take(2) {
            candidates.push(dir.join(&file_name));
        }
    }
    let hint = "build it with `cargo build -p codexkit-testkit --bins` (plain `cargo test \
                --workspace` builds it too), or set CODEXKIT_FAKE_CODEX_BIN to its path";
    let Some(found) = candidates.iter().find(|p| p.is_file()) else {
        let tried: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
        return Err(format!(
            "the fake codex binary `{file_name}` was not found (tried {}); {hint}",
            tried.join(", ")
        ));
    };
    let output = std::process::Command::new(found)
        .arg(FINGERPRINT_ARG)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("could not run {}: {e}; {hint}", found.display()))?;
    let reported = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if reported != format!("{FINGERPRINT:016x}") {
        return Err(format!(
            "{} is stale (built from other sources than this codexkit-testkit); {hint}",
            found.display()
        ));
    }
    Ok(found.clone())
}

// ---------------------------------------------------------------------------------------------
// The binary's side.

/// The `main` of the `codexkit-fake-codex` binary. Not meant to be called by tests.
pub fn run_fake_codex() -> ExitCode {
    let mut args = std::env::args_os();
    let argv0 = args.next().unwrap_or_default();
    let args: Vec<OsString> = args.collect();
    let first = args.first().and_then(|a| a.to_str()).unwrap_or("");

    if args.len() == 1 && first == FINGERPRINT_ARG {
        println!("{FINGERPRINT:016x}");
        return ExitCode::SUCCESS;
    }
    if first == GRANDCHILD_ARG {
        return grandchild(&args[1..]);
    }
    let script = match load_script(&argv0) {
        Ok(script) => script,
        Err(message) => {
            eprintln!("codexkit-fake-codex: {message}");
            return ExitCode::from(EXIT_BAD_SCRIPT);
        }
    };
    if args.len() == 1 && first == "--version" {
        println!("codex-cli {}", script.version);
        return ExitCode::SUCCESS;
    }
    if script.ignore_sigterm {
        block_sigterm();
    }
    if let Some(pid_file) = &script.pid_file
        && let Err(error) = write_atomically(pid_file, &format!("{}\n", std::process::id()))
    {
        eprintln!("codexkit-fake-codex: writing the pid file failed: {error}");
    }
    let app_server = first == "app-server";
    let steps = if app_server {
        &script.app_server
    } else {
        &script.exec
    };
    let mut runner = Runner {
        args,
        received_log: script.received_log.clone(),
        stdin: None,
        last_request: None,
        backlog: std::collections::VecDeque::new(),
    };
    for step in steps {
        if let Err(code) = runner.run(step) {
            return code;
        }
    }
    if app_server {
        runner.serve_until_eof();
    }
    ExitCode::SUCCESS
}

fn load_script(argv0: &std::ffi::OsStr) -> Result<FakeScript, String> {
    let path = match std::env::var_os(SCRIPT_ENV).filter(|p| !p.is_empty()) {
        Some(path) => PathBuf::from(path),
        None => sidecar_path(argv0),
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "cannot read the script {} ({e}); set {SCRIPT_ENV} or write <argv0>.fake.json",
            path.display()
        )
    })?;
    serde_json::from_str(&text).map_err(|e| format!("invalid script {}: {e}", path.display()))
}

/// A grandchild: blocks `SIGTERM`, writes its pid, sleeps, exits.
fn grandchild(args: &[OsString]) -> ExitCode {
    block_sigterm();
    let lifetime_ms = args
        .first()
        .and_then(|a| a.to_str())
        .and_then(|a| a.parse::<u64>().ok())
        .unwrap_or(120_000);
    if let Some(pid_file) = args.get(1).filter(|p| !p.is_empty()) {
        let _ = write_atomically(Path::new(pid_file), &format!("{}\n", std::process::id()));
    }
    std::thread::sleep(Duration::from_millis(lifetime_ms));
    ExitCode::SUCCESS
}

fn write_atomically(path: &Path, text: &str) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}", std::process::id()));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

#[cfg(unix)]
fn block_sigterm() {
    use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};
    let mut set = SigSet::empty();
    set.add(Signal::SIGTERM);
    if let Err(error) = sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None) {
        eprintln!("codexkit-fake-codex: blocking SIGTERM failed: {error}");
    }
}

#[cfg(not(unix))]
fn block_sigterm() {}

#[cfg(unix)]
fn kill_self(signal: i32) {
    use nix::sys::signal::{SigSet, SigmaskHow, Signal, raise, sigprocmask};
    match Signal::try_from(signal) {
        Ok(signal) => {
            let mut set = SigSet::empty();
            set.add(signal);
            let _ = sigprocmask(SigmaskHow::SIG_UNBLOCK, Some(&set), None);
            // Twice: Rust's runtime handles SIGSEGV and SIGBUS (to report stack overflows);
            // its handler restores the default action and returns, so the second one kills.
            for _ in 0..2 {
                if let Err(error) = raise(signal) {
                    eprintln!("codexkit-fake-codex: raise({signal}) failed: {error}");
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        Err(error) => eprintln!("codexkit-fake-codex: bad signal {signal}: {error}"),
    }
}

#[cfg(not(unix))]
fn kill_self(_signal: i32) {}

/// Closes one of the standard descriptors and puts `/dev/null` in its place, so a file opened
/// later cannot take its number and receive what is written to the closed stream.
#[cfg(unix)]
#[allow(unsafe_code)]
fn close_std_fd(fd: std::os::fd::RawFd) {
    use std::os::fd::{FromRawFd, IntoRawFd, OwnedFd};
    // SAFETY: descriptors 0, 1 and 2 are open for the life of the process and no `OwnedFd`
    // owns them; std's stdio handles use the raw number and tolerate it being replaced.
    drop(unsafe { OwnedFd::from_raw_fd(fd) });
    let null = if fd == 0 {
        std::fs::File::open("/dev/null")
    } else {
        std::fs::OpenOptions::new().write(true).open("/dev/null")
    };
    if let Ok(null) = null {
        // The lowest free number is `fd` again; keep it open for the rest of the run.
        let _ = null.into_raw_fd();
    }
}

#[cfg(not(unix))]
fn close_std_fd(_fd: i32) {}

/// State of a running script.
struct Runner {
    args: Vec<OsString>,
    received_log: Option<PathBuf>,
    /// Stdin, read line by line on its own thread (so reads can time out).
    stdin: Option<std::sync::mpsc::Receiver<Vec<u8>>>,
    /// The id of the last request [`FakeStep::AwaitRequest`] saw.
    last_request: Option<Value>,
    /// Messages read while a step waited for another one, oldest first.
    backlog: std::collections::VecDeque<Value>,
}

/// How a step ends the run early.
type StepResult = Result<(), ExitCode>;

fn write_out(stream: Stream, bytes: &[u8]) -> StepResult {
    let result = match stream {
        Stream::Stdout => {
            let mut out = io::stdout().lock();
            out.write_all(bytes).and_then(|()| out.flush())
        }
        Stream::Stderr => {
            let mut err = io::stderr().lock();
            err.write_all(bytes).and_then(|()| err.flush())
        }
    };
    result.map_err(|_| ExitCode::from(EXIT_WRITE_FAILED))
}

fn expand(text: &str) -> String {
    if !text.contains("{{") {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let key = &after[..end];
        match key {
            "env" => {
                let all: Vec<String> = std::env::vars_os()
                    .map(|(k, v)| format!("{}={}", k.to_string_lossy(), v.to_string_lossy()))
                    .collect();
                out.push_str(&all.join(" "));
            }
            "pid" => out.push_str(&std::process::id().to_string()),
            _ if key.starts_with("json_env:") => {
                // The value as it appears inside a JSON string: escaped, without quotes.
                let name = &key["json_env:".len()..];
                let value = std::env::var_os(name).unwrap_or_default();
                let quoted = Value::String(value.to_string_lossy().into_owned()).to_string();
                out.push_str(&quoted[1..quoted.len() - 1]);
            }
            _ => match key.strip_prefix("env:") {
                Some(name) => {
                    out.push_str(&std::env::var_os(name).unwrap_or_default().to_string_lossy());
                }
                None => {
                    out.push_str("{{");
                    out.push_str(key);
                    out.push_str("}}");
                }
            },
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

fn expand_json(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(expand(s)),
        Value::Array(items) => Value::Array(items.iter().map(expand_json).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), expand_json(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

impl Runner {
    fn run(&mut self, step: &FakeStep) -> StepResult {
        match step {
            FakeStep::StdoutLine(line) => {
                write_out(Stream::Stdout, format!("{}\n", expand(line)).as_bytes())
            }
            FakeStep::StderrLine(line) => {
                write_out(Stream::Stderr, format!("{}\n", expand(line)).as_bytes())
            }
            FakeStep::StdoutBytes(bytes) | FakeStep::StderrBytes(bytes) => {
                let stream = if matches!(step, FakeStep::StdoutBytes(_)) {
                    Stream::Stdout
                } else {
                    Stream::Stderr
                };
                match bytes.decode() {
                    Ok(bytes) => write_out(stream, &bytes),
                    Err(message) => {
                        eprintln!("codexkit-fake-codex: {message}");
                        Err(ExitCode::from(EXIT_BAD_SCRIPT))
                    }
                }
            }
            FakeStep::Fill {
                stream,
                byte,
                len,
                newline,
            } => {
                let chunk = vec![*byte; 64 * 1024];
                let mut left = *len;
                while left > 0 {
                    let n = usize::try_from(left.min(chunk.len() as u64)).unwrap_or(chunk.len());
                    write_out(*stream, &chunk[..n])?;
                    left -= n as u64;
                }
                if *newline {
                    write_out(*stream, b"\n")?;
                }
                Ok(())
            }
            FakeStep::StdoutFile(path) => match std::fs::read(path) {
                Ok(bytes) => write_out(Stream::Stdout, &bytes),
                Err(error) => {
                    eprintln!("codexkit-fake-codex: reading {}: {error}", path.display());
                    Err(ExitCode::from(EXIT_BAD_SCRIPT))
                }
            },
            FakeStep::EchoEnv(stream) => {
                let mut text = String::new();
                for (key, value) in std::env::vars_os() {
                    text.push_str(&format!(
                        "{}={}\n",
                        key.to_string_lossy(),
                        value.to_string_lossy()
                    ));
                }
                write_out(*stream, text.as_bytes())
            }
            FakeStep::SleepMs(ms) => {
                std::thread::sleep(Duration::from_millis(*ms));
                Ok(())
            }
            FakeStep::Hang => loop {
                std::thread::sleep(Duration::from_secs(3600));
            },
            FakeStep::Exit(code) => {
                let _ = io::stdout().flush();
                std::process::exit(*code)
            }
            FakeStep::KillSelf(signal) => {
                let _ = io::stdout().flush();
                kill_self(*signal);
                Err(ExitCode::from(125))
            }
            FakeStep::SpawnGrandchild {
                pid_file,
                lifetime_ms,
            } => {
                let exe = std::env::current_exe().map_err(|error| {
                    eprintln!("codexkit-fake-codex: no current executable: {error}");
                    ExitCode::from(EXIT_BAD_SCRIPT)
                })?;
                let pid_arg = pid_file
                    .clone()
                    .map(PathBuf::into_os_string)
                    .unwrap_or_default();
                let spawned = std::process::Command::new(exe)
                    .arg(GRANDCHILD_ARG)
                    .arg(lifetime_ms.to_string())
                    .arg(pid_arg)
                    .stdin(std::process::Stdio::null())
                    .spawn();
                match spawned {
                    // Not waited for: the grandchild outlives this process on purpose.
                    Ok(child) => {
                        drop(child);
                        if let Some(pid_file) = pid_file {
                            wait_for_file(pid_file, Duration::from_secs(5));
                        }
                        Ok(())
                    }
                    Err(error) => {
                        eprintln!("codexkit-fake-codex: spawning the grandchild failed: {error}");
                        Err(ExitCode::from(EXIT_BAD_SCRIPT))
                    }
                }
            }
            FakeStep::CloseStdin => {
                close_std_fd(0);
                Ok(())
            }
            FakeStep::CloseStdout => {
                let _ = io::stdout().flush();
                close_std_fd(1);
                Ok(())
            }
            FakeStep::CloseStderr => {
                close_std_fd(2);
                Ok(())
            }
            FakeStep::ReadStdin => {
                let _ = self.read_all_stdin();
                Ok(())
            }
            FakeStep::RecordInvocation(dir) => self.record(dir).map_err(|error| {
                eprintln!("codexkit-fake-codex: recording the invocation failed: {error}");
                ExitCode::from(EXIT_BAD_SCRIPT)
            }),
            FakeStep::Handshake => {
                self.await_request("initialize")?;
                self.respond(json!({
                    "userAgent": format!("codexkit-fake-codex/{}", crate::fake::DEFAULT_FAKE_VERSION),
                    "codexHome": std::env::var("CODEX_HOME").unwrap_or_else(|_| "/nonexistent/codex-home".into()),
                    "platformFamily": "unix",
                    "platformOs": std::env::consts::OS,
                }))
            }
            FakeStep::AwaitRequest(method) => self.await_request(method),
            FakeStep::Respond(result) => self.respond(expand_json(result)),
            FakeStep::RespondError { code, message } => {
                let id = self.last_request.clone().unwrap_or(Value::Null);
                self.send(&json!({"id": id, "error": {"code": code, "message": expand(message)}}))
            }
            FakeStep::Send(message) => self.send(&expand_json(message)),
            FakeStep::SendRaw(text) => {
                write_out(Stream::Stdout, format!("{}\n", expand(text)).as_bytes())
            }
            FakeStep::SendRequest { id, method, params } => {
                self.send(&json!({"id": id, "method": method, "params": expand_json(params)}))
            }
            FakeStep::AwaitResponse { id, timeout_ms } => {
                let is_response = |m: &Value| m.get("method").is_none() && m.get("id") == Some(id);
                let timeout = Duration::from_millis(*timeout_ms);
                match self.await_message(is_response, Some(timeout)) {
                    Incoming::Message(_) => Ok(()),
                    Incoming::Eof => Err(ExitCode::SUCCESS),
                    Incoming::Other | Incoming::TimedOut => {
                        eprintln!("codexkit-fake-codex: no response to request {id}");
                        Err(ExitCode::from(EXIT_AWAIT_TIMEOUT))
                    }
                }
            }
        }
    }

    fn send(&self, message: &Value) -> StepResult {
        write_out(Stream::Stdout, format!("{message}\n").as_bytes())
    }

    fn respond(&self, result: Value) -> StepResult {
        let id = self.last_request.clone().unwrap_or(Value::Null);
        self.send(&json!({"id": id, "result": result}))
    }

    fn await_request(&mut self, method: &str) -> StepResult {
        let is_request = |m: &Value| {
            m.get("method").and_then(Value::as_str) == Some(method) && m.get("id").is_some()
        };
        match self.await_message(is_request, None) {
            Incoming::Message(message) => {
                self.last_request = message.get("id").cloned();
                Ok(())
            }
            Incoming::Other | Incoming::Eof | Incoming::TimedOut => Err(ExitCode::SUCCESS),
        }
    }

    /// The first message `wanted` accepts: from the backlog of messages earlier steps read but
    /// did not want, else from stdin, where the unwanted ones go to the backlog (so a request
    /// that arrives while a step waits for something else is not lost).
    fn await_message(
        &mut self,
        wanted: impl Fn(&Value) -> bool,
        timeout: Option<Duration>,
    ) -> Incoming {
        if let Some(at) = self.backlog.iter().position(&wanted)
            && let Some(message) = self.backlog.remove(at)
        {
            return Incoming::Message(message);
        }
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        loop {
            let left = deadline.map(|d| d.saturating_duration_since(std::time::Instant::now()));
            match self.next_message(left) {
                Incoming::Message(message) if wanted(&message) => {
                    return Incoming::Message(message);
                }
                Incoming::Message(message) => self.backlog.push_back(message),
                Incoming::Other => {}
                end @ (Incoming::Eof | Incoming::TimedOut) => return end,
            }
        }
    }

    /// After the script: answer every request (those in the backlog first) with an error
    /// until stdin ends.
    fn serve_until_eof(&mut self) {
        loop {
            let message = match self.backlog.pop_front() {
                Some(message) => message,
                None => match self.next_message(None) {
                    Incoming::Message(message) => message,
                    Incoming::Other | Incoming::TimedOut => continue,
                    Incoming::Eof => return,
                },
            };
            if let (Some(id), Some(method)) = (message.get("id"), message.get("method")) {
                let reply = json!({"id": id, "error": {
                    "code": -32601,
                    "message": format!("the fake codex has no script for {method}"),
                }});
                if self.send(&reply).is_err() {
                    return;
                }
            }
        }
    }

    fn stdin_lines(&mut self) -> &std::sync::mpsc::Receiver<Vec<u8>> {
        self.stdin.get_or_insert_with(|| {
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let mut stdin = io::stdin().lock();
                loop {
                    let mut line = Vec::new();
                    match stdin.read_until(b'\n', &mut line) {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {
                            if tx.send(line).is_err() {
                                return;
                            }
                        }
                    }
                }
            });
            rx
        })
    }

    fn next_message(&mut self, timeout: Option<Duration>) -> Incoming {
        let log = self.received_log.clone();
        let rx = self.stdin_lines();
        let line = match timeout {
            Some(timeout) => match rx.recv_timeout(timeout) {
                Ok(line) => line,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => return Incoming::TimedOut,
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return Incoming::Eof,
            },
            None => match rx.recv() {
                Ok(line) => line,
                Err(_) => return Incoming::Eof,
            },
        };
        if let Some(log) = log {
            let appended = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log)
                .and_then(|mut file| file.write_all(&line));
            if let Err(error) = appended {
                eprintln!(
                    "codexkit-fake-codex: logging to {} failed: {error}",
                    log.display()
                );
            }
        }
        match serde_json::from_slice::<Value>(&line) {
            Ok(message @ Value::Object(_)) => Incoming::Message(message),
            _ => Incoming::Other,
        }
    }

    fn read_all_stdin(&mut self) -> io::Result<Vec<u8>> {
        let mut all = Vec::new();
        if let Some(rx) = &self.stdin {
            for line in rx.iter() {
                all.extend(line);
            }
            return Ok(all);
        }
        io::stdin().lock().read_to_end(&mut all)?;
        Ok(all)
    }

    fn record(&mut self, dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let mut argv = Vec::new();
        for arg in &self.args {
            argv.extend_from_slice(arg.to_string_lossy().as_bytes());
            argv.push(0);
        }
        std::fs::write(dir.join("argv"), argv)?;
        let stdin = self.read_all_stdin()?;
        std::fs::write(dir.join("stdin"), stdin)?;
        let mut env = Vec::new();
        for (key, value) in std::env::vars_os() {
            env.extend_from_slice(key.to_string_lossy().as_bytes());
            env.push(b'=');
            env.extend_from_slice(value.to_string_lossy().as_bytes());
            env.push(0);
        }
        std::fs::write(dir.join("env"), env)?;
        let cwd = std::env::current_dir()?;
        std::fs::write(dir.join("cwd"), format!("{}\n", cwd.display()))
    }
}

/// What one read from stdin gave.
enum Incoming {
    /// A JSON object.
    Message(Value),
    /// A line that is not a JSON object.
    Other,
    /// Stdin ended.
    Eof,
    /// [`FakeStep::AwaitResponse`]'s deadline passed.
    TimedOut,
}

fn wait_for_file(path: &Path, timeout: Duration) {
    let deadline = std::time::Instant::now() + timeout;
    while !path.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_bytes_decode_every_encoding() {
        assert_eq!(
            RawBytes::Hex("c3 a9ff".into()).decode(),
            Ok(vec![0xc3, 0xa9, 0xff])
        );
        assert!(RawBytes::Hex("abc".into()).decode().is_err());
        assert!(RawBytes::Hex("zz".into()).decode().is_err());
        assert_eq!(
            RawBytes::Base64("w6k=".into()).decode(),
            Ok(vec![0xc3, 0xa9])
        );
        assert_eq!(RawBytes::Text("é".into()).decode(), Ok(vec![0xc3, 0xa9]));
        assert_eq!(RawBytes::from(vec![0, 255]), RawBytes::Hex("00ff".into()));
    }

    #[test]
    fn templates_expand_environment_and_pid() {
        // PATH is set in any test environment.
        let path = std::env::var("PATH").unwrap_or_default();
        assert_eq!(expand("a {{env:PATH}} b"), format!("a {path} b"));
        assert_eq!(expand("{{env:CODEXKIT_SURELY_UNSET_VAR}}"), "");
        assert_eq!(expand("{{pid}}"), std::process::id().to_string());
        assert_eq!(expand("{{json_env:CODEXKIT_SURELY_UNSET_VAR}}"), "");
        assert_eq!(expand("{{json_env:PATH}}"), path.replace('\\', "\\\\"));
        assert!(expand("{{env}}").contains(&format!("PATH={path}")));
        assert_eq!(expand("{{other}} {{unclosed"), "{{other}} {{unclosed");
        assert_eq!(
            expand_json(&json!({"a": ["{{pid}}", 1]})),
            json!({"a": [std::process::id().to_string(), 1]})
        );
    }

    #[test]
    fn scripts_round_trip_through_json() {
        let script = FakeScript::new()
            .version("0.1.0")
            .ignore_sigterm(true)
            .step(FakeStep::stdout_line("x"))
            .step(FakeStep::StdoutBytes(vec![0xff].into()))
            .step(FakeStep::long_line(10))
            .step(FakeStep::Hang)
            .app_server_step(FakeStep::Handshake)
            .app_server_step(FakeStep::RespondError {
                code: -1,
                message: "m".into(),
            });
        let back: FakeScript = serde_json::from_str(&script.to_json()).unwrap();
        assert_eq!(back, script);
        let minimal: FakeScript =
            serde_json::from_str(r#"{"exec": [{"stdout_line": "hi"}, "hang", {"exit": 3}]}"#)
                .unwrap();
        assert_eq!(minimal.version, "0.171.0");
        assert_eq!(
            minimal.exec,
            [
                FakeStep::stdout_line("hi"),
                FakeStep::Hang,
                FakeStep::Exit(3)
            ]
        );
    }
}
