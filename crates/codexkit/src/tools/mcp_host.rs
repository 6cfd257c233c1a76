//! The exec transport's side of host tools: the thread's [`ToolSet`] served to codex as MCP
//! servers over streamable HTTP, inside this process, for the duration of one turn.
//!
//! One HTTP listener on `127.0.0.1:<random port>` serves one MCP endpoint per namespace
//! (`/mcp/<server>`), behind a bearer token that is fresh for every turn and reaches codex
//! only through an environment variable of the child. The rmcp service runs stateless with
//! JSON responses: no session, no held-open stream, so stopping it is immediate.

use super::definition::ToolContent;
use super::registry::{ToolSet, check_name};
use super::runner::{self, CallRequest, CallResult, EventSink};
use crate::config::{ConfigOverride, ConfigValue};
use crate::{Error, Result};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use codexkit_protocol::ThreadEvent;
use rmcp::ErrorData as McpError;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool as McpTool,
    ToolAnnotations,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// The environment variable that carries the bearer token to codex (child only).
pub const TOOLS_TOKEN_ENV: &str = "CODEXKIT_TOOLS_TOKEN";

/// Extra time codex waits for a tool call beyond the longest tool timeout, so that our own
/// timeout (with its clear message) fires first.
const CODEX_CALL_MARGIN: Duration = Duration::from_secs(15);
/// How long codex waits for the servers to start.
const STARTUP_TIMEOUT_SECS: i64 = 20;

/// The running servers of one turn. Dropping it stops them.
pub(crate) struct HostedTools {
    /// `-c mcp_servers.<name>=…` for every served namespace.
    pub overrides: Vec<ConfigOverride>,
    /// The bearer token (to set as [`TOOLS_TOKEN_ENV`] in the child and to redact).
    pub token: String,
    /// `tool.call.*` events of the turn.
    pub events: mpsc::UnboundedReceiver<ThreadEvent>,
    /// Stops the servers when dropped.
    pub stop: StopGuard,
}

/// Cancels the server's token when dropped.
pub(crate) struct StopGuard(CancellationToken);

impl Drop for StopGuard {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// Which MCP server serves which namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServedNamespace {
    /// The MCP server name (the model sees the namespace `mcp__<server>`).
    pub server: String,
    /// The tool set's namespace (`None`: top-level tools).
    pub namespace: Option<String>,
}

/// A name as codex shows it to the model: codex replaces `-` by `_` in MCP server and tool
/// names (the only character of codexkit's name alphabet it changes).
pub(crate) fn model_name(name: &str) -> String {
    name.replace('-', "_")
}

/// The servers for a set: the top-level tools under the set's MCP server name, each
/// namespace under its own name. Fails when names clash, also when they clash only as the
/// model sees them (`a-b` and `a_b`).
pub(crate) fn served_namespaces(set: &ToolSet) -> Result<Vec<ServedNamespace>> {
    let served = server_names(set)?;
    let mut servers = std::collections::HashMap::new();
    for entry in &served {
        if let Some(other) = servers.insert(model_name(&entry.server), &entry.server) {
            return Err(Error::InvalidTool {
                name: entry.server.clone(),
                reason: format!(
                    "codex shows it to the model as mcp__{}, like {other}; rename one",
                    model_name(&entry.server)
                ),
            });
        }
        let mut tools = std::collections::HashMap::new();
        for tool in set.tools_in(entry.namespace.as_deref()) {
            let name = tool.tool.name.clone();
            if let Some(other) = tools.insert(model_name(&name), name.clone()) {
                return Err(Error::InvalidTool {
                    name,
                    reason: format!(
                        "codex shows it to the model as {}, like {other}; rename one",
                        model_name(&other)
                    ),
                });
            }
        }
    }
    Ok(served)
}

fn server_names(set: &ToolSet) -> Result<Vec<ServedNamespace>> {
    let mut served = Vec::new();
    if set.has_top_level() {
        let server = set.mcp_server_name();
        check_name(&server, "MCP server")?;
        served.push(ServedNamespace {
            server,
            namespace: None,
        });
    }
    for namespace in set.namespaces() {
        if served.iter().any(|s| s.server == namespace) {
            return Err(Error::InvalidTool {
                name: namespace,
                reason: "the namespace has the same name as the MCP server of the top-level \
                         tools; rename it or call ToolSet::with_mcp_server_name"
                    .into(),
            });
        }
        served.push(ServedNamespace {
            server: namespace.clone(),
            namespace: Some(namespace),
        });
    }
    Ok(served)
}

