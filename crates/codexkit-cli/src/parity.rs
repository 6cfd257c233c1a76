//! `codexkit parity`: replays every golden transcript through the decoders and the normalizer,
//! with no process, and compares SDK-level summaries.
//!
//! Sources:
//!
//! * the recorded fixtures (`fixtures/codex-<pin>/<entry>/<transport>/`): exec's raw
//!   `stdout.jsonl`; the app-server's raw JSON-RPC (`server.jsonl`, `server.status.jsonl`,
//!   `client.jsonl`); and `events.jsonl`, what the library delivered at recording time;
//! * the shared transcripts (`fixtures/transcripts/codex-<pin>/`): `exec_*.jsonl` (raw exec
//!   stdout) and `appserver_*.jsonl` (`{"dir","msg"}` logs of both directions).
//!
//! Checks, for every source:
//!
//! 1. every line decodes, and nothing the library knows decodes as `Unknown` (event types,
//!    item types, notification and server-request methods);
//! 2. decode → encode gives back the JSON that was read, and decode → encode → decode gives
//!    the same value;
//! 3. the SDK-level summary ([`summarize`]: per turn the status, final response, items by type
//!    and status, usage and error; the approvals and their decisions) equals the committed one
//!    in `fixtures/parity/` (`--update` writes them);
//! 4. for a recording, the replayed summary equals the summary of the events the library
//!    delivered (`events.jsonl`);
//! 5. when an entry was recorded on both transports, their summaries agree, except for the
//!    fields [`transport_view`] leaves out.

use crate::fixtures::{self, Failure, say};
use crate::verify::VERIFICATION_FAILED;
use clap::Args;
use codexkit::binary;
use codexkit_protocol::app_server::{
    Incoming, ServerNotification, ServerRequest, TurnNormalizer, classify,
};
use codexkit_protocol::{ItemDetails, ThreadEvent, decode_event};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

pub const EXAMPLES: &str = "\
Examples:
  codexkit parity                  # replay every recording and transcript; exit 6 on a difference
  codexkit parity --update         # write fixtures/parity/ from the current decoders (review the diff!)
  codexkit parity --fixtures DIR   # another fixtures root (with codex-<pin>/, transcripts/, parity/)
  codexkit parity --peers          # codexkit against the official TypeScript and Python SDKs (scripts/install-peers.sh first)
  codexkit parity --peers --only resume";

/// `codexkit parity`.
#[derive(Debug, Args)]
pub struct ParityArgs {
    /// The fixtures root: recordings in `codex-<pin>/`, shared transcripts in
    /// `transcripts/codex-<pin>/`, expected summaries in `parity/` (default: the source tree's).
    #[arg(long, value_name = "DIR")]
    fixtures: Option<PathBuf>,
    /// Write the expected summaries from this run instead of comparing with them.
    #[arg(long)]
    update: bool,
    /// Testing the checker: make the decoders drop every field with this name (the checker
    /// must then fail).
    #[arg(long, value_name = "FIELD", hide = true)]
    inject_decoder_fault: Option<String>,
    /// Instead of replaying recordings: run the peer scenarios through codexkit (exec and
    /// app-server) and the official TypeScript and Python SDKs on the pinned codex, and compare
    /// what each reports (install the SDKs with scripts/install-peers.sh).
    #[arg(long)]
    peers: bool,
    /// With --peers: where the peer SDKs are installed (default: peers/ of the source tree).
    #[arg(long, value_name = "DIR", requires = "peers")]
    peers_dir: Option<PathBuf>,
    /// With --peers: the accepted differences (default: known-differences.txt in the peers
    /// directory).
    #[arg(long, value_name = "FILE", requires = "peers")]
    known_differences: Option<PathBuf>,
    /// With --peers: only this scenario (repeatable).
    #[arg(long, value_name = "NAME", requires = "peers")]
    only: Vec<String>,
    /// With --peers: the codex binary (default: discovery); it must be the pinned version.
    #[arg(long, value_name = "PATH", requires = "peers")]
    codex_path: Option<PathBuf>,
}

/// Decodes with the library's decoders; with a fault, drops a field from every decoded value,
/// as a lossy decoder would.
#[derive(Debug, Clone, Default)]
pub struct Decoder {
    fault: Option<String>,
}

