//! Options for the codex process, for threads and for single turns.

use crate::config::{ConfigOverride, ConfigValue};
use crate::{Error, Result};
use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Default limit for one line of codex output: generous, but bounded.
pub const DEFAULT_MAX_LINE_BYTES: usize = 256 * 1024 * 1024;
/// Default amount of stderr kept for error messages.
pub const DEFAULT_STDERR_TAIL_BYTES: usize = 64 * 1024;
/// Default time between SIGTERM and SIGKILL on cancel.
pub const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(2);
/// Default time codex gets to start (first output line, or `initialize` answered).
pub const DEFAULT_STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// Default deadline for one app-server request.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Default time codex gets to exit after it closed stdout, before it is killed.
pub const DEFAULT_EXIT_GRACE: Duration = Duration::from_secs(5);

/// A secret string: never shown by `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself; pass it on, never print it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<&str> for SecretString {
    fn from(secret: &str) -> Self {
        Self::new(secret)
    }
}

impl From<String> for SecretString {
    fn from(secret: String) -> Self {
        Self(secret)
    }
}

/// Options for the codex process: which binary, its environment, and limits.
///
/// `Debug` shows environment values only for variables whose names do not look secret.
#[non_exhaustive]
#[derive(Clone)]
pub struct CodexOptions {
    /// The codex binary to run; `None` discovers it (see [`crate::binary::discover`]).
    pub codex_path: Option<PathBuf>,
    /// API key, passed to codex as `CODEX_API_KEY`.
    pub api_key: Option<SecretString>,
    /// Variables set in codex's environment on top of the inherited one.
    pub env: Vec<(OsString, OsString)>,
    /// Variables removed from codex's environment. `PATH` can't be removed.
    pub env_remove: Vec<OsString>,
    /// Whether codex inherits this process's environment (default `true`). Without it, codex
    /// gets only [`MINIMAL_ENV`] from this process, plus `env`.
    pub inherit_env: bool,
    /// Where codex keeps its state (`CODEX_HOME`).
    pub codex_home: CodexHome,
    /// `-c` overrides applied to every thread.
    pub config: Vec<ConfigOverride>,
    /// Longest accepted line of codex output; a longer one fails the turn.
    pub max_line_bytes: usize,
    /// How much of codex's stderr is kept for error messages.
    pub stderr_tail_bytes: usize,
    /// How long codex gets to exit after the end of a turn (its terminal event, or closing its
    /// output) before it is stopped.
    pub exit_grace: Duration,
    /// How long codex gets between SIGTERM and SIGKILL when a turn is cancelled.
    pub kill_grace: Duration,
    /// How long codex may take to print its first line (exec) or answer `initialize`
    /// (app-server).
    pub startup_timeout: Duration,
    /// How turns reach codex.
    pub transport: Transport,
    /// Opt in to codex's experimental app-server API (needed for dynamic tools).
    pub experimental_api: bool,
    /// Deadline for one app-server request.
    pub request_timeout: Duration,
    /// Where attachments given as bytes or files are staged; `None` uses
    /// [`AttachmentStore::shared`](crate::attachments::AttachmentStore::shared).
    pub attachment_store: Option<crate::attachments::AttachmentStore>,
    /// Sampling of item, tool and approval spans and of deltas (see [`crate::telemetry`]).
    pub telemetry: crate::telemetry::TelemetryOptions,
}

/// Variables passed on even when the environment is not inherited: what codex and the
/// commands it runs need to work at all.
pub const MINIMAL_ENV: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TERM",
    "TMPDIR",
    "CODEX_HOME",
    "SYSTEMROOT",
    "USERPROFILE",
    "APPDATA",
    "LOCALAPPDATA",
    "TEMP",
    "TMP",
];

/// Where codex keeps its state (`CODEX_HOME`: config, credentials, sessions, SQLite state).
#[non_exhaustive]
#[derive(Debug, Clone, Default)]
pub enum CodexHome {
    /// Whatever this process's environment says (`CODEX_HOME`, else codex's `~/.codex`).
    #[default]
    Inherit,
    /// This directory; `~` is expanded and the directory created if missing.
    Dir(PathBuf),
    /// A fresh directory of this client's own, with `auth.json` and `config.toml` copied from
    /// the usual home, removed when the last clone of the options is dropped. Many processes on
    /// one home contend for its SQLite state; give each busy client its own.
    Isolated(IsolatedHome),
}

/// The directory behind [`CodexHome::Isolated`], created on first use.
#[derive(Debug, Clone, Default)]
pub struct IsolatedHome {
    dir: std::sync::Arc<std::sync::OnceLock<std::sync::Arc<tempfile::TempDir>>>,
}

