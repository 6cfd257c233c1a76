//! The scenario catalogue: named end-to-end situations for the real codex binary, as plain data.
//!
//! Each [`CatalogueEntry`] is one situation an SDK has to get right: a plain answer, a shell
//! command in each sandbox, a patch, an approval answered one way or another, an HTTP error, a
//! cut stream… It holds everything needed to replay it without code:
//!
//! * the [`Scenario`] the mock model answers with;
//! * the transports it applies to ([`TransportKind`]): some situations exist only on the
//!   app-server (approvals, interrupt, streamed deltas);
//! * the thread options ([`ThreadSpec`]): sandbox, approval policy, the approval decisions in
//!   the order the requests arrive ([`ApprovalStep`]) and the approval deadline;
//! * the turns ([`TurnSpec`]): prompt, image, output schema, resume in a new thread object,
//!   interrupt at the first delta;
//! * files to create in the working directory first ([`SetupFile`]), host tools
//!   ([`HostToolSpec`]) and stdio MCP servers ([`McpServerSpec`]) the agent may call.
//!
//! The catalogue knows nothing about codexkit itself (this crate does not depend on it): the
//! `codexkit fixtures record` command turns each entry into library calls, records what
//! happened and keeps the recordings as golden files. Entries serialize to JSON
//! ([`CatalogueEntry::canonical_json`] is stable, sorted and compact), so a recording can name
//! the exact definition it was made from, and `codexkit fixtures` can take a catalogue from a
//! JSON file (`--scenarios FILE`) instead of [`catalogue`].
//!
//! ```
//! let entries = codexkit_testkit::catalogue::catalogue();
//! let plain = entries.iter().find(|e| e.name == "plain_message").unwrap();
//! assert_eq!(plain.turns[0].prompt, "say hi");
//! assert!(plain.canonical_json().starts_with('{'));
//! ```

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::scenario::{MockResponse, OutputItem, Scenario, usage};

/// A 1×1 red PNG: the image attached by turns with [`TurnSpec::image`].
pub const TINY_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53,
    0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0x00,
    0x00, 0x03, 0x01, 0x01, 0x00, 0xc9, 0xfe, 0x92, 0xef, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e,
    0x44, 0xae, 0x42, 0x60, 0x82,
];

/// The file name the image of a [`TurnSpec::image`] turn gets in the working directory.
pub const IMAGE_FILE_NAME: &str = "image.png";

/// How the SDK talks to codex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum TransportKind {
    /// One `codex exec --json` process per turn.
    Exec,
    /// One `codex app-server` process (JSON-RPC over stdio) per client.
    AppServer,
}

impl TransportKind {
    /// Both transports, exec first.
    pub const ALL: [TransportKind; 2] = [TransportKind::Exec, TransportKind::AppServer];

    /// `exec` or `app-server`: the name used in file paths and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Exec => "exec",
            Self::AppServer => "app-server",
        }
    }
}

impl std::fmt::Display for TransportKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The sandbox of the commands the agent runs (codex's `--sandbox`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum SandboxSpec {
    /// `read-only`.
    ReadOnly,
    /// `workspace-write`.
    WorkspaceWrite,
    /// `danger-full-access`.
    DangerFullAccess,
}

impl SandboxSpec {
    /// The name codex uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReadOnly => "read-only",
            Self::WorkspaceWrite => "workspace-write",
            Self::DangerFullAccess => "danger-full-access",
        }
    }
}

/// When codex asks before acting (codex's `approval_policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ApprovalPolicySpec {
    /// `never`: codex never asks.
    Never,
    /// `on-request`: the model may ask for escalation.
    OnRequest,
    /// `untrusted`: anything but known-safe commands needs approval.
    Untrusted,
}

impl ApprovalPolicySpec {
    /// The name codex uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Never => "never",
            Self::OnRequest => "on-request",
            Self::Untrusted => "untrusted",
        }
    }
}

