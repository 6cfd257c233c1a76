//! Host tools with the real pinned codex on both transports: exec serves them as an in-process
//! MCP server, the app-server as dynamic tools. Also the user's own stdio MCP server.

use crate::common::Harness;
use codexkit::protocol::{
    DynamicToolCallStatus, ItemDetails, McpToolCallStatus, ThreadEvent, ThreadItem, ToolCallEvent,
};
use codexkit::tools::{
    GuardDecision, McpApprovalMode, McpServer, Tool, ToolCall, ToolError, ToolOutput, ToolSet,
    guard_fn,
};
use codexkit::{Error, Transport, TurnResult};
use codexkit_testkit::{MockResponse, OutputItem, RecordedRequest, Scenario, StdioMcpServer};
use pretty_assertions::assert_eq;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Every turn here must end well within this; a hang fails the test instead of blocking it.
const TURN_DEADLINE: Duration = Duration::from_secs(90);

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct AddArgs {
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct LoginArgs {
    user: String,
    password: String,
}

/// What the tools saw: one entry per handler run.
type Calls = Arc<Mutex<Vec<String>>>;

/// `add`, `fail`, `boom`, `slow`, `guarded`, `login` at the top level and `calc/mul`.
fn tool_set(calls: &Calls) -> ToolSet {
    let set = ToolSet::new();
    let seen = Arc::clone(calls);
    set.register(
        Tool::new("add")
            .description("Adds two integers")
            .read_only(true)
            .handler(move |args: AddArgs| {
                let seen = Arc::clone(&seen);
                async move {
                    seen.lock()
                        .unwrap()
                        .push(format!("add({},{})", args.a, args.b));
                    Ok(ToolOutput::json(&json!({ "sum": args.a + args.b })))
                }
            }),
    )
    .unwrap();
    set.register(
        Tool::new("fail")
            .description("Always fails")
            .raw_handler(|_| async { Err(ToolError::new("the disk is on fire")) }),
    )
    .unwrap();
    set.register(
        Tool::new("boom")
            .description("Panics")
            .raw_handler(|_| async {
                if true {
                    panic!("boom went the handler");
                }
                Ok(ToolOutput::text("unreachable"))
            }),
    )
    .unwrap();
    set.register(
        Tool::new("slow")
            .description("Never finishes in time")
            .timeout(Duration::from_millis(500))
            .raw_handler(|_| async {
                tokio::time::sleep(Duration::from_secs(600)).await;
                Ok(ToolOutput::text("too late"))
            }),
    )
    .unwrap();
    set.register(
        Tool::new("guarded")
            .description("Denied by its guard")
            .guard(|_call: &ToolCall| GuardDecision::deny("guarded is switched off"))
            .raw_handler(|_| async { Ok(ToolOutput::text("should not run")) }),
    )
    .unwrap();
    let seen = Arc::clone(calls);
    set.register(
        Tool::new("login")
            .description("Logs in")
            .secret_field("password")
            .handler(move |args: LoginArgs| {
                let seen = Arc::clone(&seen);
                async move {
                    seen.lock()
                        .unwrap()
                        .push(format!("login({},{})", args.user, args.password));
                    Ok(ToolOutput::text(format!("welcome {}", args.user)))
                }
            }),
    )
    .unwrap();
    let seen = Arc::clone(calls);
    set.namespace("calc")
        .with_description("Calculator")
        .register(
            Tool::new("mul")
                .description("Multiplies two integers")
                .handler(move |args: AddArgs| {
                    let seen = Arc::clone(&seen);
                    async move {
                        seen.lock()
                            .unwrap()
                            .push(format!("mul({},{})", args.a, args.b));
                        Ok(ToolOutput::json(&json!({ "product": args.a * args.b })))
                    }
                }),
        )
        .unwrap();
    set
}

/// How the model addresses a tool of the set on each transport.
fn call(transport: &Transport, namespace: Option<&str>, name: &str, args: Value) -> OutputItem {
    match (transport, namespace) {
        (Transport::Exec, None) => OutputItem::namespaced_tool("mcp__codexkit", name, args),
        (Transport::Exec, Some(ns)) => {
            OutputItem::namespaced_tool(format!("mcp__{ns}"), name, args)
        }
        (_, None) => OutputItem::tool(name, args),
        (_, Some(ns)) => OutputItem::namespaced_tool(ns, name, args),
    }
}

async fn harness(transport: &Transport, scenario: Scenario) -> Harness {
    Harness::start_with(scenario.retries(0), transport.clone()).await
}

async fn run(harness: &Harness, tools: ToolSet, prompt: &str) -> TurnResult {
    let thread = harness
        .codex
        .start_thread(harness.thread_options().with_tools(tools));
    tokio::time::timeout(TURN_DEADLINE, thread.run(prompt))
        .await
        .expect("the turn ends in time")
        .expect("the turn completes")
}

/// `(tool, succeeded)` for every completed tool call item, whatever the transport.
fn tool_items(items: &[ThreadItem]) -> Vec<(String, bool)> {
    items
        .iter()
        .filter_map(|item| match &item.details {
            ItemDetails::McpToolCall(call) => Some((
                format!("{}/{}", call.server, call.tool),
                call.status == McpToolCallStatus::Completed,
            )),
            ItemDetails::DynamicToolCall(call) => Some((
                match &call.namespace {
                    Some(ns) => format!("{ns}/{}", call.tool),
                    None => call.tool.clone(),
                },
                call.status == DynamicToolCallStatus::Completed && call.success == Some(true),
            )),
            _ => None,
        })
        .collect()
}

fn completed_tool_events(events: &[ThreadEvent]) -> Vec<ToolCallEvent> {
    events
        .iter()
        .filter_map(|event| match event {
            ThreadEvent::ToolCallCompleted(done) => Some(done.clone()),
            _ => None,
        })
        .collect()
}

/// The text codex sent the model for each tool call, by call id (array outputs joined).
fn tool_outputs(request: &RecordedRequest) -> BTreeMap<String, String> {
    request
        .input_items()
        .iter()
        .filter(|item| item["type"] == "function_call_output")
        .map(|item| {
            let text = match &item["output"] {
                Value::String(text) => text.clone(),
                Value::Array(parts) => parts
                    .iter()
                    .filter_map(|p| p["text"].as_str())
                    .collect::<Vec<_>>()
                    .join("\n"),
                other => other.to_string(),
            };
            (item["call_id"].as_str().unwrap_or("?").to_owned(), text)
        })
        .collect()
}

fn model_requests(harness: &Harness) -> Vec<RecordedRequest> {
    harness
        .mock
        .requests()
        .into_iter()
        .filter(RecordedRequest::is_model_request)
        .collect()
}

async fn add_reaches_the_model(transport: Transport) {
    let calls = Calls::default();
    let harness = harness(
        &transport,
        Scenario::new()
            .response(MockResponse::output([call(
                &transport,
                None,
                "add",
                json!({"a": 2, "b": 3}),
            )]))
            .response(MockResponse::message("the sum is {{last_output}}")),
    )
    .await;
    let turn = run(&harness, tool_set(&calls), "add 2 and 3").await;
    assert_eq!(*calls.lock().unwrap(), ["add(2,3)"]);
    let requests = model_requests(&harness);
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[1].last_tool_output().as_deref(),
        Some(r#"{"sum":5}"#)
    );
    assert_eq!(turn.final_response, r#"the sum is {"sum":5}"#);
    let expected_item = match transport {
        Transport::Exec => "codexkit/add",
        _ => "add",
    };
    assert_eq!(tool_items(&turn.items), [(expected_item.to_owned(), true)]);
    let warnings: Vec<&ThreadItem> = turn
        .items
        .iter()
        .filter(|item| matches!(item.details, ItemDetails::Error(_)))
        .collect();
    assert!(
        warnings.is_empty(),
        "codex accepts every config key codexkit sends: {warnings:?}"
    );
    let kinds: Vec<&str> = turn.events.iter().map(ThreadEvent::kind).collect();
    let started = kinds.iter().position(|k| *k == "tool.call.started");
    let completed = kinds.iter().position(|k| *k == "tool.call.completed");
    let end = kinds.iter().position(|k| *k == "turn.completed");
    assert!(
        started.is_some() && started < completed && completed < end,
        "{kinds:?}"
    );
    let done = &completed_tool_events(&turn.events)[0];
    assert_eq!(done.name, "add");
    assert_eq!(done.namespace, None);
    assert_eq!(done.arguments, json!({"a": 2, "b": 3}));
    assert_eq!(done.success, Some(true));
    assert!(done.call_id.is_some(), "{done:?}");
}

#[tokio::test]
async fn exec_host_tool_result_reaches_the_model() {
    add_reaches_the_model(Transport::Exec).await;
}

#[tokio::test]
async fn app_server_dynamic_tool_result_reaches_the_model() {
    add_reaches_the_model(Transport::AppServer).await;
}

async fn namespaced_tool(transport: Transport) {
    let calls = Calls::default();
    let harness = harness(
        &transport,
        Scenario::new()
            .response(MockResponse::output([call(
                &transport,
                Some("calc"),
                "mul",
                json!({"a": 6, "b": 7}),
            )]))
            .response(MockResponse::message("{{last_output}}")),
    )
    .await;
    let turn = run(&harness, tool_set(&calls), "multiply").await;
    assert_eq!(*calls.lock().unwrap(), ["mul(6,7)"]);
    assert_eq!(turn.final_response, r#"{"product":42}"#);
    assert_eq!(tool_items(&turn.items), [("calc/mul".to_owned(), true)]);
    let done = &completed_tool_events(&turn.events)[0];
    assert_eq!(done.namespace.as_deref(), Some("calc"));
}

#[tokio::test]
async fn exec_namespaced_host_tool() {
    namespaced_tool(Transport::Exec).await;
}

#[tokio::test]
async fn app_server_namespaced_dynamic_tool() {
    namespaced_tool(Transport::AppServer).await;
}

async fn two_calls_in_one_response(transport: Transport) {
    let calls = Calls::default();
    let harness = harness(
        &transport,
        Scenario::new()
            .response(MockResponse::output([
                call(&transport, None, "add", json!({"a": 1, "b": 2})),
                call(&transport, None, "add", json!({"a": 30, "b": 40})),
            ]))
            .response(MockResponse::message("both done")),
    )
    .await;
    let turn = run(&harness, tool_set(&calls), "add twice").await;
    let mut seen = calls.lock().unwrap().clone();
    seen.sort();
    assert_eq!(seen, ["add(1,2)", "add(30,40)"]);
    let outputs = tool_outputs(&model_requests(&harness)[1]);
    assert_eq!(outputs.len(), 2, "{outputs:?}");
    assert!(outputs["call_1_1"].ends_with(r#"{"sum":3}"#), "{outputs:?}");
    assert!(
        outputs["call_1_2"].ends_with(r#"{"sum":70}"#),
        "{outputs:?}"
    );
    assert_eq!(completed_tool_events(&turn.events).len(), 2);
}

#[tokio::test]
async fn exec_two_tool_calls_in_one_response() {
    two_calls_in_one_response(Transport::Exec).await;
}

#[tokio::test]
async fn app_server_two_tool_calls_in_one_response() {
    two_calls_in_one_response(Transport::AppServer).await;
}

/// One response with a good call and every kind of failure; the follow-up request carries a
/// result for each, the turn completes, the failures are events.
async fn failure_matrix(transport: Transport) -> (Harness, TurnResult) {
    let calls = Calls::default();
    let t = &transport;
    let harness = harness(
        t,
        Scenario::new()
            .response(
                MockResponse::output([
                    call(t, None, "add", json!({"a": 2, "b": 3})),
                    call(t, None, "add", json!({"a": "two"})),
                    call(t, None, "fail", json!({})),
                    call(t, None, "boom", json!({})),
                    call(t, None, "slow", json!({})),
                    call(t, None, "vanished", json!({})),
                    call(t, None, "guarded", json!({})),
                    call(
                        t,
                        None,
                        "login",
                        json!({"user": "ada", "password": "s3cret"}),
                    ),
                ])
                // Time to deregister `vanished` after codex learned about it.
                .delay_ms(1500),
            )
            .response(MockResponse::message("all reported")),
    )
    .await;
    let tools = tool_set(&calls);
    let vanished = tools
        .register(Tool::new("vanished").raw_handler(|_| async { Ok(ToolOutput::text("here")) }))
        .unwrap();
    let thread = harness
        .codex
        .start_thread(harness.thread_options().with_tools(tools));
    let started = Instant::now();
    let turn = tokio::spawn(async move {
        tokio::time::timeout(TURN_DEADLINE, thread.run("try everything")).await
    });
    // Codex has listed the tools once it asks the model; then the tool goes away.
    harness
        .mock
        .wait_for_requests(1, Duration::from_secs(60))
        .await
        .expect("codex asks the model");
    assert!(vanished.deregister());
    let turn = turn
        .await
        .unwrap()
        .expect("nothing hangs")
        .expect("the turn completes despite failing tools");
    assert!(
        started.elapsed() < Duration::from_secs(45),
        "the slow tool's timeout bounds the turn: {:?}",
        started.elapsed()
    );
    let mut seen = calls.lock().unwrap().clone();
    seen.sort();
    assert_eq!(
        seen,
        ["add(2,3)", "login(ada,s3cret)"],
        "only these handlers ran to the end"
    );

    let outputs = tool_outputs(&model_requests(&harness)[1]);
    let expect = [
        ("call_1_1", r#"{"sum":5}"#),
        ("call_1_2", "invalid arguments for tool add"),
        ("call_1_3", "tool fail failed: the disk is on fire"),
        ("call_1_4", "its handler panicked: boom went the handler"),
        ("call_1_5", "tool slow did not finish within 500 ms"),
        ("call_1_6", "unknown tool vanished"),
        (
            "call_1_7",
            "the host denied the call of tool guarded: guarded is switched off",
        ),
        ("call_1_8", "welcome ada"),
    ];
    for (call_id, text) in expect {
        let output = outputs
            .get(call_id)
            .unwrap_or_else(|| panic!("{call_id}: {outputs:?}"));
        assert!(
            output.contains(text),
            "{call_id}: {output:?} lacks {text:?}"
        );
    }
    assert!(
        outputs["call_1_2"].contains(r#""two" is not of type "integer""#)
            && outputs["call_1_2"].contains(r#""b" is a required property"#),
        "every schema violation is listed: {}",
        outputs["call_1_2"]
    );

    let mut failures: Vec<(String, Option<String>, Option<String>)> =
        completed_tool_events(&turn.events)
            .into_iter()
            .map(|done| (done.name, done.failure, done.call_id))
            .collect();
    failures.sort();
    let failures: Vec<(String, Option<String>)> =
        failures.into_iter().map(|(n, f, _)| (n, f)).collect();
    assert_eq!(
        failures,
        [
            ("add".to_owned(), None),
            ("add".to_owned(), Some("invalid_arguments".to_owned())),
            ("boom".to_owned(), Some("panicked".to_owned())),
            ("fail".to_owned(), Some("handler_error".to_owned())),
            ("guarded".to_owned(), Some("denied".to_owned())),
            ("login".to_owned(), None),
            ("slow".to_owned(), Some("timed_out".to_owned())),
            ("vanished".to_owned(), Some("unknown_tool".to_owned())),
        ]
    );
    let login = turn
        .events
        .iter()
        .find_map(|e| match e {
            ThreadEvent::ToolCallStarted(s) if s.name == "login" => Some(s.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        login.arguments,
        json!({"user": "ada", "password": "[redacted]"}),
        "secret fields never reach events"
    );
    let tool_events: Vec<&ThreadEvent> = turn
        .events
        .iter()
        .filter(|e| e.kind().starts_with("tool.call."))
        .collect();
    assert!(
        !serde_json::to_string(&tool_events)
            .unwrap()
            .contains("s3cret"),
        "the secret is in no tool event"
    );
    (harness, turn)
}

#[tokio::test]
async fn exec_failure_matrix() {
    let (harness, turn) = failure_matrix(Transport::Exec).await;
    // Codex shows tool-level errors as failed mcp_tool_call items.
    let items = tool_items(&turn.items);
    assert_eq!(items.iter().filter(|(_, ok)| *ok).count(), 2, "{items:?}");
    check_golden(
        "tools_exec.json",
        &contract(&model_requests(&harness)[1], &[]),
    );
}

#[tokio::test]
async fn app_server_failure_matrix() {
    let (harness, turn) = failure_matrix(Transport::AppServer).await;
    let items = tool_items(&turn.items);
    assert_eq!(items.iter().filter(|(_, ok)| *ok).count(), 2, "{items:?}");
    let registered = [
        "add", "fail", "boom", "slow", "guarded", "login", "vanished", "calc",
    ];
    check_golden(
        "tools_app_server.json",
        &contract(&model_requests(&harness)[1], &registered),
    );
}

async fn guard_over_the_set(transport: Transport) {
    let calls = Calls::default();
    let harness = harness(
        &transport,
        Scenario::new()
            .response(MockResponse::output([call(
                &transport,
                None,
                "add",
                json!({"a": 2, "b": 2}),
            )]))
            .response(MockResponse::message("{{last_output}}")),
    )
    .await;
    let tools = tool_set(&calls).with_guard(guard_fn(|call: ToolCall| async move {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if call.arguments["a"] == call.arguments["b"] {
            GuardDecision::deny("equal addends are not allowed")
        } else {
            GuardDecision::Allow
        }
    }));
    let turn = run(&harness, tools, "add").await;
    assert!(calls.lock().unwrap().is_empty(), "the handler never ran");
    assert!(
        turn.final_response
            .contains("the host denied the call of tool add: equal addends are not allowed"),
        "{}",
        turn.final_response
    );
    let done = &completed_tool_events(&turn.events)[0];
    assert_eq!(done.failure.as_deref(), Some("denied"));
    assert_eq!(done.success, Some(false));
}

#[tokio::test]
async fn exec_guard_denies_a_call() {
    guard_over_the_set(Transport::Exec).await;
}

#[tokio::test]
async fn app_server_guard_denies_a_call() {
    guard_over_the_set(Transport::AppServer).await;
}

#[tokio::test]
async fn exec_user_stdio_mcp_server_is_called() {
    user_stdio_mcp_server(Transport::Exec).await;
}

#[tokio::test]
async fn app_server_user_stdio_mcp_server_is_called() {
    user_stdio_mcp_server(Transport::AppServer).await;
}

async fn user_stdio_mcp_server(transport: Transport) {
    let harness = harness(
        &transport,
        Scenario::new()
            .response(MockResponse::output([OutputItem::namespaced_tool(
                "mcp__echo",
                "add",
                json!({"a": 20, "b": 22}),
            )]))
            .response(MockResponse::message("{{last_output}}")),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mcp.log");
    let server = StdioMcpServer::new()
        .record_to(&log)
        .write_to(dir.path())
        .unwrap();
    let thread = harness.codex.start_thread(
        harness.thread_options().with_mcp_server(
            McpServer::stdio("echo", server.to_string_lossy())
                .with_approval(McpApprovalMode::Approve)
                .with_required(true),
        ),
    );
    let turn = tokio::time::timeout(TURN_DEADLINE, thread.run("add with your server"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(turn.final_response, r#"{"sum":42}"#);
    assert_eq!(tool_items(&turn.items), [("echo/add".to_owned(), true)]);
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains(r#""name":"add","arguments":{"a":20,"b":22}"#),
        "{logged}"
    );
}

#[tokio::test]
async fn a_thread_with_tools_and_a_user_server_of_the_same_name_is_refused() {
    let harness = harness(&Transport::Exec, Scenario::new()).await;
    let tools = ToolSet::new()
        .with(Tool::new("add").raw_handler(|_| async { Ok(ToolOutput::text("")) }))
        .unwrap();
    let thread = harness.codex.start_thread(
        harness
            .thread_options()
            .with_tools(tools)
            .with_mcp_server(McpServer::stdio("codexkit", "/bin/true")),
    );
    let error = thread.run("hi").await.unwrap_err();
    assert!(matches!(error, Error::InvalidTool { .. }), "{error:?}");
}

#[tokio::test]
async fn app_server_tools_need_the_experimental_api_of_the_connection() {
    let harness = harness(
        &Transport::AppServer,
        Scenario::new()
            .per_thread(true)
            .response(MockResponse::message("plain")),
    )
    .await;
    // A thread without tools starts the connection without the experimental API…
    let plain = harness.codex.start_thread(harness.thread_options());
    plain.run("hi").await.unwrap();
    // …so a later thread with tools gets a clear error instead of codex's refusal.
    let calls = Calls::default();
    let with_tools = harness
        .codex
        .start_thread(harness.thread_options().with_tools(tool_set(&calls)));
    let error = with_tools.run("hi").await.unwrap_err();
    assert!(
        matches!(error, Error::ExperimentalApiRequired { .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("with_experimental_api(true)"),
        "{error}"
    );
}

/// The port of the host tool server of a running exec turn, read from codex's command line,
/// and whether the turn's token is only in codex's environment.
async fn tool_server_of(pid: u32) -> (u16, bool) {
    let marker = "mcp_servers.codexkit={url = \"http://127.0.0.1:";
    let mut cmdline = String::new();
    // Right after the spawn the process may not show its command line yet.
    for _ in 0..100 {
        cmdline = String::from_utf8_lossy(&std::fs::read(format!("/proc/{pid}/cmdline")).unwrap())
            .into_owned();
        if cmdline.contains(marker) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let after = cmdline
        .split(marker)
        .nth(1)
        .unwrap_or_else(|| panic!("no tool server in {cmdline:?}"));
    let port = after.split('/').next().unwrap().parse().unwrap();
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    let token = environ
        .split(|b| *b == 0)
        .find_map(|var| var.strip_prefix(b"CODEXKIT_TOOLS_TOKEN="))
        .map(|t| String::from_utf8_lossy(t).into_owned())
        .expect("codex has the token in its environment");
    let only_in_env = token.len() == 64
        && !cmdline.contains(&token)
        && std::env::var_os("CODEXKIT_TOOLS_TOKEN").is_none();
    (port, only_in_env)
}

fn accepts(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

#[tokio::test]
async fn exec_tool_server_lives_only_as_long_as_the_turn() {
    let harness = harness(
        &Transport::Exec,
        Scenario::new()
            // Keeps codex running while the test looks at it.
            .response(MockResponse::message("first").delay_ms(1500))
            .response(MockResponse::message("never finished").hang_after(1)),
    )
    .await;
    let calls = Calls::default();
    let thread = harness
        .codex
        .start_thread(harness.thread_options().with_tools(tool_set(&calls)));

    // A turn that ends normally: the server is up while codex runs, gone after.
    let mut stream = thread.run_streamed("one").await.unwrap();
    let pid = stream.process_id().unwrap();
    let (port, only_in_env) = tool_server_of(pid).await;
    assert!(
        only_in_env,
        "the token must reach codex through its environment only"
    );
    assert!(accepts(port), "the server listens before codex starts");
    while let Some(event) = tokio::time::timeout(TURN_DEADLINE, stream.next())
        .await
        .unwrap()
    {
        event.unwrap();
    }
    assert!(
        crate::common::eventually(10, || !accepts(port)).await,
        "the server stops when the turn ends"
    );

    // A turn whose stream is dropped mid-turn: codex and the server both go.
    let stream = thread.run_streamed("two").await.unwrap();
    let pid = stream.process_id().unwrap();
    let (port, _) = tool_server_of(pid).await;
    harness
        .mock
        .wait_for_requests(2, Duration::from_secs(60))
        .await
        .unwrap();
    assert!(accepts(port));
    drop(stream);
    assert!(
        crate::common::eventually(10, || !accepts(port)).await,
        "dropping the stream stops the server"
    );
    assert!(
        crate::common::eventually(10, || !crate::common::process_exists(pid)).await,
        "and codex"
    );
}

// ---------------------------------------------------------------------------------------------
// Golden contract: what codex tells the model about host tool calls and their results.

/// The relevant, deterministic parts of a follow-up model request: the tool calls and their
/// outputs (ids and wall times removed), and the definitions of the named tools.
fn contract(request: &RecordedRequest, tools: &[&str]) -> Value {
    let body = request.body_json().expect("a JSON body");
    let mut calls: Vec<Value> = request
        .input_items()
        .iter()
        .filter(|item| {
            matches!(
                item["type"].as_str(),
                Some("function_call" | "function_call_output")
            )
        })
        .map(|item| {
            let mut item = item.clone();
            if let Some(map) = item.as_object_mut() {
                map.remove("id");
            }
            normalize(item)
        })
        .collect();
    calls.sort_by_key(|item| {
        (
            item["call_id"].as_str().unwrap_or("").to_owned(),
            item["type"].as_str().unwrap_or("").to_owned(),
        )
    });
    let definitions: Vec<Value> = body["tools"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter(|tool| {
                    tool["name"]
                        .as_str()
                        .is_some_and(|name| tools.contains(&name))
                })
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    json!({ "tools": definitions, "calls": calls })
}

/// Replaces wall-clock times in strings (`Wall time: 0.0039 seconds`).
fn normalize(value: Value) -> Value {
    match value {
        Value::String(text) => Value::String(normalize_wall_time(&text)),
        Value::Array(items) => Value::Array(items.into_iter().map(normalize).collect()),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, normalize(v))).collect())
        }
        other => other,
    }
}

fn normalize_wall_time(text: &str) -> String {
    const LABEL: &str = "Wall time: ";
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find(LABEL) {
        let after = &rest[start + LABEL.len()..];
        let Some(end) = after.find(" seconds") else {
            break;
        };
        out.push_str(&rest[..start + LABEL.len()]);
        out.push_str("<wall>");
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Compares with `fixtures/contracts/<name>`; `CODEXKIT_UPDATE_GOLDEN=1` rewrites the file.
fn check_golden(name: &str, actual: &Value) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/contracts")
        .join(name);
    let text = serde_json::to_string_pretty(actual).unwrap() + "\n";
    if std::env::var_os("CODEXKIT_UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with CODEXKIT_UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    let expected: Value = serde_json::from_str(&expected).unwrap();
    assert_eq!(
        &expected, actual,
        "the tool contract changed; if that is intended, rerun with CODEXKIT_UPDATE_GOLDEN=1"
    );
}

#[tokio::test]
async fn exec_shows_hyphenated_names_with_underscores() {
    // Codex replaces `-` by `_` in the names it shows the model (server and tool); the call
    // still reaches the tool registered with hyphens.
    let transport = Transport::Exec;
    let harness = harness(
        &transport,
        Scenario::new()
            .response(MockResponse::output([OutputItem::namespaced_tool(
                "mcp__my_ns",
                "my_add",
                json!({"a": 1, "b": 2}),
            )]))
            .response(MockResponse::message("{{last_output}}")),
    )
    .await;
    let set = ToolSet::new();
    set.namespace("my-ns")
        .register(Tool::new("my-add").handler(|args: AddArgs| async move {
            Ok(ToolOutput::text(format!("{}", args.a + args.b)))
        }))
        .unwrap();
    let turn = run(&harness, set, "add").await;
    assert_eq!(turn.final_response, "3");
    assert_eq!(tool_items(&turn.items), [("my-ns/my-add".to_owned(), true)]);
}
