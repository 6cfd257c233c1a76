//! Discovery, version probing and installation of the codex binary, without network access.
//!
//! Installs use small tarballs built here in the layout of the npm platform packages; their
//! integrity is computed here and passed as `expected_integrity`.

// Test helpers outside `#[test]` functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine as _;
use codexkit::Error;
use codexkit::binary::{
    self, CODEX_PATH_ENV, CodexBinary, DiscoveryAttempt, DiscoveryOptions, DiscoverySource,
    PINNED_VERSION,
};
use codexkit::install::{self, InstallOptions, InstallProgress, Pin};
use sha2::{Digest, Sha512};
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier, Mutex};

const FAKE_VERSION_SCRIPT: &str = "echo 'codex-cli 0.171.0'";

/// A resource whose path in the tarball is longer than the 100 bytes a plain tar header holds.
const LONG_RESOURCE: &str =
    "codex-resources/voice/lib/gstreamer-1.0/plugins/libgstreamer-plugin-with-a-long-name.so";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Writes an executable shell script.
#[cfg(unix)]
fn write_script(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

fn current_target() -> &'static str {
    let pin = install::pinned().unwrap();
    &pin.platform(install::current_platform().unwrap())
        .unwrap()
        .target
}

/// One entry of a fake tarball: path inside the archive, contents, mode.
struct FakeEntry {
    path: String,
    contents: Vec<u8>,
    mode: u32,
}

fn entry(path: impl Into<String>, contents: impl Into<Vec<u8>>, mode: u32) -> FakeEntry {
    FakeEntry {
        path: path.into(),
        contents: contents.into(),
        mode,
    }
}

