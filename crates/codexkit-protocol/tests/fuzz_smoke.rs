//! The fuzz targets of `fuzz/` on stable Rust: the seed corpora (every recorded transcript),
//! the saved regressions (`fuzz/regressions/<target>/`), and a few thousand deterministic
//! mutations of them per target: bit flips, interesting bytes and tokens, truncations,
//! deletions, duplications, splices of two seeds, and JSON-aware edits (a node replaced by
//! another type, a `type`/`method` renamed to another known one).
//!
//! `FUZZ_SMOKE_ITERATIONS` sets the mutations per target (default 2500) and
//! `FUZZ_SMOKE_SEED` the generator's seed. A failing input is written to
//! `<target tmp>/fuzz-smoke-failures/` and shown in the failure message; save it under
//! `fuzz/regressions/<target>/` so it is replayed from then on.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod targets;

use serde_json::Value;
use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixtures() -> PathBuf {
    repo_root().join("fixtures/transcripts/codex-0.171.0")
}

/// xorshift64*: small, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b":",
    b",",
    b"\\",
    b"null",
    b"true",
    b"false",
    b"-1",
    b"0",
    b"1e308",
    b"-0.0",
    b"18446744073709551616",
    b"\"\\u0000\"",
    b"\"\\ud800\"",
    b"\xff",
    b"\xc3",
    b"\xe2\x9c",
    b"\n",
    b"\r\n",
    b" ",
    b"{}",
    b"[]",
    b"\"\"",
];

/// Type and method names the decoders know, to steer mutations into typed paths.
const NAMES: &[&str] = &[
    "thread.started",
    "turn.started",
    "turn.completed",
    "turn.failed",
    "turn.interrupted",
    "item.started",
    "item.updated",
    "item.completed",
    "error",
    "agent_message",
    "reasoning",
    "command_execution",
    "file_change",
    "mcp_tool_call",
    "web_search",
    "todo_list",
    "agentMessage",
    "commandExecution",
    "fileChange",
    "mcpToolCall",
    "dynamicToolCall",
    "userMessage",
    "turn/started",
    "turn/completed",
    "item/started",
    "item/completed",
    "item/agentMessage/delta",
    "item/reasoning/summaryTextDelta",
    "item/reasoning/summaryPartAdded",
    "item/commandExecution/outputDelta",
    "thread/tokenUsage/updated",
    "turn/diff/updated",
    "thread/started",
    "error",
    "item/commandExecution/requestApproval",
    "item/fileChange/requestApproval",
    "item/tool/call",
    "completed",
    "failed",
    "interrupted",
    "inProgress",
];

fn random_value(rng: &mut Rng, donor: &Value) -> Value {
    match rng.below(12) {
        0 => Value::Null,
        1 => Value::Bool(rng.below(2) == 0),
        2 => Value::from(-1),
        3 => Value::from(u64::MAX),
        4 => Value::from(1.5),
        5 => Value::from(""),
        6 => Value::from(*rng.pick(NAMES)),
        7 => Value::Array(Vec::new()),
        8 => Value::Object(serde_json::Map::new()),
        9 => Value::from("x".repeat(rng.below(300))),
        _ => random_node(rng, donor).clone(),
    }
}

fn random_node<'a>(rng: &mut Rng, value: &'a Value) -> &'a Value {
    let mut node = value;
    for _ in 0..rng.below(6) {
        let next = match node {
            Value::Array(items) if !items.is_empty() => &items[rng.below(items.len())],
            Value::Object(map) if !map.is_empty() => {
                map.values().nth(rng.below(map.len())).unwrap_or(node)
            }
            _ => break,
        };
        node = next;
    }
    node
}