impl CodexHome {
    /// A fresh isolated home.
    pub fn isolated() -> Self {
        Self::Isolated(IsolatedHome::default())
    }

    /// The directory codex should use, created if needed; `None` to inherit.
    pub(crate) fn resolve(&self, inherited: Option<&std::ffi::OsStr>) -> Result<Option<PathBuf>> {
        match self {
            Self::Inherit => Ok(None),
            Self::Dir(dir) => {
                let dir = expand_tilde(dir)?;
                std::fs::create_dir_all(&dir).map_err(|e| Error::Io {
                    action: "creating CODEX_HOME",
                    path: dir.clone(),
                    source: e,
                })?;
                Ok(Some(dir))
            }
            Self::Isolated(isolated) => {
                if let Some(dir) = isolated.dir.get() {
                    return Ok(Some(dir.path().to_path_buf()));
                }
                let dir = tempfile::Builder::new()
                    .prefix("codexkit-home-")
                    .tempdir()
                    .map_err(|e| {
                        Error::io(
                            "creating an isolated CODEX_HOME in",
                            std::env::temp_dir(),
                            e,
                        )
                    })?;
                let base = match inherited {
                    Some(home) => Some(PathBuf::from(home)),
                    None => dirs::home_dir().map(|h| h.join(".codex")),
                };
                if let Some(base) = base {
                    for name in ["auth.json", "config.toml"] {
                        let from = base.join(name);
                        if from.is_file() {
                            std::fs::copy(&from, dir.path().join(name))
                                .map_err(|e| Error::io("copying", from.clone(), e))?;
                        }
                    }
                }
                let dir = isolated.dir.get_or_init(|| std::sync::Arc::new(dir));
                Ok(Some(dir.path().to_path_buf()))
            }
        }
    }
}

fn expand_tilde(path: &std::path::Path) -> Result<PathBuf> {
    let Ok(rest) = path.strip_prefix("~") else {
        return Ok(path.to_path_buf());
    };
    match dirs::home_dir() {
        Some(home) => Ok(home.join(rest)),
        None => Err(Error::invalid(
            "CODEX_HOME",
            format!(
                "{} starts with ~ but the home directory is unknown",
                path.display()
            ),
        )),
    }
}

/// How codexkit talks to codex.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Transport {
    /// One `codex exec --json` process per turn (the default).
    #[default]
    Exec,
    /// One `codex app-server` process over stdio, shared by every thread of the client:
    /// streaming deltas, approvals, interrupt and steer.
    AppServer,
    /// An app-server already running elsewhere, reached over WebSocket.
    Remote(RemoteAppServer),
}

impl Transport {
    /// A short name for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Exec => "exec",
            Self::AppServer => "app-server",
            Self::Remote(_) => "remote app-server",
        }
    }
}

/// Where a remote app-server listens and how to authenticate.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteAppServer {
    /// `ws://host:port` (or `wss://`).
    pub url: String,
    /// Bearer token for servers started with `--ws-auth capability-token`.
    pub token: Option<SecretString>,
}

impl RemoteAppServer {
    /// A server at `url`, without authentication.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            token: None,
        }
    }

    /// Sends `Authorization: Bearer <token>`.
    pub fn with_token(mut self, token: impl Into<SecretString>) -> Self {
        self.token = Some(token.into());
        self
    }
}

impl fmt::Debug for CodexOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let env: Vec<(String, String)> = self
            .env
            .iter()
            .map(|(k, v)| {
                let name = k.to_string_lossy().into_owned();
                let value = if crate::redact::is_secret_name(&name) {
                    "[redacted]".to_owned()
                } else {
                    v.to_string_lossy().into_owned()
                };
                (name, value)
            })
            .collect();
        f.debug_struct("CodexOptions")
            .field("codex_path", &self.codex_path)
            .field("api_key", &self.api_key)
            .field("env", &env)
            .field("env_remove", &self.env_remove)
            .field("inherit_env", &self.inherit_env)
            .field("codex_home", &self.codex_home)
            .field("config", &self.config)
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

impl Default for CodexOptions {
    fn default() -> Self {
        Self {
            codex_path: None,
            api_key: None,
            env: Vec::new(),
            env_remove: Vec::new(),
            inherit_env: true,
            codex_home: CodexHome::Inherit,
            config: Vec::new(),
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            stderr_tail_bytes: DEFAULT_STDERR_TAIL_BYTES,
            exit_grace: DEFAULT_EXIT_GRACE,
            kill_grace: DEFAULT_KILL_GRACE,
            startup_timeout: DEFAULT_STARTUP_TIMEOUT,
            transport: Transport::Exec,
            experimental_api: false,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            attachment_store: None,
            telemetry: crate::telemetry::TelemetryOptions::default(),
        }
    }
}

