//! The `codexkit-fake-codex` binary does what its script says.
//!
//! These tests also make Cargo build the binary for `cargo test --workspace`, which is what
//! lets other crates' tests find it with `fake_codex_bin()`.

#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use codexkit_testkit::fake_bin::{FakeScript, FakeStep, RawBytes, Stream};
use codexkit_testkit::{Invocation, fake_codex_bin};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_codexkit-fake-codex");

fn install(script: &FakeScript) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = script.install_with(dir.path(), Path::new(BIN)).unwrap();
    (dir, path)
}

fn run(path: &Path, args: &[&str], stdin: &[u8]) -> std::process::Output {
    let mut child = Command::new(path)
        .args(args)
        .env("FAKE_TEST_VAR", "visible-value")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    output
}

fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

fn pgid(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(2)?.parse().ok()
}

fn wait_for(path: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(text) = std::fs::read_to_string(path)
            && text.ends_with('\n')
        {
            return text;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("{} was not written", path.display());
}

#[test]
fn the_locator_finds_this_build_of_the_binary() {
    let found = fake_codex_bin().expect("found next to the test executable");
    assert_eq!(
        std::fs::canonicalize(found).unwrap(),
        std::fs::canonicalize(BIN).unwrap()
    );
}

#[test]
fn version_comes_from_the_sidecar_script_even_without_the_environment() {
    let (_dir, path) = install(&FakeScript::new().version("0.1.0"));
    let output = Command::new(&path)
        .arg("--version")
        .env_remove("CODEXKIT_FAKE_SCRIPT")
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout), "codex-cli 0.1.0\n");
}

#[test]
fn a_missing_script_is_a_clear_failure() {
    let output = Command::new(BIN).arg("exec").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("CODEXKIT_FAKE_SCRIPT"));
}

#[test]
fn the_script_env_var_wins_over_the_sidecar() {
    let (dir, path) = install(&FakeScript::new().step(FakeStep::stdout_line("sidecar")));
    let other = dir.path().join("other.json");
    std::fs::write(
        &other,
        FakeScript::new()
            .step(FakeStep::stdout_line("from env"))
            .to_json(),
    )
    .unwrap();
    let output = Command::new(&path)
        .arg("exec")
        .env("CODEXKIT_FAKE_SCRIPT", &other)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), "from env\n");
}

#[test]
fn output_steps_write_exact_bytes_and_templates() {
    let (_dir, path) = install(
        &FakeScript::new()
            .step(FakeStep::stdout_line("var={{env:FAKE_TEST_VAR}}"))
            .step(FakeStep::StdoutBytes(vec![0xff, 0xfe, b'\n'].into()))
            .step(FakeStep::StdoutBytes(RawBytes::Base64("4pyT".into())))
            .step(FakeStep::StdoutBytes(RawBytes::Text("\n".into())))
            .step(FakeStep::Fill {
                stream: Stream::Stdout,
                byte: b'x',
                len: 200_000,
                newline: true,
            })
            .step(FakeStep::StderrBytes(vec![0xc3].into()))
            .step(FakeStep::stderr_flood(1_000_000))
            .step(FakeStep::EchoEnv(Stream::Stderr))
            .step(FakeStep::Exit(7))
            .step(FakeStep::stdout_line("never")),
    );
    let output = run(&path, &["exec", "--json", "-"], b"prompt");
    assert_eq!(output.status.code(), Some(7));
    let mut expected = b"var=visible-value\n\xff\xfe\n\xe2\x9c\x93\n".to_vec();
    expected.extend(std::iter::repeat_n(b'x', 200_000));
    expected.push(b'\n');
    assert_eq!(output.stdout, expected);
    assert_eq!(output.stderr[0], 0xc3);
    assert_eq!(output.stderr[1..1_000_001], vec![b'e'; 1_000_000][..]);
    let env = String::from_utf8_lossy(&output.stderr[1_000_001..]);
    assert!(
        env.lines().any(|l| l == "FAKE_TEST_VAR=visible-value"),
        "{env}"
    );
}

#[test]
fn split_writes_arrive_apart() {
    let (_dir, path) = install(
        &FakeScript::new()
            .step(FakeStep::StdoutBytes(vec![b'a', 0xe2, 0x9c].into()))
            .step(FakeStep::SleepMs(300))
            .step(FakeStep::StdoutBytes(vec![0x93, b'\n'].into())),
    );
    let mut child = Command::new(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    let n = stdout.read(&mut first).unwrap();
    assert_eq!(&first[..n], &[b'a', 0xe2, 0x9c], "the first write alone");
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, [0x93, b'\n']);
    assert!(child.wait().unwrap().success());
}