/// Starts the servers for `set`; they are listening when this returns.
pub(crate) async fn start(set: &ToolSet) -> Result<HostedTools> {
    let served = served_namespaces(set)?;
    let token = new_token()?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| Error::io("binding a port for the host tools on", "127.0.0.1", e))?;
    let port = listener
        .local_addr()
        .map_err(|e| Error::io("reading the address of", "127.0.0.1", e))?
        .port();
    let cancel = CancellationToken::new();
    let (event_tx, events) = mpsc::unbounded_channel();
    let sink: EventSink = Arc::new(move |event| {
        let _ = event_tx.send(event);
    });

    let mut router = axum::Router::new();
    for entry in &served {
        let handler = HostHandler {
            set: set.clone(),
            namespace: entry.namespace.clone(),
            events: Arc::clone(&sink),
        };
        let config = StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(true)
            .with_sse_keep_alive(None)
            .with_cancellation_token(cancel.child_token());
        let service = StreamableHttpService::new(
            move || Ok(handler.clone()),
            Arc::new(NeverSessionManager::default()),
            config,
        );
        router = router.nest_service(&format!("/mcp/{}", entry.server), service);
    }
    let router = router.layer(axum::middleware::from_fn_with_state(
        Arc::new(format!("Bearer {token}")),
        require_token,
    ));
    let shutdown = cancel.clone();
    tokio::spawn(async move {
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await;
        if let Err(error) = served {
            tracing::warn!(%error, "the host tool server stopped with an error");
        }
        tracing::debug!("host tool server stopped");
    });
    tracing::debug!(port, servers = served.len(), "host tool server listening");

    let tool_timeout = set.longest_timeout() + CODEX_CALL_MARGIN;
    let mut overrides = Vec::with_capacity(served.len());
    for entry in &served {
        let table = ConfigValue::Table(vec![
            (
                "url".into(),
                format!("http://127.0.0.1:{port}/mcp/{}", entry.server).into(),
            ),
            ("bearer_token_env_var".into(), TOOLS_TOKEN_ENV.into()),
            ("default_tools_approval_mode".into(), "approve".into()),
            ("required".into(), true.into()),
            (
                "startup_timeout_sec".into(),
                ConfigValue::Integer(STARTUP_TIMEOUT_SECS),
            ),
            (
                "tool_timeout_sec".into(),
                ConfigValue::Integer(i64::try_from(tool_timeout.as_secs()).unwrap_or(i64::MAX)),
            ),
        ]);
        overrides.push(ConfigOverride::new(
            format!("mcp_servers.{}", entry.server),
            table,
        )?);
    }
    Ok(HostedTools {
        overrides,
        token,
        events,
        stop: StopGuard(cancel),
    })
}

/// A fresh random token: 32 bytes from the operating system, hex-encoded.
fn new_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| Error::InvalidTool {
        name: "host tools".into(),
        reason: format!("the operating system gave no random bytes for the access token: {e}"),
    })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Lets through only requests that carry the turn's bearer token.
