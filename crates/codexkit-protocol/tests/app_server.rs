//! The app-server wire types and the normalizer against every app-server transcript recorded
//! from the pinned codex binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use codexkit_protocol::app_server::{
    AccountRead, AppServerItem, AskForApproval, ClientRequest, CommandExecutionApprovalDecision,
    CommandExecutionApprovalResponse, DynamicToolCallResponse, DynamicToolContentItem,
    ElicitationAction, EmptyResponse, FileChangeApprovalResponse, Incoming, Initialize,
    InitializeParams, McpElicitationResponse, ModelList, OutgoingError, OutgoingNotification,
    OutgoingRequest, OutgoingResponse, RequestId, RpcError, SandboxMode, ServerNotification,
    ServerRequest, ThreadArchive, ThreadFork, ThreadList, ThreadRead, ThreadResume, ThreadStart,
    ThreadStartParams, ThreadStatus, TraceContext, TurnInterrupt, TurnNormalizer, TurnStart,
    TurnStartParams, TurnStatus, TurnSteer, UserInput, classify, decode_result, parse_incoming,
};
use codexkit_protocol::{
    CommandExecutionStatus, DynamicToolCallStatus, FileChangeKind, ItemDetails, McpToolCallStatus,
    ThreadEvent, Usage,
};
use pretty_assertions::assert_eq;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn transcripts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/transcripts/codex-0.171.0")
}

fn transcript_files() -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(transcripts_dir())
        .expect("fixtures directory")
        .map(|entry| entry.expect("dir entry").path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.starts_with("appserver_") && name.ends_with(".jsonl")
        })
        .collect();
    files.sort();
    assert_eq!(files.len(), 28, "expected every app-server transcript");
    files
}

/// One logged message: its direction (`true` = server→client) and the message.
struct Logged {
    from_server: bool,
    msg: Value,
    place: String,
}

fn read_log(path: &Path) -> Vec<Logged> {
    let text = std::fs::read_to_string(path).expect("read transcript");
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(index, line)| {
            let record: Value = serde_json::from_str(line).expect("valid json");
            Logged {
                from_server: match record["dir"].as_str() {
                    Some("server->client") => true,
                    Some("client->server") => false,
                    other => panic!("unexpected dir {other:?}"),
                },
                msg: record["msg"].clone(),
                place: format!("{}:{}", path.display(), index + 1),
            }
        })
        .collect()
}

fn log(name: &str) -> Vec<Logged> {
    read_log(&transcripts_dir().join(name))
}

/// Everything the server sent, through `parse_incoming` (as the line would arrive).
fn incoming(name: &str) -> Vec<Incoming> {
    log(name)
        .into_iter()
        .filter(|l| l.from_server)
        .map(|l| parse_incoming(&l.msg.to_string()).unwrap())
        .collect()
}

fn normalize(name: &str) -> Vec<ThreadEvent> {
    let mut normalizer = TurnNormalizer::new();
    let mut events = Vec::new();
    for message in incoming(name) {
        if let Incoming::Notification { method, params } = message {
            events.extend(
                normalizer.on_notification(&ServerNotification::from_parts(&method, params)),
            );
        }
    }
    events
}

