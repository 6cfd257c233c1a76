//! Fault injection with a fake codex: what a broken or hostile child process does to a turn.

use crate::common::{eventually, process_exists};
use codexkit::binary::{CodexBinary, DiscoveryOptions, DiscoverySource, discover};
use codexkit::protocol::{ItemDetails, ThreadEvent};
use codexkit::{Codex, CodexOptions, Error, SandboxMode, ThreadOptions};
use codexkit_testkit::{FakeCodex, Invocation};
use pretty_assertions::assert_eq;
use std::path::Path;
use std::time::Duration;
use tempfile::TempDir;

const STARTED: &str = r#"{"type":"thread.started","thread_id":"fake-thread-1"}"#;
const MESSAGE: &str =
    r#"{"type":"item.completed","item":{"id":"item_0","type":"agent_message","text":"ok"}}"#;
const COMPLETED: &str = r#"{"type":"turn.completed","usage":{"input_tokens":1,"cached_input_tokens":0,"cache_write_input_tokens":0,"output_tokens":1,"reasoning_output_tokens":0}}"#;

struct Fake {
    dir: TempDir,
    codex: Codex,
}

fn fake(script: FakeCodex) -> Fake {
    fake_with(script, CodexOptions::default())
}

fn fake_with(script: FakeCodex, options: CodexOptions) -> Fake {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = script.write_to(dir.path()).expect("fake codex written");
    let binary = discover(&DiscoveryOptions::default().with_explicit_path(path))
        .expect("explicit path is used");
    Fake {
        dir,
        codex: Codex::with_binary(binary, options),
    }
}

/// Collects a whole stream, with a deadline so a hang fails the test instead of stalling it.
async fn collect(codex: &Codex) -> Vec<Result<ThreadEvent, Error>> {
    let thread = codex.start_thread(ThreadOptions::default());
    let mut stream = thread.run_streamed("prompt").await.expect("spawned");
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(event) = stream.next().await {
            out.push(event);
        }
    })
    .await
    .expect("the stream ends within the deadline");
    out
}

#[tokio::test]
async fn a_missing_binary_is_a_typed_error_listing_the_places_tried() {
    let empty = tempfile::tempdir().unwrap();
    let error = discover(
        &DiscoveryOptions::default()
            .with_env_path(None)
            .with_cache_root(empty.path())
            .with_search_path(Some(empty.path().as_os_str().to_owned())),
    )
    .expect_err("nothing to find");
    let Error::BinaryNotFound { attempts } = &error else {
        panic!("expected BinaryNotFound, got {error:?}");
    };
    let sources: Vec<DiscoverySource> = attempts.iter().map(|a| a.source).collect();
    assert_eq!(
        sources,
        [
            DiscoverySource::ExplicitPath,
            DiscoverySource::EnvVar,
            DiscoverySource::InstallCache,
            DiscoverySource::SystemPath
        ]
    );
    let message = error.to_string();
    assert!(message.contains("CODEXKIT_CODEX_PATH"), "{message}");
    assert!(message.contains("codexkit install"), "{message}");

    let missing = Codex::new(CodexOptions::default().with_codex_path("/no/such/codex"))
        .expect_err("explicit missing path");
    assert!(
        matches!(&missing, Error::BinaryNotFound { .. }),
        "{missing:?}"
    );
    assert!(missing.to_string().contains("/no/such/codex"), "{missing}");
}

