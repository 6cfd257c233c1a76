//! The fault-injection matrix: what a broken, slow or hostile codex does to a turn, with the
//! compiled fake (`codexkit-fake-codex`, see `codexkit_testkit::fake_bin`).
//!
//! Every case asserts the typed outcome, a time bound and, where a process is involved, that
//! no process of its group is left (read from `/proc`). Every case also runs with its own
//! secret as `OPENAI_API_KEY` and as the API key option (so as `CODEX_API_KEY`) in the child's
//! environment; several fakes print their environment. Every error string, `Debug` output,
//! event JSON and all `tracing` output (captured by a subscriber installed here) is checked to
//! hold that secret zero times.
//!
//! The fake binary is found next to this test executable. `cargo test --workspace` builds
//! it; with a narrower command run `cargo build -p codexkit-testkit --bins` first.

use crate::common::eventually;
use codexkit::binary::{CodexBinary, DiscoveryOptions, DiscoverySource, discover};
use codexkit::protocol::{ItemDetails, ThreadEvent};
use codexkit::{Codex, CodexOptions, Error, ThreadOptions, Transport, TurnOptions};
use codexkit_testkit::fake_bin::{FakeScript, FakeStep, RawBytes, Stream};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tempfile::TempDir;

const STARTED: &str = r#"{"type":"thread.started","thread_id":"matrix-thread"}"#;
const TURN_STARTED: &str = r#"{"type":"turn.started"}"#;
const MESSAGE: &str =
    r#"{"type":"item.completed","item":{"id":"item_0","type":"agent_message","text":"ok"}}"#;
const COMPLETED: &str = r#"{"type":"turn.completed","usage":{"input_tokens":1,"cached_input_tokens":0,"cache_write_input_tokens":0,"output_tokens":1,"reasoning_output_tokens":0}}"#;

/// How long a grandchild of the fake lives if nothing kills it.
const GRANDCHILD_LIFETIME_MS: u64 = 60_000;

// ------------------------------------------------------------------------------------------
// A `tracing` capture for the whole test binary.

fn capture() -> Arc<Mutex<String>> {
    static BUFFER: OnceLock<Arc<Mutex<String>>> = OnceLock::new();
    BUFFER
        .get_or_init(|| {
            let buffer = Arc::new(Mutex::new(String::new()));
            let subscriber = Capture {
                buffer: Arc::clone(&buffer),
                next_id: std::sync::atomic::AtomicU64::new(1),
            };
            // Fails only if another test installed a global subscriber first; this module
            // is the only one that does.
            let _ = tracing::subscriber::set_global_default(subscriber);
            buffer
        })
        .clone()
}

fn captured() -> String {
    capture().lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Records every event and span field, at every level, as text.
struct Capture {
    buffer: Arc<Mutex<String>>,
    next_id: std::sync::atomic::AtomicU64,
}

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
}

impl Capture {
    fn push(&self, line: String) {
        let mut buffer = self.buffer.lock().unwrap_or_else(|e| e.into_inner());
        buffer.push_str(&line);
        buffer.push('\n');
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::TRACE)
    }

    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut fields = Fields(String::new());
        span.record(&mut fields);
        self.push(format!("span {}{}", span.metadata().name(), fields.0));
        let id = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::span::Id::from_u64(id)
    }

    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        let mut fields = Fields(String::new());
        values.record(&mut fields);
        self.push(format!("record{}", fields.0));
    }

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        let meta = event.metadata();
        self.push(format!("{} {}{}", meta.level(), meta.target(), fields.0));
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}

// ------------------------------------------------------------------------------------------
// One case of the matrix.

struct Case {
    name: &'static str,
    secret: String,
    dir: TempDir,
    codex: Codex,
    path: PathBuf,
    /// Everything the caller could see or log: errors, events, Debug output.
    seen: Vec<String>,
}

/// The secret of one case: unique, so a leak fails only the case that leaked it.
fn secret_for(name: &str) -> String {
    format!("sk-matrix-{name}-c0dexk1t5ecret")
}

fn options_for(secret: &str) -> CodexOptions {
    CodexOptions::default()
        .with_env("OPENAI_API_KEY", secret)
        .with_api_key(secret)
}

impl Case {
    fn exec(name: &'static str, script: FakeScript) -> Self {
        Self::with(name, script, |options| options)
    }

    fn app_server(name: &'static str, script: FakeScript) -> Self {
        Self::with(name, script, |options| {
            options.with_transport(Transport::AppServer)
        })
    }

    fn with(
        name: &'static str,
        script: FakeScript,
        options: impl FnOnce(CodexOptions) -> CodexOptions,
    ) -> Self {
        capture();
        let secret = secret_for(name);
        let dir = tempfile::tempdir().expect("temp dir");
        let path = script.install(dir.path()).unwrap_or_else(|error| {
            panic!("installing the fake codex: {error}");
        });
        let binary = discover(&DiscoveryOptions::default().with_explicit_path(&path))
            .expect("the fake is a usable binary");
        let codex = Codex::with_binary(binary, options(options_for(&secret)));
        Self {
            name,
            secret,
            dir,
            codex,
            path,
            seen: Vec::new(),
        }
    }

    /// Replaces the script (for scripts that need paths inside the case's directory).
    fn script(&self, script: FakeScript) {
        script
            .install(self.dir.path())
            .expect("fake codex installed");
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn note_error(&mut self, error: &Error) {
        self.seen.push(error.to_string());
        self.seen.push(format!("{error:?}"));
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            self.seen.push(cause.to_string());
            source = cause.source();
        }
    }

    fn note_event(&mut self, event: &ThreadEvent) {
        self.seen
            .push(serde_json::to_string(event).expect("events serialize"));
        self.seen.push(format!("{event:?}"));
    }

    fn note<T: std::fmt::Debug>(&mut self, value: &T) {
        self.seen.push(format!("{value:?}"));
    }

    /// Runs one exec turn to its end and records everything it produced.
    async fn run_exec(&mut self, turn: TurnOptions, prompt: &str, bound: Duration) -> Run {
        let thread = self.codex.start_thread(ThreadOptions::default());
        let started = Instant::now();
        let mut stream = match thread.run_streamed_with(prompt, turn).await {
            Ok(stream) => stream,
            Err(error) => panic!("[{}] the turn did not start: {error}", self.name),
        };
        let pid = stream.process_id().expect("exec turns have a pid");
        let mut items = Vec::new();
        let collected = tokio::time::timeout(bound, async {
            while let Some(item) = stream.next().await {
                items.push(item);
            }
        })
        .await;
        let elapsed = started.elapsed();
        assert!(
            collected.is_ok(),
            "[{}] the stream did not end within {bound:?}; got {items:?}",
            self.name
        );
        drop(stream);
        for item in &items {
            match item {
                Ok(event) => self.note_event(event),
                Err(error) => self.note_error(error),
            }
        }
        Run {
            items,
            elapsed,
            pid,
        }
    }

