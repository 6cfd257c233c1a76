//! `codexkit doctor`: checks this machine for what codexkit needs and explains what is missing.
//!
//! Exit codes: 0 when nothing blocks use (warnings allowed), 3 when the codex binary is missing
//! or unusable, 1 when another check fails.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use clap::Args;
use codexkit::binary::{self, DiscoveryOptions, DiscoverySource};
use codexkit::{Codex, CodexOptions, Error, Transport};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::exit;

/// Examples shown after `codexkit doctor --help`.
pub const EXAMPLES: &str = "Examples:
  codexkit doctor                 # every check, explained
  codexkit doctor --json          # one JSON object: {\"exit_code\", \"checks\": [...]}
  CODEXKIT_CODEX_PATH=/opt/codex/bin/codex codexkit doctor

Exit codes: 0 nothing blocks use (warnings allowed), 3 the codex binary is missing or
unusable, 1 another check failed.";

/// How long the sandbox and app-server probes may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// Arguments of `codexkit doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print one JSON object instead of the explained list.
    #[arg(long)]
    json: bool,
    /// Check this codex binary instead of the one discovery finds.
    #[arg(long, value_name = "PATH")]
    codex_path: Option<PathBuf>,
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    Warn,
    Fail,
    Skip,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Warn => "warn",
            Self::Fail => "fail",
            Self::Skip => "skip",
        }
    }

    fn mark(self) -> &'static str {
        match self {
            Self::Ok => "✓",
            Self::Warn => "!",
            Self::Fail => "✗",
            Self::Skip => "-",
        }
    }
}

/// One check: a name, its status, what was found, and what to do about it.
#[derive(Debug)]
struct Check {
    name: &'static str,
    status: Status,
    summary: String,
    hint: Option<String>,
}

impl Check {
    fn new(name: &'static str, status: Status, summary: impl Into<String>) -> Self {
        Self {
            name,
            status,
            summary: summary.into(),
            hint: None,
        }
    }

    fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "status": self.status.as_str(),
            "summary": self.summary,
            "hint": self.hint,
        })
    }
}