fn kinds(events: &[ThreadEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e.item() {
            Some(item) => format!("{}:{}", e.kind(), item.kind()),
            None => e.kind().to_owned(),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Every transcript
// ---------------------------------------------------------------------------------------------

fn assert_item_known(item: &AppServerItem, place: &str) {
    assert!(
        !matches!(item, AppServerItem::Unknown(_)),
        "{place}: unknown item {item:?}"
    );
}

fn check_response<R: ClientRequest>(result: &Value, place: &str)
where
    R::Response: std::fmt::Debug,
{
    R::decode_response(result.clone())
        .unwrap_or_else(|e| panic!("{place}: {} response does not decode: {e}", R::METHOD));
}

fn check_typed_response(method: &str, result: &Value, place: &str) -> bool {
    match method {
        "initialize" => check_response::<Initialize>(result, place),
        "thread/start" => check_response::<ThreadStart>(result, place),
        "thread/resume" => check_response::<ThreadResume>(result, place),
        "thread/fork" => check_response::<ThreadFork>(result, place),
        "thread/list" => check_response::<ThreadList>(result, place),
        "thread/read" => check_response::<ThreadRead>(result, place),
        "thread/archive" => check_response::<ThreadArchive>(result, place),
        "turn/start" => check_response::<TurnStart>(result, place),
        "turn/steer" => check_response::<TurnSteer>(result, place),
        "turn/interrupt" => check_response::<TurnInterrupt>(result, place),
        "model/list" => check_response::<ModelList>(result, place),
        "account/read" => check_response::<AccountRead>(result, place),
        _ => return false,
    }
    true
}

#[test]
fn every_server_message_parses_and_known_methods_decode_typed() {
    let mut notifications = 0usize;
    let mut items = 0usize;
    let mut requests = 0usize;
    let mut typed_responses = 0usize;
    let mut errors = 0usize;
    let mut per_method: HashMap<String, usize> = HashMap::new();

    for file in transcript_files() {
        let mut client_methods: HashMap<RequestId, String> = HashMap::new();
        for logged in read_log(&file) {
            let place = &logged.place;
            if !logged.from_server {
                if let (Some(id), Some(method)) =
                    (logged.msg.get("id"), logged.msg["method"].as_str())
                {
                    let id: RequestId = serde_json::from_value(id.clone()).unwrap();
                    client_methods.insert(id, method.to_owned());
                }
                continue;
            }
            let line = logged.msg.to_string();
            let message = parse_incoming(&line).unwrap_or_else(|e| panic!("{place}: {e}"));
            match message {
                Incoming::Notification { method, params } => {
                    assert!(
                        ServerNotification::KNOWN_METHODS.contains(&method.as_str()),
                        "{place}: notification method without a variant: {method}"
                    );
                    let notification = ServerNotification::from_parts(&method, params);
                    assert!(
                        !matches!(notification, ServerNotification::Unknown(_)),
                        "{place}: {method} decoded as Unknown"
                    );
                    assert_eq!(notification.method(), method);
                    // the runtime decodes whole messages (with `emittedAtMs`): same result
                    let whole: ServerNotification =
                        serde_json::from_value(logged.msg.clone()).unwrap();
                    assert_eq!(whole, notification, "{place}");
                    // routing keys agree with the raw params
                    let params = &logged.msg["params"];
                    let raw_thread = params["threadId"]
                        .as_str()
                        .or_else(|| params["thread"]["id"].as_str());
                    assert_eq!(notification.thread_id(), raw_thread, "{place}");
                    let raw_turn = params["turnId"]
                        .as_str()
                        .or_else(|| params["turn"]["id"].as_str());
                    assert_eq!(notification.turn_id(), raw_turn, "{place}");
                    match &notification {
                        ServerNotification::ItemStarted(p)
                        | ServerNotification::ItemCompleted(p) => {
                            assert_item_known(&p.item, place);
                            assert_eq!(p.item.id(), params["item"]["id"].as_str());
                            items += 1;
                        }
                        ServerNotification::TurnCompleted(p) => {
                            assert!(!matches!(p.turn.status, TurnStatus::Unknown(_)), "{place}");
                            for item in &p.turn.items {
                                assert_item_known(item, place);
                            }
                        }
                        ServerNotification::ThreadStatusChanged(p) => {
                            assert!(!matches!(p.status, ThreadStatus::Unknown(_)), "{place}");
                        }
                        _ => {}
                    }
                    *per_method.entry(method).or_default() += 1;
                    notifications += 1;
                }
                Incoming::Request { id, method, params } => {
                    let request = ServerRequest::from_parts(&method, params.clone());
                    assert!(
                        !matches!(request, ServerRequest::Unknown(_)),
                        "{place}: server request {method} decoded as Unknown"
                    );
                    assert_eq!(request.method(), method);
                    assert_eq!(request.thread_id(), params["threadId"].as_str(), "{place}");
                    assert!(request.turn_id().is_some(), "{place}");
                    let whole: ServerRequest = serde_json::from_value(logged.msg.clone()).unwrap();
                    assert_eq!(whole, request, "{place}");
                    assert!(matches!(id, RequestId::Integer(_)));
                    requests += 1;
                }
                Incoming::Response { id, result } => {
                    let method = client_methods
                        .get(&id)
                        .unwrap_or_else(|| panic!("{place}: response to an unknown id"));
                    if check_typed_response(method, &result, place) {
                        typed_responses += 1;
                    }
                }
                Incoming::Error { id, error } => {
                    assert!(id.is_some(), "{place}");
                    assert_eq!(error.code, -32600, "{place}");
                    assert!(!error.message.is_empty());
                    errors += 1;
                }
                other => panic!("{place}: unexpected {other:?}"),
            }
        }
    }

    assert!(notifications >= 550, "only {notifications} notifications");
    assert!(items >= 180, "only {items} item notifications");
    assert_eq!(requests, 12, "server requests");
    assert!(
        typed_responses >= 100,
        "only {typed_responses} typed responses"
    );
    assert!(errors >= 5, "only {errors} error responses");
    for method in [
        "thread/started",
        "thread/status/changed",
        "turn/started",
        "turn/completed",
        "item/started",
        "item/completed",
        "item/agentMessage/delta",
        "item/reasoning/summaryTextDelta",
        "item/reasoning/summaryPartAdded",
        "item/commandExecution/outputDelta",
        "turn/diff/updated",
        "thread/tokenUsage/updated",
        "error",
        "serverRequest/resolved",
        "configWarning",
        "deprecationNotice",
        "mcpServer/startupStatus/updated",
        "account/rateLimits/updated",
        "remoteControl/status/changed",
    ] {
        assert!(
            per_method.get(method).is_some_and(|n| *n > 0),
            "{method} never seen"
        );
    }
}

/// Deserializes `value` as `T` and serializes it back: must give the same JSON.
fn round_trip<T: Serialize + DeserializeOwned>(value: &Value, place: &str) -> T {
    let typed: T = serde_json::from_value(value.clone())
        .unwrap_or_else(|e| panic!("{place}: does not decode: {e}\n{value}"));
    assert_eq!(serde_json::to_value(&typed).unwrap(), *value, "{place}");
    typed
}

fn round_trip_request<R: ClientRequest>(msg: &Value, place: &str)
where
    R::Params: DeserializeOwned,
{
    let params: R::Params = round_trip(&msg["params"], place);
    let mut request = OutgoingRequest::typed::<R>(
        serde_json::from_value::<RequestId>(msg["id"].clone()).unwrap(),
        &params,
    )
    .unwrap();
    if let Some(trace) = msg.get("trace") {
        request = request.with_trace(round_trip::<TraceContext>(trace, place));
    }
    assert_eq!(serde_json::to_value(&request).unwrap(), *msg, "{place}");
}

#[test]
fn every_client_message_serializes_back_from_typed_values() {
    let mut typed = HashMap::<String, usize>::new();
    for file in transcript_files() {
        let mut server_methods: HashMap<RequestId, String> = HashMap::new();
        for logged in read_log(&file) {
            let place = &logged.place;
            let msg = &logged.msg;
            if logged.from_server {
                if let Ok(Incoming::Request { id, method, .. }) = classify(msg.clone()) {
                    server_methods.insert(id, method);
                }
                continue;
            }
            assert_eq!(msg["jsonrpc"], "2.0", "{place}");
            let Some(method) = msg["method"].as_str() else {
                // an answer to a server request
                let id: RequestId = serde_json::from_value(msg["id"].clone()).unwrap();
                let method = server_methods[&id].as_str();
                let result = &msg["result"];
                match method {
                    "item/commandExecution/requestApproval" => {
                        let r: CommandExecutionApprovalResponse = round_trip(result, place);
                        assert!(!matches!(
                            r.decision,
                            CommandExecutionApprovalDecision::Unknown(_)
                        ));
                    }
                    "item/fileChange/requestApproval" => {
                        round_trip::<FileChangeApprovalResponse>(result, place);
                    }
                    "mcpServer/elicitation/request" => {
                        round_trip::<McpElicitationResponse>(result, place);
                    }
                    "item/tool/call" => {
                        round_trip::<DynamicToolCallResponse>(result, place);
                    }
                    other => panic!("{place}: answer to {other}"),
                }
                let response = OutgoingResponse::new(id, result.clone());
                assert_eq!(serde_json::to_value(&response).unwrap(), *msg, "{place}");
                *typed.entry(format!("answer {method}")).or_default() += 1;
                continue;
            };
            match method {
                "initialized" => {
                    assert_eq!(
                        serde_json::to_value(OutgoingNotification::initialized()).unwrap(),
                        *msg
                    );
                }
                "initialize" => round_trip_request::<Initialize>(msg, place),
                "thread/start" => round_trip_request::<ThreadStart>(msg, place),
                "thread/resume" => round_trip_request::<ThreadResume>(msg, place),
                "thread/fork" => round_trip_request::<ThreadFork>(msg, place),
                "thread/list" => round_trip_request::<ThreadList>(msg, place),
                "thread/read" => round_trip_request::<ThreadRead>(msg, place),
                "turn/start" => round_trip_request::<TurnStart>(msg, place),
                "turn/steer" => round_trip_request::<TurnSteer>(msg, place),
                "turn/interrupt" => round_trip_request::<TurnInterrupt>(msg, place),
                _ => {
                    // untyped methods still go out through the raw constructor
                    let request = OutgoingRequest::new(
                        serde_json::from_value::<RequestId>(msg["id"].clone()).unwrap(),
                        method,
                        msg["params"].clone(),
                    );
                    assert_eq!(serde_json::to_value(&request).unwrap(), *msg, "{place}");
                    continue;
                }
            }
            *typed.entry(method.to_owned()).or_default() += 1;
        }
    }
    for method in [
        "initialize",
        "initialized",
        "thread/start",
        "turn/start",
        "thread/fork",
        "turn/steer",
        "turn/interrupt",
        "thread/resume",
        "thread/read",
        "thread/list",
        "answer item/commandExecution/requestApproval",
        "answer mcpServer/elicitation/request",
        "answer item/tool/call",
    ] {
        assert!(
            typed.get(method).is_some_and(|n| *n > 0),
            "{method} never round-tripped"
        );
    }
}

#[test]
fn typed_params_build_the_recorded_requests() {
    let initialize = InitializeParams::new(
        codexkit_protocol::app_server::ClientInfo::new("sdk_probe", "0.0.1")
            .with_title("SDK probe"),
    );
    let request = OutgoingRequest::typed::<Initialize>(0, &initialize).unwrap();
    assert_eq!(
        serde_json::to_value(&request).unwrap(),
        json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
            "clientInfo":{"name":"sdk_probe","title":"SDK probe","version":"0.0.1"},
            "capabilities":{"experimentalApi":false,"requestAttestation":false}}})
    );

    let start = ThreadStartParams::new()
        .with_model("gpt-5.5")
        .with_cwd("/example/work")
        .with_approval_policy(AskForApproval::Never)
        .with_sandbox(SandboxMode::ReadOnly);
    let request = OutgoingRequest::typed::<ThreadStart>(1, &start)
        .unwrap()
        .with_trace(
            TraceContext::new("00-11111111111111111111111111111111-2222222222222222-01")
                .with_tracestate("ts=thread"),
        );
    assert_eq!(
        serde_json::to_value(&request).unwrap(),
        json!({"jsonrpc":"2.0","id":1,"method":"thread/start","params":{
            "model":"gpt-5.5","cwd":"/example/work","approvalPolicy":"never","sandbox":"read-only"},
            "trace":{"traceparent":"00-11111111111111111111111111111111-2222222222222222-01","tracestate":"ts=thread"}})
    );

    let turn = TurnStartParams::new("t1", vec![UserInput::text("say hi")])
        .with_output_schema(json!({"type":"object"}));
    assert_eq!(
        serde_json::to_value(OutgoingRequest::typed::<TurnStart>(2, &turn).unwrap()).unwrap(),
        json!({"jsonrpc":"2.0","id":2,"method":"turn/start","params":{"threadId":"t1",
            "input":[{"type":"text","text":"say hi","text_elements":[]}],"outputSchema":{"type":"object"}}})
    );
    assert_eq!(
        serde_json::to_value([
            UserInput::image_url("https://x/y.png"),
            UserInput::local_image("/tmp/a.png")
        ])
        .unwrap(),
        json!([{"type":"image","url":"https://x/y.png"},{"type":"localImage","path":"/tmp/a.png"}])
    );
}

