//! Typed structured output through the real codex and the mock model.

use crate::common::{Harness, eventually};
use codexkit::binary::{DiscoveryOptions, discover};
use codexkit::structured::{REPAIR_PROMPT, StructuredOptions, schema_for};
use codexkit::{Codex, CodexOptions, Error, ThreadOptions, TurnOptions};
use codexkit_testkit::{FakeCodex, MockResponse, Scenario};
use pretty_assertions::assert_eq;
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

#[derive(Debug, Deserialize, schemars::JsonSchema, PartialEq)]
struct Answer {
    /// The answer itself.
    answer: String,
    /// How sure the model is, 0 to 10.
    confidence: u8,
    /// Where it comes from, if anywhere.
    source: Option<String>,
}

#[tokio::test]
async fn run_typed_decodes_a_valid_answer() {
    let harness = Harness::start(Scenario::new().response(MockResponse::message(
        r#"{"answer":"42","confidence":9,"source":null}"#,
    )))
    .await;
    let thread = harness.codex.start_thread(harness.thread_options());
    let typed = thread
        .run_typed::<Answer>("what is the answer?")
        .await
        .expect("a typed answer");
    assert_eq!(
        typed.value,
        Answer {
            answer: "42".into(),
            confidence: 9,
            source: None
        }
    );
    assert_eq!(typed.raw, r#"{"answer":"42","confidence":9,"source":null}"#);
    assert_eq!(typed.turn.final_response, typed.raw);
    assert!(!typed.repaired);
    let requests = harness.mock.requests();
    let format = requests[0]
        .text_format()
        .expect("an output schema was sent");
    assert_eq!(format["strict"], true);
    assert_eq!(format["schema"], schema_for::<Answer>().unwrap());
}

#[tokio::test]
async fn a_mismatching_answer_is_schema_mismatch_with_the_raw_text() {
    let harness = Harness::app_server(
        Scenario::new().response(MockResponse::message(r#"{"answer": 42, "confidence": 3}"#)),
    )
    .await;
    let thread = harness.codex.start_thread(harness.thread_options());
    let err = thread
        .run_typed::<Answer>("what is the answer?")
        .await
        .unwrap_err();
    match err {
        Error::SchemaMismatch { raw, errors } => {
            assert_eq!(raw, r#"{"answer": 42, "confidence": 3}"#);
            assert!(
                errors.iter().any(|e| e.starts_with("/answer: ")),
                "{errors:?}"
            );
            assert!(errors.iter().any(|e| e.contains("source")), "{errors:?}");
        }
        other => panic!("expected SchemaMismatch, got {other:?}"),
    }
    assert!(
        harness.mock.requests()[0].text_format().is_some(),
        "outputSchema reached the request"
    );
}

#[tokio::test]
async fn the_repair_option_runs_a_second_turn_that_succeeds() {
    let harness = Harness::start(
        Scenario::new()
            .response(MockResponse::message("Sure! The answer is 42."))
            .response(MockResponse::message(
                r#"{"answer":"42","confidence":7,"source":"memory"}"#,
            )),
    )
    .await;
    let thread = harness.codex.start_thread(harness.thread_options());
    let typed = thread
        .run_typed_with::<Answer>(
            "what is the answer?",
            StructuredOptions::default().with_repair(true),
        )
        .await
        .expect("the repair turn matches");
    assert!(typed.repaired);
    assert_eq!(typed.value.source.as_deref(), Some("memory"));
    let requests = harness.mock.requests();
    assert_eq!(requests.len(), 2);
    let repair = requests[1].last_user_text().unwrap();
    assert!(repair.starts_with(REPAIR_PROMPT), "{repair}");
    assert!(repair.contains("not JSON"), "{repair}");
    assert!(
        requests[1].text_format().is_some(),
        "the repair turn has the schema too"
    );
    assert_eq!(
        requests[1].thread_key(),
        requests[0].thread_key(),
        "same thread"
    );

    // Without the option the first answer is the error.
    let harness =
        Harness::start(Scenario::new().response(MockResponse::message("Sure! The answer is 42.")))
            .await;
    let thread = harness.codex.start_thread(harness.thread_options());
    let err = thread.run_typed::<Answer>("again").await.unwrap_err();
    assert!(
        matches!(&err, Error::SchemaMismatch { raw, .. } if raw == "Sure! The answer is 42."),
        "{err:?}"
    );
    assert_eq!(harness.mock.request_count(), 1);
}

#[tokio::test]
async fn a_non_strict_schema_is_rejected_before_any_process_starts() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("invocation");
    let script = FakeCodex::new().record_invocation(&record).exit(1);
    let path = script.write_to(dir.path()).unwrap();
    let binary = discover(&DiscoveryOptions::default().with_explicit_path(path)).unwrap();
    let codex = Codex::with_binary(binary, CodexOptions::default());
    let thread = codex.start_thread(ThreadOptions::default());
    let loose = json!({
        "type": "object",
        "properties": {"items": {"type": "array", "items": {"type": "object", "properties": {"n": {"type": "integer"}}}}},
        "required": ["items"],
        "additionalProperties": false
    });
    let err = thread.run_with_schema("hi", loose).await.unwrap_err();
    match err {
        Error::InvalidSchema { pointer, reason } => {
            assert_eq!(pointer, "/properties/items/items/additionalProperties");
            assert!(reason.contains("additionalProperties"), "{reason}");
        }
        other => panic!("expected InvalidSchema, got {other:?}"),
    }
    assert!(!record.exists(), "codex was never started");

    #[allow(dead_code)]
    #[derive(Debug, Deserialize, schemars::JsonSchema)]
    struct Loose {
        anything: Value,
    }
    let err = thread.run_typed::<Loose>("hi").await.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidSchema { pointer, .. } if pointer == "/properties/anything"),
        "{err:?}"
    );
    assert!(!record.exists(), "codex was never started");
}

/// Files in the temp dir named `codexkit-schema-*` whose content contains `marker`.
fn schema_files_with(marker: &str) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("codexkit-schema-")
        })
        .map(|e| e.path())
        .filter(|p| std::fs::read_to_string(p).is_ok_and(|text| text.contains(marker)))
        .collect()
}