impl Decoder {
    /// The library's decoders, faithful.
    pub fn faithful() -> Self {
        Self::default()
    }

    /// The decoded value as a lossy decoder would return it: encoded, the fault's field
    /// removed everywhere, decoded again with `decode` (which may fall back to `Unknown`).
    fn damage<T: serde::Serialize>(&self, value: T, decode: impl Fn(Value) -> T) -> T {
        let Some(field) = &self.fault else {
            return value;
        };
        match serde_json::to_value(&value) {
            Ok(mut json) => {
                strip_key(&mut json, field);
                decode(json)
            }
            Err(_) => value,
        }
    }

    /// An exec event line.
    pub fn exec_event(&self, line: &str) -> Result<ThreadEvent, String> {
        let event = decode_event(line).map_err(|e| e.to_string())?;
        Ok(self.damage(event, |json| {
            decode_event(&json.to_string()).unwrap_or(ThreadEvent::Unknown(json))
        }))
    }

    fn notification(&self, method: &str, params: Value) -> ServerNotification {
        let decoded = ServerNotification::from_parts(method, params);
        self.damage(decoded, |json| {
            ServerNotification::from_parts(method, json.get("params").cloned().unwrap_or_default())
        })
    }

    fn request(&self, method: &str, params: Value) -> ServerRequest {
        let decoded = ServerRequest::from_parts(method, params);
        self.damage(decoded, |json| {
            ServerRequest::from_parts(method, json.get("params").cloned().unwrap_or_default())
        })
    }
}

fn strip_key(value: &mut Value, key: &str) {
    match value {
        Value::Object(map) => {
            map.remove(key);
            for inner in map.values_mut() {
                strip_key(inner, key);
            }
        }
        Value::Array(items) => {
            for item in items {
                strip_key(item, key);
            }
        }
        _ => {}
    }
}

/// The problems found in one source, at most a few of them spelled out.
#[derive(Debug, Default)]
pub struct Problems {
    shown: Vec<String>,
    total: usize,
}

impl Problems {
    const SHOWN: usize = 8;

    fn push(&mut self, problem: String) {
        self.total += 1;
        if self.shown.len() < Self::SHOWN {
            self.shown.push(problem);
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The first few, as text lines.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = self.shown.clone();
        if self.total > self.shown.len() {
            lines.push(format!("... and {} more", self.total - self.shown.len()));
        }
        lines
    }
}

/// A decoded source: its events (normalized for app-server logs), approvals and problems.
#[derive(Debug, Default)]
pub struct Replay {
    /// The events, in order.
    pub events: Vec<ThreadEvent>,
    /// `{"kind","decision"}` per approval request, in order.
    pub approvals: Vec<Value>,
    /// Decoding and round-trip problems.
    pub problems: Problems,
    /// Lines or messages read.
    pub messages: usize,
}

/// The first JSON path where two values differ, for messages.
fn first_difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    difference(a, b, path, false)
}

/// Like [`first_difference`], with `lenient_nulls`: a `null` member and an absent one are the
/// same (the app-server's typed decoders leave `None` fields out when encoding).
fn difference(a: &Value, b: &Value, path: &str, lenient_nulls: bool) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().find_map(|k| match (x.get(k), y.get(k)) {
                (Some(p), Some(q)) => difference(p, q, &format!("{path}.{k}"), lenient_nulls),
                // `null` and an absent field mean the same; typed decoders drop such nulls.
                (Some(Value::Null), None) | (None, Some(Value::Null)) if lenient_nulls => None,
                (Some(_), None) => Some(format!("{path}.{k} is lost")),
                (None, Some(_)) => Some(format!("{path}.{k} is added")),
                (None, None) => None,
            })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| difference(p, q, &format!("{path}[{i}]"), lenient_nulls)),
        _ if a == b => None,
        _ => Some(format!("{path}: {a} became {b}")),
    }
}