/// Runs every check, prints them, and returns the exit code.
pub async fn doctor(args: DoctorArgs) -> u8 {
    let mut checks = Vec::new();
    let mut binary_blocked = false;

    let pin = codexkit::install::pinned().ok();
    let pinned_version = pin.map(|p| p.version.clone());

    // 1. The codex binary.
    let mut discovery = DiscoveryOptions::default();
    if let Some(path) = &args.codex_path {
        discovery = discovery.with_explicit_path(path);
    }
    let found = match binary::discover(&discovery) {
        Ok(found) => {
            checks.push(Check::new(
                "codex binary",
                Status::Ok,
                format!("{} (found through {})", found.path.display(), found.source),
            ));
            Some(found)
        }
        Err(error) => {
            binary_blocked = true;
            let looked = match &error {
                Error::BinaryNotFound { attempts } => binary::describe_attempts(attempts),
                other => other.to_string(),
            };
            checks.push(
                Check::new("codex binary", Status::Fail, format!("not found: {looked}")).hint(
                    "run `codexkit install` (needs npm) to install the pinned codex, or point \
                     CODEXKIT_CODEX_PATH at a codex binary",
                ),
            );
            None
        }
    };

    // 2. Its version against the pin, and 3. its sha256 against the pin file.
    if let Some(found) = &found {
        let path = found.path.clone();
        let probed = tokio::task::spawn_blocking(move || binary::probe_version(&path)).await;
        match probed {
            Ok(Ok(version)) => {
                let check = match &pinned_version {
                    Some(pinned) if &version == pinned => Check::new(
                        "codex version",
                        Status::Ok,
                        format!("{version} (the pinned version)"),
                    ),
                    Some(pinned) => Check::new(
                        "codex version",
                        Status::Warn,
                        format!("{version}, but codexkit is pinned to {pinned}"),
                    )
                    .hint(
                        "other versions usually work, but events may differ; `codexkit install` \
                         installs the pinned one into codexkit's cache",
                    ),
                    None => Check::new("codex version", Status::Ok, version),
                };
                checks.push(check);
            }
            Ok(Err(error)) => {
                binary_blocked = true;
                checks.push(
                    Check::new(
                        "codex version",
                        Status::Fail,
                        format!("`codex --version` failed: {error}"),
                    )
                    .hint(format!(
                        "the binary is unusable: {}",
                        replace_hint(found.source)
                    )),
                );
            }
            Err(error) => checks.push(Check::new(
                "codex version",
                Status::Fail,
                format!("the version probe did not finish: {error}"),
            )),
        }
        checks.push(integrity_check(&found.path, found.source).await);
    } else {
        checks.push(Check::new(
            "codex version",
            Status::Skip,
            "no codex binary to check",
        ));
        checks.push(Check::new(
            "codex integrity",
            Status::Skip,
            "no codex binary to check",
        ));
    }

    // 4. Credentials, 5. CODEX_HOME.
    let codex_home = codex_home();
    checks.push(credentials_check(codex_home.as_deref()));
    checks.push(codex_home_check(codex_home.as_deref()));

    // 6. The sandbox, 7. the app-server.
    match &found {
        Some(found) if !binary_blocked => {
            checks.push(sandbox_check(&found.path).await);
            checks.push(app_server_check(found.clone()).await);
        }
        _ => {
            checks.push(Check::new(
                "sandbox",
                Status::Skip,
                "needs a usable codex binary",
            ));
            checks.push(Check::new(
                "app-server",
                Status::Skip,
                "needs a usable codex binary",
            ));
        }
    }

    // 8. npm, for `codexkit install`.
    checks.push(npm_check(found.is_some()));

    let code = if binary_blocked {
        exit::CODEX_UNAVAILABLE
    } else if checks.iter().any(|c| c.status == Status::Fail) {
        exit::TURN_FAILED
    } else {
        exit::COMPLETED
    };

    if args.json {
        let value = json!({
            "ok": code == exit::COMPLETED,
            "exit_code": code,
            "pinned_version": pinned_version,
            "checks": checks.iter().map(Check::to_json).collect::<Vec<_>>(),
        });
        println!("{value}");
    } else {
        for check in &checks {
            println!("{} {}: {}", check.status.mark(), check.name, check.summary);
            if let Some(hint) = &check.hint {
                println!("    → {hint}");
            }
        }
        let verdict = match code {
            exit::COMPLETED => "nothing blocks codexkit on this machine".to_owned(),
            exit::CODEX_UNAVAILABLE => {
                "codexkit cannot run: the codex binary is missing or unusable".to_owned()
            }
            _ => "codexkit cannot run everything: see the ✗ lines above".to_owned(),
        };
        println!("{verdict}");
    }
    code
}

/// `$CODEX_HOME`, or `~/.codex`.
fn codex_home() -> Option<PathBuf> {
    match std::env::var_os("CODEX_HOME").filter(|v| !v.is_empty()) {
        Some(home) => Some(PathBuf::from(home)),
        None => dirs_home().map(|home| home.join(".codex")),
    }
}

fn dirs_home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// How to get the pinned binary used instead of the one found, depending on where it was found:
/// reinstalling helps only when discovery reached the install cache.
fn replace_hint(source: DiscoverySource) -> String {
    match source {
        DiscoverySource::InstallCache => "reinstall it with `codexkit install --force`".to_owned(),
        DiscoverySource::EnvVar => format!(
            "{} wins over the install cache: point it at the pinned binary (`codexkit install` \
             prints its path), or unset it",
            binary::CODEX_PATH_ENV
        ),
        DiscoverySource::ExplicitPath => {
            "pass --codex-path the pinned binary (`codexkit install` prints its path)".to_owned()
        }
        _ => "`codexkit install` puts the pinned binary in codexkit's cache, which discovery \
              tries before PATH"
            .to_owned(),
    }
}