#[tokio::test]
async fn argv_stdin_and_environment_reach_codex_as_built() {
    let record = tempfile::tempdir().unwrap();
    let workdir = tempfile::tempdir().unwrap();
    let f = fake_with(
        FakeCodex::new()
            .record_invocation(record.path())
            .stdout_line(STARTED)
            .stdout_line(COMPLETED),
        CodexOptions::default()
            .with_api_key("sk-fake-secret-123")
            .with_env("EXTRA_VAR", "extra")
            .with_env("RUST_BACKTRACE", "full"),
    );
    let thread = f.codex.start_thread(
        ThreadOptions::default()
            .with_sandbox(SandboxMode::ReadOnly)
            .with_working_directory(workdir.path())
            .with_skip_git_repo_check(true),
    );
    let prompt = "a prompt with 'quotes', $dollars and\nnewlines ".repeat(20_000);
    thread.run(prompt.as_str()).await.expect("turn completes");

    let seen = Invocation::read(record.path()).expect("invocation recorded");
    let wd = workdir.path().to_string_lossy().into_owned();
    assert_eq!(
        seen.args,
        [
            "exec",
            "--json",
            "--sandbox",
            "read-only",
            "--cd",
            &wd,
            "--skip-git-repo-check",
            "-"
        ]
    );
    assert_eq!(
        String::from_utf8(seen.stdin.clone()).unwrap(),
        prompt,
        "prompt goes through stdin whole"
    );
    assert_eq!(seen.env_var("CODEX_API_KEY"), Some("sk-fake-secret-123"));
    assert_eq!(seen.env_var("EXTRA_VAR"), Some("extra"));
    // An explicit overlay wins over the default removal of backtrace switches.
    assert_eq!(seen.env_var("RUST_BACKTRACE"), Some("full"));
    assert!(seen.env_var("PATH").is_some(), "PATH is always passed on");
    assert_eq!(
        std::fs::canonicalize(&seen.cwd).unwrap(),
        std::fs::canonicalize(workdir.path()).unwrap()
    );

    // The thread now resumes with the id codex reported.
    assert_eq!(thread.id().unwrap().as_str(), "fake-thread-1");
    drop(f.dir);
}

#[tokio::test]
async fn exit_without_a_terminal_event_is_a_typed_error_with_code_and_stderr() {
    let f = fake_with(
        FakeCodex::new()
            .stdout_line(STARTED)
            .stderr_line("Error: something broke, key sk-fake-secret-123")
            .exit(1),
        CodexOptions::default().with_api_key("sk-fake-secret-123"),
    );
    let events = collect(&f.codex).await;
    assert!(matches!(events[0], Ok(ThreadEvent::ThreadStarted(_))));
    let last = events.last().unwrap();
    let Err(Error::ProcessExited {
        code, stderr_tail, ..
    }) = last
    else {
        panic!("expected ProcessExited, got {events:?}");
    };
    assert_eq!(*code, Some(1));
    assert!(stderr_tail.contains("something broke"), "{stderr_tail}");
    assert!(
        !stderr_tail.contains("sk-fake-secret-123"),
        "secret leaked: {stderr_tail}"
    );
    let message = last.as_ref().unwrap_err().to_string();
    assert!(message.contains("exit code 1"), "{message}");
    assert!(!message.contains("sk-fake-secret-123"));
}

#[tokio::test]
async fn a_non_json_line_is_a_warning_and_the_turn_goes_on() {
    let f = fake(
        FakeCodex::new()
            .stdout_line(STARTED)
            .stdout_line("this is not json")
            .stdout_line("[1,2,3]")
            .stdout_line(MESSAGE)
            .stdout_line(COMPLETED),
    );
    let events: Vec<ThreadEvent> = collect(&f.codex)
        .await
        .into_iter()
        .map(|e| e.unwrap())
        .collect();
    let kinds: Vec<&str> = events.iter().map(ThreadEvent::kind).collect();
    assert_eq!(
        kinds,
        [
            "thread.started",
            "codexkit.warning",
            "codexkit.warning",
            "item.completed",
            "turn.completed"
        ]
    );
    let ThreadEvent::Warning(warning) = &events[1] else {
        unreachable!()
    };
    assert_eq!(warning.excerpt.as_deref(), Some("this is not json"));
}

