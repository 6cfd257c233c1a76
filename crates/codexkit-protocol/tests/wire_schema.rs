//! What the typed constructors and builders put on the wire is what the pinned codex accepts:
//! every client request built with every builder validates against the binary's own generated
//! schema (`fixtures/schema/app-server`), every answer to a server request validates against
//! that request's response schema, and server requests of every method (valid by the schema)
//! decode typed with the right accessors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use codexkit_protocol::app_server::{
    AccountRead, AccountReadParams, ApplyPatchApprovalParams, AskForApproval,
    AttestationGenerateResponse, ChatgptAuthTokensRefreshResponse, ClientInfo, ClientRequest,
    CommandExecutionApprovalDecision, CommandExecutionApprovalResponse, DynamicToolCallResponse,
    DynamicToolContentItem, ElicitationAction, EmptyResponse, FileChangeApprovalDecision,
    FileChangeApprovalResponse, GranularApproval, Initialize, InitializeCapabilities,
    InitializeParams, LegacyApprovalResponse, McpElicitationResponse, ModelList, ModelListParams,
    OutgoingRequest, PermissionGrantScope, PermissionProfile, PermissionsApprovalResponse,
    ReviewDecision, SandboxMode, ServerRequest, ThreadArchive, ThreadArchiveParams, ThreadFork,
    ThreadForkParams, ThreadList, ThreadListParams, ThreadRead, ThreadReadParams, ThreadResume,
    ThreadResumeParams, ThreadStart, ThreadStartParams, ToolRequestUserInputResponse,
    TurnInterrupt, TurnInterruptParams, TurnStart, TurnStartParams, TurnSteer, TurnSteerParams,
    UserInput,
};
use codexkit_protocol::{ItemId, ThreadId};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use std::fmt::Debug;
use std::path::PathBuf;

fn schema_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/schema/app-server")
}