/// Entries shaped like the npm platform package for `target`.
fn platform_package_entries(target: &str) -> Vec<FakeEntry> {
    let vendor = format!("package/vendor/{target}");
    let manifest = serde_json::json!({
        "layoutVersion": 1,
        "version": PINNED_VERSION,
        "target": target,
        "variant": "codex",
        "entrypoint": "bin/codex",
        "resourcesDir": "codex-resources",
        "pathDir": "codex-path",
    });
    vec![
        entry("package/package.json", r#"{"name":"@openai/codex"}"#, 0o644),
        entry("package/README.md", "readme", 0o644),
        entry(
            format!("{vendor}/bin/codex"),
            format!("#!/bin/sh\n{FAKE_VERSION_SCRIPT}\n"),
            0o755,
        ),
        entry(format!("{vendor}/bin/codex-code-mode-host"), "host", 0o755),
        entry(format!("{vendor}/codex-path/rg"), "rg", 0o755),
        entry(
            format!("{vendor}/{LONG_RESOURCE}"),
            vec![7_u8; 300_000],
            0o644,
        ),
        entry(
            format!("{vendor}/codex-package.json"),
            manifest.to_string(),
            0o644,
        ),
    ]
}

/// Builds a gzipped tarball. Long paths get GNU long-name entries, as in real packages; paths
/// with `..` or a leading `/` are written raw into the header, which the `tar` crate's checked
/// path setter refuses to do.
fn write_tarball(path: &Path, entries: &[FakeEntry]) {
    let file = fs::File::create(path).unwrap();
    let encoder = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    let mut builder = tar::Builder::new(encoder);
    for FakeEntry {
        path,
        contents,
        mode,
    } in entries
    {
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        header.set_mode(*mode);
        header.set_entry_type(tar::EntryType::Regular);
        if path.contains("..") || path.starts_with('/') {
            let name = &mut header.as_old_mut().name;
            name[..path.len()].copy_from_slice(path.as_bytes());
            header.set_cksum();
            builder.append(&header, contents.as_slice()).unwrap();
        } else {
            builder
                .append_data(&mut header, path, contents.as_slice())
                .unwrap();
        }
    }
    builder.into_inner().unwrap().finish().unwrap();
}

fn integrity_of(path: &Path) -> String {
    let digest = Sha512::digest(fs::read(path).unwrap());
    format!(
        "sha512-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// A fake platform tarball for this machine, and its integrity.
fn fake_tarball(dir: &Path) -> (PathBuf, String) {
    let tarball = dir.join("codex-fake.tgz");
    write_tarball(&tarball, &platform_package_entries(current_target()));
    let integrity = integrity_of(&tarball);
    (tarball, integrity)
}

fn tarball_install_options(cache_root: &Path, tarball: &Path, integrity: &str) -> InstallOptions {
    InstallOptions::default()
        .with_cache_root(cache_root)
        .with_tarball(tarball)
        .with_expected_integrity(integrity)
}

/// Discovery options that read nothing from the process environment.
fn isolated_discovery(cache_root: &Path, search_path: &Path) -> DiscoveryOptions {
    DiscoveryOptions::default()
        .with_env_path(None)
        .with_cache_root(cache_root)
        .with_search_path(Some(search_path.as_os_str().to_owned()))
}

fn outcomes(attempts: &[DiscoveryAttempt]) -> Vec<(DiscoverySource, &str)> {
    attempts
        .iter()
        .map(|attempt| (attempt.source, attempt.outcome.as_str()))
        .collect()
}

fn dir_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn version_dir(cache_root: &Path) -> PathBuf {
    cache_root.join("codex").join(PINNED_VERSION)
}

// ---------------------------------------------------------------------------------------------
// Pin
// ---------------------------------------------------------------------------------------------

#[test]
fn embedded_pin_parses_and_covers_six_platforms() {
    let pin = install::pinned().unwrap();
    assert_eq!(pin.version, PINNED_VERSION);
    assert_eq!(pin.package, "@openai/codex");
    assert!(pin.launcher_integrity.starts_with("sha512-"));
    let keys: Vec<&str> = pin.platforms.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "darwin-arm64",
            "darwin-x64",
            "linux-arm64",
            "linux-x64",
            "win32-arm64",
            "win32-x64"
        ]
    );
    for (key, platform) in &pin.platforms {
        assert_eq!(
            platform.npm_spec,
            format!("@openai/codex@{PINNED_VERSION}-{key}")
        );
        assert!(platform.integrity.starts_with("sha512-"), "{key}");
    }
    assert_eq!(
        pin.platform("linux-x64").unwrap().target,
        "x86_64-unknown-linux-musl"
    );
}

#[test]
fn malformed_pin_is_a_typed_error() {
    for text in [
        "{",
        r#"{"version":"1","package":"p","launcher_integrity":"x","platforms":{}}"#,
        r#"{"version":"1","package":"p","launcher_integrity":"x","platforms":{"linux-x64":
            {"npm_spec":"s","target":"t","integrity":"sha1-abc","binary_sha256":null}}}"#,
        r#"{"version":"1","package":"p","launcher_integrity":"x","platforms":{"linux-x64":
            {"npm_spec":"s","target":"../t","integrity":"sha512-abc","binary_sha256":null}}}"#,
    ] {
        let error = Pin::parse(text).unwrap_err();
        assert!(
            matches!(&error, Error::Install { reason, .. } if reason.contains("pin file is invalid")),
            "{error}"
        );
    }
}

#[test]
fn platform_keys_follow_npm_names() {
    assert_eq!(install::platform_key("linux", "x86_64"), Some("linux-x64"));
    assert_eq!(
        install::platform_key("macos", "aarch64"),
        Some("darwin-arm64")
    );
    assert_eq!(
        install::platform_key("windows", "x86_64"),
        Some("win32-x64")
    );
    assert_eq!(install::platform_key("freebsd", "x86_64"), None);
    assert_eq!(install::platform_key("linux", "riscv64"), None);
}

#[test]
fn unsupported_platform_install_says_to_set_the_path_variable() {
    let cache = tempfile::tempdir().unwrap();
    let mut options = InstallOptions::default();
    options.cache_root = Some(cache.path().to_path_buf());
    options.platform = Some("plan9-mips".to_owned());
    let error = install::install_pinned(&options).unwrap_err();
    match &error {
        Error::Install {
            version,
            reason,
            fix,
        } => {
            assert_eq!(version, PINNED_VERSION);
            assert!(reason.contains("plan9-mips"), "{reason}");
            assert_eq!(fix, "set CODEXKIT_CODEX_PATH to a codex binary");
        }
        other => panic!("unexpected error: {other}"),
    }
    assert!(dir_names(cache.path()).is_empty());
}

// ---------------------------------------------------------------------------------------------
// Discovery
// ---------------------------------------------------------------------------------------------

