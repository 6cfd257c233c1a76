//! Event throughput of the exec path against the floor, measured side by side in one run.
//!
//! `cargo bench -p codexkit --bench throughput` prints a table and writes
//! `target/bench/throughput.json`. Each measurement runs in a fresh child process (this binary
//! re-executed with `--measure`), so peak RSS is per case. A fake codex (`cat` of a prepared
//! JSONL file) streams N events of about B bytes.
//!
//! Modes: `floor` = spawn + tokio line reader + serde into the typed event enum;
//! `sdk` = `Thread::run_streamed` consuming every event.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use codexkit::binary::{CodexBinary, DiscoverySource};
use codexkit::{Codex, CodexOptions, ThreadOptions};
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
const MODES: &[&str] = &["floor", "sdk"];
const ROUNDS: usize = 3;

fn main() {
    let args: Vec<String> = std::env::args().collect();
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
        let mut samples: Vec<Vec<Value>> = vec![Vec::new(); MODES.len()];
        // Interleave modes round by round so machine noise hits them alike.
        for _ in 0..ROUNDS {
            for (m, mode) in MODES.iter().enumerate() {
                let out = Command::new(&args[0])
                    .args([
                        "--measure",
                        &index.to_string(),
                        mode,
                        script.to_str().unwrap(),
                    ])
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let line = String::from_utf8_lossy(&out.stdout);
                let last = line.lines().last().unwrap_or_default().to_owned();
                samples[m].push(serde_json::from_str(&last).unwrap());
            }
        }
        let medians: Vec<Value> = samples.iter().map(|s| median(s)).collect();
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
    println!(
        "{:<26} {:<6} {:>12} {:>9} {:>15} {:>12} {:>7}",
        "case", "mode", "events/s", "MB/s", "first event ms", "peak RSS MB", "ratio"
    );
    for row in &rows {
        println!(
            "{:<26} {:<6} {:>12} {:>9} {:>15} {:>12} {:>7}",
            row["case"].as_str().unwrap(),
            row["mode"].as_str().unwrap(),
            row["events_per_s"],
            row["mb_per_s"],
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
                    sdk(&script).await
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

async fn sdk(script: &Path) -> (usize, Option<Instant>) {
    let codex = Codex::with_binary(
        CodexBinary::new(script, DiscoverySource::ExplicitPath),
        CodexOptions::default(),
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
