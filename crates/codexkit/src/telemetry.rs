//! Tracing spans and metrics for threads, turns, items, host tools and approvals.
//!
//! codexkit emits [`tracing`] spans and [`metrics`] through their facades; nothing is
//! recorded unless the application installs a subscriber or a recorder.
//!
//! Spans, nested as `codex.thread` > `codex.turn` > `codex.item` / `codex.tool` /
//! `codex.approval`:
//!
//! | span | fields |
//! |------|--------|
//! | `codex.thread` | `thread.id`, `transport`, `model` |
//! | `codex.turn` | `thread.id`, `turn.id`, `transport`, `model`, `status`, `duration_ms`, `tokens.input`, `tokens.cached`, `tokens.output`, `tokens.reasoning`, `error.kind` |
//! | `codex.item` | `item.id`, `item.type`, `status`, `exit_code`, `duration_ms` |
//! | `codex.tool` | `tool.name`, `tool.namespace`, `call.id`, `status`, `duration_ms`, `error.kind` |
//! | `codex.approval` | `approval.kind`, `item.id`, `decision`, `decided_by`, `status`, `duration_ms` |
//!
//! Thread and turn spans, `error` and failed items, failed tool calls, and approvals that
//! timed out or failed are always kept; other item, tool and approval spans are kept for the
//! fraction [`TelemetryOptions::item_sample_ratio`] of items (deterministically, by a hash of
//! the item id); streaming deltas are traced (as `TRACE`
//! events) only with [`TelemetryOptions::trace_deltas`].
//!
//! Levels: thread, turn, tool and approval spans are `INFO`; item spans are `DEBUG` (an error
//! item's `INFO`), so a production `INFO` filter keeps every turn's shape without a span per
//! item; `codexkit::telemetry=debug` adds them.
//!
//! Metrics (names are stable):
//!
//! | metric | kind | labels |
//! |--------|------|--------|
//! | `codexkit.turns.started` | counter | `transport` |
//! | `codexkit.turns.completed` / `.failed` / `.interrupted` | counter | `transport` |
//! | `codexkit.turn.duration_seconds` | histogram | `transport`, `status` |
//! | `codexkit.turn.first_event_seconds` | histogram | `transport` |
//! | `codexkit.tokens` | counter | `kind` (`input`, `cached`, `output`, `reasoning`) |
//! | `codexkit.tool.duration_seconds` | histogram | `tool` |
//! | `codexkit.tool.failures` | counter | `tool`, `failure` |
//! | `codexkit.approval.wait_seconds` | histogram | `outcome` |
//! | `codexkit.approvals` | counter | `outcome` (`resolved`, `timed_out`, `failed`) |
//! | `codexkit.attachments.staged_bytes` | gauge | |
//! | `codexkit.processes.alive` | gauge | |

use crate::Error;
use codexkit_protocol::{ItemDetails, ThreadEvent, ThreadItem, Usage};
use serde_json::Value;
use std::time::Instant;
use tracing::Span;
use tracing::field::Empty;

/// What telemetry is kept beyond thread and turn spans.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TelemetryOptions {
    /// The fraction (0.0 to 1.0) of items, host tool calls and approvals that get a span.
    /// Sampling is deterministic: a hash of the item (or call, or request) id. Failures and
    /// timeouts are always kept. Default 1.0.
    pub item_sample_ratio: f64,
    /// Whether streaming deltas (message, reasoning, command output) are traced, one `TRACE`
    /// event each, for sampled items. Default `false`.
    pub trace_deltas: bool,
}

impl Default for TelemetryOptions {
    fn default() -> Self {
        Self {
            item_sample_ratio: 1.0,
            trace_deltas: false,
        }
    }
}

impl TelemetryOptions {
    /// Keeps spans for this fraction of items (clamped to 0.0..=1.0).
    pub fn with_item_sample_ratio(mut self, ratio: f64) -> Self {
        self.item_sample_ratio = if ratio.is_nan() {
            0.0
        } else {
            ratio.clamp(0.0, 1.0)
        };
        self
    }

    /// Traces streaming deltas of sampled items.
    pub fn with_trace_deltas(mut self, trace: bool) -> Self {
        self.trace_deltas = trace;
        self
    }

