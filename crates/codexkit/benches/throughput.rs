//! Event throughput of the exec path against the floor, measured side by side in one run.
//!
//! `cargo bench -p codexkit --bench throughput` prints a table and writes
//! `target/bench/throughput.json`. Each measurement runs in a fresh child process (this binary
//! re-executed with `--measure`), so peak RSS is per case. A fake codex (`cat` of a prepared
//! JSONL file) streams N events of about B bytes.
//!
//! Modes:
//!
//! * `floor` (a): spawn + tokio line reader + serde into the typed event enum;
//! * `sdk` (b): `Thread::run_streamed` consuming every event, with no tracing subscriber;
//! * `sdk+tel` (c): the same with a subscriber that formats every span and event at INFO as
//!   JSON (into a sink), at the default sampling;
//! * `sdk+full` (d): the same at TRACE, with every item sampled and deltas traced.
//!
//! The `ratio` column is each mode's time over the floor's, measured in the same run.
//!
//! The app-server path is measured against the testkit's scripted fake app-server
//! (`codexkit-fake-codex`; build it first with `cargo build --release -p codexkit-testkit
//! --bins`): 10k `item/agentMessage/delta` notifications in one turn (notification
//! throughput), and 1k `model/list` round trips on one connection. Its floor writes the
//! JSON-RPC lines itself and decodes each incoming line into `serde_json::Value`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use codexkit::binary::{CodexBinary, DiscoverySource};
use codexkit::{Codex, CodexOptions, TelemetryOptions, ThreadOptions};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

#[derive(Clone, Copy)]
struct Case {
    name: &'static str,
    events: usize,
    bytes: usize,
    concurrent: usize,
}

const CASES: &[Case] = &[
    Case {
        name: "10k x 200 B",
        events: 10_000,
        bytes: 200,
        concurrent: 1,
    },
    Case {
        name: "100k x 200 B",
        events: 100_000,
        bytes: 200,
        concurrent: 1,
    },
    Case {
        name: "1k x 64 KB",
        events: 1_000,
        bytes: 64 * 1024,
        concurrent: 1,
    },
    Case {
        name: "100 turns x 10k x 200 B",
        events: 10_000,
        bytes: 200,
        concurrent: 100,
    },
];
const MODES: &[&str] = &["floor", "sdk", "sdk+tel", "sdk+full"];
const ROUNDS: usize = 3;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--measure-app-server") {
        let kind = args[at + 1].clone();
        let mode = args[at + 2].clone();
        let fake = PathBuf::from(&args[at + 3]);
        println!("{}", measure_app_server(&kind, &mode, &fake));
        return;
    }
    if let Some(at) = args.iter().position(|a| a == "--measure") {
        let case: usize = args[at + 1].parse().unwrap();
        let mode = args[at + 2].clone();
        let script = PathBuf::from(&args[at + 3]);
        let result = measure(CASES[case], &mode, &script);
        println!("{result}");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let mut rows = Vec::new();
    for (index, case) in CASES.iter().enumerate() {
        let script = prepare(work.path(), index, case);
        let medians = sample(MODES, |mode| {
            vec![
                "--measure".to_owned(),
                index.to_string(),
                mode.to_owned(),
                script.to_string_lossy().into_owned(),
            ]
        });
        let floor_secs = medians[0]["seconds"].as_f64().unwrap();
        for (m, mode) in MODES.iter().enumerate() {
            let v = &medians[m];
            let secs = v["seconds"].as_f64().unwrap();
            let total_events = (case.events * case.concurrent) as f64;
            let total_mb = (case.events * case.bytes * case.concurrent) as f64 / 1e6;
            rows.push(json!({
                "case": case.name,
                "mode": mode,
                "events_per_s": (total_events / secs).round(),
                "mb_per_s": (total_mb / secs * 10.0).round() / 10.0,
                "first_event_ms": v["first_event_ms"],
                "peak_rss_mb": v["peak_rss_mb"],
                "ratio_to_floor": ((secs / floor_secs) * 100.0).round() / 100.0,
            }));
        }
    }
    rows.extend(app_server_rows(work.path()));
    println!(
        "{:<26} {:<8} {:>12} {:>9} {:>15} {:>12} {:>7}",
        "case", "mode", "events/s", "MB/s", "first event ms", "peak RSS MB", "ratio"
    );
    for row in &rows {
        // The app-server cases count messages, not bytes.
        let mb_per_s = row.get("mb_per_s").map_or("-".to_owned(), Value::to_string);
        println!(
            "{:<26} {:<8} {:>12} {:>9} {:>15} {:>12} {:>7}",
            row["case"].as_str().unwrap(),
            row["mode"].as_str().unwrap(),
            row["events_per_s"],
            mb_per_s,
            row["first_event_ms"],
            row["peak_rss_mb"],
            row["ratio_to_floor"],
        );
    }
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench");
    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(
        target.join("throughput.json"),
        serde_json::to_string_pretty(&rows).unwrap(),
    )
    .unwrap();
}