// ---------------------------------------------------------------------------------------------
// Normalizer
// ---------------------------------------------------------------------------------------------

#[test]
fn normalizer_basic_sequence() {
    let events = normalize("appserver_basic.jsonl");
    let turn = [
        "turn.started",
        "item.started:reasoning",
        "item.reasoning.delta",
        "item.completed:reasoning",
        "item.started:agent_message",
        "item.agent_message.delta",
        "item.agent_message.delta",
        "item.agent_message.delta",
        "item.completed:agent_message",
        "thread.token_usage.updated",
        "turn.completed",
    ];
    let mut expected = vec!["item.completed:error", "thread.started"];
    expected.extend(turn);
    expected.extend(turn);
    assert_eq!(kinds(&events), expected);

    // the bubblewrap config warning, as exec shows it
    let warning = events[0].item().unwrap();
    assert_eq!(warning.id.as_str(), "warning_0");
    let ItemDetails::Error(error) = &warning.details else {
        panic!()
    };
    assert!(error.message.starts_with("Codex could not find bubblewrap"));

    let ThreadEvent::ThreadStarted(started) = &events[1] else {
        panic!()
    };
    assert_eq!(
        started.thread_id.as_str(),
        "01a23d11-0420-7900-8ee3-24d01f74f0b8"
    );
    let ThreadEvent::TurnStarted(turn_started) = &events[2] else {
        panic!()
    };
    assert_eq!(
        turn_started.turn_id.as_deref(),
        Some("01a23d11-043c-7bd1-916c-349425383795")
    );

    // reasoning: delta then the joined summary, with the app-server id
    let ThreadEvent::ReasoningDelta(delta) = &events[4] else {
        panic!()
    };
    assert_eq!(
        (delta.item_id.as_str(), delta.delta.as_str()),
        ("rs_1", "**Planning** the answer")
    );
    let reasoning = events[5].item().unwrap();
    assert_eq!(reasoning.id.as_str(), "rs_1");
    assert!(
        matches!(&reasoning.details, ItemDetails::Reasoning(r) if r.text == "**Planning** the answer")
    );

    // the deltas add up to the completed message
    let streamed: String = events[7..10]
        .iter()
        .map(|e| match e {
            ThreadEvent::AgentMessageDelta(d) => {
                assert_eq!(d.item_id.as_str(), "msg_1");
                d.delta.clone()
            }
            other => panic!("{other:?}"),
        })
        .collect();
    let message = events[10].item().unwrap();
    assert_eq!(message.id.as_str(), "msg_1");
    let ItemDetails::AgentMessage(message) = &message.details else {
        panic!()
    };
    assert_eq!(message.text, streamed);
    assert_eq!(message.text, "Hello streamed world");
    assert_eq!(message.phase, None);
    let ThreadEvent::ItemStarted(started) = &events[6] else {
        panic!()
    };
    assert!(matches!(&started.item.details, ItemDetails::AgentMessage(m) if m.text.is_empty()));

    // usage: camelCase onto Usage, cumulative total reported by turn.completed
    let mut first = Usage::new(100, 10, 20, 5);
    first.cache_write_input_tokens = 0;
    let ThreadEvent::TokenUsageUpdated(update) = &events[11] else {
        panic!()
    };
    assert_eq!(update.total, first);
    assert_eq!(update.last, first);
    assert_eq!(update.model_context_window, Some(258_400));
    let ThreadEvent::TurnCompleted(completed) = &events[12] else {
        panic!()
    };
    assert_eq!(completed.usage, first);
    let ThreadEvent::TurnCompleted(completed) = events.last().unwrap() else {
        panic!()
    };
    assert_eq!(completed.usage, Usage::new(200, 20, 40, 10));
}

