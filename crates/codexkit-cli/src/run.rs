//! `codexkit run`: one turn, offline against the mock model or for real.

use crate::exit;
use crate::render::HumanRenderer;
use clap::Args;
use codexkit::approvals::{AcceptAll, ApprovalHandler, Approver, DeclineAll};
use codexkit::protocol::{ThreadEvent, Usage};
use codexkit::structured::OutputSchema;
use codexkit::{
    ApprovalMode, Codex, CodexOptions, ConfigOverride, Error, SandboxMode, ThreadOptions,
    Transport, TurnOptions,
};
use codexkit_testkit::{HermeticCodex, MockModel, MockResponse, OutputItem, Scenario};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

pub const EXAMPLES: &str = "\
Examples:
  codexkit run --offline                      # a real codex turn against the built-in mock model
  codexkit run --offline --cd ./project --json
  codexkit run --scenario failing.json        # your own mock scenario
  codexkit run \"explain this repo\" --sandbox read-only   # your own codex config and credentials";

/// The prompt of the offline demo when none is given.
const DEMO_PROMPT: &str = "List the files in this directory.";

#[derive(Debug, Args)]
pub struct RunArgs {
    /// What to ask the agent. Defaults to a listing request with --offline/--scenario.
    prompt: Option<String>,
    /// Run against the built-in mock model: codex lists the directory, the answer quotes it.
    #[arg(long, conflicts_with = "scenario")]
    offline: bool,
    /// Run against the mock model with this scenario file (JSON).
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// The agent's working directory (default: the current directory).
    #[arg(long = "cd", value_name = "DIR")]
    cd: Option<PathBuf>,
    /// Sandbox for commands the agent runs.
    #[arg(long, value_name = "MODE", value_parser = ["read-only", "workspace-write", "danger-full-access"])]
    sandbox: Option<String>,
    /// Model to use.
    #[arg(long, value_name = "MODEL")]
    model: Option<String>,
    /// Continue an earlier thread.
    #[arg(long, value_name = "THREAD_ID")]
    resume: Option<String>,
    /// Codex config override, `key=value` with a TOML value (repeatable).
    #[arg(short = 'c', long = "config", value_name = "KEY=VALUE")]
    config: Vec<String>,
    /// The codex binary to run.
    #[arg(long, value_name = "PATH")]
    codex_path: Option<PathBuf>,
    /// CODEX_HOME for --offline/--scenario runs (default: a fresh temporary one); reuse it to
    /// --resume an offline thread.
    #[arg(long, value_name = "DIR")]
    codex_home: Option<PathBuf>,
    /// Print normalized events as JSON lines on stdout (nothing else goes to stdout).
    #[arg(long)]
    json: bool,
    /// Fail instead of installing the pinned codex when none is found.
    #[arg(long)]
    no_install: bool,
    /// Allow running outside a Git repository (always on with --offline/--scenario).
    #[arg(long)]
    skip_git_repo_check: bool,
    /// How to talk to codex: one `codex exec` per turn, or a `codex app-server` (streaming
    /// deltas and approvals).
    #[arg(long, value_name = "TRANSPORT", default_value = "exec", value_parser = ["exec", "app-server"])]
    transport: String,
    /// When codex asks before acting (app-server).
    #[arg(long, value_name = "POLICY", value_parser = ["never", "on-request", "untrusted"])]
    approval_policy: Option<String>,
    /// How approval requests are answered (app-server): deny, allow, or ask on the terminal.
    #[arg(long, value_name = "MODE", default_value = "deny", value_parser = ["deny", "allow", "ask"])]
    on_approval: String,
    /// Time an approval may take before it is declined, e.g. `30s`, `2m`.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    approval_timeout: Option<std::time::Duration>,
    /// End the turn when it runs longer than this (exit code 4).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    timeout: Option<std::time::Duration>,
    /// End the turn after this long without any event (exit code 4).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    idle_timeout: Option<std::time::Duration>,
    /// Ask for an answer following this JSON Schema (strict mode). The answer is validated:
    /// stdout then carries only the JSON (unless --json), and a mismatch exits with code 5.
    #[arg(long, value_name = "FILE")]
    output_schema: Option<PathBuf>,
}