#[test]
fn kill_self_ends_by_that_signal() {
    for signal in [9, 11, 15] {
        let (_dir, path) = install(
            &FakeScript::new()
                .ignore_sigterm(true)
                .step(FakeStep::KillSelf(signal)),
        );
        let output = run(&path, &[], b"");
        assert_eq!(output.status.signal(), Some(signal), "{output:?}");
    }
}

#[test]
fn a_blocked_sigterm_leaves_the_fake_running_until_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let (_d, path) = install(
        &FakeScript::new()
            .ignore_sigterm(true)
            .pid_file(&pid_file)
            .step(FakeStep::Hang),
    );
    let mut child = Command::new(&path).stdin(Stdio::null()).spawn().unwrap();
    let pid: u32 = wait_for(&pid_file).trim().parse().unwrap();
    assert_eq!(pid, child.id());
    kill(Pid::from_raw(pid as i32), Signal::SIGTERM).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(child.try_wait().unwrap().is_none(), "SIGTERM ended it");
    kill(Pid::from_raw(pid as i32), Signal::SIGKILL).unwrap();
    assert_eq!(child.wait().unwrap().signal(), Some(9));
}

#[test]
fn a_grandchild_holds_stdout_stays_in_the_group_and_ignores_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("grandchild.pid");
    let (_d, path) = install(
        &FakeScript::new()
            .step(FakeStep::SpawnGrandchild {
                pid_file: Some(pid_file.clone()),
                lifetime_ms: 1_500,
            })
            .step(FakeStep::stdout_line("parent done")),
    );
    let started = Instant::now();
    let mut child = Command::new(&path)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let fake_pid = child.id();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "parent done\n");
    assert!(child.wait().unwrap().success());
    let grandchild: u32 = wait_for(&pid_file).trim().parse().unwrap();
    assert!(alive(grandchild));
    assert_eq!(pgid(grandchild), Some(fake_pid), "same process group");
    kill(Pid::from_raw(grandchild as i32), Signal::SIGTERM).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert!(alive(grandchild), "SIGTERM ended the grandchild");
    // stdout reaches EOF only when the grandchild is gone.
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(1_400),
        "EOF came before the grandchild exited: {:?}",
        started.elapsed()
    );
}

use std::os::unix::process::CommandExt;