    /// Asserts that the case's secret appears nowhere: not in what the caller saw, not in
    /// anything logged through `tracing`.
    /// The secret as it appears raw, inside JSON and in `Debug` output.
    fn secret_forms(&self) -> Vec<String> {
        let json = serde_json::to_string(&self.secret).unwrap();
        let debug = format!("{:?}", self.secret);
        let mut forms = vec![
            self.secret.clone(),
            json[1..json.len() - 1].to_owned(),
            debug[1..debug.len() - 1].to_owned(),
        ];
        forms.dedup();
        forms
    }

    fn assert_secret_never_shown(&self) {
        let forms = self.secret_forms();
        let shows = |text: &str| forms.iter().any(|form| text.contains(form.as_str()));
        let mut leaks: Vec<String> = self
            .seen
            .iter()
            .filter(|text| shows(text))
            .map(|text| format!("  seen by the caller: {text}"))
            .collect();
        leaks.extend(
            captured()
                .lines()
                .filter(|line| shows(line))
                .map(|line| format!("  logged through tracing: {line}")),
        );
        assert!(
            leaks.is_empty(),
            "[{}] the secret leaked {} time(s):\n{}",
            self.name,
            leaks.len(),
            leaks.join("\n")
        );
    }
}

struct Run {
    items: Vec<Result<ThreadEvent, Error>>,
    elapsed: Duration,
    pid: u32,
}

impl Run {
    fn events(&self) -> Vec<&ThreadEvent> {
        self.items.iter().filter_map(|i| i.as_ref().ok()).collect()
    }

    fn kinds(&self) -> Vec<String> {
        self.items
            .iter()
            .map(|i| match i {
                Ok(event) => event.kind().to_owned(),
                Err(_) => "ERROR".to_owned(),
            })
            .collect()
    }

    fn error(&self) -> Option<&Error> {
        match self.items.last() {
            Some(Err(error)) => Some(error),
            _ => None,
        }
    }

    fn final_text(&self) -> Option<String> {
        self.events().iter().rev().find_map(|e| match e {
            ThreadEvent::ItemCompleted(done) => match &done.item.details {
                ItemDetails::AgentMessage(message) => Some(message.text.clone()),
                _ => None,
            },
            _ => None,
        })
    }
}

// ------------------------------------------------------------------------------------------
// Processes, from /proc.

struct ProcStat {
    state: char,
    pgrp: u32,
}

fn proc_stat(pid: u32) -> Option<ProcStat> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(ProcStat {
        state: fields.first()?.chars().next()?,
        pgrp: fields.get(2)?.parse().ok()?,
    })
}

/// Live (not zombie) processes in process group `pgid`.
fn live_group_members(pgid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| proc_stat(*pid).is_some_and(|stat| stat.pgrp == pgid && stat.state != 'Z'))
        .collect()
}

/// Asserts that the group led by `leader` is gone: the leader reaped (not even a zombie) and
/// no live member left, within a few seconds.
async fn assert_group_gone(case: &str, leader: u32) {
    let gone = eventually(10, || {
        live_group_members(leader).is_empty() && proc_stat(leader).is_none_or(|s| s.pgrp != leader)
    })
    .await;
    assert!(
        gone,
        "[{case}] process group {leader} still has processes: {:?} (leader state {:?})",
        live_group_members(leader),
        proc_stat(leader).map(|s| s.state)
    );
}

fn read_pid(path: &Path) -> u32 {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .parse()
        .expect("a pid")
}

async fn wait_for_file(path: &Path) -> bool {
    eventually(10, || path.exists()).await
}

fn turn(lines: &[&str]) -> Vec<FakeStep> {
    lines.iter().map(|l| FakeStep::stdout_line(*l)).collect()
}

fn message_line(text: &str) -> String {
    json!({"type": "item.completed", "item": {"id": "item_0", "type": "agent_message", "text": text}})
        .to_string()
}

// ------------------------------------------------------------------------------------------
// Exec transport: output that is big, broken or strange.

/// A line of exactly `len` bytes: an agent message padded with `x`.
fn padded_message_steps(len: usize) -> (Vec<FakeStep>, usize) {
    let prefix =
        r#"{"type":"item.completed","item":{"id":"item_0","type":"agent_message","text":""#;
    let suffix = r#""}}"#;
    let text_len = len - prefix.len() - suffix.len();
    (
        vec![
            FakeStep::StdoutBytes(RawBytes::Text(prefix.into())),
            FakeStep::Fill {
                stream: Stream::Stdout,
                byte: b'x',
                len: text_len as u64,
                newline: false,
            },
            FakeStep::StdoutBytes(RawBytes::Text(format!("{suffix}\n"))),
        ],
        text_len,
    )
}

#[tokio::test]
async fn a_line_exactly_at_the_limit_is_delivered_whole_and_one_byte_more_is_line_too_long() {
    const LIMIT: usize = 8 * 1024 * 1024;
    for (len, fits) in [(LIMIT - 1, true), (LIMIT, true), (LIMIT + 1, false)] {
        let (steps, text_len) = padded_message_steps(len);
        let mut case = Case::with(
            "line-limit",
            FakeScript::new()
                .step(FakeStep::stdout_line(STARTED))
                .steps(steps)
                .step(FakeStep::stdout_line(COMPLETED)),
            |o| o.with_max_line_bytes(LIMIT),
        );
        let run = case
            .run_exec(TurnOptions::default(), "go", Duration::from_secs(60))
            .await;
        if fits {
            assert_eq!(
                run.kinds(),
                ["thread.started", "item.completed", "turn.completed"],
                "len {len}"
            );
            assert_eq!(run.final_text().map(|t| t.len()), Some(text_len));
        } else {
            assert_eq!(run.kinds(), ["thread.started", "ERROR"], "len {len}");
            assert!(
                matches!(run.error(), Some(Error::LineTooLong { limit: LIMIT })),
                "{:?}",
                run.error()
            );
        }
        assert!(
            run.elapsed < Duration::from_secs(30),
            "took {:?}",
            run.elapsed
        );
        assert_group_gone(case.name, run.pid).await;
        case.assert_secret_never_shown();
    }
}