fn completed_items(events: &[ThreadEvent]) -> Vec<&codexkit_protocol::ThreadItem> {
    events
        .iter()
        .filter_map(|e| match e {
            ThreadEvent::ItemCompleted(item) => Some(&item.item),
            _ => None,
        })
        .collect()
}

#[test]
fn normalizer_declined_command() {
    let events = normalize("appserver_approval_decline.jsonl");
    let command = completed_items(&events)
        .into_iter()
        .find_map(|item| match &item.details {
            ItemDetails::CommandExecution(c) => Some((item.id.as_str(), c)),
            _ => None,
        })
        .expect("a command item");
    assert_eq!(command.0, "call_1");
    assert_eq!(command.1.status, CommandExecutionStatus::Declined);
    assert_eq!(command.1.aggregated_output, "");
    assert_eq!(command.1.exit_code, None);
    assert!(command.1.command.contains("created_by_shell.txt"));
    // the turn goes on and completes
    assert_eq!(events.last().unwrap().kind(), "turn.completed");
}

#[test]
fn normalizer_accepted_command_streams_output() {
    let events = normalize("appserver_approval_accept.jsonl");
    let outputs: String = events
        .iter()
        .filter_map(|e| match e {
            ThreadEvent::CommandOutputDelta(d) => Some(d.delta.as_str()),
            _ => None,
        })
        .collect();
    let command = completed_items(&events)
        .into_iter()
        .find_map(|item| match &item.details {
            ItemDetails::CommandExecution(c) => Some(c),
            _ => None,
        })
        .unwrap();
    assert_eq!(command.status, CommandExecutionStatus::Completed);
    assert_eq!(command.exit_code, Some(0));
    assert_eq!(command.aggregated_output, outputs);
}