fn mutate_json(rng: &mut Rng, value: &mut Value, donor: &Value) {
    let depth = rng.below(6);
    let mut node = value;
    for _ in 0..depth {
        let len = match &*node {
            Value::Array(items) => items.len(),
            Value::Object(map) => map.len(),
            _ => 0,
        };
        if len == 0 {
            break;
        }
        let at = rng.below(len);
        node = match node {
            Value::Array(items) => &mut items[at],
            Value::Object(map) => match map.values_mut().nth(at) {
                Some(child) => child,
                None => return,
            },
            _ => return,
        };
    }
    match (rng.below(4), node) {
        (0, Value::Object(map)) if !map.is_empty() => {
            let key = map.keys().nth(rng.below(map.len())).cloned().unwrap();
            map.remove(&key);
        }
        (1, Value::Object(map)) => {
            let key = *rng.pick(&["type", "method", "id", "params", "item", "turn", "threadId"]);
            map.insert(key.to_owned(), random_value(rng, donor));
        }
        (_, node) => *node = random_value(rng, donor),
    }
}

fn mutate(rng: &mut Rng, input: &[u8], seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut data = input.to_vec();
    for _ in 0..1 + rng.below(3) {
        let len = data.len();
        match rng.below(9) {
            0 if len > 0 => {
                let at = rng.below(len);
                data[at] ^= 1 << rng.below(8);
            }
            1 => {
                let at = rng.below(len + 1);
                let token = *rng.pick(TOKENS);
                data.splice(at..at, token.iter().copied());
            }
            2 => {
                let at = rng.below(len + 1);
                let name = format!("\"{}\"", rng.pick(NAMES));
                data.splice(at..at, name.bytes());
            }
            3 if len > 0 => {
                data.truncate(rng.below(len));
            }
            4 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(64)).min(len);
                data.drain(start..end);
            }
            5 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(256)).min(len);
                let copy = data[start..end].to_vec();
                let at = rng.below(len + 1);
                data.splice(at..at, copy);
            }
            6 => {
                let other = rng.pick(seeds);
                let cut_a = rng.below(len + 1);
                let cut_b = rng.below(other.len() + 1);
                data.truncate(cut_a);
                data.extend_from_slice(&other[cut_b..]);
            }
            _ => {
                // JSON-aware: edit one line's JSON tree.
                let text = String::from_utf8_lossy(&data).into_owned();
                let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
                let at = rng.below(lines.len());
                // notification_from_parts seeds are "method\nparams": this edits the params.
                if let Ok(mut value) = serde_json::from_str::<Value>(&lines[at]) {
                    let donor = value.clone();
                    mutate_json(rng, &mut value, &donor);
                    lines[at] = value.to_string();
                    data = lines.join("\n").into_bytes();
                }
            }
        }
    }
    data.truncate(256 * 1024);
    data
}

struct Failure {
    target: &'static str,
    file: PathBuf,
    message: String,
    input: Vec<u8>,
}

fn run_one(target: &'static str, input: &[u8], failures: &mut Vec<Failure>) {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        assert!(targets::run_target(target, input), "no target {target}");
    }));
    if let Err(panic) = outcome {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default();
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fuzz-smoke-failures");
        std::fs::create_dir_all(&dir).unwrap();
        let hash = input.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
        });
        let file = dir.join(format!("{target}-{hash:016x}"));
        std::fs::write(&file, input).unwrap();
        failures.push(Failure {
            target,
            file,
            message,
            input: input.to_vec(),
        });
    }
}

