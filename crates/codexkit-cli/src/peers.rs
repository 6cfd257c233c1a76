//! `codexkit parity --peers`: the same scenarios through codexkit and through the official
//! SDKs, on the same pinned codex binary and the same mock model, compared record by record.
//!
//! Clients, and the client each is compared with:
//!
//! | client | drives | compared with |
//! |---|---|---|
//! | `codexkit-exec` | `codex exec` through codexkit | (the reference) |
//! | `codexkit-app-server` | `codex app-server` through codexkit | `codexkit-exec` |
//! | `ts-sdk` | `codex exec` through `@openai/codex-sdk` (`peers/ts/run.mjs`) | `codexkit-exec` |
//! | `python-sdk` | `codex app-server` through `openai-codex` (`peers/py/run.py`) | `codexkit-app-server` |
//!
//! So each peer SDK is checked against codexkit on the transport they share, and codexkit's
//! two transports against each other.
//!
//! Each run gets its own mock, `CODEX_HOME` and working directory. Its [`Record`] holds, per
//! turn, the status, error message, final response, completed items (type and the fields users
//! read), cumulative usage and whether the thread id stayed the same; and, per model request
//! the mock received, the user and assistant texts, tool outputs, image count and
//! `text.format`. Records are flattened into fields ([`fields`]); a field that differs from the
//! reference is a difference unless `peers/known-differences.txt` lists it with a reason.

use crate::fixtures::{self, Failure, Normalizer, say};
use crate::verify::VERIFICATION_FAILED;
use codexkit::binary::{CodexBinary, DiscoverySource};
use codexkit::tools::{McpApprovalMode, McpServer};
use codexkit::{Codex, CodexOptions, Error, Input, Transport, TurnOptions};
use codexkit_testkit::catalogue::{CatalogueEntry, SandboxSpec, TransportKind};
use codexkit_testkit::{HermeticCodex, MockModel, RecordedRequest};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The catalogue entries run across the clients.
pub const PEER_SCENARIOS: &[&str] = &[
    "plain_message",
    "reasoning",
    "shell_workspace_write",
    "patch_add",
    "resume",
    "output_schema",
    "image_input",
    "http_500",
    "mcp_stdio_tool",
];

/// How long one client may take for a whole scenario.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// The file of accepted differences, in the peers directory.
pub const KNOWN_DIFFERENCES: &str = "known-differences.txt";

/// One client of the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Client {
    /// codexkit on the exec transport: the reference.
    CodexkitExec,
    /// codexkit on the app-server transport.
    CodexkitAppServer,
    /// The official TypeScript SDK.
    TypeScript,
    /// The official Python SDK.
    Python,
}

impl Client {
    /// Every client, in table order.
    pub const ALL: [Client; 4] = [
        Client::CodexkitExec,
        Client::CodexkitAppServer,
        Client::TypeScript,
        Client::Python,
    ];

    /// The name used in the table and in `known-differences.txt`.
    pub fn name(self) -> &'static str {
        match self {
            Client::CodexkitExec => "codexkit-exec",
            Client::CodexkitAppServer => "codexkit-app-server",
            Client::TypeScript => "ts-sdk",
            Client::Python => "python-sdk",
        }
    }

    /// The client this one is compared with.
    pub fn reference(self) -> Option<Client> {
        match self {
            Client::CodexkitExec => None,
            Client::CodexkitAppServer | Client::TypeScript => Some(Client::CodexkitExec),
            Client::Python => Some(Client::CodexkitAppServer),
        }
    }

    fn transport(self) -> TransportKind {
        match self {
            Client::CodexkitExec | Client::TypeScript => TransportKind::Exec,
            Client::CodexkitAppServer | Client::Python => TransportKind::AppServer,
        }
    }
}

/// Where the peer SDKs are installed (`scripts/install-peers.sh`).
#[derive(Debug, Clone)]
pub struct Peers {
    dir: PathBuf,
    node: PathBuf,
    python: PathBuf,
}

impl Peers {
    /// The peers of `dir` (`peers/` of the source tree by default), checked to be installed.
    pub fn locate(dir: Option<&Path>) -> Result<Self, Failure> {
        let dir = dir.map(Path::to_path_buf).unwrap_or_else(default_peers_dir);
        let install = "run scripts/install-peers.sh to install the pinned peer SDKs";
        let node = which::which("node").map_err(|_| {
            Failure::usage(format!(
                "node is not on PATH; the TypeScript SDK needs Node.js ({install})"
            ))
        })?;
        let sdk = dir.join("ts/node_modules/@openai/codex-sdk/package.json");
        if !sdk.is_file() {
            return Err(Failure::usage(format!(
                "the TypeScript SDK is not installed ({} is missing): {install}",
                sdk.display()
            )));
        }
        let python = dir.join("py/.venv/bin/python");
        if !python.is_file() {
            return Err(Failure::usage(format!(
                "the Python SDK is not installed ({} is missing): {install}",
                python.display()
            )));
        }
        Ok(Self { dir, node, python })
    }

    /// The peers directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// `peers/` of the source tree this binary was built from.
pub fn default_peers_dir() -> PathBuf {
    let root = fixtures::default_fixtures_root().join("..").join("peers");
    std::fs::canonicalize(&root).unwrap_or(root)
}

/// What one client reported for one scenario, made comparable.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Per turn: status, error, final response, items, usage, thread id.
    pub turns: Vec<Value>,
    /// Per model request: what the mock received.
    pub requests: Vec<Value>,
}