#[tokio::test]
async fn invalid_utf8_on_stdout_is_a_warning_and_the_turn_goes_on() {
    let mut case = Case::exec(
        "stdout-utf8",
        FakeScript::new()
            .step(FakeStep::stdout_line(STARTED))
            .step(FakeStep::StdoutBytes(
                b"{\"type\":\"item.completed\",\"bad\":\"\xff\xfe\xc3\"}\n"
                    .to_vec()
                    .into(),
            ))
            .step(FakeStep::StdoutBytes(
                b"\x80\x80 lone continuation bytes\n".to_vec().into(),
            ))
            .steps(turn(&[MESSAGE, COMPLETED])),
    );
    let run = case
        .run_exec(TurnOptions::default(), "go", Duration::from_secs(30))
        .await;
    assert_eq!(
        run.kinds(),
        [
            "thread.started",
            "codexkit.warning",
            "codexkit.warning",
            "item.completed",
            "turn.completed"
        ]
    );
    let ThreadEvent::Warning(warning) = run.events()[1] else {
        unreachable!()
    };
    assert!(warning.message.contains("UTF-8"), "{warning:?}");
    assert!(
        warning
            .excerpt
            .as_deref()
            .unwrap_or("")
            .contains('\u{FFFD}'),
        "{warning:?}"
    );
    assert!(run.elapsed < Duration::from_secs(10));
    assert_group_gone(case.name, run.pid).await;
    case.assert_secret_never_shown();
}

#[tokio::test]
async fn invalid_utf8_on_stderr_reaches_the_error_as_replacement_characters() {
    let mut case = Case::exec(
        "stderr-utf8",
        FakeScript::new()
            .step(FakeStep::stdout_line(STARTED))
            .step(FakeStep::StderrBytes(
                b"boom \xff\xfe\xc3 end\n".to_vec().into(),
            ))
            .step(FakeStep::Exit(1)),
    );
    let run = case
        .run_exec(TurnOptions::default(), "go", Duration::from_secs(30))
        .await;
    let Some(Error::ProcessExited {
        code, stderr_tail, ..
    }) = run.error()
    else {
        panic!("expected ProcessExited, got {:?}", run.items);
    };
    assert_eq!(*code, Some(1));
    assert!(stderr_tail.contains("boom"), "{stderr_tail}");
    assert!(stderr_tail.contains('\u{FFFD}'), "{stderr_tail}");
    assert!(stderr_tail.contains("end"), "{stderr_tail}");
    assert!(run.elapsed < Duration::from_secs(10));
    assert_group_gone(case.name, run.pid).await;
    case.assert_secret_never_shown();
}

#[tokio::test]
async fn a_line_split_inside_a_multibyte_character_is_joined() {
    let line = message_line("héllo ✓ wörld");
    let bytes = line.as_bytes();
    // Cut after the first byte of the three-byte check mark.
    let cut = line.find('✓').unwrap() + 1;
    let mut case = Case::exec(
        "split-utf8",
        FakeScript::new()
            .step(FakeStep::stdout_line(STARTED))
            .step(FakeStep::StdoutBytes(bytes[..cut].to_vec().into()))
            .step(FakeStep::SleepMs(150))
            .step(FakeStep::StdoutBytes(bytes[cut..].to_vec().into()))
            .step(FakeStep::SleepMs(150))
            .step(FakeStep::StdoutBytes(b"\n".to_vec().into()))
            .step(FakeStep::stdout_line(COMPLETED)),
    );
    let run = case
        .run_exec(TurnOptions::default(), "go", Duration::from_secs(30))
        .await;
    assert_eq!(
        run.kinds(),
        ["thread.started", "item.completed", "turn.completed"]
    );
    assert_eq!(run.final_text().as_deref(), Some("héllo ✓ wörld"));
    assert_group_gone(case.name, run.pid).await;
    case.assert_secret_never_shown();
}

#[tokio::test]
async fn noise_lines_are_warnings_and_blank_lines_nothing() {
    let mut case = Case::exec(
        "noise",
        FakeScript::new()
            .step(FakeStep::stdout_line("Reading prompt from stdin..."))
            .step(FakeStep::stdout_line(STARTED))
            .step(FakeStep::stdout_line(""))
            .step(FakeStep::stdout_line("   "))
            .step(FakeStep::stdout_line("[1,2,3]"))
            .step(FakeStep::stdout_line("\"a string\""))
            .step(FakeStep::stdout_line("{\"type\":\"item.completed\",")) // cut JSON
            .step(FakeStep::stdout_line("\u{1b}[31mcoloured\u{1b}[0m"))
            .step(FakeStep::StdoutBytes(b"crlf line\r\n".to_vec().into()))
            .steps(turn(&[MESSAGE, COMPLETED])),
    );
    let run = case
        .run_exec(TurnOptions::default(), "go", Duration::from_secs(30))
        .await;
    let kinds = run.kinds();
    assert_eq!(kinds.first().map(String::as_str), Some("codexkit.warning"));
    assert_eq!(
        kinds.iter().filter(|k| *k == "codexkit.warning").count(),
        6,
        "{kinds:?}"
    );
    assert_eq!(
        &kinds[kinds.len() - 2..],
        ["item.completed", "turn.completed"]
    );
    assert_eq!(run.final_text().as_deref(), Some("ok"));
    assert_group_gone(case.name, run.pid).await;
    case.assert_secret_never_shown();
}

#[tokio::test]
async fn unknown_event_and_item_types_are_unknown_and_the_stream_goes_on() {
    let mut case = Case::exec(
        "unknown-types",
        FakeScript::new().steps(turn(&[
            STARTED,
            r#"{"type":"turn.pondering","depth":3}"#,
            r#"{"no_type_at_all":true}"#,
            r#"{"type":"item.started","item":{"id":"item_9","type":"hologram","beam":"blue"}}"#,
            r#"{"type":"item.completed","item":{"id":"item_9","type":"hologram","beam":"blue"}}"#,
            MESSAGE,
            COMPLETED,
        ])),
    );
    let run = case
        .run_exec(TurnOptions::default(), "go", Duration::from_secs(30))
        .await;
    let events = run.events();
    assert_eq!(events.len(), 7, "{:?}", run.kinds());
    assert!(matches!(events[1], ThreadEvent::Unknown(raw) if raw["depth"] == 3));
    assert!(matches!(events[2], ThreadEvent::Unknown(_)));
    let ThreadEvent::ItemCompleted(done) = events[4] else {
        panic!("{:?}", events[4]);
    };
    assert!(matches!(&done.item.details, ItemDetails::Unknown(raw) if raw["beam"] == "blue"));
    assert_eq!(
        run.kinds().last().map(String::as_str),
        Some("turn.completed")
    );
    assert_group_gone(case.name, run.pid).await;
    case.assert_secret_never_shown();
}