fn regressions(target: &str) -> Vec<Vec<u8>> {
    let dir = repo_root().join("fuzz/regressions").join(target);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    files
        .into_iter()
        .filter(|p| p.is_file())
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn smoke(target: &'static str) {
    let seeds = targets::seeds(target, &fixtures()).expect("fixtures readable");
    assert!(seeds.len() >= 10, "{target}: only {} seeds", seeds.len());
    let mut failures = Vec::new();
    for input in regressions(target).iter().chain(&seeds) {
        run_one(target, input, &mut failures);
    }
    let iterations = env_number("FUZZ_SMOKE_ITERATIONS", 2500);
    let mut rng = Rng(env_number("FUZZ_SMOKE_SEED", 0x5eed_c0de_2024_0171) | 1);
    // Seeds as large as whole transcripts make each run slow in a debug build; mutate the
    // smaller ones more often.
    let small: Vec<Vec<u8>> = seeds.iter().filter(|s| s.len() <= 4096).cloned().collect();
    let pool = if small.is_empty() { &seeds } else { &small };
    for i in 0..iterations {
        let base = if i % 10 == 0 {
            rng.pick(&seeds)
        } else {
            rng.pick(pool)
        };
        let input = mutate(&mut rng, base, &seeds);
        run_one(target, &input, &mut failures);
    }
    if !failures.is_empty() {
        let report: Vec<String> = failures
            .iter()
            .take(5)
            .map(|f| {
                format!(
                    "  {}: {} (input saved to {}): {:?}",
                    f.target,
                    f.message,
                    f.file.display(),
                    String::from_utf8_lossy(&f.input[..f.input.len().min(600)])
                )
            })
            .collect();
        panic!(
            "{target}: {} of {} inputs failed:\n{}",
            failures.len(),
            iterations as usize + seeds.len(),
            report.join("\n")
        );
    }
}

#[test]
fn exec_decode_event_survives_the_corpus_and_mutations() {
    smoke("exec_decode_event");
}

#[test]
fn jsonrpc_parse_incoming_survives_the_corpus_and_mutations() {
    smoke("jsonrpc_parse_incoming");
}

#[test]
fn notification_from_parts_survives_the_corpus_and_mutations() {
    smoke("notification_from_parts");
}

#[test]
fn normalizer_sequence_survives_the_corpus_and_mutations() {
    smoke("normalizer_sequence");
}

#[test]
fn every_target_has_seeds_and_an_unknown_name_is_refused() {
    for target in targets::TARGETS {
        assert!(!targets::seeds(target, &fixtures()).unwrap().is_empty());
    }
    assert!(!targets::run_target("no_such_target", b""));
}

/// Found by this smoke test: an app-server item that is not a JSON object (`"item": []`,
/// `1.5`, `""`, `true`) became `ItemDetails::Unknown(<non-object>)`, and a `ThreadItem` with
/// such details cannot be serialized (`details` is flattened into the item's object), so the
/// normalized event could not be written as JSON.
#[test]
fn regression_an_item_that_is_not_an_object_still_gives_serializable_events() {
    use codexkit_protocol::app_server::{ServerNotification, TurnNormalizer};
    for item in [
        serde_json::json!([]),
        serde_json::json!(1.5),
        serde_json::json!(""),
        serde_json::json!(true),
    ] {
        for method in ["item/started", "item/completed"] {
            let notification = ServerNotification::from_parts(
                method,
                serde_json::json!({"threadId": "t", "turnId": "u", "item": item}),
            );
            for event in TurnNormalizer::new().on_notification(&notification) {
                let encoded = serde_json::to_string(&event);
                assert!(
                    encoded.is_ok(),
                    "{method} with item {item}: {event:?} does not serialize: {encoded:?}"
                );
            }
        }
    }
}

/// Found by `cargo fuzz run exec_decode_event`: a float such as `2.6666666666666666e+135` in
/// an event (here in MCP tool arguments) comes back as `2.6666666666666662e+135` when the
/// event is re-encoded, because serde_json's default float parser may be off by one unit in
/// the last place. The crate promises that re-encoding gives back what was read; serde_json's
/// `float_roundtrip` feature makes that hold.
#[test]
fn regression_floats_survive_re_encoding() {
    let line = r#"{"type":"item.started","item":{"id":"item_0","type":"mcp_tool_call","server":"host","tool":"add","arguments":{"a":2.6666666666666666e+135,"b":0.1},"status":"in_progress"}}"#;
    let event = codexkit_protocol::decode_event(line).unwrap();
    let encoded = serde_json::to_string(&event).unwrap();
    assert!(
        encoded.contains("2.6666666666666666e+135") || encoded.contains("2.6666666666666666e135"),
        "the number changed: {encoded}"
    );
    assert_eq!(codexkit_protocol::decode_event(&encoded).unwrap(), event);
}