#[tokio::test]
async fn unknown_event_and_item_types_surface_as_unknown_and_the_stream_continues() {
    let f = fake(
        FakeCodex::new()
            .stdout_line(STARTED)
            .stdout_line(r#"{"type":"turn.pondering","depth":3}"#)
            .stdout_line(r#"{"type":"item.completed","item":{"id":"item_7","type":"hologram","beam":"blue"}}"#)
            .stdout_line(MESSAGE)
            .stdout_line(COMPLETED),
    );
    let thread = f.codex.start_thread(ThreadOptions::default());
    let result = thread.run("go").await.expect("turn completes");
    let unknown_events: Vec<_> = result
        .events
        .iter()
        .filter(|e| matches!(e, ThreadEvent::Unknown(_)))
        .collect();
    assert_eq!(unknown_events.len(), 1);
    assert_eq!(unknown_events[0].kind(), "turn.pondering");
    assert_eq!(result.items.len(), 2);
    assert!(matches!(&result.items[0].details, ItemDetails::Unknown(raw) if raw["beam"] == "blue"));
    assert_eq!(result.items[0].kind(), "hologram");
    assert_eq!(result.final_response, "ok");
}

#[tokio::test]
async fn a_hundred_megabytes_of_stderr_before_stdout_neither_deadlocks_nor_grows_memory() {
    let f = fake(
        FakeCodex::new()
            .stderr_bytes(100 * 1024 * 1024)
            .stdout_line(STARTED)
            .stdout_line(MESSAGE)
            .stdout_line(COMPLETED),
    );
    let thread = f.codex.start_thread(ThreadOptions::default());
    let result = tokio::time::timeout(Duration::from_secs(120), thread.run("go"))
        .await
        .expect("no deadlock")
        .expect("turn completes");
    assert_eq!(result.final_response, "ok");

    // The same flood followed by a failure: only a bounded tail is kept.
    let f = fake(FakeCodex::new().stderr_bytes(100 * 1024 * 1024).exit(3));
    let events = collect(&f.codex).await;
    let Some(Err(Error::ProcessExited {
        code, stderr_tail, ..
    })) = events.last()
    else {
        panic!("expected ProcessExited, got {events:?}");
    };
    assert_eq!(*code, Some(3));
    assert!(!stderr_tail.is_empty());
    assert!(stderr_tail.len() <= codexkit::options::DEFAULT_STDERR_TAIL_BYTES);
}

#[tokio::test]
async fn a_line_over_the_limit_is_a_typed_error() {
    let f = fake_with(
        FakeCodex::new()
            .stdout_line(STARTED)
            .stdout_long_line(4 * 1024 * 1024)
            .stdout_line(COMPLETED),
        CodexOptions::default().with_max_line_bytes(64 * 1024),
    );
    let events = collect(&f.codex).await;
    assert!(matches!(events[0], Ok(ThreadEvent::ThreadStarted(_))));
    assert!(
        matches!(
            events.last(),
            Some(Err(Error::LineTooLong { limit: 65536 }))
        ),
        "{events:?}"
    );
    assert_eq!(events.len(), 2, "nothing after the error");
}

#[tokio::test]
async fn cancel_kills_the_whole_process_group_and_reaps_it() {
    let pid_dir = tempfile::tempdir().unwrap();
    let pid_file = pid_dir.path().join("grandchild.pid");
    let f = fake(
        FakeCodex::new()
            .spawn_grandchild_sleep(120, &pid_file)
            .stdout_line(STARTED)
            .sleep_ms(120_000),
    );
    let thread = f.codex.start_thread(ThreadOptions::default());
    let mut stream = thread.run_streamed("go").await.unwrap();
    let pid = stream.process_id().unwrap();
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.kind(), "thread.started");
    assert!(
        eventually(10, || pid_file.exists()).await,
        "grandchild pid written"
    );
    let grandchild: u32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(process_exists(grandchild));

    tokio::time::timeout(Duration::from_secs(10), stream.cancel())
        .await
        .expect("cancel returns promptly");
    assert!(!process_exists(pid), "fake codex still there after cancel");
    assert!(
        eventually(10, || !process_exists(grandchild) || is_zombie(grandchild)).await,
        "the command codex started survived cancel"
    );
}

#[tokio::test]
async fn interrupt_on_exec_kills_codex_and_ends_the_stream_with_cancelled() {
    let f = fake(FakeCodex::new().stdout_line(STARTED).sleep_ms(120_000));
    let thread = f.codex.start_thread(ThreadOptions::default());
    let mut stream = thread.run_streamed("go").await.unwrap();
    let pid = stream.process_id().unwrap();
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.kind(), "thread.started");
    tokio::time::timeout(Duration::from_secs(10), stream.interrupt())
        .await
        .expect("interrupt returns promptly")
        .expect("interrupt succeeds");
    assert!(
        !process_exists(pid),
        "fake codex still there after interrupt"
    );
    let last = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("the stream ends promptly");
    assert!(matches!(last, Some(Err(Error::Cancelled))), "{last:?}");
    assert!(stream.next().await.is_none(), "nothing after Cancelled");
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

#[tokio::test]
async fn after_the_turn_codex_exits_by_itself_instead_of_being_killed() {
    // Codex still has work after its last event (it writes the session file); the recording
    // after the pause shows that it finished instead of being stopped.
    let script = |record: &Path| {
        FakeCodex::new()
            .stdout_line(STARTED)
            .stdout_line(COMPLETED)
            .sleep_ms(300)
            .record_invocation(record)
            .exit(0)
    };
    // `run` returns once codex has exited.
    let record = tempfile::tempdir().unwrap();
    let f = fake(script(record.path()));
    let thread = f.codex.start_thread(ThreadOptions::default());
    thread.run("go").await.expect("turn completes");
    assert!(
        record.path().join("cwd").exists(),
        "codex was stopped, or was still running, when run returned"
    );

    // `finish` after the last event waits for the same.
    let record = tempfile::tempdir().unwrap();
    let f = fake(script(record.path()));
    let thread = f.codex.start_thread(ThreadOptions::default());
    let mut stream = thread.run_streamed("go").await.unwrap();
    let pid = stream.process_id().unwrap();
    while let Some(event) = stream.next().await {
        event.unwrap();
    }
    stream.finish().await;
    assert!(!process_exists(pid), "codex still there after finish");
    assert!(record.path().join("cwd").exists(), "codex was stopped");
}

/// A fake codex that reports the whole turn, then stays: it never exits by itself.
fn lingering_after_the_turn() -> FakeCodex {
    FakeCodex::new()
        .stdout_line(STARTED)
        .stdout_line(COMPLETED)
        .sleep_ms(120_000)
}

#[tokio::test]
async fn a_stream_dropped_before_its_terminal_event_is_read_kills_codex() {
    // The terminal event is in the stream's buffer, not read: the turn is still cancelled.
    let f = fake_with(
        lingering_after_the_turn(),
        CodexOptions::default().with_exit_grace(Duration::from_secs(60)),
    );
    let thread = f.codex.start_thread(ThreadOptions::default());
    let mut stream = thread.run_streamed("go").await.unwrap();
    let pid = stream.process_id().unwrap();
    assert_eq!(
        stream.next().await.unwrap().unwrap().kind(),
        "thread.started"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(stream);
    assert!(
        eventually(5, || !process_exists(pid)).await,
        "codex got the exit grace instead of being killed"
    );
}

#[tokio::test]
async fn codex_lingering_after_the_turn_is_stopped_after_the_exit_grace() {
    // The consumer keeps the ended stream: the grace still runs from the terminal event.
    let f = fake_with(
        lingering_after_the_turn(),
        CodexOptions::default().with_exit_grace(Duration::from_millis(500)),
    );
    let thread = f.codex.start_thread(ThreadOptions::default());
    let mut stream = thread.run_streamed("go").await.unwrap();
    let pid = stream.process_id().unwrap();
    while let Some(event) = stream.next().await {
        event.unwrap();
    }
    assert!(
        eventually(10, || !process_exists(pid)).await,
        "codex kept running after the exit grace"
    );
    // Nothing to interrupt after the end.
    tokio::time::timeout(Duration::from_secs(1), stream.interrupt())
        .await
        .expect("interrupt after the end returns at once")
        .expect("interrupt after the end succeeds");
    assert!(stream.next().await.is_none());
    stream.finish().await;
}

#[tokio::test]
async fn run_ending_at_a_deadline_leaves_no_process_behind() {
    // Both ignore SIGTERM: only the SIGKILL after the kill grace stops them.
    let dir = tempfile::tempdir().unwrap();
    let (codex, pid_file) = sigterm_ignoring_codex(dir.path(), Duration::from_secs(3));
    let thread = codex.start_thread(ThreadOptions::default());
    let error = thread
        .run_with(
            "go",
            codexkit::TurnOptions::default().with_timeout(Duration::from_millis(500)),
        )
        .await
        .expect_err("the deadline passes");
    assert!(matches!(error, Error::DeadlineExceeded { .. }), "{error:?}");
    let grandchild: u32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // Killed before `run` returned: gone within moments, not after the 3 s kill grace (a
    // zombie waits only for its new parent to reap it).
    assert!(
        eventually(1, || !process_exists(grandchild) || is_zombie(grandchild)).await,
        "a process of the turn outlived run"
    );
}

#[tokio::test]
async fn a_binary_that_cannot_start_is_a_spawn_error() {
    let dir = tempfile::tempdir().unwrap();
    let not_executable = dir.path().join("codex");
    std::fs::write(&not_executable, "not a program").unwrap();
    let binary = CodexBinary::new(not_executable.clone(), DiscoverySource::ExplicitPath);
    let codex = Codex::with_binary(binary, CodexOptions::default());
    let error = codex
        .start_thread(ThreadOptions::default())
        .run_streamed("x")
        .await
        .expect_err("cannot spawn");
    assert!(matches!(error, Error::Spawn { .. }), "{error:?}");
}

#[tokio::test]
async fn an_empty_prompt_is_rejected_before_codex_starts() {
    let record = tempfile::tempdir().unwrap();
    let f = fake(FakeCodex::new().record_invocation(record.path()).exit(0));
    let thread = f.codex.start_thread(ThreadOptions::default());
    let error = thread.run("  \n").await.expect_err("empty prompt");
    assert!(
        matches!(&error, Error::InvalidOption { option, .. } if option == "prompt"),
        "{error:?}"
    );
    assert!(
        Invocation::read(record.path()).is_err(),
        "codex must not have been started"
    );
}

/// Writes an executable sh script.
fn script(dir: &std::path::Path, body: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("codex");
    let tmp = dir.join("codex.tmp");
    std::fs::write(&tmp, format!("#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'codex-cli 0.171.0'; exit 0; fi\n{body}")).unwrap();
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    path
}

/// A codex that ignores SIGTERM, with a grandchild that does too and holds stdout open; the
/// grandchild's pid goes to the returned file. Only SIGKILL, `kill_grace` after SIGTERM, stops
/// them.
fn sigterm_ignoring_codex(dir: &Path, kill_grace: Duration) -> (Codex, std::path::PathBuf) {
    let pid_file = dir.join("grandchild.pid");
    let path = script(
        dir,
        &format!(
            "trap '' TERM\n(trap '' TERM; exec sleep 300) &\necho $! > '{}'\necho '{STARTED}'\nsleep 300\n",
            pid_file.display()
        ),
    );
    let codex = Codex::with_binary(
        CodexBinary::new(path, DiscoverySource::ExplicitPath),
        CodexOptions::default().with_kill_grace(kill_grace),
    );
    (codex, pid_file)
}

#[tokio::test]
async fn cancel_stops_a_codex_that_ignores_sigterm_and_its_grandchild_holding_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let (codex, pid_file) = sigterm_ignoring_codex(dir.path(), Duration::from_millis(300));
    let thread = codex.start_thread(ThreadOptions::default());
    let mut stream = thread.run_streamed("go").await.unwrap();
    let pid = stream.process_id().unwrap();
    assert_eq!(
        stream.next().await.unwrap().unwrap().kind(),
        "thread.started"
    );
    let grandchild: u32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();

    let started = std::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(10), stream.cancel())
        .await
        .expect("cancel returns");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert!(!process_exists(pid), "codex survived cancel");
    assert!(
        eventually(5, || !process_exists(grandchild) || is_zombie(grandchild)).await,
        "the grandchild survived cancel"
    );
}