/// The binary's sha256 against the pin file's `binary_sha256` for this platform.
async fn integrity_check(path: &Path, source: DiscoverySource) -> Check {
    let expected = codexkit::install::pinned()
        .and_then(|pin| {
            let key = codexkit::install::current_platform()?;
            Ok(pin.platform(key)?.binary_sha256.clone())
        })
        .ok()
        .flatten();
    let Some(expected) = expected else {
        return Check::new(
            "codex integrity",
            Status::Skip,
            "the pin file records no sha256 for this platform",
        );
    };
    let path = path.to_path_buf();
    let hashed = tokio::task::spawn_blocking(move || -> std::io::Result<String> {
        let mut file = std::fs::File::open(&path)?;
        let mut hasher = Sha256::new();
        std::io::copy(&mut file, &mut hasher)?;
        Ok(format!("{:x}", hasher.finalize()))
    })
    .await;
    match hashed {
        Ok(Ok(actual)) if actual == expected => {
            Check::new("codex integrity", Status::Ok, "sha256 matches the pin file")
        }
        Ok(Ok(actual)) => Check::new(
            "codex integrity",
            Status::Warn,
            format!("sha256 {actual} differs from the pinned {expected}"),
        )
        .hint(format!(
            "this is not the pinned build; {}",
            replace_hint(source)
        )),
        Ok(Err(error)) => Check::new(
            "codex integrity",
            Status::Warn,
            format!("could not read the binary: {error}"),
        ),
        Err(error) => Check::new("codex integrity", Status::Warn, error.to_string()),
    }
}

/// Whether credentials for a real model are present; values are never printed.
fn credentials_check(codex_home: Option<&Path>) -> Check {
    let set: Vec<&str> = ["CODEX_API_KEY", "OPENAI_API_KEY"]
        .into_iter()
        .filter(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()))
        .collect();
    if !set.is_empty() {
        return Check::new(
            "credentials",
            Status::Ok,
            format!("{} set", set.join(" and ")),
        );
    }
    if let Some(auth) = codex_home.map(|home| home.join("auth.json"))
        && auth.is_file()
    {
        return Check::new(
            "credentials",
            Status::Ok,
            format!("{} exists", auth.display()),
        );
    }
    Check::new(
        "credentials",
        Status::Warn,
        "no CODEX_API_KEY or OPENAI_API_KEY, and no auth.json in CODEX_HOME",
    )
    .hint(
        "real turns need credentials: set OPENAI_API_KEY, or run `codex login`; offline runs \
         (`codexkit run --offline`, the testkit) work without them",
    )
}

/// Whether `CODEX_HOME` exists (or can be created) and is writable.
fn codex_home_check(codex_home: Option<&Path>) -> Check {
    let Some(home) = codex_home else {
        return Check::new(
            "CODEX_HOME",
            Status::Fail,
            "neither CODEX_HOME nor HOME is set",
        )
        .hint("set CODEX_HOME to a writable directory");
    };
    if !home.exists() {
        // Codex creates it; its parent must be writable.
        let parent = home.parent().unwrap_or(home);
        return match tempfile::tempfile_in(parent) {
            Ok(_) => Check::new(
                "CODEX_HOME",
                Status::Ok,
                format!("{} does not exist yet; codex can create it", home.display()),
            ),
            Err(error) => Check::new(
                "CODEX_HOME",
                Status::Fail,
                format!(
                    "{} does not exist and cannot be created: {error}",
                    home.display()
                ),
            )
            .hint("create it, or set CODEX_HOME to a writable directory"),
        };
    }
    match tempfile::tempfile_in(home) {
        Ok(_) => Check::new(
            "CODEX_HOME",
            Status::Ok,
            format!("{} is writable", home.display()),
        ),
        Err(error) => Check::new(
            "CODEX_HOME",
            Status::Fail,
            format!("{} is not writable: {error}", home.display()),
        )
        .hint("codex writes sessions and logs there; fix its permissions or set CODEX_HOME"),
    }
}