fn schema(relative: &str) -> Value {
    let path = schema_dir().join(relative);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// Fails with every validation error when `instance` is not valid under the schema file.
fn assert_valid(relative: &str, instance: &Value) {
    let validator = jsonschema::validator_for(&schema(relative))
        .unwrap_or_else(|e| panic!("compiling {relative}: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{instance} is not a valid {relative}:\n{}",
        errors.join("\n")
    );
}

/// The request as the client sends it is valid under `ClientRequest.json` and its params
/// under the method's own params schema; the params decode back to themselves.
fn assert_request<R>(params: &R::Params, params_schema: &str)
where
    R: ClientRequest,
    R::Params: DeserializeOwned + PartialEq + Debug,
{
    let request = OutgoingRequest::typed::<R>(1, params).expect("params serialize");
    assert_eq!(request.method, R::METHOD);
    let message = serde_json::to_value(&request).expect("request serializes");
    assert_valid("ClientRequest.json", &message);
    assert_valid(params_schema, &request.params);
    let back: R::Params = serde_json::from_value(request.params.clone()).expect("params decode");
    assert_eq!(&back, params, "{} params do not round-trip", R::METHOD);
}

fn assert_response<T: Serialize>(value: &T, response_schema: &str) -> Value {
    let wire = serde_json::to_value(value).expect("response serializes");
    assert_valid(response_schema, &wire);
    wire
}

fn config() -> Map<String, Value> {
    let mut config = Map::new();
    config.insert("model_reasoning_effort".into(), json!("low"));
    config
}

#[test]
fn initialize_with_every_option_is_valid_for_the_binary() {
    let params = InitializeParams::new(ClientInfo::new("codexkit", "1.2.3").with_title("Codexkit"))
        .with_capabilities(
            InitializeCapabilities::default()
                .with_experimental_api(true)
                .with_opt_out_notification_methods(vec!["item/reasoning/textDelta".into()]),
        );
    assert_request::<Initialize>(&params, "v1/InitializeParams.json");
    let wire = serde_json::to_value(&params).unwrap();
    assert_eq!(wire["clientInfo"]["title"], "Codexkit");
    assert_eq!(wire["capabilities"]["experimentalApi"], true);
    assert_eq!(
        wire["capabilities"]["optOutNotificationMethods"],
        json!(["item/reasoning/textDelta"])
    );
}

#[test]
fn thread_start_resume_and_fork_with_every_builder_are_valid_for_the_binary() {
    let policies = [
        AskForApproval::Untrusted,
        AskForApproval::OnRequest,
        AskForApproval::Never,
        AskForApproval::Granular({
            let mut granular = GranularApproval::default();
            granular.sandbox_approval = true;
            granular
        }),
    ];
    let sandboxes = [
        SandboxMode::ReadOnly,
        SandboxMode::WorkspaceWrite,
        SandboxMode::DangerFullAccess,
    ];
    for (policy, sandbox) in policies.iter().zip(sandboxes.iter().cycle()) {
        let start = ThreadStartParams::new()
            .with_model("gpt-test")
            .with_cwd("/work")
            .with_approval_policy(policy.clone())
            .with_sandbox(sandbox.clone())
            .with_config(config())
            .with_base_instructions("base")
            .with_developer_instructions("developer")
            .with_ephemeral(true)
            .with_dynamic_tools(vec![json!({
                "type": "function",
                "name": "add",
                "description": "adds",
                "inputSchema": {"type": "object"}
            })]);
        assert_request::<ThreadStart>(&start, "v2/ThreadStartParams.json");

        let resume = ThreadResumeParams::new("thread-1")
            .with_model("gpt-test")
            .with_cwd("/work")
            .with_approval_policy(policy.clone())
            .with_sandbox(sandbox.clone())
            .with_config(config())
            .with_base_instructions("base")
            .with_developer_instructions("developer")
            .with_exclude_turns(true);
        assert_request::<ThreadResume>(&resume, "v2/ThreadResumeParams.json");

        let fork = ThreadForkParams::new("thread-1")
            .with_last_turn_id("turn-2")
            .with_exclude_turns(true)
            .with_ephemeral(false)
            .with_model("gpt-test")
            .with_cwd("/work")
            .with_approval_policy(policy.clone())
            .with_sandbox(sandbox.clone())
            .with_config(config())
            .with_base_instructions("base")
            .with_developer_instructions("developer");
        assert_request::<ThreadFork>(&fork, "v2/ThreadForkParams.json");
    }

    let wire = serde_json::to_value(
        ThreadStartParams::new()
            .with_approval_policy(AskForApproval::OnRequest)
            .with_sandbox(SandboxMode::WorkspaceWrite),
    )
    .unwrap();
    assert_eq!(
        wire,
        json!({"approvalPolicy": "on-request", "sandbox": "workspace-write"})
    );
}

#[test]
fn thread_list_read_archive_and_model_and_account_requests_are_valid_for_the_binary() {
    let list = ThreadListParams::new().with_cursor("c-1").with_limit(5);
    assert_request::<ThreadList>(&list, "v2/ThreadListParams.json");
    assert_request::<ThreadList>(&ThreadListParams::new(), "v2/ThreadListParams.json");
    let read = ThreadReadParams::new("thread-1").with_include_turns(true);
    assert_request::<ThreadRead>(&read, "v2/ThreadReadParams.json");
    let archive = ThreadArchiveParams::new("thread-1");
    assert_request::<ThreadArchive>(&archive, "v2/ThreadArchiveParams.json");
    assert_request::<ModelList>(&ModelListParams::new(), "v2/ModelListParams.json");
    assert_request::<AccountRead>(&AccountReadParams::new(), "v2/GetAccountParams.json");
    assert_eq!(
        serde_json::to_value(&list).unwrap(),
        json!({"cursor": "c-1", "limit": 5})
    );
}

#[test]
fn turn_requests_with_every_builder_and_input_kind_are_valid_for_the_binary() {
    let input = vec![
        UserInput::text("hello"),
        UserInput::image_url("data:image/png;base64,AAAA"),
        UserInput::local_image("/tmp/picture.png"),
    ];
    let start = TurnStartParams::new("thread-1", input.clone())
        .with_output_schema(
            json!({"type": "object", "properties": {}, "additionalProperties": false}),
        )
        .with_model("gpt-test")
        .with_effort("low")
        .with_approval_policy(AskForApproval::Never)
        .with_cwd("/work")
        .with_sandbox_policy(json!({"type": "readOnly"}));
    assert_request::<TurnStart>(&start, "v2/TurnStartParams.json");
    let wire = serde_json::to_value(&start).unwrap();
    assert_eq!(
        wire["input"][0],
        json!({"type": "text", "text": "hello", "text_elements": []})
    );
    assert_eq!(wire["input"][1]["type"], "image");
    assert_eq!(wire["input"][2]["type"], "localImage");

    let steer = TurnSteerParams::new("thread-1", "turn-1", vec![UserInput::text("more")]);
    assert_request::<TurnSteer>(&steer, "v2/TurnSteerParams.json");
    let interrupt = TurnInterruptParams::new("thread-1", "turn-1");
    assert_request::<TurnInterrupt>(&interrupt, "v2/TurnInterruptParams.json");
    assert_eq!(
        TurnInterrupt::decode_response(json!({})).unwrap(),
        EmptyResponse::default()
    );
}

/// One server request per method, shaped as the binary's schema requires.
fn server_requests() -> Vec<Value> {
    vec![
        json!({"id": 1, "method": "item/commandExecution/requestApproval", "params": {
            "threadId": "th", "turnId": "tu", "itemId": "it-1", "startedAtMs": 1,
            "command": "ls", "cwd": "/work"}}),
        json!({"id": 2, "method": "item/fileChange/requestApproval", "params": {
            "threadId": "th", "turnId": "tu", "itemId": "it-2", "startedAtMs": 1}}),
        json!({"id": 3, "method": "item/permissions/requestApproval", "params": {
            "threadId": "th", "turnId": "tu", "itemId": "it-3", "startedAtMs": 1,
            "cwd": "/work", "permissions": {}}}),
        json!({"id": 4, "method": "mcpServer/elicitation/request", "params": {
            "threadId": "th", "turnId": "tu", "serverName": "calc", "mode": "form",
            "message": "ok?", "requestedSchema": {"type": "object", "properties": {}}}}),
        json!({"id": 5, "method": "item/tool/requestUserInput", "params": {
            "threadId": "th", "turnId": "tu", "itemId": "it-5", "isBlocking": true,
            "questions": [{"id": "q1", "header": "H", "question": "Which?"}]}}),
        json!({"id": 6, "method": "item/tool/call", "params": {
            "threadId": "th", "turnId": "tu", "callId": "call-6", "tool": "add",
            "arguments": {"a": 1, "b": 2}}}),
        json!({"id": 7, "method": "account/chatgptAuthTokens/refresh", "params": {
            "reason": "unauthorized"}}),
        json!({"id": 8, "method": "attestation/generate", "params": {}}),
        json!({"id": 9, "method": "applyPatchApproval", "params": {
            "conversationId": "th", "callId": "call-9", "fileChanges": {}}}),
        json!({"id": 10, "method": "execCommandApproval", "params": {
            "conversationId": "th", "callId": "call-10", "command": ["ls"], "cwd": "/work",
            "parsedCmd": []}}),
    ]
}

/// What `thread_id`, `turn_id`, `item_id` and `approval_kind` return.
type Accessors = (
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
);

#[test]
fn every_server_request_method_decodes_typed_with_its_accessors() {
    let requests = server_requests();
    let mut methods: Vec<&str> = requests
        .iter()
        .map(|r| r["method"].as_str().unwrap())
        .collect();
    methods.sort_unstable();
    let mut known = ServerRequest::KNOWN_METHODS.to_vec();
    known.sort_unstable();
    assert_eq!(methods, known, "one sample per known method");

    // (thread, turn, item, approval kind) of each sample, in order.
    let expected: [Accessors; 10] = [
        (
            Some("th"),
            Some("tu"),
            Some("it-1"),
            Some("command_execution"),
        ),
        (Some("th"), Some("tu"), Some("it-2"), Some("file_change")),
        (Some("th"), Some("tu"), Some("it-3"), Some("permissions")),
        (Some("th"), Some("tu"), None, Some("mcp_elicitation")),
        (Some("th"), Some("tu"), Some("it-5"), Some("user_input")),
        (Some("th"), Some("tu"), Some("call-6"), None),
        (None, None, None, None),
        (None, None, None, None),
        (Some("th"), None, Some("call-9"), Some("file_change")),
        (Some("th"), None, Some("call-10"), Some("command_execution")),
    ];
    for (message, (thread, turn, item, kind)) in requests.iter().zip(expected) {
        assert_valid("ServerRequest.json", message);
        let method = message["method"].as_str().unwrap();
        let request = ServerRequest::from_parts(method, message["params"].clone());
        assert!(
            !matches!(request, ServerRequest::Unknown(_)),
            "{method} did not decode typed: {request:?}"
        );
        assert_eq!(request.method(), method);
        assert_eq!(request.thread_id(), thread, "{method} thread");
        assert_eq!(request.turn_id(), turn, "{method} turn");
        assert_eq!(request.item_id(), item, "{method} item");
        assert_eq!(request.approval_kind(), kind, "{method} kind");

        // An unknown method with the same params is kept raw; the accessors read the raw
        // params.
        let params = &message["params"];
        let unknown = ServerRequest::from_parts("future/method", params.clone());
        assert!(matches!(unknown, ServerRequest::Unknown(_)));
        assert_eq!(unknown.method(), "future/method");
        let raw_thread = params
            .get("threadId")
            .or_else(|| params.get("conversationId"));
        assert_eq!(unknown.thread_id(), raw_thread.and_then(Value::as_str));
        assert_eq!(unknown.turn_id(), params["turnId"].as_str());
        let raw_item = params.get("itemId").or_else(|| params.get("callId"));
        assert_eq!(unknown.item_id(), raw_item.and_then(Value::as_str));
        assert_eq!(unknown.approval_kind(), None);

        // A known method whose params are not an object is kept raw too.
        let broken = ServerRequest::from_parts(method, json!(["not", "an", "object"]));
        assert!(
            matches!(broken, ServerRequest::Unknown(_)),
            "{method} with array params decoded typed: {broken:?}"
        );
        assert_eq!(broken.method(), method);
        assert_eq!(broken.thread_id(), None);
    }

    let absent = ServerRequest::from_parts("attestation/generate", Value::Null);
    assert!(matches!(absent, ServerRequest::AttestationGenerate(_)));
}

#[test]
fn every_answer_to_a_server_request_is_valid_for_the_binary() {
    for decision in [
        CommandExecutionApprovalDecision::Accept,
        CommandExecutionApprovalDecision::AcceptForSession,
        CommandExecutionApprovalDecision::Decline,
        CommandExecutionApprovalDecision::Cancel,
        CommandExecutionApprovalDecision::accept_with_execpolicy_amendment(vec!["ls".into()]),
    ] {
        assert_response(
            &CommandExecutionApprovalResponse::new(decision),
            "CommandExecutionRequestApprovalResponse.json",
        );
    }
    for decision in [
        FileChangeApprovalDecision::Accept,
        FileChangeApprovalDecision::AcceptForSession,
        FileChangeApprovalDecision::Decline,
        FileChangeApprovalDecision::Cancel,
    ] {
        assert_response(
            &FileChangeApprovalResponse::new(decision),
            "FileChangeRequestApprovalResponse.json",
        );
    }
    let denied = assert_response(
        &PermissionsApprovalResponse::deny().with_scope(PermissionGrantScope::Turn),
        "PermissionsRequestApprovalResponse.json",
    );
    assert_eq!(denied, json!({"permissions": {}, "scope": "turn"}));
    assert_response(
        &PermissionsApprovalResponse::new(PermissionProfile::none())
            .with_scope(PermissionGrantScope::Session),
        "PermissionsRequestApprovalResponse.json",
    );
    for action in [
        ElicitationAction::Accept,
        ElicitationAction::Decline,
        ElicitationAction::Cancel,
    ] {
        assert_response(
            &McpElicitationResponse::new(action)
                .with_content(json!({"answer": "yes"}))
                .with_meta(json!({"source": "test"})),
            "McpServerElicitationRequestResponse.json",
        );
    }
    let answers = assert_response(
        &ToolRequestUserInputResponse::new().with_answer("q1", vec!["first".into()]),
        "ToolRequestUserInputResponse.json",
    );
    assert_eq!(answers, json!({"answers": {"q1": {"answers": ["first"]}}}));
    for response in [
        DynamicToolCallResponse::text("3"),
        DynamicToolCallResponse::failure("no such city"),
        DynamicToolCallResponse::new(
            vec![
                DynamicToolContentItem::text("see"),
                DynamicToolContentItem::image_url("data:image/png;base64,AAAA"),
            ],
            true,
        ),
    ] {
        assert_response(&response, "DynamicToolCallResponse.json");
    }
    assert_response(
        &ChatgptAuthTokensRefreshResponse::new("token", "account"),
        "ChatgptAuthTokensRefreshResponse.json",
    );
    assert_response(
        &AttestationGenerateResponse::new("attestation"),
        "AttestationGenerateResponse.json",
    );
    for decision in [
        ReviewDecision::Approved,
        ReviewDecision::ApprovedForSession,
        ReviewDecision::TimedOut,
        ReviewDecision::Abort,
    ] {
        let response = LegacyApprovalResponse::new(decision);
        assert_response(&response, "ApplyPatchApprovalResponse.json");
        assert_response(&response, "ExecCommandApprovalResponse.json");
    }
}

#[test]
fn a_legacy_patch_approval_keeps_its_changes() {
    let message = &server_requests()[8];
    let request = ServerRequest::from_parts("applyPatchApproval", message["params"].clone());
    let ServerRequest::ApplyPatchApproval(ApplyPatchApprovalParams {
        conversation_id,
        call_id,
        ..
    }) = &request
    else {
        panic!("not a patch approval: {request:?}");
    };
    assert_eq!(conversation_id, &ThreadId::new("th"));
    assert_eq!(call_id, "call-9");
}

#[test]
fn ids_display_convert_and_compare_as_their_strings() {
    let thread = ThreadId::new("th-1");
    assert_eq!(thread.to_string(), "th-1");
    assert_eq!(thread, ThreadId::from(String::from("th-1")));
    assert_eq!(AsRef::<str>::as_ref(&thread), "th-1");
    let item = ItemId::from("it-1");
    assert_eq!(item.as_str(), "it-1");
    assert_eq!(item.to_string(), "it-1");
    assert_eq!(item, ItemId::new(String::from("it-1")));
    assert_eq!(serde_json::to_value(&item).unwrap(), json!("it-1"));
}

/// The checks above can fail: the schemas reject what the binary would reject.
#[test]
fn the_binary_schemas_reject_malformed_requests_and_answers() {
    let is_valid = |relative: &str, instance: &Value| {
        jsonschema::validator_for(&schema(relative))
            .unwrap()
            .is_valid(instance)
    };
    let turn =
        serde_json::to_value(TurnStartParams::new("th", vec![UserInput::text("hi")])).unwrap();
    assert!(is_valid("v2/TurnStartParams.json", &turn));
    let mut without_thread = turn.clone();
    without_thread.as_object_mut().unwrap().remove("threadId");
    assert!(!is_valid("v2/TurnStartParams.json", &without_thread));
    let mut wrong_input = turn;
    wrong_input["input"] = json!([{"type": "text"}]);
    assert!(!is_valid("v2/TurnStartParams.json", &wrong_input));
    assert!(!is_valid(
        "CommandExecutionRequestApprovalResponse.json",
        &json!({"decision": "maybe"})
    ));
    assert!(!is_valid(
        "ClientRequest.json",
        &json!({"id": 1, "method": "turn/start", "params": {"threadId": "th"}})
    ));
}