#[tokio::test]
async fn a_grandchild_holding_stdout_does_not_keep_a_finished_turn_open() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("grandchild.pid");
    let path = script(
        dir.path(),
        &format!(
            "sleep 300 &\necho $! > '{}'\necho '{STARTED}'\necho '{MESSAGE}'\necho '{COMPLETED}'\nexit 0\n",
            pid_file.display()
        ),
    );
    let codex = Codex::with_binary(
        CodexBinary::new(path, DiscoverySource::ExplicitPath),
        CodexOptions::default(),
    );
    let started = std::time::Instant::now();
    let result = tokio::time::timeout(
        Duration::from_secs(20),
        codex.start_thread(ThreadOptions::default()).run("go"),
    )
    .await
    .expect("the turn ends although stdout stays open")
    .expect("turn completes");
    assert_eq!(result.final_response, "ok");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    let grandchild: u32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        eventually(5, || !process_exists(grandchild) || is_zombie(grandchild)).await,
        "the process codex left behind was not stopped"
    );
}

#[tokio::test]
async fn a_codex_that_prints_nothing_hits_the_startup_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let path = script(dir.path(), "sleep 300\n");
    let codex = Codex::with_binary(
        CodexBinary::new(path, DiscoverySource::ExplicitPath),
        CodexOptions::default()
            .with_startup_timeout(Duration::from_millis(500))
            .with_kill_grace(Duration::from_millis(200)),
    );
    let thread = codex.start_thread(ThreadOptions::default());
    let mut stream = thread.run_streamed("go").await.unwrap();
    let pid = stream.process_id().unwrap();
    let event = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("deadline fires")
        .expect("an item");
    assert!(
        matches!(
            event,
            Err(Error::DeadlineExceeded {
                deadline: "startup",
                ..
            })
        ),
        "{event:?}"
    );
    assert!(eventually(5, || !process_exists(pid)).await);
}