#[test]
fn normalizer_interrupted_turn() {
    let events = normalize("appserver_interrupt_and_errors.jsonl");
    let last = events.last().unwrap();
    assert!(matches!(last, ThreadEvent::TurnInterrupted(i) if i.usage.is_none()));
    assert!(last.is_terminal());
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, ThreadEvent::TurnCompleted(_)))
    );
    // the started message never completed; its delta was seen
    assert!(events.iter().any(
        |e| matches!(e, ThreadEvent::AgentMessageDelta(d) if d.delta == "thinking slowly...")
    ));

    let events = normalize("appserver_approval_cancel.jsonl");
    assert_eq!(events.last().unwrap().kind(), "turn.interrupted");
    let events = normalize("appserver_approval_noanswer_then_interrupt.jsonl");
    assert_eq!(events.last().unwrap().kind(), "turn.interrupted");
}

#[test]
fn normalizer_errors_then_failed_turn() {
    let events = normalize("appserver_error_500.jsonl");
    assert_eq!(
        kinds(&events),
        [
            "item.completed:error",
            "thread.started",
            "turn.started",
            "error",
            "error",
            "turn.failed"
        ]
    );
    let ThreadEvent::Error(retry) = &events[3] else {
        panic!()
    };
    assert_eq!(
        retry.message,
        "Reconnecting... 1/1 (We\u{2019}re currently experiencing high demand, which may cause temporary errors.)"
    );
    assert_eq!(retry.extra["will_retry"], true);
    let ThreadEvent::Error(last) = &events[4] else {
        panic!()
    };
    assert_eq!(last.extra["will_retry"], false);
    assert_eq!(last.extra["codex_error_info"], "internalServerError");
    let ThreadEvent::TurnFailed(failed) = &events[5] else {
        panic!()
    };
    assert_eq!(
        failed.error.message,
        "We\u{2019}re currently experiencing high demand, which may cause temporary errors."
    );
    assert_eq!(failed.error.message, last.message);
}

#[test]
fn normalizer_phase_on_agent_messages() {
    let phases = |name: &str| -> Vec<Option<String>> {
        completed_items(&normalize(name))
            .into_iter()
            .filter_map(|item| match &item.details {
                ItemDetails::AgentMessage(m) => Some(m.phase.clone()),
                _ => None,
            })
            .collect()
    };
    let some = |s: &str| Some(s.to_owned());
    assert_eq!(
        phases("appserver_phase.jsonl"),
        [some("commentary"), some("final_answer")]
    );
    assert_eq!(
        phases("appserver_phase_multi.jsonl"),
        [some("commentary"), some("final_answer")]
    );
    assert_eq!(
        phases("appserver_phase_rev.jsonl"),
        [some("final_answer"), some("commentary")]
    );
    assert_eq!(phases("appserver_phase_none.jsonl"), [None, None]);
    // already on item.started
    let started_phase = normalize("appserver_phase.jsonl")
        .iter()
        .find_map(|e| match e {
            ThreadEvent::ItemStarted(s) => match &s.item.details {
                ItemDetails::AgentMessage(m) => Some(m.phase.clone()),
                _ => None,
            },
            _ => None,
        });
    assert_eq!(started_phase, Some(some("commentary")));
}

