//! Server-sent events as codex 0.171 reads them from `POST /v1/responses`.
//!
//! A frame is `event: <type>\ndata: <json>\n\n`. Codex dispatches on the `"type"` field inside
//! the data, not on the `event:` line, so every event this module builds carries `"type"`.
//! A normal turn is `response.created`, one `response.output_item.done` per output item, then
//! `response.completed` (with `usage` when given). A streamed turn
//! ([`streamed_output_events`]) adds the `added`/`delta`/`done` events of the real API around
//! messages and reasoning items.

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

/// The events of a streamed turn, as the real API sends them (the shapes of codex's recorded
/// `exec_stream_reasoning` stream), answering request number `response_number`: the same ids,
/// items and `{{last_output}}` substitution as [`output_events`], with `output_index` (0-based)
/// on every item event.
///
/// * `response.created`.
/// * A message: `response.output_item.added` (the item with empty `content`),
///   `response.content_part.added` (an empty `output_text` part),
///   `response.output_text.delta` frames (see [`split_deltas`]), `response.output_text.done`
///   (the whole text), `response.content_part.done` (the whole part) and
///   `response.output_item.done` (the whole item).
/// * A reasoning item: `response.output_item.added` (the item with an empty `summary` and no
///   `encrypted_content`), `response.reasoning_summary_part.added` (an empty `summary_text`
///   part), one `response.reasoning_summary_text.delta` with the whole summary,
///   `response.reasoning_summary_text.done` and `response.output_item.done`.
/// * Any other item (tool calls, `raw`): one `response.output_item.done`.
/// * `response.completed` (with `usage` when given).
pub fn streamed_output_events(
    response_number: usize,
    items: &[OutputItem],
    usage: Option<&Value>,
    last_output: &str,
) -> Vec<Value> {
    let response_id = format!("resp_{response_number}");
    let mut events = vec![response_created(&response_id)];
    for (index, item) in items.iter().enumerate() {
        let full = item.to_response_item(response_number, index + 1, last_output);
        match item {
            OutputItem::Message { .. } => stream_message(&mut events, index, full),
            OutputItem::Reasoning(_) => stream_reasoning(&mut events, index, full),
            _ => events.push(indexed_item_done(index, full)),
        }
    }
    events.push(response_completed(&response_id, usage));
    events
}

/// Splits streamed text into about three `delta` pieces whose concatenation is `text`.
///
/// The text is cut after runs of whitespace into words (each keeping its trailing
/// whitespace); the words are spread over three pieces of about equal word count, or fewer
/// pieces when there are fewer words. Text without whitespace is cut into up to three pieces
/// of about equal length in characters. An empty text gives no piece.
///
/// ```
/// use codexkit_testkit::sse::split_deltas;
/// assert_eq!(split_deltas("Hello streamed world"), ["Hello ", "streamed ", "world"]);
/// assert_eq!(split_deltas("a b c d e f"), ["a b ", "c d ", "e f"]);
/// assert_eq!(split_deltas("hi there"), ["hi ", "there"]);
/// assert_eq!(split_deltas("abcdef"), ["ab", "cd", "ef"]);
/// assert!(split_deltas("").is_empty());
/// ```
pub fn split_deltas(text: &str) -> Vec<String> {
    const PIECES: usize = 3;
    let mut words: Vec<&str> = Vec::new();
    let mut start = 0;
    let mut in_space = false;
    for (at, ch) in text.char_indices() {
        if ch.is_whitespace() {
            in_space = true;
        } else if in_space {
            words.push(&text[start..at]);
            start = at;
            in_space = false;
        }
    }
    if start < text.len() {
        words.push(&text[start..]);
    }
    if words.len() == 1 {
        let chars: Vec<char> = text.chars().collect();
        let pieces = PIECES.min(chars.len());
        return (0..pieces)
            .map(|i| {
                chars[i * chars.len() / pieces..(i + 1) * chars.len() / pieces]
                    .iter()
                    .collect()
            })
            .collect();
    }
    let pieces = PIECES.min(words.len());
    (0..pieces)
        .map(|i| words[i * words.len() / pieces..(i + 1) * words.len() / pieces].concat())
        .collect()
}

/// `{"type":"response.output_item.done","output_index":<index>,"item":<item>}`.
fn indexed_item_done(index: usize, item: Value) -> Value {
    json!({"type": "response.output_item.done", "output_index": index, "item": item})
}

/// `{"type":"response.output_item.added","output_index":<index>,"item":<item>}`.
fn indexed_item_added(index: usize, item: Value) -> Value {
    json!({"type": "response.output_item.added", "output_index": index, "item": item})
}

/// An event about a part of item `item_id`: `type`, `item_id`, `output_index`, then
/// `(part_key, 0)` and `(key, value)`, e.g. `("content_index", "delta", "Hello ")`.
fn part_event(
    kind: &str,
    item_id: &Value,
    index: usize,
    part_key: &str,
    (key, value): (&str, Value),
) -> Value {
    let mut event = json!({"type": kind, "item_id": item_id, "output_index": index});
    if let Some(map) = event.as_object_mut() {
        map.insert(part_key.to_owned(), Value::from(0));
        map.insert(key.to_owned(), value);
    }
    event
}

fn stream_message(events: &mut Vec<Value>, index: usize, full: Value) {
    let item_id = full.get("id").cloned().unwrap_or(Value::Null);
    let text = full
        .pointer("/content/0/text")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut added = full.clone();
    if let Some(map) = added.as_object_mut() {
        map.insert("content".into(), json!([]));
    }
    let event = |kind: &str, field: (&str, Value)| {
        part_event(kind, &item_id, index, "content_index", field)
    };
    let part = |text: &str| json!({"type": "output_text", "text": text});
    events.push(indexed_item_added(index, added));
    events.push(event("response.content_part.added", ("part", part(""))));
    for delta in split_deltas(&text) {
        events.push(event("response.output_text.delta", ("delta", delta.into())));
    }
    events.push(event(
        "response.output_text.done",
        ("text", text.as_str().into()),
    ));
    events.push(event("response.content_part.done", ("part", part(&text))));
    events.push(indexed_item_done(index, full));
}

fn stream_reasoning(events: &mut Vec<Value>, index: usize, full: Value) {
    let item_id = full.get("id").cloned().unwrap_or(Value::Null);
    let summary = full
        .pointer("/summary/0/text")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut added = full.clone();
    if let Some(map) = added.as_object_mut() {
        map.insert("summary".into(), json!([]));
        map.remove("encrypted_content");
    }
    let event = |kind: &str, field: (&str, Value)| {
        part_event(kind, &item_id, index, "summary_index", field)
    };
    events.push(indexed_item_added(index, added));
    events.push(event(
        "response.reasoning_summary_part.added",
        ("part", json!({"type": "summary_text", "text": ""})),
    ));
    events.push(event(
        "response.reasoning_summary_text.delta",
        ("delta", summary.as_str().into()),
    ));
    events.push(event(
        "response.reasoning_summary_text.done",
        ("text", summary.into()),
    ));
    events.push(indexed_item_done(index, full));
}
