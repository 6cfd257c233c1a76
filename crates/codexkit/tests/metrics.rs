//! Metrics of a turn with host tool calls, an accepted and a timed-out approval, and of a failed
//! turn, on the app-server: every metric codexkit emits, recorded in memory.
//!
//! The recorder is global (the attachment store reports its gauge from a blocking thread), so
//! this file holds one test and runs as its own process.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "e2e/common.rs"]
#[allow(dead_code)]
mod common;

use codexkit::approvals::{ApprovalDecision, Approver, approval_fn};
use codexkit::attachments::{AttachmentStore, StageOptions, StoreConfig};
use codexkit::tools::{Tool, ToolError, ToolOutput, ToolSet};
use codexkit::{ApprovalMode, Error, Input, SandboxMode};
use codexkit_testkit::catalogue::TINY_PNG;
use codexkit_testkit::{MockResponse, OutputItem, Scenario, usage};
use common::Harness;
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct AddArgs {
    a: i64,
    b: i64,
}

/// Metric values by `name{label=value,…}` (labels sorted): counters and gauges hold their
/// value, histograms the number of samples recorded.
#[derive(Clone, Default)]
struct MetricStore(Arc<Mutex<BTreeMap<String, f64>>>);

struct MetricHandle {
    key: String,
    store: MetricStore,
}

impl MetricHandle {
    fn update(&self, update: impl FnOnce(&mut f64)) {
        let mut values = self.store.0.lock().unwrap_or_else(|e| e.into_inner());
        update(values.entry(self.key.clone()).or_default());
    }
}

impl metrics::CounterFn for MetricHandle {
    fn increment(&self, value: u64) {
        self.update(|v| *v += value as f64);
    }
    fn absolute(&self, value: u64) {
        self.update(|v| *v = value as f64);
    }
}

impl metrics::GaugeFn for MetricHandle {
    fn increment(&self, value: f64) {
        self.update(|v| *v += value);
    }
    fn decrement(&self, value: f64) {
        self.update(|v| *v -= value);
    }
    fn set(&self, value: f64) {
        self.update(|v| *v = value);
    }
}

impl metrics::HistogramFn for MetricHandle {
    fn record(&self, _value: f64) {
        self.update(|v| *v += 1.0);
    }
}

impl MetricStore {
    fn handle(&self, key: &metrics::Key) -> Arc<MetricHandle> {
        let mut labels: Vec<String> = key
            .labels()
            .map(|label| format!("{}={}", label.key(), label.value()))
            .collect();
        labels.sort();
        let key = if labels.is_empty() {
            key.name().to_owned()
        } else {
            format!("{}{{{}}}", key.name(), labels.join(","))
        };
        Arc::new(MetricHandle {
            key,
            store: self.clone(),
        })
    }

    fn get(&self, key: &str) -> f64 {
        let values = self.0.lock().unwrap_or_else(|e| e.into_inner());
        values.get(key).copied().unwrap_or_else(|| {
            panic!("metric {key} was not recorded; recorded: {values:?}");
        })
    }
}

