//! The mock server, over real HTTP.

use std::time::{Duration, Instant};

use codexkit_testkit::{MockError, MockModel, MockResponse, OutputItem, Scenario, usage};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::http::{post_responses, send};
use crate::sse::parse_frames;

const WAIT: Duration = Duration::from_secs(10);

fn user_body(prompt: &str) -> Value {
    json!({"model": "gpt-5.5", "stream": true, "input": [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": prompt}]}
    ]})
}

fn message_texts(frames: &[(Option<String>, Value)]) -> Vec<String> {
    frames
        .iter()
        .filter(|(_, d)| d["type"] == "response.output_item.done")
        .map(|(_, d)| d["item"]["content"][0]["text"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn answers_in_order_then_400_with_failure() {
    let mock = MockModel::start(
        Scenario::new()
            .response(MockResponse::message("one").with_usage(usage(100, 10, 20, 5)))
            .response(MockResponse::message("two")),
    )
    .await
    .unwrap();
    assert!(mock.base_url().starts_with("http://127.0.0.1:"));
    assert!(mock.base_url().ends_with("/v1"));
    assert_eq!(mock.remaining_responses(), 2);

    let first = post_responses(mock.addr(), &user_body("a")).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.header("content-type"), Some("text/event-stream"));
    let frames = parse_frames(&first.text());
    assert_eq!(message_texts(&frames), vec!["one"]);
    assert_eq!(frames[0].1["response"]["id"], "resp_1");
    assert_eq!(
        frames.last().unwrap().1["response"]["usage"],
        usage(100, 10, 20, 5)
    );

    let second = post_responses(mock.addr(), &user_body("b")).await;
    let frames = parse_frames(&second.text());
    assert_eq!(message_texts(&frames), vec!["two"]);
    assert_eq!(frames[0].1["response"]["id"], "resp_2");
    assert_eq!(frames.last().unwrap().1["type"], "response.completed");
    assert_eq!(mock.failures(), Vec::<String>::new());
    assert!(mock.ensure_no_failures().is_ok());

    let third = post_responses(mock.addr(), &user_body("c")).await;
    assert_eq!(third.status, 400);
    assert_eq!(
        third.text(),
        "codexkit mock: no scenario response left for request #3"
    );
    let failures = mock.failures();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].contains("#3"), "{failures:?}");
    assert!(matches!(
        mock.ensure_no_failures(),
        Err(MockError::Failures(f)) if f.len() == 1
    ));
    assert_eq!(mock.request_count(), 3);
    assert_eq!(mock.remaining_responses(), 0);
}

#[tokio::test]
async fn other_paths_get_404_and_a_failure() {
    let mock = MockModel::start(Scenario::new().response(MockResponse::message("x")))
        .await
        .unwrap();
    let response = send(mock.addr(), "GET", "/v1/models?client=x", &[], b"").await;
    assert_eq!(response.status, 404);
    let response = send(mock.addr(), "GET", "/v1/responses", &[], b"").await;
    assert_eq!(response.status, 404);
    let failures = mock.failures();
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(failures[0].contains("GET /v1/models"), "{failures:?}");
    let requests = mock.requests();
    assert_eq!(requests[0].path, "/v1/models");
    assert_eq!(requests[0].query.as_deref(), Some("client=x"));
    assert!(mock.model_requests().is_empty());
    // The scenario response was not used by the stray requests.
    assert_eq!(mock.remaining_responses(), 1);
    let ok = post_responses(mock.addr(), &user_body("a")).await;
    assert_eq!(message_texts(&parse_frames(&ok.text())), vec!["x"]);
}

#[tokio::test]
async fn http_status_body_and_headers() {
    let mock = MockModel::start(
        Scenario::from_json_str(
            r#"{"responses": [
                {"status": 429, "body": {"error": {"type": "rate_limit", "message": "slow"}},
                 "headers": {"retry-after": "1", "x-extra": "yes"}},
                {"status": 500, "body": "boom"}
            ]}"#,
        )
        .unwrap(),
    )
    .await
    .unwrap();
    let limited = post_responses(mock.addr(), &user_body("a")).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("retry-after"), Some("1"));
    assert_eq!(limited.header("x-extra"), Some("yes"));
    assert_eq!(limited.header("content-type"), Some("application/json"));
    let body: Value = serde_json::from_slice(&limited.body).unwrap();
    assert_eq!(body["error"]["message"], "slow");

    let failed = post_responses(mock.addr(), &user_body("b")).await;
    assert_eq!(failed.status, 500);
    assert_eq!(failed.text(), "boom");
    assert_eq!(
        failed.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert!(mock.failures().is_empty());
}