/// Reads and checks `--output-schema FILE` before anything starts.
fn load_output_schema(path: Option<&std::path::Path>) -> Result<Option<OutputSchema>, Error> {
    let Some(path) = path else { return Ok(None) };
    let text = std::fs::read_to_string(path).map_err(|e| Error::InvalidOption {
        option: "--output-schema".into(),
        reason: format!("{}: {e}", path.display()),
    })?;
    let schema = serde_json::from_str(&text).map_err(|e| Error::InvalidOption {
        option: "--output-schema".into(),
        reason: format!("{} is not JSON: {e}", path.display()),
    })?;
    OutputSchema::new(schema).map(Some)
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    match humantime::parse_duration(text) {
        Ok(duration) if duration.is_zero() => Err(format!(
            "{text:?} is zero; a deadline must be longer than that, like 30s or 2m"
        )),
        Ok(duration) => Ok(duration),
        Err(e) => Err(format!("{text:?} is not a duration like 30s or 2m: {e}")),
    }
}

/// Keeps the mock model and its CODEX_HOME alive for the run.
struct MockSetup {
    _mock: MockModel,
    _hermetic: HermeticCodex,
}

pub async fn run(args: RunArgs) -> u8 {
    match run_inner(args).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            exit::for_error(&error)
        }
    }
}

async fn run_inner(args: RunArgs) -> Result<u8, Error> {
    let output_schema = load_output_schema(args.output_schema.as_deref())?;
    let mock_scenario = if args.offline {
        Some(demo_scenario())
    } else if let Some(path) = &args.scenario {
        let scenario = Scenario::from_file(path).map_err(|e| Error::InvalidOption {
            option: "--scenario".into(),
            reason: e.to_string(),
        })?;
        if scenario.responses.is_empty() {
            return Err(Error::InvalidOption {
                option: "--scenario".into(),
                reason: format!("{} has no responses", path.display()),
            });
        }
        Some(scenario)
    } else {
        None
    };
    let offline = mock_scenario.is_some();
    if offline {
        if args.resume.is_some() && args.codex_home.is_none() {
            return Err(Error::InvalidOption {
                option: "--resume".into(),
                reason: "with --offline/--scenario, pass the same --codex-home DIR as the run \
                         that created the thread (each mock run has a fresh CODEX_HOME otherwise)"
                    .into(),
            });
        }
        if let Some(text) = args
            .config
            .iter()
            .find(|c| c.trim_start().starts_with("model_provider"))
        {
            return Err(Error::InvalidOption {
                option: "-c".into(),
                reason: format!("{text:?}: --offline/--scenario runs always use the mock model"),
            });
        }
    }

    let mut codex_options = CodexOptions::default();
    let mut thread_options = ThreadOptions::default();
    let mut setup = None;
    if let Some(mut scenario) = mock_scenario {
        // Failures must be fast and deterministic unless the scenario asks for retries.
        if scenario.retries.is_none() {
            scenario.retries = Some(0);
        }
        let mock = MockModel::start(scenario)
            .await
            .map_err(|e| Error::InvalidOption {
                option: "scenario".into(),
                reason: e.to_string(),
            })?;
        let hermetic = match &args.codex_home {
            Some(home) => HermeticCodex::with_codex_home(&mock, home),
            None => HermeticCodex::new(&mock),
        }
        .map_err(|e| Error::InvalidOption {
            option: "--codex-home".into(),
            reason: match &args.codex_home {
                Some(home) => format!("{} cannot be used as CODEX_HOME: {e}", home.display()),
                None => format!("a temporary CODEX_HOME could not be created: {e}"),
            },
        })?;
        // A mock run needs no credentials: keep the user's keys away from codex and from the
        // commands the scripted agent runs.
        for (name, _) in std::env::vars_os() {
            if codexkit::redact::is_secret_name(&name.to_string_lossy()) {
                codex_options = codex_options.without_env(name);
            }
        }
        codex_options = codex_options
            .with_envs(hermetic.env())
            .with_config_literals(hermetic.config_overrides())?;
        thread_options = thread_options
            .with_model(hermetic.model())
            .with_skip_git_repo_check(true);
        setup = Some(MockSetup {
            _mock: mock,
            _hermetic: hermetic,
        });
    }
    if let Some(path) = &args.codex_path {
        codex_options = codex_options.with_codex_path(path);
    }
    if args.transport == "app-server" {
        codex_options = codex_options.with_transport(Transport::AppServer);
    }
    if args.transport == "exec"
        && (args.approval_policy.is_some()
            || args.on_approval != "deny"
            || args.approval_timeout.is_some())
    {
        eprintln!(
            "warning: codex exec never asks for approval (its policy is always `never`); \
             --approval-policy, --on-approval and --approval-timeout apply with --transport app-server"
        );
    }
    if let Some(policy) = &args.approval_policy {
        thread_options = thread_options.with_approval_mode(policy.parse::<ApprovalMode>()?);
    }
    let mut approver = Approver::new(match args.on_approval.as_str() {
        "allow" => Arc::new(AcceptAll) as Arc<dyn ApprovalHandler>,
        "ask" => crate::ask::terminal_approver(),
        _ => Arc::new(DeclineAll),
    });
    if let Some(timeout) = args.approval_timeout {
        approver = approver.with_timeout(timeout);
    }
    thread_options = thread_options.with_approver(approver);
    for text in &args.config {
        thread_options = thread_options.with_config_override(ConfigOverride::parse(text)?);
    }
    if let Some(model) = &args.model {
        thread_options = thread_options.with_model(model);
    }
    if let Some(mode) = &args.sandbox {
        thread_options = thread_options.with_sandbox(mode.parse::<SandboxMode>()?);
    }
    if args.skip_git_repo_check {
        thread_options = thread_options.with_skip_git_repo_check(true);
    }
    let working_dir = match &args.cd {
        Some(dir) => dir.clone(),
        None => std::env::current_dir().map_err(|source| Error::Io {
            action: "reading the current directory",
            path: PathBuf::from("."),
            source,
        })?,
    };
    let working_dir = std::fs::canonicalize(&working_dir).map_err(|e| Error::InvalidOption {
        option: "--cd".into(),
        reason: format!("{}: {e}", working_dir.display()),
    })?;
    thread_options = thread_options.with_working_directory(working_dir);

    let prompt = match (&args.prompt, offline) {
        // `-` reads the prompt from stdin: no argv length limit.
        (Some(prompt), _) if prompt == "-" => {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).map_err(|e| {
                Error::InvalidOption {
                    option: "prompt".into(),
                    reason: format!("reading it from stdin failed: {e}"),
                }
            })?;
            text
        }
        (Some(prompt), _) => prompt.clone(),
        (None, true) => DEMO_PROMPT.to_owned(),
        (None, false) => {
            return Err(Error::InvalidOption {
                option: "prompt".into(),
                reason: "give a prompt, or use --offline / --scenario FILE".into(),
            });
        }
    };

    let codex = crate::install::codex_client(codex_options, args.no_install, args.json).await?;
    let thread = match &args.resume {
        Some(id) => codex.resume_thread(id.as_str(), thread_options),
        None => codex.start_thread(thread_options),
    };
    let mut turn_options = TurnOptions::default();
    if let Some(timeout) = args.timeout {
        turn_options = turn_options.with_timeout(timeout);
    }
    if let Some(timeout) = args.idle_timeout {
        turn_options = turn_options.with_idle_timeout(timeout);
    }
    if let Some(schema) = &output_schema {
        turn_options = turn_options.with_output_schema(schema.as_value().clone());
    }
    let code = drive_turn(
        &codex,
        &thread,
        prompt,
        turn_options,
        args.json,
        output_schema.as_ref(),
    )
    .await;
    drop(setup);
    if let (Some(asked), Some(got)) = (&args.resume, thread.id())
        && asked.as_str() != got.as_str()
    {
        eprintln!(
            "error: codex did not find thread {asked} and ran the turn in a new thread {got}"
        );
        return Ok(exit::TURN_FAILED);
    }
    code
}

