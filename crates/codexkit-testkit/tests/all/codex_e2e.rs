//! End to end against the real codex binary named by `CODEXKIT_CODEX_PATH` (set by the README's
//! test command from `codexkit install`). A missing binary fails these tests.

use std::process::Stdio;
use std::time::Duration;

use codexkit_testkit::{HermeticCodex, MockModel, MockResponse, OutputItem, Scenario, usage};
use serde_json::Value;

fn codex_bin() -> String {
    std::env::var("CODEXKIT_CODEX_PATH").expect(
        "set CODEXKIT_CODEX_PATH to the pinned codex binary: \
         export CODEXKIT_CODEX_PATH=\"$(cargo run -q -p codexkit-cli -- install)\"",
    )
}

async fn run_codex(codex: &HermeticCodex, prompt: &str) -> (Option<i32>, Vec<Value>, String) {
    let work = tempfile::tempdir().unwrap();
    run_codex_in(codex, prompt, work.path()).await
}

async fn run_codex_in(
    codex: &HermeticCodex,
    prompt: &str,
    work: &std::path::Path,
) -> (Option<i32>, Vec<Value>, String) {
    let mut cmd = tokio::process::Command::new(codex_bin());
    cmd.args(["exec", "--json", "--skip-git-repo-check"])
        .args(codex.config_args())
        .args(["-m", codex.model(), prompt])
        .envs(codex.env())
        .env_remove("RUST_BACKTRACE")
        .current_dir(work)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .expect("codex timed out")
        .unwrap();
    let events = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (
        out.status.code(),
        events,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn real_codex_runs_a_tool_turn() {
    let scenario = Scenario::new()
        .retries(0)
        .response(
            MockResponse::output([
                OutputItem::reasoning("Planning"),
                OutputItem::exec_command("echo hello-e2e"),
            ])
            .with_usage(usage(100, 10, 20, 5)),
        )
        .response(MockResponse::message("got: {{last_output}}").with_usage(usage(100, 10, 20, 5)));
    let mock = MockModel::start(scenario).await.unwrap();
    let codex = HermeticCodex::new(&mock).unwrap();
    let (code, events, stderr) = run_codex(&codex, "run it").await;
    assert_eq!(code, Some(0), "stderr: {stderr}\nevents: {events:#?}");
    let messages: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "item.completed" && e["item"]["type"] == "agent_message")
        .map(|e| e["item"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(messages.len(), 1, "{events:#?}");
    assert!(messages[0].starts_with("got: "), "{messages:?}");
    assert!(messages[0].contains("hello-e2e"), "{messages:?}");
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "item.completed" && e["item"]["type"] == "reasoning"),
        "{events:#?}"
    );
    // No fallback-model warning item.
    assert!(
        !events
            .iter()
            .any(|e| e["type"] == "item.completed" && e["item"]["type"] == "error"),
        "{events:#?}"
    );
    let requests = mock.model_requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].last_user_text().as_deref(), Some("run it"));
    assert_eq!(
        requests[0].header("authorization"),
        Some("Bearer sk-codexkit-mock")
    );
    assert_eq!(requests[0].model(), Some("gpt-5.5"));
    assert!(
        requests[1]
            .last_tool_output()
            .unwrap()
            .contains("hello-e2e")
    );
    mock.ensure_no_failures().unwrap();
}

#[tokio::test]
async fn real_codex_fails_fast_with_zero_retries() {
    let scenario = Scenario::from_json_str(
        r#"{"retries": 0, "responses": [{"status": 500, "body": "boom"}]}"#,
    )
    .unwrap();
    let mock = MockModel::start(scenario).await.unwrap();
    let codex = HermeticCodex::new(&mock).unwrap();
    let (code, events, stderr) = run_codex(&codex, "hi").await;
    assert_eq!(code, Some(1), "stderr: {stderr}\nevents: {events:#?}");
    assert!(
        events.iter().any(|e| e["type"] == "turn.failed"),
        "{events:#?}"
    );
    assert_eq!(mock.model_requests().len(), 1);
    mock.ensure_no_failures().unwrap();
}

