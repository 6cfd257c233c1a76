//! The one error type of the codexkit runtime.

use crate::binary::DiscoveryAttempt;
use std::path::PathBuf;
use std::time::Duration;

/// Result alias for codexkit operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while finding, installing or driving codex.
///
/// Messages are short and say what to do next. Text that came from the child process (stderr,
/// error messages) has secrets redacted before it is stored here.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No codex binary was found in any of the places codexkit looks.
    #[error(
        "codex binary not found; tried: {}. Run `codexkit install`, or set CODEXKIT_CODEX_PATH to a codex binary",
        crate::binary::describe_attempts(attempts)
    )]
    BinaryNotFound {
        /// Each place looked at, in order, with what was found there.
        attempts: Vec<DiscoveryAttempt>,
    },
    /// A codex binary was found but cannot be used.
    #[error("codex at {} is unusable: {reason}", path.display())]
    BinaryUnusable {
        /// The binary.
        path: PathBuf,
        /// Why it cannot be used.
        reason: String,
    },
    /// Installing the pinned codex failed.
    #[error("installing codex {version} failed: {reason}. {fix}")]
    Install {
        /// The version being installed.
        version: String,
        /// What went wrong.
        reason: String,
        /// What the user can do about it.
        fix: String,
    },
    /// The codex process could not be started.
    #[error("could not start {}: {source}", program.display())]
    Spawn {
        /// The program that was run.
        program: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// codex exited before reporting the end of the turn.
    #[error("codex exited ({}) without finishing the turn{}", exit_description(*code, *signal), stderr_suffix(stderr_tail))]
    ProcessExited {
        /// The exit code, when it exited normally.
        code: Option<i32>,
        /// The signal that ended it, on Unix.
        signal: Option<i32>,
        /// The last part of its stderr, secrets redacted.
        stderr_tail: String,
    },
    /// The turn ended with `turn.failed`.
    #[error("turn failed: {message}")]
    TurnFailed {
        /// Codex's message.
        message: String,
    },
    /// codex printed something that breaks the protocol.
    #[error("protocol error: {message}{}", excerpt_suffix(excerpt))]
    Protocol {
        /// What was wrong.
        message: String,
        /// The start of the offending line.
        excerpt: String,
    },
    /// codex printed a line longer than the configured limit.
    #[error(
        "codex printed a line longer than {limit} bytes; raise the limit with `max_line_bytes` if this output is expected"
    )]
    LineTooLong {
        /// The limit in bytes.
        limit: usize,
    },
    /// The turn was cancelled by the caller.
    #[error("the turn was cancelled")]
    Cancelled,
    /// A deadline passed.
    #[error("{deadline} deadline of {after:?} exceeded")]
    DeadlineExceeded {
        /// Which deadline (`turn`, `idle`, `startup`, …).
        deadline: &'static str,
        /// Its length.
        after: Duration,
    },
    /// An option has a value codexkit cannot use.
    #[error("invalid {option}: {reason}")]
    InvalidOption {
        /// The option's name.
        option: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The connection to the app-server closed (it exited, or the socket or pipe closed); every
    /// pending request and open stream fails with this.
    #[error("the codex app-server connection closed ({}){}", exit_description(*code, *signal), stderr_suffix(stderr_tail))]
    ConnectionClosed {
        /// The app-server's exit code, when it was a child that exited.
        code: Option<i32>,
        /// The signal that ended it, on Unix.
        signal: Option<i32>,
        /// The last part of its stderr (or why the socket closed), secrets redacted.
        stderr_tail: String,
    },
    /// The app-server answered a request with an error.
    #[error("{method} failed: {message} (code {code})")]
    Rpc {
        /// The request method.
        method: String,
        /// The JSON-RPC error code.
        code: i64,
        /// The server's message.
        message: String,
    },
    /// The operation is not available on this transport.
    #[error("{operation} is not supported by the {transport} transport")]
    Unsupported {
        /// What was asked.
        operation: &'static str,
        /// The transport in use.
        transport: &'static str,
    },
    /// A host tool cannot be registered or served: a bad name, no handler, a schema that is
    /// not a valid JSON Schema object, or a name clash between MCP servers.
    #[error("invalid tool {name}: {reason}")]
    InvalidTool {
        /// The tool (or namespace, or server) name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A tool with this name is already registered in this namespace of the tool set.
    #[error("a tool named {} is already registered; deregister it first", qualified_tool(namespace.as_deref(), name))]
    DuplicateTool {
        /// The namespace, `None` for the top level.
        namespace: Option<String>,
        /// The tool name.
        name: String,
    },
    /// The app-server connection was initialized without the experimental API, which this
    /// feature needs (codex refuses `dynamicTools` without it).
    #[error(
        "{feature} need codex's experimental app-server API, but this client's connection was started without it; create the client with CodexOptions::with_experimental_api(true)"
    )]
    ExperimentalApiRequired {
        /// What needs it.
        feature: &'static str,
    },
    /// A file operation failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done (`reading`, `creating`, …).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The final answer does not match the turn's output schema (it is not JSON, fails
    /// validation, or does not decode into the requested type).
    #[error("the answer does not match the output schema: {}", errors.join("; "))]
    SchemaMismatch {
        /// The answer as the model gave it.
        raw: String,
        /// What is wrong with it, one entry per problem (`/json/pointer: message`).
        errors: Vec<String>,
    },
    /// An output schema breaks the Responses API strict-mode rules (or is not a schema at all);
    /// found before any process started.
    #[error(
        "the output schema is not usable in strict mode at {}: {reason}",
        pointer_or_root(pointer)
    )]
    InvalidSchema {
        /// JSON pointer of the offending schema node (empty for the root).
        pointer: String,
        /// What is wrong there.
        reason: String,
    },
    /// Staging an attachment would take the store past its quota; nothing was kept.
    #[error(
        "the attachment store is full: {used} of {limit} bytes staged, {requested} more requested; run cleanup or raise the quota"
    )]
    QuotaExceeded {
        /// The quota (maximum staged bytes).
        limit: u64,
        /// Bytes staged (and being staged) when the request was refused.
        used: u64,
        /// Bytes the refused request needed (so far, for a stream of unknown length).
        requested: u64,
    },
}

fn pointer_or_root(pointer: &str) -> String {
    if pointer.is_empty() {
        "the root".to_owned()
    } else {
        format!("{pointer:?}")
    }
}

impl Error {
    /// Whether running the same turn again may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::DeadlineExceeded { .. } | Self::ProcessExited { .. }
        )
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn invalid(option: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidOption {
            option: option.into(),
            reason: reason.into(),
        }
    }
}

/// The app-server's "overloaded, try again" error code.
pub(crate) const OVERLOADED: i64 = -32001;

fn exit_description(code: Option<i32>, signal: Option<i32>) -> String {
    match (code, signal) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => "no exit status".to_owned(),
    }
}

fn stderr_suffix(tail: &str) -> String {
    let tail = tail.trim();
    if tail.is_empty() {
        String::new()
    } else {
        format!("; stderr: {tail}")
    }
}

fn qualified_tool(namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(namespace) => format!("{namespace}/{name}"),
        None => name.to_owned(),
    }
}

fn excerpt_suffix(excerpt: &str) -> String {
    if excerpt.is_empty() {
        String::new()
    } else {
        format!(" (line starts: {excerpt:?})")
    }
}
