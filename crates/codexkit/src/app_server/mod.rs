//! The app-server transport: one `codex app-server` (or a remote one over WebSocket) shared by
//! every thread of a [`crate::Codex`].

pub(crate) mod connection;
pub(crate) mod queue;
pub(crate) mod stdio;
pub(crate) mod ws;

pub use ws::ListeningAppServer;

use crate::config::{ConfigOverride, ConfigValue};
use crate::options::{CodexOptions, Input, ThreadOptions, TurnOptions};
use crate::redact::Redactor;
use crate::stream::{EventObserver, EventStream};
use crate::{Error, Result};
use codexkit_protocol::app_server::requests::{self, ClientRequest};
use codexkit_protocol::{ThreadEvent, ThreadId, ThreadStarted};
use connection::Connection;
use serde_json::{Map, Value, json};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Time a turn gets to end after `turn/interrupt` before the stream gives up on it.
const INTERRUPT_GRACE: Duration = Duration::from_secs(5);

/// Spawns `codex app-server` over stdio and performs the handshake.
pub(crate) async fn connect_stdio(program: &Path, options: &CodexOptions) -> Result<Connection> {
    let mut args: Vec<std::ffi::OsString> = vec!["app-server".into()];
    for config in &options.config {
        args.push("-c".into());
        args.push(config.to_arg().into());
    }
    let env = crate::exec::argv::child_env(options, std::env::vars_os())?;
    let mut redactor = Redactor::from_env(&env);
    if let Some(key) = &options.api_key {
        redactor.add(key.expose());
    }
    let (inbound, outgoing, guard) = stdio::spawn(
        program,
        &args,
        &env,
        None,
        options.max_line_bytes,
        options.stderr_tail_bytes,
        redactor,
    )
    .await?;
    let connection = Connection::start(inbound, outgoing, Box::new(guard), options.request_timeout);
    initialize(
        &connection,
        options.experimental_api,
        options.startup_timeout,
    )
    .await?;
    Ok(connection)
}

/// The `initialize` request and `initialized` notification.
pub(crate) async fn initialize(
    connection: &Connection,
    experimental_api: bool,
    startup_timeout: Duration,
) -> Result<Value> {
    let params = json!({
        "clientInfo": {
            "name": "codexkit",
            "title": "codexkit",
            "version": env!("CARGO_PKG_VERSION"),
        },
        "capabilities": { "experimentalApi": experimental_api },
    });
    let result = match connection
        .request_with_timeout("initialize", params, startup_timeout)
        .await
    {
        Err(Error::DeadlineExceeded { after, .. }) => {
            return Err(Error::DeadlineExceeded {
                deadline: "startup",
                after,
            });
        }
        other => other?,
    };
    connection.notify("initialized")?;
    connection.set_experimental_api(experimental_api);
    Ok(result)
}

