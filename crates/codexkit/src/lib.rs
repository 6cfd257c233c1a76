//! Drive the Codex coding agent (the `codex` CLI) from Rust.
//!
//! Start a thread, run turns, and read what the agent did as typed events: commands it ran,
//! files it changed, messages, token usage. codexkit finds (or installs) the pinned codex
//! binary, runs it as a child process per turn, and guarantees that a dropped or cancelled
//! turn leaves no process behind.
//!
//! ```
//! use codexkit::{Codex, CodexOptions, ConfigOverride, ConfigValue, ThreadOptions};
//! use codexkit_testkit::{HermeticCodex, MockModel, MockResponse, Scenario};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A mock model, so this example runs offline; drop these lines to use your own codex config.
//! let mock = MockModel::start(Scenario::new().response(MockResponse::message("hi there"))).await?;
//! let hermetic = HermeticCodex::new(&mock)?;
//! let mut options = CodexOptions::default();
//! for (key, value) in hermetic.env() {
//!     options = options.with_env(key, value);
//! }
//! for (key, value) in hermetic.config_overrides() {
//!     options.config.push(ConfigOverride::new(&key, ConfigValue::Literal(value))?);
//! }
//!
//! let codex = Codex::new(options)?; // finds the pinned codex binary
//! let workdir = tempfile::tempdir()?;
//! let thread = codex.start_thread(
//!     ThreadOptions::default()
//!         .with_model("gpt-5.5")
//!         .with_working_directory(workdir.path())
//!         .with_skip_git_repo_check(true),
//! );
//! let turn = thread.run("say hi").await?;
//! assert_eq!(turn.final_response, "hi there");
//! println!("thread {} used {} tokens", thread.id().unwrap(), turn.usage.total_tokens());
//! # Ok(())
//! # }
//! ```
//!
//! For live output use [`Thread::run_streamed`], which returns an [`EventStream`] of
//! [`protocol::ThreadEvent`]s; dropping it cancels the turn.

mod app_server;
pub mod approvals;
pub mod binary;
pub mod config;
mod error;
mod exec;
pub mod install;
pub mod options;
mod pool;
pub mod redact;
mod stream;
mod thread;

pub use app_server::{AppServerClient, ListeningAppServer};
pub use codexkit_protocol as protocol;
pub use config::{ConfigOverride, ConfigValue};
pub use error::{Error, Result};
pub use options::{
    ApprovalMode, CodexOptions, Input, ReasoningEffort, RemoteAppServer, SandboxMode, SecretString,
    ThreadOptions, Transport, TurnOptions, WebSearchMode,
};
pub use pool::CodexPool;
pub use stream::EventStream;
pub use thread::{Codex, Thread, TurnResult, TurnStatus};
