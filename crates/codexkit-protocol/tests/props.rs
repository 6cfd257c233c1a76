//! Property tests of the protocol types: generated exec events and items round-trip exactly,
//! arbitrary JSON and arbitrary bytes never make a decoder panic, and decode → encode → decode
//! is stable for everything, app-server notifications and server requests included.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use codexkit_protocol::app_server::{
    ServerNotification, ServerRequest, TurnNormalizer, parse_incoming,
};
use codexkit_protocol::{ThreadEvent, Usage, decode_event};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 _./-]{0,12}",
        any::<String>().prop_map(|s| s.chars().take(16).collect()),
    ]
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        text().prop_map(Value::from),
    ]
}

/// Any JSON value of bounded size (integers only: floats are not what these types carry).
fn json_value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(text(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Members no decoder knows (kept in `extra`).
fn extra() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map("x_[a-z]{1,6}", json_value(), 0..3)
        .prop_map(|m| m.into_iter().collect())
}

fn with_extra(mut value: Value, extra: Map<String, Value>) -> Value {
    if let Some(map) = value.as_object_mut() {
        for (k, v) in extra {
            map.insert(k, v);
        }
    }
    value
}

fn status(known: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(known).prop_map(str::to_owned),
        "[a-z]{3,8}".prop_filter("not a known status", move |s| !known.contains(&s.as_str())),
    ]
}

/// Every exec item type, well formed, with unknown members.
fn item() -> impl Strategy<Value = Value> {
    let details = prop_oneof![
        (text(), prop::option::of(prop::sample::select(&["commentary", "final_answer"][..])))
            .prop_map(|(text, phase)| {
                let mut v = json!({"type": "agent_message", "text": text});
                if let Some(phase) = phase {
                    v["phase"] = json!(phase);
                }
                v
            }),
        text().prop_map(|text| json!({"type": "reasoning", "text": text})),
        (
            text(),
            text(),
            prop::option::of(any::<i32>()),
            status(&["in_progress", "completed", "failed", "declined"])
        )
            .prop_map(|(command, output, code, status)| json!({
                "type": "command_execution", "command": command,
                "aggregated_output": output, "exit_code": code, "status": status
            })),
        (
            prop::collection::vec(
                (text(), prop::sample::select(&["add", "delete", "update"][..])),
                0..3
            ),
            status(&["completed", "failed"])
        )
            .prop_map(|(changes, status)| json!({
                "type": "file_change",
                "changes": changes.into_iter().map(|(p, k)| json!({"path": p, "kind": k})).collect::<Vec<_>>(),
                "status": status
            })),
        (
            text(),
            text(),
            json_value(),
            prop::option::of((prop::collection::vec(json_value(), 0..2), json_value())),
            prop::option::of(text()),
            status(&["in_progress", "completed", "failed"])
        )
            .prop_map(|(server, tool, arguments, result, error, status)| json!({
                "type": "mcp_tool_call", "server": server, "tool": tool,
                "arguments": arguments,
                "result": result.map(|(content, structured)| json!({
                    "content": content, "structured_content": structured
                })),
                "error": error.map(|message| json!({"message": message})),
                "status": status
            })),
        text().prop_map(|m| json!({"type": "error", "message": m})),
        text().prop_map(|q| json!({"type": "web_search", "query": q})),
        prop::collection::vec((text(), any::<bool>()), 0..3).prop_map(|items| json!({
            "type": "todo_list",
            "items": items.into_iter().map(|(t, c)| json!({"text": t, "completed": c})).collect::<Vec<_>>()
        })),
    ];
    ("item_[0-9]{1,3}", details, extra()).prop_map(|(id, details, extra)| {
        let mut item = with_extra(details, extra);
        item["id"] = json!(id);
        item
    })
}

fn usage() -> impl Strategy<Value = Value> {
    prop::array::uniform5(any::<u32>()).prop_map(|[a, b, c, d, e]| {
        json!({
            "input_tokens": a, "cached_input_tokens": b, "cache_write_input_tokens": c,
            "output_tokens": d, "reasoning_output_tokens": e
        })
    })
}

/// Every exec event type, well formed, with unknown members.
fn exec_event() -> impl Strategy<Value = Value> {
    let event = prop_oneof![
        "[0-9a-f-]{8,36}".prop_map(|id| json!({"type": "thread.started", "thread_id": id})),
        Just(json!({"type": "turn.started"})),
        (
            prop::sample::select(&["item.started", "item.updated", "item.completed"][..]),
            item()
        )
            .prop_map(|(kind, item)| json!({"type": kind, "item": item})),
        usage().prop_map(|u| json!({"type": "turn.completed", "usage": u})),
        text().prop_map(|m| json!({"type": "turn.failed", "error": {"message": m}})),
        text().prop_map(|m| json!({"type": "error", "message": m})),
    ];
    (event, extra()).prop_map(|(event, extra)| with_extra(event, extra))
}

