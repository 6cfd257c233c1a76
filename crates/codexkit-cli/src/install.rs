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
    options.progress = Some(Arc::new(move |progress: InstallProgress| match progress {
        InstallProgress::Fetching { spec } => {
            shown.set_message(format!("fetching {spec} with npm"));
            shown.enable_steady_tick(std::time::Duration::from_millis(120));
        }
        InstallProgress::Verifying { .. } => shown.set_message("verifying integrity"),
        InstallProgress::Extracting {
            done_bytes,
            total_bytes,
        } => {
            shown.set_message("extracting");
            shown.set_length(total_bytes);
            shown.set_position(done_bytes);
        }
        InstallProgress::Installed { path } | InstallProgress::AlreadyInstalled { path } => {
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
/// is found, unless `no_install`.
pub async fn codex_client(
    options: CodexOptions,
    no_install: bool,
    quiet: bool,
) -> Result<Codex, Error> {
    match Codex::new(options.clone()) {
        Ok(codex) => Ok(codex),
        Err(Error::BinaryNotFound { attempts }) if !no_install && options.codex_path.is_none() => {
            if !quiet {
                eprintln!(
                    "codex not found; installing the pinned codex {}…",
                    binary::PINNED_VERSION
                );
            }
            tracing::debug!(?attempts, "installing codex after discovery failed");
            let path = run_install(InstallOptions::default()).await?;
            Codex::new(options.with_codex_path(path))
        }
        Err(error) => Err(error),
    }
}