    /// Whether the item (or call, or request) with this id is sampled.
    fn sampled(&self, id: &str) -> bool {
        if self.item_sample_ratio >= 1.0 {
            return true;
        }
        if self.item_sample_ratio <= 0.0 {
            return false;
        }
        // FNV-1a: stable across processes and releases, unlike `DefaultHasher`.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in id.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        // A final mix (splitmix64) spreads ids that differ in a few characters.
        hash ^= hash >> 30;
        hash = hash.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        hash ^= hash >> 27;
        hash = hash.wrapping_mul(0x94d0_49bb_1331_11eb);
        hash ^= hash >> 31;
        (hash as f64 / u64::MAX as f64) < self.item_sample_ratio
    }
}

/// A W3C trace context, as passed to codex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TraceContext {
    /// `00-<trace id>-<span id>-<flags>`.
    pub(crate) traceparent: String,
    /// Vendor state, when there is any.
    pub(crate) tracestate: Option<String>,
}

impl TraceContext {
    /// The app-server's `trace` request field.
    pub(crate) fn to_json(&self) -> Value {
        serde_json::json!({"traceparent": self.traceparent, "tracestate": self.tracestate})
    }
}

/// The W3C trace context of a span, when an OpenTelemetry layer tracks it.
#[cfg(feature = "otel")]
fn trace_context_of(span: &Span) -> Option<TraceContext> {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let context = span.context();
    let otel_span = context.span();
    let span_context = otel_span.span_context();
    if !span_context.is_valid() {
        return None;
    }
    let tracestate = span_context.trace_state().header();
    Some(TraceContext {
        traceparent: format!(
            "00-{}-{}-{:02x}",
            span_context.trace_id(),
            span_context.span_id(),
            span_context.trace_flags().to_u8()
        ),
        tracestate: (!tracestate.is_empty()).then_some(tracestate),
    })
}

#[cfg(not(feature = "otel"))]
fn trace_context_of(_span: &Span) -> Option<TraceContext> {
    None
}

/// The layer that exports codexkit's spans (and any other `tracing` spans) through
/// OpenTelemetry, and the tracer provider behind it (feature `otel`).
///
/// Any [`SpanExporter`](opentelemetry_sdk::trace::SpanExporter) works: the in-memory one in
/// tests, or OTLP from the `opentelemetry-otlp` crate (not a dependency of codexkit):
///
/// ```ignore
/// let exporter = opentelemetry_otlp::SpanExporter::builder()
///     .with_http()
///     .with_endpoint("http://127.0.0.1:4318/v1/traces")
///     .build()?;
/// let (layer, provider) = codexkit::telemetry::otel_layer(exporter, "my-service");
/// tracing_subscriber::registry().with(layer).init();
/// // ... run turns ...
/// provider.shutdown()?; // flushes the batch
/// ```
///
/// With the layer installed, codexkit passes each turn's trace context to codex (the
/// app-server's `turn/start` `trace` field, `TRACEPARENT`/`TRACESTATE` for exec); codex joins
/// it when its own exporter is set, see
/// [`CodexOptions::with_codex_otel_endpoint`](crate::CodexOptions::with_codex_otel_endpoint).
#[cfg(feature = "otel")]
pub fn otel_layer<S, E>(
    exporter: E,
    service_name: &'static str,
) -> (
    tracing_opentelemetry::OpenTelemetryLayer<S, opentelemetry_sdk::trace::SdkTracer>,
    opentelemetry_sdk::trace::SdkTracerProvider,
)
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    E: opentelemetry_sdk::trace::SpanExporter + 'static,
{
    use opentelemetry::trace::TracerProvider as _;
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name(service_name)
                .build(),
        )
        .build();
    let tracer = provider.tracer("codexkit");
    (tracing_opentelemetry::layer().with_tracer(tracer), provider)
}

/// The span of a thread; parent of its turns' spans.
pub(crate) fn thread_span(transport: &'static str, model: Option<&str>) -> Span {
    tracing::info_span!(
        "codex.thread",
        thread.id = Empty,
        transport,
        model = model.unwrap_or(""),
    )
}