#[test]
fn nothing_found_lists_every_step() {
    let cache = tempfile::tempdir().unwrap();
    let empty_path = tempfile::tempdir().unwrap();
    let error = binary::discover(&isolated_discovery(cache.path(), empty_path.path())).unwrap_err();
    let Error::BinaryNotFound { attempts } = &error else {
        panic!("unexpected error: {error}");
    };
    assert_eq!(
        outcomes(attempts),
        [
            (DiscoverySource::ExplicitPath, "not set"),
            (DiscoverySource::EnvVar, "not set"),
            (DiscoverySource::InstallCache, "not in cache"),
            (DiscoverySource::SystemPath, "not on PATH"),
        ]
    );
    let cached = binary::cached_binary_path(cache.path());
    assert_eq!(attempts[2].path.as_deref(), Some(cached.as_path()));
    assert_eq!(
        error.to_string(),
        format!(
            "codex binary not found; tried: explicit path: not set; {CODEX_PATH_ENV}: not set; \
             install cache ({}): not in cache; PATH: not on PATH. Run `codexkit install`, or set \
             CODEXKIT_CODEX_PATH to a codex binary",
            cached.display()
        )
    );
}

#[test]
fn unset_path_and_empty_env_value_are_reported() {
    let cache = tempfile::tempdir().unwrap();
    let mut options = DiscoveryOptions::default();
    options.env_path = Some(Some(OsString::new()));
    options.cache_root = Some(cache.path().to_path_buf());
    options.search_path = Some(None);
    let Error::BinaryNotFound { attempts } = binary::discover(&options).unwrap_err() else {
        panic!("expected BinaryNotFound");
    };
    assert_eq!(attempts[1].outcome, "not set");
    assert_eq!(
        (attempts[3].source, attempts[3].outcome.as_str()),
        (DiscoverySource::SystemPath, "PATH not set")
    );
}

#[test]
fn cached_binary_path_follows_the_vendor_layout() {
    let root = Path::new("/cache-root");
    let expected = root
        .join("codex")
        .join(PINNED_VERSION)
        .join(current_target())
        .join("bin")
        .join(format!("codex{}", std::env::consts::EXE_SUFFIX));
    assert_eq!(binary::cached_binary_path(root), expected);
    assert!(
        binary::default_cache_root().is_none_or(|root| root.ends_with("codexkit")),
        "default root is <user cache>/codexkit"
    );
}

#[cfg(unix)]
#[test]
fn explicit_path_wins_and_a_missing_one_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let on_path = dir.path().join("path");
    write_script(&on_path.join("codex"), FAKE_VERSION_SCRIPT);
    let explicit = dir.path().join("explicit-codex");
    write_script(&explicit, FAKE_VERSION_SCRIPT);
    let from_env = dir.path().join("env-codex");
    write_script(&from_env, FAKE_VERSION_SCRIPT);

    let mut options = isolated_discovery(dir.path(), &on_path);
    options.explicit_path = Some(explicit.clone());
    options.env_path = Some(Some(from_env.clone().into_os_string()));
    let found = binary::discover(&options).unwrap();
    assert_eq!(
        (found.path.as_path(), found.source),
        (explicit.as_path(), DiscoverySource::ExplicitPath)
    );

    // A missing explicit path does not fall through to the environment or PATH.
    let missing = dir.path().join("no-such-codex");
    options.explicit_path = Some(missing.clone());
    let error = binary::discover(&options).unwrap_err();
    let Error::BinaryNotFound { attempts } = &error else {
        panic!("unexpected error: {error}");
    };
    assert_eq!(
        outcomes(attempts),
        [(DiscoverySource::ExplicitPath, "no such file")]
    );
    assert_eq!(attempts[0].path.as_deref(), Some(missing.as_path()));
    assert!(
        error.to_string().contains(&format!(
            "explicit path ({}): no such file",
            missing.display()
        )),
        "{error}"
    );
}

