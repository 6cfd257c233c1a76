//! Scenario JSON parsing, the Rust builder and `last_tool_output`.

use codexkit_testkit::{
    MockResponse, OutputItem, ResponseBody, Scenario, ScenarioError, last_tool_output, usage,
};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

fn parse(text: &str) -> Result<Scenario, ScenarioError> {
    Scenario::from_json_str(text)
}

#[test]
fn parses_every_item_kind() {
    let scenario = parse(
        r#"{
          "name": "all kinds",
          "retries": 2,
          "responses": [
            {"output": [
               {"message": "hello"},
               {"message": "done", "phase": "final_answer"},
               {"reasoning": "thinking"},
               {"exec_command": "ls -la"},
               {"apply_patch": "*** Begin Patch\n*** End Patch\n"},
               {"tool": "add", "namespace": "mcp__calc", "arguments": {"a": 2, "b": 3}},
               {"tool": "ping"},
               {"raw": {"type": "message", "role": "assistant", "id": "m", "content": []}}
             ],
             "usage": {"input_tokens": 1, "input_tokens_details": {"cached_tokens": 0},
                       "output_tokens": 2, "output_tokens_details": {"reasoning_tokens": 0},
                       "total_tokens": 3}}
          ]
        }"#,
    )
    .unwrap();
    assert_eq!(scenario.name.as_deref(), Some("all kinds"));
    assert_eq!(scenario.retries, Some(2));
    let expected = Scenario::new().name("all kinds").retries(2).response(
        MockResponse::output([
            OutputItem::message("hello"),
            OutputItem::message_with_phase("done", "final_answer"),
            OutputItem::reasoning("thinking"),
            OutputItem::exec_command("ls -la"),
            OutputItem::apply_patch("*** Begin Patch\n*** End Patch\n"),
            OutputItem::namespaced_tool("mcp__calc", "add", json!({"a": 2, "b": 3})),
            OutputItem::tool("ping", json!({})),
            OutputItem::raw(
                json!({"type": "message", "role": "assistant", "id": "m", "content": []}),
            ),
        ])
        .with_usage(usage(1, 0, 2, 0)),
    );
    assert_eq!(scenario, expected);

    let ResponseBody::Output { items, .. } = &scenario.responses[0].body else {
        panic!("not an output response");
    };
    let sent: Vec<Value> = items
        .iter()
        .enumerate()
        .map(|(i, item)| item.to_response_item(1, i + 1, ""))
        .collect();
    assert_eq!(
        sent[1],
        json!({"type": "message", "role": "assistant", "id": "msg_1_2", "phase": "final_answer",
               "content": [{"type": "output_text", "text": "done"}]})
    );
    assert_eq!(
        sent[2],
        json!({"type": "reasoning", "id": "rs_1_3",
               "summary": [{"type": "summary_text", "text": "thinking"}],
               "encrypted_content": "codexkit-mock-opaque"})
    );
    assert_eq!(
        sent[3],
        json!({"type": "function_call", "id": "fc_1_4", "call_id": "call_1_4",
               "name": "exec_command", "arguments": "{\"cmd\":\"ls -la\"}"})
    );
    assert_eq!(
        sent[4],
        json!({"type": "custom_tool_call", "id": "ctc_1_5", "call_id": "call_1_5",
               "name": "apply_patch", "input": "*** Begin Patch\n*** End Patch\n"})
    );
    assert_eq!(
        sent[5],
        json!({"type": "function_call", "id": "fc_1_6", "call_id": "call_1_6", "name": "add",
               "namespace": "mcp__calc", "arguments": "{\"a\":2,\"b\":3}"})
    );
    assert_eq!(sent[6]["arguments"], json!("{}"));
    assert_eq!(
        sent[7],
        json!({"type": "message", "role": "assistant", "id": "m", "content": []})
    );
}

