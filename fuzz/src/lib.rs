//! Fuzz targets for codexkit's decoders, and their seed corpora.
//!
//! Each target takes arbitrary bytes, feeds them through a decoder the way codexkit does at
//! run time, and checks properties beyond "does not panic":
//!
//! * [`exec_decode_event`]: `codex exec --json` output, line by line, through
//!   `codexkit_protocol::decode_event`. It agrees with a two-step decode through
//!   `serde_json::Value`, and a decoded event re-encodes and decodes to itself.
//! * [`jsonrpc_parse_incoming`]: app-server messages, line by line, through `parse_incoming`,
//!   then `ServerNotification::from_parts` / `ServerRequest::from_parts` and their accessors.
//!   A decoded notification re-encodes and decodes to itself.
//! * [`notification_from_parts`]: a method (first line) and arbitrary JSON params (the rest)
//!   straight into `ServerNotification::from_parts`, then the normalizer.
//! * [`normalizer_sequence`]: a whole message sequence (one per line) through one
//!   `TurnNormalizer`, as a turn's notifications reach it.
//!
//! The same functions run under `cargo fuzz` (the `fuzz_targets/` binaries) and in the stable
//! smoke test `crates/codexkit-protocol/tests/fuzz_smoke.rs`, which includes this file.

use codexkit_protocol::app_server::{
    Incoming, ServerNotification, ServerRequest, TurnNormalizer, parse_incoming,
};
use codexkit_protocol::{ThreadEvent, decode_event};
use serde_json::Value;
use std::path::Path;

/// Every target, by name (the names of the `cargo fuzz` binaries).
pub const TARGETS: [&str; 4] = [
    "exec_decode_event",
    "jsonrpc_parse_incoming",
    "notification_from_parts",
    "normalizer_sequence",
];

/// Runs target `name` on `data`; `false` when there is no such target.
pub fn run_target(name: &str, data: &[u8]) -> bool {
    match name {
        "exec_decode_event" => exec_decode_event(data),
        "jsonrpc_parse_incoming" => jsonrpc_parse_incoming(data),
        "notification_from_parts" => notification_from_parts(data),
        "normalizer_sequence" => normalizer_sequence(data),
        _ => return false,
    }
    true
}

/// Splits like codexkit's line reader: at `\n`, without a trailing `\r`.
fn lines(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    data.split(|b| *b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
}

/// Exercises every accessor of an event and checks it serializes.
fn touch_event(event: &ThreadEvent) {
    let _ = event.kind();
    let _ = event.is_terminal();
    let _ = event.item();
    let encoded = serde_json::to_string(event);
    assert!(encoded.is_ok(), "an event does not serialize: {event:?}");
}

/// `codex exec --json` output, line by line, as codexkit's exec transport decodes it.
pub fn exec_decode_event(data: &[u8]) {
    for line in lines(data) {
        let Ok(text) = std::str::from_utf8(line) else {
            continue;
        };
        if text.trim().is_empty() {
            continue;
        }
        let decoded = decode_event(text);
        // The one-pass decode agrees with the two-step reference (text → `Value` → typed) on
        // every line: the same event, or an error for both.
        let reference = decode_via_value(text);
        match (&decoded, &reference) {
            (Ok(event), Some(expected)) => assert!(
                to_json(event) == to_json(expected),
                "one-pass and two-step decodes differ on {text}\none-pass: {event:?}\ntwo-step: {expected:?}"
            ),
            (Err(_), None) => {}
            (decoded, reference) => panic!(
                "one-pass and two-step decodes disagree on {text}: {decoded:?} vs {reference:?}"
            ),
        }
        let Ok(event) = decoded else {
            continue;
        };
        touch_event(&event);
        // Decoding is lossless: what was read re-encodes to JSON that decodes the same.
        // Floats are compared with a tolerance: serde_json's default float parser may be off by
        // one unit in the last place (see `regression_floats_survive_re_encoding`).
        if let Ok(encoded) = serde_json::to_string(&event) {
            match decode_event(&encoded) {
                Ok(again) => assert!(
                    same_json(&to_json(&again), &to_json(&event)),
                    "re-decoding changed the event: {encoded}\nbefore: {event:?}\nafter: {again:?}"
                ),
                Err(error) => panic!("a re-encoded event does not decode ({error}): {encoded}"),
            }
        }
    }
}

/// The reference decode: a JSON object through `Value`, then the typed event or `Unknown`.
fn decode_via_value(text: &str) -> Option<ThreadEvent> {
    use serde::Deserialize;
    let raw: Value = serde_json::from_str(text).ok()?;
    if !raw.is_object() {
        return None;
    }
    Some(ThreadEvent::deserialize(&raw).unwrap_or(ThreadEvent::Unknown(raw)))
}

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// JSON equality, with floats equal when within a few units in the last place.
pub fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            match (x.as_f64(), y.as_f64()) {
                (Some(x), Some(y)) => x == y || (x - y).abs() <= x.abs().max(y.abs()) * 1e-15,
                _ => false,
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(key, x)| y.get(key).is_some_and(|y| same_json(x, y)))
        }
        (x, y) => x == y,
    }
}