/// The outcome of one client on one scenario.
#[derive(Debug)]
pub enum Outcome {
    /// The client ran; here is its record.
    Ran(Record),
    /// The client does not support the scenario.
    NotSupported(&'static str),
    /// The client could not be run (it crashed, timed out or printed no record).
    Broken(String),
}

/// Runs `entry` on `client` and returns its record.
pub async fn run_client(
    entry: &CatalogueEntry,
    client: Client,
    codex: &Path,
    peers: &Peers,
) -> Outcome {
    if !entry.runs_on(client.transport()) {
        return Outcome::NotSupported("the scenario does not apply to this transport");
    }
    match tokio::time::timeout(RUN_TIMEOUT, run_client_inner(entry, client, codex, peers)).await {
        Ok(Ok(record)) => Outcome::Ran(record),
        Ok(Err(message)) => Outcome::Broken(message),
        Err(_) => Outcome::Broken(format!("did not finish within {} s", RUN_TIMEOUT.as_secs())),
    }
}

async fn run_client_inner(
    entry: &CatalogueEntry,
    client: Client,
    codex: &Path,
    peers: &Peers,
) -> Result<Record, String> {
    let context = |what: &str| {
        let what = what.to_owned();
        move |e: std::io::Error| format!("{what}: {e}")
    };
    let mock = MockModel::start(entry.scenario.clone())
        .await
        .map_err(|e| format!("the mock model: {e}"))?;
    let hermetic = HermeticCodex::new(&mock).map_err(context("CODEX_HOME"))?;
    let workdir = tempfile::Builder::new()
        .prefix("codexkit-peer-work-")
        .tempdir()
        .map_err(context("the working directory"))?;
    let work = std::fs::canonicalize(workdir.path()).map_err(context("the working directory"))?;
    let scratch = tempfile::Builder::new()
        .prefix("codexkit-peer-scratch-")
        .tempdir()
        .map_err(context("a scratch directory"))?;
    let home = tempfile::Builder::new()
        .prefix("codexkit-peer-home-")
        .tempdir()
        .map_err(context("HOME"))?;
    for file in &entry.setup_files {
        let path = work.join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(context("a setup file"))?;
        }
        std::fs::write(&path, &file.contents).map_err(context("a setup file"))?;
    }
    let image = work.join(codexkit_testkit::catalogue::IMAGE_FILE_NAME);
    if entry.turns.iter().any(|t| t.image) {
        std::fs::write(&image, codexkit_testkit::catalogue::TINY_PNG)
            .map_err(context("the image"))?;
    }
    let mut servers = Vec::new();
    for spec in &entry.mcp_servers {
        let script = codexkit_testkit::StdioMcpServer::new()
            .name(spec.name.clone())
            .write_to(scratch.path())
            .map_err(context("the MCP server script"))?;
        let mut server = McpServer::stdio(spec.name.clone(), script.to_string_lossy());
        if spec.approve_all {
            server = server.with_approval(McpApprovalMode::Approve);
        }
        servers.push(server);
    }
    // The same minimal environment for every client: nothing of the caller's shell reaches
    // command output.
    let mut env = fixtures::minimal_env(home.path());
    env.extend(hermetic.env());

    let turns = match client {
        Client::CodexkitExec | Client::CodexkitAppServer => {
            run_codexkit(
                entry, client, codex, &hermetic, &work, &image, &env, servers,
            )
            .await?
        }
        Client::TypeScript | Client::Python => {
            let mut overrides: Vec<String> = hermetic
                .config_overrides()
                .into_iter()
                .map(|(key, value)| format!("{key}={value}"))
                .collect();
            for server in &servers {
                let literal = server.to_config_override().map_err(|e| e.to_string())?;
                overrides.push(literal.to_arg());
            }
            let spec = json!({
                "codex_path": codex,
                "config_overrides": overrides,
                "env": env.iter().cloned().collect::<BTreeMap<_, _>>(),
                "model": hermetic.model(),
                "workdir": work,
                "sandbox": entry.thread.sandbox.map(SandboxSpec::as_str),
                "approval_policy": entry.thread.approval_policy.map(|p| p.as_str()),
                "turns": entry.turns.iter().map(|turn| json!({
                    "prompt": turn.prompt,
                    "image": turn.image.then(|| image.clone()),
                    "output_schema": turn.output_schema,
                    "resume": turn.resume,
                })).collect::<Vec<_>>(),
            });
            run_peer(client, peers, scratch.path(), &spec).await?
        }
    };
    let requests = mock.requests();
    drop(mock);
    Ok(comparable(turns, &requests, &[&work, workdir.path()]))
}