/// A short, stable name for an error, for the `error.kind` field.
pub(crate) fn error_kind(error: &Error) -> &'static str {
    match error {
        Error::BinaryNotFound { .. } => "binary_not_found",
        Error::BinaryUnusable { .. } => "binary_unusable",
        Error::Install { .. } => "install",
        Error::Spawn { .. } => "spawn",
        Error::ProcessExited { .. } => "process_exited",
        Error::TurnFailed { .. } => "turn_failed",
        Error::Protocol { .. } => "protocol",
        Error::LineTooLong { .. } => "line_too_long",
        Error::Cancelled => "cancelled",
        Error::DeadlineExceeded { .. } => "deadline_exceeded",
        Error::InvalidOption { .. } => "invalid_option",
        Error::ConnectionClosed { .. } => "connection_closed",
        Error::Rpc { .. } => "rpc",
        Error::Unsupported { .. } => "unsupported",
        Error::InvalidTool { .. } => "invalid_tool",
        Error::DuplicateTool { .. } => "duplicate_tool",
        Error::ExperimentalApiRequired { .. } => "experimental_api_required",
        Error::Io { .. } => "io",
        Error::SchemaMismatch { .. } => "schema_mismatch",
        Error::InvalidSchema { .. } => "invalid_schema",
        Error::QuotaExceeded { .. } => "quota_exceeded",
    }
}

/// The telemetry of one turn, fed every event of its [`crate::EventStream`].
pub(crate) struct TurnTelemetry {
    span: Span,
    thread_span: Span,
    options: TelemetryOptions,
    transport: &'static str,
    started: Instant,
    first_event_seen: bool,
    ended: bool,
    previous_usage: Option<Usage>,
    /// Open spans, only for sampled items while a subscriber listens.
    items: Vec<(String, Span, Instant)>,
    tools: Vec<(String, Span)>,
    approvals: Vec<(Value, Option<Span>, Instant)>,
}

