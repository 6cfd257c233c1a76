//! `per_thread` scenarios: one cursor per conversation.

use codexkit_testkit::{MockModel, MockResponse, OutputItem, Scenario};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::http::{HttpResponse, send};
use crate::sse::parse_frames;

fn body(prompt: &str, tool_output: Option<&str>) -> Value {
    let mut input = vec![json!({"type": "message", "role": "user",
                                "content": [{"type": "input_text", "text": prompt}]})];
    if let Some(output) = tool_output {
        input.push(
            json!({"type": "function_call_output", "call_id": "call_1_1",
                          "output": output}),
        );
    }
    json!({"model": "gpt-5.5", "stream": true, "input": input})
}

async fn post(mock: &MockModel, headers: &[(&str, &str)], body: &Value) -> HttpResponse {
    let mut all = vec![("Content-Type", "application/json")];
    all.extend_from_slice(headers);
    send(
        mock.addr(),
        "POST",
        "/v1/responses",
        &all,
        body.to_string().as_bytes(),
    )
    .await
}

/// `(response id, message texts)` of an SSE reply.
fn answer_of(response: &HttpResponse) -> (String, Vec<String>) {
    assert_eq!(response.status, 200, "{}", response.text());
    let frames = parse_frames(&response.text());
    let id = frames[0].1["response"]["id"].as_str().unwrap().to_owned();
    let texts = frames
        .iter()
        .filter(|(_, d)| d["type"] == "response.output_item.done")
        .filter_map(|(_, d)| d["item"]["content"][0]["text"].as_str())
        .map(str::to_owned)
        .collect();
    (id, texts)
}

fn two_step() -> Scenario {
    Scenario::new()
        .per_thread(true)
        .response(MockResponse::message("one"))
        .response(MockResponse::output([OutputItem::message(
            "two: {{last_output}}",
        )]))
}

#[tokio::test]
async fn interleaved_threads_each_walk_the_list() {
    let mock = MockModel::start(two_step()).await.unwrap();
    let a = [("session-id", "thread-a"), ("thread-id", "thread-a")];
    let b = [("session-id", "thread-b"), ("thread-id", "thread-b")];

    let a1 = post(&mock, &a, &body("a", None)).await;
    let b1 = post(&mock, &b, &body("b", None)).await;
    assert_eq!(mock.remaining_responses(), 1);
    let b2 = post(&mock, &b, &body("b", Some("from-b"))).await;
    assert_eq!(mock.remaining_responses(), 1);
    let a2 = post(&mock, &a, &body("a", Some("from-a"))).await;
    assert_eq!(mock.remaining_responses(), 0);

    // Each thread gets responses 1 and 2, with the same deterministic ids.
    assert_eq!(answer_of(&a1), ("resp_1".into(), vec!["one".into()]));
    assert_eq!(answer_of(&b1), ("resp_1".into(), vec!["one".into()]));
    // `{{last_output}}` reads the request being answered.
    assert_eq!(
        answer_of(&a2),
        ("resp_2".into(), vec!["two: from-a".into()])
    );
    assert_eq!(
        answer_of(&b2),
        ("resp_2".into(), vec!["two: from-b".into()])
    );
    mock.ensure_no_failures().unwrap();

    let keys: Vec<Option<String>> = mock
        .requests()
        .iter()
        .map(|r| r.thread_key().map(str::to_owned))
        .collect();
    assert_eq!(
        keys,
        ["thread-a", "thread-b", "thread-b", "thread-a"].map(|k| Some(k.to_owned()))
    );
    let for_a = mock.requests_for("thread-a");
    assert_eq!(for_a.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![1, 4]);
    assert_eq!(for_a[1].last_tool_output().as_deref(), Some("from-a"));
    assert_eq!(mock.requests_for("thread-b").len(), 2);
    assert!(mock.requests_for("thread-c").is_empty());
}

#[tokio::test]
async fn concurrent_threads_with_delays() {
    let scenario = Scenario::new()
        .per_thread(true)
        .response(MockResponse::message("one").delay_ms(200))
        .response(MockResponse::message("two"));
    let mock = MockModel::start(scenario).await.unwrap();
    let run = |key: &'static str| {
        let mock = &mock;
        async move {
            let first = post(mock, &[("session-id", key)], &body(key, None)).await;
            let second = post(mock, &[("session-id", key)], &body(key, Some("x"))).await;
            (answer_of(&first).1, answer_of(&second).1)
        }
    };
    let (a, b, c) = tokio::join!(run("a"), run("b"), run("c"));
    for answers in [a, b, c] {
        assert_eq!(answers, (vec!["one".into()], vec!["two".into()]));
    }
    assert_eq!(mock.model_requests().len(), 6);
    mock.ensure_no_failures().unwrap();
}

