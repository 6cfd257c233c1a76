//! The real pinned codex binary driven through the library against the mock model.

use crate::common::{Harness, eventually, group_members, process_exists};
use codexkit::protocol::{
    CommandExecutionStatus, FileChangeKind, ItemDetails, ThreadEvent, ThreadItem,
};
use codexkit::{Error, Input, SandboxMode, TurnOptions};
use codexkit_testkit::{MockResponse, OutputItem, Scenario, usage};
use pretty_assertions::assert_eq;
use serde_json::json;

fn commands(items: &[ThreadItem]) -> Vec<&codexkit::protocol::CommandExecutionItem> {
    items
        .iter()
        .filter_map(|item| match &item.details {
            ItemDetails::CommandExecution(cmd) => Some(cmd),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn plain_message_completes_with_usage() {
    let harness = Harness::start(
        Scenario::new()
            .response(MockResponse::message("hi there").with_usage(usage(100, 10, 20, 5))),
    )
    .await;
    let thread = harness.codex.start_thread(harness.thread_options());
    let result = thread.run("say hi").await.expect("turn completes");

    assert_eq!(result.final_response, "hi there");
    assert_eq!(result.usage.input_tokens, 100);
    assert_eq!(result.usage.cached_input_tokens, 10);
    assert_eq!(result.usage.output_tokens, 20);
    assert_eq!(result.usage.reasoning_output_tokens, 5);
    assert_eq!(result.turn_usage, result.usage);
    let id = thread.id().expect("thread id known after the turn");
    assert_eq!(result.thread_id.as_ref(), Some(&id));
    let kinds: Vec<&str> = result.events.iter().map(ThreadEvent::kind).collect();
    assert_eq!(kinds.first(), Some(&"thread.started"));
    assert_eq!(kinds.last(), Some(&"turn.completed"));

    let requests = harness.mock.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].last_user_text().as_deref(), Some("say hi"));
    assert_eq!(requests[0].model(), Some("gpt-5.5"));
    harness
        .mock
        .ensure_no_failures()
        .expect("no unexpected requests");
}

#[tokio::test]
async fn shell_command_in_workspace_write_creates_the_file() {
    let harness = Harness::start(
        Scenario::new()
            .response(MockResponse::output([OutputItem::exec_command(
                "echo data > created.txt && echo wrote",
            )]))
            .response(MockResponse::message("done: {{last_output}}")),
    )
    .await;
    let thread = harness.codex.start_thread(
        harness
            .thread_options()
            .with_sandbox(SandboxMode::WorkspaceWrite),
    );
    let result = thread.run("write a file").await.expect("turn completes");

    let cmds = commands(&result.items);
    assert_eq!(cmds.len(), 1, "{:?}", result.items);
    assert_eq!(cmds[0].exit_code, Some(0), "{}", cmds[0].aggregated_output);
    assert_eq!(cmds[0].status, CommandExecutionStatus::Completed);
    assert_eq!(
        std::fs::read_to_string(harness.path("created.txt")).expect("file was created"),
        "data\n"
    );
    assert!(
        result.final_response.starts_with("done: "),
        "{}",
        result.final_response
    );
    assert!(
        result.final_response.contains("wrote"),
        "{}",
        result.final_response
    );
}

#[tokio::test]
async fn the_same_command_under_read_only_fails() {
    // The pause: codex 0.171 reports no command item for a write the sandbox refuses within
    // about 50 ms (docs/approvals-and-sandbox.md); the model still gets the output.
    let harness = Harness::start(
        Scenario::new()
            .response(MockResponse::output([OutputItem::exec_command(
                "sleep 0.3; echo data > created.txt",
            )]))
            .response(MockResponse::message("could not write")),
    )
    .await;
    let thread = harness
        .codex
        .start_thread(harness.thread_options().with_sandbox(SandboxMode::ReadOnly));
    let result = thread.run("write a file").await.expect("turn completes");

    let cmds = commands(&result.items);
    let tool_output = harness
        .mock
        .requests()
        .get(1)
        .and_then(|r| r.last_tool_output());
    assert_eq!(
        cmds.len(),
        1,
        "items: {:?}\nwhat the model was told: {tool_output:?}",
        result.items
    );
    assert_ne!(cmds[0].exit_code, Some(0), "{}", cmds[0].aggregated_output);
    assert!(cmds[0].exit_code.is_some());
    assert_eq!(cmds[0].status, CommandExecutionStatus::Failed);
    assert!(!harness.path("created.txt").exists());
}

#[tokio::test]
async fn apply_patch_produces_a_file_change_and_the_file() {
    let patch = "*** Begin Patch\n*** Add File: hello.txt\n+hello world\n*** End Patch\n";
    let harness = Harness::start(
        Scenario::new()
            .response(MockResponse::output([OutputItem::apply_patch(patch)]))
            .response(MockResponse::message("patched")),
    )
    .await;
    let thread = harness.codex.start_thread(
        harness
            .thread_options()
            .with_sandbox(SandboxMode::WorkspaceWrite),
    );
    let result = thread.run("add hello.txt").await.expect("turn completes");

    let changes: Vec<_> = result
        .items
        .iter()
        .filter_map(|item| match &item.details {
            ItemDetails::FileChange(change) => Some(change),
            _ => None,
        })
        .collect();
    assert_eq!(changes.len(), 1, "{:?}", result.items);
    assert_eq!(changes[0].changes.len(), 1);
    assert_eq!(changes[0].changes[0].kind, FileChangeKind::Add);
    assert!(changes[0].changes[0].path.ends_with("hello.txt"));
    assert_eq!(
        std::fs::read_to_string(harness.path("hello.txt")).expect("patched file"),
        "hello world\n"
    );
    assert_eq!(result.final_response, "patched");
}

#[tokio::test]
async fn resume_keeps_the_thread_id_and_sends_the_history() {
    let harness = Harness::start(
        Scenario::new()
            .response(MockResponse::message("first answer").with_usage(usage(100, 0, 20, 0)))
            .response(MockResponse::message("second answer").with_usage(usage(150, 0, 25, 0))),
    )
    .await;
    let first = harness.codex.start_thread(harness.thread_options());
    let first_result = first
        .run("remember the word walnut")
        .await
        .expect("first turn");
    let id = first.id().expect("thread id");

    // A new Thread object, as a later process would make it.
    let resumed = harness
        .codex
        .resume_thread(id.clone(), harness.thread_options());
    let second = resumed
        .run("what was the word?")
        .await
        .expect("resumed turn");

    assert_eq!(second.thread_id.as_ref(), Some(&id));
    let started: Vec<_> = second
        .events
        .iter()
        .filter_map(|e| match e {
            ThreadEvent::ThreadStarted(s) => Some(s.thread_id.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(started, [id]);
    assert_eq!(first_result.final_response, "first answer");
    assert_eq!(second.final_response, "second answer");
    // Codex reports usage cumulatively for the thread.
    assert_eq!(second.usage.input_tokens, 250);

    let requests = harness.mock.requests();
    assert_eq!(requests.len(), 2);
    let history = requests[1].user_texts();
    assert!(
        history.iter().any(|t| t == "remember the word walnut"),
        "earlier prompt missing from the resumed request: {history:?}"
    );
    assert!(history.iter().any(|t| t == "what was the word?"));
    let body = requests[1].body_text();
    assert!(
        body.contains("first answer"),
        "earlier answer missing from history"
    );
}

#[tokio::test]
async fn second_turn_on_the_same_thread_reports_per_turn_usage() {
    let harness = Harness::start(
        Scenario::new()
            .response(MockResponse::message("one").with_usage(usage(100, 10, 20, 5)))
            .response(MockResponse::message("two").with_usage(usage(120, 10, 30, 5))),
    )
    .await;
    let thread = harness.codex.start_thread(harness.thread_options());
    thread.run("first").await.expect("first turn");
    let second = thread.run("second").await.expect("second turn");
    assert_eq!(second.usage.input_tokens, 220);
    assert_eq!(second.turn_usage.input_tokens, 120);
    assert_eq!(second.turn_usage.output_tokens, 30);
}

#[tokio::test]
async fn output_schema_reaches_the_request() {
    let schema = json!({
        "type": "object",
        "properties": {"answer": {"type": "string"}},
        "required": ["answer"],
        "additionalProperties": false
    });
    let harness =
        Harness::start(Scenario::new().response(MockResponse::message(r#"{"answer":"42"}"#))).await;
    let thread = harness.codex.start_thread(harness.thread_options());
    let result = thread
        .run_with(
            "answer as JSON",
            TurnOptions::default().with_output_schema(schema.clone()),
        )
        .await
        .expect("turn completes");
    assert_eq!(result.final_response, r#"{"answer":"42"}"#);

    let requests = harness.mock.requests();
    let format = requests[0]
        .text_format()
        .expect("text.format in the request");
    assert_eq!(format["type"], "json_schema");
    assert_eq!(format["schema"], schema);
}

#[tokio::test]
async fn an_image_reaches_the_request_as_input_image() {
    let harness =
        Harness::start(Scenario::new().response(MockResponse::message("a red dot"))).await;
    let image = harness.path("dot.png");
    std::fs::write(&image, TINY_PNG).expect("write image");
    let thread = harness.codex.start_thread(harness.thread_options());
    let result = thread
        .run(Input::text("describe").with_image(&image))
        .await
        .expect("turn completes");
    assert_eq!(result.final_response, "a red dot");
    let requests = harness.mock.requests();
    assert!(
        requests[0].has_input_image(),
        "no input_image in {}",
        requests[0].body_text()
    );
    assert_eq!(requests[0].last_user_text().as_deref(), Some("describe"));
}

#[tokio::test]
async fn http_500_with_retries_off_fails_the_turn() {
    let harness = Harness::start(
        Scenario::new()
            .retries(0)
            .response(MockResponse::http_error(500, "internal boom")),
    )
    .await;
    let thread = harness.codex.start_thread(harness.thread_options());
    let mut stream = thread.run_streamed("hello").await.expect("codex starts");
    let mut events = Vec::new();
    while let Some(event) = stream.next().await {
        events.push(event.expect("a failed turn is an event, not a stream error"));
    }
    let last = events.last().expect("events");
    assert!(matches!(last, ThreadEvent::TurnFailed(_)), "{events:?}");
    assert_eq!(harness.mock.request_count(), 1);

    let harness = Harness::start(
        Scenario::new()
            .retries(0)
            .response(MockResponse::http_error(500, "internal boom")),
    )
    .await;
    let thread = harness.codex.start_thread(harness.thread_options());
    let error = thread.run("hello").await.expect_err("turn fails");
    assert!(matches!(error, Error::TurnFailed { .. }), "{error:?}");
}

#[tokio::test]
async fn dropping_the_stream_mid_turn_leaves_no_process_behind() {
    let harness = Harness::start(
        Scenario::new()
            .response(MockResponse::output([OutputItem::exec_command("sleep 60")]))
            .response(MockResponse::message("never reached")),
    )
    .await;
    let thread = harness.codex.start_thread(
        harness
            .thread_options()
            .with_sandbox(SandboxMode::WorkspaceWrite),
    );
    let mut stream = thread
        .run_streamed("sleep a while")
        .await
        .expect("codex starts");
    let pid = stream.process_id().expect("codex pid");

    // Wait until the command is running, so codex has a child of its own.
    loop {
        let event = tokio::time::timeout(std::time::Duration::from_secs(60), stream.next())
            .await
            .expect("an event within a minute")
            .expect("stream still open")
            .expect("no error");
        if matches!(&event, ThreadEvent::ItemStarted(e) if e.item.kind() == "command_execution") {
            break;
        }
    }
    assert!(process_exists(pid));
    let members_before = group_members(pid);
    assert!(
        members_before.len() >= 2,
        "codex and its command: {members_before:?}"
    );

    drop(stream);

    assert!(
        eventually(10, || !process_exists(pid)).await,
        "codex (pid {pid}) is still there (or was not reaped) after the stream was dropped"
    );
    assert!(
        eventually(10, || group_members(pid).is_empty()).await,
        "processes of codex's group survived: {:?}",
        group_members(pid)
    );
}

/// A 1×1 red PNG.
pub const TINY_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53,
    0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0x00,
    0x00, 0x03, 0x01, 0x01, 0x00, 0xc9, 0xfe, 0x92, 0xef, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e,
    0x44, 0xae, 0x42, 0x60, 0x82,
];
