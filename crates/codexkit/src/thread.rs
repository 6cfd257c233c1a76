//! The `Codex` client and its threads.

use crate::app_server::{self, AppServerClient, connection::Connection};
use crate::binary::{self, CodexBinary, DiscoveryOptions};
use crate::exec::{self, ExecRun, argv};
use crate::options::{CodexOptions, Input, ThreadOptions, Transport, TurnOptions};
use crate::redact::Redactor;
use crate::stream::{EventObserver, EventStream};
use crate::tools;
use crate::{Error, Result};
use codexkit_protocol::{ItemDetails, ThreadEvent, ThreadId, ThreadItem, Usage};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// A client for the codex binary: starts and resumes threads.
///
/// Cheap to clone; clones share nothing mutable.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Codex {
    /// `None` for a remote app-server, which needs no local binary.
    binary: Option<CodexBinary>,
    options: Arc<CodexOptions>,
    version_checked: Arc<AtomicBool>,
    /// The shared app-server connection, started on first use and replaced if it closed.
    app_server: Arc<tokio::sync::Mutex<Option<Arc<Connection>>>>,
}

impl Codex {
    /// Finds the codex binary (see [`binary::discover`]) and checks the options. A client for
    /// a remote app-server ([`Transport::Remote`]) needs no local binary.
    pub fn new(options: CodexOptions) -> Result<Self> {
        options.validate()?;
        if matches!(options.transport, Transport::Remote(_)) {
            return Ok(Self::build(None, options));
        }
        let binary = binary::discover(&DiscoveryOptions {
            explicit_path: options.codex_path.clone(),
            ..DiscoveryOptions::default()
        })?;
        tracing::debug!(path = %binary.path.display(), source = ?binary.source, "codex binary found");
        Ok(Self::with_binary(binary, options))
    }

    /// Uses a binary found or installed by the caller.
    pub fn with_binary(binary: CodexBinary, options: CodexOptions) -> Self {
        Self::build(Some(binary), options)
    }

    fn build(binary: Option<CodexBinary>, options: CodexOptions) -> Self {
        Self {
            binary,
            options: Arc::new(options),
            version_checked: Arc::new(AtomicBool::new(false)),
            app_server: Arc::new(tokio::sync::Mutex::new(None)),
        }
    }

    /// The binary this client runs (`None` for a remote app-server).
    pub fn binary(&self) -> Option<&CodexBinary> {
        self.binary.as_ref()
    }

    fn local_binary(&self) -> Result<&CodexBinary> {
        self.binary.as_ref().ok_or_else(|| Error::BinaryNotFound {
            attempts: Vec::new(),
        })
    }

    /// The app-server connection of this client (started on first use), for requests beyond
    /// threads and turns. Fails on the exec transport.
    pub async fn app_server(&self) -> Result<AppServerClient> {
        Ok(AppServerClient {
            connection: self.connection().await?,
        })
    }

    pub(crate) async fn connection(&self) -> Result<Arc<Connection>> {
        self.connection_for(false).await
    }

    /// The shared connection; when it has to be started and `experimental_api` is set, it is
    /// initialized with codex's experimental API (host tools need it).
    pub(crate) async fn connection_for(&self, experimental_api: bool) -> Result<Arc<Connection>> {
        let mut slot = self.app_server.lock().await;
        if let Some(connection) = slot.as_ref().filter(|c| !c.is_closed()) {
            return Ok(Arc::clone(connection));
        }
        let options = if experimental_api && !self.options.experimental_api {
            std::borrow::Cow::Owned(self.options.as_ref().clone().with_experimental_api(true))
        } else {
            std::borrow::Cow::Borrowed(self.options.as_ref())
        };
        let options = options.as_ref();
        let connection = match &options.transport {
            Transport::Exec => {
                return Err(Error::Unsupported {
                    operation: "the app-server API",
                    transport: "exec",
                });
            }
            Transport::AppServer => {
                let binary = self.local_binary()?;
                warn_if_unpinned(binary, &self.version_checked);
                app_server::connect_stdio(&binary.path, options).await?
            }
            Transport::Remote(remote) => app_server::ws::connect(remote, options).await?,
        };
        let connection = Arc::new(connection);
        *slot = Some(Arc::clone(&connection));
        Ok(connection)
    }

    /// A new thread; it gets its id from codex when its first turn starts.
    pub fn start_thread(&self, options: ThreadOptions) -> Thread {
        let span =
            crate::telemetry::thread_span(self.options.transport.name(), options.model.as_deref());
        Thread {
            codex: self.clone(),
            span,
            options,
            state: Arc::new(Mutex::new(ThreadState::default())),
        }
    }

