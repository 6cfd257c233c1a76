//! Items of every type the app-server sends (valid by the pinned binary's schema) decode typed,
//! name their kind and id, and map onto exec's vocabulary with the status rules documented on
//! `AppServerItem::to_thread_item`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use codexkit_protocol::app_server::AppServerItem;
use codexkit_protocol::{
    CommandExecutionStatus, DynamicToolCallStatus, FileChangeKind, ItemDetails, McpToolCallStatus,
    PatchApplyStatus, ThreadItem,
};
use serde_json::{Value, json};
use std::path::PathBuf;

/// Wraps `item` in an `item/completed` notification and checks it against the binary's schema.
fn assert_valid_item(item: &Value) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/schema/app-server/v2/ItemCompletedNotification.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let notification = json!({"threadId": "th", "turnId": "tu", "completedAtMs": 1, "item": item});
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&notification)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{item} is not a valid item: {errors:?}");
}

fn decode(item: Value) -> AppServerItem {
    assert_valid_item(&item);
    let decoded: AppServerItem = serde_json::from_value(item.clone()).unwrap();
    assert!(
        !matches!(decoded, AppServerItem::Unknown(_)),
        "{item} decoded as unknown"
    );
    assert_eq!(decoded.kind(), item["type"].as_str().unwrap());
    assert_eq!(decoded.id(), item["id"].as_str());
    decoded
}

fn mapped(item: Value) -> ThreadItem {
    let id = item["id"].as_str().unwrap().to_owned();
    let mapped = decode(item)
        .to_thread_item()
        .expect("maps onto an exec item");
    assert_eq!(mapped.id.as_str(), id);
    mapped
}

fn command(status: &str) -> Value {
    json!({"type": "commandExecution", "id": "c", "command": "ls", "commandActions": [],
           "cwd": "/work", "status": status, "exitCode": 0, "aggregatedOutput": "out"})
}

fn file_change(status: &str) -> Value {
    json!({"type": "fileChange", "id": "f", "status": status, "changes": [
        {"path": "a.txt", "diff": "+a", "kind": {"type": "add"}},
        {"path": "b.txt", "diff": "-b", "kind": {"type": "delete"}},
        {"path": "c.txt", "diff": "~c", "kind": {"type": "update", "move_path": null}}]})
}

#[test]
fn command_statuses_keep_declined() {
    for (wire, expected) in [
        ("inProgress", CommandExecutionStatus::InProgress),
        ("completed", CommandExecutionStatus::Completed),
        ("failed", CommandExecutionStatus::Failed),
        ("declined", CommandExecutionStatus::Declined),
    ] {
        let ItemDetails::CommandExecution(c) = mapped(command(wire)).details else {
            panic!("not a command")
        };
        assert_eq!(c.status, expected, "{wire}");
        assert_eq!(c.command, "ls");
        assert_eq!(c.aggregated_output, "out");
        assert_eq!(c.exit_code, Some(0));
    }
}

#[test]
fn file_changes_map_kinds_and_a_declined_patch_is_failed() {
    for (wire, expected) in [
        ("inProgress", PatchApplyStatus::InProgress),
        ("completed", PatchApplyStatus::Completed),
        ("failed", PatchApplyStatus::Failed),
        ("declined", PatchApplyStatus::Failed),
    ] {
        let ItemDetails::FileChange(f) = mapped(file_change(wire)).details else {
            panic!("not a file change")
        };
        assert_eq!(f.status, expected, "{wire}");
        let kinds: Vec<_> = f.changes.iter().map(|c| c.kind.clone()).collect();
        assert_eq!(
            kinds,
            [
                FileChangeKind::Add,
                FileChangeKind::Delete,
                FileChangeKind::Update
            ]
        );
    }
}

#[test]
fn tool_calls_map_results_errors_and_statuses() {
    let mcp = json!({"type": "mcpToolCall", "id": "m", "server": "calc", "tool": "add",
        "arguments": {"a": 1}, "status": "completed",
        "result": {"content": [{"type": "text", "text": "2"}], "structuredContent": {"sum": 2},
                   "_meta": {"trace": "x"}}});
    let ItemDetails::McpToolCall(call) = mapped(mcp).details else {
        panic!("not an MCP call")
    };
    assert_eq!(call.status, McpToolCallStatus::Completed);
    let result = call.result.expect("result kept");
    assert_eq!(result.structured_content, Some(json!({"sum": 2})));
    assert_eq!(result.extra.get("_meta"), Some(&json!({"trace": "x"})));

    let failed = json!({"type": "mcpToolCall", "id": "m2", "server": "calc", "tool": "add",
        "arguments": {}, "status": "failed", "error": {"message": "boom"}});
    let ItemDetails::McpToolCall(call) = mapped(failed).details else {
        panic!("not an MCP call")
    };
    assert_eq!(call.status, McpToolCallStatus::Failed);
    assert_eq!(call.error.map(|e| e.message).as_deref(), Some("boom"));

    for (wire, expected) in [
        ("inProgress", DynamicToolCallStatus::InProgress),
        ("completed", DynamicToolCallStatus::Completed),
        ("failed", DynamicToolCallStatus::Failed),
    ] {
        let dynamic = json!({"type": "dynamicToolCall", "id": "d", "namespace": "weather",
            "tool": "lookup", "arguments": {"city": "Oslo"}, "status": wire, "success": true,
            "contentItems": [{"type": "inputText", "text": "sunny"}]});
        let ItemDetails::DynamicToolCall(call) = mapped(dynamic).details else {
            panic!("not a dynamic call")
        };
        assert_eq!(call.status, expected, "{wire}");
        assert_eq!(call.namespace.as_deref(), Some("weather"));
        assert_eq!(call.success, Some(true));
    }
}

#[test]
fn messages_reasoning_search_and_other_items() {
    let user = decode(json!({"type": "userMessage", "id": "u", "content": [
        {"type": "text", "text": "hi", "text_elements": []}]}));
    assert_eq!(
        user.to_thread_item(),
        None,
        "exec does not show user messages"
    );

    let reasoning = mapped(json!({"type": "reasoning", "id": "r", "summary": ["one", "two"]}));
    let ItemDetails::Reasoning(r) = reasoning.details else {
        panic!("not reasoning")
    };
    assert_eq!(r.text, "one\ntwo");

    let search = mapped(json!({"type": "webSearch", "id": "w", "query": "rust",
        "action": {"type": "search", "query": "rust"}}));
    let ItemDetails::WebSearch(w) = search.details else {
        panic!("not a search")
    };
    assert_eq!(w.query, "rust");
    assert_eq!(w.extra.get("action").unwrap()["type"], "search");

    for other in [
        json!({"type": "plan", "id": "p", "text": "1. do it"}),
        json!({"type": "contextCompaction", "id": "cc"}),
    ] {
        let kind = other["type"].clone();
        let ItemDetails::Unknown(raw) = mapped(other).details else {
            panic!("{kind} is not kept raw")
        };
        assert_eq!(raw["type"], kind);
    }

    let future = json!({"type": "hologram", "id": "h"});
    let decoded: AppServerItem = serde_json::from_value(future).unwrap();
    assert!(matches!(decoded, AppServerItem::Unknown(_)));
    assert_eq!(decoded.kind(), "hologram");
    assert_eq!(decoded.id(), Some("h"));
}