async fn drive_turn(
    _codex: &Codex,
    thread: &codexkit::Thread,
    prompt: String,
    turn_options: TurnOptions,
    json: bool,
    schema: Option<&OutputSchema>,
) -> Result<u8, Error> {
    let mut stream = thread.run_streamed_with(prompt, turn_options).await?;
    // With --output-schema, human mode prints nothing but the validated JSON.
    let quiet = schema.is_some() && !json;
    let mut answer_items: Vec<codexkit::ThreadItem> = Vec::new();
    let mut renderer = (!json && !quiet).then(HumanRenderer::new);
    let mut usage: Option<Usage> = None;
    let mut failed: Option<String> = None;
    let mut interrupted = false;
    let mut stdout = std::io::stdout();
    loop {
        let next = tokio::select! {
            next = stream.next() => next,
            signal = termination_signal() => {
                stream.cancel().await;
                if let Some(renderer) = renderer.take() {
                    renderer.abort();
                }
                eprintln!("cancelled ({signal})");
                return Ok(exit::CANCELLED);
            }
        };
        let Some(next) = next else { break };
        let event = match next {
            Ok(event) => event,
            Err(error) => {
                if let Some(renderer) = renderer.take() {
                    renderer.abort();
                }
                return Err(error);
            }
        };
        match &event {
            ThreadEvent::TurnCompleted(done) => usage = Some(done.usage.clone()),
            ThreadEvent::TurnFailed(turn_failed) => {
                failed = Some(turn_failed.error.message.clone())
            }
            ThreadEvent::TurnInterrupted(_) => interrupted = true,
            ThreadEvent::ItemCompleted(done) if schema.is_some() => {
                answer_items.push(done.item.clone())
            }
            _ => {}
        }
        if quiet {
            continue;
        }
        if let Some(renderer) = renderer.as_mut() {
            renderer.event(&event);
            if renderer.output_closed() {
                // stdout closed (e.g. piped into `head`): stop the turn quietly.
                stream.cancel().await;
                return Ok(exit::CANCELLED);
            }
        } else {
            let line = serde_json::to_string(&event).unwrap_or_else(|e| {
                format!(r#"{{"type":"codexkit.warning","message":"unserializable event: {e}"}}"#)
            });
            if writeln!(stdout, "{line}")
                .and_then(|()| stdout.flush())
                .is_err()
            {
                // stdout closed (e.g. piped into `head`): stop the turn quietly.
                stream.cancel().await;
                return Ok(exit::CANCELLED);
            }
        }
    }
    // codex exits by itself after the turn; nothing of it is left when the command ends.
    stream.finish().await;
    if let Some(message) = failed {
        if let Some(renderer) = renderer.take() {
            renderer.abort();
        }
        eprintln!("error: turn failed: {message}");
        return Ok(exit::TURN_FAILED);
    }
    if interrupted {
        if let Some(renderer) = renderer.take() {
            renderer.abort();
        }
        eprintln!("the turn was interrupted");
        return Ok(exit::CANCELLED);
    }
    if let Some(renderer) = renderer.take() {
        renderer.finish(usage.as_ref());
    }
    if let Some(schema) = schema {
        let raw = codexkit::structured::final_answer(&answer_items);
        match schema.validate(&raw) {
            Ok(value) if quiet => println!("{value}"),
            Ok(_) => {}
            Err(Error::SchemaMismatch { errors, .. }) => {
                eprintln!("error: the answer does not match --output-schema:");
                for error in &errors {
                    eprintln!("  {error}");
                }
                eprintln!("the answer was: {raw}");
                return Ok(exit::SCHEMA_MISMATCH);
            }
            Err(error) => return Err(error),
        }
    }
    Ok(exit::COMPLETED)
}

/// The built-in offline scenario: list the working directory, then quote the real listing.
fn demo_scenario() -> Scenario {
    Scenario::new()
        .name("offline demo")
        .response(
            MockResponse::output([
                OutputItem::reasoning(
                    "The user wants a listing; `ls -la` shows it without changing anything.",
                ),
                OutputItem::exec_command("ls -la"),
            ])
            .with_usage(codexkit_testkit::usage(1200, 0, 40, 16)),
        )
        .response(
            MockResponse::output([OutputItem::message(
                "Here is what this directory contains:\n\n{{last_output}}",
            )])
            .with_usage(codexkit_testkit::usage(1500, 1024, 30, 0)),
        )
}

#[derive(Debug, Args)]
pub struct ModelsArgs {
    /// The codex binary to run.
    #[arg(long, value_name = "PATH")]
    codex_path: Option<PathBuf>,
    /// Print the raw `model/list` result as JSON.
    #[arg(long)]
    json: bool,
    /// Fail instead of installing the pinned codex when none is found.
    #[arg(long)]
    no_install: bool,
}

/// `codexkit models`.
pub async fn models(args: ModelsArgs) -> u8 {
    let mut options = CodexOptions::default().with_transport(Transport::AppServer);
    if let Some(path) = &args.codex_path {
        options = options.with_codex_path(path);
    }
    let result = async {
        let codex = crate::install::codex_client(options, args.no_install, args.json).await?;
        codex.app_server().await?.list_models().await
    }
    .await;
    match result {
        Ok(list) => {
            if args.json {
                match serde_json::to_string(&list) {
                    Ok(text) => println!("{text}"),
                    Err(error) => {
                        eprintln!("error: {error}");
                        return exit::TURN_FAILED;
                    }
                }
            } else {
                for model in &list.data {
                    let default = if model.is_default { "  (default)" } else { "" };
                    println!("{}\t{}{default}", model.id, model.display_name);
                }
            }
            exit::COMPLETED
        }
        Err(error) => {
            eprintln!("error: {error}");
            exit::for_error(&error)
        }
    }
}

/// Resolves on Ctrl-C, SIGTERM or SIGHUP: each cancels the turn, so no codex is left behind
/// when `codexkit` is stopped by `timeout`, a CI runner or a closed terminal.
async fn termination_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) else {
            let _ = tokio::signal::ctrl_c().await;
            return "interrupt";
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => "interrupt",
            _ = term.recv() => "terminate",
            _ = hup.recv() => "hangup",
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "interrupt"
    }
}