#[cfg(unix)]
#[test]
fn env_path_is_used_and_a_missing_one_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let on_path = dir.path().join("path");
    write_script(&on_path.join("codex"), FAKE_VERSION_SCRIPT);
    let from_env = dir.path().join("env-codex");
    write_script(&from_env, FAKE_VERSION_SCRIPT);

    let mut options = isolated_discovery(dir.path(), &on_path);
    options.env_path = Some(Some(from_env.clone().into_os_string()));
    let found = binary::discover(&options).unwrap();
    assert_eq!(found.path, from_env);
    assert_eq!(found.source, DiscoverySource::EnvVar);

    let missing = dir.path().join("gone");
    options.env_path = Some(Some(missing.clone().into_os_string()));
    let Error::BinaryNotFound { attempts } = binary::discover(&options).unwrap_err() else {
        panic!("expected BinaryNotFound");
    };
    assert_eq!(
        outcomes(&attempts),
        [
            (DiscoverySource::ExplicitPath, "not set"),
            (DiscoverySource::EnvVar, "no such file"),
        ]
    );
    assert_eq!(attempts[1].path.as_deref(), Some(missing.as_path()));
}

#[cfg(unix)]
#[test]
fn chosen_path_that_is_not_executable_is_unusable() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("codex");
    fs::write(&plain, "not a program").unwrap();
    let mut options = isolated_discovery(dir.path(), dir.path());
    options.explicit_path = Some(plain.clone());
    match binary::discover(&options).unwrap_err() {
        Error::BinaryUnusable { path, reason } => {
            assert_eq!(path, plain);
            assert_eq!(reason, "not executable (given by explicit path)");
        }
        other => panic!("unexpected error: {other}"),
    }

    options.explicit_path = None;
    options.env_path = Some(Some(dir.path().as_os_str().to_owned()));
    match binary::discover(&options).unwrap_err() {
        Error::BinaryUnusable { reason, .. } => {
            assert_eq!(reason, format!("not a file (given by {CODEX_PATH_ENV})"));
        }
        other => panic!("unexpected error: {other}"),
    }
}

#[cfg(unix)]
#[test]
fn codex_on_path_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let bin_dir = dir.path().join("bin");
    write_script(&bin_dir.join("codex"), FAKE_VERSION_SCRIPT);
    // A non-executable `codex` earlier on PATH is skipped.
    let earlier = dir.path().join("earlier");
    fs::create_dir_all(&earlier).unwrap();
    fs::write(earlier.join("codex"), "data").unwrap();
    let search_path = std::env::join_paths([&earlier, &bin_dir]).unwrap();

    let mut options = isolated_discovery(cache.path(), dir.path());
    options.search_path = Some(Some(search_path));
    let found = binary::discover(&options).unwrap();
    assert_eq!(
        found,
        CodexBinary::new(bin_dir.join("codex"), DiscoverySource::SystemPath)
    );
}

#[cfg(unix)]
#[test]
fn install_cache_comes_before_path() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let on_path = dir.path().join("path");
    write_script(&on_path.join("codex"), FAKE_VERSION_SCRIPT);
    let (tarball, integrity) = fake_tarball(dir.path());
    let installed =
        install::install_pinned(&tarball_install_options(&cache, &tarball, &integrity)).unwrap();

    let found = binary::discover(&isolated_discovery(&cache, &on_path)).unwrap();
    assert_eq!(found.source, DiscoverySource::InstallCache);
    assert_eq!(found.path, installed);
    assert_eq!(found.path, binary::cached_binary_path(&cache));
}

#[cfg(unix)]
#[test]
fn unusable_cache_entry_falls_through_to_path() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let cached = binary::cached_binary_path(&cache);
    fs::create_dir_all(cached.parent().unwrap()).unwrap();
    fs::write(&cached, "no exec bit").unwrap();
    let on_path = dir.path().join("path");
    write_script(&on_path.join("codex"), FAKE_VERSION_SCRIPT);

    let found = binary::discover(&isolated_discovery(&cache, &on_path)).unwrap();
    assert_eq!(found.source, DiscoverySource::SystemPath);

    fs::remove_file(on_path.join("codex")).unwrap();
    let Error::BinaryNotFound { attempts } =
        binary::discover(&isolated_discovery(&cache, &on_path)).unwrap_err()
    else {
        panic!("expected BinaryNotFound");
    };
    assert_eq!(attempts[2].outcome, "not executable");
}

