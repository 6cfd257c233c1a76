//! The app-server transport with the real pinned codex: the skeleton's scenarios, approvals
//! with deadlines, interrupt, connection loss, resume across processes, WebSocket.

use crate::common::{Harness, eventually, process_exists};
use codexkit::approvals::{
    AcceptAll, ApprovalDecision, ApprovalError, ApprovalKind, Approver, approval_fn,
};
use codexkit::protocol::{
    CommandExecutionStatus, FileChangeKind, ItemDetails, ThreadEvent, ThreadItem,
};
use codexkit::{
    ApprovalMode, Codex, Error, Input, ListeningAppServer, RemoteAppServer, SandboxMode,
    ThreadOptions, Transport, TurnOptions,
};
use codexkit_testkit::{MockResponse, OutputItem, Scenario, usage};
use pretty_assertions::assert_eq;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

fn commands(items: &[ThreadItem]) -> Vec<&codexkit::protocol::CommandExecutionItem> {
    items
        .iter()
        .filter_map(|item| match &item.details {
            ItemDetails::CommandExecution(cmd) => Some(cmd),
            _ => None,
        })
        .collect()
}

async fn collect(stream: &mut codexkit::EventStream) -> Vec<ThreadEvent> {
    let mut events = Vec::new();
    tokio::time::timeout(Duration::from_secs(90), async {
        while let Some(event) = stream.next().await {
            events.push(event.expect("no stream error"));
        }
    })
    .await
    .expect("the turn ends");
    events
}