/// `thread/start` (or `thread/resume`) parameters from thread options.
fn thread_params(options: &ThreadOptions) -> Result<Map<String, Value>> {
    let mut params = Map::new();
    if let Some(model) = &options.model {
        params.insert("model".into(), json!(model));
    }
    if let Some(dir) = &options.working_directory {
        let dir = std::path::absolute(dir).map_err(|e| Error::io("resolving", dir.clone(), e))?;
        params.insert("cwd".into(), json!(dir.to_string_lossy()));
    }
    if let Some(mode) = options.approval_mode {
        params.insert("approvalPolicy".into(), json!(mode.as_str()));
    }
    if let Some(sandbox) = options.sandbox {
        params.insert("sandbox".into(), json!(sandbox.as_str()));
    }
    if options.ephemeral {
        params.insert("ephemeral".into(), json!(true));
    }
    let mut config = Map::new();
    let mut derived = Vec::new();
    if let Some(effort) = options.reasoning_effort {
        derived.push(ConfigOverride::new(
            "model_reasoning_effort",
            effort.as_str(),
        )?);
    }
    if let Some(allowed) = options.network_access {
        derived.push(ConfigOverride::new(
            "sandbox_workspace_write.network_access",
            allowed,
        )?);
    }
    if let Some(mode) = options.web_search {
        derived.push(ConfigOverride::new("web_search", mode.as_str())?);
    }
    if let Some(profile) = &options.profile {
        derived.push(ConfigOverride::new("profile", profile.as_str())?);
    }
    derived.extend(crate::tools::mcp_servers::config_overrides(
        &options.mcp_servers,
    )?);
    // Additional directories (the attachment store's among them) become writable roots, as
    // exec's `--add-dir` does; an explicit `config` entry for the key wins.
    if !options.additional_directories.is_empty() {
        let roots = options
            .additional_directories
            .iter()
            .map(|dir| {
                std::path::absolute(dir)
                    .map(|dir| ConfigValue::String(dir.to_string_lossy().into_owned()))
                    .map_err(|e| Error::io("resolving", dir.clone(), e))
            })
            .collect::<Result<Vec<_>>>()?;
        derived.push(ConfigOverride::new(
            "sandbox_workspace_write.writable_roots",
            ConfigValue::Array(roots),
        )?);
    }
    for item in derived.iter().chain(&options.config) {
        config.insert(item.key.clone(), config_json(&item.value));
    }
    if !config.is_empty() {
        params.insert("config".into(), Value::Object(config));
    }
    Ok(params)
}

/// A config value as JSON for `thread/start.config`.
fn config_json(value: &ConfigValue) -> Value {
    match value {
        ConfigValue::String(s) => json!(s),
        ConfigValue::Integer(i) => json!(i),
        ConfigValue::Float(f) => json!(f),
        ConfigValue::Bool(b) => json!(b),
        ConfigValue::Array(items) => Value::Array(items.iter().map(config_json).collect()),
        ConfigValue::Table(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), config_json(v)))
                .collect(),
        ),
        // Text typed on a command line: a JSON scalar when it reads as one, else a string.
        ConfigValue::Literal(text) => {
            serde_json::from_str(text.trim()).unwrap_or_else(|_| json!(text))
        }
    }
}

/// `turn/start` input items.
fn input_items(input: &Input) -> Result<Vec<Value>> {
    let mut items = vec![json!({"type": "text", "text": input.text, "text_elements": []})];
    for image in &input.images {
        let path =
            std::path::absolute(image).map_err(|e| Error::io("resolving", image.clone(), e))?;
        items.push(json!({"type": "localImage", "path": path.to_string_lossy()}));
    }
    // Image URLs (app-server only); other attachments were staged into `text` and `images`.
    for url in crate::attachments::unstaged_image_urls(input)? {
        items.push(json!({"type": "image", "url": url}));
    }
    Ok(items)
}

