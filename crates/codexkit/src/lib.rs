//! codexkit runtime.

pub mod binary;
pub mod config;
mod error;
mod exec;
pub mod install;
pub mod options;
pub mod redact;
mod thread;

pub use codexkit_protocol as protocol;
pub use config::{ConfigOverride, ConfigValue};
pub use error::{Error, Result};
pub use exec::EventStream;
pub use options::{
    CodexOptions, Input, ReasoningEffort, SandboxMode, SecretString, ThreadOptions, TurnOptions,
    WebSearchMode,
};
pub use thread::{Codex, Thread, TurnResult};