impl CodexOptions {
    /// Sets what telemetry is kept beyond thread and turn spans (see [`crate::telemetry`]).
    pub fn with_telemetry(mut self, telemetry: crate::telemetry::TelemetryOptions) -> Self {
        self.telemetry = telemetry;
        self
    }

    /// Uses this codex binary instead of discovering one.
    pub fn with_codex_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.codex_path = Some(path.into());
        self
    }

    /// Passes this API key to codex (as `CODEX_API_KEY`).
    pub fn with_api_key(mut self, key: impl Into<SecretString>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Sets a variable in codex's environment.
    pub fn with_env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Sets several variables in codex's environment.
    pub fn with_envs<K, V>(mut self, vars: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<OsString>,
        V: Into<OsString>,
    {
        for (key, value) in vars {
            self.env.push((key.into(), value.into()));
        }
        self
    }

    /// Adds `-c key=value` overrides whose values are already TOML text (such as
    /// `codexkit_testkit::HermeticCodex::config_overrides`).
    pub fn with_config_literals<K, V>(
        mut self,
        overrides: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self>
    where
        K: AsRef<str>,
        V: Into<String>,
    {
        for (key, value) in overrides {
            self.config.push(ConfigOverride::new(
                key.as_ref(),
                ConfigValue::Literal(value.into()),
            )?);
        }
        Ok(self)
    }

    /// Removes a variable from codex's environment.
    pub fn without_env(mut self, key: impl Into<OsString>) -> Self {
        self.env_remove.push(key.into());
        self
    }

    /// Whether codex inherits this process's environment.
    pub fn with_inherit_env(mut self, inherit: bool) -> Self {
        self.inherit_env = inherit;
        self
    }

    /// Sets where codex keeps its state.
    pub fn with_codex_home(mut self, home: CodexHome) -> Self {
        self.codex_home = home;
        self
    }

    /// Adds a `-c key=value` override for every thread.
    pub fn with_config(mut self, key: &str, value: impl Into<ConfigValue>) -> Result<Self> {
        self.config.push(ConfigOverride::new(key, value)?);
        Ok(self)
    }

    /// Makes codex export its own OpenTelemetry traces over OTLP/HTTP (JSON) to `endpoint`
    /// (for example `http://127.0.0.1:4318/v1/traces`): adds
    /// `-c otel.trace_exporter={otlp-http={endpoint="…", protocol="json"}}`.
    ///
    /// codex forwards the W3C trace context codexkit passes (`turn/start`'s `trace` field on
    /// the app-server, `TRACEPARENT`/`TRACESTATE` for exec; with the `otel` feature) only
    /// when its exporter is configured, so this joins codex's spans to the caller's trace.
    pub fn with_codex_otel_endpoint(self, endpoint: &str) -> Result<Self> {
        let endpoint = serde_json::to_string(endpoint)
            .map_err(|e| crate::Error::invalid("otel endpoint", e.to_string()))?;
        self.with_config_literals([(
            "otel.trace_exporter",
            format!("{{otlp-http={{endpoint={endpoint}, protocol=\"json\"}}}}"),
        )])
    }

    /// Sets how long codex may take to exit after the end of a turn (exec) before it is
    /// stopped.
    pub fn with_exit_grace(mut self, grace: Duration) -> Self {
        self.exit_grace = grace;
        self
    }

    /// Sets the time between SIGTERM and SIGKILL when a turn is cancelled.
    pub fn with_kill_grace(mut self, grace: Duration) -> Self {
        self.kill_grace = grace;
        self
    }

    /// Sets how long codex may take to start.
    pub fn with_startup_timeout(mut self, timeout: Duration) -> Self {
        self.startup_timeout = timeout;
        self
    }

    /// Chooses the transport.
    pub fn with_transport(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }

    /// Opts in to codex's experimental app-server API.
    pub fn with_experimental_api(mut self, enabled: bool) -> Self {
        self.experimental_api = enabled;
        self
    }

    /// Sets the deadline for one app-server request.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets the longest accepted output line.
    pub fn with_max_line_bytes(mut self, limit: usize) -> Self {
        self.max_line_bytes = limit;
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.max_line_bytes == 0 {
            return Err(Error::invalid("max_line_bytes", "must be at least 1"));
        }
        Ok(())
    }
}

/// How commands the agent runs are sandboxed.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxMode {
    /// Commands can read but not write (codex's default).
    ReadOnly,
    /// Commands can write inside the working directory and additional directories.
    WorkspaceWrite,
    /// No sandbox at all.
    DangerFullAccess,
}

impl SandboxMode {
    /// The name codex uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReadOnly => "read-only",
            Self::WorkspaceWrite => "workspace-write",
            Self::DangerFullAccess => "danger-full-access",
        }
    }
}