#[test]
fn string_arguments_are_sent_verbatim() {
    let scenario =
        parse(r#"{"responses":[{"output":[{"tool":"t","arguments":"{broken"}]}]}"#).unwrap();
    let ResponseBody::Output { items, .. } = &scenario.responses[0].body else {
        panic!("not an output response");
    };
    assert_eq!(
        items[0].to_response_item(1, 1, "")["arguments"],
        json!("{broken")
    );
}

#[test]
fn parses_http_sse_delay_and_cut() {
    let scenario = parse(
        r#"{"responses": [
            {"status": 429, "body": "slow down", "headers": {"retry-after": "1"}, "delay_ms": 5},
            {"status": 400, "body": {"error": {"message": "bad"}}},
            {"status": 500},
            {"sse": [{"type": "response.created", "response": {"id": "r"}}, "{not json"],
             "cut_after": 1},
            {"output": [{"message": "partial"}], "cut_after": 2}
        ]}"#,
    )
    .unwrap();
    let expected = Scenario::new()
        .response(
            MockResponse::http_error(429, "slow down")
                .with_header("retry-after", "1")
                .delay_ms(5),
        )
        .response(MockResponse::http_error(
            400,
            r#"{"error":{"message":"bad"}}"#,
        ))
        .response(MockResponse::http_error(500, ""))
        .response(
            MockResponse::sse([
                json!({"type": "response.created", "response": {"id": "r"}}),
                json!("{not json"),
            ])
            .cut_after(1),
        )
        .response(MockResponse::message("partial").cut_after(2));
    assert_eq!(scenario, expected);
}

#[test]
fn json_round_trip() {
    let scenario = Scenario::new()
        .name("rt")
        .retries(0)
        .response(MockResponse::output([OutputItem::exec_command("true")]).delay_ms(10))
        .response(MockResponse::http_error(503, "busy").with_header("retry-after", "2"))
        .response(MockResponse::sse([json!({"type": "response.created"})]).cut_after(1))
        .response(MockResponse::message("bye").with_usage(usage(5, 1, 2, 0)));
    let value = scenario.to_value();
    assert_eq!(Scenario::from_value(&value).unwrap(), scenario);
    // serde integration
    let text = serde_json::to_string(&scenario).unwrap();
    let back: Scenario = serde_json::from_str(&text).unwrap();
    assert_eq!(back, scenario);
}