/// How one approval request is answered, in the order requests arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ApprovalStep {
    /// Allow it.
    Accept,
    /// Refuse it; the turn goes on.
    Decline,
    /// Refuse it and stop the turn.
    Cancel,
    /// Never answer: the approver's deadline ([`ThreadSpec::approval_timeout_ms`]) decides.
    NoAnswer,
}

/// The thread options of an entry, as plain data.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ThreadSpec {
    /// The sandbox; `None` keeps codex's default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<SandboxSpec>,
    /// The approval policy; `None` keeps codex's default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_policy: Option<ApprovalPolicySpec>,
    /// The answers to approval requests, in arrival order. Requests beyond the script are
    /// declined.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<ApprovalStep>,
    /// The approver's deadline in milliseconds; `None` keeps the SDK's default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_timeout_ms: Option<u64>,
}

/// One turn of an entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct TurnSpec {
    /// The prompt.
    pub prompt: String,
    /// Attach [`TINY_PNG`] (written to the working directory as [`IMAGE_FILE_NAME`]).
    #[serde(skip_serializing_if = "is_false")]
    pub image: bool,
    /// Ask for a structured answer with this JSON Schema.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<Value>,
    /// Run this turn on a new thread object that resumes the thread of the previous turn (as a
    /// later process would).
    #[serde(skip_serializing_if = "is_false")]
    pub resume: bool,
    /// Interrupt the turn as soon as the first agent-message delta arrives (app-server).
    #[serde(skip_serializing_if = "is_false")]
    pub interrupt_after_first_delta: bool,
}

impl TurnSpec {
    /// A turn with this prompt and nothing else.
    pub fn prompt(prompt: impl Into<String>) -> Self {
        Self {
            prompt: prompt.into(),
            ..Self::default()
        }
    }
}

/// A file written into the working directory before the first turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SetupFile {
    /// The path, relative to the working directory.
    pub path: String,
    /// The contents.
    pub contents: String,
}

/// A host tool (a function of the SDK's process) offered to the agent; its answer is scripted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct HostToolSpec {
    /// The tool name.
    pub name: String,
    /// The description shown to the model.
    pub description: String,
    /// The JSON Schema of the arguments.
    pub input_schema: Value,
    /// The text the tool answers with, whatever the arguments.
    pub output: String,
}

/// A stdio MCP server attached to the thread: the testkit's [`crate::StdioMcpServer`] script
/// (tools `add` and `fail`), written next to the recording and started by codex.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct McpServerSpec {
    /// The server name; the model calls its tools in namespace `mcp__<name>`.
    pub name: String,
    /// Run every tool without asking (`default_tools_approval_mode = "approve"`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub approve_all: bool,
}

/// One named situation (see the [module docs](self)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CatalogueEntry {
    /// A unique name: lowercase letters, digits and `_` (used as a directory name).
    pub name: String,
    /// What the entry shows, in one sentence.
    pub description: String,
    /// The transports it is run on.
    pub transports: Vec<TransportKind>,
    /// The mock model's answers.
    pub scenario: Scenario,
    /// Thread options.
    #[serde(default)]
    pub thread: ThreadSpec,
    /// The turns, in order.
    pub turns: Vec<TurnSpec>,
    /// Files to create in the working directory first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub setup_files: Vec<SetupFile>,
    /// Host tools offered to the agent (hook for the SDK's tool support).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub host_tools: Vec<HostToolSpec>,
    /// Stdio MCP servers attached to the thread.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mcp_servers: Vec<McpServerSpec>,
}