impl std::str::FromStr for SandboxMode {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "read-only" => Ok(Self::ReadOnly),
            "workspace-write" => Ok(Self::WorkspaceWrite),
            "danger-full-access" => Ok(Self::DangerFullAccess),
            other => Err(Error::invalid(
                "sandbox mode",
                format!("{other:?}; expected read-only, workspace-write or danger-full-access"),
            )),
        }
    }
}

/// How hard the model reasons.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasoningEffort {
    /// Minimal reasoning.
    Minimal,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Extra high.
    XHigh,
}

impl ReasoningEffort {
    /// The name codex uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Minimal => "minimal",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::XHigh => "xhigh",
        }
    }
}

/// Whether and how the agent may search the web.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebSearchMode {
    /// No web search.
    Disabled,
    /// Cached results only.
    Cached,
    /// Live search.
    Live,
}

impl WebSearchMode {
    /// The name codex uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disabled => "disabled",
            Self::Cached => "cached",
            Self::Live => "live",
        }
    }
}

/// Options of a thread; they apply to each of its turns.
#[non_exhaustive]
#[derive(Debug, Clone, Default)]
pub struct ThreadOptions {
    /// Model slug (`-m`).
    pub model: Option<String>,
    /// Sandbox mode (`-s`).
    pub sandbox: Option<SandboxMode>,
    /// The agent's working directory (`-C`); codex runs there too.
    pub working_directory: Option<PathBuf>,
    /// More writable directories (`--add-dir`).
    pub additional_directories: Vec<PathBuf>,
    /// Allow running outside a Git repository (`--skip-git-repo-check`).
    pub skip_git_repo_check: bool,
    /// Reasoning effort (`-c model_reasoning_effort=…`).
    pub reasoning_effort: Option<ReasoningEffort>,
    /// Network access for sandboxed commands (`-c sandbox_workspace_write.network_access=…`).
    pub network_access: Option<bool>,
    /// Web search mode (`-c web_search=…`).
    pub web_search: Option<WebSearchMode>,
    /// Config profile (`-p`).
    pub profile: Option<String>,
    /// Do not persist the session (`--ephemeral`); such a thread can't be resumed.
    pub ephemeral: bool,
    /// More `-c` overrides, after the process-wide ones.
    pub config: Vec<ConfigOverride>,
    /// When codex asks before acting (app-server; exec always runs with `never`).
    pub approval_mode: Option<ApprovalMode>,
    /// Who answers approval requests, and their deadline (app-server). Declines by default.
    pub approver: crate::approvals::Approver,
    /// Functions of this process the agent can call (see [`crate::tools`]).
    pub tools: Option<crate::tools::ToolSet>,
    /// The user's own MCP servers for this thread (`mcp_servers.<name>` config).
    pub mcp_servers: Vec<crate::tools::McpServer>,
}

/// When codex asks for approval (codex's `approval_policy`).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalMode {
    /// Never ask; what the sandbox forbids fails.
    Never,
    /// The model asks when it wants to leave the sandbox.
    OnRequest,
    /// Ask before anything not known to be safe.
    Untrusted,
}

impl ApprovalMode {
    /// The name codex uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Never => "never",
            Self::OnRequest => "on-request",
            Self::Untrusted => "untrusted",
        }
    }
}

impl std::str::FromStr for ApprovalMode {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "never" => Ok(Self::Never),
            "on-request" => Ok(Self::OnRequest),
            "untrusted" => Ok(Self::Untrusted),
            other => Err(Error::invalid(
                "approval mode",
                format!("{other:?}; expected never, on-request or untrusted"),
            )),
        }
    }
}

impl ThreadOptions {
    /// Sets the model.
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// Sets the sandbox mode.
    pub fn with_sandbox(mut self, mode: SandboxMode) -> Self {
        self.sandbox = Some(mode);
        self
    }

    /// Sets the working directory.
    pub fn with_working_directory(mut self, dir: impl Into<PathBuf>) -> Self {
        self.working_directory = Some(dir.into());
        self
    }

    /// Adds a writable directory.
    pub fn with_additional_directory(mut self, dir: impl Into<PathBuf>) -> Self {
        self.additional_directories.push(dir.into());
        self
    }