#[test]
fn closing_stderr_early_gives_eof_while_the_fake_goes_on() {
    let (_d, path) = install(
        &FakeScript::new()
            .step(FakeStep::stderr_line("before"))
            .step(FakeStep::CloseStderr)
            .step(FakeStep::stderr_line("after: goes nowhere"))
            .step(FakeStep::SleepMs(500))
            .step(FakeStep::stdout_line("still running")),
    );
    let mut child = Command::new(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = Vec::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_end(&mut stderr)
        .unwrap();
    assert_eq!(stderr, b"before\n");
    assert!(child.try_wait().unwrap().is_none(), "stderr EOF came first");
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    assert_eq!(output.stdout, b"still running\n");
}

#[test]
fn closing_stdin_makes_the_writer_see_a_broken_pipe() {
    let (_d, path) = install(
        &FakeScript::new()
            .step(FakeStep::CloseStdin)
            .step(FakeStep::SleepMs(300)),
    );
    let mut child = Command::new(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let big = vec![b'p'; 4 << 20];
    let error = stdin.write_all(&big).expect_err("the pipe is closed");
    assert_eq!(error.kind(), std::io::ErrorKind::BrokenPipe);
    assert!(child.wait().unwrap().success());
}

#[test]
fn record_invocation_is_readable_with_invocation_read() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("record");
    let (_d, path) = install(&FakeScript::new().step(FakeStep::RecordInvocation(record.clone())));
    let output = run(&path, &["exec", "--json", "-"], b"the prompt");
    assert!(output.status.success());
    let seen = Invocation::read(&record).unwrap();
    assert_eq!(seen.args, ["exec", "--json", "-"]);
    assert_eq!(seen.stdin, b"the prompt");
    assert_eq!(seen.env_var("FAKE_TEST_VAR"), Some("visible-value"));
}

/// A JSON-RPC client on the fake's stdio.
struct Client {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Client {
    fn start(path: &Path) -> Self {
        let mut child = Command::new(path)
            .arg("app-server")
            .env("FAKE_TEST_VAR", "visible-value")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Self {
            child,
            stdin,
            lines,
        }
    }

    fn send(&mut self, message: Value) {
        writeln!(self.stdin, "{message}").unwrap();
    }

    fn line(&self) -> String {
        self.lines.recv_timeout(Duration::from_secs(10)).unwrap()
    }

    fn message(&self) -> Value {
        serde_json::from_str(&self.line()).unwrap()
    }
}

#[test]
fn app_server_mode_follows_its_json_rpc_script() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("received.jsonl");
    let (_d, path) = install(&FakeScript::new().received_log(&log).app_server_steps([
        FakeStep::Handshake,
        FakeStep::SendRequest {
            id: json!(77),
            method: "fancy/unknown".into(),
            params: json!({"env": "{{env:FAKE_TEST_VAR}}"}),
        },
        FakeStep::AwaitResponse {
            id: json!(77),
            timeout_ms: 5_000,
        },
        FakeStep::AwaitRequest("model/list".into()),
        FakeStep::SendRaw("{not json".into()),
        FakeStep::Send(json!({"id": 999, "result": {}})),
        FakeStep::Respond(json!({"data": []})),
        FakeStep::AwaitRequest("thread/start".into()),
        FakeStep::RespondError {
            code: -32600,
            message: "nope {{env:FAKE_TEST_VAR}}".into(),
        },
    ]));
    let mut client = Client::start(&path);
    client.send(json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {}}));
    let init = client.message();
    assert_eq!(init["id"], 0);
    assert_eq!(init["result"]["platformFamily"], "unix");
    client.send(json!({"jsonrpc": "2.0", "method": "initialized"}));
    let request = client.message();
    assert_eq!(
        request,
        json!({"id": 77, "method": "fancy/unknown", "params": {"env": "visible-value"}})
    );
    client.send(json!({"jsonrpc": "2.0", "id": 77, "error": {"code": -32601, "message": "no"}}));
    client.send(json!({"jsonrpc": "2.0", "id": 1, "method": "model/list", "params": {}}));
    assert_eq!(client.line(), "{not json");
    assert_eq!(client.message(), json!({"id": 999, "result": {}}));
    assert_eq!(client.message(), json!({"id": 1, "result": {"data": []}}));
    client.send(json!({"jsonrpc": "2.0", "id": 2, "method": "thread/start", "params": {}}));
    assert_eq!(
        client.message(),
        json!({"id": 2, "error": {"code": -32600, "message": "nope visible-value"}})
    );
    // After the script: every request gets an error, and EOF ends the fake.
    client.send(json!({"jsonrpc": "2.0", "id": 3, "method": "turn/start", "params": {}}));
    let reply = client.message();
    assert_eq!(reply["id"], 3);
    assert_eq!(reply["error"]["code"], -32601);
    drop(client.stdin);
    assert!(client.child.wait().unwrap().success());

    let received = std::fs::read_to_string(&log).unwrap();
    let methods: Vec<String> = received
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|m| {
            m.get("method")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| format!("response {}", m["id"]))
        })
        .collect();
    assert_eq!(
        methods,
        [
            "initialize",
            "initialized",
            "response 77",
            "model/list",
            "thread/start",
            "turn/start"
        ]
    );
}

#[test]
fn await_response_times_out_with_its_own_exit_code() {
    let (_d, path) = install(&FakeScript::new().app_server_steps([
        FakeStep::SendRequest {
            id: json!(1),
            method: "x".into(),
            params: Value::Null,
        },
        FakeStep::AwaitResponse {
            id: json!(1),
            timeout_ms: 200,
        },
    ]));
    let mut client = Client::start(&path);
    let _ = client.message();
    assert_eq!(client.child.wait().unwrap().code(), Some(121));
}

#[test]
fn a_request_that_arrives_while_awaiting_a_response_is_kept_for_the_next_step() {
    let (_d, path) = install(&FakeScript::new().app_server_steps([
        FakeStep::SendRequest {
            id: json!(5),
            method: "x".into(),
            params: Value::Null,
        },
        FakeStep::AwaitResponse {
            id: json!(5),
            timeout_ms: 5_000,
        },
        FakeStep::AwaitRequest("thread/start".into()),
        FakeStep::Respond(json!({"ok": true})),
    ]));
    let mut client = Client::start(&path);
    assert_eq!(client.message()["id"], 5);
    // The client's request overtakes its answer to the server's request.
    client.send(json!({"jsonrpc": "2.0", "id": 1, "method": "thread/start"}));
    client.send(json!({"jsonrpc": "2.0", "id": 2, "method": "model/list"}));
    client.send(json!({"jsonrpc": "2.0", "id": 5, "result": {}}));
    assert_eq!(client.message(), json!({"id": 1, "result": {"ok": true}}));
    // The unscripted request read earlier is answered after the script.
    let reply = client.message();
    assert_eq!(reply["id"], 2);
    assert_eq!(reply["error"]["code"], -32601);
    drop(client.stdin);
    assert!(client.child.wait().unwrap().success());
}
