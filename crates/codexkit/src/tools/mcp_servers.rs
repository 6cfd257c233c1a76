//! Typed options for the user's own MCP servers, rendered as codex's `mcp_servers.<name>`
//! config (a `-c` override on exec, `thread/start.config` on the app-server).

use super::registry::check_name;
use crate::config::{ConfigOverride, ConfigValue};
use crate::{Error, Result};
use std::time::Duration;

/// When codex asks before running a tool of an MCP server (`default_tools_approval_mode`).
///
/// On the exec transport codex's approval policy is always `never`, so a tool call that would
/// need approval fails: use [`McpApprovalMode::Approve`] there (or mark tools read-only).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum McpApprovalMode {
    /// Codex decides from the tool's annotations (read-only tools run without asking).
    Auto,
    /// Ask before every call.
    Prompt,
    /// Ask before calls of tools that may write.
    Writes,
    /// Run every tool without asking.
    Approve,
}

impl McpApprovalMode {
    /// The name codex uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Prompt => "prompt",
            Self::Writes => "writes",
            Self::Approve => "approve",
        }
    }
}

/// How codex reaches an MCP server.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum McpTransport {
    /// A process codex starts, speaking newline-delimited JSON-RPC on stdio.
    Stdio {
        /// The program.
        command: String,
        /// Its arguments.
        args: Vec<String>,
        /// Its environment variables. Codex does not pass its own environment on, so set
        /// what the server needs here. Values appear in codex's command line (exec) or in
        /// `thread/start` (app-server): keep secrets out, or have the server read a file.
        env: Vec<(String, String)>,
    },
    /// A server reached over streamable HTTP.
    Http {
        /// Its URL, e.g. `http://127.0.0.1:8080/mcp`.
        url: String,
        /// The variable of codex's environment holding the bearer token (set it with
        /// [`crate::CodexOptions::with_env`]).
        bearer_token_env_var: Option<String>,
    },
}

/// One MCP server of the user's, attached to a thread with
/// [`crate::ThreadOptions::with_mcp_server`].
///
/// ```
/// use codexkit::tools::{McpApprovalMode, McpServer};
/// let calc = McpServer::stdio("calc", "/usr/local/bin/calc-mcp")
///     .with_args(["--verbose"])
///     .with_env("CALC_MODE", "fast")
///     .with_approval(McpApprovalMode::Approve)
///     .with_required(true);
/// ```
///
/// The model calls its tool `add` as namespace `mcp__calc`, name `add`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpServer {
    /// The server's name: the key under `mcp_servers` (ASCII letters, digits, `_`, `-`).
    pub name: String,
    /// How codex reaches it.
    pub transport: McpTransport,
    /// When codex asks before running its tools (codex's default when `None`).
    pub approval: Option<McpApprovalMode>,
    /// Whether the turn fails when the server does not start (`required`); otherwise codex
    /// runs without its tools and says nothing.
    pub required: bool,
    /// How long codex waits for it to start.
    pub startup_timeout: Option<Duration>,
    /// How long codex waits for one tool call.
    pub tool_timeout: Option<Duration>,
}

impl McpServer {
    fn new(name: impl Into<String>, transport: McpTransport) -> Self {
        Self {
            name: name.into(),
            transport,
            approval: None,
            required: false,
            startup_timeout: None,
            tool_timeout: None,
        }
    }

    /// A server codex starts as `command`.
    pub fn stdio(name: impl Into<String>, command: impl Into<String>) -> Self {
        Self::new(
            name,
            McpTransport::Stdio {
                command: command.into(),
                args: Vec::new(),
                env: Vec::new(),
            },
        )
    }

    /// A server at `url` (streamable HTTP).
    pub fn http(name: impl Into<String>, url: impl Into<String>) -> Self {
        Self::new(
            name,
            McpTransport::Http {
                url: url.into(),
                bearer_token_env_var: None,
            },
        )
    }

    /// Adds arguments (stdio servers; ignored for HTTP).
    pub fn with_args<I, S>(mut self, new_args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        if let McpTransport::Stdio { args, .. } = &mut self.transport {
            args.extend(new_args.into_iter().map(Into::into));
        }
        self
    }