/// Replays exec JSONL (raw `codex exec --json` stdout, or the library's `events.jsonl`).
pub fn replay_exec(text: &str, place: &str, decoder: &Decoder) -> Replay {
    let mut replay = Replay::default();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        replay.messages += 1;
        let at = format!("{place}:{}", index + 1);
        let original: Value = match serde_json::from_str(line) {
            Ok(value) => value,
            Err(error) => {
                replay.problems.push(format!("{at}: not JSON: {error}"));
                continue;
            }
        };
        let event = match decoder.exec_event(line) {
            Ok(event) => event,
            Err(error) => {
                replay
                    .problems
                    .push(format!("{at}: does not decode: {error}"));
                continue;
            }
        };
        if let ThreadEvent::Unknown(raw) = &event {
            let kind = raw.get("type").and_then(Value::as_str).unwrap_or("?");
            replay
                .problems
                .push(format!("{at}: event type {kind:?} decoded as Unknown"));
            continue;
        }
        if let Some(item) = event.item()
            && let ItemDetails::Unknown(_) = &item.details
        {
            replay.problems.push(format!(
                "{at}: item type {:?} decoded as Unknown",
                item.kind()
            ));
        }
        check_round_trip(&event, &original, &at, &mut replay.problems, false, |v| {
            decode_event(&v.to_string()).ok()
        });
        replay.events.push(event);
    }
    replay
}

/// decode → encode equals the original; decode → encode → decode equals the decoded value.
fn check_round_trip<T: serde::Serialize + PartialEq>(
    decoded: &T,
    original: &Value,
    at: &str,
    problems: &mut Problems,
    lenient_nulls: bool,
    decode: impl Fn(&Value) -> Option<T>,
) {
    match serde_json::to_value(decoded) {
        Ok(encoded) => {
            if let Some(difference) = difference(original, &encoded, "", lenient_nulls) {
                problems.push(format!("{at}: re-encoding differs: {difference}"));
            }
            if decode(&encoded).as_ref() != Some(decoded) {
                problems.push(format!("{at}: decode → encode → decode is not stable"));
            }
        }
        Err(error) => problems.push(format!("{at}: does not encode: {error}")),
    }
}

/// One logged app-server message: whether the server sent it, and the message.
pub type Logged = (bool, Value);

/// The approval kind of a server request method (as `approval.*` events name it).
fn approval_kind(method: &str) -> Option<&'static str> {
    Some(match method {
        "item/commandExecution/requestApproval" | "execCommandApproval" => "command_execution",
        "item/fileChange/requestApproval" | "applyPatchApproval" => "file_change",
        "item/permissions/requestApproval" => "permissions",
        "mcpServer/elicitation/request" => "mcp_elicitation",
        "item/tool/requestUserInput" => "user_input",
        _ => return None,
    })
}

/// The decision in an approval answer or event: a string, or the key of a one-key object.
fn decision_name(decision: Option<&Value>) -> Value {
    match decision {
        Some(Value::String(s)) => Value::String(s.clone()),
        Some(Value::Object(map)) if map.len() == 1 => map
            .keys()
            .next()
            .cloned()
            .map_or(Value::Null, Value::String),
        Some(Value::Null) | None => Value::Null,
        Some(other) => other.clone(),
    }
}

