//! A tiny stdio MCP server for tests: a `/bin/sh` script that speaks newline-delimited
//! JSON-RPC the way codex 0.171 talks to stdio MCP servers.
//!
//! ```no_run
//! # fn demo(dir: &std::path::Path) -> std::io::Result<()> {
//! use codexkit_testkit::StdioMcpServer;
//! let server = StdioMcpServer::new().record_to(dir.join("mcp.log")).write_to(dir)?;
//! // codex config: mcp_servers.calc={command="<server>", default_tools_approval_mode="approve"}
//! // The model calls {"type":"function_call","namespace":"mcp__calc","name":"add",
//! //                  "arguments":"{\"a\":2,\"b\":3}"} and gets {"sum":5}.
//! # let _ = server; Ok(()) }
//! ```
//!
//! Tools:
//! * `add(a: integer, b: integer)`: returns the text `{"sum":N}` with `structuredContent`
//!   `{"sum":N}`; arguments that are not integers give an `isError` result.
//! * `fail(message)`: always an `isError` result saying `the fail tool always fails`.
//!
//! The script uses only shell built-ins (codex starts MCP servers with a minimal
//! environment, so `PATH` may not lead anywhere). It handles `initialize`, `tools/list`,
//! `tools/call` and `ping`, ignores notifications and answers other requests with JSON-RPC
//! error `-32601`. It reads fields with pattern matching, not a JSON parser: it expects
//! compact JSON (no spaces after `:`), as codex sends.

use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The file name [`StdioMcpServer::write_to`] uses.
pub const STDIO_MCP_SERVER_FILE: &str = "codexkit-mcp-echo";

/// Builder of the stdio MCP server script (unix only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StdioMcpServer {
    name: Option<String>,
    record_to: Option<PathBuf>,
}

impl StdioMcpServer {
    /// A server with the default name (`codexkit-mcp-echo`) that records nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// The `serverInfo.name` it reports.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Appends every line it receives to this file.
    pub fn record_to(mut self, path: impl Into<PathBuf>) -> Self {
        self.record_to = Some(path.into());
        self
    }

    /// The script text. Fails when the name or path cannot be put in a shell script.
    pub fn script(&self) -> io::Result<String> {
        let name = self.name.as_deref().unwrap_or(STDIO_MCP_SERVER_FILE);
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the server name must be ASCII letters, digits, '-' or '_'",
            ));
        }
        let log = match &self.record_to {
            Some(path) => sh_quote(path.to_str().ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, "the record path is not UTF-8")
            })?)?,
            None => "''".to_owned(),
        };
        Ok(SCRIPT.replace("@NAME@", name).replace("@LOG@", &log))
    }

    /// Writes the script as `dir/codexkit-mcp-echo` (mode 0755) and returns its path.
    pub fn write_to(&self, dir: impl AsRef<Path>) -> io::Result<PathBuf> {
        let dir = dir.as_ref();
        let path = dir.join(STDIO_MCP_SERVER_FILE);
        let tmp = dir.join(format!(".{STDIO_MCP_SERVER_FILE}-{}", std::process::id()));
        {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o755)
                .open(&tmp)?;
            file.write_all(self.script()?.as_bytes())?;
            file.sync_all()?;
        }
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))?;
        std::fs::rename(&tmp, &path)?;
        Ok(path)
    }
}

fn sh_quote(text: &str) -> io::Result<String> {
    if text.contains('\0') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a shell script cannot contain NUL bytes",
        ));
    }
    Ok(format!("'{}'", text.replace('\'', "'\\''")))
}

