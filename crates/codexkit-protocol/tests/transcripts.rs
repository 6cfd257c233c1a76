//! Every exec transcript recorded from the pinned codex binary decodes with no `Unknown` and
//! re-encodes to the same JSON.

use codexkit_protocol::{ItemDetails, ThreadEvent, decode_event};
use pretty_assertions::assert_eq;
use serde_json::Value;
use std::path::PathBuf;

fn transcripts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/transcripts/codex-0.171.0")
}

#[test]
fn every_exec_transcript_decodes_without_unknown_and_round_trips() {
    let mut files: Vec<_> = std::fs::read_dir(transcripts_dir())
        .expect("fixtures directory")
        .map(|entry| entry.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        // app-server logs live next to them; tests/app_server.rs reads those
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("exec_"))
        })
        .collect();
    files.sort();
    assert!(
        files.len() >= 50,
        "expected the full transcript set, found {}",
        files.len()
    );

    let mut events_seen = 0usize;
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read transcript");
        for (index, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let place = format!("{}:{}", file.display(), index + 1);
            let event = decode_event(line).unwrap_or_else(|e| panic!("{place}: {e}"));
            assert!(
                !matches!(event, ThreadEvent::Unknown(_)),
                "{place}: unknown event {line}"
            );
            if let Some(item) = event.item() {
                assert!(
                    !matches!(item.details, ItemDetails::Unknown(_)),
                    "{place}: unknown item {line}"
                );
            }
            let original: Value = serde_json::from_str(line).expect("valid json");
            let reencoded = serde_json::to_value(&event).expect("serialize");
            assert_eq!(reencoded, original, "{place}: round trip differs");
            events_seen += 1;
        }
    }
    assert!(events_seen > 200, "only {events_seen} events read");
}

#[test]
fn unknown_event_and_item_types_are_kept_raw() {
    let event = decode_event(r#"{"type":"turn.paused","why":"coffee"}"#).unwrap();
    assert_eq!(event.kind(), "turn.paused");
    assert!(matches!(&event, ThreadEvent::Unknown(raw) if raw["why"] == "coffee"));
    assert_eq!(
        serde_json::to_string(&event).unwrap(),
        r#"{"type":"turn.paused","why":"coffee"}"#
    );

    let line = r#"{"type":"item.completed","item":{"id":"item_9","type":"hologram","beam":3}}"#;
    let event = decode_event(line).unwrap();
    let item = event.item().expect("item event");
    assert_eq!(item.kind(), "hologram");
    assert!(matches!(&item.details, ItemDetails::Unknown(raw) if raw["beam"] == 3));
    assert_eq!(
        serde_json::to_value(&event).unwrap(),
        serde_json::from_str::<Value>(line).unwrap()
    );
}

#[test]
fn known_type_with_wrong_shape_is_unknown_not_an_error() {
    let event = decode_event(r#"{"type":"thread.started","thread_id":42}"#).unwrap();
    assert!(matches!(event, ThreadEvent::Unknown(_)));
}

#[test]
fn a_repeated_key_keeps_its_last_value() {
    let event = decode_event(
        r#"{"type":"turn.completed","usage":{"input_tokens":1,"cached_input_tokens":0,"output_tokens":2,"output_tokens":3}}"#,
    )
    .unwrap();
    let ThreadEvent::TurnCompleted(completed) = event else {
        panic!("expected turn.completed, got {event:?}");
    };
    assert_eq!(completed.usage.output_tokens, 3);
    let event =
        decode_event(r#"{"type":"turn.started","type":"thread.started","thread_id":"t"}"#).unwrap();
    assert!(matches!(event, ThreadEvent::ThreadStarted(_)), "{event:?}");
}

#[test]
fn non_object_lines_are_errors() {
    assert!(decode_event("not json").is_err());
    assert!(decode_event("[1,2]").is_err());
    assert!(decode_event("\"text\"").is_err());
}

#[test]
fn unknown_fields_and_statuses_survive() {
    let line = r#"{"type":"item.completed","item":{"id":"item_0","type":"command_execution","command":"ls","aggregated_output":"","exit_code":null,"status":"paused","pid":7}}"#;
    let event = decode_event(line).unwrap();
    let item = event.item().unwrap();
    let ItemDetails::CommandExecution(cmd) = &item.details else {
        panic!("expected command execution, got {item:?}")
    };
    assert_eq!(cmd.extra["pid"], 7);
    assert_eq!(
        serde_json::to_value(&event).unwrap(),
        serde_json::from_str::<Value>(line).unwrap()
    );
}

#[test]
fn usage_since_gives_the_per_turn_part() {
    let first = codexkit_protocol::Usage::new(100, 10, 20, 5);
    let second = codexkit_protocol::Usage::new(300, 30, 60, 15);
    assert_eq!(
        second.since(&first),
        codexkit_protocol::Usage::new(200, 20, 40, 10)
    );
    assert_eq!(first.since(&second), codexkit_protocol::Usage::default());
}