#[tokio::test]
async fn the_terminal_event_decides_not_the_exit_code() {
    // turn.failed, then exit 0: the turn failed.
    let mut case = Case::exec(
        "failed-exit-0",
        FakeScript::new()
            .steps(turn(&[
                STARTED,
                r#"{"type":"turn.failed","error":{"message":"model said no"}}"#,
            ]))
            .step(FakeStep::Exit(0)),
    );
    let run = case
        .run_exec(TurnOptions::default(), "go", Duration::from_secs(30))
        .await;
    assert_eq!(run.kinds(), ["thread.started", "turn.failed"]);
    let error = case
        .codex
        .start_thread(ThreadOptions::default())
        .run("go")
        .await
        .expect_err("turn.failed is an error");
    case.note_error(&error);
    assert!(
        matches!(&error, Error::TurnFailed { message } if message == "model said no"),
        "{error:?}"
    );
    assert!(!error.is_retryable());
    assert_group_gone(case.name, run.pid).await;
    case.assert_secret_never_shown();

    // turn.completed, then exit 1: the turn completed.
    let mut case = Case::exec(
        "completed-exit-1",
        FakeScript::new()
            .steps(turn(&[STARTED, MESSAGE, COMPLETED]))
            .step(FakeStep::stderr_line("shutdown hiccup"))
            .step(FakeStep::Exit(1)),
    );
    let run = case
        .run_exec(TurnOptions::default(), "go", Duration::from_secs(30))
        .await;
    assert_eq!(
        run.kinds(),
        ["thread.started", "item.completed", "turn.completed"]
    );
    let result = case
        .codex
        .start_thread(ThreadOptions::default())
        .run("go")
        .await
        .expect("turn.completed is success whatever the exit code");
    case.note(&result);
    assert_eq!(result.final_response, "ok");
    assert_group_gone(case.name, run.pid).await;
    case.assert_secret_never_shown();
}

#[tokio::test]
async fn exit_without_a_terminal_event_is_process_exited_with_code_and_stderr() {
    let mut case = Case::exec(
        "no-terminal",
        FakeScript::new()
            .steps(turn(&[STARTED, TURN_STARTED]))
            .step(FakeStep::stderr_line("Error: stream disconnected"))
            .step(FakeStep::EchoEnv(Stream::Stderr))
            .step(FakeStep::Exit(4)),
    );
    let run = case
        .run_exec(TurnOptions::default(), "go", Duration::from_secs(30))
        .await;
    assert_eq!(run.kinds(), ["thread.started", "turn.started", "ERROR"]);
    let Some(
        error @ Error::ProcessExited {
            code,
            signal,
            stderr_tail,
        },
    ) = run.error()
    else {
        panic!("{:?}", run.items);
    };
    assert_eq!((*code, *signal), (Some(4), None));
    assert!(stderr_tail.contains("stream disconnected"), "{stderr_tail}");
    assert!(
        stderr_tail.contains("OPENAI_API_KEY="),
        "env echoed: {stderr_tail}"
    );
    assert!(error.to_string().contains("exit code 4"), "{error}");
    assert!(error.is_retryable());
    assert!(
        run.elapsed < Duration::from_secs(10),
        "took {:?}",
        run.elapsed
    );
    assert_group_gone(case.name, run.pid).await;
    case.assert_secret_never_shown();
}

#[tokio::test]
async fn a_crash_by_signal_carries_the_signal() {
    for signal in [11, 9, 6] {
        let mut case = Case::exec(
            "signal",
            FakeScript::new()
                .step(FakeStep::stdout_line(STARTED))
                .step(FakeStep::stderr_line("about to crash"))
                .step(FakeStep::KillSelf(signal)),
        );
        let run = case
            .run_exec(TurnOptions::default(), "go", Duration::from_secs(30))
            .await;
        let Some(
            error @ Error::ProcessExited {
                code,
                signal: got,
                stderr_tail,
            },
        ) = run.error()
        else {
            panic!("signal {signal}: {:?}", run.items);
        };
        assert_eq!((*code, *got), (None, Some(signal)));
        assert!(stderr_tail.contains("about to crash"), "{stderr_tail}");
        assert!(
            error
                .to_string()
                .contains(&format!("killed by signal {signal}")),
            "{error}"
        );
        assert!(
            run.elapsed < Duration::from_secs(10),
            "took {:?}",
            run.elapsed
        );
        assert_group_gone(case.name, run.pid).await;
        case.assert_secret_never_shown();
    }
}

#[tokio::test]
async fn stderr_closed_early_and_stdin_closed_unread_do_not_disturb_the_turn() {
    // Stderr closes first; stdout goes on to the end of the turn.
    let mut case = Case::exec(
        "stderr-closed",
        FakeScript::new()
            .step(FakeStep::stderr_line("bye, stderr"))
            .step(FakeStep::CloseStderr)
            .step(FakeStep::SleepMs(200))
            .steps(turn(&[STARTED, MESSAGE, COMPLETED])),
    );
    let run = case
        .run_exec(TurnOptions::default(), "go", Duration::from_secs(30))
        .await;
    assert_eq!(
        run.kinds(),
        ["thread.started", "item.completed", "turn.completed"]
    );
    assert_group_gone(case.name, run.pid).await;
    case.assert_secret_never_shown();

    // Stdin closed without reading an 8 MiB prompt: writing it fails with EPIPE, which must
    // neither kill this process (SIGPIPE) nor fail the turn.
    let mut case = Case::exec(
        "stdin-closed",
        FakeScript::new()
            .step(FakeStep::CloseStdin)
            .step(FakeStep::SleepMs(300))
            .steps(turn(&[STARTED, MESSAGE, COMPLETED])),
    );
    let prompt = "p".repeat(8 << 20);
    let run = case
        .run_exec(TurnOptions::default(), &prompt, Duration::from_secs(30))
        .await;
    assert_eq!(
        run.kinds(),
        ["thread.started", "item.completed", "turn.completed"]
    );
    assert_group_gone(case.name, run.pid).await;

    // And the same fake dying at once, with the prompt still being written.
    let mut case = Case::exec(
        "stdin-closed-exit",
        FakeScript::new()
            .step(FakeStep::CloseStdin)
            .step(FakeStep::Exit(3)),
    );
    let run = case
        .run_exec(TurnOptions::default(), &prompt, Duration::from_secs(30))
        .await;
    assert!(
        matches!(
            run.error(),
            Some(Error::ProcessExited { code: Some(3), .. })
        ),
        "{:?}",
        run.items
    );
    assert_group_gone(case.name, run.pid).await;
    case.assert_secret_never_shown();
}

// ------------------------------------------------------------------------------------------
// Exec transport: hangs, deadlines and processes left behind.

#[tokio::test]
async fn a_hang_before_the_first_line_hits_the_idle_deadline_and_leaves_no_process() {
    let mut case = Case::exec("hang-start", FakeScript::new());
    let grandchild_pid = case.file("grandchild.pid");
    case.script(
        FakeScript::new()
            .ignore_sigterm(true)
            .step(FakeStep::SpawnGrandchild {
                pid_file: Some(grandchild_pid.clone()),
                lifetime_ms: GRANDCHILD_LIFETIME_MS,
            })
            .step(FakeStep::Hang),
    );
    let idle = Duration::from_millis(400);
    let run = case
        .run_exec(
            TurnOptions::default().with_idle_timeout(idle),
            "go",
            Duration::from_secs(20),
        )
        .await;
    assert_eq!(run.kinds(), ["ERROR"]);
    assert!(
        matches!(
            run.error(),
            Some(Error::DeadlineExceeded { deadline: "idle", after }) if *after == idle
        ),
        "{:?}",
        run.items
    );
    assert!(run.error().unwrap().is_retryable());
    assert!(
        run.elapsed >= idle && run.elapsed < Duration::from_secs(5),
        "took {:?}",
        run.elapsed
    );
    assert!(wait_for_file(&grandchild_pid).await);
    let grandchild = read_pid(&grandchild_pid);
    assert_group_gone(case.name, run.pid).await;
    assert!(
        proc_stat(grandchild).is_none_or(|s| s.state == 'Z'),
        "the grandchild survived"
    );
    case.assert_secret_never_shown();
}