impl std::fmt::Debug for TurnTelemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnTelemetry")
            .field("transport", &self.transport)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl TurnTelemetry {
    /// Opens the turn span under the thread span.
    pub(crate) fn start(
        thread_span: &Span,
        thread_id: Option<&str>,
        transport: &'static str,
        model: Option<&str>,
        options: TelemetryOptions,
        previous_usage: Option<Usage>,
    ) -> Self {
        let span = tracing::info_span!(
            parent: thread_span,
            "codex.turn",
            thread.id = Empty,
            turn.id = Empty,
            transport,
            model = model.unwrap_or(""),
            status = Empty,
            duration_ms = Empty,
            tokens.input = Empty,
            tokens.cached = Empty,
            tokens.output = Empty,
            tokens.reasoning = Empty,
            error.kind = Empty,
        );
        if let Some(id) = thread_id {
            span.record("thread.id", id);
        }
        metrics::counter!("codexkit.turns.started", "transport" => transport).increment(1);
        Self {
            span,
            thread_span: thread_span.clone(),
            options,
            transport,
            started: Instant::now(),
            first_event_seen: false,
            ended: false,
            previous_usage,
            items: Vec::new(),
            tools: Vec::new(),
            approvals: Vec::new(),
        }
    }

    /// The turn span's W3C trace context (feature `otel`, with an OpenTelemetry layer).
    pub(crate) fn trace_context(&self) -> Option<TraceContext> {
        trace_context_of(&self.span)
    }

    /// Records one event of the turn.
    pub(crate) fn observe(&mut self, event: &ThreadEvent) {
        if !self.first_event_seen {
            self.first_event_seen = true;
            metrics::histogram!("codexkit.turn.first_event_seconds", "transport" => self.transport)
                .record(self.started.elapsed().as_secs_f64());
        }
        match event {
            ThreadEvent::ThreadStarted(started) => {
                let id = started.thread_id.as_str();
                self.span.record("thread.id", id);
                self.thread_span.record("thread.id", id);
            }
            ThreadEvent::TurnStarted(started) => {
                if let Some(id) = &started.turn_id {
                    self.span.record("turn.id", id.as_str());
                }
            }
            ThreadEvent::ItemStarted(item) => self.item_started(&item.item),
            ThreadEvent::ItemCompleted(item) => self.item_completed(&item.item),
            ThreadEvent::AgentMessageDelta(delta)
            | ThreadEvent::ReasoningDelta(delta)
            | ThreadEvent::CommandOutputDelta(delta) => self.delta(event.kind(), delta),
            ThreadEvent::ToolCallStarted(call) => {
                let key = call.call_id.as_deref().unwrap_or(&call.name);
                if self.options.sampled(key) {
                    let span = self.tool_span(call);
                    if !span.is_disabled() {
                        self.tools.push((key.to_owned(), span));
                    }
                }
            }
            ThreadEvent::ToolCallCompleted(call) => self.tool_completed(call),
            ThreadEvent::ApprovalRequested(request) => self.approval_requested(request),
            // A timeout or a failure was counted by its own event; the `approval.resolved`
            // that follows it only reports the fallback sent.
            ThreadEvent::ApprovalResolved(resolved)
                if matches!(resolved.decided_by.as_deref(), Some("timeout" | "fallback")) => {}
            ThreadEvent::ApprovalResolved(resolved) => self.approval_ended(resolved, "resolved"),
            ThreadEvent::ApprovalTimedOut(resolved) => self.approval_ended(resolved, "timed_out"),
            ThreadEvent::ApprovalFailed(resolved) => self.approval_ended(resolved, "failed"),
            ThreadEvent::TurnCompleted(done) => {
                self.record_usage(&done.usage);
                self.end("completed");
            }
            ThreadEvent::TurnInterrupted(interrupted) => {
                if let Some(usage) = &interrupted.usage {
                    self.record_usage(usage);
                }
                self.end("interrupted");
            }
            ThreadEvent::TurnFailed(failed) => {
                self.span.record("error.kind", "turn_failed");
                tracing::warn!(parent: &self.span, error.message = %failed.error.message, "turn failed");
                self.end("failed");
            }
            ThreadEvent::Error(notice) => {
                tracing::warn!(parent: &self.span, error.message = %notice.message, "codex reported an error");
            }
            _ => {}
        }
    }

    /// Records an error that ended the stream.
    pub(crate) fn error(&mut self, error: &Error) {
        if self.ended {
            return;
        }
        let kind = error_kind(error);
        self.span.record("error.kind", kind);
        tracing::warn!(parent: &self.span, error.kind = kind, %error, "turn ended with an error");
        self.end(match error {
            Error::DeadlineExceeded { .. } => "timed_out",
            Error::Cancelled => "cancelled",
            _ => "failed",
        });
    }

    fn delta(&self, kind: &str, delta: &codexkit_protocol::ItemDelta) {
        if !self.options.trace_deltas || !self.options.sampled(delta.item_id.as_str()) {
            return;
        }
        let parent = self
            .items
            .iter()
            .find(|(id, ..)| id == delta.item_id.as_str())
            .map_or(&self.span, |(_, span, _)| span);
        tracing::trace!(
            parent: parent,
            kind,
            item.id = delta.item_id.as_str(),
            bytes = delta.delta.len(),
            "delta"
        );
    }

    fn approval_requested(&mut self, request: &codexkit_protocol::ApprovalEvent) {
        // Every request is timed for the wait metric; only sampled ones get a span.
        let span = if self.options.sampled(&request.request_id.to_string()) {
            Some(self.approval_span(request)).filter(|span| !span.is_disabled())
        } else {
            None
        };
        self.approvals
            .push((request.request_id.clone(), span, Instant::now()));
    }

    fn approval_span(&self, request: &codexkit_protocol::ApprovalEvent) -> Span {
        tracing::info_span!(
            parent: &self.span,
            "codex.approval",
            approval.kind = request.kind.as_str(),
            item.id = request.item_id.as_ref().map(|id| id.as_str()),
            decision = Empty,
            decided_by = Empty,
            status = Empty,
            duration_ms = Empty,
        )
    }

    fn item_started(&mut self, item: &ThreadItem) {
        let id = item.id.as_str();
        if !self.sampled_item(item) || self.items.iter().any(|(open, ..)| open == id) {
            return;
        }
        let span = self.item_span(item);
        if !span.is_disabled() {
            self.items.push((id.to_owned(), span, Instant::now()));
        }
    }

    fn item_completed(&mut self, item: &ThreadItem) {
        let id = item.id.as_str();
        let open = self.items.iter().position(|(open, ..)| open == id);
        let (span, started) = match open {
            Some(index) => {
                let (_, span, started) = self.items.swap_remove(index);
                (span, Some(started))
            }
            // A failed item is kept even when not sampled.
            None if self.sampled_item(item) || item_failed(item) => (self.item_span(item), None),
            None => return,
        };
        record_item(&span, item);
        if let Some(started) = started {
            span.record("duration_ms", millis(started));
        }
    }

    fn sampled_item(&self, item: &ThreadItem) -> bool {
        matches!(item.details, ItemDetails::Error(_)) || self.options.sampled(item.id.as_str())
    }

    /// An item's span: `DEBUG`, so that an `INFO` subscriber gets a turn's shape without
    /// formatting a span per item; an error item's at `INFO`.
    fn item_span(&self, item: &ThreadItem) -> Span {
        // A span's level is part of its callsite, hence one callsite per level.
        macro_rules! span_at {
            ($level:expr) => {
                tracing::span!(
                    parent: &self.span,
                    $level,
                    "codex.item",
                    item.id = item.id.as_str(),
                    item.type = item.kind(),
                    status = Empty,
                    exit_code = Empty,
                    duration_ms = Empty,
                )
            };
        }
        if matches!(item.details, ItemDetails::Error(_)) {
            span_at!(tracing::Level::INFO)
        } else {
            span_at!(tracing::Level::DEBUG)
        }
    }

    fn tool_span(&self, call: &codexkit_protocol::ToolCallEvent) -> Span {
        tracing::info_span!(
            parent: &self.span,
            "codex.tool",
            tool.name = call.name.as_str(),
            tool.namespace = call.namespace.as_deref(),
            call.id = call.call_id.as_deref(),
            status = Empty,
            duration_ms = Empty,
            error.kind = Empty,
        )
    }

    fn tool_completed(&mut self, call: &codexkit_protocol::ToolCallEvent) {
        let key = call.call_id.as_deref().unwrap_or(&call.name);
        let failed = call.success == Some(false);
        let tool = call.name.clone();
        if let Some(ms) = call.duration_ms {
            metrics::histogram!("codexkit.tool.duration_seconds", "tool" => tool.clone())
                .record(ms as f64 / 1000.0);
        }
        if failed {
            let failure = call.failure.clone().unwrap_or_else(|| "unknown".into());
            metrics::counter!("codexkit.tool.failures", "tool" => tool, "failure" => failure)
                .increment(1);
        }
        let span = match self.tools.iter().position(|(open, _)| open == key) {
            Some(index) => self.tools.swap_remove(index).1,
            None if failed || self.options.sampled(key) => self.tool_span(call),
            None => return,
        };
        span.record("status", if failed { "failed" } else { "completed" });
        if let Some(ms) = call.duration_ms {
            span.record("duration_ms", ms);
        }
        if let Some(failure) = &call.failure {
            span.record("error.kind", failure.as_str());
        }
    }

    fn approval_ended(&mut self, event: &codexkit_protocol::ApprovalEvent, outcome: &'static str) {
        metrics::counter!("codexkit.approvals", "outcome" => outcome).increment(1);
        let open = self
            .approvals
            .iter()
            .position(|(id, ..)| *id == event.request_id);
        let (span, started) = match open {
            Some(index) => {
                let (_, span, started) = self.approvals.swap_remove(index);
                (span, Some(started))
            }
            None => (None, None),
        };
        if let Some(started) = started {
            metrics::histogram!("codexkit.approval.wait_seconds", "outcome" => outcome)
                .record(started.elapsed().as_secs_f64());
        }
        let span = match span {
            Some(span) => span,
            // Timeouts and failures are always kept.
            None if outcome != "resolved" => self.approval_span(event),
            None => return,
        };
        if let Some(started) = started {
            span.record("duration_ms", millis(started));
        }
        span.record("status", outcome);
        if let Some(decision) = &event.decision {
            match decision.as_str() {
                Some(text) => span.record("decision", text),
                None => span.record("decision", tracing::field::display(decision)),
            };
        }
        if let Some(by) = &event.decided_by {
            span.record("decided_by", by.as_str());
        }
    }

    fn record_usage(&mut self, usage: &Usage) {
        let turn = match &self.previous_usage {
            Some(previous) => usage.since(previous),
            None => usage.clone(),
        };
        self.span.record("tokens.input", turn.input_tokens);
        self.span.record("tokens.cached", turn.cached_input_tokens);
        self.span.record("tokens.output", turn.output_tokens);
        self.span
            .record("tokens.reasoning", turn.reasoning_output_tokens);
        for (kind, count) in [
            ("input", turn.input_tokens),
            ("cached", turn.cached_input_tokens),
            ("output", turn.output_tokens),
            ("reasoning", turn.reasoning_output_tokens),
        ] {
            metrics::counter!("codexkit.tokens", "kind" => kind).increment(count);
        }
    }

    fn end(&mut self, status: &'static str) {
        if self.ended {
            return;
        }
        self.ended = true;
        // Spans of items, calls and approvals the turn left open end with it.
        self.items.clear();
        self.tools.clear();
        self.approvals.clear();
        self.span.record("status", status);
        self.span.record("duration_ms", millis(self.started));
        let transport = self.transport;
        let elapsed = self.started.elapsed().as_secs_f64();
        let counter = match status {
            "completed" => "codexkit.turns.completed",
            "interrupted" | "cancelled" => "codexkit.turns.interrupted",
            _ => "codexkit.turns.failed",
        };
        metrics::counter!(counter, "transport" => transport).increment(1);
        metrics::histogram!("codexkit.turn.duration_seconds", "transport" => transport, "status" => status)
            .record(elapsed);
    }
}