    /// A thread that continues an earlier one (codex must find it in its `CODEX_HOME`).
    pub fn resume_thread(&self, id: impl Into<ThreadId>, options: ThreadOptions) -> Thread {
        let thread = self.start_thread(options);
        let id = id.into();
        thread.span.record("thread.id", id.as_str());
        thread.lock().id = Some(id);
        thread
    }
}

#[derive(Debug, Default)]
struct ThreadState {
    id: Option<ThreadId>,
    /// The last cumulative usage codex reported for this thread in this process.
    last_usage: Option<Usage>,
}

/// A conversation with the agent: a sequence of turns sharing history.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Thread {
    codex: Codex,
    /// The `codex.thread` span, parent of the turn spans.
    span: tracing::Span,
    options: ThreadOptions,
    state: Arc<Mutex<ThreadState>>,
}

impl Thread {
    fn lock(&self) -> std::sync::MutexGuard<'_, ThreadState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The thread id, known once the first turn reported `thread.started` (or given on resume).
    pub fn id(&self) -> Option<ThreadId> {
        self.lock().id.clone()
    }

    /// The thread's options.
    pub fn options(&self) -> &ThreadOptions {
        &self.options
    }

    /// A new thread that starts with this thread's history (app-server transport). Runs on
    /// the same client; `options` apply to the fork (pass the same model to keep the history
    /// as it is: another model makes codex compact it first).
    pub async fn fork(&self, options: ThreadOptions) -> Result<Thread> {
        let Some(source) = self.id() else {
            return Err(Error::invalid(
                "fork",
                "the thread has no id yet; run a turn first",
            ));
        };
        if self.codex.options.transport == Transport::Exec {
            return Err(Error::Unsupported {
                operation: "fork",
                transport: "exec",
            });
        }
        let connection = self.codex.connection().await?;
        if !connection.has_loaded(source.as_str()) {
            app_server::ensure_thread(&connection, Some(source.clone()), &self.options).await?;
        }
        let id = app_server::fork_thread(&connection, &source, &options).await?;
        Ok(self.codex.resume_thread(id, options))
    }

    /// Runs a turn and waits for its end.
    ///
    /// A turn that ends with `turn.failed` is [`Error::TurnFailed`].
    pub async fn run(&self, input: impl Into<Input>) -> Result<TurnResult> {
        self.run_with(input, TurnOptions::default()).await
    }

    /// [`Thread::run`] with per-turn options.
    pub async fn run_with(
        &self,
        input: impl Into<Input>,
        options: TurnOptions,
    ) -> Result<TurnResult> {
        let previous_usage = self.lock().last_usage.clone();
        let mut stream = self.run_streamed_with(input, options).await?;
        let mut collector = TurnCollector::default();
        // No process of the turn outlives `run`, whatever its outcome.
        while let Some(event) = stream.next().await {
            match event {
                Ok(event) => collector.observe(event),
                Err(error) => {
                    stream.finish().await;
                    return Err(error);
                }
            }
        }
        stream.finish().await;
        collector.finish(self.id(), previous_usage)
    }

    /// Runs a turn and returns its events as they happen.
    pub async fn run_streamed(&self, input: impl Into<Input>) -> Result<EventStream> {
        self.run_streamed_with(input, TurnOptions::default()).await
    }

    /// [`Thread::run_streamed`] with per-turn options.
    pub async fn run_streamed_with(
        &self,
        input: impl Into<Input>,
        options: TurnOptions,
    ) -> Result<EventStream> {
        let input = input.into();
        if input.text.trim().is_empty() {
            // codex would read an empty stdin and stop with "No prompt provided".
            return Err(Error::invalid(
                "prompt",
                "it is empty (give the text to send)",
            ));
        }
        // Attachments: bytes and files are staged, files listed in the prompt, and the staging
        // directory added to the sandbox; the stream holds their leases (attachments.rs).
        let (input, staging) = crate::attachments::prepare(&self.codex.options, input).await?;
        let staged_options = staging.thread_options(&self.options);
        argv::check_paths(&staged_options, &input.images)?;
        let observer = staging.hold(self.observer());
        let tools = self.options.tools.as_ref().filter(|t| !t.is_empty());
        let telemetry = {
            let state = self.lock();
            crate::telemetry::TurnTelemetry::start(
                &self.span,
                state.id.as_ref().map(ThreadId::as_str),
                self.codex.options.transport.name(),
                self.options.model.as_deref(),
                self.codex.options.telemetry,
                state.last_usage.clone(),
            )
        };
        let trace = telemetry.trace_context();
        if self.codex.options.transport != Transport::Exec {
            let started = async {
                let connection = self.codex.connection_for(tools.is_some()).await?;
                let thread_id =
                    app_server::ensure_thread(&connection, self.id(), &staged_options).await?;
                self.lock().id = Some(ThreadId::new(thread_id.as_str()));
                app_server::start_turn(
                    connection,
                    thread_id,
                    &input,
                    &options,
                    observer,
                    trace.as_ref(),
                )
                .await
            }
            .await;
            return finish_start(started, telemetry);
        }
        let started = self
            .start_exec_turn(input, &options, &staged_options, tools, observer, trace)
            .await;
        finish_start(started, telemetry)
    }