#[tokio::test]
async fn thread_key_fallbacks() {
    let mock = MockModel::start(two_step()).await.unwrap();
    let mut cached = body("p", None);
    cached["prompt_cache_key"] = json!("from-body");

    // session-id wins over thread-id, which wins over prompt_cache_key.
    post(&mock, &[("session-id", "s"), ("thread-id", "t")], &cached).await;
    post(&mock, &[("thread-id", "t")], &cached).await;
    post(&mock, &[], &cached).await;
    // An empty header does not count.
    post(&mock, &[("session-id", "")], &cached).await;
    // No key at all: one shared cursor.
    let none1 = post(&mock, &[], &body("n", None)).await;
    let none2 = post(&mock, &[], &body("n", None)).await;

    let requests = mock.requests();
    let keys: Vec<Option<&str>> = requests.iter().map(|r| r.thread_key()).collect();
    assert_eq!(
        keys,
        [
            Some("s"),
            Some("t"),
            Some("from-body"),
            Some("from-body"),
            None,
            None
        ]
    );
    assert_eq!(mock.requests_for("s").len(), 1);
    assert_eq!(mock.requests_for("t").len(), 1);
    assert_eq!(mock.requests_for("from-body").len(), 2);
    assert_eq!(answer_of(&none1).0, "resp_1");
    assert_eq!(answer_of(&none2).0, "resp_2");
    // `from-body` got both of its responses, too.
    mock.ensure_no_failures().unwrap();
    assert_eq!(mock.remaining_responses(), 1);
}

#[tokio::test]
async fn beyond_the_list_fails_per_thread() {
    let mock = MockModel::start(
        Scenario::new()
            .per_thread(true)
            .response(MockResponse::message("only")),
    )
    .await
    .unwrap();
    assert_eq!(mock.remaining_responses(), 1);
    let a1 = post(&mock, &[("session-id", "a")], &body("a", None)).await;
    assert_eq!(answer_of(&a1).1, vec!["only"]);
    let a2 = post(&mock, &[("session-id", "a")], &body("a", None)).await;
    assert_eq!(a2.status, 400);
    assert_eq!(
        a2.text(),
        "codexkit mock: no scenario response left for request #2 of thread \"a\""
    );
    // Another thread still gets its answer.
    let b1 = post(&mock, &[("session-id", "b")], &body("b", None)).await;
    assert_eq!(answer_of(&b1).1, vec!["only"]);
    let none1 = post(&mock, &[], &body("n", None)).await;
    assert_eq!(answer_of(&none1).1, vec!["only"]);
    let none2 = post(&mock, &[], &body("n", None)).await;
    assert_eq!(none2.status, 400);
    assert_eq!(
        none2.text(),
        "codexkit mock: no scenario response left for request #2 of the requests without a \
         thread key"
    );

    let failures = mock.failures();
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(failures[0].starts_with("request #2 "), "{failures:?}");
    assert!(failures[0].contains("thread \"a\""), "{failures:?}");
    assert!(failures[0].contains("the scenario has 1"), "{failures:?}");
    assert!(failures[1].starts_with("request #5 "), "{failures:?}");
    assert!(failures[1].contains("without a thread key"), "{failures:?}");
    assert!(mock.ensure_no_failures().is_err());
}

#[tokio::test]
async fn without_per_thread_the_order_stays_global() {
    let scenario = Scenario::new()
        .response(MockResponse::message("one"))
        .response(MockResponse::message("two"));
    let mock = MockModel::start(scenario).await.unwrap();
    let a = post(&mock, &[("session-id", "a")], &body("a", None)).await;
    let b = post(&mock, &[("session-id", "b")], &body("b", None)).await;
    assert_eq!(answer_of(&a).1, vec!["one"]);
    assert_eq!(answer_of(&b).1, vec!["two"]);
    // The key is still recorded.
    assert_eq!(mock.requests()[1].thread_key(), Some("b"));
    assert_eq!(mock.requests_for("a").len(), 1);
    let c = post(&mock, &[("session-id", "c")], &body("c", None)).await;
    assert_eq!(
        c.text(),
        "codexkit mock: no scenario response left for request #3"
    );
}