async fn require_token(
    State(expected): State<Arc<String>>,
    request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .map(|v| v.as_bytes());
    match presented {
        Some(presented) if constant_time_eq(presented, expected.as_bytes()) => {
            next.run(request).await
        }
        _ => {
            tracing::warn!("refused a host tool request without the right token");
            (
                StatusCode::UNAUTHORIZED,
                [(axum::http::header::WWW_AUTHENTICATE, "Bearer")],
                "unauthorized",
            )
                .into_response()
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The rmcp handler for one namespace of the set.
#[derive(Clone)]
struct HostHandler {
    set: ToolSet,
    namespace: Option<String>,
    events: EventSink,
}

impl rmcp::ServerHandler for HostHandler {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("codexkit", env!("CARGO_PKG_VERSION")))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> std::result::Result<ListToolsResult, McpError> {
        let tools = self
            .set
            .tools_in(self.namespace.as_deref())
            .iter()
            .map(|registered| {
                let tool = &registered.tool;
                let mut listed = McpTool::new(
                    tool.name.clone(),
                    tool.description.clone(),
                    as_object(&tool.input_schema),
                );
                if let Some(output) = &tool.output_schema {
                    listed = listed.with_raw_output_schema(Arc::new(as_object(output)));
                }
                if tool.read_only.is_some() || tool.destructive.is_some() {
                    let mut annotations = ToolAnnotations::new();
                    if let Some(read_only) = tool.read_only {
                        annotations = annotations.read_only(read_only);
                    }
                    if let Some(destructive) = tool.destructive {
                        annotations = annotations.destructive(destructive);
                    }
                    listed = listed.with_annotations(annotations);
                }
                listed
            })
            .collect();
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> std::result::Result<CallToolResponse, McpError> {
        let meta = &context.meta.0.0;
        let text = |key: &str| meta.get(key).and_then(Value::as_str).map(str::to_owned);
        let call = CallRequest {
            namespace: self.namespace.clone(),
            name: request.name.to_string(),
            arguments: request.arguments.map(Value::Object).unwrap_or(Value::Null),
            call_id: text("callId"),
            thread_id: text("threadId"),
            turn_id: meta
                .get("x-codex-turn-metadata")
                .and_then(|m| m.get("turn_id"))
                .and_then(Value::as_str)
                .map(str::to_owned),
        };
        let result = runner::run_call(&self.set, call, &self.events).await;
        Ok(to_mcp_result(result).into())
    }
}

fn as_object(schema: &Value) -> Map<String, Value> {
    match schema {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    }
}

/// A call's result as an MCP result: failures are `isError` results carrying the message.
fn to_mcp_result(result: CallResult) -> CallToolResult {
    match result {
        CallResult::Success(output) => {
            let content = output
                .content
                .iter()
                .map(|piece| match piece {
                    ToolContent::Text(text) => ContentBlock::text(text.clone()),
                    ToolContent::Image { data, mime_type } => {
                        ContentBlock::image(ToolContent::base64(data), mime_type.clone())
                    }
                })
                .collect();
            let mut result = CallToolResult::success(content);
            // MCP's structuredContent is an object; other JSON stays text only.
            result.structured_content = output.structured.filter(Value::is_object);
            result
        }
        CallResult::Failure { message, .. } => {
            CallToolResult::error(vec![ContentBlock::text(message)])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::{Tool, ToolOutput};

    fn echo(name: &str) -> Tool {
        Tool::new(name).raw_handler(|args| async move { Ok(ToolOutput::json(&args)) })
    }

    #[test]
    fn each_namespace_is_a_server_and_clashes_are_refused() {
        let set = ToolSet::new();
        set.register(echo("a")).unwrap();
        set.namespace("calc").register(echo("add")).unwrap();
        let served = served_namespaces(&set).unwrap();
        assert_eq!(
            served,
            [
                ServedNamespace {
                    server: "codexkit".into(),
                    namespace: None
                },
                ServedNamespace {
                    server: "calc".into(),
                    namespace: Some("calc".into())
                },
            ]
        );
        set.namespace("codexkit").register(echo("b")).unwrap();
        assert!(matches!(
            served_namespaces(&set),
            Err(Error::InvalidTool { .. })
        ));
        let renamed = set.with_mcp_server_name("host");
        assert_eq!(served_namespaces(&renamed).unwrap().len(), 3);
    }

    #[test]
    fn names_that_codex_would_show_alike_are_refused() {
        let set = ToolSet::new();
        set.namespace("my-ns").register(echo("a")).unwrap();
        set.namespace("my_ns").register(echo("b")).unwrap();
        assert!(matches!(
            served_namespaces(&set),
            Err(Error::InvalidTool { .. })
        ));
        let set = ToolSet::new();
        set.register(echo("get-x")).unwrap();
        set.register(echo("get_x")).unwrap();
        let error = served_namespaces(&set).unwrap_err();
        assert!(error.to_string().contains("get_x"), "{error}");
    }

    #[test]
    fn tokens_are_random_and_compared_whole() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert!(constant_time_eq(a.as_bytes(), a.as_bytes()));
        assert!(!constant_time_eq(a.as_bytes(), b.as_bytes()));
        assert!(!constant_time_eq(a.as_bytes(), &a.as_bytes()[1..]));
    }

    #[tokio::test]
    async fn the_server_refuses_requests_without_the_token() {
        let set = ToolSet::new().with(echo("a")).unwrap();
        let hosted = start(&set).await.unwrap();
        let url = match &hosted.overrides[0].value {
            ConfigValue::Table(entries) => match &entries[0].1 {
                ConfigValue::String(url) => url.clone(),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        };
        let authority = url
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap()
            .to_owned();
        let status = |auth: Option<String>| {
            let authority = authority.clone();
            async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut stream = tokio::net::TcpStream::connect(&authority).await.unwrap();
                let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}"#;
                let auth = auth
                    .map(|a| format!("authorization: {a}\r\n"))
                    .unwrap_or_default();
                let request = format!(
                    "POST /mcp/codexkit HTTP/1.1\r\nhost: {authority}\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\n{auth}content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                stream.write_all(request.as_bytes()).await.unwrap();
                let mut response = String::new();
                stream.read_to_string(&mut response).await.unwrap();
                response
            }
        };
        let refused = status(None).await;
        assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");
        let wrong = status(Some("Bearer nope".into())).await;
        assert!(wrong.starts_with("HTTP/1.1 401"), "{wrong}");
        let listed = status(Some(format!("Bearer {}", hosted.token))).await;
        assert!(listed.starts_with("HTTP/1.1 200"), "{listed}");
        assert!(listed.contains(r#""name":"a""#), "{listed}");

        drop(hosted);
        // Stopped: connections are refused (the listener is gone) shortly after.
        let mut gone = false;
        for _ in 0..50 {
            if tokio::net::TcpStream::connect(&authority).await.is_err() {
                gone = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(gone, "the server still accepts connections after the stop");
    }
}