/// Runs this binary once per mode and round with the arguments `args(mode)`, modes
/// interleaved round by round so machine noise hits them alike, and returns each mode's median
/// measurement.
fn sample(modes: &[&str], args: impl Fn(&str) -> Vec<String>) -> Vec<Value> {
    let mut samples: Vec<Vec<Value>> = vec![Vec::new(); modes.len()];
    for _ in 0..ROUNDS {
        for (m, mode) in modes.iter().enumerate() {
            let out = Command::new(std::env::args().next().unwrap())
                .args(args(mode))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let text = String::from_utf8_lossy(&out.stdout);
            samples[m].push(serde_json::from_str(text.lines().last().unwrap()).unwrap());
        }
    }
    samples.iter().map(|s| median(s)).collect()
}

fn median(samples: &[Value]) -> Value {
    let mut sorted = samples.to_vec();
    sorted.sort_by(|a, b| {
        a["seconds"]
            .as_f64()
            .unwrap()
            .total_cmp(&b["seconds"].as_f64().unwrap())
    });
    sorted[sorted.len() / 2].clone()
}

/// Writes the events file and a fake codex that prints it.
fn prepare(dir: &Path, index: usize, case: &Case) -> PathBuf {
    let events = dir.join(format!("events-{index}.jsonl"));
    let mut text = String::with_capacity(case.events * (case.bytes + 1));
    text.push_str(r#"{"type":"thread.started","thread_id":"bench-thread"}"#);
    text.push('\n');
    let skeleton =
        r#"{"type":"item.completed","item":{"id":"item_0","type":"agent_message","text":""}}"#;
    let padding = "x".repeat(case.bytes.saturating_sub(skeleton.len()));
    for n in 0..case.events.saturating_sub(2) {
        text.push_str(&format!(
            r#"{{"type":"item.completed","item":{{"id":"item_{n}","type":"agent_message","text":"{padding}"}}}}"#
        ));
        text.push('\n');
    }
    text.push_str(r#"{"type":"turn.completed","usage":{"input_tokens":1,"cached_input_tokens":0,"cache_write_input_tokens":0,"output_tokens":1,"reasoning_output_tokens":0}}"#);
    text.push('\n');
    std::fs::write(&events, text).unwrap();
    let script_dir = dir.join(format!("codex-{index}"));
    std::fs::create_dir_all(&script_dir).unwrap();
    codexkit_testkit::FakeCodex::new()
        .stdout_file(&events)
        .write_to(&script_dir)
        .unwrap()
}

/// One measurement, in this (child) process; prints JSON.
fn measure(case: Case, mode: &str, script: &Path) -> Value {
    if let Some(level) = match mode {
        "sdk+tel" => Some(tracing::Level::INFO),
        "sdk+full" => Some(tracing::Level::TRACE),
        _ => None,
    } {
        use tracing_subscriber::Layer as _;
        use tracing_subscriber::layer::SubscriberExt as _;
        use tracing_subscriber::util::SubscriberInitExt as _;
        tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
                    .with_writer(std::io::sink)
                    .with_filter(tracing_subscriber::filter::LevelFilter::from_level(level)),
            )
            .init();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (seconds, first) = runtime.block_on(async {
        let started = Instant::now();
        let mut turns = Vec::new();
        for _ in 0..case.concurrent {
            let script = script.to_path_buf();
            let mode = mode.to_owned();
            turns.push(tokio::spawn(async move {
                let spawned = Instant::now();
                let (count, first) = if mode == "floor" {
                    floor(&script).await
                } else {
                    sdk(&script, mode == "sdk+full").await
                };
                assert_eq!(count, case.events, "{mode} saw every event");
                first.map(|f| f.duration_since(spawned))
            }));
        }
        let mut firsts = Vec::new();
        for turn in turns {
            if let Some(first) = turn.await.unwrap() {
                firsts.push(first);
            }
        }
        firsts.sort();
        (
            started.elapsed().as_secs_f64(),
            firsts.get(firsts.len() / 2).copied().unwrap_or_default(),
        )
    });
    json!({
        "seconds": seconds,
        "first_event_ms": (first.as_secs_f64() * 10_000.0).round() / 10.0,
        "peak_rss_mb": peak_rss_mb(),
    })
}

async fn floor(script: &Path) -> (usize, Option<Instant>) {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(script)
        .arg("exec")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut count = 0;
    let mut first = None;
    while let Some(line) = lines.next_line().await.unwrap() {
        let _event: codexkit::ThreadEvent = serde_json::from_str(&line).unwrap();
        first.get_or_insert_with(Instant::now);
        count += 1;
    }
    child.wait().await.unwrap();
    (count, first)
}

async fn sdk(script: &Path, full_sampling: bool) -> (usize, Option<Instant>) {
    let mut options = CodexOptions::default();
    if full_sampling {
        options = options.with_telemetry(
            TelemetryOptions::default()
                .with_item_sample_ratio(1.0)
                .with_trace_deltas(true),
        );
    }
    let codex = Codex::with_binary(
        CodexBinary::new(script, DiscoverySource::ExplicitPath),
        options,
    );
    let thread = codex.start_thread(ThreadOptions::default());
    let mut stream = thread.run_streamed("bench").await.unwrap();
    let mut count = 0;
    let mut first = None;
    while let Some(event) = stream.next().await {
        event.unwrap();
        first.get_or_insert_with(Instant::now);
        count += 1;
    }
    (count, first)
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    (kb / 1024.0 * 10.0).round() / 10.0
}

const APP_SERVER_DELTAS: usize = 10_000;
const APP_SERVER_ROUND_TRIPS: usize = 1_000;
const THREAD: &str = "thr_bench";
const TURN: &str = "turn_bench";

/// The app-server cases: each kind (notifications, round trips) in each mode, interleaved.
fn app_server_rows(dir: &Path) -> Vec<Value> {
    use codexkit_testkit::{FakeScript, FakeStep};
    let mut rows = Vec::new();
    for kind in ["notifications", "round-trips"] {
        let mut steps = vec![FakeStep::Handshake];
        if kind == "notifications" {
            steps.push(FakeStep::AwaitRequest("thread/start".into()));
            steps.push(FakeStep::Respond(json!({"thread": {"id": THREAD}})));
            steps.push(FakeStep::AwaitRequest("turn/start".into()));
            let turn =
                |status: &str| json!({"id": TURN, "items": [], "status": status, "error": null});
            steps.push(FakeStep::Respond(json!({"turn": turn("inProgress")})));
            steps.push(FakeStep::Send(json!({"method": "turn/started",
                "params": {"threadId": THREAD, "turn": turn("inProgress")}})));
            for n in 0..APP_SERVER_DELTAS {
                steps.push(FakeStep::Send(json!({"method": "item/agentMessage/delta",
                    "params": {"threadId": THREAD, "turnId": TURN, "itemId": "msg_1",
                               "delta": format!("word{n} ")}})));
            }
            steps.push(FakeStep::Send(json!({"method": "turn/completed",
                "params": {"threadId": THREAD, "turn": turn("completed")}})));
        } else {
            for _ in 0..APP_SERVER_ROUND_TRIPS {
                steps.push(FakeStep::AwaitRequest("model/list".into()));
                steps.push(FakeStep::Respond(json!({"data": [], "nextCursor": null})));
            }
        }
        steps.push(FakeStep::ReadStdin);
        let script_dir = dir.join(format!("app-server-{kind}"));
        std::fs::create_dir_all(&script_dir).unwrap();
        let fake = FakeScript::new()
            .app_server_steps(steps)
            .install(&script_dir)
            .expect("build the fake first: cargo build --release -p codexkit-testkit --bins");
        let medians = sample(&["floor", "sdk"], |mode| {
            vec![
                "--measure-app-server".to_owned(),
                kind.to_owned(),
                mode.to_owned(),
                fake.to_string_lossy().into_owned(),
            ]
        });
        let floor_secs = medians[0]["seconds"].as_f64().unwrap();
        let count = if kind == "notifications" {
            APP_SERVER_DELTAS
        } else {
            APP_SERVER_ROUND_TRIPS
        };
        for (m, mode) in ["floor", "sdk"].iter().enumerate() {
            let secs = medians[m]["seconds"].as_f64().unwrap();
            rows.push(json!({
                "case": format!("app-server {kind}"),
                "mode": mode,
                "events_per_s": (count as f64 / secs).round(),
                "first_event_ms": medians[m]["first_event_ms"],
                "peak_rss_mb": medians[m]["peak_rss_mb"],
                "ratio_to_floor": ((secs / floor_secs) * 100.0).round() / 100.0,
            }));
        }
    }
    rows
}

/// One app-server measurement in this (child) process; prints JSON. `first_event_ms` is the
/// first delta (notifications) or the first round trip.
fn measure_app_server(kind: &str, mode: &str, fake: &Path) -> Value {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (seconds, first) = runtime.block_on(async {
        let started = Instant::now();
        let first = match mode {
            "floor" => app_server_floor(kind, fake).await,
            _ => app_server_sdk(kind, fake).await,
        };
        (
            started.elapsed().as_secs_f64(),
            first.duration_since(started),
        )
    });
    json!({
        "seconds": seconds,
        "first_event_ms": (first.as_secs_f64() * 10_000.0).round() / 10.0,
        "peak_rss_mb": peak_rss_mb(),
    })
}

async fn app_server_floor(kind: &str, fake: &Path) -> Instant {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let mut child = tokio::process::Command::new(fake)
        .arg("app-server")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut send = async |message: Value| {
        stdin
            .write_all(format!("{message}\n").as_bytes())
            .await
            .unwrap();
    };
    let next_response = async |lines: &mut tokio::io::Lines<_>, id: u64| loop {
        let line: String = lines.next_line().await.unwrap().unwrap();
        let value: Value = serde_json::from_str(&line).unwrap();
        if value["id"] == json!(id) && value.get("method").is_none() {
            return value;
        }
    };
    send(json!({"id": 0, "method": "initialize",
        "params": {"clientInfo": {"name": "floor", "version": "0"}}}))
    .await;
    next_response(&mut lines, 0).await;
    send(json!({"method": "initialized"})).await;
    let mut first = None;
    if kind == "notifications" {
        send(json!({"id": 1, "method": "thread/start", "params": {}})).await;
        next_response(&mut lines, 1).await;
        send(json!({"id": 2, "method": "turn/start",
            "params": {"threadId": THREAD, "input": []}}))
        .await;
        let mut deltas = 0;
        while let Some(line) = lines.next_line().await.unwrap() {
            let value: Value = serde_json::from_str(&line).unwrap();
            match value["method"].as_str() {
                Some("item/agentMessage/delta") => {
                    first.get_or_insert_with(Instant::now);
                    deltas += 1;
                }
                Some("turn/completed") => break,
                _ => {}
            }
        }
        assert_eq!(deltas, APP_SERVER_DELTAS);
    } else {
        for n in 0..APP_SERVER_ROUND_TRIPS as u64 {
            send(json!({"id": n + 1, "method": "model/list", "params": {}})).await;
            next_response(&mut lines, n + 1).await;
            first.get_or_insert_with(Instant::now);
        }
    }
    drop(stdin);
    child.wait().await.unwrap();
    first.unwrap()
}

async fn app_server_sdk(kind: &str, fake: &Path) -> Instant {
    let codex = Codex::with_binary(
        CodexBinary::new(fake, DiscoverySource::ExplicitPath),
        CodexOptions::default().with_transport(codexkit::Transport::AppServer),
    );
    let mut first = None;
    if kind == "notifications" {
        let thread = codex.start_thread(ThreadOptions::default());
        let mut stream = thread.run_streamed("bench").await.unwrap();
        let mut deltas = 0;
        while let Some(event) = stream.next().await {
            match event.unwrap() {
                codexkit::ThreadEvent::AgentMessageDelta(_) => {
                    first.get_or_insert_with(Instant::now);
                    deltas += 1;
                }
                // A consumer that falls behind gets one `stream.lagged` for the deltas dropped.
                codexkit::ThreadEvent::Lagged(lagged) => deltas += lagged.skipped as usize,
                _ => {}
            }
        }
        assert_eq!(deltas, APP_SERVER_DELTAS);
    } else {
        let client = codex.app_server().await.unwrap();
        for _ in 0..APP_SERVER_ROUND_TRIPS {
            client.request("model/list", json!({})).await.unwrap();
            first.get_or_insert_with(Instant::now);
        }
    }
    first.unwrap()
}
