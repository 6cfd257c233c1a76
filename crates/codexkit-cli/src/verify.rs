//! `codexkit verify`: is this machine's codex the pinned one, and do the committed schema
//! snapshot and fixtures still hold?
//!
//! Checks, each reported as a ✓/✗ line (or as JSON with `--json`):
//!
//! 1. a codex binary is found (`--codex-path`, `CODEXKIT_CODEX_PATH`, the install cache,
//!    `PATH`);
//! 2. its `--version` equals the pin;
//! 3. its sha256 equals the pin file's `binary_sha256` for this platform (skipped when the pin
//!    has none);
//! 4. `codex app-server generate-json-schema` gives the committed snapshot
//!    (`fixtures/schema/app-server/`) once both are canonicalized ([`canonical_schema`]); on a
//!    difference, the methods and types added, removed and changed are listed;
//! 5. the recordings' `MANIFEST` matches their files;
//! 6. every recorded fixture decodes with the library's decoders, with no `Unknown` for a known
//!    type (see [`crate::parity`]).

use crate::fixtures::{self, Manifest, say};
use crate::parity::{self, Decoder};
use clap::Args;
use codexkit::binary::{self, CodexBinary, DiscoveryOptions};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Exit code: a regression check found a difference (`codexkit verify`, `codexkit fixtures
/// check`, `codexkit parity`). Documented in README.md.
pub const VERIFICATION_FAILED: u8 = 6;

pub const EXAMPLES: &str = "\
Examples:
  codexkit verify                          # the discovered codex against the pin, schema and fixtures
  codexkit verify --codex-path ./codex --json
  codexkit verify --update-schema          # rewrite fixtures/schema/ from this codex (after a pin bump)";

/// How long `generate-json-schema` may take.
const SCHEMA_TIMEOUT: Duration = Duration::from_secs(60);

/// `codexkit verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The codex binary to verify (default: discovery, as for `codexkit run`).
    #[arg(long, value_name = "PATH")]
    codex_path: Option<PathBuf>,
    /// Print the results as one JSON object.
    #[arg(long)]
    json: bool,
    /// The fixtures root, with `schema/` and `codex-<pin>/` (default: the source tree's).
    #[arg(long, value_name = "DIR")]
    fixtures: Option<PathBuf>,
    /// Write the schema snapshot from this codex instead of comparing with it.
    #[arg(long)]
    update_schema: bool,
}

/// One check's result.
#[derive(Debug, Clone)]
struct Check {
    name: &'static str,
    /// `Some(true)` passed, `Some(false)` failed, `None` skipped.
    ok: Option<bool>,
    detail: String,
}

impl Check {
    fn pass(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            name,
            ok: Some(true),
            detail: detail.into(),
        }
    }

    fn fail(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            name,
            ok: Some(false),
            detail: detail.into(),
        }
    }

    fn skip(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            name,
            ok: None,
            detail: detail.into(),
        }
    }
}

/// `codexkit verify`.
pub async fn verify(args: VerifyArgs) -> u8 {
    let root = args
        .fixtures
        .clone()
        .unwrap_or_else(fixtures::default_fixtures_root);
    let mut checks = Vec::new();

    let mut discovery = DiscoveryOptions::default();
    if let Some(path) = &args.codex_path {
        discovery = discovery.with_explicit_path(path);
    }
    let found = match binary::discover(&discovery) {
        Ok(found) => {
            checks.push(Check::pass(
                "binary",
                format!("codex found at {}", found.path.display()),
            ));
            Some(found)
        }
        Err(error) => {
            checks.push(Check::fail("binary", error.to_string()));
            None
        }
    };
    match &found {
        Some(found) => {
            let version_check = {
                let found = found.clone();
                tokio::task::spawn_blocking(move || found.version()).await
            };
            checks.push(match version_check {
                Ok(Ok(version)) if version == binary::PINNED_VERSION => Check::pass(
                    "version",
                    format!(
                        "--version says {version}, the pin is {}",
                        binary::PINNED_VERSION
                    ),
                ),
                Ok(Ok(version)) => Check::fail(
                    "version",
                    format!(
                        "--version says {version}, the pin is {}",
                        binary::PINNED_VERSION
                    ),
                ),
                Ok(Err(error)) => Check::fail("version", error.to_string()),
                Err(error) => Check::fail("version", format!("the check did not run: {error}")),
            });
            let path = found.path.clone();
            checks.push(
                tokio::task::spawn_blocking(move || check_sha256(&path))
                    .await
                    .unwrap_or_else(|e| Check::fail("sha256", e.to_string())),
            );
            checks.push(check_schema(found, &root.join("schema"), args.update_schema).await);
        }
        None => {
            for name in ["version", "sha256", "schema"] {
                checks.push(Check::skip(name, "no codex binary"));
            }
        }
    }
    let recordings = root.join(format!("codex-{}", binary::PINNED_VERSION));
    checks.push(check_manifest(&recordings));
    checks.push(check_decoding(&recordings));

    let failed = checks.iter().any(|c| c.ok == Some(false));
    if args.json {
        let value = json!({
            "ok": !failed,
            "pinned_version": binary::PINNED_VERSION,
            "checks": checks.iter().map(|c| json!({
                "name": c.name,
                "status": match c.ok { Some(true) => "pass", Some(false) => "fail", None => "skipped" },
                "detail": c.detail,
            })).collect::<Vec<_>>(),
        });
        say!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
    } else {
        for check in &checks {
            let mark = match check.ok {
                Some(true) => "✓",
                Some(false) => "✗",
                None => "-",
            };
            let mut lines = check.detail.lines();
            say!("{mark} {}: {}", check.name, lines.next().unwrap_or(""));
            for line in lines {
                say!("    {line}");
            }
        }
        say!(
            "{}",
            if failed {
                "verification failed"
            } else {
                "verified"
            }
        );
    }
    if failed {
        VERIFICATION_FAILED
    } else {
        crate::exit::COMPLETED
    }
}

