//! The `codexkit` command: run Codex turns and manage the pinned codex binary.

mod ask;
mod exit;
mod fixtures;
mod install;
mod parity;
mod render;
mod run;
mod verify;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Drive the Codex coding agent: run turns offline or for real, install the pinned codex.
#[derive(Debug, Parser)]
#[command(name = "codexkit", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one turn and show what the agent did.
    #[command(after_help = run::EXAMPLES)]
    Run(Box<run::RunArgs>),
    /// Install the pinned codex binary into codexkit's cache.
    Install(install::InstallArgs),
    /// List the models codex offers (through the app-server's `model/list`).
    Models(run::ModelsArgs),
    /// Record the scenario catalogue against the pinned codex, or check the recordings.
    #[command(after_help = fixtures::EXAMPLES)]
    Fixtures(fixtures::FixturesArgs),
    /// Check that this machine's codex is the pinned one and that the committed schema and
    /// fixtures still hold (exit 6 when a check fails).
    #[command(after_help = verify::EXAMPLES)]
    Verify(verify::VerifyArgs),
    /// Replay every golden transcript through the decoders and the normalizer, with no
    /// process, and compare SDK-level summaries (exit 6 on a difference).
    #[command(after_help = parity::EXAMPLES)]
    Parity(parity::ParityArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::from(exit::USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: could not start the async runtime: {error}");
            return ExitCode::from(exit::TURN_FAILED);
        }
    };
    let code = runtime.block_on(async {
        match cli.command {
            Command::Run(args) => run::run(*args).await,
            Command::Install(args) => install::install(args).await,
            Command::Models(args) => run::models(args).await,
            Command::Fixtures(args) => fixtures::fixtures(args).await,
            Command::Verify(args) => verify::verify(args).await,
            Command::Parity(args) => parity::parity(args),
        }
    });
    ExitCode::from(code)
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    // Approval outcomes are already reported on stderr by the renderer; keep their log quiet.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,codexkit::app_server::connection=error"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