/// Exercises every accessor of a notification.
fn touch_notification(notification: &ServerNotification) {
    let _ = notification.method();
    let _ = notification.thread_id();
    let _ = notification.turn_id();
    let _ = notification.is_malformed_known();
}

/// App-server messages, line by line, classified and decoded as codexkit's router does.
pub fn jsonrpc_parse_incoming(data: &[u8]) {
    let mut normalizer = TurnNormalizer::new();
    for line in lines(data) {
        let text = String::from_utf8_lossy(line);
        let Ok(incoming) = parse_incoming(&text) else {
            continue;
        };
        let _ = incoming.method();
        match incoming {
            Incoming::Notification { method, params } => {
                let notification = ServerNotification::from_parts(&method, params);
                touch_notification(&notification);
                if let Ok(encoded) = serde_json::to_value(&notification) {
                    let method = encoded.get("method").and_then(Value::as_str).unwrap_or("");
                    let params = encoded.get("params").cloned().unwrap_or(Value::Null);
                    let again = ServerNotification::from_parts(method, params);
                    assert!(
                        same_json(&to_json(&again), &encoded),
                        "re-decoding changed the notification: {encoded}"
                    );
                }
                for event in normalizer.on_notification(&notification) {
                    touch_event(&event);
                }
            }
            Incoming::Request { id, method, params } => {
                let _ = id.to_value();
                let _ = id.to_string();
                let request = ServerRequest::from_parts(&method, params);
                let _ = request.method();
                let _ = request.thread_id();
            }
            Incoming::Response { id, .. } => {
                let _ = id.to_value();
            }
            Incoming::Error { id, error } => {
                let _ = id.map(|id| id.to_value());
                let _ = error.is_overloaded();
                let _ = error.to_string();
            }
            _ => {}
        }
    }
}

/// A method (the first line) and params (the rest, as JSON; as a string when it is not JSON).
pub fn notification_from_parts(data: &[u8]) {
    let (method, params) = match data.iter().position(|b| *b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &b""[..]),
    };
    let method = String::from_utf8_lossy(method);
    let params = serde_json::from_slice::<Value>(params)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(params).into_owned()));
    let notification = ServerNotification::from_parts(&method, params.clone());
    touch_notification(&notification);
    let request = ServerRequest::from_parts(&method, params);
    let _ = request.method();
    let _ = request.thread_id();
    let mut normalizer = TurnNormalizer::new();
    for _ in 0..2 {
        for event in normalizer.on_notification(&notification) {
            touch_event(&event);
        }
    }
    let _ = normalizer.last_total_usage();
}

/// One turn's messages (one per line) through one normalizer, in order.
pub fn normalizer_sequence(data: &[u8]) {
    let mut normalizer = TurnNormalizer::new();
    let mut ended = 0usize;
    for line in lines(data) {
        let text = String::from_utf8_lossy(line);
        let Ok(Incoming::Notification { method, params }) = parse_incoming(&text) else {
            continue;
        };
        let notification = ServerNotification::from_parts(&method, params);
        for event in normalizer.on_notification(&notification) {
            touch_event(&event);
            if event.is_terminal() {
                ended += 1;
            }
        }
    }
    let _ = (ended, normalizer.last_total_usage());
}

/// The server→client messages of an app-server transcript (`{"t","dir","msg"}` per line).
fn server_messages(transcript: &str) -> Vec<String> {
    transcript
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|entry| entry.get("dir").and_then(Value::as_str) == Some("server->client"))
        .filter_map(|entry| entry.get("msg").map(Value::to_string))
        .collect()
}

/// The seed inputs of `target`, from the transcripts in `fixtures` (sorted by file name).
pub fn seeds(target: &str, fixtures: &Path) -> std::io::Result<Vec<Vec<u8>>> {
    let mut files: Vec<_> = std::fs::read_dir(fixtures)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    for path in files {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let text = std::fs::read_to_string(&path)?;
        match (target, name.starts_with("exec_")) {
            ("exec_decode_event", true) => {
                seeds.push(text.clone().into_bytes());
                seeds.extend(text.lines().map(|l| l.as_bytes().to_vec()));
            }
            ("jsonrpc_parse_incoming", false) => {
                let messages = server_messages(&text);
                seeds.push(messages.join("\n").into_bytes());
                seeds.extend(messages.into_iter().map(String::into_bytes));
            }
            ("notification_from_parts", false) => {
                for message in server_messages(&text) {
                    let Ok(Incoming::Notification { method, params }) = parse_incoming(&message)
                    else {
                        continue;
                    };
                    seeds.push(format!("{method}\n{params}").into_bytes());
                }
            }
            ("normalizer_sequence", false) => {
                seeds.push(server_messages(&text).join("\n").into_bytes());
            }
            _ => {}
        }
    }
    seeds.sort();
    seeds.dedup();
    Ok(seeds)
}