impl metrics::Recorder for MetricStore {
    fn describe_counter(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_gauge(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_histogram(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn register_counter(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        metrics::Counter::from_arc(self.handle(key))
    }
    fn register_gauge(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::from_arc(self.handle(key))
    }
    fn register_histogram(
        &self,
        key: &metrics::Key,
        _: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        metrics::Histogram::from_arc(self.handle(key))
    }
}

#[tokio::test]
async fn turns_tools_approvals_tokens_attachments_and_processes_are_measured() {
    let metrics_store = MetricStore::default();
    // Global: staging reports the gauge from a blocking thread. This is the only test here.
    metrics::set_global_recorder(metrics_store.clone()).expect("the first recorder");
    let harness = Harness::app_server(
        Scenario::new()
            .retries(0)
            .response(MockResponse::output([OutputItem::tool(
                "add",
                json!({"a": 2, "b": 3}),
            )]))
            .response(MockResponse::output([OutputItem::tool("fail", json!({}))]))
            .response(MockResponse::output([OutputItem::exec_command(
                "touch approved.txt",
            )]))
            .response(MockResponse::output([OutputItem::exec_command(
                "touch never.txt",
            )]))
            .response(MockResponse::message("done").with_usage(usage(100, 10, 20, 5)))
            .response(MockResponse::http_error(500, "boom")),
    )
    .await;
    let tools = ToolSet::new();
    tools
        .register(Tool::new("add").description("Adds two integers").handler(
            |args: AddArgs| async move { Ok(ToolOutput::json(&json!({ "sum": args.a + args.b }))) },
        ))
        .unwrap();
    tools
        .register(
            Tool::new("fail")
                .description("Always fails")
                .raw_handler(|_| async { Err(ToolError::new("the disk is on fire")) }),
        )
        .unwrap();
    // The first command is accepted; the second is never answered and times out.
    let asked = Arc::new(AtomicUsize::new(0));
    let approver = Approver::new(approval_fn(move |_| {
        let first = asked.fetch_add(1, Ordering::SeqCst) == 0;
        async move {
            if !first {
                std::future::pending::<()>().await;
            }
            Ok(ApprovalDecision::Accept)
        }
    }))
    .with_timeout(Duration::from_secs(1));
    let thread = harness.codex.start_thread(
        harness
            .thread_options()
            .with_tools(tools)
            .with_sandbox(SandboxMode::WorkspaceWrite)
            .with_approval_mode(ApprovalMode::Untrusted)
            .with_approver(approver),
    );
    let turn = tokio::time::timeout(
        Duration::from_secs(90),
        thread.run(Input::text("add, fail, touch twice").with_image_bytes(TINY_PNG)),
    )
    .await
    .expect("the turn ends in time")
    .expect("the turn completes");
    assert_eq!(turn.final_response, "done");
    let failed = thread.run("fail now").await.expect_err("HTTP 500");
    assert!(matches!(failed, Error::TurnFailed { .. }), "{failed:?}");

    let m = &metrics_store;
    // Histograms count their samples: one per turn, call or approval.
    let expected = [
        ("codexkit.turns.started{transport=app-server}", 2.0),
        ("codexkit.turns.completed{transport=app-server}", 1.0),
        ("codexkit.turns.failed{transport=app-server}", 1.0),
        (
            "codexkit.turn.duration_seconds{status=completed,transport=app-server}",
            1.0,
        ),
        (
            "codexkit.turn.duration_seconds{status=failed,transport=app-server}",
            1.0,
        ),
        (
            "codexkit.turn.first_event_seconds{transport=app-server}",
            2.0,
        ),
        ("codexkit.tokens{kind=input}", 100.0),
        ("codexkit.tokens{kind=cached}", 10.0),
        ("codexkit.tokens{kind=output}", 20.0),
        ("codexkit.tokens{kind=reasoning}", 5.0),
        ("codexkit.tool.duration_seconds{tool=add}", 1.0),
        ("codexkit.tool.duration_seconds{tool=fail}", 1.0),
        (
            "codexkit.tool.failures{failure=handler_error,tool=fail}",
            1.0,
        ),
        ("codexkit.approvals{outcome=resolved}", 1.0),
        ("codexkit.approvals{outcome=timed_out}", 1.0),
        ("codexkit.approval.wait_seconds{outcome=resolved}", 1.0),
        ("codexkit.approval.wait_seconds{outcome=timed_out}", 1.0),
    ];
    for (key, value) in expected {
        assert_eq!(m.get(key), value, "{key}");
    }
    let store_dir = tempfile::tempdir().unwrap();
    let store =
        AttachmentStore::open(StoreConfig::new(store_dir.path()).with_cleanup_interval(None))
            .unwrap();
    let staged = store
        .stage_bytes(TINY_PNG, StageOptions::default())
        .await
        .unwrap();
    assert_eq!(
        m.get("codexkit.attachments.staged_bytes"),
        TINY_PNG.len() as f64
    );
    drop(staged);
    assert!(
        m.get("codexkit.processes.alive") >= 1.0,
        "the app-server runs"
    );
    drop(thread);
    drop(harness);
    assert!(
        common::eventually(10, || m.get("codexkit.processes.alive") == 0.0).await,
        "the app-server's exit is counted"
    );
}