/// The binary's sha256 against the pin file.
fn check_sha256(path: &Path) -> Check {
    let expected = codexkit::install::pinned()
        .and_then(|pin| {
            let key = codexkit::install::current_platform()?;
            Ok((key, pin.platform(key)?.binary_sha256.clone()))
        })
        .map_err(|e| e.to_string());
    let (platform, expected) = match expected {
        Ok((platform, Some(hash))) => (platform, hash),
        Ok((platform, None)) => {
            return Check::skip(
                "sha256",
                format!("the pin has no binary_sha256 for {platform}"),
            );
        }
        Err(error) => return Check::skip("sha256", error),
    };
    match std::fs::read(path) {
        Ok(bytes) => {
            let actual = fixtures::sha256_hex(&bytes);
            if actual.eq_ignore_ascii_case(&expected) {
                Check::pass("sha256", format!("{actual} equals the pin for {platform}"))
            } else {
                Check::fail(
                    "sha256",
                    format!("{actual}, the pin for {platform} says {expected}"),
                )
            }
        }
        Err(error) => Check::fail("sha256", format!("{}: {error}", path.display())),
    }
}

/// The recordings' manifest against their files.
fn check_manifest(recordings: &Path) -> Check {
    match Manifest::read(recordings) {
        Err(problem) => Check::fail("fixtures manifest", problem),
        Ok(manifest) => {
            let problems = manifest.verify_files(recordings);
            if problems.is_empty() {
                Check::pass(
                    "fixtures manifest",
                    format!(
                        "{} files of {} entries match {}",
                        manifest.files.len(),
                        manifest.scenarios.len(),
                        recordings.join(fixtures::MANIFEST).display()
                    ),
                )
            } else {
                Check::fail("fixtures manifest", problems.join("\n"))
            }
        }
    }
}

/// Every recording decodes with no `Unknown`.
fn check_decoding(recordings: &Path) -> Check {
    if !recordings.is_dir() {
        return Check::fail(
            "fixtures decode",
            format!("{} is not a directory", recordings.display()),
        );
    }
    let results = parity::replay_recordings(recordings, &Decoder::faithful());
    let messages: usize = results.iter().map(|r| r.messages).sum();
    let problems: Vec<String> = results
        .iter()
        .flat_map(|r| {
            r.problems
                .lines()
                .into_iter()
                .filter(|p| !p.contains("disagree"))
                .map(|p| format!("{}: {p}", r.name))
        })
        .collect();
    if problems.is_empty() {
        Check::pass(
            "fixtures decode",
            format!(
                "{messages} messages of {} entries decode, no Unknown, re-encoding is stable",
                results.len()
            ),
        )
    } else {
        Check::fail("fixtures decode", problems.join("\n"))
    }
}

// ---------------------------------------------------------------------------------------------
// Schema
// ---------------------------------------------------------------------------------------------

/// Array members whose order carries no meaning in a JSON Schema; they are sorted.
const UNORDERED_KEYS: &[&str] = &["required", "enum", "type", "oneOf", "anyOf", "allOf"];