fn marked_schema(marker: &str) -> Value {
    json!({
        "type": "object",
        "description": marker,
        "properties": {"ok": {"type": "boolean"}},
        "required": ["ok"],
        "additionalProperties": false
    })
}

#[tokio::test]
async fn no_schema_temp_file_remains_after_success_failure_or_cancel() {
    // Success.
    let marker = format!("codexkit-test-marker-success-{}", std::process::id());
    let harness =
        Harness::start(Scenario::new().response(MockResponse::message(r#"{"ok":true}"#))).await;
    let thread = harness.codex.start_thread(harness.thread_options());
    let typed = thread
        .run_with_schema("ok?", marked_schema(&marker))
        .await
        .unwrap();
    assert_eq!(typed.value, json!({"ok": true}));
    // Removed when codex has exited, which may be just after the answer arrived.
    assert!(eventually(10, || schema_files_with(&marker).is_empty()).await);

    // codex fails to start the turn.
    let marker = format!("codexkit-test-marker-failure-{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let path = FakeCodex::new()
        .stderr_line("boom")
        .exit(1)
        .write_to(dir.path())
        .unwrap();
    let binary = discover(&DiscoveryOptions::default().with_explicit_path(path)).unwrap();
    let failing = Codex::with_binary(binary, CodexOptions::default());
    let err = failing
        .start_thread(ThreadOptions::default())
        .run_with_schema("ok?", marked_schema(&marker))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ProcessExited { .. }), "{err:?}");
    assert!(schema_files_with(&marker).is_empty());

    // An argument error after the schema file was written.
    let marker = format!("codexkit-test-marker-argv-{}", std::process::id());
    let err = harness
        .codex
        .start_thread(harness.thread_options().with_model(" "))
        .run_with_schema("ok?", marked_schema(&marker))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidOption { .. }), "{err:?}");
    assert!(schema_files_with(&marker).is_empty());

    // The stream is dropped while codex waits for the model.
    let marker = format!("codexkit-test-marker-cancel-{}", std::process::id());
    let harness =
        Harness::start(Scenario::new().response(MockResponse::message("{}").hang_after(1))).await;
    let thread = harness.codex.start_thread(harness.thread_options());
    let mut stream = thread
        .run_streamed_with(
            "ok?",
            TurnOptions::default().with_output_schema(marked_schema(&marker)),
        )
        .await
        .unwrap();
    assert_eq!(
        schema_files_with(&marker).len(),
        1,
        "the file exists during the turn"
    );
    harness
        .mock
        .wait_for_requests(1, Duration::from_secs(60))
        .await
        .expect("codex asked the model");
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.next()).await;
    drop(stream);
    assert!(
        eventually(10, || schema_files_with(&marker).is_empty()).await,
        "the schema file is removed once the cancelled turn is reaped"
    );
}