fn thread_id_of(result: &Value, method: &str) -> Result<String> {
    result
        .get("thread")
        .and_then(|t| t.get("id"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| Error::Protocol {
            message: format!("{method} returned no thread id"),
            excerpt: result.to_string().chars().take(200).collect(),
        })
}

/// Makes sure the thread exists and is loaded on this connection; returns its id.
pub(crate) async fn ensure_thread(
    connection: &Connection,
    known_id: Option<ThreadId>,
    options: &ThreadOptions,
) -> Result<String> {
    let params = thread_params(options)?;
    let id = match known_id {
        None => {
            let mut params = params;
            if let Some(tools) = options.tools.as_ref().filter(|t| !t.is_empty()) {
                if !connection.experimental_api() {
                    return Err(Error::ExperimentalApiRequired {
                        feature: "host tools (dynamic tools)",
                    });
                }
                params.insert(
                    "dynamicTools".into(),
                    Value::Array(crate::tools::dynamic::dynamic_tools(tools)),
                );
            }
            let result = connection
                .request("thread/start", Value::Object(params))
                .await?;
            thread_id_of(&result, "thread/start")?
        }
        Some(id) if connection.has_loaded(id.as_str()) => id.to_string(),
        Some(id) => {
            let mut params = params;
            params.insert("threadId".into(), json!(id.as_str()));
            let result = connection
                .request("thread/resume", Value::Object(params))
                .await?;
            thread_id_of(&result, "thread/resume")?
        }
    };
    connection.mark_loaded(&id);
    connection.register_thread(&id, options.approver.clone());
    connection.register_tools(&id, options.tools.clone());
    Ok(id)
}

/// `thread/fork`: a new thread with the source's history; returns the new id.
pub(crate) async fn fork_thread(
    connection: &Connection,
    source: &ThreadId,
    options: &ThreadOptions,
) -> Result<String> {
    let mut params = thread_params(options)?;
    params.insert("threadId".into(), json!(source.as_str()));
    // Without a model the fork gets codex's default model, and its first turn starts with a
    // compaction request; passing the thread's model avoids that.
    let result = connection
        .request("thread/fork", Value::Object(params))
        .await?;
    let id = thread_id_of(&result, "thread/fork")?;
    connection.mark_loaded(&id);
    connection.register_thread(&id, options.approver.clone());
    connection.register_tools(&id, options.tools.clone());
    Ok(id)
}

/// Starts a turn and returns its stream.
pub(crate) async fn start_turn(
    connection: Arc<Connection>,
    thread_id: String,
    input: &Input,
    options: &TurnOptions,
    observer: EventObserver,
    trace: Option<&crate::telemetry::TraceContext>,
) -> Result<EventStream> {
    let (sender, receiver) = queue::event_queue(queue::DEFAULT_CAPACITY);
    connection.attach_turn(&thread_id, sender.clone())?;
    // exec starts every run with thread.started; keep the vocabulary the same.
    sender.push(ThreadEvent::ThreadStarted(ThreadStarted::new(
        thread_id.as_str(),
    )));

    let mut params = Map::new();
    params.insert("threadId".into(), json!(thread_id));
    params.insert("input".into(), Value::Array(input_items(input)?));
    if let Some(schema) = &options.output_schema {
        params.insert("outputSchema".into(), schema.clone());
    }
    let trace = trace.map(crate::telemetry::TraceContext::to_json);
    let result = match connection
        .request_traced(
            "turn/start",
            Value::Object(params),
            connection.request_timeout,
            trace.as_ref(),
        )
        .await
    {
        Ok(result) => result,
        Err(error) => {
            connection.detach_turn(&thread_id);
            return Err(error);
        }
    };
    let turn_id = result
        .get("turn")
        .and_then(|t| t.get("id"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    if let Some(turn_id) = &turn_id {
        connection.set_turn_id(&thread_id, turn_id);
    }
    let control = Arc::new(TurnControl {
        connection,
        thread_id,
        turn_id: Mutex::new(turn_id),
        events: sender,
    });
    Ok(EventStream::app_server(
        receiver,
        control,
        observer,
        options.timeout,
        options.idle_timeout,
    ))
}

/// Interrupt and steer for one running app-server turn.
#[derive(Debug)]
pub(crate) struct TurnControl {
    connection: Arc<Connection>,
    thread_id: String,
    turn_id: Mutex<Option<String>>,
    events: queue::QueueSender,
}

impl TurnControl {
    pub(crate) fn turn_id(&self) -> Option<String> {
        self.turn_id
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Sends `turn/interrupt`; the turn's stream then ends with `turn.interrupted`. If it has
    /// not ended after the grace period, the stream ends with `Error::Cancelled`.
    pub(crate) async fn interrupt(&self) -> Result<()> {
        let Some(turn_id) = self.turn_id() else {
            self.abandon();
            return Ok(());
        };
        let params = json!({"threadId": self.thread_id, "turnId": turn_id});
        let sent = self
            .connection
            .request_with_timeout("turn/interrupt", params, INTERRUPT_GRACE)
            .await;
        if let Err(error) = &sent {
            tracing::debug!(%error, "turn/interrupt failed");
        }
        let events = self.events.clone();
        let connection = Arc::clone(&self.connection);
        let thread_id = self.thread_id.clone();
        tokio::spawn(async move {
            let deadline = tokio::time::Instant::now() + INTERRUPT_GRACE;
            while !events.is_finished() && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            if !events.is_finished() {
                connection.detach_turn(&thread_id);
                events.fail(Error::Cancelled);
            }
        });
        match sent {
            // "no active turn": it already ended; nothing to interrupt.
            Err(Error::Rpc { .. }) => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// Interrupts and waits (bounded by the grace period) until the turn ended.
    pub(crate) async fn interrupt_and_wait(&self) {
        let _ = self.interrupt().await;
        let deadline = tokio::time::Instant::now() + INTERRUPT_GRACE + Duration::from_millis(200);
        while !self.events.is_finished() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.abandon();
    }

    /// Interrupts from a context that cannot wait (poll, Drop).
    pub(crate) fn interrupt_in_background(self: &Arc<Self>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.abandon();
            return;
        };
        let control = Arc::clone(self);
        runtime.spawn(async move {
            let _ = control.interrupt().await;
        });
    }

    /// Stops routing to this turn.
    fn abandon(&self) {
        self.connection.detach_turn(&self.thread_id);
        self.events.fail(Error::Cancelled);
    }

    pub(crate) async fn steer(&self, input: Input) -> Result<()> {
        let Some(turn_id) = self.turn_id() else {
            return Err(Error::invalid("steer", "the turn has no id yet"));
        };
        let params = json!({
            "threadId": self.thread_id,
            "expectedTurnId": turn_id,
            "input": input_items(&input)?,
        });
        self.connection
            .request("turn/steer", params)
            .await
            .map(|_| ())
    }
}

/// Direct access to an app-server connection: typed requests from the committed schema
/// ([`codexkit_protocol::app_server`]) and a raw escape hatch for any other method.
#[derive(Debug, Clone)]
pub struct AppServerClient {
    pub(crate) connection: Arc<Connection>,
}

impl AppServerClient {
    /// Sends any request and returns its raw result.
    pub async fn request(&self, method: &str, params: Value) -> Result<Value> {
        self.connection.request(method, params).await
    }

    /// Sends a typed request (see [`ClientRequest`]) and decodes its result.
    pub async fn call<R: ClientRequest>(&self, params: &R::Params) -> Result<R::Response> {
        let params = serde_json::to_value(params)
            .map_err(|e| Error::invalid(R::METHOD, format!("parameters do not serialize: {e}")))?;
        let result = self.connection.request(R::METHOD, params).await?;
        let excerpt: String = result.to_string().chars().take(200).collect();
        R::decode_response(result).map_err(|e| Error::Protocol {
            message: format!("{} returned an unexpected result: {e}", R::METHOD),
            excerpt,
        })
    }

    /// `model/list`: the models this codex offers.
    pub async fn list_models(&self) -> Result<requests::ModelListResponse> {
        self.call::<requests::ModelList>(&requests::ModelListParams::new())
            .await
    }

    /// `thread/list`: stored threads.
    pub async fn list_threads(&self) -> Result<requests::ThreadListResponse> {
        self.call::<requests::ThreadList>(&requests::ThreadListParams::new())
            .await
    }

    /// `thread/read`: a stored thread with its turns.
    pub async fn read_thread(&self, thread_id: &str) -> Result<requests::ThreadReadResponse> {
        let params = requests::ThreadReadParams::new(thread_id).with_include_turns(true);
        self.call::<requests::ThreadRead>(&params).await
    }

    /// `thread/archive`.
    pub async fn archive_thread(&self, thread_id: &str) -> Result<()> {
        let params = requests::ThreadArchiveParams::new(thread_id);
        self.call::<requests::ThreadArchive>(&params)
            .await
            .map(|_| ())
    }

    /// `account/read`: the account codex uses (never includes secrets).
    pub async fn read_account(&self) -> Result<requests::AccountReadResponse> {
        self.call::<requests::AccountRead>(&requests::AccountReadParams::new())
            .await
    }

    /// Whether the connection is gone.
    pub fn is_closed(&self) -> bool {
        self.connection.is_closed()
    }
}
