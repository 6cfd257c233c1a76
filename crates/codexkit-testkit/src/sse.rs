//! Server-sent events as codex 0.171 reads them from `POST /v1/responses`.
//!
//! A frame is `event: <type>\ndata: <json>\n\n`. Codex dispatches on the `"type"` field inside
//! the data, not on the `event:` line, so every event this module builds carries `"type"`.
//! A normal turn is `response.created`, one `response.output_item.done` per output item, then
//! `response.completed` (with `usage` when given).

use serde_json::{Value, json};

use crate::scenario::OutputItem;

/// The content type of an SSE reply.
pub const CONTENT_TYPE: &str = "text/event-stream";

/// Encodes one event as an SSE frame.
///
/// * An object with a string `"type"`: `event: <type>\ndata: <json>\n\n`.
/// * Any other object: `data: <json>\n\n` (no `event:` line).
/// * A string: `data: <string>\n\n`, verbatim (for malformed-data tests). Line breaks in it
///   start new `data:` lines, as the SSE format requires.
/// * Any other value: `data: <json>\n\n`.
pub fn encode_event(event: &Value) -> String {
    match event {
        Value::String(raw) => data_lines(raw),
        Value::Object(map) => match map.get("type").and_then(Value::as_str) {
            Some(kind) if !kind.contains(['\n', '\r']) => {
                format!("event: {kind}\n{}", data_lines(&event.to_string()))
            }
            _ => data_lines(&event.to_string()),
        },
        other => data_lines(&other.to_string()),
    }
}

fn data_lines(data: &str) -> String {
    let mut frame = String::with_capacity(data.len() + 8);
    for line in data.split('\n') {
        frame.push_str("data: ");
        frame.push_str(line);
        frame.push('\n');
    }
    frame.push('\n');
    frame
}

/// Encodes several events, concatenated.
pub fn encode_events<'a>(events: impl IntoIterator<Item = &'a Value>) -> String {
    events.into_iter().map(encode_event).collect()
}

/// `{"type":"response.created","response":{"id":<id>}}`.
pub fn response_created(response_id: &str) -> Value {
    json!({"type": "response.created", "response": {"id": response_id}})
}

/// `{"type":"response.output_item.done","item":<item>}`.
pub fn output_item_done(item: Value) -> Value {
    json!({"type": "response.output_item.done", "item": item})
}

/// `{"type":"response.completed","response":{"id":<id>,"usage":<usage>}}`, without `usage`
/// when `None`.
pub fn response_completed(response_id: &str, usage: Option<&Value>) -> Value {
    let mut response = json!({ "id": response_id });
    if let (Some(usage), Some(map)) = (usage, response.as_object_mut()) {
        map.insert("usage".into(), usage.clone());
    }
    json!({"type": "response.completed", "response": response})
}

/// The events of a normal turn answering request number `response_number` (1-based): ids
/// `resp_<n>` and per-item ids as described in [`crate::scenario`], `{{last_output}}` in
/// messages replaced by `last_output`.
pub fn output_events(
    response_number: usize,
    items: &[OutputItem],
    usage: Option<&Value>,
    last_output: &str,
) -> Vec<Value> {
    let response_id = format!("resp_{response_number}");
    let mut events = Vec::with_capacity(items.len() + 2);
    events.push(response_created(&response_id));
    for (index, item) in items.iter().enumerate() {
        events.push(output_item_done(item.to_response_item(
            response_number,
            index + 1,
            last_output,
        )));
    }
    events.push(response_completed(&response_id, usage));
    events
}