#[tokio::test]
async fn cut_after_ends_the_stream_early() {
    let mock = MockModel::start(
        Scenario::new()
            .response(
                MockResponse::output([OutputItem::message("partial"), OutputItem::message("b")])
                    .cut_after(2),
            )
            .response(
                MockResponse::sse([
                    json!({"type": "response.created", "response": {"id": "r"}}),
                    json!("{not json at all"),
                    json!({"type": "response.completed", "response": {"id": "r"}}),
                ])
                .cut_after(2),
            ),
    )
    .await
    .unwrap();
    let response = post_responses(mock.addr(), &user_body("a")).await;
    assert_eq!(response.status, 200);
    let frames = parse_frames(&response.text());
    let types: Vec<&str> = frames
        .iter()
        .map(|(_, d)| d["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["response.created", "response.output_item.done"]);
    assert_eq!(message_texts(&frames), vec!["partial"]);

    let raw = post_responses(mock.addr(), &user_body("b")).await;
    assert_eq!(
        raw.text(),
        format!(
            "event: response.created\ndata: {}\n\ndata: {{not json at all\n\n",
            json!({"type": "response.created", "response": {"id": "r"}})
        )
    );
}

#[tokio::test]
async fn delay_waits_before_answering_but_records_at_once() {
    let mock =
        MockModel::start(Scenario::new().response(MockResponse::message("late").delay_ms(400)))
            .await
            .unwrap();
    let addr = mock.addr();
    let started = Instant::now();
    let pending = tokio::spawn(async move { post_responses(addr, &user_body("a")).await });
    // The request is recorded before the delay.
    let requests = mock.wait_for_requests(1, WAIT).await.unwrap();
    assert_eq!(requests.len(), 1);
    assert!(!pending.is_finished());
    let response = pending.await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(message_texts(&parse_frames(&response.text())), vec!["late"]);
}

#[tokio::test]
async fn wait_for_requests_times_out() {
    let mock = MockModel::start(Scenario::new()).await.unwrap();
    let err = mock
        .wait_for_requests(1, Duration::from_millis(50))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            MockError::Timeout {
                expected: 1,
                got: 0,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn last_output_substitution() {
    let template = "got [{{last_output}}]";
    let mock = MockModel::start(
        Scenario::new()
            .response(MockResponse::message(template))
            .response(MockResponse::message(template))
            .response(MockResponse::message(template))
            .response(MockResponse::output([
                OutputItem::message(template),
                OutputItem::reasoning("{{last_output}} stays in reasoning"),
            ])),
    )
    .await
    .unwrap();
    let mut string_body = user_body("a");
    string_body["input"].as_array_mut().unwrap().extend([
        json!({"type": "function_call", "id": "fc_1_1", "call_id": "call_1_1", "name": "exec_command", "arguments": "{\"cmd\":\"echo hi\"}"}),
        json!({"type": "function_call_output", "call_id": "call_1_1",
               "output": "Chunk ID: ab12\nWall time: 0.01 seconds\nProcess exited with code 0\nOriginal token count: 1\nOutput:\nhi\n"}),
    ]);
    let response = post_responses(mock.addr(), &string_body).await;
    assert_eq!(
        message_texts(&parse_frames(&response.text())),
        vec!["got [hi\n]"]
    );

    let mut array_body = user_body("b");
    array_body["input"].as_array_mut().unwrap().extend([
        json!({"type": "function_call_output", "call_id": "c1", "output": "older"}),
        json!({"type": "function_call_output", "call_id": "c2", "output": [
            {"type": "input_text", "text": "part one"},
            {"type": "input_image", "image_url": "data:image/png;base64,AAAA"},
            {"type": "input_text", "text": "part two"}]}),
    ]);
    let response = post_responses(mock.addr(), &array_body).await;
    assert_eq!(
        message_texts(&parse_frames(&response.text())),
        vec!["got [part one\npart two]"]
    );

    let response = post_responses(mock.addr(), &user_body("c")).await;
    assert_eq!(
        message_texts(&parse_frames(&response.text())),
        vec!["got []"]
    );

    let mut patch_body = user_body("d");
    patch_body["input"].as_array_mut().unwrap().push(json!({
        "type": "custom_tool_call_output", "call_id": "p",
        "output": "Exit code: 0\nWall time: 0.1 seconds\nOutput:\nSuccess.\n"}));
    let response = post_responses(mock.addr(), &patch_body).await;
    let frames = parse_frames(&response.text());
    assert_eq!(
        frames[1].1["item"]["content"][0]["text"],
        json!("got [Success.\n]")
    );
    // Only message text is substituted.
    assert_eq!(
        frames[2].1["item"]["summary"][0]["text"],
        json!("{{last_output}} stays in reasoning")
    );
    assert!(mock.failures().is_empty());
    assert_eq!(
        mock.requests()[1].last_tool_output().as_deref(),
        Some("part one\npart two")
    );
}

#[tokio::test]
async fn records_requests() {
    let mock = MockModel::start(Scenario::new().response(MockResponse::message("ok")))
        .await
        .unwrap();
    let body = json!({
        "model": "gpt-5.5",
        "input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "base"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "<environment_context/>"}]},
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "<image name=[Image #1]>"},
                {"type": "input_image", "image_url": "data:image/png;base64,AAAA", "detail": "original"},
                {"type": "input_text", "text": "</image>"},
                {"type": "input_text", "text": "describe"}]}
        ],
        "text": {"verbosity": "low", "format": {"type": "json_schema", "name": "codex_output_schema",
                 "strict": true, "schema": {"type": "object"}}}
    });
    let raw = body.to_string();
    let response = send(
        mock.addr(),
        "POST",
        "/v1/responses",
        &[
            ("Content-Type", "application/json"),
            ("Authorization", "Bearer sk-test"),
            ("X-Codex-Turn-Metadata", "{\"sandbox\":\"none\"}"),
        ],
        raw.as_bytes(),
    )
    .await;
    assert_eq!(response.status, 200);

    let requests = mock.wait_for_requests(1, WAIT).await.unwrap();
    let request = &requests[0];
    assert_eq!(request.seq, 1);
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/v1/responses");
    assert!(request.is_model_request());
    assert_eq!(request.body, raw.as_bytes());
    assert_eq!(request.body_json(), Some(&body));
    assert_eq!(request.model(), Some("gpt-5.5"));
    assert_eq!(request.input_items().len(), 3);
    assert_eq!(
        request.user_texts(),
        vec![
            "<environment_context/>",
            "<image name=[Image #1]>",
            "</image>",
            "describe"
        ]
    );
    assert_eq!(request.last_user_text().as_deref(), Some("describe"));
    assert!(request.has_input_image());
    assert_eq!(
        request.text_format(),
        Some(
            &json!({"type": "json_schema", "name": "codex_output_schema",
                     "strict": true, "schema": {"type": "object"}})
        )
    );
    // Header names are lower-case; lookup is case-insensitive.
    assert!(
        request
            .headers
            .iter()
            .any(|(k, v)| k == "x-codex-turn-metadata" && v == "{\"sandbox\":\"none\"}")
    );
    assert!(request.headers.iter().all(|(k, _)| *k == k.to_lowercase()));
    assert_eq!(request.header("AUTHORIZATION"), Some("Bearer sk-test"));
    assert_eq!(request.header("missing"), None);
    assert_eq!(request.last_tool_output(), None);

    let plain = user_body("hi");
    post_responses(mock.addr(), &plain).await;
    let second = &mock.requests()[1];
    assert!(!second.has_input_image());
    assert_eq!(second.text_format(), None);
    assert_eq!(second.user_texts(), vec!["hi"]);
}