    /// Starts a turn on the exec transport.
    async fn start_exec_turn(
        &self,
        input: Input,
        options: &TurnOptions,
        staged_options: &ThreadOptions,
        tools: Option<&crate::tools::ToolSet>,
        observer: EventObserver,
        trace: Option<crate::telemetry::TraceContext>,
    ) -> Result<EventStream> {
        let codex_options = &self.codex.options;
        let schema_file = options
            .output_schema
            .as_ref()
            .map(write_schema_file)
            .transpose()?;
        let resume = self.id();
        // The thread's host tools, served for this turn only; stopped if anything below fails.
        let hosted = match tools {
            Some(tools) => Some(tools::mcp_host::start(tools).await?),
            None => None,
        };
        let thread_options = tools::exec::thread_options(staged_options, hosted.as_ref())?;
        let args = argv::exec_args(
            codex_options,
            &thread_options,
            &argv::TurnArgs {
                resume: resume.as_ref(),
                images: &input.images,
                output_schema_file: schema_file.as_deref(),
            },
        )?;
        let mut env = argv::child_env(codex_options, std::env::vars_os())?;
        if let Some(trace) = trace {
            env.insert("TRACEPARENT".into(), trace.traceparent.into());
            if let Some(state) = trace.tracestate {
                env.insert("TRACESTATE".into(), state.into());
            }
        }
        let mut redactor = Redactor::from_env(&env);
        if let Some(key) = &codex_options.api_key {
            redactor.add(key.expose());
        }
        if let Some(hosted) = &hosted {
            tools::exec::add_token(hosted, &mut env, &mut redactor);
        }
        let binary = self.codex.local_binary()?;
        warn_if_unpinned(binary, &self.codex.version_checked);
        let turn = exec::start(ExecRun {
            program: binary.path.clone(),
            args,
            env,
            current_dir: self.options.working_directory.clone(),
            prompt: input.text,
            max_line_bytes: codex_options.max_line_bytes,
            stderr_tail_bytes: codex_options.stderr_tail_bytes,
            exit_grace: codex_options.exit_grace,
            kill_grace: codex_options.kill_grace,
            startup_timeout: codex_options.startup_timeout,
            redactor,
            keep_alive: schema_file.into_iter().collect(),
        })
        .await?;
        let turn = match hosted {
            Some(hosted) => tools::exec::attach(turn, hosted),
            None => turn,
        };
        Ok(EventStream::exec(
            turn,
            observer,
            options.timeout,
            options.idle_timeout,
        ))
    }

    /// The `codex.thread` tracing span (parent of this thread's turn spans).
    pub fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// Keeps the thread id and last usage up to date as events pass.
    fn observer(&self) -> EventObserver {
        let state = Arc::clone(&self.state);
        Arc::new(move |event: &ThreadEvent| {
            let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
            match event {
                ThreadEvent::ThreadStarted(started) => state.id = Some(started.thread_id.clone()),
                ThreadEvent::TurnCompleted(done) => state.last_usage = Some(done.usage.clone()),
                ThreadEvent::TurnInterrupted(interrupted) => {
                    if let Some(usage) = &interrupted.usage {
                        state.last_usage = Some(usage.clone());
                    }
                }
                _ => {}
            }
        })
    }
}

/// Attaches the turn's telemetry to a started stream, or records why it did not start.
fn finish_start(
    started: Result<EventStream>,
    mut telemetry: crate::telemetry::TurnTelemetry,
) -> Result<EventStream> {
    match started {
        Ok(stream) => Ok(stream.with_telemetry(telemetry)),
        Err(error) => {
            telemetry.error(&error);
            Err(error)
        }
    }
}