/// A schema in canonical form: object keys sorted, and the arrays of [`UNORDERED_KEYS`] sorted
/// by their canonical JSON.
pub fn canonical_schema(value: &Value) -> Value {
    fn walk(value: &Value, key: Option<&str>) -> Value {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                let mut out = serde_json::Map::new();
                for k in keys {
                    if let Some(inner) = map.get(k) {
                        out.insert(k.clone(), walk(inner, Some(k)));
                    }
                }
                Value::Object(out)
            }
            Value::Array(items) => {
                let mut items: Vec<Value> = items.iter().map(|item| walk(item, None)).collect();
                if key.is_some_and(|k| UNORDERED_KEYS.contains(&k)) {
                    items.sort_by_cached_key(|item| item.to_string());
                }
                Value::Array(items)
            }
            other => other.clone(),
        }
    }
    walk(value, None)
}

/// Reads every `*.json` under `dir` in canonical form, by relative path.
pub fn read_schema_tree(dir: &Path) -> Result<BTreeMap<String, Value>, String> {
    let mut tree = BTreeMap::new();
    for relative in fixtures::list_files(dir) {
        if !relative.ends_with(".json") {
            continue;
        }
        let path = dir.join(&relative);
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let value: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        tree.insert(relative, canonical_schema(&value));
    }
    Ok(tree)
}