/// Replays an app-server log: server messages are decoded and their notifications normalized
/// per thread (notifications about no thread, such as `configWarning`, reach no turn, as in the
/// library); approvals pair server requests with the client's answers by id.
pub fn replay_app_server(messages: &[Logged], place: &str, decoder: &Decoder) -> Replay {
    let mut replay = Replay::default();
    let mut normalizers: HashMap<String, TurnNormalizer> = HashMap::new();
    let mut answers: HashMap<String, Value> = HashMap::new();
    for (from_server, msg) in messages {
        if !from_server
            && msg.get("method").is_none()
            && let (Some(id), Some(result)) = (msg.get("id"), msg.get("result"))
        {
            answers.insert(id.to_string(), result.clone());
        }
    }
    let mut approvals: Vec<(String, &'static str)> = Vec::new();
    for (index, (from_server, msg)) in messages.iter().enumerate() {
        if !from_server {
            continue;
        }
        replay.messages += 1;
        let at = format!("{place}: message {}", index + 1);
        let incoming = match classify(msg.clone()) {
            Ok(incoming) => incoming,
            Err(error) => {
                replay.problems.push(format!("{at}: not JSON-RPC: {error}"));
                continue;
            }
        };
        match incoming {
            Incoming::Notification { method, params } => {
                let params = if params.is_null() { json!({}) } else { params };
                let notification = decoder.notification(&method, params.clone());
                if matches!(notification, ServerNotification::Unknown(_)) {
                    let why = if ServerNotification::KNOWN_METHODS.contains(&method.as_str()) {
                        "has an unexpected shape and decoded as Unknown"
                    } else {
                        "is not known to the library (Unknown)"
                    };
                    replay
                        .problems
                        .push(format!("{at}: notification {method} {why}"));
                    continue;
                }
                let original = json!({"method": method, "params": params});
                check_round_trip(
                    &notification,
                    &original,
                    &at,
                    &mut replay.problems,
                    true,
                    |v| serde_json::from_value(v.clone()).ok(),
                );
                check_items(&notification, &at, &mut replay.problems);
                if let Some(thread) = notification.thread_id() {
                    let events = normalizers
                        .entry(thread.to_owned())
                        .or_default()
                        .on_notification(&notification);
                    replay.events.extend(events);
                }
            }
            Incoming::Request { id, method, params } => {
                let params = if params.is_null() { json!({}) } else { params };
                let request = decoder.request(&method, params.clone());
                if matches!(request, ServerRequest::Unknown(_)) {
                    replay
                        .problems
                        .push(format!("{at}: server request {method} decoded as Unknown"));
                    continue;
                }
                let original = json!({"method": method, "params": params});
                check_round_trip(&request, &original, &at, &mut replay.problems, true, |v| {
                    serde_json::from_value(v.clone()).ok()
                });
                if let Some(kind) = approval_kind(&method) {
                    let id = serde_json::to_value(&id).unwrap_or(Value::Null).to_string();
                    approvals.push((id, kind));
                }
            }
            Incoming::Response { .. } | Incoming::Error { .. } => {}
            _ => replay
                .problems
                .push(format!("{at}: a message of no known JSON-RPC kind")),
        }
    }
    replay.approvals = approvals
        .into_iter()
        .map(|(id, kind)| {
            let answer = answers.get(&id);
            let decision = answer.and_then(|a| a.get("decision").or_else(|| a.get("action")));
            json!({"kind": kind, "decision": decision_name(decision)})
        })
        .collect();
    replay
}

/// Items inside item and turn notifications must be known.
fn check_items(notification: &ServerNotification, at: &str, problems: &mut Problems) {
    use codexkit_protocol::app_server::AppServerItem;
    let items: Vec<&AppServerItem> = match notification {
        ServerNotification::ItemStarted(p) | ServerNotification::ItemCompleted(p) => {
            vec![&p.item]
        }
        ServerNotification::TurnCompleted(p) | ServerNotification::TurnStarted(p) => {
            p.turn.items.iter().collect()
        }
        _ => Vec::new(),
    };
    for item in items {
        if let AppServerItem::Unknown(raw) = item {
            let kind = raw.get("type").and_then(Value::as_str).unwrap_or("?");
            problems.push(format!("{at}: item type {kind:?} decoded as Unknown"));
        }
    }
}

/// Approvals as the library's audit events report them.
fn approvals_from_events(events: &[ThreadEvent]) -> Vec<Value> {
    let mut out: Vec<(Value, Value)> = Vec::new();
    for event in events {
        match event {
            ThreadEvent::ApprovalRequested(request) => out.push((
                request.request_id.clone(),
                json!({"kind": request.kind, "decision": Value::Null}),
            )),
            ThreadEvent::ApprovalResolved(done)
            | ThreadEvent::ApprovalTimedOut(done)
            | ThreadEvent::ApprovalFailed(done) => {
                if let Some((_, entry)) = out.iter_mut().find(|(id, _)| *id == done.request_id) {
                    entry["decision"] = decision_name(done.decision.as_ref());
                }
            }
            _ => {}
        }
    }
    out.into_iter().map(|(_, entry)| entry).collect()
}

/// The SDK-level summary of a source: per turn its status (`completed`, `failed`,
/// `interrupted`, or `unfinished` when the source ends first), final response (the last agent
/// message), completed items counted by type and status, usage and error message; and the
/// approvals with their decisions.
pub fn summarize(events: &[ThreadEvent], approvals: &[Value]) -> Value {
    #[derive(Default)]
    struct Turn {
        items: BTreeMap<String, BTreeMap<String, u64>>,
        final_response: Option<String>,
        touched: bool,
    }
    let mut turns = Vec::new();
    let mut current = Turn::default();
    let mut finish = |current: &mut Turn, status: &str, usage: Value, error: Value| {
        let turn = std::mem::take(current);
        let items: Map<String, Value> = turn
            .items
            .into_iter()
            .map(|(kind, statuses)| (kind, json!(statuses)))
            .collect();
        turns.push(json!({
            "status": status,
            "final_response": turn.final_response,
            "items": items,
            "usage": usage,
            "error": error,
        }));
    };
    for event in events {
        match event {
            ThreadEvent::TurnStarted(_) => current.touched = true,
            ThreadEvent::ItemCompleted(completed) => {
                current.touched = true;
                let item = &completed.item;
                let status = serde_json::to_value(item)
                    .ok()
                    .and_then(|v| v.get("status").and_then(Value::as_str).map(str::to_owned))
                    .unwrap_or_else(|| "-".to_owned());
                *current
                    .items
                    .entry(item.kind().to_owned())
                    .or_default()
                    .entry(status)
                    .or_default() += 1;
                if let ItemDetails::AgentMessage(message) = &item.details {
                    current.final_response = Some(message.text.clone());
                }
            }
            ThreadEvent::TurnCompleted(done) => finish(
                &mut current,
                "completed",
                serde_json::to_value(&done.usage).unwrap_or(Value::Null),
                Value::Null,
            ),
            ThreadEvent::TurnFailed(failed) => finish(
                &mut current,
                "failed",
                Value::Null,
                Value::String(failed.error.message.clone()),
            ),
            ThreadEvent::TurnInterrupted(interrupted) => finish(
                &mut current,
                "interrupted",
                serde_json::to_value(&interrupted.usage).unwrap_or(Value::Null),
                Value::Null,
            ),
            _ => {}
        }
    }
    if current.touched {
        finish(&mut current, "unfinished", Value::Null, Value::Null);
    }
    json!({"turns": turns, "approvals": approvals})
}

/// What both transports must agree on: the turns without `error` items (warnings: exec prints
/// codex's warnings as items, the app-server sends them as `configWarning`/`warning`
/// notifications outside the turn) and without `usage` of interrupted turns; approvals are
/// left out (exec has none).
pub fn transport_view(summary: &Value) -> Value {
    let mut view = summary.clone();
    if let Some(map) = view.as_object_mut() {
        map.remove("approvals");
    }
    if let Some(turns) = view.get_mut("turns").and_then(Value::as_array_mut) {
        for turn in turns {
            if let Some(items) = turn.get_mut("items").and_then(Value::as_object_mut) {
                items.remove("error");
            }
            if turn["status"] == "interrupted"
                && let Some(map) = turn.as_object_mut()
            {
                map.remove("usage");
            }
        }
    }
    view
}

/// Reads a JSONL file of raw JSON-RPC messages.
fn read_messages(path: &Path, from_server: bool) -> Vec<Logged> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .map(|msg| (from_server, msg))
        .collect()
}

