//! The `codexkit` binary end to end: the real pinned codex (found through
//! `CODEXKIT_CODEX_PATH` or the install cache) against the built-in mock model.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use pretty_assertions::assert_eq;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn codexkit(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_codexkit"))
        .args(args)
        .current_dir(cwd)
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("codexkit runs")
}

fn write_scenario(dir: &Path, json: &str) -> String {
    let path = dir.join("scenario.json");
    std::fs::write(&path, json).unwrap();
    path.to_string_lossy().into_owned()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn project_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("alpha-notes.txt"), "a").unwrap();
    std::fs::create_dir(dir.path().join("beta-folder")).unwrap();
    dir
}

#[test]
fn offline_run_answers_with_the_real_listing() {
    let dir = project_dir();
    let out = codexkit(&["run", "--offline", "--no-install"], dir.path());
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{}",
        text(&out.stderr)
    );
    let (_, answer) = stdout.split_once("Final answer:").expect("a final answer");
    assert!(answer.contains("alpha-notes.txt"), "{stdout}");
    assert!(answer.contains("beta-folder"), "{stdout}");
    assert!(
        stdout.contains("$ /bin/bash -lc 'ls -la'  (exit 0)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("tokens: 2700 input (1024 cached), 70 output (16 reasoning)"),
        "{stdout}"
    );
}

#[test]
fn offline_json_prints_only_normalized_events() {
    let dir = project_dir();
    let target = dir.path().to_str().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let out = codexkit(
        &["run", "--offline", "--no-install", "--json", "--cd", target],
        elsewhere.path(),
    );
    assert_eq!(out.status.code(), Some(0), "stderr:\n{}", text(&out.stderr));
    let events: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON: {line}: {e}")))
        .collect();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types.first(), Some(&"thread.started"));
    assert_eq!(types.last(), Some(&"turn.completed"));
    let completed: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "item.completed")
        .map(|e| &e["item"])
        .collect();
    let command = completed
        .iter()
        .find(|i| i["type"] == "command_execution")
        .expect("a command_execution item");
    assert_eq!(command["exit_code"], 0);
    assert!(
        command["aggregated_output"]
            .as_str()
            .unwrap()
            .contains("alpha-notes.txt")
    );
    let message = completed
        .iter()
        .find(|i| i["type"] == "agent_message")
        .expect("an agent_message item");
    assert!(message["text"].as_str().unwrap().contains("beta-folder"));
}