/// Runs the entry's turns through codexkit, one record per turn.
#[allow(clippy::too_many_arguments)]
async fn run_codexkit(
    entry: &CatalogueEntry,
    client: Client,
    codex: &Path,
    hermetic: &HermeticCodex,
    work: &Path,
    image: &Path,
    env: &[(String, String)],
    servers: Vec<McpServer>,
) -> Result<Vec<Value>, String> {
    let options = CodexOptions::default()
        .with_inherit_env(false)
        .with_envs(env.iter().cloned())
        .with_config_literals(hermetic.config_overrides())
        .map_err(|e| e.to_string())?
        .with_transport(match client {
            Client::CodexkitExec => Transport::Exec,
            _ => Transport::AppServer,
        });
    let codex = Codex::with_binary(
        CodexBinary::new(codex, DiscoverySource::ExplicitPath),
        options,
    );
    let mut thread_options =
        fixtures::thread_options(entry, hermetic, work).map_err(|failure| failure.message)?;
    for server in servers {
        thread_options = thread_options.with_mcp_server(server);
    }
    let mut thread = codex.start_thread(thread_options.clone());
    let mut records = Vec::new();
    for turn in &entry.turns {
        if turn.resume
            && let Some(id) = thread.id()
        {
            thread = codex.resume_thread(id, thread_options.clone());
        }
        let mut input = Input::text(turn.prompt.clone());
        if turn.image {
            input = input.with_image(image);
        }
        let mut turn_options = TurnOptions::default().with_timeout(RUN_TIMEOUT);
        if let Some(schema) = &turn.output_schema {
            turn_options = turn_options.with_output_schema(schema.clone());
        }
        let record = match thread.run_with(input, turn_options).await {
            Ok(result) => json!({
                "thread_id": result.thread_id.map(|id| id.to_string()),
                "status": match result.status {
                    codexkit::TurnStatus::Completed => "completed",
                    _ => "interrupted",
                },
                "error": null,
                "final_response": result.final_response,
                "items": result.items.iter()
                    .filter_map(|item| serde_json::to_value(item).ok())
                    .map(|item| exec_item(&item))
                    .collect::<Vec<_>>(),
                "usage": serde_json::to_value(result.usage).ok().map(|usage| exec_usage(&usage)),
            }),
            Err(error) => json!({
                "thread_id": thread.id().map(|id| id.to_string()),
                "status": if matches!(error, Error::TurnFailed { .. }) { "failed" } else { "error" },
                "error": match &error {
                    Error::TurnFailed { message } => message.clone(),
                    other => other.to_string(),
                },
                "final_response": null,
                "items": [],
                "usage": null,
            }),
        };
        records.push(record);
    }
    Ok(records)
}

/// Runs a peer SDK's script on `spec` and reads its turns.
async fn run_peer(
    client: Client,
    peers: &Peers,
    scratch: &Path,
    spec: &Value,
) -> Result<Vec<Value>, String> {
    let spec_path = scratch.join("spec.json");
    std::fs::write(&spec_path, spec.to_string()).map_err(|e| format!("the spec file: {e}"))?;
    let (program, script) = match client {
        Client::TypeScript => (&peers.node, peers.dir.join("ts/run.mjs")),
        _ => (&peers.python, peers.dir.join("py/run.py")),
    };
    let output = tokio::process::Command::new(program)
        .arg(&script)
        .arg(&spec_path)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| format!("{} {}: {e}", program.display(), script.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail = |text: &str| {
        let start = text.len().saturating_sub(2000);
        let start = (start..text.len())
            .find(|i| text.is_char_boundary(*i))
            .unwrap_or(0);
        text[start..].trim().to_owned()
    };
    let record = stdout
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|_| output.status.success());
    match record.and_then(|r| r.get("turns").and_then(Value::as_array).cloned()) {
        Some(turns) => Ok(turns),
        None => Err(format!(
            "{} exited with {} and printed no record; stderr: {}",
            script.display(),
            output.status,
            tail(&stderr)
        )),
    }
}

/// An exec item (as codexkit's normalized vocabulary encodes it) as a record item: its type
/// and the fields users read. `peers/ts/run.mjs` does the same for the TypeScript SDK.
fn exec_item(item: &Value) -> Value {
    let field = |name: &str| item.get(name).cloned().unwrap_or(Value::Null);
    let kind = item.get("type").and_then(Value::as_str).unwrap_or("");
    match kind {
        "agent_message" | "reasoning" => json!({"type": kind, "text": field("text")}),
        "command_execution" => json!({
            "type": kind,
            "command": field("command"),
            "exit_code": field("exit_code"),
            "status": field("status"),
        }),
        "file_change" => json!({
            "type": kind,
            "status": field("status"),
            "changes": item.get("changes").and_then(Value::as_array).map(|changes| {
                changes.iter().map(|c| json!({
                    "path": c.get("path").cloned().unwrap_or(Value::Null),
                    "kind": c.get("kind").cloned().unwrap_or(Value::Null),
                })).collect::<Vec<_>>()
            }),
        }),
        "mcp_tool_call" => json!({
            "type": kind,
            "server": field("server"),
            "tool": field("tool"),
            "arguments": field("arguments"),
            "status": field("status"),
            "result": item.get("result").filter(|r| !r.is_null())
                .map(|r| Value::String(text_of(r.get("content")))),
            "error": item.get("error").and_then(|e| e.get("message")).cloned(),
        }),
        "error" => json!({"type": kind, "message": field("message")}),
        _ => json!({"type": kind}),
    }
}