/// One replayed source and its summaries.
pub struct SourceResult {
    /// `recorded/<entry>` or `transcripts/<file stem>`.
    pub name: String,
    /// Problems found.
    pub problems: Problems,
    /// Transport (or `transcript`) → summary.
    pub summaries: BTreeMap<String, Value>,
    /// Messages read.
    pub messages: usize,
}

/// Replays one recording directory (`<entry>/`).
pub fn replay_recording(entry_dir: &Path, name: &str, decoder: &Decoder) -> SourceResult {
    let mut result = SourceResult {
        name: format!("recorded/{name}"),
        problems: Problems::default(),
        summaries: BTreeMap::new(),
        messages: 0,
    };
    for transport in ["exec", "app-server"] {
        let dir = entry_dir.join(transport);
        if !dir.is_dir() {
            continue;
        }
        let place = format!("{name}/{transport}");
        let delivered_text = std::fs::read_to_string(dir.join("events.jsonl")).unwrap_or_default();
        let delivered = replay_exec(
            &delivered_text,
            &format!("{place}/events.jsonl"),
            &Decoder::faithful(),
        );
        let replay = if transport == "exec" {
            let stdout = std::fs::read_to_string(dir.join("stdout.jsonl")).unwrap_or_default();
            replay_exec(&stdout, &format!("{place}/stdout.jsonl"), decoder)
        } else {
            let mut messages = read_messages(&dir.join("server.jsonl"), true);
            messages.extend(read_messages(&dir.join("server.status.jsonl"), true));
            messages.extend(read_messages(&dir.join("client.jsonl"), false));
            replay_app_server(&messages, &place, decoder)
        };
        result.messages += replay.messages + delivered.messages;
        for line in delivered
            .problems
            .lines()
            .into_iter()
            .chain(replay.problems.lines())
        {
            result.problems.push(line);
        }
        let summary = summarize(&replay.events, &replay.approvals);
        let delivered_summary =
            summarize(&delivered.events, &approvals_from_events(&delivered.events));
        if let Some(difference) = first_difference(&delivered_summary, &summary, "summary") {
            result.problems.push(format!(
                "{place}: the replayed raw traffic and the events the library delivered \
                 disagree: {difference}"
            ));
        }
        result.summaries.insert(transport.to_owned(), summary);
    }
    if let (Some(exec), Some(app)) = (
        result.summaries.get("exec"),
        result.summaries.get("app-server"),
    ) && let Some(difference) =
        first_difference(&transport_view(exec), &transport_view(app), "summary")
    {
        result.problems.push(format!(
            "{name}: exec and app-server disagree: {difference} (exec → app-server)"
        ));
    }
    result
}

