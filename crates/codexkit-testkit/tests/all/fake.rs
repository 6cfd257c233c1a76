//! The fake codex script, run for real.

use std::io::ErrorKind;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use codexkit_testkit::{FakeCodex, Invocation};
use pretty_assertions::assert_eq;

/// Spawns, retrying while the just-written script is busy (another test thread may be
/// forking at the same moment).
fn spawn(cmd: &mut Command) -> Child {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match cmd.spawn() {
            Err(e) if e.kind() == ErrorKind::ExecutableFileBusy && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other.unwrap(),
        }
    }
}

fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    spawn(cmd).wait_with_output().unwrap()
}

#[test]
fn version_probe() {
    let dir = tempfile::tempdir().unwrap();
    let path = FakeCodex::new()
        .stdout_line("never for --version")
        .exit(9)
        .write_to(dir.path())
        .unwrap();
    assert_eq!(path, dir.path().join("codex"));
    let out = run(Command::new(&path).arg("--version"));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "codex-cli 0.171.0\n"
    );

    let path = FakeCodex::new()
        .version("9.9.9")
        .write_to(dir.path())
        .unwrap();
    let out = run(Command::new(&path).arg("--version"));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "codex-cli 9.9.9\n");
    // `--version` with other arguments is a normal run.
    let out = run(Command::new(&path).args(["exec", "--version"]));
    assert_eq!(out.stdout, b"");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn lines_raw_output_and_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let transcript = dir.path().join("t.jsonl");
    std::fs::write(&transcript, "{\"type\":\"turn.started\"}\n").unwrap();
    let tricky = "it's $HOME `date` \"q\" \\n %s";
    let path = FakeCodex::new()
        .stdout_line(r#"{"type":"thread.started","thread_id":"t"}"#)
        .stdout_line(tricky)
        .stdout_file(&transcript)
        .stderr_line("warn: x")
        .stdout_raw("{\"partial\":")
        .exit(3)
        .stdout_line("after exit")
        .write_to(dir.path())
        .unwrap();
    let out = run(Command::new(&path).arg("exec").stdin(Stdio::null()));
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!(
            "{{\"type\":\"thread.started\",\"thread_id\":\"t\"}}\n{tricky}\n{{\"type\":\"turn.started\"}}\n{{\"partial\":"
        )
    );
    assert_eq!(String::from_utf8(out.stderr).unwrap(), "warn: x\n");
}

#[test]
fn stderr_bytes_long_line_and_sleep() {
    let dir = tempfile::tempdir().unwrap();
    let path = FakeCodex::new()
        .stderr_bytes(300_000)
        .stdout_long_line(2_000_000)
        .sleep_ms(150)
        .stdout_line("end")
        .write_to(dir.path())
        .unwrap();
    let started = Instant::now();
    let out = run(&mut Command::new(&path));
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stderr.len(), 300_000);
    assert!(out.stderr.iter().all(|b| *b == b'e'));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0].len(), 2_000_000);
    assert!(lines[0].bytes().all(|b| b == b'x'));
    assert_eq!(lines[1], "end");
}

#[test]
fn record_invocation_captures_args_stdin_env_cwd() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("rec dir");
    let path = FakeCodex::new()
        .record_invocation(&record)
        .stdout_line("ok")
        .write_to(dir.path())
        .unwrap();
    let args = [
        "exec",
        "--json",
        "-c",
        "model_providers.x={name=\"a b\"}",
        "multi\nline prompt",
        "",
    ];
    let work = tempfile::tempdir().unwrap();
    let mut child = Command::new(&path);
    child
        .args(args)
        .env("CODEXKIT_FAKE_TEST", "v=1\nsecond")
        .current_dir(work.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let mut spawned = spawn(&mut child);
    {
        use std::io::Write;
        let mut stdin = spawned.stdin.take().unwrap();
        stdin.write_all(b"piped\0data\n").unwrap();
    }
    let out = spawned.wait_with_output().unwrap();
    assert_eq!(out.stdout, b"ok\n");
    let call = Invocation::read(&record).unwrap();
    assert_eq!(call.args, args);
    assert_eq!(call.stdin, b"piped\0data\n");
    assert_eq!(call.env_var("CODEXKIT_FAKE_TEST"), Some("v=1\nsecond"));
    assert_eq!(
        call.cwd.canonicalize().unwrap(),
        work.path().canonicalize().unwrap()
    );
}

#[test]
fn grandchild_is_in_the_process_group_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("grandchild.pid");
    let path = FakeCodex::new()
        .spawn_grandchild_sleep(30, &pid_file)
        .exit(0)
        .write_to(dir.path())
        .unwrap();
    let mut cmd = Command::new(&path);
    cmd.process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = spawn(&mut cmd);
    let group = child.id();
    assert!(child.wait().unwrap().success());
    let pid: u32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // The grandchild outlives the script, in the script's process group.
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let pgrp: u32 = after_name.split(' ').nth(2).unwrap().parse().unwrap();
    assert_eq!(pgrp, group);
    // Kill the group, as a client must.
    let status = Command::new("/bin/sh")
        .args(["-c", &format!("kill -s KILL -- -{group}")])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        // A killed but unreaped orphan is a zombie until init reaps it.
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if state.contains(") Z") {
            break;
        }
        assert!(Instant::now() < deadline, "grandchild {pid} survived");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn nul_bytes_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let err = FakeCodex::new()
        .stdout_line("a\0b")
        .write_to(dir.path())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}