fn write_schema_file(schema: &serde_json::Value) -> Result<tempfile::TempPath> {
    if !schema.is_object() {
        return Err(Error::invalid("output schema", "must be a JSON object"));
    }
    let mut file = tempfile::Builder::new()
        .prefix("codexkit-schema-")
        .suffix(".json")
        .tempfile()
        .map_err(|e| Error::io("creating", std::env::temp_dir(), e))?;
    let text =
        serde_json::to_vec(schema).map_err(|e| Error::invalid("output schema", e.to_string()))?;
    file.write_all(&text)
        .map_err(|e| Error::io("writing", file.path().to_path_buf(), e))?;
    Ok(file.into_temp_path())
}

/// What a completed turn produced.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct TurnResult {
    /// The thread id.
    pub thread_id: Option<ThreadId>,
    /// Completed items, in order.
    pub items: Vec<ThreadItem>,
    /// The text of the last agent message (empty when there was none).
    pub final_response: String,
    /// Usage as codex reports it: cumulative for the whole thread.
    pub usage: Usage,
    /// The part of `usage` this turn added, when the thread's previous total is known (turns
    /// run earlier by this `Thread`); otherwise equal to `usage`.
    pub turn_usage: Usage,
    /// Every event of the turn, in order, including non-item ones.
    pub events: Vec<ThreadEvent>,
    /// Whether the turn completed or was interrupted.
    pub status: TurnStatus,
}

/// How a turn that did not fail ended.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnStatus {
    /// `turn.completed`.
    Completed,
    /// `turn.interrupted` (an interrupt, or a `Cancel` approval decision).
    Interrupted,
}

/// Folds a turn's events into a [`TurnResult`].
#[derive(Debug, Default)]
pub(crate) struct TurnCollector {
    items: Vec<ThreadItem>,
    events: Vec<ThreadEvent>,
    completed: Option<Usage>,
    interrupted: Option<Option<Usage>>,
    failed: Option<String>,
}

impl TurnCollector {
    pub(crate) fn observe(&mut self, event: ThreadEvent) {
        match &event {
            ThreadEvent::ItemCompleted(done) => self.items.push(done.item.clone()),
            ThreadEvent::TurnCompleted(done) => self.completed = Some(done.usage.clone()),
            ThreadEvent::TurnFailed(failed) => self.failed = Some(failed.error.message.clone()),
            ThreadEvent::TurnInterrupted(interrupted) => {
                self.interrupted = Some(interrupted.usage.clone());
            }
            _ => {}
        }
        self.events.push(event);
    }

    pub(crate) fn finish(
        self,
        thread_id: Option<ThreadId>,
        previous_usage: Option<Usage>,
    ) -> Result<TurnResult> {
        if let Some(message) = self.failed {
            return Err(Error::TurnFailed { message });
        }
        let (usage, status) = match (self.completed, self.interrupted) {
            (Some(usage), _) => (usage, TurnStatus::Completed),
            (None, Some(usage)) => (usage.unwrap_or_default(), TurnStatus::Interrupted),
            (None, None) => {
                return Err(Error::Protocol {
                    message: "the event stream ended without turn.completed".into(),
                    excerpt: String::new(),
                });
            }
        };
        let final_response = final_response(&self.items);
        let turn_usage = match &previous_usage {
            Some(previous) => usage.since(previous),
            None => usage.clone(),
        };
        Ok(TurnResult {
            thread_id,
            items: self.items,
            final_response,
            usage,
            turn_usage,
            events: self.events,
            status,
        })
    }
}

/// The answer of a turn: the last agent message marked `final_answer` when codex marks
/// phases (app-server), otherwise the last agent message.
pub(crate) fn final_response(items: &[ThreadItem]) -> String {
    let messages = || {
        items.iter().rev().filter_map(|item| match &item.details {
            ItemDetails::AgentMessage(message) => Some(message),
            _ => None,
        })
    };
    messages()
        .find(|m| m.phase.as_deref() == Some("final_answer"))
        .or_else(|| messages().next())
        .map(|m| m.text.clone())
        .unwrap_or_default()
}

/// Warns (once per client) when the binary is not the pinned version; never delays the turn.
fn warn_if_unpinned(binary: &CodexBinary, checked: &AtomicBool) {
    if checked.swap(true, Ordering::Relaxed) {
        return;
    }
    let binary = binary.clone();
    // The version probe runs a process: keep it off the async workers and off the turn's path.
    tokio::task::spawn_blocking(move || {
        if let Err(error) = binary.check_version() {
            tracing::warn!(%error, "could not check the codex version");
        }
    });
}