#[test]
fn unknown_top_level_key_is_named() {
    let err = parse(r#"{"respones": [], "responses": []}"#).unwrap_err();
    match &err {
        ScenarioError::UnknownKey { key, location, .. } => {
            assert_eq!(key, "respones");
            assert_eq!(location, "top level");
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert!(err.to_string().contains("`respones`"), "{err}");
}

#[test]
fn unknown_keys_in_responses_and_items_are_named() {
    let err = parse(r#"{"responses": [{"output": [], "dealy_ms": 3}]}"#).unwrap_err();
    assert!(
        matches!(&err, ScenarioError::UnknownKey { key, location, .. }
            if key == "dealy_ms" && location == "responses[0]"),
        "{err:?}"
    );
    let err = parse(r#"{"responses": [{"output": [{"mesage": "hi"}]}]}"#).unwrap_err();
    assert!(
        matches!(&err, ScenarioError::UnknownKey { key, location, .. }
            if key == "mesage" && location == "responses[0].output[0]"),
        "{err:?}"
    );
}

#[test]
fn invalid_shapes_are_errors() {
    for (text, needle) in [
        (r#"{}"#, "missing key `responses`"),
        (r#"{"responses": {}}"#, "expected an array"),
        (r#"{"responses": [{}]}"#, "expected one of the keys"),
        (
            r#"{"responses": [{"output": [], "status": 500}]}"#,
            "cannot be combined",
        ),
        (
            r#"{"responses": [{"output": [{"message": "a", "reasoning": "b"}]}]}"#,
            "cannot be combined",
        ),
        (
            r#"{"responses": [{"output": [{"message": 3}]}]}"#,
            "responses[0].output[0].message: expected a string",
        ),
        (
            r#"{"responses": [{"output": [{"exec_command": "x", "namespace": "n"}]}]}"#,
            "does not apply",
        ),
        (
            r#"{"responses": [{"status": 500, "cut_after": 1}]}"#,
            "does not apply",
        ),
        (r#"{"responses": [{"status": 70000}]}"#, "out of range"),
        (
            r#"{"responses": [{"status": 500, "headers": {"bad header": "x"}}]}"#,
            "invalid header name",
        ),
        (
            r#"{"responses": [], "retries": -1}"#,
            "non-negative integer",
        ),
        (r#"{"responses": [{"sse": [3]}]}"#, "object or a string"),
        (
            r#"{"responses": [{"output": [{"raw": "x"}]}]}"#,
            "expected an object",
        ),
    ] {
        let err = parse(text).unwrap_err();
        assert!(
            err.to_string().contains(needle),
            "{text}: expected {needle:?} in {err}"
        );
        assert_eq!(err.origin(), "<inline scenario>");
    }
}

#[test]
fn invalid_json_error_has_position() {
    let err = parse("{\n  \"responses\": [,]\n}").unwrap_err();
    assert!(matches!(err, ScenarioError::Json { .. }), "{err:?}");
    assert!(err.to_string().contains("line 2"), "{err}");
}

#[test]
fn file_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken-scenario.json");
    std::fs::write(&path, r#"{"responses": [], "retires": 1}"#).unwrap();
    let err = Scenario::from_file(&path).unwrap_err();
    assert!(err.to_string().contains("broken-scenario.json"), "{err}");
    assert!(err.to_string().contains("`retires`"), "{err}");

    let missing = dir.path().join("missing.json");
    let err = Scenario::from_file(&missing).unwrap_err();
    assert!(matches!(err, ScenarioError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("missing.json"), "{err}");

    let good = dir.path().join("good.json");
    std::fs::write(&good, r#"{"responses": [{"output": [{"message": "hi"}]}]}"#).unwrap();
    assert_eq!(
        Scenario::from_file(&good).unwrap(),
        Scenario::new().response(MockResponse::message("hi"))
    );
}

#[test]
fn validate_rejects_bad_builder_values() {
    let bad_status = Scenario::new().response(MockResponse::http_error(42, ""));
    assert!(bad_status.validate().is_err());
    let bad_header =
        Scenario::new().response(MockResponse::http_error(500, "").with_header("a b", "x"));
    assert!(bad_header.validate().is_err());
    let cut_http = Scenario::new().response(MockResponse::http_error(500, "").cut_after(1));
    assert!(cut_http.validate().is_err());
    assert!(
        Scenario::new()
            .response(MockResponse::message("ok").cut_after(1))
            .validate()
            .is_ok()
    );
}

#[test]
fn usage_helper_shape() {
    assert_eq!(
        usage(100, 10, 20, 5),
        json!({"input_tokens": 100, "input_tokens_details": {"cached_tokens": 10},
               "output_tokens": 20, "output_tokens_details": {"reasoning_tokens": 5},
               "total_tokens": 120})
    );
}

fn body_with_outputs(outputs: Vec<Value>) -> Value {
    let mut input = vec![json!({"type": "message", "role": "user",
                                "content": [{"type": "input_text", "text": "go"}]})];
    input.extend(outputs);
    json!({"model": "gpt-5.5", "input": input})
}

#[test]
fn last_tool_output_rules() {
    // exec_command: the header is removed.
    let exec = json!({"type": "function_call_output", "call_id": "c1",
        "output": "Chunk ID: 64a33f\nWall time: 0.0733 seconds\nProcess exited with code 0\nOriginal token count: 27\nOutput:\nhello\nworld\n"});
    assert_eq!(
        last_tool_output(&body_with_outputs(vec![exec.clone()])).as_deref(),
        Some("hello\nworld\n")
    );
    // apply_patch (custom tool) header.
    let patch = json!({"type": "custom_tool_call_output", "call_id": "c2",
        "output": "Exit code: 0\nWall time: 0.1 seconds\nOutput:\nSuccess. Updated the following files:\nA hello.txt\n"});
    assert_eq!(
        last_tool_output(&body_with_outputs(vec![exec.clone(), patch])).as_deref(),
        Some("Success. Updated the following files:\nA hello.txt\n")
    );
    // MCP array output: parts joined with newlines, then the header removed.
    let mcp = json!({"type": "function_call_output", "call_id": "c3", "output": [
        {"type": "input_text", "text": "Wall time: 0.0055 seconds\nOutput:"},
        {"type": "input_text", "text": "MCP tool call requires approval"}]});
    assert_eq!(
        last_tool_output(&body_with_outputs(vec![exec.clone(), mcp])).as_deref(),
        Some("MCP tool call requires approval")
    );
    // Plain text without codex's header is kept whole, even with an `Output:` line.
    let plain = json!({"type": "function_call_output", "call_id": "c4",
        "output": "Report\nOutput:\nnot a header"});
    assert_eq!(
        last_tool_output(&body_with_outputs(vec![plain])).as_deref(),
        Some("Report\nOutput:\nnot a header")
    );
    let dynamic = json!({"type": "function_call_output", "call_id": "c5", "output": "sunny, 21C"});
    assert_eq!(
        last_tool_output(&body_with_outputs(vec![dynamic])).as_deref(),
        Some("sunny, 21C")
    );
    // No tool output at all.
    assert_eq!(last_tool_output(&body_with_outputs(vec![])), None);
}

#[test]
fn parses_per_thread_hang_after_and_stream() {
    let scenario = parse(
        r#"{"per_thread": true, "responses": [
            {"output": [{"message": "hi"}], "stream": true, "hang_after": 4},
            {"sse": [{"type": "response.created"}], "hang_after": 1},
            {"output": [{"message": "plain"}], "stream": false}
        ]}"#,
    )
    .unwrap();
    let expected = Scenario::new()
        .per_thread(true)
        .response(MockResponse::message("hi").streamed().hang_after(4))
        .response(MockResponse::sse([json!({"type": "response.created"})]).hang_after(1))
        .response(MockResponse::message("plain"));
    assert_eq!(scenario, expected);
    assert!(scenario.per_thread);
    assert!(scenario.responses[0].stream);
    assert_eq!(scenario.responses[0].hang_after, Some(4));
    assert!(!parse(r#"{"responses": []}"#).unwrap().per_thread);
    assert!(
        !parse(r#"{"per_thread": false, "responses": []}"#)
            .unwrap()
            .per_thread
    );

    // Round trip; defaults are left out of the JSON form.
    let value = scenario.to_value();
    assert_eq!(value["per_thread"], json!(true));
    assert_eq!(value["responses"][0]["stream"], json!(true));
    assert_eq!(value["responses"][0]["hang_after"], json!(4));
    assert_eq!(value["responses"][2].get("stream"), None);
    assert_eq!(Scenario::from_value(&value).unwrap(), scenario);
    assert_eq!(Scenario::new().to_value().get("per_thread"), None);
}

#[test]
fn new_keys_are_validated() {
    for (text, needle) in [
        (
            r#"{"responses": [{"output": [], "cut_after": 1, "hang_after": 2}]}"#,
            "responses[0]: keys `cut_after` and `hang_after` cannot be combined",
        ),
        (
            r#"{"responses": [{"status": 500, "hang_after": 1}]}"#,
            "key `hang_after` does not apply to a `status` response",
        ),
        (
            r#"{"responses": [{"status": 500, "stream": true}]}"#,
            "key `stream` does not apply to a `status` response",
        ),
        (
            r#"{"responses": [{"sse": [], "stream": true}]}"#,
            "key `stream` does not apply to a `sse` response",
        ),
        (
            r#"{"responses": [{"output": [], "stream": "yes"}]}"#,
            "responses[0].stream: expected a boolean",
        ),
        (
            r#"{"responses": [{"output": [], "hang_after": -1}]}"#,
            "responses[0].hang_after: expected a non-negative integer",
        ),
        (
            r#"{"per_thread": 1, "responses": []}"#,
            "per_thread: expected a boolean",
        ),
    ] {
        let err = parse(text).unwrap_err();
        assert!(
            err.to_string().contains(needle),
            "{text}: expected {needle:?} in {err}"
        );
    }
    let err = parse(r#"{"per_thraed": true, "responses": []}"#).unwrap_err();
    assert!(
        matches!(&err, ScenarioError::UnknownKey { key, .. } if key == "per_thraed"),
        "{err:?}"
    );
}

#[test]
fn validate_rejects_bad_new_builder_values() {
    let both = Scenario::new().response(MockResponse::message("x").cut_after(1).hang_after(2));
    let err = both.validate().unwrap_err();
    assert!(
        err.to_string()
            .contains("responses[0]: keys `cut_after` and `hang_after` cannot be combined"),
        "{err}"
    );
    let hang_http = Scenario::new().response(MockResponse::http_error(500, "").hang_after(1));
    assert!(
        hang_http
            .validate()
            .unwrap_err()
            .to_string()
            .contains("responses[0].hang_after"),
    );
    let stream_sse = Scenario::new().response(MockResponse::sse([]).streamed());
    assert!(
        stream_sse
            .validate()
            .unwrap_err()
            .to_string()
            .contains("responses[0].stream"),
    );
    assert!(
        Scenario::new()
            .per_thread(true)
            .response(MockResponse::message("ok").streamed().hang_after(3))
            .response(MockResponse::sse([]).hang_after(0))
            .validate()
            .is_ok()
    );
}