impl CatalogueEntry {
    /// An entry with one turn and default thread options.
    pub fn new(
        name: impl Into<String>,
        description: impl Into<String>,
        transports: &[TransportKind],
        scenario: Scenario,
        prompt: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            description: description.into(),
            transports: transports.to_vec(),
            scenario,
            thread: ThreadSpec::default(),
            turns: vec![TurnSpec::prompt(prompt)],
            setup_files: Vec::new(),
            host_tools: Vec::new(),
            mcp_servers: Vec::new(),
        }
    }

    /// Sets the sandbox.
    pub fn sandbox(mut self, sandbox: SandboxSpec) -> Self {
        self.thread.sandbox = Some(sandbox);
        self
    }

    /// Sets the approval policy.
    pub fn approval_policy(mut self, policy: ApprovalPolicySpec) -> Self {
        self.thread.approval_policy = Some(policy);
        self
    }

    /// Sets the approval script and, optionally, the approver's deadline.
    pub fn approvals(mut self, steps: &[ApprovalStep], timeout_ms: Option<u64>) -> Self {
        self.thread.approvals = steps.to_vec();
        self.thread.approval_timeout_ms = timeout_ms;
        self
    }

    /// Replaces the last turn.
    pub fn with_last_turn(mut self, edit: impl FnOnce(&mut TurnSpec)) -> Self {
        if let Some(turn) = self.turns.last_mut() {
            edit(turn);
        }
        self
    }

    /// Appends a turn.
    pub fn turn(mut self, turn: TurnSpec) -> Self {
        self.turns.push(turn);
        self
    }

    /// Adds a file to create in the working directory.
    pub fn setup_file(mut self, path: impl Into<String>, contents: impl Into<String>) -> Self {
        self.setup_files.push(SetupFile {
            path: path.into(),
            contents: contents.into(),
        });
        self
    }

    /// Adds a host tool.
    pub fn host_tool(mut self, tool: HostToolSpec) -> Self {
        self.host_tools.push(tool);
        self
    }

    /// Attaches a stdio MCP server.
    pub fn mcp_server(mut self, server: McpServerSpec) -> Self {
        self.mcp_servers.push(server);
        self
    }

    /// Whether the entry runs on this transport.
    pub fn runs_on(&self, transport: TransportKind) -> bool {
        self.transports.contains(&transport)
    }

    /// The definition as JSON.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The definition as canonical JSON: object keys sorted, no whitespace. Two equal
    /// definitions give the same bytes, so a hash of it names the definition.
    pub fn canonical_json(&self) -> String {
        canonical_json(&self.to_value())
    }
}