/// A few app-server notifications, well formed.
fn notification() -> impl Strategy<Value = Value> {
    let ids = ("[a-z0-9-]{1,12}", "[a-z0-9-]{1,12}", "[a-z0-9_]{1,8}");
    prop_oneof![
        (ids, text()).prop_map(|((thread, turn, item), delta)| json!({
            "method": "item/agentMessage/delta",
            "params": {"threadId": thread, "turnId": turn, "itemId": item, "delta": delta}
        })),
        (ids, text()).prop_map(|((thread, turn, item), delta)| json!({
            "method": "item/commandExecution/outputDelta",
            "params": {"threadId": thread, "turnId": turn, "itemId": item, "delta": delta}
        })),
        (ids, text()).prop_map(|((thread, turn, _), diff)| json!({
            "method": "turn/diff/updated",
            "params": {"threadId": thread, "turnId": turn, "diff": diff}
        })),
    ]
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A well-formed exec event decodes to its typed variant and encodes back to the same JSON.
    #[test]
    fn exec_events_round_trip_exactly(value in exec_event()) {
        let event = decode_event(&value.to_string()).unwrap();
        prop_assert!(!matches!(event, ThreadEvent::Unknown(_)), "{value}");
        if let Some(item) = event.item() {
            prop_assert!(
                !matches!(item.details, codexkit_protocol::ItemDetails::Unknown(_)),
                "{value}"
            );
        }
        prop_assert_eq!(serde_json::to_value(&event).unwrap(), value);
        let again = decode_event(&serde_json::to_string(&event).unwrap()).unwrap();
        prop_assert_eq!(again, event);
    }

    /// Any JSON object decodes (to `Unknown` at worst), re-encodes, and decodes to the same
    /// value again.
    #[test]
    fn any_json_object_is_a_stable_event(members in prop::collection::btree_map(
        prop_oneof!["type".prop_map(String::from), text()],
        prop_oneof![
            prop::sample::select(&[
                "thread.started", "turn.started", "item.started", "item.updated",
                "item.completed", "turn.completed", "turn.failed", "error",
                "turn.interrupted", "approval.requested", "stream.lagged",
            ][..]).prop_map(Value::from),
            json_value(),
        ],
        0..5,
    )) {
        let value = Value::Object(members.into_iter().collect());
        let event = decode_event(&value.to_string()).unwrap();
        let encoded = serde_json::to_string(&event).unwrap();
        let again = decode_event(&encoded).unwrap();
        prop_assert_eq!(&again, &event);
        if let ThreadEvent::Unknown(raw) = &event {
            prop_assert_eq!(raw, &value);
        }
    }

    /// Arbitrary bytes never make the event decoder panic; only objects decode.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let line = String::from_utf8_lossy(&bytes);
        if let Ok(event) = decode_event(&line) {
            prop_assert!(line.trim_start().starts_with('{'), "{line}");
            let _ = serde_json::to_string(&event).unwrap();
        }
        let _ = parse_incoming(&line);
    }

    /// Usage round-trips, and `since` never underflows.
    #[test]
    fn usage_round_trips(value in usage(), other in usage()) {
        let usage: Usage = serde_json::from_value(value.clone()).unwrap();
        prop_assert_eq!(serde_json::to_value(&usage).unwrap(), value);
        let other: Usage = serde_json::from_value(other).unwrap();
        let since = usage.since(&other);
        prop_assert!(since.input_tokens <= usage.input_tokens);
    }

    /// Well-formed notifications decode typed and re-encode to the same message.
    #[test]
    fn notifications_round_trip_exactly(value in notification()) {
        let decoded: ServerNotification = serde_json::from_value(value.clone()).unwrap();
        prop_assert!(!matches!(decoded, ServerNotification::Unknown(_)), "{value}");
        prop_assert_eq!(serde_json::to_value(&decoded).unwrap(), value);
    }

    /// Any params for any known method: decoding never panics, decode → encode → decode is
    /// stable, and the normalizer takes the result without panicking.
    #[test]
    fn any_params_for_known_methods_are_stable(
        method in prop::sample::select(ServerNotification::KNOWN_METHODS),
        request_method in prop::sample::select(ServerRequest::KNOWN_METHODS),
        params in json_value(),
    ) {
        let notification = ServerNotification::from_parts(method, params.clone());
        let encoded = serde_json::to_value(&notification).unwrap();
        let again: ServerNotification = serde_json::from_value(encoded).unwrap();
        prop_assert_eq!(&again, &notification);
        let _ = TurnNormalizer::new().on_notification(&notification);

        let request = ServerRequest::from_parts(request_method, params);
        let encoded = serde_json::to_value(&request).unwrap();
        let again: ServerRequest = serde_json::from_value(encoded).unwrap();
        prop_assert_eq!(again, request);
    }
}