/// Replays one shared transcript file.
pub fn replay_transcript(path: &Path, decoder: &Decoder) -> SourceResult {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let replay = if stem.starts_with("appserver_") {
        let messages: Vec<Logged> = text
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .map(|record| {
                (
                    record.get("dir").and_then(Value::as_str) == Some("server->client"),
                    record.get("msg").cloned().unwrap_or(Value::Null),
                )
            })
            .collect();
        replay_app_server(&messages, &stem, decoder)
    } else {
        replay_exec(&text, &stem, decoder)
    };
    let mut summaries = BTreeMap::new();
    summaries.insert(
        "transcript".to_owned(),
        summarize(&replay.events, &replay.approvals),
    );
    SourceResult {
        name: format!("transcripts/{stem}"),
        problems: replay.problems,
        summaries,
        messages: replay.messages,
    }
}

/// Replays every recording under `recordings` (entries with a `MANIFEST`-listed layout).
pub fn replay_recordings(recordings: &Path, decoder: &Decoder) -> Vec<SourceResult> {
    let mut names: Vec<String> = std::fs::read_dir(recordings)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
        .iter()
        .map(|name| replay_recording(&recordings.join(name), name, decoder))
        .collect()
}

/// Replays every `*.jsonl` transcript in `dir`.
pub fn replay_transcripts(dir: &Path, decoder: &Decoder) -> Vec<SourceResult> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
        .iter()
        .map(|path| replay_transcript(path, decoder))
        .collect()
}

/// `codexkit parity`.
pub async fn parity(args: ParityArgs) -> u8 {
    let result = if args.peers {
        run_peers(&args).await
    } else {
        run(&args)
    };
    match result {
        Ok(code) => code,
        Err(failure) => failure.report(),
    }
}

async fn run_peers(args: &ParityArgs) -> Result<u8, Failure> {
    if args.update || args.fixtures.is_some() {
        return Err(Failure::usage(
            "--peers compares live runs; --update and --fixtures do not apply to it",
        ));
    }
    let peers = crate::peers::Peers::locate(args.peers_dir.as_deref())?;
    let known = args
        .known_differences
        .clone()
        .unwrap_or_else(|| peers.dir().join(crate::peers::KNOWN_DIFFERENCES));
    let codex = fixtures::pinned_binary(args.codex_path.as_deref())?;
    crate::peers::run(&codex.path, &peers, &known, &args.only).await
}