#[test]
fn a_failing_scenario_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("fail.json");
    std::fs::write(
        &scenario,
        r#"{"responses":[{"status":500,"body":"internal boom"}]}"#,
    )
    .unwrap();
    let out = codexkit(
        &[
            "run",
            "--scenario",
            scenario.to_str().unwrap(),
            "--no-install",
            "hello",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1), "stderr:\n{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("turn failed"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_scenario_thread_can_be_resumed_with_a_kept_codex_home() {
    let dir = project_dir();
    let home = tempfile::tempdir().unwrap();
    let home_arg = home.path().to_str().unwrap();
    let first = codexkit(
        &[
            "run",
            "--offline",
            "--no-install",
            "--json",
            "--codex-home",
            home_arg,
        ],
        dir.path(),
    );
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    let first_event: Value =
        serde_json::from_str(text(&first.stdout).lines().next().unwrap()).unwrap();
    let id = first_event["thread_id"].as_str().unwrap().to_owned();

    let second = codexkit(
        &[
            "run",
            "--offline",
            "--no-install",
            "--json",
            "--codex-home",
            home_arg,
            "--resume",
            &id,
        ],
        dir.path(),
    );
    assert_eq!(second.status.code(), Some(0), "{}", text(&second.stderr));
    let second_event: Value =
        serde_json::from_str(text(&second.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(second_event["thread_id"], id.as_str());
}

#[test]
fn a_missing_codex_exits_3_and_names_the_places_tried() {
    let dir = tempfile::tempdir().unwrap();
    let out = codexkit(
        &[
            "run",
            "--offline",
            "--no-install",
            "--codex-path",
            "/no/such/codex",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(3));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("/no/such/codex"), "{stderr}");
    assert!(stderr.contains("codexkit install"), "{stderr}");
}

#[test]
fn approval_flags_on_exec_are_named_as_having_no_effect() {
    let dir = project_dir();
    let out = codexkit(
        &["run", "--offline", "--no-install", "--on-approval", "allow"],
        dir.path(),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr
            .contains("never asks for approval (its policy is always `never`); --approval-policy"),
        "{stderr}"
    );
    let quiet = codexkit(&["run", "--offline", "--no-install"], dir.path());
    assert!(
        !text(&quiet.stderr).contains("never asks for approval"),
        "{}",
        text(&quiet.stderr)
    );
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["run", "--sandbox", "bogus", "--offline"],
        vec!["run", "--no-install"],
        vec!["run", "--offline", "--scenario", "x.json"],
        vec!["run", "--scenario", "/no/such/scenario.json"],
        vec!["run", "--offline", "-c", "no-equals-sign"],
        vec!["run", "--offline", "--cd", "/no/such/dir"],
        vec!["run", "--offline", "--timeout", "0s"],
        vec!["frobnicate"],
    ] {
        let out = codexkit(&args, dir.path());
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(out.stdout.is_empty(), "{args:?} printed on stdout");
    }
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"responses":[], "retires": 2}"#).unwrap();
    let out = codexkit(&["run", "--scenario", bad.to_str().unwrap()], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("retires"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn app_server_ask_without_terminal_input_is_declined_at_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(
        dir.path(),
        r#"{"responses":[{"output":[{"exec_command":"touch asked.txt"}]},{"output":[{"message":"finished"}]}]}"#,
    );
    let started = std::time::Instant::now();
    let out = codexkit(
        &[
            "run",
            "--scenario",
            &scenario,
            "--no-install",
            "--transport",
            "app-server",
            "--approval-policy",
            "untrusted",
            "--on-approval",
            "ask",
            "--approval-timeout",
            "2s",
            "touch it",
        ],
        dir.path(),
    );
    let elapsed = started.elapsed();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        elapsed < std::time::Duration::from_secs(20),
        "took {elapsed:?}"
    );
    assert!(stderr.contains("decline by timeout"), "{stderr}");
    assert!(!dir.path().join("asked.txt").exists());
    assert!(
        text(&out.stdout).contains("(declined)"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn app_server_allow_runs_the_command_and_streams_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(
        dir.path(),
        r#"{"responses":[{"output":[{"exec_command":"touch allowed.txt"}]},{"output":[{"message":"streamed reply here"}],"stream":true}]}"#,
    );
    let out = codexkit(
        &[
            "run",
            "--scenario",
            &scenario,
            "--no-install",
            "--transport",
            "app-server",
            "--approval-policy",
            "untrusted",
            "--on-approval",
            "allow",
            "--sandbox",
            "workspace-write",
            "--json",
            "go",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(dir.path().join("allowed.txt").exists());
    let types: Vec<String> = text(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    for expected in [
        "approval.requested",
        "approval.resolved",
        "item.agent_message.delta",
        "turn.completed",
    ] {
        assert!(
            types.iter().any(|t| t == expected),
            "{expected} missing from {types:?}"
        );
    }
}

#[test]
fn a_turn_deadline_exits_4_and_names_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(
        dir.path(),
        r#"{"responses":[{"output":[{"message":"never finishes"}],"stream":true,"hang_after":2}]}"#,
    );
    for transport in ["exec", "app-server"] {
        let out = codexkit(
            &[
                "run",
                "--scenario",
                &scenario,
                "--no-install",
                "--transport",
                transport,
                "--timeout",
                "3s",
                "go",
            ],
            dir.path(),
        );
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(4), "{transport}: {stderr}");
        // Said once, by the error line, not again by a log line.
        assert_eq!(
            stderr.matches("turn deadline").count(),
            1,
            "{transport}: {stderr}"
        );
    }
}

#[test]
fn models_lists_the_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let out = codexkit(&["models", "--no-install"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).lines().any(|l| l.starts_with("gpt-5.5")),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn closing_stdout_early_stops_the_turn_without_a_panic() {
    use std::io::{BufRead, BufReader};
    let dir = project_dir();
    let mut child = Command::new(env!("CARGO_BIN_EXE_codexkit"))
        .args(["run", "--offline", "--no-install"])
        .current_dir(dir.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is gone now, like `| head -1`.
    let out = child.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        matches!(out.status.code(), Some(0) | Some(4)),
        "{:?}: {stderr}",
        out.status
    );
}

#[test]
fn sigterm_cancels_the_turn_and_leaves_no_codex_behind() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(
        dir.path(),
        r#"{"responses":[{"output":[{"exec_command":"sleep 30"}]},{"output":[{"message":"done"}]}]}"#,
    );
    let child = Command::new(env!("CARGO_BIN_EXE_codexkit"))
        .args([
            "run",
            "--scenario",
            &scenario,
            "--no-install",
            "--json",
            "--sandbox",
            "workspace-write",
            "go",
        ])
        .current_dir(dir.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // Wait until the command is running.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while descendants(pid).len() < 3 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let before = descendants(pid);
    assert!(!before.is_empty(), "codex never started");
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    // Killed processes are gone once reaped; on a loaded machine that can take a moment.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut alive: Vec<u32> = before.clone();
    while !alive.is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
        alive.retain(|p| is_alive(*p));
    }
    assert!(alive.is_empty(), "processes survived SIGTERM: {alive:?}");
}

/// Live descendants of `pid` (children, grandchildren, …).
fn descendants(pid: u32) -> Vec<u32> {
    let mut parents = std::collections::HashMap::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(p) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if let Some(ppid) = fields.get(1).and_then(|f| f.parse::<u32>().ok()) {
            parents.insert(p, ppid);
        }
    }
    let mut found = Vec::new();
    let mut frontier = vec![pid];
    while let Some(parent) = frontier.pop() {
        for (child, ppid) in &parents {
            if *ppid == parent && !found.contains(child) {
                found.push(*child);
                frontier.push(*child);
            }
        }
    }
    found
}

fn is_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            !stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

#[test]
fn a_named_codex_that_is_missing_is_an_error_not_an_install() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_codexkit"))
        .args(["run", "--offline"])
        .current_dir(dir.path())
        .env("CODEXKIT_CODEX_PATH", "/nonexistent/codex")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("/nonexistent/codex"));
    assert!(!text(&out.stderr).contains("installing"));

    let not_codex = dir.path().join("not-codex");
    std::fs::write(&not_codex, "#!/bin/sh\necho hello\n").unwrap();
    std::fs::set_permissions(
        &not_codex,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let out = codexkit(
        &[
            "run",
            "--offline",
            "--codex-path",
            not_codex.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
}

#[test]
fn mock_runs_keep_user_secrets_away_and_refuse_a_real_provider() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(
        dir.path(),
        r#"{"responses":[{"output":[{"exec_command":"env"}]},{"output":[{"message":"env: {{last_output}}"}]}]}"#,
    );
    let out = Command::new(env!("CARGO_BIN_EXE_codexkit"))
        .args([
            "run",
            "--scenario",
            &scenario,
            "--no-install",
            "--json",
            "show env",
        ])
        .current_dir(dir.path())
        .env("OPENAI_API_KEY", "sk-verysecret-123456")
        .env("MY_SERVICE_TOKEN", "tok-verysecret-abcdef")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        all.contains("PATH="),
        "the command's env was captured: {all}"
    );
    assert!(
        !all.contains("verysecret"),
        "a secret reached the mock run: {all}"
    );

    for args in [
        vec!["run", "--offline", "-c", "model_provider=\"openai\""],
        vec!["run", "--offline", "--resume", "01a23d48-075b"],
    ] {
        let out = codexkit(&args, dir.path());
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, r#"{"responses":[]}"#).unwrap();
    let out = codexkit(&["run", "--scenario", empty.to_str().unwrap()], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let out = codexkit(
        &["run", "--offline", "--codex-home", file.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[test]
fn a_dash_prompt_is_read_from_stdin() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(
        dir.path(),
        r#"{"responses":[{"output":[{"message":"got it"}]}]}"#,
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_codexkit"))
        .args([
            "run",
            "--scenario",
            &scenario,
            "--no-install",
            "--json",
            "-",
        ])
        .current_dir(dir.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let prompt = "a long prompt ".repeat(50_000);
    child
        .stdin
        .take()
        .unwrap()
        .write_all(prompt.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("got it"));
}

/// `codexkit run --output-schema` in `dir`, with its temp dir inside `dir` (to check that no
/// schema file is left behind).
fn run_with_schema(dir: &Path, answer: &str, extra: &[&str]) -> Output {
    let schema = dir.join("schema.json");
    std::fs::write(
        &schema,
        r#"{"type":"object","properties":{"answer":{"type":"string"},"score":{"type":["integer","null"]}},"required":["answer","score"],"additionalProperties":false}"#,
    )
    .unwrap();
    let scenario = serde_json::json!({"responses": [{"output": [{"message": answer}]}]});
    let scenario = write_scenario(dir, &scenario.to_string());
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let mut args = vec![
        "run",
        "--scenario",
        &scenario,
        "--no-install",
        "--output-schema",
        schema.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    args.push("answer in JSON");
    let out = Command::new(env!("CARGO_BIN_EXE_codexkit"))
        .args(&args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env("TMPDIR", &tmp)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("codexkit runs");
    let left: Vec<String> = std::fs::read_dir(&tmp)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("codexkit-schema-"))
        .collect();
    assert!(left.is_empty(), "schema temp files left: {left:?}");
    out
}

#[test]
fn output_schema_prints_only_the_validated_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_with_schema(dir.path(), r#"{"answer": "42", "score": 7}"#, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "{\"answer\":\"42\",\"score\":7}\n");

    // --json keeps its event stream; the answer is the last agent message.
    let out = run_with_schema(dir.path(), r#"{"answer":"x","score":null}"#, &["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let last = text(&out.stdout).lines().last().unwrap().to_owned();
    assert_eq!(
        serde_json::from_str::<Value>(&last).unwrap()["type"],
        "turn.completed"
    );
}

#[test]
fn an_answer_that_does_not_match_the_output_schema_exits_5() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_with_schema(dir.path(), r#"{"answer": 42}"#, &[]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "", "nothing on stdout");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("does not match --output-schema"),
        "{stderr}"
    );
    assert!(stderr.contains("/answer"), "{stderr}");

    let out = run_with_schema(dir.path(), "not JSON at all", &["--json"]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
}

#[test]
fn a_non_strict_output_schema_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let schema = dir.path().join("loose.json");
    std::fs::write(
        &schema,
        r#"{"type":"object","properties":{"a":{"type":"string"}}}"#,
    )
    .unwrap();
    let out = codexkit(
        &[
            "run",
            "--offline",
            "--no-install",
            "--output-schema",
            schema.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("additionalProperties"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn offline_run_writes_thread_turn_and_item_spans_to_the_trace_file() {
    let dir = project_dir();
    let trace = dir.path().join("spans.jsonl");
    let out = codexkit(
        &[
            "run",
            "--offline",
            "--no-install",
            "--trace-file",
            trace.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines = std::fs::read_to_string(&trace).unwrap();
    let spans: Vec<Value> = lines
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let named = |name: &str| -> Vec<&Value> {
        spans.iter().filter(|s| s["span"]["name"] == name).collect()
    };
    let threads = named("codex.thread");
    let turns = named("codex.turn");
    let items = named("codex.item");
    assert_eq!(threads.len(), 1, "{lines}");
    assert_eq!(turns.len(), 1, "{lines}");
    assert!(!items.is_empty(), "{lines}");
    let turn = &turns[0]["span"];
    assert_eq!(turn["status"], "completed", "{lines}");
    assert_eq!(turn["transport"], "exec", "{lines}");
    assert!(turn["tokens.input"].is_u64(), "{lines}");
    assert_eq!(
        turn["thread.id"], threads[0]["span"]["thread.id"],
        "{lines}"
    );
    // Spans are written as they close: items, then the turn, then the thread.
    let position = |name: &str| spans.iter().position(|s| s["span"]["name"] == name);
    assert!(position("codex.item") < position("codex.turn"), "{lines}");
    assert!(position("codex.turn") < position("codex.thread"), "{lines}");
    assert!(
        items
            .iter()
            .any(|i| i["span"]["item.type"] == "command_execution"
                && i["span"]["status"] == "completed"),
        "{lines}"
    );
}

#[test]
fn an_invalid_rust_log_is_reported_and_the_default_filter_applies() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_codexkit"))
        .args(["completions", "bash"])
        .current_dir(dir.path())
        .env("RUST_LOG", "codexkit=[bad")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("codexkit runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("warning: RUST_LOG ignored, the default filter applies:"),
        "{stderr}"
    );
    assert!(!out.stdout.is_empty());
}