const SCRIPT: &str = r#"#!/bin/sh
# stdio MCP server written by codexkit-testkit: tools add(a, b) and fail(message)
log=@LOG@
reply() {
  printf '%s\n' "$1"
}
tool_error() {
  reply "{\"jsonrpc\":\"2.0\",\"id\":$id,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"$1\"}],\"isError\":true}}"
}
while IFS= read -r line || [ -n "$line" ]; do
  if [ -n "$log" ]; then
    printf '%s\n' "$line" >> "$log"
  fi
  case "$line" in
    *'"id":'*) ;;
    *) continue ;;
  esac
  id=${line#*\"id\":}
  id=${id%%,*}
  id=${id%%\}*}
  method=${line#*\"method\":\"}
  method=${method%%\"*}
  case "$method" in
    initialize)
      reply "{\"jsonrpc\":\"2.0\",\"id\":$id,\"result\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{\"tools\":{\"listChanged\":false}},\"serverInfo\":{\"name\":\"@NAME@\",\"version\":\"0.1.0\"}}}"
      ;;
    tools/list)
      reply "{\"jsonrpc\":\"2.0\",\"id\":$id,\"result\":{\"tools\":[{\"name\":\"add\",\"description\":\"Adds two integers\",\"inputSchema\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"},\"b\":{\"type\":\"integer\"}},\"required\":[\"a\",\"b\"]},\"annotations\":{\"readOnlyHint\":true}},{\"name\":\"fail\",\"description\":\"Always fails\",\"inputSchema\":{\"type\":\"object\",\"properties\":{\"message\":{\"type\":\"string\"}}}}]}}"
      ;;
    tools/call)
      case "$line" in
        *'"name":"add"'*)
          args=${line#*\"arguments\":}
          a=${args#*\"a\":}
          a=${a%%,*}
          a=${a%%\}*}
          b=${args#*\"b\":}
          b=${b%%,*}
          b=${b%%\}*}
          case "$a" in ''|-|*[!0-9-]*|?*-*) tool_error "a and b must be integers"; continue ;; esac
          case "$b" in ''|-|*[!0-9-]*|?*-*) tool_error "a and b must be integers"; continue ;; esac
          sum=$((a + b))
          reply "{\"jsonrpc\":\"2.0\",\"id\":$id,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"{\\\"sum\\\":$sum}\"}],\"structuredContent\":{\"sum\":$sum},\"isError\":false}}"
          ;;
        *'"name":"fail"'*)
          tool_error "the fail tool always fails"
          ;;
        *)
          tool_error "unknown tool"
          ;;
      esac
      ;;
    ping)
      reply "{\"jsonrpc\":\"2.0\",\"id\":$id,\"result\":{}}"
      ;;
    *)
      reply "{\"jsonrpc\":\"2.0\",\"id\":$id,\"error\":{\"code\":-32601,\"message\":\"method not found\"}}"
      ;;
  esac
done
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    #[test]
    fn the_script_answers_what_codex_sends() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let path = StdioMcpServer::new()
            .name("calc")
            .record_to(&log)
            .write_to(dir.path())
            .unwrap();
        let mut child = Command::new(&path)
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let lines = [
            r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"codex-mcp-client","version":"0.171.0"}}}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"progressToken":0}}}"#,
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"_meta":{"callId":"call_m1","threadId":"t","itemId":"fc_1","progressToken":1},"name":"add","arguments":{"a":2,"b":-5}}}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"add","arguments":{"a":"x","b":1}}}"#,
            r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"fail","arguments":{}}}"#,
            r#"{"jsonrpc":"2.0","id":5,"method":"resources/list","params":{}}"#,
        ];
        for line in lines {
            writeln!(stdin, "{line}").unwrap();
        }
        drop(stdin);
        let replies: Vec<serde_json::Value> = BufReader::new(child.stdout.take().unwrap())
            .lines()
            .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
            .collect();
        assert!(child.wait().unwrap().success());
        assert_eq!(replies.len(), 6, "{replies:?}");
        assert_eq!(replies[0]["result"]["serverInfo"]["name"], "calc");
        assert_eq!(replies[1]["result"]["tools"][0]["name"], "add");
        assert_eq!(replies[2]["id"], 2);
        assert_eq!(replies[2]["result"]["structuredContent"]["sum"], -3);
        assert_eq!(replies[2]["result"]["content"][0]["text"], r#"{"sum":-3}"#);
        assert_eq!(replies[3]["result"]["isError"], true);
        assert_eq!(replies[4]["result"]["isError"], true);
        assert_eq!(replies[5]["error"]["code"], -32601);
        let logged = std::fs::read_to_string(log).unwrap();
        assert_eq!(logged.lines().count(), lines.len());
    }
}