impl Drop for TurnTelemetry {
    fn drop(&mut self) {
        // A stream dropped before its terminal event: the turn was cancelled.
        self.end("cancelled");
    }
}

fn record_item(span: &Span, item: &ThreadItem) {
    match &item.details {
        ItemDetails::CommandExecution(command) => {
            span.record("status", wire_name(&command.status).as_str());
            if let Some(code) = command.exit_code {
                span.record("exit_code", code);
            }
        }
        ItemDetails::FileChange(change) => {
            span.record("status", wire_name(&change.status).as_str());
        }
        ItemDetails::McpToolCall(call) => {
            span.record("status", wire_name(&call.status).as_str());
        }
        ItemDetails::DynamicToolCall(call) => {
            span.record("status", wire_name(&call.status).as_str());
        }
        ItemDetails::Error(_) => {
            span.record("status", "error");
        }
        _ => {
            span.record("status", "completed");
        }
    }
}

/// Whether a completed item failed: a command, file change or tool call with status `failed`.
fn item_failed(item: &ThreadItem) -> bool {
    let status = match &item.details {
        ItemDetails::CommandExecution(command) => wire_name(&command.status),
        ItemDetails::FileChange(change) => wire_name(&change.status),
        ItemDetails::McpToolCall(call) => wire_name(&call.status),
        ItemDetails::DynamicToolCall(call) => wire_name(&call.status),
        _ => return false,
    };
    status == "failed"
}

/// The wire name of a status (`completed`, `failed`, …).
fn wire_name(status: &impl serde::Serialize) -> String {
    match serde_json::to_value(status) {
        Ok(Value::String(name)) => name,
        _ => "unknown".to_owned(),
    }
}

fn millis(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_is_deterministic_and_follows_the_ratio() {
        let half = TelemetryOptions::default().with_item_sample_ratio(0.5);
        let ids: Vec<String> = (0..2000).map(|i| format!("item_{i}")).collect();
        let kept = ids.iter().filter(|id| half.sampled(id)).count();
        assert!((800..1200).contains(&kept), "{kept}");
        assert!(ids.iter().all(|id| half.sampled(id) == half.sampled(id)));
        let none = TelemetryOptions::default().with_item_sample_ratio(0.0);
        assert!(ids.iter().all(|id| !none.sampled(id)));
        assert!(ids.iter().all(|id| TelemetryOptions::default().sampled(id)));
        assert_eq!(
            TelemetryOptions::default()
                .with_item_sample_ratio(f64::NAN)
                .item_sample_ratio,
            0.0
        );
    }
}
