//! The `codexkit` command: run Codex turns and manage the pinned codex binary.

mod ask;
mod completions;
mod doctor;
mod exit;
mod fixtures;
mod install;
mod parity;
mod peers;
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
    /// How log lines on stderr look (filter them with `RUST_LOG`).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Write codexkit's spans (thread, turn, item, tool, approval) to this file as JSON lines,
    /// one per closed span.
    #[arg(long, global = true, value_name = "FILE")]
    trace_file: Option<std::path::PathBuf>,
}

/// The format of log lines on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one turn and show what the agent did.
    #[command(after_help = run::EXAMPLES)]
    Run(Box<run::RunArgs>),
    /// Install the pinned codex binary into codexkit's cache.
    #[command(after_help = "Examples:
  codexkit install                               # prints the installed binary's path
  export CODEXKIT_CODEX_PATH=\"$(codexkit install)\"
  codexkit install --force                       # reinstall
  codexkit install --tarball codex-linux-x64.tgz # offline, from a downloaded npm tarball")]
    Install(install::InstallArgs),
    /// List the models codex offers (through the app-server's `model/list`).
    #[command(after_help = "Examples:
  codexkit models
  codexkit models --json                        # the model/list answer, as JSON")]
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
    /// Check this machine: codex binary, version and integrity, credentials, CODEX_HOME,
    /// sandbox, app-server, npm (exit 3 when codex is missing or unusable, 1 on another failure).
    #[command(after_help = doctor::EXAMPLES)]
    Doctor(doctor::DoctorArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(after_help = completions::EXAMPLES)]
    Completions(completions::CompletionsArgs),
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
    if let Err(error) = init_tracing(cli.log_format, cli.trace_file.as_deref()) {
        eprintln!("error: {error}");
        return ExitCode::from(exit::USAGE);
    }
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
            Command::Parity(args) => parity::parity(args).await,
            Command::Doctor(args) => doctor::doctor(args).await,
            Command::Completions(args) => completions::completions(args),
        }
    });
    ExitCode::from(code)
}

/// Logs to stderr (text or JSON, filtered by `RUST_LOG`) and, with `--trace-file`, writes
/// codexkit's spans to a file as JSON lines when they close.
fn init_tracing(format: LogFormat, trace_file: Option<&std::path::Path>) -> Result<(), String> {
    use tracing_subscriber::fmt::format::FmtSpan;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    use tracing_subscriber::{EnvFilter, Layer as _};
    // Approval outcomes, turn failures and deadlines are already reported on stderr by the
    // renderer (the `error:` line); keep their log quiet so nothing is said twice.
    let default_filter = || {
        EnvFilter::new(
            "warn,codexkit::app_server::connection=error,codexkit::telemetry=error,codexkit::stream=error",
        )
    };
    let filter = match EnvFilter::try_from_default_env() {
        Ok(filter) => filter,
        Err(error) => {
            if std::env::var_os(EnvFilter::DEFAULT_ENV).is_some() {
                eprintln!("warning: RUST_LOG ignored, the default filter applies: {error}");
            }
            default_filter()
        }
    };
    let stderr = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .with_target(false);
    let stderr = match format {
        LogFormat::Text => stderr.with_filter(filter).boxed(),
        LogFormat::Json => stderr.json().with_filter(filter).boxed(),
    };
    let spans = match trace_file {
        Some(path) => {
            let file = std::fs::File::create(path)
                .map_err(|e| format!("could not create {}: {e}", path.display()))?;
            let targets = tracing_subscriber::filter::Targets::new()
                .with_target("codexkit", tracing::Level::INFO)
                // Item spans are DEBUG.
                .with_target("codexkit::telemetry", tracing::Level::DEBUG);
            Some(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_span_events(FmtSpan::CLOSE)
                    .with_writer(std::sync::Mutex::new(file))
                    .with_filter(targets),
            )
        }
        None => None,
    };
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(spans)
        .try_init();
    Ok(())
}