#[test]
fn normalizer_tool_items() {
    for (name, namespace) in [
        ("appserver_dynamic_tool_function.jsonl", None),
        ("appserver_dynamic_tool_namespace.jsonl", Some("weather")),
    ] {
        let events = normalize(name);
        let started = events
            .iter()
            .find_map(|e| match e {
                ThreadEvent::ItemStarted(s) => match &s.item.details {
                    ItemDetails::DynamicToolCall(d) => Some(d.clone()),
                    _ => None,
                },
                _ => None,
            })
            .unwrap();
        assert_eq!(started.status, DynamicToolCallStatus::InProgress);
        assert_eq!(started.namespace.as_deref(), namespace);
        let item = completed_items(&events)
            .into_iter()
            .find(|i| i.kind() == "dynamic_tool_call")
            .unwrap();
        let ItemDetails::DynamicToolCall(call) = &item.details else {
            panic!()
        };
        assert_eq!(call.status, DynamicToolCallStatus::Completed);
        assert_eq!(call.success, Some(true));
        assert_eq!(
            call.content_items,
            Some(json!([{"type":"inputText","text":"sunny, 21C"}]))
        );
        let wire = serde_json::to_value(item).unwrap();
        assert_eq!(wire["type"], "dynamic_tool_call");
        assert_eq!(wire["content_items"][0]["text"], "sunny, 21C");
    }

    let events = normalize("appserver_mcp_approval_accept.jsonl");
    let item = completed_items(&events)
        .into_iter()
        .find(|i| i.kind() == "mcp_tool_call")
        .unwrap();
    let ItemDetails::McpToolCall(call) = &item.details else {
        panic!()
    };
    assert_eq!(call.status, McpToolCallStatus::Completed);
    assert_eq!((call.server.as_str(), call.tool.as_str()), ("calc", "add"));
    assert_eq!(
        call.result.as_ref().unwrap().structured_content,
        Some(json!({"sum":5}))
    );
    assert_eq!(
        call.result.as_ref().unwrap().content,
        vec![json!({"type":"text","text":"5"})]
    );

    let events = normalize("appserver_mcp_approval_decline.jsonl");
    let item = completed_items(&events)
        .into_iter()
        .find(|i| i.kind() == "mcp_tool_call")
        .unwrap();
    let ItemDetails::McpToolCall(call) = &item.details else {
        panic!()
    };
    assert_eq!(call.status, McpToolCallStatus::Failed);
    assert_eq!(
        call.error.as_ref().unwrap().message,
        "user rejected MCP tool call"
    );

    let events = normalize("appserver_filechange_approval_accept.jsonl");
    let item = completed_items(&events)
        .into_iter()
        .find(|i| i.kind() == "file_change")
        .unwrap();
    let ItemDetails::FileChange(change) = &item.details else {
        panic!()
    };
    assert_eq!(change.changes[0].kind, FileChangeKind::Add);
    assert!(change.changes[0].path.ends_with("hello.txt"));
    assert!(
        events.iter().any(
            |e| matches!(e, ThreadEvent::TurnDiffUpdated(d) if d.diff.starts_with("diff --git"))
        )
    );
}

#[test]
fn normalizer_keeps_unmapped_items_raw() {
    let events = normalize("appserver_fork_default_model.jsonl");
    let compaction = completed_items(&events)
        .into_iter()
        .find(|i| i.kind() == "contextCompaction")
        .expect("compaction item");
    assert_eq!(
        compaction.id.as_str(),
        "01a23d1b-7a64-7ae1-887e-a9613d99e15a"
    );
    let ItemDetails::Unknown(raw) = &compaction.details else {
        panic!()
    };
    assert!(raw.get("id").is_none());
    // re-encodes without a duplicate id
    let wire = serde_json::to_value(compaction).unwrap();
    assert_eq!(wire["id"], "01a23d1b-7a64-7ae1-887e-a9613d99e15a");
    assert_eq!(wire["type"], "contextCompaction");
    // user messages never become items (the steer transcript has two)
    assert!(
        !normalize("appserver_steer.jsonl")
            .iter()
            .any(|e| e.item().is_some_and(|i| i.kind().contains("user")))
    );
}

#[test]
fn reasoning_part_boundaries_become_newlines() {
    let mut normalizer = TurnNormalizer::new();
    let mut text = String::new();
    for (method, params) in [
        (
            "item/reasoning/summaryPartAdded",
            json!({"threadId":"t","turnId":"u","itemId":"rs","summaryIndex":0}),
        ),
        (
            "item/reasoning/summaryTextDelta",
            json!({"threadId":"t","turnId":"u","itemId":"rs","delta":"one","summaryIndex":0}),
        ),
        (
            "item/reasoning/summaryPartAdded",
            json!({"threadId":"t","turnId":"u","itemId":"rs","summaryIndex":1}),
        ),
        (
            "item/reasoning/summaryTextDelta",
            json!({"threadId":"t","turnId":"u","itemId":"rs","delta":"two","summaryIndex":1}),
        ),
        (
            "item/reasoning/textDelta",
            json!({"threadId":"t","turnId":"u","itemId":"rs","delta":"raw","contentIndex":0}),
        ),
    ] {
        for event in normalizer.on_notification(&ServerNotification::from_parts(method, params)) {
            let ThreadEvent::ReasoningDelta(delta) = event else {
                panic!()
            };
            text.push_str(&delta.delta);
        }
    }
    let completed = ServerNotification::from_parts(
        "item/completed",
        json!({"threadId":"t","turnId":"u","item":{"type":"reasoning","id":"rs","summary":["one","two"],"content":["raw"]}}),
    );
    let events = normalizer.on_notification(&completed);
    let ItemDetails::Reasoning(reasoning) = &events[0].item().unwrap().details else {
        panic!()
    };
    assert_eq!(reasoning.text, text);
    assert_eq!(text, "one\ntwo");
}

#[test]
fn turn_completed_without_usage_and_seeded_usage() {
    let completed = ServerNotification::from_parts(
        "turn/completed",
        json!({"threadId":"t","turn":{"id":"u","status":"completed","items":[]}}),
    );
    let events = TurnNormalizer::new().on_notification(&completed);
    assert!(matches!(&events[..], [ThreadEvent::TurnCompleted(c)] if c.usage == Usage::default()));
    let mut seeded = TurnNormalizer::with_usage(Usage::new(1, 2, 3, 4));
    assert_eq!(seeded.last_total_usage(), Some(&Usage::new(1, 2, 3, 4)));
    let events = seeded.on_notification(&completed);
    assert!(
        matches!(&events[..], [ThreadEvent::TurnCompleted(c)] if c.usage == Usage::new(1, 2, 3, 4))
    );

    let failed = ServerNotification::from_parts(
        "turn/completed",
        json!({"threadId":"t","turn":{"id":"u","status":"failed","items":[],"error":null}}),
    );
    let events = TurnNormalizer::new().on_notification(&failed);
    assert!(
        matches!(&events[..], [ThreadEvent::TurnFailed(f)] if f.error.message == "turn failed")
    );
}

