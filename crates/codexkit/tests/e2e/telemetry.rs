//! Telemetry: the span tree of a turn with a host tool call and an approval on the
//! app-server, and item sampling. Spans are recorded by an in-memory layer installed as the
//! thread's default subscriber (the tests run on a current-thread runtime). Metrics are
//! asserted in `tests/metrics.rs`.

use crate::common::{Harness, hermetic_options, pinned_codex};
use codexkit::approvals::{AcceptAll, Approver};
use codexkit::tools::{Tool, ToolOutput, ToolSet};
use codexkit::{ApprovalMode, Codex, Error, SandboxMode, TelemetryOptions, Transport};
use codexkit_testkit::{MockResponse, OutputItem, Scenario, usage};
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;

/// A span as recorded: name, level, parent name, fields.
#[derive(Debug, Clone)]
struct SpanRecord {
    name: String,
    level: tracing::Level,
    parent: Option<String>,
    fields: BTreeMap<String, String>,
}

#[derive(Debug, Default)]
struct Recorded {
    spans: Vec<SpanRecord>,
    /// Span id → index in `spans`, while the span is open.
    open: BTreeMap<u64, usize>,
    /// `(level, message, span)` of each event.
    events: Vec<(tracing::Level, String, Option<String>)>,
}

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Recorded>>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S> tracing_subscriber::Layer<S> for Recorder
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let parent = ctx
            .span(id)
            .and_then(|span| span.parent())
            .map(|parent| parent.name().to_owned());
        let mut record = SpanRecord {
            name: attrs.metadata().name().to_owned(),
            level: *attrs.metadata().level(),
            parent,
            fields: BTreeMap::new(),
        };
        attrs.record(&mut Fields(&mut record.fields));
        let mut recorded = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let index = recorded.spans.len();
        recorded.spans.push(record);
        recorded.open.insert(id.into_u64(), index);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
        let mut recorded = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&index) = recorded.open.get(&id.into_u64()) {
            values.record(&mut Fields(&mut recorded.spans[index].fields));
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        let span = ctx.event_span(event).map(|span| span.name().to_owned());
        let message = fields.remove("message").unwrap_or_default();
        self.0
            .lock()
            .unwrap()
            .events
            .push((*event.metadata().level(), message, span));
    }

    fn on_close(&self, id: Id, _ctx: Context<'_, S>) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .open
            .remove(&id.into_u64());
    }
}

impl Recorder {
    fn spans(&self, name: &str) -> Vec<SpanRecord> {
        let recorded = self.0.lock().unwrap_or_else(|e| e.into_inner());
        recorded
            .spans
            .iter()
            .filter(|span| span.name == name)
            .cloned()
            .collect()
    }

    fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync {
        tracing_subscriber::registry().with(self.clone())
    }
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct AddArgs {
    a: i64,
    b: i64,
}

fn add_tool() -> ToolSet {
    let set = ToolSet::new();
    set.register(Tool::new("add").description("Adds two integers").handler(
        |args: AddArgs| async move { Ok(ToolOutput::json(&json!({ "sum": args.a + args.b }))) },
    ))
    .unwrap();
    set
}

fn field<'a>(span: &'a SpanRecord, name: &str) -> &'a str {
    span.fields.get(name).map_or("", String::as_str)
}

