//! The regression harness end to end: `codexkit fixtures record|check`, `codexkit verify` and
//! `codexkit parity`, with the real pinned codex (found through `CODEXKIT_CODEX_PATH` or the
//! install cache). Every test that changes something works on a temporary copy, never on the
//! committed fixtures.

#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PIN: &str = "0.171.0";

fn fixtures_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn recordings() -> PathBuf {
    fixtures_root().join(format!("codex-{PIN}"))
}

fn codexkit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_codexkit"))
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("codexkit runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        stdout(output),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let name = path.strip_prefix(base).unwrap().display().to_string();
                out.push((name, std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// A subset of the catalogue that covers both transports, approvals, interrupts, tools and
/// setup files, so the double recording stays quick.
const SUBSET: &[&str] = &[
    "--only",
    "plain_message",
    "--only",
    "reasoning",
    "--only",
    "patch_update",
    "--only",
    "approval_timeout",
    "--only",
    "interrupt",
    "--only",
    "host_tool_exec",
    "--only",
    "resume",
];

#[test]
fn recording_twice_gives_byte_identical_files() {
    let temp = tempfile::tempdir().unwrap();
    let first = temp.path().join("first");
    let second = temp.path().join("second");
    for out in [&first, &second] {
        let mut args = vec!["fixtures", "record", "--out", out.to_str().unwrap()];
        args.extend_from_slice(SUBSET);
        let output = codexkit(&args);
        assert!(output.status.success(), "{}", describe(&output));
    }
    let first = files(&first);
    let second = files(&second);
    assert!(first.len() > 30, "only {} files recorded", first.len());
    assert_eq!(
        first.iter().map(|(name, _)| name).collect::<Vec<_>>(),
        second.iter().map(|(name, _)| name).collect::<Vec<_>>()
    );
    for ((name, a), (_, b)) in first.iter().zip(&second) {
        assert!(
            a == b,
            "{name} differs between two recordings:\n{}\n---\n{}",
            String::from_utf8_lossy(a),
            String::from_utf8_lossy(b)
        );
    }
}

#[test]
fn check_passes_on_the_committed_fixtures() {
    let output = codexkit(&["fixtures", "check"]);
    assert!(output.status.success(), "{}", describe(&output));
    assert!(stdout(&output).contains("match a fresh recording"));
}

#[test]
fn check_names_a_hand_edited_fixture() {
    let temp = tempfile::tempdir().unwrap();
    copy_dir(&recordings(), temp.path());
    let edited = temp.path().join("plain_message/exec/events.jsonl");
    let text = std::fs::read_to_string(&edited).unwrap();
    std::fs::write(&edited, text.replace("hi there", "hello there")).unwrap();

    let output = codexkit(&[
        "fixtures",
        "check",
        "--dir",
        temp.path().to_str().unwrap(),
        "--only",
        "plain_message",
    ]);
    assert_eq!(output.status.code(), Some(6), "{}", describe(&output));
    let out = stdout(&output);
    assert!(
        out.contains("plain_message/exec/events.jsonl was changed after it was recorded"),
        "{out}"
    );
    // The fresh recording disagrees with the edit, shown as a unified diff.
    assert!(
        out.contains("-{\"item\":{\"id\":\"item_0\",\"text\":\"hello there\""),
        "{out}"
    );
    assert!(
        out.contains("+{\"item\":{\"id\":\"item_0\",\"text\":\"hi there\""),
        "{out}"
    );
    assert!(out.contains("entries that differ: plain_message"), "{out}");
}

#[test]
fn check_names_a_changed_scenario() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("recordings");
    copy_dir(&recordings(), &dir);
    let listed = codexkit(&["fixtures", "list", "--json"]);
    assert!(listed.status.success(), "{}", describe(&listed));
    let mut catalogue: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let resume = catalogue
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|e| e["name"] == "resume")
        .unwrap();
    resume["turns"][1]["prompt"] = "and the word was?".into();
    let scenarios = temp.path().join("catalogue.json");
    std::fs::write(&scenarios, catalogue.to_string()).unwrap();

    let output = codexkit(&[
        "fixtures",
        "check",
        "--dir",
        dir.to_str().unwrap(),
        "--scenarios",
        scenarios.to_str().unwrap(),
        "--only",
        "resume",
    ]);
    assert_eq!(output.status.code(), Some(6), "{}", describe(&output));
    let out = stdout(&output);
    assert!(
        out.contains("scenario resume: its definition changed since the fixtures were recorded"),
        "{out}"
    );
    assert!(
        out.contains("+{\"content\":[{\"text\":\"and the word was?\"")
            || out.contains("and the word was?"),
        "{out}"
    );
}

#[test]
fn record_refuses_a_directory_that_is_not_a_fixtures_directory() {
    let temp = tempfile::tempdir().unwrap();
    std::fs::write(temp.path().join("precious.txt"), "keep me").unwrap();
    let output = codexkit(&[
        "fixtures",
        "record",
        "--out",
        temp.path().to_str().unwrap(),
        "--only",
        "plain_message",
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(temp.path().join("precious.txt").exists());
}

#[test]
fn verify_passes_with_the_pinned_binary() {
    let output = codexkit(&["verify"]);
    assert!(output.status.success(), "{}", describe(&output));
    let out = stdout(&output);
    for line in [
        "✓ binary",
        "✓ version",
        "✓ sha256",
        "✓ schema",
        "✓ fixtures manifest",
        "✓ fixtures decode",
    ] {
        assert!(out.contains(line), "missing {line:?} in\n{out}");
    }

    let json = codexkit(&["verify", "--json"]);
    assert!(json.status.success(), "{}", describe(&json));
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["ok"], true);
    assert_eq!(value["checks"].as_array().unwrap().len(), 6);
}

/// Writes an executable sh script.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn verify_fails_with_a_binary_of_another_version() {
    let temp = tempfile::tempdir().unwrap();
    let fake = script(
        temp.path(),
        "codex",
        "case \"$1\" in --version) echo 'codex-cli 0.170.0' ;; *) exit 1 ;; esac\n",
    );
    let output = codexkit(&["verify", "--codex-path", fake.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(6), "{}", describe(&output));
    let out = stdout(&output);
    assert!(
        out.contains("✗ version: --version says 0.170.0, the pin is 0.171.0"),
        "{out}"
    );
    assert!(out.contains("✗ sha256"), "{out}");
    assert!(out.contains("verification failed"), "{out}");

    let json = codexkit(&["verify", "--json", "--codex-path", fake.to_str().unwrap()]);
    assert_eq!(json.status.code(), Some(6));
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["ok"], false);
}

#[test]
fn verify_fails_with_a_binary_whose_schema_differs() {
    let temp = tempfile::tempdir().unwrap();
    let snapshot = fixtures_root().join("schema/app-server");
    // The pinned version, and the committed schema with one method renamed and one file more.
    let fake = script(
        temp.path(),
        "codex",
        &format!(
            "case \"$1\" in --version) echo 'codex-cli {PIN}'; exit 0 ;; esac\n\
             [ \"$1 $2 $3\" = \"app-server generate-json-schema --out\" ] || exit 1\n\
             cp -r '{}'/. \"$4\"\n\
             sed -i 's#\"thread/start\"#\"thread/begin\"#' \"$4/ClientRequest.json\"\n\
             echo '{{\"title\": \"Extra\"}}' > \"$4/Extra.json\"\n",
            snapshot.display()
        ),
    );
    let output = codexkit(&["verify", "--codex-path", fake.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(6), "{}", describe(&output));
    let out = stdout(&output);
    assert!(out.contains("✓ version"), "{out}");
    assert!(
        out.contains("✗ schema: generate-json-schema differs"),
        "{out}"
    );
    assert!(
        out.contains("ClientRequest methods added (1): thread/begin"),
        "{out}"
    );
    assert!(
        out.contains("ClientRequest methods removed (1): thread/start"),
        "{out}"
    );
    assert!(out.contains("files added (1): Extra.json"), "{out}");
}

#[test]
fn parity_passes_on_the_committed_transcripts() {
    let output = codexkit(&["parity"]);
    assert!(output.status.success(), "{}", describe(&output));
    let out = stdout(&output);
    assert!(out.contains("✓ recorded/plain_message"), "{out}");
    assert!(out.contains("✓ transcripts/appserver_basic"), "{out}");
    assert!(out.contains(" 0 failed"), "{out}");
}

#[test]
fn parity_fails_when_a_decoder_drops_a_field() {
    let output = codexkit(&["parity", "--inject-decoder-fault", "text"]);
    assert_eq!(output.status.code(), Some(6), "{}", describe(&output));
    let out = stdout(&output);
    assert!(out.contains("✗ recorded/plain_message"), "{out}");
    assert!(
        out.contains("re-encoding differs: .item.text is lost"),
        "{out}"
    );
    assert!(out.contains("✗ transcripts/exec_basic"), "{out}");

    // A field the summaries do not show is still caught by the round trip.
    let output = codexkit(&["parity", "--inject-decoder-fault", "command"]);
    assert_eq!(output.status.code(), Some(6), "{}", describe(&output));
    assert!(stdout(&output).contains("✗ recorded/shell_workspace_write"));
}

/// A temporary fixtures root with copies of the recordings, transcripts and expected summaries.
fn fixtures_copy() -> tempfile::TempDir {
    let temp = tempfile::tempdir().unwrap();
    for part in [
        format!("codex-{PIN}"),
        format!("transcripts/codex-{PIN}"),
        "parity".into(),
    ] {
        copy_dir(&fixtures_root().join(&part), &temp.path().join(&part));
    }
    temp
}

#[test]
fn parity_fails_when_a_transcript_loses_a_field() {
    let root = fixtures_copy();
    let path = root
        .path()
        .join(format!("transcripts/codex-{PIN}/exec_shell.jsonl"));
    let text = std::fs::read_to_string(&path).unwrap();
    let changed: Vec<String> = text
        .lines()
        .map(|line| {
            let mut value: serde_json::Value = serde_json::from_str(line).unwrap();
            if let Some(item) = value.get_mut("item").and_then(|i| i.as_object_mut()) {
                item.remove("exit_code");
                item.remove("status");
            }
            value.to_string()
        })
        .collect();
    std::fs::write(&path, changed.join("\n") + "\n").unwrap();

    let output = codexkit(&["parity", "--fixtures", root.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(6), "{}", describe(&output));
    let out = stdout(&output);
    assert!(out.contains("✗ transcripts/exec_shell\n"), "{out}");
    assert!(out.contains("✓ transcripts/exec_basic"), "{out}");
}

#[test]
fn parity_fails_when_the_expected_summary_differs() {
    let root = fixtures_copy();
    let path = root.path().join("parity/recorded/resume.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("walnut", "chestnut")).unwrap();
    let output = codexkit(&["parity", "--fixtures", root.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(6), "{}", describe(&output));
    let out = stdout(&output);
    assert!(out.contains("✗ recorded/resume"), "{out}");
    assert!(
        out.contains("final_response: \"chestnut\" became \"walnut\""),
        "{out}"
    );
}