#[tokio::test]
async fn real_codex_applies_a_patch_and_reports_cut_streams() {
    let scenario = Scenario::new()
        .retries(0)
        .response(MockResponse::output([OutputItem::apply_patch(
            "*** Begin Patch\n*** Add File: hello.txt\n+hello world\n*** End Patch\n",
        )]))
        .response(MockResponse::message("patched: {{last_output}}"));
    let mock = MockModel::start(scenario).await.unwrap();
    let codex = HermeticCodex::new(&mock).unwrap();
    let (code, events, stderr) = run_codex(&codex, "make file").await;
    // The default sandbox is read-only, so the patch is rejected, but the turn completes.
    assert_eq!(code, Some(0), "stderr: {stderr}\nevents: {events:#?}");
    assert_eq!(mock.model_requests().len(), 2);
    assert!(mock.model_requests()[1].last_tool_output().is_some());

    let cut = Scenario::new()
        .retries(0)
        .response(MockResponse::message("partial").cut_after(2));
    let mock = MockModel::start(cut).await.unwrap();
    let codex = HermeticCodex::new(&mock).unwrap();
    let (code, events, _) = run_codex(&codex, "hi").await;
    assert_eq!(code, Some(1), "{events:#?}");
    let failed = events.iter().find(|e| e["type"] == "turn.failed").unwrap();
    assert!(
        failed["error"]["message"]
            .as_str()
            .unwrap()
            .contains("stream closed before response.completed"),
        "{failed}"
    );
}

fn agent_messages(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["type"] == "item.completed" && e["item"]["type"] == "agent_message")
        .map(|e| e["item"]["text"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn real_codex_processes_share_a_per_thread_mock() {
    let scenario = Scenario::new()
        .retries(0)
        .per_thread(true)
        // The delay makes the two conversations overlap.
        .response(MockResponse::output([OutputItem::exec_command("pwd")]).delay_ms(300))
        .response(MockResponse::message("cwd is {{last_output}}"));
    let mock = MockModel::start(scenario).await.unwrap();
    let codex = HermeticCodex::new(&mock).unwrap();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let ((code_a, events_a, stderr_a), (code_b, events_b, stderr_b)) = tokio::join!(
        run_codex_in(&codex, "where am I (a)", dir_a.path()),
        run_codex_in(&codex, "where am I (b)", dir_b.path()),
    );
    assert_eq!(code_a, Some(0), "stderr: {stderr_a}\nevents: {events_a:#?}");
    assert_eq!(code_b, Some(0), "stderr: {stderr_b}\nevents: {events_b:#?}");
    for (events, dir, other) in [(&events_a, &dir_a, &dir_b), (&events_b, &dir_b, &dir_a)] {
        let messages = agent_messages(events);
        assert_eq!(messages.len(), 1, "{events:#?}");
        let own = dir.path().file_name().unwrap().to_str().unwrap();
        let foreign = other.path().file_name().unwrap().to_str().unwrap();
        assert!(messages[0].starts_with("cwd is "), "{messages:?}");
        assert!(messages[0].contains(own), "{messages:?} lacks {own}");
        assert!(!messages[0].contains(foreign), "{messages:?} has {foreign}");
    }

    // Two threads, two requests each, answered from the start of the list.
    let requests = mock.model_requests();
    assert_eq!(requests.len(), 4);
    let mut keys: Vec<String> = requests
        .iter()
        .map(|r| r.thread_key().unwrap().to_owned())
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 2, "{keys:?}");
    for key in &keys {
        let own = mock.requests_for(key);
        assert_eq!(own.len(), 2, "{key}");
        assert_eq!(own[0].header("thread-id"), Some(key.as_str()));
        assert_eq!(own[0].header("session-id"), Some(key.as_str()));
        assert!(own[1].last_tool_output().is_some(), "{key}");
        assert!(own[1].last_user_text().unwrap().starts_with("where am I"));
    }
    assert_eq!(mock.remaining_responses(), 0);
    mock.ensure_no_failures().unwrap();
}

#[tokio::test]
async fn real_codex_accepts_streamed_responses() {
    let scenario = Scenario::new()
        .retries(0)
        .response(
            MockResponse::output([
                OutputItem::reasoning("**Planning** the answer"),
                OutputItem::exec_command("echo streamed-e2e"),
            ])
            .streamed(),
        )
        .response(
            MockResponse::output([
                OutputItem::reasoning("Summing up"),
                OutputItem::message("it printed {{last_output}}"),
            ])
            .with_usage(usage(100, 10, 20, 5))
            .streamed(),
        );
    let mock = MockModel::start(scenario).await.unwrap();
    let codex = HermeticCodex::new(&mock).unwrap();
    let (code, events, stderr) = run_codex(&codex, "stream it").await;
    assert_eq!(code, Some(0), "stderr: {stderr}\nevents: {events:#?}");
    let messages = agent_messages(&events);
    assert_eq!(messages.len(), 1, "{events:#?}");
    assert!(
        messages[0].starts_with("it printed ") && messages[0].contains("streamed-e2e"),
        "{messages:?}"
    );
    let reasoning = events
        .iter()
        .filter(|e| e["type"] == "item.completed" && e["item"]["type"] == "reasoning")
        .count();
    assert_eq!(reasoning, 2, "{events:#?}");
    let completed = events
        .iter()
        .find(|e| e["type"] == "turn.completed")
        .unwrap();
    assert_eq!(completed["usage"]["output_tokens"], 20, "{completed}");
    mock.ensure_no_failures().unwrap();
}