fn exec_usage(usage: &Value) -> Value {
    let field = |name: &str| usage.get(name).cloned().unwrap_or(Value::Null);
    json!({
        "input_tokens": field("input_tokens"),
        "cached_input_tokens": field("cached_input_tokens"),
        "output_tokens": field("output_tokens"),
        "reasoning_output_tokens": field("reasoning_output_tokens"),
    })
}

/// The text parts of MCP content, joined.
fn text_of(content: Option<&Value>) -> String {
    content
        .and_then(Value::as_array)
        .map(|parts| {
            parts
                .iter()
                .filter(|p| p.get("type").and_then(Value::as_str) == Some("text"))
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default()
}

/// The record: thread ids become `same_thread` (whether the id is the first turn's), paths
/// and volatile values in texts become placeholders, and each model request is summarized.
pub fn comparable(turns: Vec<Value>, requests: &[RecordedRequest], workdirs: &[&Path]) -> Record {
    let mut normalizer = Normalizer::new();
    for dir in workdirs {
        normalizer.path(dir, "<workdir>");
    }
    let first_thread = turns
        .first()
        .and_then(|t| t.get("thread_id"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let turns = turns
        .into_iter()
        .map(|mut turn| {
            if let Some(map) = turn.as_object_mut() {
                let id = map.remove("thread_id");
                let same = match (&first_thread, id.as_ref().and_then(Value::as_str)) {
                    (Some(first), Some(id)) => first == id,
                    _ => false,
                };
                map.insert("same_thread".into(), Value::Bool(same));
            }
            normalize_texts(&turn, &mut normalizer)
        })
        .collect();
    let requests = requests
        .iter()
        .filter(|r| r.path.ends_with("/responses"))
        .map(|r| normalize_texts(&request_summary(r.json.as_ref()), &mut normalizer))
        .collect();
    Record { turns, requests }
}

/// Every string of `value` through the normalizer.
fn normalize_texts(value: &Value, normalizer: &mut Normalizer) -> Value {
    match value {
        Value::String(text) => Value::String(normalizer.text(text)),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| normalize_texts(v, normalizer))
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), normalize_texts(v, normalizer)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// What a client's model request says that users care about: the conversation (user and
/// assistant texts, leaving out codex's own `<…>` context blocks), tool outputs, images and
/// the requested output format.
pub fn request_summary(body: Option<&Value>) -> Value {
    let mut user = Vec::new();
    let mut assistant = Vec::new();
    let mut outputs = Vec::new();
    let mut images = 0u64;
    let input = body
        .and_then(|b| b.get("input"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for item in &input {
        let kind = item.get("type").and_then(Value::as_str).unwrap_or("");
        match kind {
            "message" => {
                let role = item.get("role").and_then(Value::as_str).unwrap_or("");
                for part in item
                    .get("content")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    match part.get("type").and_then(Value::as_str) {
                        Some("input_image") => images += 1,
                        Some("input_text" | "output_text") => {
                            let text = part.get("text").and_then(Value::as_str).unwrap_or("");
                            let trimmed = text.trim();
                            let context_block = trimmed.starts_with('<') && trimmed.ends_with('>');
                            match role {
                                "user" if !context_block => user.push(text.to_owned()),
                                "assistant" => assistant.push(text.to_owned()),
                                _ => {}
                            }
                        }
                        _ => {}
                    }
                }
            }
            "function_call_output" | "custom_tool_call_output" => {
                let output = item.get("output").cloned().unwrap_or(Value::Null);
                outputs.push(match output {
                    Value::String(text) => Value::String(text),
                    Value::Array(parts) => Value::String(
                        parts
                            .iter()
                            .filter_map(|p| p.get("text").and_then(Value::as_str))
                            .collect(),
                    ),
                    other => other,
                });
            }
            _ => {}
        }
    }
    json!({
        "user_texts": user,
        "assistant_texts": assistant,
        "tool_outputs": outputs,
        "images": images,
        "text_format": body
            .and_then(|b| b.get("text"))
            .and_then(|t| t.get("format"))
            .cloned()
            .unwrap_or(Value::Null),
    })
}

/// A record as `field → value`: `turns`, `turn<N>.<key>` for each key of a turn, `requests`,
/// `request<N>.<key>` for each key of a request summary.
pub fn fields(record: &Record) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    out.insert("turns".to_owned(), json!(record.turns.len()));
    out.insert("requests".to_owned(), json!(record.requests.len()));
    for (prefix, list) in [("turn", &record.turns), ("request", &record.requests)] {
        for (index, value) in list.iter().enumerate() {
            if let Some(map) = value.as_object() {
                for (key, value) in map {
                    out.insert(format!("{prefix}{}.{key}", index + 1), value.clone());
                }
            }
        }
    }
    out
}

/// One field whose value differs from the reference.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    /// The field (`turn1.items`).
    pub field: String,
    /// The reference's value (`null` when it has no such field).
    pub expected: Value,
    /// This client's value.
    pub actual: Value,
}

/// The fields of `actual` that differ from `reference`.
pub fn differences(reference: &Record, actual: &Record) -> Vec<Difference> {
    let expected = fields(reference);
    let actual = fields(actual);
    let mut keys: Vec<&String> = expected.keys().chain(actual.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|key| {
            let e = expected.get(key).cloned().unwrap_or(Value::Null);
            let a = actual.get(key).cloned().unwrap_or(Value::Null);
            (e != a).then(|| Difference {
                field: key.clone(),
                expected: e,
                actual: a,
            })
        })
        .collect()
}

/// One line of `known-differences.txt`: `SCENARIO CLIENT FIELD REASON…`; `*` in the first
/// three matches any run of characters.
#[derive(Debug, Clone, PartialEq)]
pub struct KnownDifference {
    /// The line number, for messages.
    pub line: usize,
    /// The scenario pattern.
    pub scenario: String,
    /// The client pattern.
    pub client: String,
    /// The field pattern.
    pub field: String,
    /// Why the difference is accepted.
    pub reason: String,
}

impl KnownDifference {
    /// Whether this line accepts `field` of `client` on `scenario`.
    pub fn covers(&self, scenario: &str, client: &str, field: &str) -> bool {
        glob(&self.scenario, scenario) && glob(&self.client, client) && glob(&self.field, field)
    }
}

/// Parses `known-differences.txt`: blank lines and `#` comments are skipped; every other line
/// needs a scenario, a client, a field and a reason.
pub fn parse_known_differences(text: &str) -> Result<Vec<KnownDifference>, String> {
    let mut out = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.splitn(4, char::is_whitespace);
        let mut next = || parts.next().map(str::trim).filter(|p| !p.is_empty());
        match (next(), next(), next(), next()) {
            (Some(scenario), Some(client), Some(field), Some(reason)) => {
                if !Client::ALL.iter().any(|c| glob(client, c.name())) {
                    return Err(format!(
                        "line {}: {client:?} matches no client (one of: {})",
                        index + 1,
                        Client::ALL.map(Client::name).join(", ")
                    ));
                }
                out.push(KnownDifference {
                    line: index + 1,
                    scenario: scenario.to_owned(),
                    client: client.to_owned(),
                    field: field.to_owned(),
                    reason: reason.trim().to_owned(),
                });
            }
            _ => {
                return Err(format!(
                    "line {}: expected `SCENARIO CLIENT FIELD REASON`, got {line:?}",
                    index + 1
                ));
            }
        }
    }
    Ok(out)
}

/// `*` matches any run of characters; everything else matches itself.
fn glob(pattern: &str, text: &str) -> bool {
    let Some((head, rest)) = pattern.split_once('*') else {
        return pattern == text;
    };
    let Some(mut remaining) = text.strip_prefix(head) else {
        return false;
    };
    let pieces: Vec<&str> = rest.split('*').collect();
    for (index, piece) in pieces.iter().enumerate() {
        let last = index == pieces.len() - 1;
        if last {
            return remaining.ends_with(piece);
        }
        match remaining.find(piece) {
            Some(at) => remaining = &remaining[at + piece.len()..],
            None => return false,
        }
    }
    true
}

/// One cell of the table.
#[derive(Debug)]
pub struct Cell {
    /// The scenario.
    pub scenario: String,
    /// The client.
    pub client: Client,
    /// What happened.
    pub verdict: Verdict,
}

/// A client's result on a scenario against its reference.
#[derive(Debug)]
pub enum Verdict {
    /// The reference itself.
    Reference,
    /// Every field equals the reference's.
    Same,
    /// Differences, each with the known-differences line that accepts it (if any).
    Differs(Vec<(Difference, Option<KnownDifference>)>),
    /// The client does not support the scenario.
    NotSupported(String),
    /// The client, or its reference, could not be run.
    Broken(String),
}

impl Verdict {
    /// Whether this cell fails the command.
    pub fn fails(&self) -> bool {
        match self {
            Verdict::Differs(list) => list.iter().any(|(_, known)| known.is_none()),
            Verdict::Broken(_) => true,
            _ => false,
        }
    }

    fn label(&self) -> String {
        match self {
            Verdict::Reference => "reference".into(),
            Verdict::Same => "same".into(),
            Verdict::Differs(list) => {
                let unknown = list.iter().filter(|(_, k)| k.is_none()).count();
                if unknown == 0 {
                    format!("same ({} known)", list.len())
                } else {
                    format!("DIFFERS ({unknown})")
                }
            }
            Verdict::NotSupported(_) => "n/a".into(),
            Verdict::Broken(_) => "BROKEN".into(),
        }
    }
}

/// Compares every client's outcome on one scenario with its reference.
pub fn judge(
    scenario: &str,
    outcomes: &BTreeMap<Client, Outcome>,
    known: &[KnownDifference],
) -> Vec<Cell> {
    Client::ALL
        .into_iter()
        .map(|client| {
            let verdict = match (outcomes.get(&client), client.reference()) {
                (None, _) => Verdict::NotSupported("not run".into()),
                (Some(Outcome::NotSupported(why)), _) => Verdict::NotSupported((*why).into()),
                (Some(Outcome::Broken(why)), _) => Verdict::Broken(why.clone()),
                (Some(Outcome::Ran(_)), None) => Verdict::Reference,
                (Some(Outcome::Ran(record)), Some(reference)) => match outcomes.get(&reference) {
                    Some(Outcome::Ran(expected)) => {
                        let list: Vec<_> = differences(expected, record)
                            .into_iter()
                            .map(|d| {
                                let line = known
                                    .iter()
                                    .find(|k| k.covers(scenario, client.name(), &d.field))
                                    .cloned();
                                (d, line)
                            })
                            .collect();
                        if list.is_empty() {
                            Verdict::Same
                        } else {
                            Verdict::Differs(list)
                        }
                    }
                    _ => Verdict::Broken(format!(
                        "its reference {} has no record for this scenario",
                        reference.name()
                    )),
                },
            };
            Cell {
                scenario: scenario.to_owned(),
                client,
                verdict,
            }
        })
        .collect()
}

/// The table and the details of every difference; returns whether any cell fails.
pub fn report(cells: &[Cell], known: &[KnownDifference]) -> bool {
    let width = cells
        .iter()
        .map(|c| c.scenario.len())
        .max()
        .unwrap_or(8)
        .max(8);
    let mut header = format!("{:<width$}", "scenario");
    for client in Client::ALL {
        header.push_str(&format!("  {:<20}", client.name()));
    }
    say!("{}", header.trim_end());
    let mut scenarios: Vec<&str> = cells.iter().map(|c| c.scenario.as_str()).collect();
    scenarios.dedup();
    for scenario in &scenarios {
        let mut row = format!("{scenario:<width$}");
        for cell in cells.iter().filter(|c| c.scenario == *scenario) {
            row.push_str(&format!("  {:<20}", cell.verdict.label()));
        }
        say!("{}", row.trim_end());
    }
    let short = |value: &Value| {
        let text = value.to_string();
        if text.chars().count() > 400 {
            format!("{}…", text.chars().take(400).collect::<String>())
        } else {
            text
        }
    };
    let mut failed = false;
    for cell in cells {
        let against = cell.client.reference().map(Client::name).unwrap_or("-");
        match &cell.verdict {
            Verdict::Differs(list) => {
                for (difference, line) in list {
                    match line {
                        Some(line) => say!(
                            "  known  {} {} {}: {} (known-differences line {})",
                            cell.scenario,
                            cell.client.name(),
                            difference.field,
                            line.reason,
                            line.line
                        ),
                        None => {
                            say!(
                                "✗ {} {} {} differs from {against}:\n    {against}: {}\n    {}: {}",
                                cell.scenario,
                                cell.client.name(),
                                difference.field,
                                short(&difference.expected),
                                cell.client.name(),
                                short(&difference.actual)
                            );
                        }
                    }
                }
            }
            Verdict::Broken(why) => {
                say!("✗ {} {}: {why}", cell.scenario, cell.client.name());
            }
            Verdict::NotSupported(why) => {
                say!("  n/a    {} {}: {why}", cell.scenario, cell.client.name());
            }
            Verdict::Reference | Verdict::Same => {}
        }
        failed |= cell.verdict.fails();
    }
    let scenarios_run: Vec<&str> = scenarios.clone();
    for line in known {
        let used = cells.iter().any(|cell| match &cell.verdict {
            Verdict::Differs(list) => list
                .iter()
                .any(|(_, k)| k.as_ref().is_some_and(|k| k.line == line.line)),
            _ => false,
        });
        let applies = scenarios_run.iter().any(|s| glob(&line.scenario, s));
        if applies && !used {
            say!(
                "  note: known-differences line {} ({} {} {}) matched nothing in this run",
                line.line,
                line.scenario,
                line.client,
                line.field
            );
        }
    }
    failed
}

/// `codexkit parity --peers`.
pub async fn run(
    codex: &Path,
    peers: &Peers,
    known_path: &Path,
    only: &[String],
) -> Result<u8, Failure> {
    let text = std::fs::read_to_string(known_path)
        .map_err(|e| Failure::usage(format!("{}: {e}", known_path.display())))?;
    let known = parse_known_differences(&text)
        .map_err(|e| Failure::usage(format!("{}: {e}", known_path.display())))?;
    let catalogue = codexkit_testkit::catalogue::catalogue();
    for name in only {
        if !PEER_SCENARIOS.contains(&name.as_str()) {
            return Err(Failure::usage(format!(
                "--only {name}: not a peer scenario (one of: {})",
                PEER_SCENARIOS.join(", ")
            )));
        }
    }
    let entries: Vec<&CatalogueEntry> = PEER_SCENARIOS
        .iter()
        .filter(|name| only.is_empty() || only.iter().any(|o| o == *name))
        .filter_map(|name| catalogue.iter().find(|e| e.name == *name))
        .collect();
    let started = std::time::Instant::now();
    let mut cells = Vec::new();
    for entry in entries {
        use futures_util::StreamExt;
        let outcomes: BTreeMap<Client, Outcome> =
            futures_util::stream::iter(Client::ALL.into_iter().map(|client| async move {
                (client, run_client(entry, client, codex, peers).await)
            }))
            .buffer_unordered(2)
            .collect()
            .await;
        eprintln!(
            "  {} ({:.1} s)",
            entry.name,
            started.elapsed().as_secs_f64()
        );
        cells.extend(judge(&entry.name, &outcomes, &known));
    }
    let failed = report(&cells, &known);
    if failed {
        say!(
            "parity --peers: differences not listed in {} (fix the client, or add a line with the reason)",
            known_path.display()
        );
        Ok(VERIFICATION_FAILED)
    } else {
        say!(
            "parity --peers: every client agrees with its reference, up to {}",
            known_path.display()
        );
        Ok(crate::exit::COMPLETED)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn record(final_response: &str, exit_code: i64) -> Record {
        Record {
            turns: vec![json!({
                "status": "completed",
                "final_response": final_response,
                "items": [{"type": "command_execution", "exit_code": exit_code}],
                "same_thread": true,
            })],
            requests: vec![json!({"user_texts": ["hi"]})],
        }
    }

    fn outcomes(reference: Record, peer: Record) -> BTreeMap<Client, Outcome> {
        BTreeMap::from([
            (Client::CodexkitExec, Outcome::Ran(reference)),
            (Client::TypeScript, Outcome::Ran(peer)),
        ])
    }

    #[test]
    fn glob_matches_runs_of_characters() {
        assert!(glob("turn*.items", "turn1.items"));
        assert!(glob("*", "anything"));
        assert!(glob("*-sdk", "ts-sdk"));
        assert!(!glob("turn*.items", "turn1.usage"));
        assert!(glob("request*.user_texts", "request2.user_texts"));
        assert!(!glob("plain", "plain_message"));
    }

    #[test]
    fn removing_a_known_difference_line_makes_the_difference_fail() {
        let text = "# comment\n\
                    plain_message ts-sdk turn1.final_response the SDK says it differently\n\
                    * ts-sdk turn*.items exit codes are reported differently\n";
        let known = parse_known_differences(text).unwrap();
        let runs = outcomes(record("hi", 0), record("hello", 1));
        let cells = judge("plain_message", &runs, &known);
        let ts = cells
            .iter()
            .find(|c| c.client == Client::TypeScript)
            .unwrap();
        assert!(!ts.verdict.fails(), "{:?}", ts.verdict);
        assert!(!report(&cells, &known));

        // Without the first line, the final response difference is no longer accepted.
        let fewer: Vec<_> = known.into_iter().skip(1).collect();
        let cells = judge("plain_message", &runs, &fewer);
        let ts = cells
            .iter()
            .find(|c| c.client == Client::TypeScript)
            .unwrap();
        match &ts.verdict {
            Verdict::Differs(list) => {
                let unlisted: Vec<_> = list
                    .iter()
                    .filter(|(_, k)| k.is_none())
                    .map(|(d, _)| d)
                    .collect();
                assert_eq!(
                    unlisted,
                    [&Difference {
                        field: "turn1.final_response".into(),
                        expected: json!("hi"),
                        actual: json!("hello"),
                    }]
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(report(&cells, &fewer));
    }

    #[test]
    fn equal_records_are_the_same_and_a_missing_reference_is_broken() {
        let cells = judge("x", &outcomes(record("a", 0), record("a", 0)), &[]);
        assert!(matches!(cells[0].verdict, Verdict::Reference));
        let ts = cells
            .iter()
            .find(|c| c.client == Client::TypeScript)
            .unwrap();
        assert!(matches!(ts.verdict, Verdict::Same));
        let lonely = BTreeMap::from([(Client::Python, Outcome::Ran(record("a", 0)))]);
        let cells = judge("x", &lonely, &[]);
        let py = cells.iter().find(|c| c.client == Client::Python).unwrap();
        assert!(py.verdict.fails(), "{:?}", py.verdict);
    }

    #[test]
    fn a_field_only_one_side_has_is_a_difference() {
        let mut longer = record("a", 0);
        longer.turns.push(json!({"status": "completed"}));
        let found = differences(&record("a", 0), &longer);
        let names: Vec<&str> = found.iter().map(|d| d.field.as_str()).collect();
        assert_eq!(names, ["turn2.status", "turns"]);
    }

    #[test]
    fn bad_known_difference_lines_are_rejected_with_their_number() {
        let err = parse_known_differences("plain_message ts-sdk\n").unwrap_err();
        assert!(err.contains("line 1"), "{err}");
        let err = parse_known_differences("x go-sdk turns because\n").unwrap_err();
        assert!(err.contains("matches no client"), "{err}");
    }

    #[test]
    fn request_summaries_keep_the_conversation_and_leave_out_context_blocks() {
        let body = json!({
            "input": [
                {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "base"}]},
                {"type": "message", "role": "user", "content": [
                    {"type": "input_text", "text": "<environment_context>x</environment_context>"}]},
                {"type": "message", "role": "user", "content": [
                    {"type": "input_text", "text": "look"}, {"type": "input_image", "image_url": "data:"}]},
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "ok"}]},
                {"type": "function_call_output", "call_id": "c", "output": "done"},
            ],
            "text": {"format": {"type": "json_schema"}},
        });
        assert_eq!(
            request_summary(Some(&body)),
            json!({
                "user_texts": ["look"],
                "assistant_texts": ["ok"],
                "tool_outputs": ["done"],
                "images": 1,
                "text_format": {"type": "json_schema"},
            })
        );
    }

    #[cfg(unix)]
    /// A peers directory whose "node" and "python" are shell scripts printing `stdout` and
    /// exiting with `code`, standing in for the SDK scripts.
    fn stand_in_peers(stdout: &str, code: i32) -> (tempfile::TempDir, Peers) {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let interpreter = dir.path().join("interpreter");
        let body = format!(
            "#!/bin/sh\n# $1 is the script, $2 the spec\ntest -f \"$2\" || exit 9\ncat <<'EOF'\n{stdout}\nEOF\necho 'stand-in stderr' >&2\nexit {code}\n"
        );
        std::fs::write(&interpreter, body).unwrap();
        std::fs::set_permissions(&interpreter, std::fs::Permissions::from_mode(0o755)).unwrap();
        let peers = Peers {
            dir: dir.path().to_path_buf(),
            node: interpreter.clone(),
            python: interpreter,
        };
        (dir, peers)
    }

    fn entry(name: &str) -> CatalogueEntry {
        codexkit_testkit::catalogue::catalogue()
            .into_iter()
            .find(|e| e.name == name)
            .unwrap()
    }

    fn pinned_codex() -> PathBuf {
        fixtures::pinned_binary(None)
            .map_err(|f| f.message)
            .expect("the pinned codex (CODEXKIT_CODEX_PATH or `codexkit install`)")
            .path
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn codexkit_on_both_transports_gives_the_same_record() {
        let codex = pinned_codex();
        let (_dir, peers) = stand_in_peers("{}", 0);
        let entry = entry("resume");
        let mut outcomes = BTreeMap::new();
        for client in [Client::CodexkitExec, Client::CodexkitAppServer] {
            outcomes.insert(client, run_client(&entry, client, &codex, &peers).await);
        }
        let Some(Outcome::Ran(record)) = outcomes.get(&Client::CodexkitExec) else {
            panic!("{outcomes:?}");
        };
        assert_eq!(record.turns.len(), 2, "{record:?}");
        assert_eq!(record.turns[1]["final_response"], "walnut", "{record:?}");
        assert_eq!(record.turns[1]["same_thread"], true, "{record:?}");
        assert_eq!(record.requests.len(), 2, "{record:?}");
        let history = &record.requests[1]["user_texts"];
        assert_eq!(
            history,
            &json!(["remember the word walnut", "what was the word?"]),
            "{record:?}"
        );
        let cells = judge("resume", &outcomes, &[]);
        assert!(matches!(cells[1].verdict, Verdict::Same), "{:?}", cells[1]);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_peer_record_is_read_and_a_peer_that_fails_is_broken() {
        let codex = pinned_codex();
        let entry = entry("plain_message");
        let record = r#"{"turns":[{"thread_id":"t","status":"completed","error":null,"final_response":"hi there","items":[],"usage":null}]}"#;
        let (_dir, peers) = stand_in_peers(record, 0);
        match run_client(&entry, Client::TypeScript, &codex, &peers).await {
            Outcome::Ran(got) => {
                assert_eq!(got.turns[0]["final_response"], "hi there");
                assert_eq!(got.turns[0]["same_thread"], true);
                // The stand-in never talked to the mock.
                assert!(got.requests.is_empty(), "{got:?}");
            }
            other => panic!("{other:?}"),
        }
        let (_dir, broken) = stand_in_peers("not json", 3);
        match run_client(&entry, Client::Python, &codex, &broken).await {
            Outcome::Broken(why) => {
                assert!(why.contains("printed no record"), "{why}");
                assert!(why.contains("stand-in stderr"), "{why}");
            }
            other => panic!("{other:?}"),
        }
        // An entry that does not apply to a transport is not run there.
        let app_server_only = codexkit_testkit::catalogue::catalogue()
            .into_iter()
            .find(|e| !e.runs_on(TransportKind::Exec))
            .unwrap();
        assert!(matches!(
            run_client(&app_server_only, Client::TypeScript, &codex, &peers).await,
            Outcome::NotSupported(_)
        ));
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn the_command_fails_on_an_unlisted_difference_and_checks_its_inputs() {
        let codex = pinned_codex();
        let (dir, peers) = stand_in_peers(r#"{"turns":[]}"#, 0);
        let known = dir.path().join(KNOWN_DIFFERENCES);
        std::fs::write(&known, "* python-sdk turn*.user_messages a reason\n").unwrap();
        let only = vec!["plain_message".to_owned()];
        let code = run(&codex, &peers, &known, &only).await.unwrap();
        assert_eq!(code, VERIFICATION_FAILED);
        let bad_only = run(&codex, &peers, &known, &["nope".to_owned()]).await;
        assert!(
            bad_only
                .unwrap_err()
                .message
                .contains("not a peer scenario")
        );
        std::fs::write(&known, "just two\n").unwrap();
        let bad_file = run(&codex, &peers, &known, &only).await;
        assert!(bad_file.unwrap_err().message.contains("line 1"));
    }

    #[test]
    fn missing_peer_sdks_name_the_install_script() {
        let dir = tempfile::tempdir().unwrap();
        let error = Peers::locate(Some(dir.path())).unwrap_err();
        assert!(
            error.message.contains("install-peers.sh"),
            "{}",
            error.message
        );
    }

    #[test]
    fn thread_ids_become_continuity_flags() {
        let turns = vec![
            json!({"thread_id": "t1", "status": "completed"}),
            json!({"thread_id": "t1", "status": "completed"}),
            json!({"thread_id": "t2", "status": "completed"}),
        ];
        let record = comparable(turns, &[], &[]);
        let flags: Vec<&Value> = record.turns.iter().map(|t| &t["same_thread"]).collect();
        assert_eq!(flags, [&json!(true), &json!(true), &json!(false)]);
    }
}