fn run(args: &ParityArgs) -> Result<u8, Failure> {
    let root = args
        .fixtures
        .clone()
        .unwrap_or_else(fixtures::default_fixtures_root);
    let pin = binary::PINNED_VERSION;
    let recordings = root.join(format!("codex-{pin}"));
    let transcripts = root.join("transcripts").join(format!("codex-{pin}"));
    let expected_dir = root.join("parity");
    for dir in [&recordings, &transcripts] {
        if !dir.is_dir() {
            return Err(Failure::usage(format!(
                "{} is not a directory",
                dir.display()
            )));
        }
    }
    let decoder = Decoder {
        fault: args.inject_decoder_fault.clone(),
    };
    let mut results = replay_recordings(&recordings, &decoder);
    results.extend(replay_transcripts(&transcripts, &decoder));

    let mut failed = 0usize;
    let mut messages = 0usize;
    for result in &mut results {
        messages += result.messages;
        let path = expected_dir.join(format!("{}.json", result.name));
        let actual = fixtures::sorted(&json!(result.summaries));
        if args.update {
            let text = serde_json::to_string_pretty(&actual)
                .map_err(|e| Failure::failed(e.to_string()))?;
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| Failure::failed(format!("{}: {e}", parent.display())))?;
            }
            std::fs::write(&path, text + "\n")
                .map_err(|e| Failure::failed(format!("{}: {e}", path.display())))?;
        } else {
            match std::fs::read_to_string(&path)
                .ok()
                .and_then(|text| serde_json::from_str::<Value>(&text).ok())
            {
                None => result.problems.push(format!(
                    "no expected summary at {} (run `codexkit parity --update` and review it)",
                    path.display()
                )),
                Some(expected) => {
                    if let Some(difference) = first_difference(&expected, &actual, "") {
                        result.problems.push(format!(
                            "the summary differs from {}: {difference} (expected → now)",
                            path.display()
                        ));
                    }
                }
            }
        }
        if result.problems.is_empty() {
            say!("✓ {}", result.name);
        } else {
            failed += 1;
            say!("✗ {}", result.name);
            for line in result.problems.lines() {
                say!("    {line}");
            }
        }
    }
    if !args.update {
        let stale: Vec<String> = fixtures::list_files(&expected_dir)
            .into_iter()
            .filter(|p| !results.iter().any(|r| format!("{}.json", r.name) == *p))
            .collect();
        for path in &stale {
            failed += 1;
            say!("✗ {path}: an expected summary with no source (remove it)");
        }
    }
    say!(
        "parity: {} sources, {messages} messages replayed, {failed} failed{}",
        results.len(),
        if args.update {
            format!("; expected summaries written to {}", expected_dir.display())
        } else {
            String::new()
        }
    );
    Ok(if failed == 0 {
        crate::exit::COMPLETED
    } else {
        VERIFICATION_FAILED
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const LINES: &str = concat!(
        r#"{"type":"thread.started","thread_id":"t"}"#,
        "\n",
        r#"{"type":"turn.started"}"#,
        "\n",
        r#"{"type":"item.completed","item":{"id":"item_0","type":"agent_message","text":"hi"}}"#,
        "\n",
        r#"{"type":"turn.completed","usage":{"input_tokens":1,"cached_input_tokens":0,"cache_write_input_tokens":0,"output_tokens":2,"reasoning_output_tokens":0}}"#,
        "\n"
    );

    #[test]
    fn a_faithful_decoder_passes_and_summarizes() {
        let replay = replay_exec(LINES, "x", &Decoder::faithful());
        assert!(replay.problems.is_empty(), "{:?}", replay.problems.lines());
        let summary = summarize(&replay.events, &[]);
        assert_eq!(summary["turns"][0]["final_response"], "hi");
        assert_eq!(summary["turns"][0]["items"]["agent_message"]["-"], 1);
        assert_eq!(summary["turns"][0]["usage"]["output_tokens"], 2);
    }

    #[test]
    fn a_decoder_that_drops_a_field_is_caught() {
        let decoder = Decoder {
            fault: Some("text".into()),
        };
        let replay = replay_exec(LINES, "x", &decoder);
        let problems = replay.problems.lines().join("\n");
        assert!(problems.contains("x:3"), "{problems}");
        let faithful = replay_exec(LINES, "x", &Decoder::faithful());
        assert_ne!(
            summarize(&replay.events, &[]),
            summarize(&faithful.events, &[])
        );
    }

    #[test]
    fn unknown_types_are_problems() {
        let replay = replay_exec(r#"{"type":"turn.paused"}"#, "x", &Decoder::faithful());
        assert_eq!(replay.problems.lines().len(), 1);
    }
}