#[tokio::test]
async fn app_server_turn_with_a_tool_call_and_an_approval_has_the_span_tree() {
    let recorder = Recorder::default();
    let _default = tracing::subscriber::set_default(recorder.subscriber());
    let harness = Harness::app_server(
        Scenario::new()
            .retries(0)
            .response(MockResponse::output([OutputItem::tool(
                "add",
                json!({"a": 2, "b": 3}),
            )]))
            .response(MockResponse::output([OutputItem::exec_command(
                "touch approved.txt",
            )]))
            .response(MockResponse::message("done").with_usage(usage(100, 10, 20, 5))),
    )
    .await;
    let thread = harness.codex.start_thread(
        harness
            .thread_options()
            .with_tools(add_tool())
            .with_sandbox(SandboxMode::WorkspaceWrite)
            .with_approval_mode(ApprovalMode::Untrusted)
            .with_approver(Approver::new(Arc::new(AcceptAll))),
    );
    let turn = tokio::time::timeout(Duration::from_secs(90), thread.run("add, then touch"))
        .await
        .expect("the turn ends in time")
        .expect("the turn completes");
    let thread_id = turn.thread_id.expect("thread id").to_string();

    let threads = recorder.spans("codex.thread");
    assert_eq!(threads.len(), 1, "{threads:?}");
    assert_eq!(field(&threads[0], "transport"), "app-server");
    assert_eq!(field(&threads[0], "thread.id"), thread_id);

    let turns = recorder.spans("codex.turn");
    assert_eq!(turns.len(), 1, "{turns:?}");
    let span = &turns[0];
    assert_eq!(span.parent.as_deref(), Some("codex.thread"));
    assert_eq!(field(span, "thread.id"), thread_id);
    assert!(!field(span, "turn.id").is_empty(), "{span:?}");
    assert_eq!(field(span, "transport"), "app-server");
    assert_eq!(field(span, "model"), harness.hermetic.model());
    assert_eq!(field(span, "status"), "completed");
    assert!(span.fields.contains_key("duration_ms"), "{span:?}");
    for key in [
        "tokens.input",
        "tokens.cached",
        "tokens.output",
        "tokens.reasoning",
    ] {
        assert!(span.fields.contains_key(key), "{key} in {span:?}");
    }

    let items = recorder.spans("codex.item");
    assert!(
        items
            .iter()
            .all(|item| item.parent.as_deref() == Some("codex.turn")),
        "{items:?}"
    );
    // An INFO filter keeps the turn's shape; item spans need DEBUG.
    assert!(
        items.iter().all(|item| item.level == tracing::Level::DEBUG),
        "{items:?}"
    );
    for name in ["codex.thread", "codex.turn", "codex.tool", "codex.approval"] {
        let spans = recorder.spans(name);
        assert!(
            spans.iter().all(|span| span.level == tracing::Level::INFO),
            "{name}: {spans:?}"
        );
    }
    let types: Vec<&str> = items.iter().map(|item| field(item, "item.type")).collect();
    for expected in ["dynamic_tool_call", "command_execution", "agent_message"] {
        assert!(types.contains(&expected), "{expected} in {types:?}");
    }
    let command = items
        .iter()
        .find(|item| field(item, "item.type") == "command_execution")
        .expect("a command item");
    assert_eq!(field(command, "exit_code"), "0", "{command:?}");
    assert!(command.fields.contains_key("status"), "{command:?}");

    let tools = recorder.spans("codex.tool");
    assert_eq!(tools.len(), 1, "{tools:?}");
    assert_eq!(tools[0].parent.as_deref(), Some("codex.turn"));
    assert_eq!(field(&tools[0], "tool.name"), "add");
    assert_eq!(field(&tools[0], "status"), "completed");
    assert!(tools[0].fields.contains_key("duration_ms"), "{tools:?}");

    let approvals = recorder.spans("codex.approval");
    assert_eq!(approvals.len(), 1, "{approvals:?}");
    let approval = &approvals[0];
    assert_eq!(approval.parent.as_deref(), Some("codex.turn"));
    assert_eq!(field(approval, "approval.kind"), "command_execution");
    assert_eq!(field(approval, "status"), "resolved");
    assert_eq!(field(approval, "decision"), "accept");
    assert_eq!(field(approval, "decided_by"), "handler");
    assert!(approval.fields.contains_key("duration_ms"), "{approval:?}");
}