/// Lays out an npm global install of `@openai/codex` under `prefix`, with `bin/codex` linked to
/// the launcher, and returns the launcher script's path.
#[cfg(unix)]
fn npm_global_install(prefix: &Path) -> PathBuf {
    let package = prefix.join("lib/node_modules/@openai/codex");
    fs::create_dir_all(&package).unwrap();
    fs::write(
        package.join("package.json"),
        r#"{"name":"@openai/codex","bin":{"codex":"bin/codex.js"}}"#,
    )
    .unwrap();
    let launcher = package.join("bin/codex.js");
    write_script(&launcher, "echo launcher");
    fs::create_dir_all(prefix.join("bin")).unwrap();
    std::os::unix::fs::symlink(
        "../lib/node_modules/@openai/codex/bin/codex.js",
        prefix.join("bin/codex"),
    )
    .unwrap();
    launcher
}

#[cfg(unix)]
fn native_in_platform_package(node_modules: &Path) -> PathBuf {
    let platform = install::current_platform().unwrap();
    let native = node_modules
        .join(format!("@openai/codex-{platform}/vendor"))
        .join(current_target())
        .join("bin/codex");
    write_script(&native, FAKE_VERSION_SCRIPT);
    native
}

#[cfg(unix)]
#[test]
fn npm_launcher_resolves_to_the_nested_native_binary() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("prefix");
    npm_global_install(&prefix);
    let native =
        native_in_platform_package(&prefix.join("lib/node_modules/@openai/codex/node_modules"));

    let found = binary::discover(&isolated_discovery(dir.path(), &prefix.join("bin"))).unwrap();
    assert_eq!(found.source, DiscoverySource::SystemPath);
    assert_eq!(
        fs::canonicalize(&found.path).unwrap(),
        fs::canonicalize(&native).unwrap()
    );
    assert_eq!(found.launcher, Some(prefix.join("bin/codex")));
}

#[cfg(unix)]
#[test]
fn npm_launcher_resolves_to_a_sibling_native_binary() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("prefix");
    npm_global_install(&prefix);
    let native = native_in_platform_package(&prefix.join("lib/node_modules"));

    let found = binary::discover(&isolated_discovery(dir.path(), &prefix.join("bin"))).unwrap();
    assert_eq!(
        fs::canonicalize(&found.path).unwrap(),
        fs::canonicalize(&native).unwrap()
    );
    assert!(found.launcher.is_some());
}

#[cfg(unix)]
#[test]
fn npm_launcher_without_native_binary_is_used_as_is() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("prefix");
    npm_global_install(&prefix);

    let found = binary::discover(&isolated_discovery(dir.path(), &prefix.join("bin"))).unwrap();
    assert_eq!(found.path, prefix.join("bin/codex"));
    assert_eq!(found.launcher, None);
}

