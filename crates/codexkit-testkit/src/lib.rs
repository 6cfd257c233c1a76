//! Test tools for programs that drive OpenAI's `codex` CLI (pinned 0.171.0).
//!
//! * [`Scenario`]: the scripted answers of a mock model, as a JSON file or a Rust builder
//!   (format in [`scenario`]).
//! * [`MockModel`]: a local Responses API server (`POST /v1/responses`, SSE) that answers
//!   from a scenario and records every request ([`RecordedRequest`]).
//! * [`HermeticCodex`]: a fresh `CODEX_HOME` plus the `-c` overrides and environment that
//!   point the real codex binary at the mock.
//! * [`catalogue`]: named end-to-end situations (scenario, transports, thread options,
//!   turns) as plain data, replayed and recorded by `codexkit fixtures`.
//! * [`FakeCodex`] (unix): a scripted stand-in for the `codex` executable, for fault
//!   injection (exit codes, stderr floods, long lines, lingering grandchildren).
//! * [`StdioMcpServer`] (unix): a tiny stdio MCP server script (tools `add` and `fail`), to
//!   attach to codex as a user MCP server.
//! * [`FakeScript`]: the compiled fake, the `codexkit-fake-codex` binary of this crate, run
//!   from a JSON script: arbitrary bytes, signals, stdio closed early, blocked `SIGTERM`,
//!   grandchildren holding stdout, and a scripted JSON-RPC `codex app-server`
//!   ([`fake_bin`]; find the binary with [`fake_codex_bin`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use codexkit_testkit::{HermeticCodex, MockModel, MockResponse, OutputItem, Scenario};
//!
//! let scenario = Scenario::new()
//!     .retries(0)
//!     .response(MockResponse::output([OutputItem::exec_command("echo hi")]))
//!     .response(MockResponse::message("the command said: {{last_output}}"));
//! let mock = MockModel::start(scenario).await?;
//! let codex = HermeticCodex::new(&mock)?;
//! let mut cmd = std::process::Command::new("codex");
//! cmd.args(["exec", "--json", "--skip-git-repo-check"])
//!     .args(codex.config_args())
//!     .args(["-m", codex.model(), "run it"])
//!     .envs(codex.env())
//!     .stdin(std::process::Stdio::null());
//! let output = cmd.output()?;
//! assert_eq!(mock.requests().len(), 2);
//! mock.ensure_no_failures()?;
//! # Ok(()) }
//! ```

#![deny(missing_docs)]

pub mod catalogue;
#[cfg(unix)]
pub mod fake;
#[cfg(unix)]
pub mod fake_bin;
pub mod hermetic;
#[cfg(unix)]
pub mod mcp_stdio;
pub mod scenario;
pub mod server;
pub mod sse;

#[cfg(unix)]
pub use fake::{FakeCodex, Invocation};
#[cfg(unix)]
pub use fake_bin::{FakeScript, FakeStep, RawBytes, fake_codex_bin};
pub use hermetic::{HermeticCodex, MOCK_API_KEY, MOCK_API_KEY_ENV, MOCK_MODEL, MOCK_PROVIDER_ID};
#[cfg(unix)]
pub use mcp_stdio::StdioMcpServer;
pub use scenario::{
    MockResponse, OutputItem, ResponseBody, Scenario, ScenarioError, last_tool_output, usage,
};
pub use server::{MockError, MockModel, RecordedRequest};
