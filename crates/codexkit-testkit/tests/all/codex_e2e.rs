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
    let mut cmd = tokio::process::Command::new(codex_bin());
    cmd.args(["exec", "--json", "--skip-git-repo-check"])
        .args(codex.config_args())
        .args(["-m", codex.model(), prompt])
        .envs(codex.env())
        .env_remove("RUST_BACKTRACE")
        .current_dir(work.path())
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
