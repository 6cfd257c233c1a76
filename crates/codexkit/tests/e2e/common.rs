//! Shared setup for the end-to-end tests.

use codexkit::binary::{self, CodexBinary, DiscoveryOptions};
use codexkit::{Codex, CodexOptions, ThreadOptions, Transport};
use codexkit_testkit::{HermeticCodex, MockModel, Scenario};
use std::path::Path;
use tempfile::TempDir;

/// The pinned codex binary. A missing binary fails the test: these tests never skip.
pub fn pinned_codex() -> CodexBinary {
    binary::discover(&DiscoveryOptions::default()).unwrap_or_else(|error| {
        panic!(
            "the end-to-end tests need the pinned codex binary: {error}\n\
             install it with `cargo run -p codexkit-cli -- install`"
        )
    })
}

/// A mock model, a hermetic CODEX_HOME, a working directory, and a client wired to them.
pub struct Harness {
    pub mock: MockModel,
    pub hermetic: HermeticCodex,
    pub workdir: TempDir,
    pub codex: Codex,
}

impl Harness {
    pub async fn start(scenario: Scenario) -> Self {
        Self::start_with(scenario, Transport::Exec).await
    }

    pub async fn app_server(scenario: Scenario) -> Self {
        Self::start_with(scenario, Transport::AppServer).await
    }

    pub async fn start_with(scenario: Scenario, transport: Transport) -> Self {
        let mock = MockModel::start(scenario).await.expect("mock model starts");
        let hermetic = HermeticCodex::new(&mock).expect("hermetic codex home");
        let codex = Codex::with_binary(
            pinned_codex(),
            hermetic_options(&hermetic).with_transport(transport),
        );
        let workdir = tempfile::tempdir().expect("workdir");
        Self {
            mock,
            hermetic,
            workdir,
            codex,
        }
    }

    /// Thread options for the mock: its model, the temp workdir, no Git repository needed.
    pub fn thread_options(&self) -> ThreadOptions {
        ThreadOptions::default()
            .with_model(self.hermetic.model())
            .with_working_directory(self.workdir.path())
            .with_skip_git_repo_check(true)
    }

    pub fn path(&self, name: &str) -> std::path::PathBuf {
        self.workdir.path().join(name)
    }

    /// A second client on the same CODEX_HOME and mock (a new app-server process).
    pub fn another_client(&self, transport: Transport) -> Codex {
        Codex::with_binary(
            pinned_codex(),
            hermetic_options(&self.hermetic).with_transport(transport),
        )
    }

    /// Pids of app-server processes of this harness (found by their CODEX_HOME).
    pub fn app_server_pids(&self) -> Vec<u32> {
        let home = format!("CODEX_HOME={}", self.hermetic.codex_home().display());
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| {
                let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
                let cmdline = String::from_utf8_lossy(&cmdline);
                cmdline.contains("app-server")
                    && environ.split(|b| *b == 0).any(|v| v == home.as_bytes())
            })
            .collect()
    }
}

pub fn hermetic_options(hermetic: &HermeticCodex) -> CodexOptions {
    CodexOptions::default()
        .with_envs(hermetic.env())
        .with_config_literals(hermetic.config_overrides())
        .expect("valid keys")
}

/// Whether a process with this pid still exists (a zombie counts: it was not reaped).
pub fn process_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Pids of live processes whose process group is `pgid`.
pub fn group_members(pgid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            // Fields after the parenthesised command name: state ppid pgrp …
            let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
                return false;
            };
            let fields: Vec<&str> = rest.split_whitespace().collect();
            fields.get(2).and_then(|p| p.parse::<u32>().ok()) == Some(pgid)
        })
        .collect()
}

/// Polls `condition` every 50 ms for at most `seconds`.
pub async fn eventually(seconds: u64, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while tokio::time::Instant::now() < deadline {
        if condition() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    condition()
}
