//! A hermetic codex configuration: a fresh `CODEX_HOME` and a provider pointing at the mock.

use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::server::MockModel;

/// The id of the model provider that points codex at the mock.
pub const MOCK_PROVIDER_ID: &str = "codexkit-mock";

/// The environment variable that carries the dummy API key (the provider's `env_key`).
pub const MOCK_API_KEY_ENV: &str = "CODEXKIT_MOCK_API_KEY";

/// The dummy API key; codex sends it as `authorization: Bearer sk-codexkit-mock`.
pub const MOCK_API_KEY: &str = "sk-codexkit-mock";

/// The model slug to pass with `-m`: in codex 0.171's catalog, so codex prints no
/// fallback-metadata warning and advertises `apply_patch`.
pub const MOCK_MODEL: &str = "gpt-5.5";

/// Where `CODEX_HOME` lives: a temp dir removed on drop, or a directory the caller keeps.
#[derive(Debug)]
enum CodexHome {
    Temporary(TempDir),
    Kept(PathBuf),
}

impl CodexHome {
    fn path(&self) -> &Path {
        match self {
            Self::Temporary(dir) => dir.path(),
            Self::Kept(path) => path,
        }
    }
}

/// Everything needed to run the real codex binary against a mock, with no user state.
///
/// Pass [`config_overrides`](Self::config_overrides) as `-c key=value` flags,
/// [`env`](Self::env) as environment variables and [`model`](Self::model) as `-m`:
///
/// ```text
/// CODEX_HOME=<temp> CODEXKIT_MOCK_API_KEY=sk-codexkit-mock \
/// codex exec --json --skip-git-repo-check \
///   -c model_provider="codexkit-mock" \
///   -c 'model_providers.codexkit-mock={name="codexkit mock", base_url="http://127.0.0.1:PORT/v1", wire_api="responses", env_key="CODEXKIT_MOCK_API_KEY"}' \
///   -m gpt-5.5 "prompt" </dev/null
/// ```
///
/// The temporary `CODEX_HOME` is deleted when the value is dropped. Codex prints a warning on
/// stderr when `CODEX_HOME` is under `/tmp` (it refuses to create helper binaries there);
/// that warning is harmless. Remove `RUST_BACKTRACE` from codex's environment if a test
/// compares error messages (codex appends backtraces to some of them when it is set).
#[derive(Debug)]
#[non_exhaustive]
pub struct HermeticCodex {
    home: CodexHome,
    base_url: String,
    retries: Option<u32>,
}

impl HermeticCodex {
    /// A fresh `CODEX_HOME` and a provider for this mock, with the scenario's `retries`.
    pub fn new(mock: &MockModel) -> std::io::Result<Self> {
        let mut hermetic = Self::with_base_url(mock.base_url())?;
        hermetic.retries = mock.scenario().retries;
        Ok(hermetic)
    }

    /// A fresh `CODEX_HOME` and a provider for any Responses API base URL (ending in `/v1`).
    pub fn with_base_url(base_url: impl Into<String>) -> std::io::Result<Self> {
        let home = tempfile::Builder::new()
            .prefix("codexkit-home-")
            .tempdir()?;
        Ok(Self {
            home: CodexHome::Temporary(home),
            base_url: base_url.into(),
            retries: None,
        })
    }

    /// Like [`HermeticCodex::new`], with `CODEX_HOME` in `dir` (created if missing, kept on
    /// drop), so that a later run can resume a thread recorded there.
    pub fn with_codex_home(mock: &MockModel, dir: impl Into<PathBuf>) -> std::io::Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        Ok(Self {
            home: CodexHome::Kept(std::path::absolute(&dir)?),
            base_url: mock.base_url(),
            retries: mock.scenario().retries,
        })
    }

    /// Sets the provider's `request_max_retries` and `stream_max_retries` (0: fail on the
    /// first error instead of retrying for seconds).
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = Some(retries);
        self
    }

    /// The `-c` overrides as `(key, value)` pairs; each value is already a TOML literal:
    ///
    /// * `model_provider` = `"codexkit-mock"`
    /// * `model_providers.codexkit-mock` = `{name="codexkit mock", base_url="…",
    ///   wire_api="responses", env_key="CODEXKIT_MOCK_API_KEY"}`, plus
    ///   `request_max_retries=N, stream_max_retries=N` when retries are set.
    pub fn config_overrides(&self) -> Vec<(String, String)> {
        let mut provider = format!(
            "{{name={}, base_url={}, wire_api=\"responses\", env_key={}",
            toml_string("codexkit mock"),
            toml_string(&self.base_url),
            toml_string(MOCK_API_KEY_ENV),
        );
        if let Some(n) = self.retries {
            provider.push_str(&format!(
                ", request_max_retries={n}, stream_max_retries={n}"
            ));
        }
        provider.push('}');
        vec![
            ("model_provider".to_owned(), toml_string(MOCK_PROVIDER_ID)),
            (format!("model_providers.{MOCK_PROVIDER_ID}"), provider),
        ]
    }

    /// The overrides as command-line arguments: `["-c", "key=value", ...]`.
    pub fn config_args(&self) -> Vec<String> {
        self.config_overrides()
            .into_iter()
            .flat_map(|(key, value)| ["-c".to_owned(), format!("{key}={value}")])
            .collect()
    }

    /// The environment for codex: `CODEX_HOME` (the temp dir) and `CODEXKIT_MOCK_API_KEY`.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            (
                "CODEX_HOME".to_owned(),
                self.home.path().to_string_lossy().into_owned(),
            ),
            (MOCK_API_KEY_ENV.to_owned(), MOCK_API_KEY.to_owned()),
        ]
    }

    /// The model slug to use: `gpt-5.5`.
    pub fn model(&self) -> &str {
        MOCK_MODEL
    }

    /// The `CODEX_HOME` directory.
    pub fn codex_home(&self) -> &Path {
        self.home.path()
    }

    /// The provider's base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }
}

/// A TOML basic string literal for `s`.
pub(crate) fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