/// `value` as compact JSON with the keys of every object sorted.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (index, key) in keys.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*key).clone()).to_string());
                out.push(':');
                if let Some(inner) = map.get(*key) {
                    write_canonical(inner, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// Checks names and combinations a JSON catalogue could get wrong: unique names made of
/// `[a-z0-9_]`, at least one transport and one turn, app-server-only features only on the
/// app-server, a valid scenario.
pub fn validate(entries: &[CatalogueEntry]) -> Result<(), String> {
    let mut seen = std::collections::BTreeSet::new();
    for entry in entries {
        let name = &entry.name;
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(format!(
                "entry name {name:?} must be made of lowercase letters, digits and `_`"
            ));
        }
        if !seen.insert(name.clone()) {
            return Err(format!("entry name {name:?} is used twice"));
        }
        if entry.transports.is_empty() {
            return Err(format!("entry {name}: no transport"));
        }
        if entry.turns.is_empty() {
            return Err(format!("entry {name}: no turn"));
        }
        if entry.turns.first().is_some_and(|t| t.resume) {
            return Err(format!(
                "entry {name}: the first turn has no earlier thread to resume"
            ));
        }
        let app_server_only = !entry.thread.approvals.is_empty()
            || entry.turns.iter().any(|t| t.interrupt_after_first_delta);
        if app_server_only && entry.runs_on(TransportKind::Exec) {
            return Err(format!(
                "entry {name}: approvals and interrupts exist on the app-server transport only"
            ));
        }
        for file in &entry.setup_files {
            let path = std::path::Path::new(&file.path);
            if path.is_absolute()
                || path
                    .components()
                    .any(|c| matches!(c, std::path::Component::ParentDir))
            {
                return Err(format!(
                    "entry {name}: setup file {:?} must stay inside the working directory",
                    file.path
                ));
            }
        }
        entry
            .scenario
            .validate()
            .map_err(|e| format!("entry {name}: {e}"))?;
    }
    Ok(())
}

const BOTH: &[TransportKind] = &TransportKind::ALL;
const APP_SERVER: &[TransportKind] = &[TransportKind::AppServer];
const EXEC: &[TransportKind] = &[TransportKind::Exec];

/// A scenario with provider retries off: failures are immediate and deterministic.
fn scenario() -> Scenario {
    Scenario::new().retries(0)
}

fn shell(name: &str, sandbox: SandboxSpec, command: &str, description: &str) -> CatalogueEntry {
    CatalogueEntry::new(
        name,
        description,
        BOTH,
        scenario()
            .response(
                MockResponse::output([OutputItem::exec_command(command)])
                    .with_usage(usage(100, 0, 10, 0)),
            )
            .response(
                MockResponse::message("the command said: {{last_output}}")
                    .with_usage(usage(150, 100, 20, 0)),
            ),
        "run the command",
    )
    .sandbox(sandbox)
    .approval_policy(ApprovalPolicySpec::Never)
}

fn patch(name: &str, sandbox: SandboxSpec, patch: &str, description: &str) -> CatalogueEntry {
    CatalogueEntry::new(
        name,
        description,
        BOTH,
        scenario()
            .response(MockResponse::output([OutputItem::apply_patch(patch)]))
            .response(MockResponse::message("patched: {{last_output}}")),
        "change the files",
    )
    .sandbox(sandbox)
    .approval_policy(ApprovalPolicySpec::Never)
}

fn approval(name: &str, steps: &[ApprovalStep], timeout_ms: Option<u64>) -> CatalogueEntry {
    CatalogueEntry::new(
        name,
        "a command under the untrusted policy needs approval; the approver answers as scripted",
        APP_SERVER,
        scenario()
            .response(MockResponse::output([OutputItem::exec_command(
                "touch approved.txt && echo touched",
            )]))
            .response(MockResponse::message("after the command: {{last_output}}")),
        "touch the file",
    )
    .sandbox(SandboxSpec::WorkspaceWrite)
    .approval_policy(ApprovalPolicySpec::Untrusted)
    .approvals(steps, timeout_ms)
}

fn http_error(name: &str, status: u16, body: &str) -> CatalogueEntry {
    CatalogueEntry::new(
        name,
        format!("the model answers HTTP {status}; with retries off the turn fails at once"),
        BOTH,
        scenario().response(MockResponse::http_error(status, body)),
        "say hi",
    )
}

/// The built-in catalogue, in a stable order.
pub fn catalogue() -> Vec<CatalogueEntry> {
    let schema = json!({
        "type": "object",
        "properties": {"answer": {"type": "string"}},
        "required": ["answer"],
        "additionalProperties": false
    });
    vec![
        CatalogueEntry::new(
            "plain_message",
            "one assistant message with usage",
            BOTH,
            scenario()
                .response(MockResponse::message("hi there").with_usage(usage(100, 10, 20, 5))),
            "say hi",
        )
        .approval_policy(ApprovalPolicySpec::Never),
        CatalogueEntry::new(
            "reasoning",
            "a reasoning summary then a message, streamed (deltas on the app-server)",
            BOTH,
            scenario().response(
                MockResponse::output([
                    OutputItem::reasoning("**Planning** the answer"),
                    OutputItem::message("Hello streamed world"),
                ])
                .streamed()
                .with_usage(usage(120, 0, 30, 12)),
            ),
            "think, then answer",
        )
        .approval_policy(ApprovalPolicySpec::Never),
        shell(
            "shell_read_only",
            SandboxSpec::ReadOnly,
            "sleep 0.3; echo data > created.txt",
            "a write under the read-only sandbox fails; the turn completes",
        ),
        shell(
            "shell_workspace_write",
            SandboxSpec::WorkspaceWrite,
            "echo data > created.txt && cat created.txt",
            "a write inside the workspace succeeds",
        ),
        shell(
            "shell_danger_full_access",
            SandboxSpec::DangerFullAccess,
            "echo full > full.txt && cat full.txt",
            "a command with no sandbox",
        ),
        patch(
            "patch_add",
            SandboxSpec::WorkspaceWrite,
            "*** Begin Patch\n*** Add File: hello.txt\n+hello world\n*** End Patch\n",
            "apply_patch adds a file",
        ),
        patch(
            "patch_update",
            SandboxSpec::WorkspaceWrite,
            "*** Begin Patch\n*** Update File: notes.txt\n@@\n-one\n+uno\n two\n*** End Patch\n",
            "apply_patch updates a file",
        )
        .setup_file("notes.txt", "one\ntwo\n"),
        patch(
            "patch_delete",
            SandboxSpec::WorkspaceWrite,
            "*** Begin Patch\n*** Delete File: old.txt\n*** End Patch\n",
            "apply_patch deletes a file",
        )
        .setup_file("old.txt", "obsolete\n"),
        patch(
            "patch_read_only_rejected",
            SandboxSpec::ReadOnly,
            "*** Begin Patch\n*** Add File: denied.txt\n+no\n*** End Patch\n",
            "apply_patch under the read-only sandbox with approvals off is rejected",
        ),
        CatalogueEntry::new(
            "output_schema",
            "a structured answer: the schema reaches the request as text.format",
            BOTH,
            scenario().response(MockResponse::message(r#"{"answer":"42"}"#)),
            "answer as JSON",
        )
        .approval_policy(ApprovalPolicySpec::Never)
        .with_last_turn(|turn| turn.output_schema = Some(schema.clone())),
        CatalogueEntry::new(
            "image_input",
            "an attached image reaches the request as input_image",
            BOTH,
            scenario().response(MockResponse::message("a red dot")),
            "describe the image",
        )
        .approval_policy(ApprovalPolicySpec::Never)
        .with_last_turn(|turn| turn.image = true),
        CatalogueEntry::new(
            "resume",
            "a second turn on a resumed thread carries the history; usage is cumulative",
            BOTH,
            scenario()
                .response(MockResponse::message("first answer").with_usage(usage(100, 0, 20, 0)))
                .response(MockResponse::message("walnut").with_usage(usage(150, 100, 5, 0))),
            "remember the word walnut",
        )
        .approval_policy(ApprovalPolicySpec::Never)
        .turn(TurnSpec {
            prompt: "what was the word?".into(),
            resume: true,
            ..TurnSpec::default()
        }),
        CatalogueEntry::new(
            "interrupt",
            "the stream hangs after the first delta; turn/interrupt ends the turn as interrupted",
            APP_SERVER,
            scenario().response(
                MockResponse::message("one two three four")
                    .streamed()
                    .hang_after(4),
            ),
            "talk",
        )
        .approval_policy(ApprovalPolicySpec::Never)
        .with_last_turn(|turn| turn.interrupt_after_first_delta = true),
        approval("approval_accept", &[ApprovalStep::Accept], None),
        approval("approval_decline", &[ApprovalStep::Decline], None),
        approval("approval_cancel", &[ApprovalStep::Cancel], None),
        approval("approval_timeout", &[ApprovalStep::NoAnswer], Some(1000)),
        http_error("http_500", 500, "internal boom"),
        http_error(
            "http_429",
            429,
            r#"{"error":{"type":"rate_limit_exceeded","message":"slow down"}}"#,
        ),
        http_error(
            "http_401",
            401,
            r#"{"error":{"type":"invalid_request_error","code":"invalid_api_key","message":"Incorrect API key provided"}}"#,
        ),
        CatalogueEntry::new(
            "stream_truncated",
            "the SSE stream ends before response.completed; with retries off the turn fails",
            BOTH,
            scenario().response(MockResponse::message("partial").cut_after(2)),
            "say hi",
        ),
        CatalogueEntry::new(
            "context_length_exceeded",
            "response.failed with context_length_exceeded fails the turn with codex's message",
            BOTH,
            scenario().response(MockResponse::sse([
                json!({"type": "response.created", "response": {"id": "resp_1"}}),
                json!({"type": "response.failed", "response": {"id": "resp_1", "error": {
                    "code": "context_length_exceeded",
                    "message": "Your input exceeds the context window of this model."}}}),
            ])),
            "say hi",
        ),
    ]
    .into_iter()
    .chain(tool_entries())
    .collect()
}

/// Entries for tools the SDK hosts. On exec, host tools are served to codex as the MCP server
/// `codexkit` (the model calls namespace `mcp__codexkit`); on the app-server they are dynamic
/// tools called by their bare name. The model's call differs, so there is one entry per
/// transport.
fn tool_entries() -> Vec<CatalogueEntry> {
    let add = HostToolSpec {
        name: "add".into(),
        description: "Adds two integers".into(),
        input_schema: json!({
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"]
        }),
        output: "5".into(),
    };
    let answer = || MockResponse::message("the tool said: {{last_output}}");
    vec![
        CatalogueEntry::new(
            "host_tool_exec",
            "a host tool served over MCP to codex exec",
            EXEC,
            scenario()
                .response(MockResponse::output([OutputItem::namespaced_tool(
                    "mcp__codexkit",
                    "add",
                    json!({"a": 2, "b": 3}),
                )]))
                .response(answer()),
            "add 2 and 3 with the tool",
        )
        .approval_policy(ApprovalPolicySpec::Never)
        .host_tool(add.clone()),
        CatalogueEntry::new(
            "host_tool_app_server",
            "a host tool offered as a dynamic tool on the app-server",
            APP_SERVER,
            scenario()
                .response(MockResponse::output([OutputItem::tool(
                    "add",
                    json!({"a": 2, "b": 3}),
                )]))
                .response(answer()),
            "add 2 and 3 with the tool",
        )
        .approval_policy(ApprovalPolicySpec::Never)
        .host_tool(add),
        CatalogueEntry::new(
            "mcp_stdio_tool",
            "a tool of a stdio MCP server the thread attaches (the testkit's calc server)",
            BOTH,
            scenario()
                .response(MockResponse::output([OutputItem::namespaced_tool(
                    "mcp__calc",
                    "add",
                    json!({"a": 2, "b": 3}),
                )]))
                .response(MockResponse::message("the server said: {{last_output}}")),
            "add 2 and 3 with the calc server",
        )
        .approval_policy(ApprovalPolicySpec::Never)
        .mcp_server(McpServerSpec {
            name: "calc".into(),
            approve_all: true,
        }),
    ]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn the_builtin_catalogue_is_valid_and_round_trips_through_json() {
        let entries = catalogue();
        validate(&entries).unwrap();
        for entry in &entries {
            let text = entry.canonical_json();
            let back: CatalogueEntry = serde_json::from_str(&text).unwrap();
            assert_eq!(&back, entry);
            assert_eq!(back.canonical_json(), text);
        }
    }

    #[test]
    fn canonical_json_sorts_keys() {
        let value = json!({"b": [{"z": 1, "a": 2}], "a": "x"});
        assert_eq!(canonical_json(&value), r#"{"a":"x","b":[{"a":2,"z":1}]}"#);
    }

    #[test]
    fn validation_names_the_problem() {
        let mut entries = catalogue();
        entries.push(entries[0].clone());
        assert!(validate(&entries).unwrap_err().contains("used twice"));
        let bad = approval("x", &[ApprovalStep::Accept], None);
        let mut exec = bad.clone();
        exec.transports = vec![TransportKind::Exec];
        assert!(validate(&[exec]).unwrap_err().contains("app-server"));
    }
}