#[cfg(unix)]
#[test]
fn npm_shim_next_to_node_modules_resolves_to_the_native_binary() {
    // npm's layout on Windows: shims in the prefix, packages in `<prefix>/node_modules`.
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("prefix");
    let package = prefix.join("node_modules/@openai/codex");
    fs::create_dir_all(&package).unwrap();
    fs::write(package.join("package.json"), r#"{"name":"@openai/codex"}"#).unwrap();
    write_script(&package.join("bin/codex.js"), "echo launcher");
    write_script(
        &prefix.join("codex"),
        r#"exec node "$(dirname "$0")/node_modules/@openai/codex/bin/codex.js" "$@""#,
    );
    let native = native_in_platform_package(&package.join("node_modules"));

    let found = binary::discover(&isolated_discovery(dir.path(), &prefix)).unwrap();
    assert_eq!(found.path, native);
    assert_eq!(found.launcher, Some(prefix.join("codex")));
}

// ---------------------------------------------------------------------------------------------
// Version
// ---------------------------------------------------------------------------------------------

/// Counts warnings emitted on the current thread.
struct WarningCounter(Arc<Mutex<Vec<String>>>);

impl tracing::Subscriber for WarningCounter {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        if *event.metadata().level() == tracing::Level::WARN {
            self.0
                .lock()
                .unwrap()
                .push(event.metadata().target().to_owned());
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[cfg(unix)]
#[test]
fn probe_reads_the_version() {
    let dir = tempfile::tempdir().unwrap();
    let codex = dir.path().join("codex");
    write_script(
        &codex,
        r#"[ "$1" = --version ] && echo 'codex-cli 0.171.0'"#,
    );
    assert_eq!(binary::probe_version(&codex).unwrap(), "0.171.0");
    let found = CodexBinary::new(&codex, DiscoverySource::ExplicitPath);
    assert_eq!(found.version().unwrap(), PINNED_VERSION);
    assert_eq!(found.check_version().unwrap(), PINNED_VERSION);
}

#[cfg(unix)]
#[test]
fn other_version_is_usable_and_warned_once() {
    let dir = tempfile::tempdir().unwrap();
    let codex = dir.path().join("codex");
    write_script(&codex, "echo 'codex-cli 0.1.0'");
    let warnings = Arc::new(Mutex::new(Vec::new()));
    tracing::subscriber::with_default(WarningCounter(Arc::clone(&warnings)), || {
        assert_eq!(binary::check_version(&codex).unwrap(), "0.1.0");
        assert_eq!(binary::check_version(&codex).unwrap(), "0.1.0");
    });
    assert_eq!(warnings.lock().unwrap().len(), 1);
}

#[cfg(unix)]
#[test]
fn broken_version_answers_are_unusable() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage");
    write_script(&garbage, "echo hello");
    let failing = dir.path().join("failing");
    write_script(&failing, "echo 'bad flag' >&2; exit 3");
    let slow = dir.path().join("slow");
    write_script(&slow, "exec sleep 30");

    let reason = |result: codexkit::Result<String>| match result {
        Err(Error::BinaryUnusable { reason, .. }) => reason,
        other => panic!("unexpected result: {other:?}"),
    };
    assert_eq!(
        reason(binary::probe_version(&garbage)),
        r#"`--version` printed "hello", not `codex-cli <version>`"#
    );
    let failed = reason(binary::probe_version(&failing));
    assert!(
        failed.contains("exit status: 3") && failed.ends_with(": bad flag"),
        "{failed}"
    );

    let started = std::time::Instant::now();
    let timed_out = reason(binary::probe_version_with_timeout(
        &slow,
        std::time::Duration::from_millis(200),
    ));
    assert!(timed_out.contains("did not answer within"), "{timed_out}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));

    assert!(matches!(
        binary::probe_version(&dir.path().join("missing")),
        Err(Error::Spawn { .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// Install
// ---------------------------------------------------------------------------------------------

fn recorder() -> (Arc<Mutex<Vec<InstallProgress>>>, install::ProgressCallback) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    (
        events,
        Arc::new(move |event: InstallProgress| sink.lock().unwrap().push(event)),
    )
}

#[cfg(unix)]
#[test]
fn install_from_tarball_lays_out_the_vendor_tree_and_is_idempotent() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let (tarball, integrity) = fake_tarball(dir.path());
    let (events, progress) = recorder();
    let mut options = tarball_install_options(&cache, &tarball, &integrity);
    options.progress = Some(progress);

    let installed = install::install_pinned(&options).unwrap();
    let tree = install::install_dir(&cache, PINNED_VERSION, current_target());
    assert_eq!(installed, tree.join("bin/codex"));
    assert_eq!(
        fs::metadata(&installed).unwrap().permissions().mode() & 0o111,
        0o111
    );
    assert_eq!(
        dir_names(&tree),
        ["bin", "codex-package.json", "codex-path", "codex-resources"]
    );
    assert_eq!(fs::read(tree.join(LONG_RESOURCE)).unwrap().len(), 300_000);
    assert_eq!(
        fs::metadata(tree.join("codex-package.json"))
            .unwrap()
            .permissions()
            .mode()
            & 0o111,
        0,
        "plain files stay non-executable"
    );
    // No staging directories are left next to the install.
    assert_eq!(dir_names(&version_dir(&cache)), [current_target()]);
    assert_eq!(binary::probe_version(&installed).unwrap(), PINNED_VERSION);

    {
        let events = events.lock().unwrap();
        assert_eq!(
            events.first(),
            Some(&InstallProgress::Verifying {
                tarball: tarball.clone()
            })
        );
        let total = fs::metadata(&tarball).unwrap().len();
        assert!(events.contains(&InstallProgress::Extracting {
            done_bytes: total,
            total_bytes: total
        }));
        assert_eq!(
            events.last(),
            Some(&InstallProgress::Installed {
                path: installed.clone()
            })
        );
    }

    events.lock().unwrap().clear();
    assert_eq!(install::install_pinned(&options).unwrap(), installed);
    assert_eq!(
        *events.lock().unwrap(),
        [InstallProgress::AlreadyInstalled {
            path: installed.clone()
        }]
    );

    // Forcing replaces the install with a fresh copy.
    fs::remove_file(tree.join("codex-path/rg")).unwrap();
    options.force = true;
    assert_eq!(install::install_pinned(&options).unwrap(), installed);
    assert!(tree.join("codex-path/rg").is_file());
    assert_eq!(dir_names(&version_dir(&cache)), [current_target()]);
}

#[cfg(unix)]
#[test]
fn incomplete_install_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let (tarball, integrity) = fake_tarball(dir.path());
    let tree = install::install_dir(&cache, PINNED_VERSION, current_target());
    fs::create_dir_all(tree.join("bin")).unwrap();
    fs::write(tree.join("leftover"), "x").unwrap();

    let installed =
        install::install_pinned(&tarball_install_options(&cache, &tarball, &integrity)).unwrap();
    assert!(installed.is_file());
    assert!(!tree.join("leftover").exists());
    assert_eq!(dir_names(&version_dir(&cache)), [current_target()]);
}

#[test]
fn integrity_mismatch_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let (tarball, _) = fake_tarball(dir.path());
    let actual = integrity_of(&tarball);

    // Against the real pin: the fake tarball is not the pinned release.
    let mut options = InstallOptions::default();
    options.cache_root = Some(cache.clone());
    options.tarball = Some(tarball.clone());
    let error = install::install_pinned(&options).unwrap_err();
    let pinned = &install::pinned()
        .unwrap()
        .platform(install::current_platform().unwrap())
        .unwrap()
        .integrity;
    match &error {
        Error::Install { reason, fix, .. } => {
            assert!(
                reason.contains(&format!("expected {pinned}, got {actual}")),
                "{reason}"
            );
            assert_eq!(
                fix,
                "retry; if it persists, check your npm registry/mirror configuration"
            );
        }
        other => panic!("unexpected error: {other}"),
    }
    assert!(
        !cache.exists(),
        "nothing is written before the tarball is verified"
    );

    // Against an injected integrity.
    options.expected_integrity = Some(format!("sha512-{}", "A".repeat(86) + "=="));
    assert!(matches!(
        install::install_pinned(&options),
        Err(Error::Install { .. })
    ));
    assert!(!cache.exists());
}

#[test]
fn tarball_entries_that_escape_are_rejected() {
    let target = current_target();
    for evil in [
        format!("package/vendor/{target}/../../../escaped"),
        "/tmp/codexkit-absolute-escape".to_owned(),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        let tarball = dir.path().join("evil.tgz");
        let mut entries = platform_package_entries(target);
        entries.insert(0, entry(evil.clone(), "gotcha", 0o644));
        write_tarball(&tarball, &entries);
        let integrity = integrity_of(&tarball);

        let error = install::install_pinned(&tarball_install_options(&cache, &tarball, &integrity))
            .unwrap_err();
        assert!(
            matches!(&error, Error::Install { reason, .. } if reason.contains("escapes the package directory")),
            "{error}"
        );
        assert!(!dir.path().join("escaped").exists());
        assert!(!Path::new("/tmp/codexkit-absolute-escape").exists());
        assert!(dir_names(&version_dir(&cache)).is_empty());
    }
}

#[test]
fn tarball_without_the_platform_tree_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let tarball = dir.path().join("other.tgz");
    write_tarball(&tarball, &platform_package_entries("some-other-target"));
    let integrity = integrity_of(&tarball);
    let error = install::install_pinned(&tarball_install_options(&cache, &tarball, &integrity))
        .unwrap_err();
    assert!(
        matches!(&error, Error::Install { reason, .. } if reason.contains("has no files under")),
        "{error}"
    );
    assert!(dir_names(&version_dir(&cache)).is_empty());
}

#[cfg(unix)]
#[test]
fn concurrent_installs_share_one_intact_tree() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let (tarball, integrity) = fake_tarball(dir.path());
    let options = tarball_install_options(&cache, &tarball, &integrity);
    let barrier = Arc::new(Barrier::new(4));

    let handles: Vec<_> = (0..4)
        .map(|_| {
            let options = options.clone();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                install::install_pinned(&options)
            })
        })
        .collect();
    let results: Vec<PathBuf> = handles
        .into_iter()
        .map(|handle| handle.join().unwrap().unwrap())
        .collect();

    assert!(results.windows(2).all(|pair| pair[0] == pair[1]));
    assert_eq!(dir_names(&version_dir(&cache)), [current_target()]);
    let tree = install::install_dir(&cache, PINNED_VERSION, current_target());
    for FakeEntry { path, contents, .. } in platform_package_entries(current_target()) {
        if let Some(relative) = path.strip_prefix(&format!("package/vendor/{}/", current_target()))
        {
            assert_eq!(
                fs::read(tree.join(relative)).unwrap(),
                contents,
                "{relative}"
            );
        }
    }
    assert_eq!(binary::probe_version(&results[0]).unwrap(), PINNED_VERSION);
}

