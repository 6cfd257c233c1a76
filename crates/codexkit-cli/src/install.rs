//! `codexkit install`, and installing on first use.

use crate::exit;
use clap::Args;
use codexkit::binary;
use codexkit::install::{InstallOptions, InstallProgress, install_pinned};
use codexkit::{Codex, CodexOptions, Error};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// Install even when the pinned codex is already in the cache.
    #[arg(long)]
    force: bool,
    /// Cache root to install into (default: the per-user cache).
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Install from this local npm tarball instead of fetching it with `npm pack`.
    #[arg(long, value_name = "FILE")]
    tarball: Option<PathBuf>,
}

pub async fn install(args: InstallArgs) -> u8 {
    let mut options = InstallOptions::default();
    options.cache_root = args.cache_dir;
    options.tarball = args.tarball;
    options.force = args.force;
    match run_install(options).await {
        Ok(path) => {
            println!("{}", path.display());
            exit::COMPLETED
        }
        Err(error) => {
            eprintln!("error: {error}");
            exit::for_error(&error)
        }
    }
}

/// Installs with a progress bar on stderr; returns the binary path.
async fn run_install(mut options: InstallOptions) -> Result<PathBuf, Error> {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} {bytes}/{total_bytes}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let shown = bar.clone();
    // Without a terminal the bar is hidden: say each stage once instead.
    let plain = !std::io::IsTerminal::is_terminal(&std::io::stderr());
    let said_extracting = Arc::new(std::sync::atomic::AtomicBool::new(false));
    options.progress = Some(Arc::new(move |progress: InstallProgress| match progress {
        InstallProgress::Fetching { spec } => {
            if plain {
                eprintln!("fetching {spec} with npm…");
            }
            shown.set_message(format!("fetching {spec} with npm"));
            shown.enable_steady_tick(std::time::Duration::from_millis(120));
        }
        InstallProgress::Verifying { .. } => {
            if plain {
                eprintln!("verifying integrity…");
            }
            shown.set_message("verifying integrity");
        }
        InstallProgress::Extracting {
            done_bytes,
            total_bytes,
        } => {
            if plain && !said_extracting.swap(true, std::sync::atomic::Ordering::Relaxed) {
                eprintln!("extracting {} MB…", total_bytes / 1_000_000);
            }
            shown.set_message("extracting");
            shown.set_length(total_bytes);
            shown.set_position(done_bytes);
        }
        InstallProgress::Installed { path } | InstallProgress::AlreadyInstalled { path } => {
            if plain {
                eprintln!("codex ready at {}", path.display());
            }
            shown.set_message(format!("codex ready at {}", path.display()));
        }
        _ => {}
    }));
    let result = tokio::task::spawn_blocking(move || install_pinned(&options))
        .await
        .map_err(|e| Error::Install {
            version: binary::PINNED_VERSION.into(),
            reason: format!("the install task failed: {e}"),
            fix: "run `codexkit install` again".into(),
        })?;
    bar.finish_and_clear();
    result
}

/// A client for the codex that options and discovery find; installs the pinned one when none
/// is found, unless `no_install` or the user named a binary (`--codex-path`,
/// `CODEXKIT_CODEX_PATH`): a binary that was asked for and is missing is an error, not a reason
/// to download another. The binary must answer `--version` like codex does.
pub async fn codex_client(
    options: CodexOptions,
    no_install: bool,
    quiet: bool,
) -> Result<Codex, Error> {
    let codex = match Codex::new(options.clone()) {
        Ok(codex) => codex,
        Err(Error::BinaryNotFound { attempts })
            if !no_install && !attempts.iter().any(named_by_user) =>
        {
            if !quiet {
                eprintln!(
                    "codex not found; installing the pinned codex {}…",
                    binary::PINNED_VERSION
                );
            }
            let path = run_install(InstallOptions::default()).await?;
            Codex::new(options.with_codex_path(path))?
        }
        Err(error) => return Err(error),
    };
    if let Some(found) = codex.binary().cloned() {
        // A program that is not codex fails here, clearly, instead of mid-turn.
        tokio::task::spawn_blocking(move || found.check_version())
            .await
            .map_err(|e| Error::BinaryUnusable {
                path: PathBuf::new(),
                reason: format!("the version check failed to run: {e}"),
            })??;
    }
    Ok(codex)
}

/// Whether discovery looked at a binary the user named (and found it missing).
fn named_by_user(attempt: &binary::DiscoveryAttempt) -> bool {
    matches!(
        attempt.source,
        binary::DiscoverySource::ExplicitPath | binary::DiscoverySource::EnvVar
    ) && attempt.path.is_some()
}