#[tokio::test]
async fn a_hang_mid_turn_hits_the_turn_deadline_and_leaves_no_process() {
    let mut case = Case::exec(
        "hang-mid",
        FakeScript::new()
            .ignore_sigterm(true)
            .steps(turn(&[STARTED, TURN_STARTED]))
            .step(FakeStep::Hang),
    );
    let limit = Duration::from_millis(800);
    let run = case
        .run_exec(
            TurnOptions::default().with_timeout(limit),
            "go",
            Duration::from_secs(20),
        )
        .await;
    assert_eq!(run.kinds(), ["thread.started", "turn.started", "ERROR"]);
    assert!(
        matches!(
            run.error(),
            Some(Error::DeadlineExceeded { deadline: "turn", after }) if *after == limit
        ),
        "{:?}",
        run.items
    );
    assert!(
        run.elapsed >= limit && run.elapsed < Duration::from_secs(5),
        "took {:?}",
        run.elapsed
    );
    assert_group_gone(case.name, run.pid).await;
    case.assert_secret_never_shown();
}

#[tokio::test]
async fn a_grandchild_holding_stdout_after_codex_exited_does_not_hang_the_turn() {
    // No terminal event: the error must come although stdout stays open.
    let mut case = Case::exec("grandchild-exit", FakeScript::new());
    let pid_file = case.file("grandchild.pid");
    case.script(
        FakeScript::new()
            .step(FakeStep::SpawnGrandchild {
                pid_file: Some(pid_file.clone()),
                lifetime_ms: GRANDCHILD_LIFETIME_MS,
            })
            .step(FakeStep::stdout_line(STARTED))
            .step(FakeStep::stderr_line("crashed, child left behind"))
            .step(FakeStep::Exit(2)),
    );
    let run = case
        .run_exec(TurnOptions::default(), "go", Duration::from_secs(30))
        .await;
    assert!(
        matches!(
            run.error(),
            Some(Error::ProcessExited { code: Some(2), .. })
        ),
        "{:?}",
        run.items
    );
    assert!(
        run.elapsed < Duration::from_secs(10),
        "took {:?}",
        run.elapsed
    );
    let grandchild = read_pid(&pid_file);
    assert_group_gone(case.name, run.pid).await;
    assert!(proc_stat(grandchild).is_none_or(|s| s.state == 'Z'));

    // With a terminal event: the turn completes, and the group is gone afterwards.
    let mut case = Case::exec("grandchild-done", FakeScript::new());
    let pid_file = case.file("grandchild.pid");
    case.script(
        FakeScript::new()
            .step(FakeStep::SpawnGrandchild {
                pid_file: Some(pid_file.clone()),
                lifetime_ms: GRANDCHILD_LIFETIME_MS,
            })
            .steps(turn(&[STARTED, MESSAGE, COMPLETED])),
    );
    let run = case
        .run_exec(TurnOptions::default(), "go", Duration::from_secs(30))
        .await;
    assert_eq!(
        run.kinds(),
        ["thread.started", "item.completed", "turn.completed"]
    );
    assert!(
        run.elapsed < Duration::from_secs(10),
        "took {:?}",
        run.elapsed
    );
    assert_group_gone(case.name, run.pid).await;
    case.assert_secret_never_shown();
}

// ------------------------------------------------------------------------------------------
// The binary itself.

#[tokio::test]
async fn a_missing_or_non_executable_binary_is_a_typed_error_before_any_turn() {
    capture();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-codex");
    let error = Codex::new(options_for(&secret_for("binary")).with_codex_path(&missing))
        .expect_err("missing binary");
    assert!(matches!(&error, Error::BinaryNotFound { .. }), "{error:?}");
    assert!(error.to_string().contains("no-such-codex"), "{error}");
    assert!(!error.is_retryable());

    // A copy of a real program without the executable bit.
    let not_executable = dir.path().join("codex");
    std::fs::copy(codexkit_testkit::fake_codex_bin().unwrap(), &not_executable).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&not_executable, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let started = Instant::now();
    let error = Codex::new(options_for(&secret_for("binary")).with_codex_path(&not_executable))
        .expect_err("not executable");
    assert!(
        matches!(&error, Error::BinaryUnusable { path, .. } if path == &not_executable),
        "{error:?}"
    );
    // Given directly, it fails at spawn time instead, with the OS error.
    let codex = Codex::with_binary(
        CodexBinary::new(&not_executable, DiscoverySource::ExplicitPath),
        options_for(&secret_for("binary")),
    );
    let error = codex
        .start_thread(ThreadOptions::default())
        .run("go")
        .await
        .expect_err("cannot spawn");
    let Error::Spawn { source, .. } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(source.kind(), std::io::ErrorKind::PermissionDenied);
    assert!(started.elapsed() < Duration::from_secs(5));
    for text in [error.to_string(), format!("{error:?}")] {
        assert!(!text.contains(&secret_for("binary")));
    }
}

#[tokio::test]
async fn a_wrong_version_is_warned_about_and_still_used() {
    let mut case = Case::exec(
        "wrong-version",
        FakeScript::new()
            .version("0.1.0")
            .steps(turn(&[STARTED, MESSAGE, COMPLETED])),
    );
    let run = case
        .run_exec(TurnOptions::default(), "go", Duration::from_secs(30))
        .await;
    assert_eq!(
        run.kinds(),
        ["thread.started", "item.completed", "turn.completed"]
    );
    let path = case.path.display().to_string();
    let warned = eventually(10, || {
        captured()
            .lines()
            .any(|l| l.starts_with("WARN") && l.contains(&path) && l.contains("0.1.0"))
    })
    .await;
    assert!(warned, "no version warning for {path} in:\n{}", captured());
    assert_group_gone(case.name, run.pid).await;
    case.assert_secret_never_shown();
}

// ------------------------------------------------------------------------------------------
// Secrets in what the child prints.

#[tokio::test]
async fn a_secret_in_stdout_noise_never_reaches_events_or_logs() {
    let mut case = Case::exec(
        "secret-noise",
        FakeScript::new()
            .step(FakeStep::stdout_line(STARTED))
            .step(FakeStep::EchoEnv(Stream::Stdout))
            .step(FakeStep::stdout_line(
                "key: {{env:OPENAI_API_KEY}} and {{env:CODEX_API_KEY}}",
            ))
            .steps(turn(&[MESSAGE, COMPLETED])),
    );
    let run = case
        .run_exec(TurnOptions::default(), "go", Duration::from_secs(30))
        .await;
    assert!(run.kinds().iter().any(|k| k == "codexkit.warning"));
    assert_eq!(
        run.kinds().last().map(String::as_str),
        Some("turn.completed")
    );
    assert_group_gone(case.name, run.pid).await;
    case.assert_secret_never_shown();
}