#[tokio::test]
async fn sampling_at_zero_keeps_thread_and_turn_spans_errors_and_failed_items_only() {
    let recorder = Recorder::default();
    let _default = tracing::subscriber::set_default(recorder.subscriber());
    let harness = Harness::start_with(
        Scenario::new()
            .retries(0)
            .response(MockResponse::output([OutputItem::exec_command("true")]))
            .response(MockResponse::output([OutputItem::exec_command("exit 3")]))
            .response(MockResponse::message("done"))
            .response(MockResponse::http_error(500, "boom")),
        Transport::AppServer,
    )
    .await;
    let codex = Codex::with_binary(
        pinned_codex(),
        hermetic_options(&harness.hermetic)
            .with_transport(Transport::AppServer)
            .with_telemetry(TelemetryOptions::default().with_item_sample_ratio(0.0)),
    );
    let thread = codex.start_thread(harness.thread_options());
    thread
        .run("run true")
        .await
        .expect("the first turn completes");
    let failed = thread.run("fail now").await.expect_err("HTTP 500");
    assert!(matches!(failed, Error::TurnFailed { .. }), "{failed:?}");

    assert_eq!(recorder.spans("codex.thread").len(), 1);
    let turns = recorder.spans("codex.turn");
    let statuses: Vec<&str> = turns.iter().map(|turn| field(turn, "status")).collect();
    assert_eq!(statuses, ["completed", "failed"], "{turns:?}");
    assert_eq!(field(&turns[1], "error.kind"), "turn_failed");
    // Of the items, only the failed command is kept.
    let items = recorder.spans("codex.item");
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(field(&items[0], "item.type"), "command_execution");
    assert_eq!(field(&items[0], "status"), "failed");
    assert_eq!(field(&items[0], "exit_code"), "3");
    assert!(recorder.spans("codex.tool").is_empty());
    let recorded = recorder.0.lock().unwrap_or_else(|e| e.into_inner());
    assert!(
        recorded.events.iter().any(|(level, message, span)| {
            *level == tracing::Level::WARN
                && message == "turn failed"
                && span.as_deref() == Some("codex.turn")
        }),
        "{:?}",
        recorded.events
    );
}

/// With the `otel` feature: spans reach an OpenTelemetry exporter as a tree, and the turn's
/// trace context reaches codex, which (with its own exporter configured) forwards it to the
/// model as `traceparent`.
#[cfg(feature = "otel")]
async fn otel_spans_and_trace_context(transport: Transport) {
    use opentelemetry_sdk::trace::InMemorySpanExporter;
    let exporter = InMemorySpanExporter::default();
    let (layer, provider) = codexkit::telemetry::otel_layer(exporter.clone(), "codexkit-test");
    let _default = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));
    let harness = Harness::start_with(
        Scenario::new()
            .retries(0)
            .response(MockResponse::message("hello")),
        transport.clone(),
    )
    .await;
    // A sink that refuses connections: codex's own export fails quietly, propagation works.
    let codex = Codex::with_binary(
        pinned_codex(),
        hermetic_options(&harness.hermetic)
            .with_transport(transport)
            .with_codex_otel_endpoint("http://127.0.0.1:9/v1/traces")
            .unwrap(),
    );
    let thread = codex.start_thread(harness.thread_options());
    tokio::time::timeout(Duration::from_secs(90), thread.run("hi"))
        .await
        .expect("the turn ends in time")
        .expect("the turn completes");
    drop(thread);
    provider.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    let find = |name: &str| {
        spans
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("{name} in {spans:?}"))
    };
    let thread_span = find("codex.thread");
    let turn_span = find("codex.turn");
    let item_span = find("codex.item");
    assert_eq!(turn_span.parent_span_id, thread_span.span_context.span_id());
    assert_eq!(item_span.parent_span_id, turn_span.span_context.span_id());
    let trace_id = turn_span.span_context.trace_id().to_string();
    let request = harness
        .mock
        .requests()
        .into_iter()
        .find(codexkit_testkit::RecordedRequest::is_model_request)
        .expect("a model request");
    let traceparent = request.header("traceparent").expect("traceparent header");
    assert!(
        traceparent.starts_with(&format!("00-{trace_id}-")),
        "{traceparent} in trace {trace_id}"
    );
}

#[cfg(feature = "otel")]
#[tokio::test]
async fn otel_exec_spans_and_trace_context_reach_codex() {
    otel_spans_and_trace_context(Transport::Exec).await;
}

#[cfg(feature = "otel")]
#[tokio::test]
async fn otel_app_server_spans_and_trace_context_reach_codex() {
    otel_spans_and_trace_context(Transport::AppServer).await;
}