/// Runs `codex app-server generate-json-schema --out DIR` and reads the result.
async fn generate_schema(found: &CodexBinary) -> Result<BTreeMap<String, Value>, String> {
    let out = tempfile::Builder::new()
        .prefix("codexkit-schema-")
        .tempdir()
        .map_err(|e| format!("a temporary directory: {e}"))?;
    let mut command = tokio::process::Command::new(&found.path);
    command
        .args(["app-server", "generate-json-schema", "--out"])
        .arg(out.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let output = tokio::time::timeout(SCHEMA_TIMEOUT, command.output())
        .await
        .map_err(|_| format!("generate-json-schema took longer than {SCHEMA_TIMEOUT:?}"))?
        .map_err(|e| format!("{}: {e}", found.path.display()))?;
    if !output.status.success() {
        return Err(format!(
            "generate-json-schema failed ({}): {}",
            output.status,
            codexkit::redact::Redactor::from_env(std::env::vars())
                .redact(String::from_utf8_lossy(&output.stderr).trim())
        ));
    }
    let tree = read_schema_tree(out.path())?;
    if tree.is_empty() {
        return Err("generate-json-schema wrote no JSON files".into());
    }
    Ok(tree)
}

/// Writes a canonical schema tree (pretty JSON, two-space indent).
fn write_schema_tree(dir: &Path, tree: &BTreeMap<String, Value>) -> Result<(), String> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    for (relative, value) in tree {
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
        std::fs::write(&path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

/// The method names a top-level union file (`ClientRequest.json`, …) lists, each with the
/// canonical JSON of its variant and of the definition its `params` refer to.
fn methods(file: Option<&Value>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Some(file) = file else {
        return out;
    };
    let definitions = file.get("definitions");
    let variants = file
        .get("oneOf")
        .or_else(|| file.get("anyOf"))
        .and_then(Value::as_array);
    for variant in variants.into_iter().flatten() {
        let Some(method) = variant
            .pointer("/properties/method/enum/0")
            .and_then(Value::as_str)
        else {
            continue;
        };
        let params = variant
            .pointer("/properties/params/$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.rsplit('/').next())
            .and_then(|name| definitions?.get(name));
        out.insert(
            method.to_owned(),
            format!(
                "{variant}{}",
                params.map(Value::to_string).unwrap_or_default()
            ),
        );
    }
    out
}

/// Added, removed and changed names between two maps.
fn compare<T: PartialEq>(
    old: &BTreeMap<String, T>,
    new: &BTreeMap<String, T>,
) -> (Vec<String>, Vec<String>, Vec<String>) {
    let added = new
        .keys()
        .filter(|k| !old.contains_key(*k))
        .cloned()
        .collect();
    let removed = old
        .keys()
        .filter(|k| !new.contains_key(*k))
        .cloned()
        .collect();
    let changed = old
        .iter()
        .filter(|(k, v)| new.get(*k).is_some_and(|n| n != *v))
        .map(|(k, _)| k.clone())
        .collect();
    (added, removed, changed)
}

/// What differs between the committed and the generated schema, by method, type and file.
pub fn schema_differences(
    committed: &BTreeMap<String, Value>,
    generated: &BTreeMap<String, Value>,
) -> Vec<String> {
    let mut lines = Vec::new();
    let mut push =
        |what: &str, (added, removed, changed): (Vec<String>, Vec<String>, Vec<String>)| {
            for (verb, names) in [("added", added), ("removed", removed), ("changed", changed)] {
                if !names.is_empty() {
                    let shown: Vec<&str> = names.iter().take(20).map(String::as_str).collect();
                    let more = if names.len() > shown.len() {
                        format!(" … and {} more", names.len() - shown.len())
                    } else {
                        String::new()
                    };
                    lines.push(format!(
                        "{what} {verb} ({}): {}{more}",
                        names.len(),
                        shown.join(", ")
                    ));
                }
            }
        };
    for file in [
        "ClientRequest.json",
        "ServerRequest.json",
        "ServerNotification.json",
        "ClientNotification.json",
    ] {
        let label = format!("{} methods", file.trim_end_matches(".json"));
        push(
            &label,
            compare(&methods(committed.get(file)), &methods(generated.get(file))),
        );
    }
    let definitions = |tree: &BTreeMap<String, Value>| -> BTreeMap<String, Value> {
        tree.iter()
            .filter(|(path, _)| path.ends_with(".schemas.json"))
            .filter_map(|(_, bundle)| bundle.get("definitions")?.as_object().cloned())
            .flatten()
            .collect()
    };
    push(
        "types",
        compare(&definitions(committed), &definitions(generated)),
    );
    push("files", compare(committed, generated));
    lines
}

/// The generated schema against the committed snapshot (or writes the snapshot).
async fn check_schema(found: &CodexBinary, schema_root: &Path, update: bool) -> Check {
    let generated = match generate_schema(found).await {
        Ok(tree) => tree,
        Err(error) => return Check::fail("schema", error),
    };
    let snapshot = schema_root.join("app-server");
    if update {
        return match write_schema_tree(&snapshot, &generated) {
            Ok(()) => Check::pass(
                "schema",
                format!(
                    "wrote {} canonical files to {}",
                    generated.len(),
                    snapshot.display()
                ),
            ),
            Err(error) => Check::fail("schema", error),
        };
    }
    let committed = match read_schema_tree(&snapshot) {
        Ok(tree) if !tree.is_empty() => tree,
        Ok(_) => {
            return Check::fail(
                "schema",
                format!(
                    "no snapshot in {} (write one with `codexkit verify --update-schema`)",
                    snapshot.display()
                ),
            );
        }
        Err(error) => return Check::fail("schema", error),
    };
    if committed == generated {
        let files: BTreeSet<&String> = committed.keys().collect();
        return Check::pass(
            "schema",
            format!(
                "generate-json-schema equals {} ({} files)",
                snapshot.display(),
                files.len()
            ),
        );
    }
    let mut detail = format!("generate-json-schema differs from {}:", snapshot.display());
    for line in schema_differences(&committed, &generated) {
        detail.push('\n');
        detail.push_str(&line);
    }
    Check::fail("schema", detail)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn canonical_schema_sorts_unordered_arrays_only() {
        let a = json!({"required": ["b", "a"], "enum": ["y", "x"], "items": [2, 1],
                       "oneOf": [{"const": 2}, {"const": 1}]});
        let b = json!({"oneOf": [{"const": 1}, {"const": 2}], "items": [2, 1],
                       "enum": ["x", "y"], "required": ["a", "b"]});
        assert_eq!(canonical_schema(&a), canonical_schema(&b));
        assert_ne!(
            canonical_schema(&json!({"items": [1, 2]})),
            canonical_schema(&json!({"items": [2, 1]}))
        );
    }

    #[test]
    fn schema_differences_name_methods_and_types() {
        let request = |methods: &[&str]| json!({"oneOf": methods.iter().map(|m| json!({"properties": {"method": {"enum": [m]}}})).collect::<Vec<_>>()});
        let mut old = BTreeMap::new();
        old.insert("ClientRequest.json".to_owned(), request(&["a/b", "c/d"]));
        old.insert(
            "x.schemas.json".to_owned(),
            json!({"definitions": {"T": {"type": "string"}}}),
        );
        let mut new = BTreeMap::new();
        new.insert("ClientRequest.json".to_owned(), request(&["a/b", "e/f"]));
        new.insert(
            "x.schemas.json".to_owned(),
            json!({"definitions": {"T": {"type": "integer"}, "U": {}}}),
        );
        let lines = schema_differences(&old, &new).join("\n");
        assert!(
            lines.contains("ClientRequest methods added (1): e/f"),
            "{lines}"
        );
        assert!(
            lines.contains("ClientRequest methods removed (1): c/d"),
            "{lines}"
        );
        assert!(lines.contains("types added (1): U"), "{lines}");
        assert!(lines.contains("types changed (1): T"), "{lines}");
    }
}