// ---------------------------------------------------------------------------------------------
// Unknown and malformed input
// ---------------------------------------------------------------------------------------------

#[test]
fn unknown_notifications_requests_and_items_are_kept_raw() {
    let line = r#"{"method":"thread/hologram/projected","params":{"threadId":"t9","turnId":"u9","beam":3},"emittedAtMs":7}"#;
    let Incoming::Notification { method, params } = parse_incoming(line).unwrap() else {
        panic!()
    };
    let notification = ServerNotification::from_parts(&method, params);
    let ServerNotification::Unknown(raw) = &notification else {
        panic!()
    };
    assert_eq!(raw["params"]["beam"], 3);
    assert_eq!(notification.method(), "thread/hologram/projected");
    assert_eq!(notification.thread_id(), Some("t9"));
    assert_eq!(notification.turn_id(), Some("u9"));
    assert!(!notification.is_malformed_known());
    assert!(
        TurnNormalizer::new()
            .on_notification(&notification)
            .is_empty()
    );
    assert_eq!(
        serde_json::to_value(&notification).unwrap(),
        json!({"method":"thread/hologram/projected","params":{"threadId":"t9","turnId":"u9","beam":3}})
    );

    // a known method with params of the wrong shape
    let malformed = ServerNotification::from_parts("turn/started", json!({"threadId": 5}));
    assert!(matches!(malformed, ServerNotification::Unknown(_)));
    assert!(malformed.is_malformed_known());

    let request = ServerRequest::from_parts(
        "item/teleport/requestApproval",
        json!({"threadId":"t","itemId":"i"}),
    );
    let ServerRequest::Unknown(raw) = &request else {
        panic!()
    };
    assert_eq!(raw["method"], "item/teleport/requestApproval");
    assert_eq!(request.thread_id(), Some("t"));
    assert_eq!(request.item_id(), Some("i"));
    assert_eq!(request.approval_kind(), None);

    // an unknown item type inside a known notification
    let item = json!({"type":"hologram","id":"h1","beam":3});
    let notification = ServerNotification::from_parts(
        "item/completed",
        json!({"threadId":"t","turnId":"u","item": item}),
    );
    let ServerNotification::ItemCompleted(params) = &notification else {
        panic!()
    };
    assert!(matches!(&params.item, AppServerItem::Unknown(raw) if raw["beam"] == 3));
    assert_eq!(params.item.kind(), "hologram");
    assert_eq!(params.item.id(), Some("h1"));
    let events = TurnNormalizer::new().on_notification(&notification);
    let thread_item = events[0].item().unwrap();
    assert_eq!(thread_item.id.as_str(), "h1");
    assert_eq!(thread_item.kind(), "hologram");
    assert!(
        matches!(&thread_item.details, ItemDetails::Unknown(raw) if raw == &json!({"type":"hologram","beam":3}))
    );
    assert_eq!(serde_json::to_value(&params.item).unwrap(), item);

    // unknown statuses and decisions
    let notification = ServerNotification::from_parts(
        "item/completed",
        json!({"threadId":"t","turnId":"u","item":{"type":"commandExecution","id":"c","command":"ls","status":"teleported"}}),
    );
    let events = TurnNormalizer::new().on_notification(&notification);
    let ItemDetails::CommandExecution(command) = &events[0].item().unwrap().details else {
        panic!()
    };
    assert_eq!(
        command.status,
        CommandExecutionStatus::Unknown(json!("teleported"))
    );
    let decision: CommandExecutionApprovalDecision =
        serde_json::from_value(json!({"launch":{}})).unwrap();
    assert_eq!(
        decision,
        CommandExecutionApprovalDecision::Unknown(json!({"launch":{}}))
    );
    let policy: AskForApproval = serde_json::from_value(json!("on-failure")).unwrap();
    assert_eq!(policy, AskForApproval::Unknown(json!("on-failure")));
    let input: UserInput =
        serde_json::from_value(json!({"type":"mention","name":"x","path":"/p"})).unwrap();
    assert!(matches!(input, UserInput::Unknown(_)));
}

// ---------------------------------------------------------------------------------------------
// Envelope and responses
// ---------------------------------------------------------------------------------------------