    /// Sets an environment variable of the server process (stdio servers; ignored for HTTP).
    pub fn with_env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        if let McpTransport::Stdio { env, .. } = &mut self.transport {
            env.push((key.into(), value.into()));
        }
        self
    }

    /// Names the variable of codex's environment that holds the bearer token (HTTP servers;
    /// ignored for stdio).
    pub fn with_bearer_token_env_var(mut self, var: impl Into<String>) -> Self {
        if let McpTransport::Http {
            bearer_token_env_var,
            ..
        } = &mut self.transport
        {
            *bearer_token_env_var = Some(var.into());
        }
        self
    }

    /// Sets the approval mode of its tools.
    pub fn with_approval(mut self, mode: McpApprovalMode) -> Self {
        self.approval = Some(mode);
        self
    }

    /// Makes a server that fails to start fail the turn.
    pub fn with_required(mut self, required: bool) -> Self {
        self.required = required;
        self
    }

    /// Sets how long codex waits for it to start (whole seconds, at least 1).
    pub fn with_startup_timeout(mut self, timeout: Duration) -> Self {
        self.startup_timeout = Some(timeout);
        self
    }

    /// Sets how long codex waits for one tool call (whole seconds, at least 1).
    pub fn with_tool_timeout(mut self, timeout: Duration) -> Self {
        self.tool_timeout = Some(timeout);
        self
    }

    /// The `mcp_servers.<name>` override for this server.
    pub fn to_config_override(&self) -> Result<ConfigOverride> {
        check_name(&self.name, "MCP server")?;
        let mut table: Vec<(String, ConfigValue)> = Vec::new();
        match &self.transport {
            McpTransport::Stdio { command, args, env } => {
                if command.trim().is_empty() {
                    return Err(Error::invalid(
                        format!("MCP server {}", self.name),
                        "the command is empty",
                    ));
                }
                table.push(("command".into(), command.as_str().into()));
                if !args.is_empty() {
                    table.push((
                        "args".into(),
                        ConfigValue::Array(args.iter().map(|a| a.as_str().into()).collect()),
                    ));
                }
                if !env.is_empty() {
                    table.push((
                        "env".into(),
                        ConfigValue::Table(
                            env.iter()
                                .map(|(k, v)| (k.clone(), v.as_str().into()))
                                .collect(),
                        ),
                    ));
                }
            }
            McpTransport::Http {
                url,
                bearer_token_env_var,
            } => {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(Error::invalid(
                        format!("MCP server {}", self.name),
                        format!("{url:?} is not an http(s) URL"),
                    ));
                }
                table.push(("url".into(), url.as_str().into()));
                if let Some(var) = bearer_token_env_var {
                    table.push(("bearer_token_env_var".into(), var.as_str().into()));
                }
            }
        }
        if let Some(mode) = self.approval {
            table.push(("default_tools_approval_mode".into(), mode.as_str().into()));
        }
        if self.required {
            table.push(("required".into(), true.into()));
        }
        for (key, timeout) in [
            ("startup_timeout_sec", self.startup_timeout),
            ("tool_timeout_sec", self.tool_timeout),
        ] {
            if let Some(timeout) = timeout {
                let secs = timeout.as_secs().max(1);
                table.push((
                    key.into(),
                    ConfigValue::Integer(i64::try_from(secs).unwrap_or(i64::MAX)),
                ));
            }
        }
        ConfigOverride::new(
            format!("mcp_servers.{}", self.name),
            ConfigValue::Table(table),
        )
    }
}

/// The overrides for a thread's MCP servers; fails on an invalid server or a repeated name.
pub(crate) fn config_overrides(servers: &[McpServer]) -> Result<Vec<ConfigOverride>> {
    let mut seen = std::collections::HashSet::new();
    servers
        .iter()
        .map(|server| {
            if !seen.insert(server.name.as_str()) {
                return Err(Error::invalid(
                    "MCP servers",
                    format!("two servers are named {}", server.name),
                ));
            }
            server.to_config_override()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_render_as_codex_config() {
        let stdio = McpServer::stdio("calc", "/bin/calc")
            .with_args(["-v", "two words"])
            .with_env("MODE", "x")
            .with_approval(McpApprovalMode::Approve)
            .with_required(true)
            .with_tool_timeout(Duration::from_secs(90));
        assert_eq!(
            stdio.to_config_override().unwrap().to_arg(),
            r#"mcp_servers.calc={command = "/bin/calc", args = ["-v", "two words"], env = {MODE = "x"}, default_tools_approval_mode = "approve", required = true, tool_timeout_sec = 90}"#
        );
        let http = McpServer::http("web", "http://127.0.0.1:9/mcp")
            .with_bearer_token_env_var("WEB_TOKEN")
            .with_approval(McpApprovalMode::Writes);
        assert_eq!(
            http.to_config_override().unwrap().to_arg(),
            r#"mcp_servers.web={url = "http://127.0.0.1:9/mcp", bearer_token_env_var = "WEB_TOKEN", default_tools_approval_mode = "writes"}"#
        );
    }

    #[test]
    fn bad_servers_are_refused() {
        assert!(McpServer::stdio("a.b", "x").to_config_override().is_err());
        assert!(McpServer::stdio("a", " ").to_config_override().is_err());
        assert!(
            McpServer::http("a", "ftp://x")
                .to_config_override()
                .is_err()
        );
        let twice = [McpServer::stdio("a", "x"), McpServer::stdio("a", "y")];
        assert!(config_overrides(&twice).is_err());
    }
}
