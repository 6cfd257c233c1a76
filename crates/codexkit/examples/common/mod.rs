//! Shared setup of the examples: a scripted mock model by default, or the user's own codex
//! configuration when `CODEXKIT_REAL=1`.

#![allow(dead_code)]

use codexkit::{CodexOptions, ConfigOverride, ConfigValue, ThreadOptions, Transport};
use codexkit_testkit::{HermeticCodex, MockModel, Scenario};

/// Everything a thread of an example needs. Keep it alive for as long as the example runs:
/// it owns the mock model and the temporary `CODEX_HOME`.
pub struct Setup {
    /// Client options: the mock's provider and `CODEX_HOME`, or nothing special when real.
    pub options: CodexOptions,
    /// The model to ask for (the mock's model name; `None` when real: codex's default).
    pub model: Option<String>,
    /// A scratch working directory for the agent.
    pub workdir: tempfile::TempDir,
    /// Whether the example talks to a real model.
    pub real: bool,
    mock: Option<(MockModel, HermeticCodex)>,
}

impl Setup {
    /// Sets up offline (the given scenario, answered by the mock) or for real when
    /// `CODEXKIT_REAL=1` (the scenario is ignored).
    pub async fn new(
        scenario: Scenario,
        transport: Transport,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let real = std::env::var("CODEXKIT_REAL").is_ok_and(|v| v == "1");
        let workdir = tempfile::tempdir()?;
        if real {
            return Ok(Self {
                options: CodexOptions::default().with_transport(transport),
                model: None,
                workdir,
                real,
                mock: None,
            });
        }
        let mock = MockModel::start(scenario).await?;
        let hermetic = HermeticCodex::new(&mock)?;
        let mut options = CodexOptions::default().with_transport(transport);
        for (key, value) in hermetic.env() {
            options = options.with_env(key, value);
        }
        for (key, value) in hermetic.config_overrides() {
            options
                .config
                .push(ConfigOverride::new(&key, ConfigValue::Literal(value))?);
        }
        Ok(Self {
            options,
            model: Some(hermetic.model().to_string()),
            workdir,
            real,
            mock: Some((mock, hermetic)),
        })
    }

    /// Thread options: the model, the scratch directory, no git check.
    pub fn thread_options(&self) -> ThreadOptions {
        let options = ThreadOptions::default()
            .with_working_directory(self.workdir.path())
            .with_skip_git_repo_check(true);
        match &self.model {
            Some(model) => options.with_model(model),
            None => options,
        }
    }

    /// The mock model, when offline.
    pub fn mock(&self) -> Option<&MockModel> {
        self.mock.as_ref().map(|(mock, _)| mock)
    }
}
