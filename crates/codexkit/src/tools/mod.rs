//! Host tools: functions of this process that the agent can call, on both transports.
//!
//! ```no_run
//! use codexkit::tools::{Tool, ToolOutput, ToolSet};
//! use codexkit::{Codex, CodexOptions, ThreadOptions};
//! use schemars::JsonSchema;
//! use serde::Deserialize;
//!
//! #[derive(Deserialize, JsonSchema)]
//! struct AddArgs {
//!     a: i64,
//!     b: i64,
//! }
//!
//! # async fn demo() -> codexkit::Result<()> {
//! let tools = ToolSet::new().with(
//!     Tool::new("add")
//!         .description("Adds two integers")
//!         .handler(|args: AddArgs| async move {
//!             Ok(ToolOutput::json(&serde_json::json!({ "sum": args.a + args.b })))
//!         }),
//! )?;
//! let codex = Codex::new(CodexOptions::default())?;
//! let thread = codex.start_thread(ThreadOptions::default().with_tools(tools));
//! let turn = thread.run("What is 2 + 3? Use the add tool.").await?;
//! # Ok(()) }
//! ```
//!
//! * **Definition** ([`Tool`]): a name, a description, an input type (its JSON Schema comes from
//!   [`schemars::JsonSchema`]; the arguments are checked against it, then deserialized into
//!   it), an optional output type, read-only/destructive hints, a timeout
//!   ([`DEFAULT_TOOL_TIMEOUT`]) and an async handler returning text, JSON or an image
//!   ([`ToolOutput`]).
//! * **Registry** ([`ToolSet`]): tools at the top level or in namespaces
//!   ([`ToolSet::namespace`]); register and deregister at runtime ([`ToolHandle`]); a name
//!   registered twice is [`crate::Error::DuplicateTool`].
//! * **Running a call**: an unknown tool, arguments that do not fit the schema, a handler that
//!   fails, panics or exceeds its timeout, and a call a guard ([`Tool::guard`],
//!   [`ToolSet::with_guard`]) denies all become a *failed call* the model is told about; the
//!   turn goes on. Each call shows up in the turn's events as `tool.call.started` and
//!   `tool.call.completed` ([`crate::protocol::ToolCallEvent`]), with the values of secret
//!   argument fields ([`Tool::secret_field`]) redacted, and as a `tool_call` tracing span.
//! * **exec transport**: for each turn, the set is served to codex as MCP servers over
//!   streamable HTTP on `127.0.0.1`, inside this process, behind a bearer token that is new
//!   for every turn and passed to codex only in its environment ([`TOOLS_TOKEN_ENV`]). The
//!   server is listening before codex starts and stops when the turn's output ends or its
//!   stream is dropped. The model calls top-level tools as namespace `mcp__codexkit` (see
//!   [`ToolSet::with_mcp_server_name`]) and tools of namespace `calc` as namespace
//!   `mcp__calc` (codex shows `-` in these names as `_`). Codex shows such calls as
//!   `mcp_tool_call` items.
//! * **app-server transport**: the set is sent as `thread/start.dynamicTools`, and codex's
//!   `item/tool/call` requests are answered from it on tasks of their own. Top-level tools
//!   are called by their bare name, tools of namespace `calc` as namespace `calc`. Codex
//!   shows such calls as `dynamic_tool_call` items. Dynamic tools are part of codex's
//!   *experimental* API: when the client's app-server connection is started for a thread with
//!   tools, codexkit initializes it with the experimental API on. A connection already started
//!   without it (by an earlier thread without tools, or by [`crate::Codex::app_server`]) makes
//!   such a thread fail with [`crate::Error::ExperimentalApiRequired`]; set
//!   [`crate::CodexOptions::with_experimental_api`] when you mix threads. Codex takes dynamic
//!   tools only at `thread/start`: a resumed or forked thread answers calls from its set, but
//!   codex shows the model the tools it was started with.
//! * **Your own MCP servers** ([`McpServer`]): attach them to a thread with
//!   [`crate::ThreadOptions::with_mcp_server`], on either transport.

mod definition;
pub(crate) mod dynamic;
pub(crate) mod exec;
mod guard;
pub(crate) mod mcp_host;
pub(crate) mod mcp_servers;
mod registry;
pub(crate) mod runner;

pub use definition::{DEFAULT_TOOL_TIMEOUT, Tool, ToolContent, ToolError, ToolOutput};
pub use guard::{GuardDecision, GuardFuture, ToolCall, ToolGuard, guard_fn};
pub use mcp_host::TOOLS_TOKEN_ENV;
pub use mcp_servers::{McpApprovalMode, McpServer, McpTransport};
pub use registry::{DEFAULT_MCP_SERVER_NAME, ToolHandle, ToolInfo, ToolNamespace, ToolSet};
