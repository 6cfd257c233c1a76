//! Finding the codex binary. (Interface; implementation in progress.)

use crate::{Error, Result};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The codex version codexkit is built and tested against.
pub const PINNED_VERSION: &str = "0.171.0";

/// Environment variable naming a codex binary to use.
pub const CODEX_PATH_ENV: &str = "CODEXKIT_CODEX_PATH";

/// Where a binary was looked for.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscoverySource {
    /// The path given in options.
    ExplicitPath,
    /// The `CODEXKIT_CODEX_PATH` environment variable.
    EnvVar,
    /// codexkit's per-user install cache for the pinned version.
    InstallCache,
    /// `codex` on `PATH`.
    SystemPath,
}

/// One place looked at during discovery and what was found there.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryAttempt {
    /// Which step.
    pub source: DiscoverySource,
    /// The path looked at, when the step had one.
    pub path: Option<PathBuf>,
    /// What was found (`not set`, `no such file`, …).
    pub outcome: String,
}

/// Inputs to discovery; everything read from the process environment can be overridden.
#[non_exhaustive]
#[derive(Debug, Clone, Default)]
pub struct DiscoveryOptions {
    /// An explicit binary path; used first.
    pub explicit_path: Option<PathBuf>,
    /// Value of `CODEXKIT_CODEX_PATH`; `None` reads the process environment.
    pub env_path: Option<Option<OsString>>,
    /// Install cache root; `None` uses the default per-user cache.
    pub cache_root: Option<PathBuf>,
    /// `PATH` to search; `None` reads the process environment.
    pub search_path: Option<Option<OsString>>,
}

/// A codex binary ready to run.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodexBinary {
    /// The executable to run.
    pub path: PathBuf,
    /// Where it was found.
    pub source: DiscoverySource,
}

/// Finds codex: explicit path, then `CODEXKIT_CODEX_PATH`, then the install cache, then `PATH`.
pub fn discover(options: &DiscoveryOptions) -> Result<CodexBinary> {
    let _ = options;
    Err(Error::BinaryNotFound { attempts: Vec::new() })
}

/// Formats attempts for an error message.
pub(crate) fn describe_attempts(attempts: &[DiscoveryAttempt]) -> String {
    let _ = attempts;
    String::new()
}

/// The default install cache root (per user).
pub fn default_cache_root() -> Option<PathBuf> {
    None
}

/// Where the pinned version's binary lives under `cache_root`.
pub fn cached_binary_path(cache_root: &Path) -> PathBuf {
    cache_root.to_path_buf()
}
