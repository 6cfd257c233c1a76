//! Drive the Codex coding agent (the `codex` CLI) from Rust.
//!
//! Start a thread, run turns, and read what the agent did as typed events: commands it ran,
//! files it changed, messages, token usage. codexkit finds the pinned codex binary (install it
//! with `codexkit install`, or [`install::install_pinned`]), runs it as a child process per turn
//! or as a shared app-server, and guarantees that a dropped or cancelled turn leaves no process
//! behind.
//!
//! The example needs the dev-dependencies `codexkit-testkit`, `tempfile` and `tokio`.
//!
//! ```
//! use codexkit::{Codex, CodexOptions, ThreadOptions};
//! use codexkit_testkit::{HermeticCodex, MockModel, MockResponse, Scenario};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A mock model, so this example runs offline; drop these lines to use your own codex config.
//! let mock = MockModel::start(Scenario::new().response(MockResponse::message("hi there"))).await?;
//! let hermetic = HermeticCodex::new(&mock)?;
//! let options = CodexOptions::default()
//!     .with_envs(hermetic.env())
//!     .with_config_literals(hermetic.config_overrides())?;
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
//! [`ThreadEvent`]s; dropping it before its end cancels the turn.

#![deny(missing_docs)]

mod app_server;
pub mod approvals;
pub mod attachments;
pub mod binary;
pub mod config;
mod error;
mod exec;
pub mod install;
pub mod options;
mod pool;
pub mod redact;
mod stream;
pub mod structured;
pub mod telemetry;
mod thread;
pub mod tools;

pub use app_server::{AppServerClient, ListeningAppServer};
pub use attachments::{Attachment, AttachmentStore, InputAttachment};
#[doc(inline)]
pub use codexkit_protocol as protocol;
pub use codexkit_protocol::{ItemDetails, ThreadEvent, ThreadId, ThreadItem, Usage};
pub use config::{ConfigOverride, ConfigValue};
pub use error::{Error, Result};
pub use options::{
    ApprovalMode, CodexHome, CodexOptions, Input, ReasoningEffort, RemoteAppServer, SandboxMode,
    SecretString, ThreadOptions, Transport, TurnOptions, WebSearchMode,
};
pub use pool::CodexPool;
pub use stream::EventStream;
pub use structured::{OutputSchema, StructuredOptions, Typed};
pub use telemetry::TelemetryOptions;
pub use thread::{Codex, Thread, TurnResult, TurnStatus};