/// Runs `codex sandbox -- true` in a scratch directory, under the platform's sandbox.
async fn sandbox_check(codex: &Path) -> Check {
    let Ok(scratch) = tempfile::tempdir() else {
        return Check::new(
            "sandbox",
            Status::Skip,
            "could not create a scratch directory",
        );
    };
    let mut command = tokio::process::Command::new(codex);
    command
        .args(["sandbox", "--", "true"])
        .current_dir(scratch.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let output = tokio::time::timeout(PROBE_TIMEOUT, command.output()).await;
    match output {
        Ok(Ok(output)) if output.status.success() => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let warning = stderr
                .lines()
                .find(|line| line.contains("WARNING") || line.contains("bwrap"));
            match warning {
                Some(warning) => Check::new(
                    "sandbox",
                    Status::Ok,
                    format!(
                        "a sandboxed command ran ({}), with a warning: {}",
                        std::env::consts::OS,
                        warning.trim()
                    ),
                ),
                None => Check::new(
                    "sandbox",
                    Status::Ok,
                    format!("a sandboxed command ran ({})", std::env::consts::OS),
                ),
            }
        }
        Ok(Ok(output)) => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
            Check::new(
                "sandbox",
                Status::Fail,
                format!(
                    "`codex sandbox -- true` failed ({}): {}",
                    output.status,
                    last.unwrap_or("no message")
                ),
            )
            .hint(
                "commands in read-only or workspace-write mode will fail; on Linux, codex needs \
                 user namespaces (bubblewrap); in containers, allow them or use \
                 danger-full-access inside an outer sandbox",
            )
        }
        Ok(Err(error)) => Check::new(
            "sandbox",
            Status::Fail,
            format!("could not start `codex sandbox`: {error}"),
        ),
        Err(_) => Check::new(
            "sandbox",
            Status::Fail,
            format!("`codex sandbox -- true` did not finish in {PROBE_TIMEOUT:?}"),
        ),
    }
}

/// Starts `codex app-server` and waits for its `initialize` answer.
async fn app_server_check(binary: codexkit::binary::CodexBinary) -> Check {
    let codex = Codex::with_binary(
        binary,
        CodexOptions::default().with_transport(Transport::AppServer),
    );
    match tokio::time::timeout(PROBE_TIMEOUT, codex.app_server()).await {
        Ok(Ok(_client)) => Check::new(
            "app-server",
            Status::Ok,
            "`codex app-server` started and answered `initialize`",
        ),
        Ok(Err(error)) => Check::new(
            "app-server",
            Status::Fail,
            format!("`codex app-server` did not initialize: {error}"),
        )
        .hint("the exec transport may still work; check CODEX_HOME's config.toml"),
        Err(_) => Check::new(
            "app-server",
            Status::Fail,
            format!("`codex app-server` did not answer `initialize` in {PROBE_TIMEOUT:?}"),
        ),
    }
}

/// Whether `npm` is on `PATH` (needed only to install codex).
fn npm_check(have_binary: bool) -> Check {
    let npm = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(if cfg!(windows) { "npm.cmd" } else { "npm" }))
            .find(|candidate| candidate.is_file())
    });
    match (npm, have_binary) {
        (Some(npm), _) => Check::new("npm", Status::Ok, format!("{}", npm.display())),
        (None, true) => Check::new(
            "npm",
            Status::Skip,
            "not on PATH; only `codexkit install` needs it, and codex is already here",
        ),
        (None, false) => Check::new(
            "npm",
            Status::Warn,
            "not on PATH, so `codexkit install` cannot fetch codex",
        )
        .hint(
            "install Node.js (which brings npm), or install from a downloaded tarball with \
             `codexkit install --tarball FILE`",
        ),
    }
}