#[test]
fn missing_npm_says_to_install_node() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = InstallOptions::default();
    options.cache_root = Some(dir.path().join("cache"));
    options.npm = Some(dir.path().join("no-such-npm"));
    let error = install::install_pinned(&options).unwrap_err();
    match &error {
        Error::Install { reason, fix, .. } => {
            assert!(reason.contains("npm was not found at"), "{reason}");
            assert_eq!(
                fix,
                "install Node.js (which provides npm), or set CODEXKIT_CODEX_PATH to a codex binary"
            );
        }
        other => panic!("unexpected error: {other}"),
    }
    assert!(error.to_string().contains("Node.js"));
}

#[cfg(unix)]
#[test]
fn npm_pack_is_used_to_fetch_the_platform_package() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let (tarball, integrity) = fake_tarball(dir.path());
    let args_log = dir.path().join("npm-args");
    // Stands in for npm: records its arguments, then "downloads" the fake tarball.
    let npm = dir.path().join("npm");
    write_script(
        &npm,
        &format!(
            r#"echo "$@" > '{log}'
while [ $# -gt 0 ]; do
  if [ "$1" = --pack-destination ]; then shift; dest="$1"; fi
  shift
done
cp '{tarball}' "$dest/openai-codex-fake.tgz"
echo '[{{"filename":"openai-codex-fake.tgz","integrity":"{integrity}"}}]'"#,
            log = args_log.display(),
            tarball = tarball.display(),
        ),
    );
    let (events, progress) = recorder();
    let mut options = InstallOptions::default();
    options.cache_root = Some(cache.clone());
    options.npm = Some(npm);
    options.expected_integrity = Some(integrity);
    options.progress = Some(progress);

    let installed = install::install_pinned(&options).unwrap();
    assert_eq!(binary::probe_version(&installed).unwrap(), PINNED_VERSION);
    let platform = install::pinned()
        .unwrap()
        .platform(install::current_platform().unwrap())
        .unwrap();
    let args = fs::read_to_string(&args_log).unwrap();
    assert!(
        args.starts_with(&format!("pack {} --json", platform.npm_spec)),
        "{args}"
    );
    assert_eq!(
        events.lock().unwrap().first(),
        Some(&InstallProgress::Fetching {
            spec: platform.npm_spec.clone()
        })
    );
    // The download went into the staging directory, which is gone.
    assert_eq!(dir_names(&version_dir(&cache)), [current_target()]);
}

#[cfg(unix)]
#[test]
fn npm_failure_reports_its_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let npm = dir.path().join("npm");
    write_script(
        &npm,
        "echo 'npm error code E404' >&2; echo 'npm error 404 Not Found' >&2; echo >&2; exit 1",
    );
    let mut options = InstallOptions::default();
    options.cache_root = Some(dir.path().join("cache"));
    options.npm = Some(npm);
    match install::install_pinned(&options).unwrap_err() {
        Error::Install { reason, fix, .. } => {
            assert!(
                reason.ends_with("exit status: 1): npm error code E404\nnpm error 404 Not Found"),
                "{reason}"
            );
            assert!(fix.contains("npm registry configuration"), "{fix}");
        }
        other => panic!("unexpected error: {other}"),
    }
    assert!(dir_names(&version_dir(&dir.path().join("cache"))).is_empty());
}