#[tokio::test]
async fn a_secret_in_codex_error_messages_never_reaches_errors_events_or_logs() {
    let failed = json!({"type": "turn.failed", "error": {
        "message": "unexpected status 401 Unauthorized: Incorrect API key provided: {{env:OPENAI_API_KEY}}"
    }});
    let error_event = json!({"type": "error", "message": "retrying; key {{env:CODEX_API_KEY}}"});
    let mut case = Case::exec(
        "secret-error",
        FakeScript::new()
            .step(FakeStep::stdout_line(STARTED))
            .step(FakeStep::stdout_line(error_event.to_string()))
            .step(FakeStep::stdout_line(failed.to_string()))
            .step(FakeStep::stderr_line("{{env}}")),
    );
    let run = case
        .run_exec(TurnOptions::default(), "go", Duration::from_secs(30))
        .await;
    assert_eq!(run.kinds(), ["thread.started", "error", "turn.failed"]);
    let error = case
        .codex
        .start_thread(ThreadOptions::default())
        .run("go")
        .await
        .expect_err("turn.failed");
    case.note_error(&error);
    assert!(
        matches!(&error, Error::TurnFailed { message } if message.contains("401")),
        "{error:?}"
    );
    assert_group_gone(case.name, run.pid).await;
    case.assert_secret_never_shown();
}