#[tokio::test]
async fn plain_message_streams_deltas_before_the_completed_item() {
    let harness = Harness::app_server(
        Scenario::new().response(
            MockResponse::message("Hello streamed world")
                .streamed()
                .with_usage(usage(100, 10, 20, 5)),
        ),
    )
    .await;
    let thread = harness.codex.start_thread(harness.thread_options());
    let mut stream = thread.run_streamed("say hi").await.expect("turn starts");
    let events = collect(&mut stream).await;
    let kinds: Vec<&str> = events.iter().map(ThreadEvent::kind).collect();
    assert_eq!(kinds.first(), Some(&"thread.started"), "{kinds:?}");
    // One announcement per run, as on exec, though codex also sends `thread/started`.
    assert_eq!(
        kinds.iter().filter(|k| **k == "thread.started").count(),
        1,
        "{kinds:?}"
    );
    assert_eq!(kinds.last(), Some(&"turn.completed"), "{kinds:?}");
    let first_delta = kinds.iter().position(|k| *k == "item.agent_message.delta");
    let completed = events.iter().position(
        |e| matches!(e, ThreadEvent::ItemCompleted(c) if c.item.kind() == "agent_message"),
    );
    assert!(
        first_delta.is_some() && first_delta < completed,
        "deltas must come before the completed message: {kinds:?}"
    );
    let streamed: String = events
        .iter()
        .filter_map(|e| match e {
            ThreadEvent::AgentMessageDelta(d) => Some(d.delta.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(streamed, "Hello streamed world");
    let ThreadEvent::TurnCompleted(done) = events.last().unwrap() else {
        unreachable!()
    };
    assert_eq!(done.usage.input_tokens, 100);
    assert_eq!(done.usage.output_tokens, 20);
    assert!(thread.id().is_some());

    let result = harness
        .codex
        .start_thread(harness.thread_options())
        .run("again")
        .await
        .expect_err("the scenario has no second response");
    assert!(matches!(result, Error::TurnFailed { .. }), "{result:?}");
}

#[tokio::test]
async fn the_skeleton_scenarios_give_the_same_items_on_the_app_server() {
    let patch = "*** Begin Patch\n*** Add File: hello.txt\n+hello world\n*** End Patch\n";
    let harness = Harness::app_server(
        Scenario::new()
            .response(MockResponse::output([OutputItem::exec_command(
                "echo data > created.txt && echo wrote",
            )]))
            .response(MockResponse::message("done: {{last_output}}"))
            .response(MockResponse::output([OutputItem::apply_patch(patch)]))
            .response(MockResponse::message("patched"))
            // The pause: a write refused within ~50 ms gets no command item (see
            // the_same_command_under_read_only_fails).
            .response(MockResponse::output([OutputItem::exec_command(
                "sleep 0.3; echo no > denied.txt",
            )]))
            .response(MockResponse::message("could not write")),
    )
    .await;
    let writable = harness.codex.start_thread(
        harness
            .thread_options()
            .with_sandbox(SandboxMode::WorkspaceWrite)
            .with_approval_mode(ApprovalMode::Never),
    );
    let shell = writable.run("write a file").await.expect("shell turn");
    let cmds = commands(&shell.items);
    assert_eq!(cmds.len(), 1, "{:?}", shell.items);
    assert_eq!(cmds[0].exit_code, Some(0), "{}", cmds[0].aggregated_output);
    assert_eq!(cmds[0].status, CommandExecutionStatus::Completed);
    assert_eq!(
        std::fs::read_to_string(harness.path("created.txt")).unwrap(),
        "data\n"
    );
    assert!(
        shell.final_response.contains("wrote"),
        "{}",
        shell.final_response
    );

    let patched = writable.run("add hello.txt").await.expect("patch turn");
    let change = patched
        .items
        .iter()
        .find_map(|i| match &i.details {
            ItemDetails::FileChange(c) => Some(c),
            _ => None,
        })
        .expect("a file_change item");
    assert_eq!(change.changes[0].kind, FileChangeKind::Add);
    assert!(change.changes[0].path.ends_with("hello.txt"));
    assert_eq!(
        std::fs::read_to_string(harness.path("hello.txt")).unwrap(),
        "hello world\n"
    );
    assert_eq!(patched.final_response, "patched");

    let read_only = harness.codex.start_thread(
        harness
            .thread_options()
            .with_sandbox(SandboxMode::ReadOnly)
            .with_approval_mode(ApprovalMode::Never),
    );
    let denied = read_only.run("write again").await.expect("read-only turn");
    let cmds = commands(&denied.items);
    assert_eq!(cmds.len(), 1, "{:?}", denied.items);
    assert_ne!(cmds[0].exit_code, Some(0));
    assert!(!harness.path("denied.txt").exists());
}

#[tokio::test]
async fn output_schema_image_and_http_500_on_the_app_server() {
    let schema = json!({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"], "additionalProperties": false});
    let harness = Harness::app_server(
        Scenario::new()
            .retries(0)
            .response(MockResponse::message(r#"{"a":"b"}"#))
            .response(MockResponse::message("a dot"))
            .response(MockResponse::http_error(500, "boom")),
    )
    .await;
    let thread = harness.codex.start_thread(harness.thread_options());
    let typed = thread
        .run_with(
            "json please",
            TurnOptions::default().with_output_schema(schema.clone()),
        )
        .await
        .expect("schema turn");
    assert_eq!(typed.final_response, r#"{"a":"b"}"#);
    let image = harness.path("dot.png");
    std::fs::write(&image, crate::real_codex::TINY_PNG).unwrap();
    thread
        .run(Input::text("describe").with_image(&image))
        .await
        .expect("image turn");
    let failed = thread.run("fail now").await.expect_err("HTTP 500");
    assert!(matches!(failed, Error::TurnFailed { .. }), "{failed:?}");

    let requests = harness.mock.requests();
    assert_eq!(requests[0].text_format().unwrap()["schema"], schema);
    assert!(requests[1].has_input_image());
}

fn untrusted(harness: &Harness, approver: Approver) -> ThreadOptions {
    harness
        .thread_options()
        .with_sandbox(SandboxMode::WorkspaceWrite)
        .with_approval_mode(ApprovalMode::Untrusted)
        .with_approver(approver)
}

fn approval_scenario(command: &str) -> Scenario {
    Scenario::new()
        .response(MockResponse::output([OutputItem::exec_command(command)]))
        .response(MockResponse::message("after the command"))
}

#[tokio::test]
async fn accepted_command_runs_and_the_audit_is_in_the_events() {
    let harness = Harness::app_server(approval_scenario("touch approved.txt")).await;
    let thread = harness
        .codex
        .start_thread(untrusted(&harness, Approver::new(Arc::new(AcceptAll))));
    let result = thread.run("touch it").await.expect("turn completes");
    assert!(harness.path("approved.txt").exists());
    let cmds = commands(&result.items);
    assert_eq!(cmds[0].status, CommandExecutionStatus::Completed);
    let requested = result
        .events
        .iter()
        .filter(|e| matches!(e, ThreadEvent::ApprovalRequested(_)))
        .count();
    let resolved: Vec<_> = result
        .events
        .iter()
        .filter_map(|e| match e {
            ThreadEvent::ApprovalResolved(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(requested, 1);
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0].kind, "command_execution");
    assert_eq!(resolved[0].decided_by.as_deref(), Some("handler"));
    assert_eq!(resolved[0].decision, Some(json!("accept")));
}

#[tokio::test]
async fn declined_command_is_declined_and_the_turn_completes() {
    let harness = Harness::app_server(approval_scenario("touch declined.txt")).await;
    // The default approver declines.
    let thread = harness
        .codex
        .start_thread(untrusted(&harness, Approver::default()));
    let result = thread.run("touch it").await.expect("turn completes");
    assert!(!harness.path("declined.txt").exists());
    let cmds = commands(&result.items);
    assert_eq!(cmds.len(), 1, "{:?}", result.items);
    assert_eq!(cmds[0].status, CommandExecutionStatus::Declined);
    assert_eq!(result.final_response, "after the command");
}

#[tokio::test]
async fn cancel_decision_interrupts_the_turn() {
    let harness = Harness::app_server(approval_scenario("touch cancelled.txt")).await;
    let approver = Approver::new(approval_fn(|_| async { Ok(ApprovalDecision::Cancel) }));
    let thread = harness.codex.start_thread(untrusted(&harness, approver));
    let mut stream = thread.run_streamed("touch it").await.unwrap();
    let events = collect(&mut stream).await;
    assert!(
        matches!(events.last(), Some(ThreadEvent::TurnInterrupted(_))),
        "{events:?}"
    );
    assert!(!harness.path("cancelled.txt").exists());
    assert_eq!(
        harness.mock.request_count(),
        1,
        "no model call after cancel"
    );
}

#[tokio::test]
async fn accepted_file_change_applies_the_patch() {
    let patch = "*** Begin Patch\n*** Add File: approved.txt\n+yes\n*** End Patch\n";
    let harness = Harness::app_server(
        Scenario::new()
            .response(MockResponse::output([OutputItem::apply_patch(patch)]))
            .response(MockResponse::message("patched")),
    )
    .await;
    let kinds = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = Arc::clone(&kinds);
    let approver = Approver::new(approval_fn(move |request| {
        seen.lock().unwrap().push(request.kind);
        async { Ok(ApprovalDecision::Accept) }
    }));
    let thread = harness.codex.start_thread(
        harness
            .thread_options()
            .with_sandbox(SandboxMode::ReadOnly)
            .with_approval_mode(ApprovalMode::OnRequest)
            .with_approver(approver),
    );
    let result = thread.run("patch it").await.expect("turn completes");
    assert_eq!(*kinds.lock().unwrap(), [ApprovalKind::FileChange]);
    assert_eq!(
        std::fs::read_to_string(harness.path("approved.txt")).unwrap(),
        "yes\n"
    );
    assert_eq!(result.final_response, "patched");
}

#[tokio::test]
async fn an_approver_that_never_answers_is_timed_out_and_the_turn_completes() {
    let harness = Harness::app_server(approval_scenario("touch never.txt")).await;
    let approver =
        Approver::new(approval_fn(|_| std::future::pending())).with_timeout(Duration::from_secs(2));
    let thread = harness.codex.start_thread(untrusted(&harness, approver));
    let started = std::time::Instant::now();
    let result = thread.run("touch it").await.expect("turn completes");
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "took {:?}",
        started.elapsed()
    );
    assert!(!harness.path("never.txt").exists());
    assert_eq!(
        commands(&result.items)[0].status,
        CommandExecutionStatus::Declined
    );
    let timed_out: Vec<_> = result
        .events
        .iter()
        .filter_map(|e| match e {
            ThreadEvent::ApprovalTimedOut(t) => Some(t),
            _ => None,
        })
        .collect();
    assert_eq!(timed_out.len(), 1, "{:?}", result.events);
    assert_eq!(timed_out[0].decided_by.as_deref(), Some("timeout"));
    assert_eq!(timed_out[0].decision, Some(json!("decline")));
}

#[tokio::test]
async fn interrupt_mid_stream_ends_the_turn_as_interrupted() {
    let harness = Harness::app_server(
        Scenario::new().response(
            MockResponse::message("one two three four")
                .streamed()
                .hang_after(4),
        ),
    )
    .await;
    let thread = harness.codex.start_thread(harness.thread_options());
    let mut stream = thread.run_streamed("talk").await.unwrap();
    loop {
        let event = tokio::time::timeout(Duration::from_secs(60), stream.next())
            .await
            .expect("events")
            .expect("open")
            .expect("ok");
        if matches!(
            event,
            ThreadEvent::AgentMessageDelta(_) | ThreadEvent::ItemStarted(_)
        ) {
            break;
        }
    }
    stream.interrupt().await.expect("interrupt sent");
    let rest = collect(&mut stream).await;
    assert!(
        matches!(rest.last(), Some(ThreadEvent::TurnInterrupted(_))),
        "{rest:?}"
    );
}

#[tokio::test]
async fn killing_the_app_server_fails_everything_at_once_and_a_new_one_resumes() {
    let harness = Harness::app_server(
        Scenario::new()
            .response(MockResponse::message("first answer"))
            .response(MockResponse::message("stuck").streamed().hang_after(2))
            .response(MockResponse::message("resumed answer")),
    )
    .await;
    let thread = harness.codex.start_thread(harness.thread_options());
    thread.run("remember walnut").await.expect("first turn");
    let id = thread.id().unwrap();

    let mut stream = thread.run_streamed("hang now").await.unwrap();
    harness
        .mock
        .wait_for_requests(2, Duration::from_secs(30))
        .await
        .expect("second model call");
    let pids = harness.app_server_pids();
    assert_eq!(pids.len(), 1, "{pids:?}");
    let client = harness.codex.app_server().await.unwrap();
    let pending = tokio::spawn(async move { client.request("thread/list", json!({})).await });
    let killed = std::process::Command::new("kill")
        .args(["-9", &pids[0].to_string()])
        .status();
    assert!(killed.unwrap().success());

    let failure = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match stream.next().await {
                Some(Err(error)) => break error,
                Some(Ok(_)) => continue,
                None => panic!("stream ended without an error"),
            }
        }
    })
    .await
    .expect("the stream fails promptly");
    assert!(
        matches!(failure, Error::ConnectionClosed { .. }),
        "{failure:?}"
    );
    let pending = pending.await.unwrap();
    assert!(
        matches!(pending, Err(Error::ConnectionClosed { .. }) | Ok(_)),
        "{pending:?}"
    );
    assert!(eventually(5, || !process_exists(pids[0])).await);

    // A second app-server process (a new client) resumes the thread with its history.
    let other = harness.another_client(Transport::AppServer);
    let resumed = other.resume_thread(id.clone(), harness.thread_options());
    let result = resumed
        .run("what was the word?")
        .await
        .expect("resumed turn");
    assert_eq!(result.thread_id.as_ref(), Some(&id));
    assert_eq!(result.final_response, "resumed answer");
    let last = harness.mock.requests().last().unwrap().clone();
    assert!(
        last.user_texts().iter().any(|t| t == "remember walnut"),
        "{:?}",
        last.user_texts()
    );
}

#[tokio::test]
async fn a_turn_over_websocket_completes() {
    let harness =
        Harness::app_server(Scenario::new().response(MockResponse::message("over the wire"))).await;
    let token = codexkit::SecretString::new("capability-token-for-test");
    let server = ListeningAppServer::spawn(
        harness.codex.binary().unwrap(),
        &crate::common::hermetic_options(&harness.hermetic),
        Some(&token),
    )
    .await
    .expect("app-server listens");
    assert!(
        server.url().starts_with("ws://127.0.0.1:"),
        "{}",
        server.url()
    );

    let unauthenticated = Codex::with_binary(
        harness.codex.binary().unwrap().clone(),
        codexkit::CodexOptions::default()
            .with_transport(Transport::Remote(RemoteAppServer::new(server.url()))),
    );
    let refused = unauthenticated.app_server().await.expect_err("no token");
    assert!(
        matches!(refused, Error::ConnectionClosed { .. }),
        "{refused:?}"
    );

    let remote = Codex::with_binary(
        harness.codex.binary().unwrap().clone(),
        codexkit::CodexOptions::default().with_transport(Transport::Remote(
            RemoteAppServer::new(server.url()).with_token(token.clone()),
        )),
    );
    let thread = remote.start_thread(harness.thread_options());
    let result = thread.run("hello remote").await.expect("remote turn");
    assert_eq!(result.final_response, "over the wire");
}

#[tokio::test]
async fn handler_failures_and_panics_get_the_fallback() {
    let harness = Harness::app_server(
        Scenario::new()
            .response(MockResponse::output([OutputItem::exec_command(
                "touch a.txt",
            )]))
            .response(MockResponse::output([OutputItem::exec_command(
                "touch b.txt",
            )]))
            .response(MockResponse::message("done")),
    )
    .await;
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let approver = Approver::new(approval_fn(move |_| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async move {
            if n == 0 {
                Err(ApprovalError::new("policy service down"))
            } else {
                panic!("approver bug")
            }
        }
    }))
    .with_fallback(ApprovalDecision::Decline);
    let thread = harness.codex.start_thread(untrusted(&harness, approver));
    let result = thread.run("touch both").await.expect("turn completes");
    let failed: Vec<_> = result
        .events
        .iter()
        .filter_map(|e| match e {
            ThreadEvent::ApprovalFailed(f) => f.message.clone(),
            _ => None,
        })
        .collect();
    assert_eq!(failed.len(), 2, "{:?}", result.events);
    assert!(failed[0].contains("policy service down"));
    assert!(failed[1].contains("panicked"));
    assert!(!harness.path("a.txt").exists() && !harness.path("b.txt").exists());
}

/// 10 threads on one app-server, 20 approvals each, answered by a handler that is randomly
/// fast, late, failing, panicking or silent: every request gets exactly one answer, every turn
/// ends, and no event reaches the wrong thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_approvals_across_ten_threads_each_get_exactly_one_answer() {
    const THREADS: usize = 10;
    const ROUNDS: usize = 4;
    const CALLS_PER_ROUND: usize = 5;
    let mut scenario = Scenario::new().per_thread(true);
    for round in 0..ROUNDS {
        scenario = scenario
            .response(MockResponse::output((0..CALLS_PER_ROUND).map(|call| {
                OutputItem::exec_command(format!("touch f{round}_{call}.txt"))
            })));
    }
    let scenario = scenario.response(MockResponse::message("all done"));
    let harness = Harness::app_server(scenario).await;

    let counter = Arc::new(std::sync::atomic::AtomicU64::new(0x2545_f491_4f6c_dd1d));
    let handler = approval_fn(move |request| {
        // A small deterministic generator: reproducible "randomness" without a crate.
        let n = counter.fetch_add(0x9e37_79b9_7f4a_7c15, std::sync::atomic::Ordering::Relaxed);
        let pick = (n >> 33) % 6;
        let thread = request.thread_id.clone();
        async move {
            assert!(thread.is_some(), "approval without a thread id");
            match pick {
                0 => Ok(ApprovalDecision::Accept),
                1 => {
                    tokio::time::sleep(Duration::from_millis(50 + (n % 300))).await;
                    Ok(ApprovalDecision::Decline)
                }
                2 => Err(ApprovalError::new("flaky policy service")),
                3 => panic!("handler bug"),
                4 => std::future::pending().await,
                _ => {
                    tokio::time::sleep(Duration::from_millis(n % 100)).await;
                    Ok(ApprovalDecision::Accept)
                }
            }
        }
    });
    let approver = Approver::new(handler).with_timeout(Duration::from_millis(800));

    let mut turns = Vec::new();
    for _ in 0..THREADS {
        let thread = harness
            .codex
            .start_thread(untrusted(&harness, approver.clone()));
        turns.push(tokio::spawn(async move {
            let result = thread.run("touch many files").await;
            (thread.id(), result)
        }));
    }
    let mut total_requested = 0;
    let mut seen_request_ids = std::collections::HashSet::new();
    for turn in turns {
        let (id, result) = tokio::time::timeout(Duration::from_secs(240), turn)
            .await
            .expect("no turn hangs")
            .expect("task joined");
        let result = result.expect("turn completes");
        let id = id.expect("thread id").to_string();
        assert_eq!(result.final_response, "all done");
        let requested: Vec<_> = result
            .events
            .iter()
            .filter_map(|e| match e {
                ThreadEvent::ApprovalRequested(r) => Some(r),
                _ => None,
            })
            .collect();
        let resolved: Vec<_> = result
            .events
            .iter()
            .filter_map(|e| match e {
                ThreadEvent::ApprovalResolved(r) => Some(r),
                _ => None,
            })
            .collect();
        assert_eq!(requested.len(), ROUNDS * CALLS_PER_ROUND, "thread {id}");
        assert_eq!(
            resolved.len(),
            requested.len(),
            "one answer per request in thread {id}"
        );
        for event in requested.iter().chain(&resolved) {
            assert_eq!(
                event.params["threadId"],
                id.as_str(),
                "event routed to the wrong thread"
            );
        }
        let mut answered: Vec<String> = resolved.iter().map(|r| r.request_id.to_string()).collect();
        answered.sort();
        answered.dedup();
        assert_eq!(
            answered.len(),
            resolved.len(),
            "a request answered twice in thread {id}"
        );
        for r in &resolved {
            assert!(
                seen_request_ids.insert(r.request_id.to_string()),
                "request id reused"
            );
        }
        for cmd in commands(&result.items) {
            assert!(
                matches!(
                    cmd.status,
                    CommandExecutionStatus::Completed | CommandExecutionStatus::Declined
                ),
                "{cmd:?}"
            );
        }
        total_requested += requested.len();
    }
    assert_eq!(total_requested, THREADS * ROUNDS * CALLS_PER_ROUND);
    harness
        .mock
        .ensure_no_failures()
        .expect("every model request answered");
}

#[tokio::test]
async fn steer_adds_input_to_the_running_turn() {
    let harness = Harness::app_server(
        Scenario::new()
            .response(
                MockResponse::message("working on it")
                    .streamed()
                    .hang_after(4),
            )
            .response(MockResponse::message("steered answer")),
    )
    .await;
    let thread = harness.codex.start_thread(harness.thread_options());
    let mut stream = thread.run_streamed("first prompt").await.unwrap();
    assert!(stream.turn_id().is_some());
    harness
        .mock
        .wait_for_requests(1, Duration::from_secs(30))
        .await
        .unwrap();
    loop {
        let event = stream.next().await.expect("open").expect("ok");
        if matches!(event, ThreadEvent::AgentMessageDelta(_)) {
            break;
        }
    }
    stream
        .steer("actually, answer in French")
        .await
        .expect("steer accepted");
    let rest = collect(&mut stream).await;
    assert!(
        matches!(rest.last(), Some(ThreadEvent::TurnCompleted(_))),
        "{rest:?}"
    );
    let requests = harness.mock.requests();
    assert_eq!(requests.len(), 2);
    assert!(
        requests[1]
            .user_texts()
            .iter()
            .any(|t| t == "actually, answer in French")
    );
}

#[tokio::test]
async fn fork_starts_a_new_thread_with_the_history() {
    let harness = Harness::app_server(
        Scenario::new()
            .response(MockResponse::message("first answer"))
            .response(MockResponse::message("forked answer")),
    )
    .await;
    let source = harness.codex.start_thread(harness.thread_options());
    source.run("first question").await.unwrap();
    let fork = source.fork(harness.thread_options()).await.expect("fork");
    assert_ne!(fork.id(), source.id());
    let result = fork.run("second question").await.expect("turn on the fork");
    assert_eq!(result.final_response, "forked answer");
    assert_eq!(result.thread_id, fork.id());
    let last = harness.mock.requests().last().unwrap().clone();
    assert!(
        last.user_texts().iter().any(|t| t == "first question"),
        "{:?}",
        last.user_texts()
    );

    let exec = Harness::start(Scenario::new().response(MockResponse::message("x"))).await;
    let thread = exec.codex.start_thread(exec.thread_options());
    thread.run("hi").await.unwrap();
    let error = thread
        .fork(exec.thread_options())
        .await
        .expect_err("exec cannot fork");
    assert!(matches!(error, Error::Unsupported { .. }), "{error:?}");
}

#[tokio::test]
async fn a_pool_spreads_threads_over_remote_app_servers() {
    let harness = Harness::app_server(
        Scenario::new()
            .per_thread(true)
            .response(MockResponse::message("pooled answer")),
    )
    .await;
    let options = crate::common::hermetic_options(&harness.hermetic);
    let binary = harness.codex.binary().unwrap();
    let first = ListeningAppServer::spawn(binary, &options, None)
        .await
        .unwrap();
    let second = ListeningAppServer::spawn(binary, &options, None)
        .await
        .unwrap();
    let pool = codexkit::CodexPool::remote(
        [
            RemoteAppServer::new(first.url()),
            RemoteAppServer::new(second.url()),
        ],
        &codexkit::CodexOptions::default(),
    )
    .expect("pool");
    assert_eq!(pool.members().len(), 2);
    let mut turns = Vec::new();
    for _ in 0..4 {
        let thread = pool.start_thread(harness.thread_options());
        turns.push(tokio::spawn(async move { thread.run("hello").await }));
    }
    for turn in turns {
        assert_eq!(
            turn.await.unwrap().expect("turn").final_response,
            "pooled answer"
        );
    }
    // Round robin: the next two picks are the two different members.
    let a = pool.pick() as *const codexkit::Codex;
    let b = pool.pick() as *const codexkit::Codex;
    assert_ne!(a, b);
    assert!(codexkit::CodexPool::new(Vec::new()).is_err());
}
