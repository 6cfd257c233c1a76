//! `codexkit doctor`: explains what is missing when no codex can be found (exit 3), and passes
//! every blocking check with the pinned binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

fn doctor(args: &[&str], configure: impl FnOnce(&mut Command)) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_codexkit"));
    command
        .arg("doctor")
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null());
    configure(&mut command);
    command.output().expect("codexkit runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The pinned codex, as the other CLI tests find it: `CODEXKIT_CODEX_PATH` or the install cache.
fn pinned_codex() -> PathBuf {
    codexkit::binary::discover(&codexkit::binary::DiscoveryOptions::default())
        .expect("the pinned codex (CODEXKIT_CODEX_PATH or `codexkit install`)")
        .path
}

#[test]
fn without_codex_it_explains_what_is_missing_and_exits_3() {
    let cache = tempfile::tempdir().unwrap();
    let empty_path = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let configure = |command: &mut Command| {
        command
            .env_remove("CODEXKIT_CODEX_PATH")
            .env("XDG_CACHE_HOME", cache.path())
            .env("HOME", home.path())
            .env("CODEX_HOME", home.path().join(".codex"))
            .env("PATH", empty_path.path());
    };
    let output = doctor(&[], configure);
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(3),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    assert!(stdout.contains("✗ codex binary: not found"), "{stdout}");
    assert!(stdout.contains("CODEXKIT_CODEX_PATH: not set"), "{stdout}");
    assert!(stdout.contains("codexkit install"), "{stdout}");
    assert!(stdout.contains("npm: not on PATH"), "{stdout}");
    assert!(
        stdout.contains("codexkit cannot run: the codex binary is missing"),
        "{stdout}"
    );

    let output = doctor(&["--json"], configure);
    assert_eq!(output.status.code(), Some(3));
    let report: Value = serde_json::from_slice(&output.stdout).expect("one JSON object");
    assert_eq!(report["exit_code"], 3);
    assert_eq!(report["ok"], false);
    let checks = report["checks"].as_array().unwrap();
    let status = |name: &str| {
        checks
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no check {name}: {report}"))["status"]
            .clone()
    };
    assert_eq!(status("codex binary"), "fail");
    assert_eq!(status("sandbox"), "skip");
    assert_eq!(status("app-server"), "skip");
}

#[test]
fn with_the_pinned_codex_every_blocking_check_passes() {
    let codex = pinned_codex();
    let home = tempfile::tempdir().unwrap();
    let configure = |command: &mut Command| {
        command
            .env("CODEXKIT_CODEX_PATH", &codex)
            .env("CODEX_HOME", home.path())
            .env_remove("CODEX_API_KEY")
            .env_remove("OPENAI_API_KEY");
    };
    let output = doctor(&["--json"], configure);
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", text(&output.stdout)));
    assert_eq!(output.status.code(), Some(0), "{report:#}");
    let checks = report["checks"].as_array().unwrap();
    for check in checks {
        assert_ne!(check["status"], "fail", "{check}");
    }
    let by_name = |name: &str| checks.iter().find(|c| c["name"] == name).unwrap().clone();
    assert_eq!(by_name("codex binary")["status"], "ok");
    assert_eq!(by_name("codex version")["status"], "ok");
    assert_eq!(by_name("app-server")["status"], "ok");
    assert_eq!(by_name("sandbox")["status"], "ok");
    // No credentials in this CODEX_HOME: a warning that never shows a value.
    assert_eq!(by_name("credentials")["status"], "warn");

    // Credentials are reported by name only.
    std::fs::write(
        home.path().join("auth.json"),
        r#"{"secret":"do-not-print"}"#,
    )
    .unwrap();
    let output = doctor(&[], |command| {
        configure(command);
        command.env("OPENAI_API_KEY", "sk-never-printed");
    });
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("✓ credentials: OPENAI_API_KEY set"),
        "{stdout}"
    );
    assert!(!stdout.contains("sk-never-printed"), "{stdout}");
    assert!(!stdout.contains("do-not-print"), "{stdout}");
    assert!(stdout.contains("nothing blocks codexkit"), "{stdout}");
}

/// A fresh machine: no codex anywhere, then `codexkit install` into an empty cache. Doctor
/// first explains what is missing (exit 3); after the install every blocking check passes.
#[test]
fn before_install_doctor_fails_and_after_install_into_a_fresh_cache_it_passes() {
    let cache = tempfile::tempdir().unwrap();
    let codex_home = tempfile::tempdir().unwrap();
    // npm and node stay reachable (install needs them); no codex is on this PATH.
    let path = std::env::var("PATH").unwrap_or_default();
    let path: Vec<&str> = path
        .split(':')
        .filter(|dir| !std::path::Path::new(dir).join("codex").exists())
        .collect();
    let path = path.join(":");
    let configure = |command: &mut Command| {
        command
            .env_remove("CODEXKIT_CODEX_PATH")
            .env("XDG_CACHE_HOME", cache.path())
            .env("CODEX_HOME", codex_home.path())
            .env("PATH", &path);
    };
    let before = doctor(&["--json"], configure);
    assert_eq!(before.status.code(), Some(3), "{}", text(&before.stdout));

    let mut install = Command::new(env!("CARGO_BIN_EXE_codexkit"));
    install
        .arg("install")
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null());
    configure(&mut install);
    let installed = install.output().expect("codexkit install runs");
    assert_eq!(
        installed.status.code(),
        Some(0),
        "{}",
        text(&installed.stderr)
    );
    let binary = PathBuf::from(text(&installed.stdout).trim());
    assert!(binary.starts_with(cache.path()), "{}", binary.display());

    let after = doctor(&["--json"], configure);
    let report: Value = serde_json::from_slice(&after.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", text(&after.stdout)));
    assert_eq!(after.status.code(), Some(0), "{report:#}");
    let checks = report["checks"].as_array().unwrap();
    for check in checks {
        assert_ne!(check["status"], "fail", "{check}");
    }
    let codex = checks.iter().find(|c| c["name"] == "codex binary").unwrap();
    assert_eq!(codex["status"], "ok", "{codex}");
}

/// A broken binary named by `CODEXKIT_CODEX_PATH` is not fixed by reinstalling the cache, so
/// the hint names the variable instead.
#[cfg(unix)]
#[test]
fn a_broken_binary_from_the_environment_gets_a_hint_about_the_variable() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("codex");
    std::fs::write(&broken, "#!/bin/sh\necho 'cannot run' >&2\nexit 1\n").unwrap();
    std::fs::set_permissions(&broken, std::fs::Permissions::from_mode(0o755)).unwrap();
    let output = doctor(&["--json"], |command: &mut Command| {
        command
            .env("CODEXKIT_CODEX_PATH", &broken)
            .env("CODEX_HOME", dir.path().join("home"));
    });
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", text(&output.stdout)));
    assert_eq!(output.status.code(), Some(3), "{report:#}");
    let version = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "codex version")
        .unwrap()
        .clone();
    assert_eq!(version["status"], "fail", "{version}");
    let hint = version["hint"].as_str().unwrap_or_default();
    assert!(hint.contains("CODEXKIT_CODEX_PATH"), "{version}");
    assert!(!hint.contains("--force"), "{version}");
}