/// A secret with characters JSON escapes (`"` and `\`; a password, say) appears escaped in
/// the JSON line codex prints, and unescaped once decoded.
#[tokio::test]
async fn a_secret_that_json_escapes_is_redacted_in_decoded_events_too() {
    let failed = json!({"type": "turn.failed", "error": {
        "message": "bad credentials: {{json_env:OPENAI_API_KEY}}"
    }});
    let mut case = Case::exec(
        r#"json"esc\ape"#,
        FakeScript::new()
            .step(FakeStep::stdout_line(STARTED))
            .step(FakeStep::stdout_line(failed.to_string())),
    );
    assert!(case.secret.contains('"') && case.secret.contains('\\'));
    let run = case
        .run_exec(TurnOptions::default(), "go", Duration::from_secs(30))
        .await;
    assert_eq!(run.kinds(), ["thread.started", "turn.failed"]);
    assert_group_gone(case.name, run.pid).await;
    case.assert_secret_never_shown();

    let mut case = Case::app_server(r#"as-json"esc\ape"#, FakeScript::new());
    let pid_file = case.file("fake.pid");
    case.script(FakeScript::new().pid_file(&pid_file).app_server_steps([
        FakeStep::Handshake,
        FakeStep::AwaitRequest("thread/start".into()),
        FakeStep::RespondError {
            code: -32600,
            message: "bad credentials: {{env:CODEX_API_KEY}}".into(),
        },
    ]));
    let error = tokio::time::timeout(
        Duration::from_secs(20),
        case.codex.start_thread(ThreadOptions::default()).run("go"),
    )
    .await
    .expect("no hang")
    .expect_err("thread/start fails");
    case.note_error(&error);
    assert!(matches!(&error, Error::Rpc { .. }), "{error:?}");
    let fake = read_pid(&pid_file);
    let name = case.name;
    case.assert_secret_never_shown();
    drop(case);
    assert_group_gone(name, fake).await;
}

// ------------------------------------------------------------------------------------------
// App-server transport.

const THREAD: &str = "thr_matrix";
const TURN: &str = "turn_matrix";

fn thread_start_steps() -> Vec<FakeStep> {
    vec![
        FakeStep::Handshake,
        FakeStep::AwaitRequest("thread/start".into()),
        FakeStep::Respond(json!({"thread": {"id": THREAD}})),
    ]
}

fn turn_steps(text: &str) -> Vec<FakeStep> {
    vec![
        FakeStep::AwaitRequest("turn/start".into()),
        FakeStep::Respond(
            json!({"turn": {"id": TURN, "items": [], "status": "inProgress", "error": null}}),
        ),
        FakeStep::Send(
            json!({"method": "turn/started", "params": {"threadId": THREAD,
            "turn": {"id": TURN, "items": [], "status": "inProgress", "error": null}}}),
        ),
        FakeStep::Send(
            json!({"method": "item/completed", "params": {"threadId": THREAD,
            "turnId": TURN, "item": {"type": "agentMessage", "id": "msg_1", "text": text}}}),
        ),
        FakeStep::Send(
            json!({"method": "turn/completed", "params": {"threadId": THREAD,
            "turn": {"id": TURN, "items": [], "status": "completed", "error": null}}}),
        ),
    ]
}

fn received(log: &Path) -> Vec<Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[tokio::test]
async fn an_app_server_dying_with_a_request_pending_fails_it_at_once() {
    let mut case = Case::app_server("as-dies", FakeScript::new());
    let pid_file = case.file("fake.pid");
    let mut steps = vec![
        FakeStep::Handshake,
        FakeStep::AwaitRequest("thread/start".into()),
    ];
    steps.push(FakeStep::stderr_line("fatal: state db is corrupt"));
    steps.push(FakeStep::EchoEnv(Stream::Stderr));
    steps.push(FakeStep::SleepMs(300));
    steps.push(FakeStep::Exit(3));
    case.script(
        FakeScript::new()
            .pid_file(&pid_file)
            .app_server_steps(steps),
    );
    let started = Instant::now();
    let outcome = tokio::time::timeout(
        Duration::from_secs(20),
        case.codex.start_thread(ThreadOptions::default()).run("go"),
    )
    .await
    .expect("no hang");
    let error = outcome.expect_err("the app-server died");
    case.note_error(&error);
    let Error::ConnectionClosed {
        code,
        signal,
        stderr_tail,
    } = &error
    else {
        panic!("expected ConnectionClosed, got {error:?}");
    };
    assert_eq!((*code, *signal), (Some(3), None));
    assert!(stderr_tail.contains("state db is corrupt"), "{stderr_tail}");
    // "At once": the 300 ms the fake sleeps plus little, far below the request deadline.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    assert_group_gone(case.name, read_pid(&pid_file)).await;
    case.assert_secret_never_shown();
}

#[tokio::test]
async fn an_app_server_killed_mid_turn_ends_the_stream_with_connection_closed() {
    let mut case = Case::app_server("as-killed", FakeScript::new());
    let pid_file = case.file("fake.pid");
    let mut steps = thread_start_steps();
    steps.push(FakeStep::AwaitRequest("turn/start".into()));
    steps.push(FakeStep::Respond(
        json!({"turn": {"id": TURN, "items": [], "status": "inProgress"}}),
    ));
    steps.push(FakeStep::Send(
        json!({"method": "turn/started", "params": {"threadId": THREAD,
        "turn": {"id": TURN, "items": [], "status": "inProgress"}}}),
    ));
    steps.push(FakeStep::SleepMs(200));
    steps.push(FakeStep::KillSelf(9));
    case.script(
        FakeScript::new()
            .pid_file(&pid_file)
            .app_server_steps(steps),
    );
    let thread = case.codex.start_thread(ThreadOptions::default());
    let started = Instant::now();
    let mut stream = thread.run_streamed("go").await.expect("turn starts");
    let mut items = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(item) = stream.next().await {
            items.push(item);
        }
    })
    .await
    .expect("the stream ends");
    let Some(Err(error)) = items.last() else {
        panic!("{items:?}");
    };
    assert!(
        matches!(
            error,
            Error::ConnectionClosed {
                code: None,
                signal: Some(9),
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    for item in &items {
        match item {
            Ok(event) => case.note_event(event),
            Err(error) => case.note_error(error),
        }
    }
    assert_group_gone(case.name, read_pid(&pid_file)).await;
    case.assert_secret_never_shown();
}

#[tokio::test]
async fn an_app_server_that_dies_while_a_grandchild_holds_its_stdout_still_fails_requests_at_once()
{
    let mut case = Case::app_server("as-grandchild", FakeScript::new());
    let pid_file = case.file("fake.pid");
    let grandchild_pid = case.file("grandchild.pid");
    FakeScript::new()
        .pid_file(&pid_file)
        .app_server_steps([
            FakeStep::Handshake,
            FakeStep::SpawnGrandchild {
                pid_file: Some(grandchild_pid.clone()),
                lifetime_ms: GRANDCHILD_LIFETIME_MS,
            },
            FakeStep::AwaitRequest("thread/start".into()),
            FakeStep::Exit(5),
        ])
        .install(case.dir.path())
        .unwrap();
    let started = Instant::now();
    let outcome = tokio::time::timeout(
        Duration::from_secs(30),
        case.codex.start_thread(ThreadOptions::default()).run("go"),
    )
    .await
    .expect("no hang");
    let error = outcome.expect_err("the app-server died");
    case.note_error(&error);
    assert!(
        matches!(error, Error::ConnectionClosed { code: Some(5), .. }),
        "{error:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    let grandchild = read_pid(&grandchild_pid);
    let fake = read_pid(&pid_file);
    let name = case.name;
    case.assert_secret_never_shown();
    drop(case);
    assert_group_gone(name, fake).await;
    assert!(proc_stat(grandchild).is_none_or(|s| s.state == 'Z'));
}

#[tokio::test]
async fn an_app_server_response_to_an_unknown_id_is_ignored() {
    let mut case = Case::app_server("as-unknown-id", FakeScript::new());
    let pid_file = case.file("fake.pid");
    let mut steps = thread_start_steps();
    steps.extend([
        FakeStep::Send(json!({"id": 424242, "result": {"stray": true}})),
        FakeStep::Send(json!({"id": "a-string-id", "result": {}})),
        FakeStep::Send(json!({"id": 424243, "error": {"code": -32600, "message": "stray error"}})),
    ]);
    steps.extend(turn_steps("still fine"));
    case.script(
        FakeScript::new()
            .pid_file(&pid_file)
            .app_server_steps(steps),
    );
    let result = tokio::time::timeout(
        Duration::from_secs(20),
        case.codex.start_thread(ThreadOptions::default()).run("go"),
    )
    .await
    .expect("no hang")
    .expect("the turn completes");
    case.note(&result);
    assert_eq!(result.final_response, "still fine");
    let fake = read_pid(&pid_file);
    let name = case.name;
    case.assert_secret_never_shown();
    drop(case);
    assert_group_gone(name, fake).await;
}

#[tokio::test]
async fn an_app_server_request_of_an_unknown_method_is_answered_with_an_error_at_once() {
    let mut case = Case::app_server("as-unknown-method", FakeScript::new());
    let pid_file = case.file("fake.pid");
    let log = case.file("received.jsonl");
    let mut steps = vec![FakeStep::Handshake];
    steps.push(FakeStep::SendRequest {
        id: json!(77),
        method: "fancy/notYetInvented".into(),
        params: json!({"threadId": THREAD}),
    });
    // The fake exits 121 if no answer comes within a second.
    steps.push(FakeStep::AwaitResponse {
        id: json!(77),
        timeout_ms: 1_000,
    });
    steps.extend([
        FakeStep::AwaitRequest("thread/start".into()),
        FakeStep::Respond(json!({"thread": {"id": THREAD}})),
    ]);
    steps.extend(turn_steps("answered"));
    case.script(
        FakeScript::new()
            .pid_file(&pid_file)
            .received_log(&log)
            .app_server_steps(steps),
    );
    let result = tokio::time::timeout(
        Duration::from_secs(20),
        case.codex.start_thread(ThreadOptions::default()).run("go"),
    )
    .await
    .unwrap_or_else(|_| {
        panic!(
            "hang; the fake received:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        )
    })
    .expect("the turn completes");
    case.note(&result);
    assert_eq!(result.final_response, "answered");
    let reply = received(&log)
        .into_iter()
        .find(|m| m["id"] == 77 && m.get("method").is_none())
        .expect("the fake received an answer to request 77");
    assert_eq!(reply["error"]["code"], -32601, "{reply}");
    assert!(reply.get("result").is_none(), "{reply}");
    let fake = read_pid(&pid_file);
    let name = case.name;
    case.assert_secret_never_shown();
    drop(case);
    assert_group_gone(name, fake).await;
}

#[tokio::test]
async fn malformed_app_server_messages_do_not_break_the_connection() {
    let mut case = Case::app_server("as-malformed", FakeScript::new());
    let pid_file = case.file("fake.pid");
    let mut steps = thread_start_steps();
    steps.extend([
        FakeStep::SendRaw("{not json".into()),
        FakeStep::SendRaw("[1,2,3]".into()),
        FakeStep::SendRaw("\"just a string\"".into()),
        FakeStep::SendRaw("{}".into()),
        FakeStep::SendRaw(r#"{"id": {"nested": true}, "result": 1}"#.into()),
        FakeStep::SendRaw(r#"{"method": 42}"#.into()),
        FakeStep::SendRaw(r#"{"method": "turn/started", "params": "not an object"}"#.into()),
        FakeStep::Send(
            json!({"method": "item/completed", "params": {"threadId": THREAD, "item": 7}}),
        ),
    ]);
    steps.extend(turn_steps("survived"));
    case.script(
        FakeScript::new()
            .pid_file(&pid_file)
            .app_server_steps(steps),
    );
    let result = tokio::time::timeout(
        Duration::from_secs(20),
        case.codex.start_thread(ThreadOptions::default()).run("go"),
    )
    .await
    .expect("no hang")
    .expect("the turn completes");
    case.note(&result);
    assert_eq!(result.final_response, "survived");
    assert!(!case.codex.app_server().await.unwrap().is_closed());
    let fake = read_pid(&pid_file);
    let name = case.name;
    case.assert_secret_never_shown();
    drop(case);
    assert_group_gone(name, fake).await;
}

#[tokio::test]
async fn a_secret_in_app_server_output_never_reaches_errors_or_logs() {
    let mut case = Case::app_server("as-secret", FakeScript::new());
    let pid_file = case.file("fake.pid");
    FakeScript::new()
        .pid_file(&pid_file)
        .app_server_steps([
            FakeStep::Handshake,
            FakeStep::SendRaw("panic: bad key {{env:OPENAI_API_KEY}}".into()),
            FakeStep::Send(json!({"method": "configWarning", "params": {
                "summary": "key {{env:OPENAI_API_KEY}}", "details": null}})),
            FakeStep::AwaitRequest("thread/start".into()),
            FakeStep::RespondError {
                code: -32600,
                message: "invalid api key {{env:CODEX_API_KEY}}".into(),
            },
        ])
        .install(case.dir.path())
        .unwrap();
    let error = tokio::time::timeout(
        Duration::from_secs(20),
        case.codex.start_thread(ThreadOptions::default()).run("go"),
    )
    .await
    .expect("no hang")
    .expect_err("thread/start fails");
    case.note_error(&error);
    assert!(
        matches!(&error, Error::Rpc { method, code: -32600, .. } if method == "thread/start"),
        "{error:?}"
    );
    let fake = read_pid(&pid_file);
    let name = case.name;
    case.assert_secret_never_shown();
    drop(case);
    assert_group_gone(name, fake).await;
}

// ------------------------------------------------------------------------------------------
// Memory: peak RSS growth, measured in a child process running one case alone.

/// The environment variable that makes [`memory_probe`] run a case.
const PROBE_ENV: &str = "CODEXKIT_MEMORY_PROBE";
/// The bound on peak RSS growth while 100+ MB flow through codexkit.
const MEMORY_BOUND_KIB: u64 = 64 * 1024;

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

/// Not a test of its own: the entry point of the child process that [`measure`] starts. It
/// does nothing unless `CODEXKIT_MEMORY_PROBE` names a case.
#[tokio::test]
async fn memory_probe() {
    let Ok(which) = std::env::var(PROBE_ENV) else {
        return;
    };
    let script = match which.as_str() {
        "stderr-flood" => FakeScript::new()
            .step(FakeStep::stderr_flood(100 * 1024 * 1024))
            .steps(turn(&[STARTED, MESSAGE, COMPLETED])),
        "huge-lines" => {
            // 60 lines of 2 MiB each, under an 8 MiB limit: 120 MiB through the line reader.
            let (line, _) = padded_message_steps(2 * 1024 * 1024);
            let mut script = FakeScript::new().step(FakeStep::stdout_line(STARTED));
            for _ in 0..60 {
                script = script.steps(line.clone());
            }
            script.step(FakeStep::stdout_line(COMPLETED))
        }
        "line-over-limit" => FakeScript::new()
            .step(FakeStep::stdout_line(STARTED))
            .step(FakeStep::long_line(128 * 1024 * 1024))
            .step(FakeStep::stdout_line(COMPLETED)),
        other => panic!("unknown probe {other}"),
    };
    let case = Case::with("memory", script, |o| o.with_max_line_bytes(8 * 1024 * 1024));
    let baseline = vm_hwm_kib();
    let thread = case.codex.start_thread(ThreadOptions::default());
    let mut stream = thread.run_streamed("go").await.unwrap();
    let mut kinds = Vec::new();
    let mut text_bytes = 0usize;
    while let Some(item) = stream.next().await {
        match item {
            Ok(ThreadEvent::ItemCompleted(done)) => {
                if let ItemDetails::AgentMessage(m) = &done.item.details {
                    text_bytes += m.text.len();
                }
                kinds.push("item.completed".to_owned());
            }
            Ok(event) => kinds.push(event.kind().to_owned()),
            Err(error) => kinds.push(format!("error: {error}")),
        }
    }
    let peak = vm_hwm_kib();
    println!(
        "CODEXKIT_MEMORY_PROBE baseline_kib={baseline} peak_kib={peak} text_bytes={text_bytes} last={:?} count={}",
        kinds.last(),
        kinds.len()
    );
}

struct Measured {
    growth_kib: u64,
    text_bytes: usize,
    line: String,
}

/// Runs [`memory_probe`] for one case in a fresh process and returns its peak RSS growth.
fn measure(which: &str) -> Measured {
    let exe = std::env::current_exe().unwrap();
    let output = std::process::Command::new(exe)
        .args([
            "fault_matrix::memory_probe",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(PROBE_ENV, which)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "probe {which} failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // libtest prints the test's name on the same line, before the probe's output.
    let line = stdout
        .lines()
        .find_map(|l| l.find("CODEXKIT_MEMORY_PROBE ").map(|at| &l[at..]))
        .unwrap_or_else(|| panic!("no probe output: {stdout}"))
        .to_owned();
    let field = |name: &str| -> u64 {
        line.split_whitespace()
            .find_map(|f| f.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {line}"))
    };
    Measured {
        growth_kib: field("peak_kib").saturating_sub(field("baseline_kib")),
        text_bytes: field("text_bytes") as usize,
        line,
    }
}

#[test]
fn peak_memory_stays_bounded_while_a_hundred_megabytes_of_stderr_flow() {
    let started = Instant::now();
    let m = measure("stderr-flood");
    assert!(m.line.contains("turn.completed"), "{}", m.line);
    assert!(
        m.growth_kib < MEMORY_BOUND_KIB,
        "peak RSS grew {} KiB: {}",
        m.growth_kib,
        m.line
    );
    assert!(started.elapsed() < Duration::from_secs(120));
}

#[test]
fn peak_memory_stays_bounded_while_a_hundred_megabytes_of_huge_lines_flow() {
    let m = measure("huge-lines");
    assert!(m.line.contains("turn.completed"), "{}", m.line);
    assert!(
        m.text_bytes >= 60 * 2 * 1024 * 1024 - 60 * 100,
        "{}",
        m.line
    );
    assert!(
        m.growth_kib < MEMORY_BOUND_KIB,
        "peak RSS grew {} KiB: {}",
        m.growth_kib,
        m.line
    );
}

#[test]
fn peak_memory_stays_bounded_on_a_line_far_over_the_limit() {
    let m = measure("line-over-limit");
    assert!(m.line.contains("longer than"), "{}", m.line);
    assert!(
        m.growth_kib < MEMORY_BOUND_KIB,
        "peak RSS grew {} KiB: {}",
        m.growth_kib,
        m.line
    );
}