#[tokio::test]
async fn non_json_body_is_a_failure_but_answered() {
    let mock = MockModel::start(Scenario::new().response(MockResponse::message("ok")))
        .await
        .unwrap();
    let response = send(mock.addr(), "POST", "/v1/responses", &[], b"not json").await;
    assert_eq!(response.status, 200);
    let request = &mock.requests()[0];
    assert_eq!(request.body_json(), None);
    assert_eq!(request.body_text(), "not json");
    assert!(request.input_items().is_empty());
    let failures = mock.failures();
    assert_eq!(failures.len(), 1);
    assert!(failures[0].contains("not valid JSON"), "{failures:?}");
}

#[tokio::test]
async fn invalid_builder_scenario_is_rejected_at_start() {
    let err = MockModel::start(Scenario::new().response(MockResponse::http_error(7, "")))
        .await
        .unwrap_err();
    assert!(matches!(err, MockError::Scenario(_)), "{err:?}");
}

#[tokio::test]
async fn shutdown_and_drop_stop_the_server() {
    let mock = MockModel::start(Scenario::new()).await.unwrap();
    let addr = mock.addr();
    mock.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());

    let mock = MockModel::start(Scenario::new()).await.unwrap();
    let addr = mock.addr();
    drop(mock);
    // Dropping aborts the server task; give the runtime a moment to run the abort.
    let deadline = Instant::now() + WAIT;
    loop {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "server still accepting after drop"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn from_file_starts_a_server() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.json");
    std::fs::write(
        &path,
        r#"{"retries": 0, "responses": [{"output": [{"message": "file"}]}]}"#,
    )
    .unwrap();
    let mock = MockModel::from_file(&path).await.unwrap();
    assert_eq!(mock.scenario().retries, Some(0));
    let response = post_responses(mock.addr(), &user_body("a")).await;
    assert_eq!(message_texts(&parse_frames(&response.text())), vec!["file"]);
}

#[tokio::test]
async fn hang_after_with_cut_after_is_rejected_at_start() {
    let err = MockModel::start(
        Scenario::new().response(MockResponse::message("x").hang_after(1).cut_after(1)),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, MockError::Scenario(_)), "{err:?}");
    assert!(err.to_string().contains("cannot be combined"), "{err}");
}