#[test]
fn classification_by_present_fields() {
    assert!(matches!(
        parse_incoming(r#"{"id":3,"result":{}}"#).unwrap(),
        Incoming::Response { id: RequestId::Integer(3), result } if result == json!({})
    ));
    assert!(matches!(
        parse_incoming(r#"{"id":"abc","result":null}"#).unwrap(),
        Incoming::Response { id: RequestId::String(s), result: Value::Null } if s == "abc"
    ));
    let Incoming::Error { id, error } = parse_incoming(
        r#"{"error":{"code":-32001,"message":"busy","data":{"retryAfter":1}},"id":null}"#,
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(id, None);
    assert!(error.is_overloaded());
    assert_eq!(error.data, Some(json!({"retryAfter":1})));
    assert!(matches!(
        parse_incoming(r#"{"method":"item/tool/call","id":0,"params":{}}"#).unwrap(),
        Incoming::Request {
            id: RequestId::Integer(0),
            ..
        }
    ));
    assert!(matches!(
        parse_incoming(r#"{"jsonrpc":"2.0","method":"x"}"#).unwrap(),
        Incoming::Notification {
            params: Value::Null,
            ..
        }
    ));
    assert!(parse_incoming("not json").is_err());
    assert!(parse_incoming("[1,2]").is_err());
    assert!(parse_incoming(r#"{"hello":1}"#).is_err());
    assert!(parse_incoming(r#"{"id":{"x":1},"result":1}"#).is_err());
}

#[test]
fn outgoing_messages() {
    assert_eq!(
        serde_json::to_string(&OutgoingNotification::initialized()).unwrap(),
        r#"{"jsonrpc":"2.0","method":"initialized"}"#
    );
    let request = OutgoingRequest::new(4, "thread/list", json!({}));
    assert_eq!(
        serde_json::to_value(&request).unwrap(),
        json!({"jsonrpc":"2.0","id":4,"method":"thread/list","params":{}})
    );
    let error = OutgoingError::new(2, RpcError::new(-32601, "not handled"));
    assert_eq!(
        serde_json::to_value(&error).unwrap(),
        json!({"jsonrpc":"2.0","id":2,"error":{"code":-32601,"message":"not handled"}})
    );
    let answer = OutgoingResponse::typed(
        0,
        &CommandExecutionApprovalResponse::new(
            CommandExecutionApprovalDecision::accept_with_execpolicy_amendment(vec![
                "touch".into(),
                "a.txt".into(),
            ]),
        ),
    )
    .unwrap();
    assert_eq!(
        serde_json::to_value(&answer).unwrap(),
        json!({"jsonrpc":"2.0","id":0,"result":{"decision":{"acceptWithExecpolicyAmendment":{"execpolicy_amendment":["touch","a.txt"]}}}})
    );
    assert_eq!(
        serde_json::to_value(DynamicToolCallResponse::new(
            vec![
                DynamicToolContentItem::text("hi"),
                DynamicToolContentItem::image_url("data:,")
            ],
            true
        ))
        .unwrap(),
        json!({"contentItems":[{"type":"inputText","text":"hi"},{"type":"inputImage","imageUrl":"data:,"}],"success":true})
    );
    assert_eq!(
        serde_json::to_value(McpElicitationResponse::new(ElicitationAction::Accept)).unwrap(),
        json!({"action":"accept","content":null,"_meta":null})
    );
    let decisions: Vec<CommandExecutionApprovalDecision> =
        serde_json::from_value(json!(["accept", "acceptForSession", "decline", "cancel"])).unwrap();
    assert_eq!(
        decisions,
        [
            CommandExecutionApprovalDecision::Accept,
            CommandExecutionApprovalDecision::AcceptForSession,
            CommandExecutionApprovalDecision::Decline,
            CommandExecutionApprovalDecision::Cancel
        ]
    );
}

#[test]
fn empty_and_null_results_decode() {
    let _: EmptyResponse = decode_result(Value::Null).unwrap();
    let _: EmptyResponse = serde_json::from_value(Value::Null).unwrap();
    let _: EmptyResponse = serde_json::from_value(json!({})).unwrap();
    let _ = TurnInterrupt::decode_response(Value::Null).unwrap();
}

#[test]
fn server_request_accessors() {
    let approval = incoming("appserver_approval_accept.jsonl")
        .into_iter()
        .find_map(|m| match m {
            Incoming::Request { id, method, params } => {
                Some((id, ServerRequest::from_parts(&method, params)))
            }
            _ => None,
        })
        .unwrap();
    let (id, ServerRequest::CommandExecutionRequestApproval(params)) = &approval else {
        panic!()
    };
    assert_eq!(id, &RequestId::Integer(0));
    assert_eq!(params.item_id.as_str(), "call_1");
    assert_eq!(approval.1.approval_kind(), Some("command_execution"));
    assert_eq!(approval.1.item_id(), Some("call_1"));
    let decisions = params.available_decisions.as_ref().unwrap();
    assert!(matches!(
        &decisions[1],
        CommandExecutionApprovalDecision::AcceptWithExecpolicyAmendment(a) if a.execpolicy_amendment[0] == "/bin/bash"
    ));

    let tool_call = incoming("appserver_dynamic_tool_namespace.jsonl")
        .into_iter()
        .find_map(|m| match m {
            Incoming::Request { method, params, .. } => {
                Some(ServerRequest::from_parts(&method, params))
            }
            _ => None,
        })
        .unwrap();
    let ServerRequest::DynamicToolCall(call) = &tool_call else {
        panic!()
    };
    assert_eq!(call.namespace.as_deref(), Some("weather"));
    assert_eq!(call.tool, "lookup");
    assert_eq!(call.arguments, json!({"city":"Oslo"}));
    assert_eq!(tool_call.item_id(), Some("call_dyn2"));
    assert_eq!(tool_call.approval_kind(), None);

    let elicitation = incoming("appserver_mcp_approval_accept.jsonl")
        .into_iter()
        .find_map(|m| match m {
            Incoming::Request { method, params, .. } => {
                Some(ServerRequest::from_parts(&method, params))
            }
            _ => None,
        })
        .unwrap();
    let ServerRequest::McpServerElicitationRequest(e) = &elicitation else {
        panic!()
    };
    assert_eq!(e.server_name, "calc");
    assert_eq!(
        e.meta.as_ref().unwrap()["codex_approval_kind"],
        "mcp_tool_call"
    );
    assert_eq!(elicitation.approval_kind(), Some("mcp_elicitation"));
}