    /// Allows running outside a Git repository.
    pub fn with_skip_git_repo_check(mut self, skip: bool) -> Self {
        self.skip_git_repo_check = skip;
        self
    }

    /// Sets the reasoning effort.
    pub fn with_reasoning_effort(mut self, effort: ReasoningEffort) -> Self {
        self.reasoning_effort = Some(effort);
        self
    }

    /// Allows or forbids network access for sandboxed commands.
    pub fn with_network_access(mut self, allowed: bool) -> Self {
        self.network_access = Some(allowed);
        self
    }

    /// Sets the web search mode.
    pub fn with_web_search(mut self, mode: WebSearchMode) -> Self {
        self.web_search = Some(mode);
        self
    }

    /// Uses a config profile.
    pub fn with_profile(mut self, profile: impl Into<String>) -> Self {
        self.profile = Some(profile.into());
        self
    }

    /// Does not persist the session.
    pub fn with_ephemeral(mut self, ephemeral: bool) -> Self {
        self.ephemeral = ephemeral;
        self
    }

    /// Adds a `-c key=value` override.
    pub fn with_config(mut self, key: &str, value: impl Into<ConfigValue>) -> Result<Self> {
        self.config.push(ConfigOverride::new(key, value)?);
        Ok(self)
    }

    /// Sets when codex asks for approval (app-server).
    pub fn with_approval_mode(mut self, mode: ApprovalMode) -> Self {
        self.approval_mode = Some(mode);
        self
    }

    /// Sets who answers approval requests (app-server).
    pub fn with_approver(mut self, approver: crate::approvals::Approver) -> Self {
        self.approver = approver;
        self
    }

    /// Adds an already-built override.
    pub fn with_config_override(mut self, config: ConfigOverride) -> Self {
        self.config.push(config);
        self
    }

    /// Lets the agent call these host tools (see [`crate::tools`]). On the app-server
    /// transport this needs codex's experimental API, which codexkit turns on when it starts
    /// the connection for such a thread.
    pub fn with_tools(mut self, tools: crate::tools::ToolSet) -> Self {
        self.tools = Some(tools);
        self
    }

    /// Attaches one of the user's MCP servers to the thread.
    pub fn with_mcp_server(mut self, server: crate::tools::McpServer) -> Self {
        self.mcp_servers.push(server);
        self
    }
}

/// Options of one turn.
#[non_exhaustive]
#[derive(Debug, Clone, Default)]
pub struct TurnOptions {
    /// A JSON Schema the final answer must follow (`--output-schema`).
    pub output_schema: Option<serde_json::Value>,
    /// The whole turn must end within this time; then it is interrupted (app-server) or
    /// killed (exec) and the stream ends with [`Error::DeadlineExceeded`].
    pub timeout: Option<Duration>,
    /// Longest time without any event; same consequence as `timeout`.
    pub idle_timeout: Option<Duration>,
}

impl TurnOptions {
    /// Ends the turn when it runs longer than this.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Ends the turn after this long without an event.
    pub fn with_idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = Some(timeout);
        self
    }

    /// Asks for a final answer following this JSON Schema.
    pub fn with_output_schema(mut self, schema: serde_json::Value) -> Self {
        self.output_schema = Some(schema);
        self
    }
}

/// What the user says in a turn: text, images and other attachments.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Input {
    /// The prompt text.
    pub text: String,
    /// Image files attached to the prompt.
    pub images: Vec<PathBuf>,
    /// Images from bytes or URLs, and files (see [`crate::attachments::InputAttachment`]).
    pub attachments: Vec<crate::attachments::InputAttachment>,
}

impl Input {
    /// A text prompt.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            images: Vec::new(),
            attachments: Vec::new(),
        }
    }

    /// Attaches an image file.
    pub fn with_image(mut self, path: impl Into<PathBuf>) -> Self {
        self.images.push(path.into());
        self
    }
}

impl From<&str> for Input {
    fn from(text: &str) -> Self {
        Self::text(text)
    }
}

impl From<String> for Input {
    fn from(text: String) -> Self {
        Self::text(text)
    }
}

impl From<&String> for Input {
    fn from(text: &String) -> Self {
        Self::text(text.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_secrets() {
        let options = CodexOptions::default()
            .with_api_key("sk-top-secret-1")
            .with_env("OPENAI_API_KEY", "sk-top-secret-2")
            .with_env("VISIBLE", "plain-value");
        let shown = format!("{options:?}");
        assert!(!shown.contains("sk-top-secret"), "{shown}");
        assert!(shown.contains("plain-value"), "{shown}");
    }
}
