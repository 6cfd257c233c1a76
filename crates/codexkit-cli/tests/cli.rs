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
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["run", "--sandbox", "bogus", "--offline"],
        vec!["run", "--no-install"],
        vec!["run", "--offline", "--scenario", "x.json"],
        vec!["run", "--scenario", "/no/such/scenario.json"],
        vec!["run", "--offline", "-c", "no-equals-sign"],
        vec!["run", "--offline", "--cd", "/no/such/dir"],
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
        assert!(stderr.contains("turn deadline"), "{transport}: {stderr}");
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
