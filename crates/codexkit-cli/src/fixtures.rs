//! `codexkit fixtures`: record the scenario catalogue against the pinned codex binary and check
//! that a fresh recording still matches the committed one.
//!
//! Each catalogue entry runs once per transport through the library (`Codex`, `Thread`), with
//! the mock model and a hermetic `CODEX_HOME`. The codex binary is started through a small
//! recorder script that copies its stdin and stdout to files, so the recording has, per entry
//! and transport:
//!
//! | file | content |
//! |---|---|
//! | `events.jsonl` | the normalized events the library delivered |
//! | `stdout.jsonl` (exec) | the raw stdout of every `codex exec --json` |
//! | `client.jsonl`, `server.jsonl` (app-server) | the raw JSON-RPC, one file per direction |
//! | `argv.txt` | the arguments of every codex process |
//! | `requests.jsonl` | every request the mock model received |
//!
//! Volatile values are replaced by stable placeholders ([`Normalizer`]); the rules are in
//! `docs/upgrading-codex.md`. `MANIFEST` lists the sha256 of every file, the codex version and
//! the sha256 of each entry's canonical definition.

use crate::exit;
use clap::{Args, Subcommand};
use codexkit::approvals::{ApprovalDecision, Approver, approval_fn};
use codexkit::binary::{self, CodexBinary, DiscoveryOptions, DiscoverySource};
use codexkit::{
    ApprovalMode, Codex, CodexOptions, Input, SandboxMode, ThreadEvent, ThreadOptions, Transport,
    TurnOptions,
};
use codexkit_testkit::catalogue::{
    self, ApprovalPolicySpec, ApprovalStep, CatalogueEntry, SandboxSpec, TransportKind,
};
use codexkit_testkit::{HermeticCodex, MockModel, RecordedRequest};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const EXAMPLES: &str = "\
Examples:
  codexkit fixtures record                      # re-record fixtures/codex-<pin>/ with the pinned codex
  codexkit fixtures record --out /tmp/rec --only plain_message --only resume
  codexkit fixtures check                       # record again into a temp dir and diff (exit 6 on a difference)
  codexkit fixtures list                        # the catalogue's entries
  codexkit fixtures list --json > my.json && codexkit fixtures check --scenarios my.json";

/// The name of the manifest file in a fixtures directory.
pub const MANIFEST: &str = "MANIFEST";

/// How long one turn may take before the recording gives up on it.
const TURN_TIMEOUT: Duration = Duration::from_secs(60);

/// `codexkit fixtures`.
#[derive(Debug, Args)]
pub struct FixturesArgs {
    #[command(subcommand)]
    command: FixturesCommand,
}

#[derive(Debug, Subcommand)]
enum FixturesCommand {
    /// Run every catalogue entry against the pinned codex and write the recordings.
    Record(RecordArgs),
    /// Record again into a temporary directory and compare with the committed recordings.
    Check(CheckArgs),
    /// List the catalogue (`--json`: the definitions, usable with `--scenarios`).
    List(ListArgs),
}

/// Options shared by `record` and `check`.
#[derive(Debug, Args)]
struct RunArgs {
    /// The codex binary (default: discovery, as for `codexkit run`). It must be the pinned
    /// version.
    #[arg(long, value_name = "PATH")]
    codex_path: Option<PathBuf>,
    /// Take the catalogue from this JSON file (an array of entries, as `list --json` prints)
    /// instead of the built-in one.
    #[arg(long, value_name = "FILE")]
    scenarios: Option<PathBuf>,
    /// Only this entry (repeatable).
    #[arg(long, value_name = "NAME")]
    only: Vec<String>,
    /// How many runs go on at once.
    #[arg(long, value_name = "N", default_value_t = 2)]
    jobs: usize,
}

#[derive(Debug, Args)]
struct RecordArgs {
    /// Where to write (default: fixtures/codex-<pinned version> of the source tree). Existing
    /// recordings there are replaced.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// The recordings to check (default: fixtures/codex-<pinned version> of the source tree).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Keep the fresh recording in this directory instead of a temporary one.
    #[arg(long, value_name = "DIR")]
    keep: Option<PathBuf>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Args)]
struct ListArgs {
    /// Print the full definitions as a JSON array.
    #[arg(long)]
    json: bool,
}

/// Prints a line on stdout; a closed stdout (`| head`) is not an error worth a panic.
pub fn say_line(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}

/// `println!` that ignores a closed stdout.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::fixtures::say_line(&format!($($arg)*))
    };
}
pub(crate) use say;

/// The fixtures root of the source tree this binary was built from.
pub fn default_fixtures_root() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("..")
        .join("fixtures");
    std::fs::canonicalize(&root).unwrap_or(root)
}

/// `fixtures/codex-<pinned version>` of the source tree.
pub fn default_recordings_dir() -> PathBuf {
    default_fixtures_root().join(format!("codex-{}", binary::PINNED_VERSION))
}

/// `codexkit fixtures ...`.
pub async fn fixtures(args: FixturesArgs) -> u8 {
    match args.command {
        FixturesCommand::List(list) => list_entries(&list),
        FixturesCommand::Record(record) => match record_command(record).await {
            Ok(code) => code,
            Err(failure) => failure.report(),
        },
        FixturesCommand::Check(check) => match check_command(check).await {
            Ok(code) => code,
            Err(failure) => failure.report(),
        },
    }
}

/// Why a command could not do its work, with the exit code to report.
#[derive(Debug)]
pub struct Failure {
    /// The exit code.
    pub code: u8,
    /// The message for stderr.
    pub message: String,
}

impl Failure {
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            code: exit::USAGE,
            message: message.into(),
        }
    }

    pub fn failed(message: impl Into<String>) -> Self {
        Self {
            code: exit::TURN_FAILED,
            message: message.into(),
        }
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self {
            code: exit::CODEX_UNAVAILABLE,
            message: message.into(),
        }
    }

    pub fn report(self) -> u8 {
        eprintln!("error: {}", self.message);
        self.code
    }
}

fn list_entries(args: &ListArgs) -> u8 {
    let entries = catalogue::catalogue();
    if args.json {
        let values: Vec<Value> = entries.iter().map(CatalogueEntry::to_value).collect();
        match serde_json::to_string_pretty(&values) {
            Ok(text) => say!("{text}"),
            Err(error) => {
                eprintln!("error: {error}");
                return exit::TURN_FAILED;
            }
        }
    } else {
        for entry in &entries {
            let transports: Vec<&str> = entry.transports.iter().map(|t| t.as_str()).collect();
            say!(
                "{:<28} {:<16} {}",
                entry.name,
                transports.join(","),
                entry.description
            );
        }
    }
    exit::COMPLETED
}

/// The catalogue to use: the built-in one or `--scenarios FILE`, filtered by `--only`.
fn select_entries(run: &RunArgs) -> Result<Vec<CatalogueEntry>, Failure> {
    let entries = match &run.scenarios {
        None => catalogue::catalogue(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Failure::usage(format!("--scenarios {}: {e}", path.display())))?;
            serde_json::from_str::<Vec<CatalogueEntry>>(&text)
                .map_err(|e| Failure::usage(format!("--scenarios {}: {e}", path.display())))?
        }
    };
    catalogue::validate(&entries).map_err(Failure::usage)?;
    if let Some(unknown) = run
        .only
        .iter()
        .find(|name| !entries.iter().any(|e| &e.name == *name))
    {
        return Err(Failure::usage(format!(
            "--only {unknown}: no such entry (see `codexkit fixtures list`)"
        )));
    }
    if run.jobs == 0 {
        return Err(Failure::usage("--jobs must be at least 1"));
    }
    Ok(entries)
}

fn selected<'a>(entries: &'a [CatalogueEntry], only: &[String]) -> Vec<&'a CatalogueEntry> {
    entries
        .iter()
        .filter(|e| only.is_empty() || only.contains(&e.name))
        .collect()
}

/// The codex binary to record with: it must report the pinned version.
pub(crate) fn pinned_binary(path: Option<&Path>) -> Result<CodexBinary, Failure> {
    let mut options = DiscoveryOptions::default();
    if let Some(path) = path {
        options = options.with_explicit_path(path);
    }
    let found = binary::discover(&options).map_err(|e| Failure::unavailable(e.to_string()))?;
    let version = found
        .version()
        .map_err(|e| Failure::unavailable(e.to_string()))?;
    if version != binary::PINNED_VERSION {
        return Err(Failure::unavailable(format!(
            "{} is codex {version}, the fixtures are for the pinned {}",
            found.path.display(),
            binary::PINNED_VERSION
        )));
    }
    Ok(found)
}

async fn record_command(args: RecordArgs) -> Result<u8, Failure> {
    let entries = select_entries(&args.run)?;
    let chosen = selected(&entries, &args.run.only);
    let codex = pinned_binary(args.run.codex_path.as_deref())?;
    let out = args.out.unwrap_or_else(default_recordings_dir);
    let started = std::time::Instant::now();
    let recording = record(&chosen, &codex.path, args.run.jobs).await?;
    // With --only, the other entries' recordings stay; the manifest covers all of them.
    let keep: Vec<String> = if args.run.only.is_empty() {
        Vec::new()
    } else {
        entries
            .iter()
            .filter(|e| !args.run.only.contains(&e.name))
            .map(|e| e.name.clone())
            .collect()
    };
    write_recording(&out, &recording, &entries, &keep)?;
    eprintln!(
        "recorded {} entries ({} runs) into {} in {:.1} s",
        chosen.len(),
        recording.runs,
        out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(exit::COMPLETED)
}

async fn check_command(args: CheckArgs) -> Result<u8, Failure> {
    let entries = select_entries(&args.run)?;
    let dir = args.dir.unwrap_or_else(default_recordings_dir);
    let mut problems = Vec::new();

    // 1. The committed files against their manifest (hand edits).
    let manifest = match Manifest::read(&dir) {
        Ok(manifest) => Some(manifest),
        Err(problem) => {
            problems.push(problem);
            None
        }
    };
    if let Some(manifest) = &manifest {
        problems.extend(manifest.verify_files(&dir));
        // 2. The definitions the recordings were made from against the catalogue.
        problems.extend(manifest.compare_definitions(&entries));
    }

    // 3. A fresh recording against the committed one.
    let chosen = selected(&entries, &args.run.only);
    let codex = pinned_binary(args.run.codex_path.as_deref())?;
    let started = std::time::Instant::now();
    let recording = record(&chosen, &codex.path, args.run.jobs).await?;
    let temp;
    let fresh_dir = match &args.keep {
        Some(keep) => keep.clone(),
        None => {
            temp = tempfile::Builder::new()
                .prefix("codexkit-fixtures-check-")
                .tempdir()
                .map_err(|e| Failure::failed(format!("a temporary directory: {e}")))?;
            temp.path().to_path_buf()
        }
    };
    write_recording(&fresh_dir, &recording, &entries, &[])?;
    let mut differing = BTreeSet::new();
    for entry in &chosen {
        let prefix = format!("{}/", entry.name);
        let committed = list_files(&dir.join(&entry.name))
            .into_iter()
            .map(|p| format!("{prefix}{p}"))
            .collect::<BTreeSet<_>>();
        let fresh: BTreeSet<String> = recording
            .files
            .keys()
            .filter(|p| p.starts_with(&prefix))
            .cloned()
            .collect();
        for path in committed.union(&fresh) {
            let old = std::fs::read_to_string(dir.join(path)).ok();
            let new = recording.files.get(path);
            let diff = match (&old, new) {
                (Some(old), Some(new)) if old == new => continue,
                (Some(old), Some(new)) => unified_diff(old, new, path),
                (None, Some(_)) => format!("{path}: recorded now, missing from the fixtures\n"),
                (Some(_), None) => format!("{path}: in the fixtures, not recorded now\n"),
                (None, None) => continue,
            };
            differing.insert(entry.name.clone());
            problems.push(format!(
                "entry {}: {path} differs from a fresh recording\n{diff}",
                entry.name
            ));
        }
    }
    eprintln!(
        "checked {} entries ({} runs) in {:.1} s; fresh recording in {}",
        chosen.len(),
        recording.runs,
        started.elapsed().as_secs_f64(),
        if args.keep.is_some() {
            fresh_dir.display().to_string()
        } else {
            "a temporary directory (use --keep DIR to look at it)".to_owned()
        }
    );
    if problems.is_empty() {
        say!(
            "✓ fixtures in {} match a fresh recording ({} entries)",
            dir.display(),
            chosen.len()
        );
        return Ok(exit::COMPLETED);
    }
    for problem in &problems {
        say!("✗ {problem}");
    }
    if !differing.is_empty() {
        say!(
            "entries that differ: {}",
            differing.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    say!(
        "fixtures check failed ({} problems). If the change is expected, re-record with \
         `codexkit fixtures record` and review the diff (docs/upgrading-codex.md).",
        problems.len()
    );
    Ok(crate::verify::VERIFICATION_FAILED)
}

/// Files under `dir`, relative, with `/` separators, sorted.
pub fn list_files(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(base, &path, out);
            } else if let Ok(relative) = path.strip_prefix(base) {
                let parts: Vec<String> = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push(parts.join("/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// A line diff of two texts in unified format (3 lines of context), at most 200 lines of at
/// most 400 characters each (model requests are long lines; `check --keep DIR` keeps the whole
/// fresh recording).
pub fn unified_diff(old: &str, new: &str, path: &str) -> String {
    const MAX_LINES: usize = 200;
    const MAX_CHARS: usize = 400;
    let text = similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string();
    let lines: Vec<&str> = text.lines().collect();
    let mut shown = String::new();
    for line in lines.iter().take(MAX_LINES) {
        match line.char_indices().nth(MAX_CHARS) {
            Some((cut, _)) => {
                shown.push_str(&line[..cut]);
                shown.push_str(&format!(
                    " … ({} more characters)\n",
                    line[cut..].chars().count()
                ));
            }
            None => {
                shown.push_str(line);
                shown.push('\n');
            }
        }
    }
    if lines.len() > MAX_LINES {
        shown.push_str(&format!(
            "... {} more diff lines\n",
            lines.len() - MAX_LINES
        ));
    }
    shown
}

// ---------------------------------------------------------------------------------------------
// Manifest
// ---------------------------------------------------------------------------------------------

/// The hex sha256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The sha256 of an entry's canonical definition.
pub fn definition_hash(entry: &CatalogueEntry) -> String {
    sha256_hex(entry.canonical_json().as_bytes())
}

/// `MANIFEST`: what a fixtures directory holds.
///
/// ```text
/// # codexkit fixtures manifest ...
/// codex-version 0.171.0
/// scenario plain_message <sha256 of the canonical definition>
/// file <sha256> plain_message/exec/events.jsonl
/// ```
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Manifest {
    /// The codex version the recordings were made with.
    pub codex_version: String,
    /// Entry name → definition hash.
    pub scenarios: BTreeMap<String, String>,
    /// Relative path → sha256.
    pub files: BTreeMap<String, String>,
}

impl Manifest {
    /// The manifest of these files and entries.
    fn build(
        files: &BTreeMap<String, String>,
        entries: &[CatalogueEntry],
        names: &[String],
    ) -> Self {
        Self {
            codex_version: binary::PINNED_VERSION.to_owned(),
            scenarios: entries
                .iter()
                .filter(|e| names.contains(&e.name))
                .map(|e| (e.name.clone(), definition_hash(e)))
                .collect(),
            files: files
                .iter()
                .map(|(path, text)| (path.clone(), sha256_hex(text.as_bytes())))
                .collect(),
        }
    }

    /// The manifest text.
    pub fn render(&self) -> String {
        let mut out = String::from(
            "# codexkit fixtures manifest: written by `codexkit fixtures record`, checked by \
             `codexkit fixtures check` and `codexkit verify`. Do not edit.\n",
        );
        out.push_str(&format!("codex-version {}\n", self.codex_version));
        for (name, hash) in &self.scenarios {
            out.push_str(&format!("scenario {name} {hash}\n"));
        }
        for (path, hash) in &self.files {
            out.push_str(&format!("file {hash} {path}\n"));
        }
        out
    }

    /// Parses manifest text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut manifest = Self::default();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim_end();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts = line.splitn(3, ' ');
            match (parts.next(), parts.next(), parts.next()) {
                (Some("codex-version"), Some(version), None) => {
                    manifest.codex_version = version.to_owned();
                }
                (Some("scenario"), Some(name), Some(hash)) => {
                    manifest.scenarios.insert(name.to_owned(), hash.to_owned());
                }
                (Some("file"), Some(hash), Some(path)) => {
                    manifest.files.insert(path.to_owned(), hash.to_owned());
                }
                _ => {
                    return Err(format!(
                        "{MANIFEST} line {}: cannot read {line:?}",
                        index + 1
                    ));
                }
            }
        }
        if manifest.codex_version.is_empty() {
            return Err(format!("{MANIFEST} has no codex-version line"));
        }
        Ok(manifest)
    }

    /// Reads `dir/MANIFEST`.
    pub fn read(dir: &Path) -> Result<Self, String> {
        let path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("{}: cannot read the manifest: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("{}: {e}", dir.display()))
    }

    /// Problems with the files of `dir` against this manifest: a file edited by hand (named),
    /// missing, or not listed; a codex version other than the pin.
    pub fn verify_files(&self, dir: &Path) -> Vec<String> {
        let mut problems = Vec::new();
        if self.codex_version != binary::PINNED_VERSION {
            problems.push(format!(
                "{MANIFEST} says codex {}, the pin is {}",
                self.codex_version,
                binary::PINNED_VERSION
            ));
        }
        for (path, hash) in &self.files {
            match std::fs::read(dir.join(path)) {
                Ok(bytes) => {
                    let actual = sha256_hex(&bytes);
                    if &actual != hash {
                        problems.push(format!(
                            "{path} was changed after it was recorded (sha256 {actual}, \
                             {MANIFEST} says {hash}); fixtures are written only by \
                             `codexkit fixtures record`"
                        ));
                    }
                }
                Err(error) => {
                    problems.push(format!("{path} is in {MANIFEST} but missing: {error}"))
                }
            }
        }
        for path in list_files(dir) {
            if path != MANIFEST && !self.files.contains_key(&path) {
                problems.push(format!("{path} is not listed in {MANIFEST}"));
            }
        }
        problems
    }

    /// Problems with the recorded definitions against the current catalogue.
    pub fn compare_definitions(&self, entries: &[CatalogueEntry]) -> Vec<String> {
        let mut problems = Vec::new();
        for entry in entries {
            match self.scenarios.get(&entry.name) {
                None => problems.push(format!(
                    "scenario {} is in the catalogue but has no recording; run `codexkit \
                     fixtures record --only {}`",
                    entry.name, entry.name
                )),
                Some(hash) if *hash != definition_hash(entry) => problems.push(format!(
                    "scenario {}: its definition changed since the fixtures were recorded; \
                     re-record with `codexkit fixtures record --only {}`",
                    entry.name, entry.name
                )),
                Some(_) => {}
            }
        }
        for name in self.scenarios.keys() {
            if !entries.iter().any(|e| &e.name == name) {
                problems.push(format!(
                    "scenario {name} has recordings but is no longer in the catalogue"
                ));
            }
        }
        problems
    }
}

// ---------------------------------------------------------------------------------------------
// Recording
// ---------------------------------------------------------------------------------------------

/// Recorded files, by path relative to the fixtures directory.
#[derive(Debug, Default)]
pub struct Recording {
    /// Relative path → contents.
    pub files: BTreeMap<String, String>,
    /// How many (entry, transport) runs were made.
    pub runs: usize,
}

/// Writes a recording: each entry's directory is replaced, `keep` names entries whose existing
/// recordings stay, and `MANIFEST` is rewritten for everything in `dir`.
fn write_recording(
    dir: &Path,
    recording: &Recording,
    entries: &[CatalogueEntry],
    keep: &[String],
) -> Result<(), Failure> {
    let io = |what: &str, path: &Path, e: std::io::Error| {
        Failure::failed(format!("{what} {}: {e}", path.display()))
    };
    std::fs::create_dir_all(dir).map_err(|e| io("creating", dir, e))?;
    let existing = Manifest::read(dir).ok();
    if existing.is_none() && std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some()) {
        return Err(Failure::usage(format!(
            "{} is not empty and has no {MANIFEST}: not a fixtures directory, nothing written",
            dir.display()
        )));
    }
    // Remove what the old manifest recorded, except kept entries.
    if let Some(old) = &existing {
        for name in old.scenarios.keys() {
            if !keep.contains(name) {
                let path = dir.join(name);
                if path.is_dir() {
                    std::fs::remove_dir_all(&path).map_err(|e| io("removing", &path, e))?;
                }
            }
        }
    }
    for (relative, text) in &recording.files {
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io("creating", parent, e))?;
        }
        std::fs::write(&path, text).map_err(|e| io("writing", &path, e))?;
    }
    let mut files = BTreeMap::new();
    let mut names: Vec<String> = Vec::new();
    for name in recording
        .files
        .keys()
        .filter_map(|p| p.split('/').next())
        .map(str::to_owned)
        .chain(keep.iter().cloned())
    {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    for name in &names {
        for relative in list_files(&dir.join(name)) {
            let path = dir.join(name).join(&relative);
            let text = std::fs::read_to_string(&path).map_err(|e| io("reading", &path, e))?;
            files.insert(format!("{name}/{relative}"), text);
        }
    }
    let mut manifest = Manifest::build(&files, entries, &names);
    // Kept entries keep the definition hash they were recorded from.
    if let Some(old) = &existing {
        for name in keep {
            if let Some(hash) = old.scenarios.get(name) {
                manifest.scenarios.insert(name.clone(), hash.clone());
            }
        }
    }
    let path = dir.join(MANIFEST);
    std::fs::write(&path, manifest.render()).map_err(|e| io("writing", &path, e))?;
    Ok(())
}

/// Runs every entry on each of its transports, `jobs` at a time.
pub async fn record(
    entries: &[&CatalogueEntry],
    codex: &Path,
    jobs: usize,
) -> Result<Recording, Failure> {
    use futures_util::StreamExt;
    let runs: Vec<(&CatalogueEntry, TransportKind)> = entries
        .iter()
        .flat_map(|entry| {
            TransportKind::ALL
                .into_iter()
                .filter(|t| entry.runs_on(*t))
                .map(move |t| (*entry, t))
        })
        .collect();
    let count = runs.len();
    let results: Vec<Result<BTreeMap<String, String>, Failure>> =
        futures_util::stream::iter(runs.into_iter().map(|(entry, transport)| async move {
            let started = std::time::Instant::now();
            let result = record_run(entry, transport, codex).await;
            eprintln!(
                "  {} {:<10} {:.1} s{}",
                entry.name,
                transport.as_str(),
                started.elapsed().as_secs_f64(),
                if result.is_err() { " (failed)" } else { "" }
            );
            result.map(|files| {
                files
                    .into_iter()
                    .map(|(name, text)| {
                        (
                            format!("{}/{}/{name}", entry.name, transport.as_str()),
                            text,
                        )
                    })
                    .collect()
            })
        }))
        .buffered(jobs.max(1))
        .collect()
        .await;
    let mut recording = Recording {
        runs: count,
        ..Recording::default()
    };
    for result in results {
        recording.files.extend(result?);
    }
    for entry in entries {
        let pretty = serde_json::to_string_pretty(&sorted(&entry.to_value()))
            .map_err(|e| Failure::failed(e.to_string()))?;
        recording
            .files
            .insert(format!("{}/scenario.json", entry.name), pretty + "\n");
    }
    Ok(recording)
}

/// `value` with object keys sorted (serde_json keeps insertion order when another crate turns
/// on `preserve_order`).
pub fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for key in keys {
                if let Some(inner) = map.get(key) {
                    out.insert(key.clone(), sorted(inner));
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// The recorder put in front of codex: copies stdin, stdout and argv of each codex process to
/// files named by its pid in `dir`, appends the pid to `dir/order`, and exits with codex's
/// status. The two `tee`s run in sessions of their own: when the library stops codex's process
/// group, they still copy everything codex wrote before it died. `--version` probes are passed through unrecorded (the library may run them
/// concurrently with a turn).
fn recorder_script(dir: &Path, codex: &Path) -> String {
    let dir = shell_quote(&dir.to_string_lossy());
    let codex = shell_quote(&codex.to_string_lossy());
    format!(
        "#!/bin/sh\n\
         # Written by `codexkit fixtures record`: runs codex, copying stdin, stdout and argv.\n\
         case \"$1\" in --version) exec {codex} \"$@\" ;; esac\n\
         dir={dir}\n\
         n=$$\n\
         echo \"$n\" >> \"$dir/order\"\n\
         for arg in \"$@\"; do printf '%s\\n' \"$arg\"; done > \"$dir/$n.argv\"\n\
         setsid tee \"$dir/$n.stdin\" | {{ {codex} \"$@\"; echo \"$?\" > \"$dir/$n.status\"; }} | setsid tee \"$dir/$n.stdout\"\n\
         exit \"$(cat \"$dir/$n.status\" 2>/dev/null || echo 1)\"\n"
    )
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// What one run leaves behind, before normalization.
struct RawRun {
    events: Vec<ThreadEvent>,
    errors: Vec<String>,
    requests: Vec<RecordedRequest>,
    /// `(argv, stdin, stdout)` of each codex process.
    processes: Vec<(String, String, String)>,
}

/// Runs one entry on one transport and returns its normalized files.
async fn record_run(
    entry: &CatalogueEntry,
    transport: TransportKind,
    codex_path: &Path,
) -> Result<BTreeMap<String, String>, Failure> {
    let context = |what: &str, e: &dyn std::fmt::Display| {
        Failure::failed(format!(
            "{} ({}): {what}: {e}",
            entry.name,
            transport.as_str()
        ))
    };
    let mock = MockModel::start(entry.scenario.clone())
        .await
        .map_err(|e| context("the mock model", &e))?;
    let hermetic = HermeticCodex::new(&mock).map_err(|e| context("CODEX_HOME", &e))?;
    let workdir = tempfile::Builder::new()
        .prefix("codexkit-fixture-work-")
        .tempdir()
        .map_err(|e| context("the working directory", &e))?;
    let raw_dir = tempfile::Builder::new()
        .prefix("codexkit-fixture-raw-")
        .tempdir()
        .map_err(|e| context("the recorder directory", &e))?;
    let work = std::fs::canonicalize(workdir.path()).map_err(|e| context("the workdir", &e))?;
    for file in &entry.setup_files {
        let path = work.join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| context("a setup file", &e))?;
        }
        std::fs::write(&path, &file.contents).map_err(|e| context("a setup file", &e))?;
    }
    if entry.turns.iter().any(|t| t.image) {
        std::fs::write(work.join(catalogue::IMAGE_FILE_NAME), catalogue::TINY_PNG)
            .map_err(|e| context("the image", &e))?;
    }
    let wrapper = raw_dir.path().join("codex");
    std::fs::write(&wrapper, recorder_script(raw_dir.path(), codex_path))
        .map_err(|e| context("the recorder script", &e))?;
    make_executable(&wrapper).map_err(|e| context("the recorder script", &e))?;

    let home = tempfile::Builder::new()
        .prefix("codexkit-fixture-home-")
        .tempdir()
        .map_err(|e| context("HOME", &e))?;
    let mut raw = drive(entry, transport, &wrapper, &hermetic, &work, home.path()).await?;
    raw.requests = mock.requests();
    drop(mock);

    let mut normalizer = Normalizer::new();
    normalizer.diff_root(&work);
    normalizer.path(&work, "<workdir>");
    normalizer.path(workdir.path(), "<workdir>");
    normalizer.path(hermetic.codex_home(), "<codex-home>");
    normalizer.path(raw_dir.path(), "<recorder>");
    normalizer.path(codex_path, "<codex>");
    normalizer.path(home.path(), "<home>");
    // Codex also reports the account's own home directory (from the user database).
    if let Some(user_home) = std::env::var_os("HOME").filter(|h| h.len() > 1) {
        normalizer.path(Path::new(&user_home), "<user-home>");
    }

    let mut files = BTreeMap::new();
    let events: String = stable_events(&raw.events)
        .into_iter()
        .map(|event| serde_json::to_value(event).unwrap_or(Value::Null))
        .map(|value| normalizer.json_line(&value))
        .collect();
    files.insert("events.jsonl".to_owned(), events);
    if !raw.errors.is_empty() {
        let text: String = raw
            .errors
            .iter()
            .map(|e| normalizer.text(e) + "\n")
            .collect();
        files.insert("errors.txt".to_owned(), text);
    }
    let mut argv = String::new();
    let mut stdin = String::new();
    let mut stdout = String::new();
    let mut status = String::new();
    for (index, (args, input, output)) in raw.processes.iter().enumerate() {
        argv.push_str(&format!("# codex process {}\n", index + 1));
        argv.push_str(&normalizer.text(args));
        stdin.push_str(&normalizer.jsonl(input));
        match transport {
            TransportKind::Exec => stdout.push_str(&normalizer.jsonl(output)),
            _ => {
                let (main, notices) = split_server_lines(output);
                stdout.push_str(&normalizer.jsonl(&main));
                status.push_str(&normalizer.jsonl(&notices));
            }
        }
    }
    match transport {
        TransportKind::Exec => {
            files.insert("stdout.jsonl".to_owned(), stdout);
        }
        _ => {
            files.insert("client.jsonl".to_owned(), stdin);
            files.insert("server.jsonl".to_owned(), stdout);
            files.insert("server.status.jsonl".to_owned(), status);
        }
    }
    files.insert("argv.txt".to_owned(), argv);
    let requests: String = raw
        .requests
        .iter()
        .map(|request| normalizer.json_line(&request_json(request)))
        .collect();
    files.insert("requests.jsonl".to_owned(), requests);
    Ok(files)
}

/// The events in an order and number that do not depend on timing:
///
/// * command output deltas are left out: codex sends them as the command's output arrives, so
///   whether there is one, and where chunks split, varies; the completed item's
///   `aggregated_output` has the text;
/// * `tool.call.started`/`tool.call.completed` (from the SDK's own tool server, concurrent
///   with codex's output) are moved to just before the next completed tool-call item.
pub fn stable_events(events: &[ThreadEvent]) -> Vec<&ThreadEvent> {
    let mut tool_calls: Vec<&ThreadEvent> = Vec::new();
    let mut out = Vec::new();
    for event in events {
        match event {
            ThreadEvent::CommandOutputDelta(_) => continue,
            ThreadEvent::ToolCallStarted(_) | ThreadEvent::ToolCallCompleted(_) => {
                tool_calls.push(event);
                continue;
            }
            ThreadEvent::ItemCompleted(completed)
                if matches!(completed.item.kind(), "mcp_tool_call" | "dynamic_tool_call") =>
            {
                out.append(&mut tool_calls);
            }
            ThreadEvent::TurnCompleted(_)
            | ThreadEvent::TurnFailed(_)
            | ThreadEvent::TurnInterrupted(_) => {
                out.append(&mut tool_calls);
            }
            _ => {}
        }
        out.push(event);
    }
    out.append(&mut tool_calls);
    out
}

/// Server→client notifications about the state of the thread, the account or the server
/// rather than about the turn's items; codex sends them from tasks of their own, so where they
/// fall between the turn's messages varies.
pub const STATUS_METHODS: &[&str] = &[
    "thread/status/changed",
    "account/rateLimits/updated",
    "remoteControl/status/changed",
    "mcpServer/startupStatus/updated",
];

/// Notifications codex may send just before or just after the response to the request that
/// caused them (`thread/start`, `turn/start`): they come from another task. Each names the
/// object that both carry.
const RESPONSE_RACING_METHODS: &[(&str, &str)] =
    &[("thread/started", "thread"), ("turn/started", "turn")];

/// A thread or a turn: `("thread" | "turn", id)`.
type StartedObject = (&'static str, String);

/// One turn message: what it starts or is about, whether it is a response, the line.
type ServerLine<'a> = (Option<StartedObject>, bool, &'a str);

/// The thread or turn a racing notification, or a response, is about.
fn started_object(message: &Value) -> Option<StartedObject> {
    let (kind, holder) = match message.get("method").and_then(Value::as_str) {
        Some(method) => {
            let (_, kind) = RESPONSE_RACING_METHODS.iter().find(|(m, _)| *m == method)?;
            (*kind, message.get("params")?)
        }
        None => {
            let result = message.get("result")?;
            let (_, kind) = RESPONSE_RACING_METHODS
                .iter()
                .find(|(_, kind)| result.get(kind).is_some())?;
            (*kind, result)
        }
    };
    let id = holder.get(kind)?.get("id")?.as_str()?;
    Some((kind, id.to_owned()))
}

/// Splits raw server→client lines into the turn's messages, in order, and the status
/// notifications ([`STATUS_METHODS`]), grouped by method (each method's own order kept).
/// Command output deltas are left out (see [`stable_events`]); a
/// [`RESPONSE_RACING_METHODS`] notification right before the response about the same thread
/// or turn is put after it.
fn split_server_lines(text: &str) -> (String, String) {
    let mut main: Vec<ServerLine<'_>> = Vec::new();
    let mut status: Vec<(usize, String)> = Vec::new();
    for line in text.lines() {
        let message = serde_json::from_str::<Value>(line).ok();
        let method = message
            .as_ref()
            .and_then(|v| v.get("method").and_then(Value::as_str));
        match method {
            Some("item/commandExecution/outputDelta") => {}
            Some(m) if STATUS_METHODS.contains(&m) => {
                let rank = STATUS_METHODS.iter().position(|s| *s == m).unwrap_or(0);
                status.push((rank, format!("{line}\n")));
            }
            _ => {
                let object = message.as_ref().and_then(started_object);
                let is_response = method.is_none();
                let races_previous = is_response
                    && object.is_some()
                    && main
                        .last()
                        .is_some_and(|(previous, previous_is_response, _)| {
                            !previous_is_response && *previous == object
                        });
                if races_previous {
                    let at = main.len() - 1;
                    main.insert(at, (object, is_response, line));
                } else {
                    main.push((object, is_response, line));
                }
            }
        }
    }
    status.sort_by_key(|(rank, _)| *rank);
    let main = main.iter().map(|(.., line)| format!("{line}\n")).collect();
    (main, status.into_iter().map(|(_, line)| line).collect())
}

#[cfg(unix)]
fn make_executable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> std::io::Result<()> {
    Err(std::io::Error::other(
        "recording fixtures needs a unix shell",
    ))
}

/// Headers that say nothing about codex's behaviour, or change every run.
const SKIPPED_HEADERS: &[&str] = &["host", "content-length"];

/// A model request as recorded: method, path, headers (sorted) and the JSON body.
fn request_json(request: &RecordedRequest) -> Value {
    let mut headers: Vec<(String, String)> = request
        .headers
        .iter()
        .filter(|(name, _)| !SKIPPED_HEADERS.contains(&name.to_ascii_lowercase().as_str()))
        .map(|(name, value)| (name.to_ascii_lowercase(), value.clone()))
        .collect();
    headers.sort();
    let headers: Map<String, Value> = headers
        .into_iter()
        .map(|(name, value)| (name, Value::String(value)))
        .collect();
    let body = match &request.json {
        Some(json) => json.clone(),
        None => Value::String(request.body_text()),
    };
    json!({
        "method": request.method,
        "path": request.path,
        "headers": headers,
        "body": body,
    })
}

/// Drives the turns of one entry through the library.
async fn drive(
    entry: &CatalogueEntry,
    transport: TransportKind,
    wrapper: &Path,
    hermetic: &HermeticCodex,
    work: &Path,
    home: &Path,
) -> Result<RawRun, Failure> {
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        Failure::failed(format!(
            "{} ({}): {what}: {e}",
            entry.name,
            transport.as_str()
        ))
    };
    let options = CodexOptions::default()
        .with_inherit_env(false)
        .with_envs(minimal_env(home))
        .with_envs(hermetic.env())
        .with_config_literals(hermetic.config_overrides())
        .map_err(|e| fail("options", &e))?
        .with_transport(match transport {
            TransportKind::Exec => Transport::Exec,
            _ => Transport::AppServer,
        });
    let codex = Codex::with_binary(
        CodexBinary::new(wrapper, DiscoverySource::ExplicitPath),
        options,
    );
    let mut thread_options = thread_options(entry, hermetic, work)?;
    let raw_dir = wrapper.parent().unwrap_or(Path::new("."));
    #[cfg(unix)]
    for spec in &entry.mcp_servers {
        let script = codexkit_testkit::StdioMcpServer::new()
            .name(spec.name.clone())
            .write_to(raw_dir)
            .map_err(|e| fail("the MCP server script", &e))?;
        let mut server =
            codexkit::tools::McpServer::stdio(spec.name.clone(), script.to_string_lossy());
        if spec.approve_all {
            server = server.with_approval(codexkit::tools::McpApprovalMode::Approve);
        }
        thread_options = thread_options.with_mcp_server(server);
    }
    #[cfg(not(unix))]
    if !entry.mcp_servers.is_empty() {
        return Err(fail(
            "MCP servers",
            &"the testkit's stdio MCP server needs a unix shell",
        ));
    }
    let mut events = Vec::new();
    let mut errors = Vec::new();
    let mut thread = codex.start_thread(thread_options.clone());
    for (index, turn) in entry.turns.iter().enumerate() {
        if turn.resume {
            match thread.id() {
                Some(id) => thread = codex.resume_thread(id, thread_options.clone()),
                None => {
                    errors.push(format!("turn {}: no thread to resume", index + 1));
                    break;
                }
            }
        }
        let mut input = Input::text(turn.prompt.clone());
        if turn.image {
            input = input.with_image(work.join(catalogue::IMAGE_FILE_NAME));
        }
        let mut turn_options = TurnOptions::default().with_timeout(TURN_TIMEOUT);
        if let Some(schema) = &turn.output_schema {
            turn_options = turn_options.with_output_schema(schema.clone());
        }
        let mut stream = match thread.run_streamed_with(input, turn_options).await {
            Ok(stream) => stream,
            Err(error) => {
                errors.push(format!("turn {}: {error}", index + 1));
                break;
            }
        };
        let mut interrupted = false;
        while let Some(next) = stream.next().await {
            match next {
                Ok(event) => {
                    let delta = matches!(event, ThreadEvent::AgentMessageDelta(_));
                    events.push(event);
                    if delta && turn.interrupt_after_first_delta && !interrupted {
                        interrupted = true;
                        if let Err(error) = stream.interrupt().await {
                            errors.push(format!("turn {}: interrupt: {error}", index + 1));
                        }
                    }
                }
                Err(error) => {
                    errors.push(format!("turn {}: {error}", index + 1));
                    break;
                }
            }
        }
    }
    drop(thread);
    drop(codex);
    let processes = collect_processes(raw_dir).await;
    Ok(RawRun {
        events,
        errors,
        requests: Vec::new(),
        processes,
    })
}

/// The environment codex gets in a recording: a run must not depend on who runs it, so only
/// a fresh HOME (no shell profile prints into command output) and a fixed locale, terminal,
/// time zone and shell. `PATH` is kept by the library.
pub(crate) fn minimal_env(home: &Path) -> Vec<(String, String)> {
    [
        ("HOME", home.to_string_lossy().as_ref()),
        ("LANG", "C.UTF-8"),
        ("LC_ALL", "C.UTF-8"),
        ("TERM", "dumb"),
        ("TZ", "UTC"),
        ("SHELL", "/bin/bash"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Reads the recorder's files once the codex processes are gone (their files stop growing).
async fn collect_processes(dir: &Path) -> Vec<(String, String, String)> {
    let snapshot = |dir: &Path| -> Vec<(String, String, String)> {
        let order = std::fs::read_to_string(dir.join("order")).unwrap_or_default();
        order
            .lines()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(|n| {
                let read = |ext: &str| {
                    std::fs::read(dir.join(format!("{n}.{ext}")))
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .unwrap_or_default()
                };
                (read("argv"), read("stdin"), read("stdout"))
            })
            .collect()
    };
    // First the recorded processes (the recorder scripts) must be gone, then their files
    // must stop growing (the `tee`s finish after them).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let order = std::fs::read_to_string(dir.join("order")).unwrap_or_default();
    while std::time::Instant::now() < deadline && order.lines().any(|pid| process_alive(pid.trim()))
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut last = snapshot(dir);
    let mut stable_since = std::time::Instant::now();
    while std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = snapshot(dir);
        if now != last {
            last = now;
            stable_since = std::time::Instant::now();
        } else if stable_since.elapsed() >= Duration::from_millis(300) {
            break;
        }
    }
    last
}

/// Whether a process with this pid is running (a zombie is not: it has exited).
fn process_alive(pid: &str) -> bool {
    if pid.is_empty() || !pid.chars().all(|c| c.is_ascii_digit()) {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// The library's thread options for an entry.
pub(crate) fn thread_options(
    entry: &CatalogueEntry,
    hermetic: &HermeticCodex,
    work: &Path,
) -> Result<ThreadOptions, Failure> {
    let mut options = ThreadOptions::default()
        .with_model(hermetic.model())
        .with_working_directory(work)
        .with_skip_git_repo_check(true);
    if let Some(sandbox) = entry.thread.sandbox {
        options = options.with_sandbox(match sandbox {
            SandboxSpec::ReadOnly => SandboxMode::ReadOnly,
            SandboxSpec::WorkspaceWrite => SandboxMode::WorkspaceWrite,
            _ => SandboxMode::DangerFullAccess,
        });
    }
    if let Some(policy) = entry.thread.approval_policy {
        options = options.with_approval_mode(match policy {
            ApprovalPolicySpec::Never => ApprovalMode::Never,
            ApprovalPolicySpec::OnRequest => ApprovalMode::OnRequest,
            _ => ApprovalMode::Untrusted,
        });
    }
    let script = Arc::new(Mutex::new(
        entry
            .thread
            .approvals
            .iter()
            .copied()
            .collect::<VecDeque<_>>(),
    ));
    let mut approver = Approver::new(approval_fn(move |_request| {
        let step = script
            .lock()
            .ok()
            .and_then(|mut steps| steps.pop_front())
            .unwrap_or(ApprovalStep::Decline);
        async move {
            match step {
                ApprovalStep::Accept => Ok(ApprovalDecision::Accept),
                ApprovalStep::Cancel => Ok(ApprovalDecision::Cancel),
                ApprovalStep::NoAnswer => {
                    std::future::pending::<()>().await;
                    Ok(ApprovalDecision::Decline)
                }
                _ => Ok(ApprovalDecision::Decline),
            }
        }
    }));
    if let Some(ms) = entry.thread.approval_timeout_ms {
        approver = approver.with_timeout(Duration::from_millis(ms));
    }
    options = options.with_approver(approver);
    if !entry.host_tools.is_empty() {
        options = options.with_tools(host_tools(entry)?);
    }
    Ok(options)
}

/// The entry's host tools as a library tool set, each answering its scripted output.
fn host_tools(entry: &CatalogueEntry) -> Result<codexkit::tools::ToolSet, Failure> {
    use codexkit::tools::{Tool, ToolOutput, ToolSet};
    let mut set = ToolSet::new();
    for spec in &entry.host_tools {
        let output = spec.output.clone();
        let tool = Tool::new(spec.name.clone())
            .description(spec.description.clone())
            .raw_handler(move |_arguments: Value| {
                let output = output.clone();
                async move { Ok(ToolOutput::text(output)) }
            })
            .input_schema(spec.input_schema.clone());
        set = set
            .with(tool)
            .map_err(|e| Failure::usage(format!("entry {}: {e}", entry.name)))?;
    }
    Ok(set)
}

// ---------------------------------------------------------------------------------------------
// Normalization
// ---------------------------------------------------------------------------------------------

/// Object keys whose numeric values change every run (timestamps, durations, process ids);
/// they are recorded as 0.
const VOLATILE_NUMBER_KEYS: &[&str] = &[
    "emittedAtMs",
    "startedAtMs",
    "completedAtMs",
    "createdAt",
    "updatedAt",
    "durationMs",
    "duration_ms",
    "processId",
    "process_id",
    "pid",
    "timestamp",
    "resetsAt",
    "resets_at",
    "resetsInSeconds",
];

/// Keys of process ids; string values under them become `<pid>` (numbers become 0).
const PROCESS_ID_KEYS: &[&str] = &["processId", "process_id", "pid"];

/// Whether numbers under this key are timestamps or durations: listed in
/// [`VOLATILE_NUMBER_KEYS`], or ending in `Ms`, `_ms`, `At` or `_at`.
pub fn is_volatile_number_key(key: &str) -> bool {
    VOLATILE_NUMBER_KEYS.contains(&key)
        || ["Ms", "_ms", "At", "_at"]
            .iter()
            .any(|suffix| key.len() > suffix.len() && key.ends_with(suffix))
}

/// Replaces the values that change from run to run by stable placeholders:
///
/// * known paths (working directory, `CODEX_HOME`, the recorder's directory, the codex
///   binary, the fresh `HOME` given to codex, the caller's own `$HOME`) by `<workdir>`,
///   `<codex-home>`, `<recorder>`, `<codex>`, `<home>`, `<user-home>`, where they stand as a
///   whole path;
/// * UUIDs by `<uuid-1>`, `<uuid-2>`, … in order of first appearance (thread ids, turn ids,
///   request ids), so the same id gets the same placeholder in every file of a run;
/// * `127.0.0.1:<port>` for every loopback port (the mock model, host tool servers);
/// * the random part of codexkit's temporary file names (`codexkit-schema-<tmp>.json`);
/// * dates and times (`2026-11-01`, `2026/11/01`, `2026-11-01T12:00:00.123Z`, `12:00:00`) by
///   `<date>`, `<datetime>`, `<time>`;
/// * in unified diffs, the working directory's place below any of its ancestors (codex writes
///   diff paths relative to the nearest ancestor with a `.git`), so paths read as relative to
///   the working directory whether or not a repository encloses it;
/// * in tool outputs, `Chunk ID: <chunk>`, `Wall time: <secs> seconds`;
/// * the platform part of user agents, after the first space, by `<platform>`;
/// * process ids (`processId`, `pid`) by 0 or `<pid>`;
/// * numbers under timestamp and duration keys ([`is_volatile_number_key`]) by 0;
/// * strings holding a JSON object are normalized as JSON (sorted keys, compact).
pub struct Normalizer {
    paths: Vec<(String, String)>,
    literals: Vec<(String, String)>,
    uuids: HashMap<String, String>,
}

impl Default for Normalizer {
    fn default() -> Self {
        Self::new()
    }
}

impl Normalizer {
    /// A normalizer with no known paths.
    pub fn new() -> Self {
        Self {
            paths: Vec::new(),
            literals: Vec::new(),
            uuids: HashMap::new(),
        }
    }

    /// Makes unified diff paths relative to `workdir` when a git repository above it is where
    /// codex anchors them: `a/<dir below the repository>/file` → `a/file`, likewise `b/`.
    /// Every ancestor counts, not only one with a `.git` now: a repository that existed only
    /// while codex ran leaves its mark too.
    pub fn diff_root(&mut self, workdir: &Path) {
        for root in workdir.ancestors().skip(1) {
            let Ok(below) = workdir.strip_prefix(root) else {
                continue;
            };
            let below = below.to_string_lossy();
            for side in ["a/", "b/"] {
                self.literals
                    .push((format!("{side}{below}/"), side.to_owned()));
            }
        }
    }

    /// Replaces `path` (and its canonical form) by `placeholder`.
    pub fn path(&mut self, path: &Path, placeholder: &str) {
        let mut forms = vec![path.to_string_lossy().into_owned()];
        if let Ok(canonical) = std::fs::canonicalize(path) {
            forms.push(canonical.to_string_lossy().into_owned());
        }
        for form in forms {
            if form.len() > 1 && !self.paths.iter().any(|(p, _)| *p == form) {
                self.paths.push((form, placeholder.to_owned()));
            }
        }
        // Longest first, so a path inside another is replaced by its own placeholder.
        self.paths.sort_by_key(|p| std::cmp::Reverse(p.0.len()));
    }

    /// One JSON value as a normalized line (with `\n`); keys sorted.
    pub fn json_line(&mut self, value: &Value) -> String {
        let normalized = self.value(value, None);
        let mut line = serde_json::to_string(&sorted(&normalized)).unwrap_or_default();
        line.push('\n');
        line
    }

    /// JSON lines text: each line that is JSON is normalized as a value, other lines as text.
    pub fn jsonl(&mut self, text: &str) -> String {
        let mut out = String::new();
        for line in text.lines() {
            match serde_json::from_str::<Value>(line) {
                Ok(value) => out.push_str(&self.json_line(&value)),
                Err(_) => {
                    out.push_str(&self.text(line));
                    out.push('\n');
                }
            }
        }
        out
    }

    fn value(&mut self, value: &Value, key: Option<&str>) -> Value {
        match value {
            Value::String(_) if key.is_some_and(|k| PROCESS_ID_KEYS.contains(&k)) => {
                Value::String("<pid>".to_owned())
            }
            Value::String(text) => {
                let text = if key == Some("user-agent") || key == Some("userAgent") {
                    match text.split_once(' ') {
                        Some((product, _)) => format!("{product} <platform>"),
                        None => text.clone(),
                    }
                } else {
                    text.clone()
                };
                // A string holding a JSON object (a header, tool arguments) is normalized as
                // JSON and written back compact with sorted keys.
                if text.starts_with('{')
                    && let Ok(inner @ Value::Object(_)) = serde_json::from_str::<Value>(&text)
                {
                    let normalized = sorted(&self.value(&inner, None));
                    if let Ok(compact) = serde_json::to_string(&normalized) {
                        return Value::String(compact);
                    }
                }
                Value::String(self.text(&text))
            }
            Value::Number(_) if key.is_some_and(is_volatile_number_key) => Value::from(0),
            Value::Array(items) => {
                Value::Array(items.iter().map(|item| self.value(item, key)).collect())
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (self.text(k), self.value(v, Some(k))))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// Normalizes free text.
    pub fn text(&mut self, text: &str) -> String {
        let mut out = text.to_owned();
        for (literal, replacement) in &self.literals {
            out = out.replace(literal.as_str(), replacement);
        }
        for (path, placeholder) in &self.paths {
            out = replace_path(&out, path, placeholder);
        }
        out = self.replace_uuids(&out);
        out = replace_temp_names(&out);
        out = replace_loopback_ports(&out);
        out = replace_dates(&out);
        out = replace_after_label(&out, "Chunk ID: ", |c| c.is_ascii_alphanumeric(), "<chunk>");
        out = replace_after_label(
            &out,
            "Wall time: ",
            |c| c.is_ascii_digit() || c == '.',
            "<secs>",
        );
        out
    }

    fn replace_uuids(&mut self, text: &str) -> String {
        let bytes = text.as_bytes();
        let mut out = String::with_capacity(text.len());
        let mut index = 0;
        let mut copied = 0;
        while index + 36 <= bytes.len() {
            if is_uuid(&bytes[index..index + 36])
                && (index == 0 || !bytes[index - 1].is_ascii_hexdigit())
                && bytes.get(index + 36).is_none_or(|b| !b.is_ascii_hexdigit())
            {
                out.push_str(&text[copied..index]);
                let uuid = text[index..index + 36].to_ascii_lowercase();
                let next = self.uuids.len() + 1;
                let placeholder = self
                    .uuids
                    .entry(uuid)
                    .or_insert_with(|| format!("<uuid-{next}>"));
                out.push_str(placeholder);
                index += 36;
                copied = index;
            } else {
                index += 1;
            }
        }
        out.push_str(&text[copied..]);
        out
    }
}

/// Replaces `path` where it stands as a whole path: not inside a longer name (`/root` is not
/// replaced in `/rooted` or in `</root>`).
fn replace_path(text: &str, path: &str, placeholder: &str) -> String {
    let name_char = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '.');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(path) {
        let before = rest[..at].chars().last().or_else(|| out.chars().last());
        let after = rest[at + path.len()..].chars().next();
        out.push_str(&rest[..at]);
        if before.is_some_and(|c| name_char(c) || c == '<') || after.is_some_and(name_char) {
            out.push_str(path);
        } else {
            out.push_str(placeholder);
        }
        rest = &rest[at + path.len()..];
    }
    out.push_str(rest);
    out
}

fn is_uuid(bytes: &[u8]) -> bool {
    bytes.iter().enumerate().all(|(i, b)| match i {
        8 | 13 | 18 | 23 => *b == b'-',
        _ => b.is_ascii_hexdigit(),
    })
}

/// The random part of temporary file names codexkit makes (`codexkit-<words>-XXXXXX`, as the
/// tempfile crate names them) → `<tmp>`: `codexkit-schema-Ab12Cd.json` →
/// `codexkit-schema-<tmp>.json`.
fn replace_temp_names(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("codexkit-") {
        let start = at + "codexkit-".len();
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        // words: [a-z]+ separated by '-', then '-' and six alphanumerics, then a non-alphanumeric.
        let bytes = tail.as_bytes();
        let mut i = 0;
        let mut matched = None;
        loop {
            let word_start = i;
            while i < bytes.len() && bytes[i].is_ascii_lowercase() {
                i += 1;
            }
            if i == word_start || bytes.get(i) != Some(&b'-') {
                break;
            }
            i += 1;
            let suffix = bytes.get(i..i + 6);
            if suffix.is_some_and(|s| s.iter().all(u8::is_ascii_alphanumeric))
                && bytes.get(i + 6).is_none_or(|b| !b.is_ascii_alphanumeric())
            {
                matched = Some(i);
                break;
            }
        }
        match matched {
            Some(i) => {
                out.push_str(&tail[..i]);
                out.push_str("<tmp>");
                rest = &tail[i + 6..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

/// `127.0.0.1:12345` → `127.0.0.1:<port>`, likewise for `localhost`.
fn replace_loopback_ports(text: &str) -> String {
    let mut out = text.to_owned();
    for host in ["127.0.0.1:", "localhost:"] {
        out = replace_after_label(&out, host, |c| c.is_ascii_digit(), "<port>");
    }
    out
}

/// Replaces the run of characters matching `keep` right after each `label` by `placeholder`.
fn replace_after_label(
    text: &str,
    label: &str,
    keep: impl Fn(char) -> bool,
    placeholder: &str,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(label) {
        let after = at + label.len();
        out.push_str(&rest[..after]);
        let tail = &rest[after..];
        let end = tail.find(|c: char| !keep(c)).unwrap_or(tail.len());
        if end > 0 {
            out.push_str(placeholder);
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Dates (`YYYY-MM-DD` or `YYYY/MM/DD`), optionally followed by a time (`THH:MM:SS` or `THH-MM-SS`, fraction,
/// `Z`), and bare times `HH:MM:SS`.
fn replace_dates(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let digit = |i: usize| chars.get(i).is_some_and(|c| c.is_ascii_digit());
    let at = |i: usize, c: char| chars.get(i) == Some(&c);
    let digits = |i: usize, n: usize| (i..i + n).all(digit);
    let boundary_before = |i: usize| i == 0 || !chars[i - 1].is_ascii_alphanumeric();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        // Codex files its session logs under `sessions/YYYY/MM/DD/`.
        let date_sep = chars.get(i + 4).copied().filter(|c| *c == '-' || *c == '/');
        if boundary_before(i)
            && digits(i, 4)
            && date_sep.is_some()
            && digits(i + 5, 2)
            && chars.get(i + 7).copied() == date_sep
            && digits(i + 8, 2)
            && !digit(i + 10)
        {
            let mut end = i + 10;
            let time_sep = |j: usize| at(j, ':') || at(j, '-');
            if (at(end, 'T') || at(end, ' '))
                && digits(end + 1, 2)
                && time_sep(end + 3)
                && digits(end + 4, 2)
                && time_sep(end + 6)
                && digits(end + 7, 2)
            {
                end += 9;
                if at(end, '.') {
                    end += 1;
                    while digit(end) {
                        end += 1;
                    }
                }
                if at(end, 'Z') {
                    end += 1;
                }
                out.push_str("<datetime>");
            } else {
                out.push_str("<date>");
            }
            i = end;
            continue;
        }
        if boundary_before(i)
            && digits(i, 2)
            && at(i + 2, ':')
            && digits(i + 3, 2)
            && at(i + 5, ':')
            && digits(i + 6, 2)
            && !digit(i + 8)
        {
            out.push_str("<time>");
            i += 8;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn a_started_notification_racing_its_response_is_put_after_it() {
        let response_first = concat!(
            r#"{"id":3,"result":{"turn":{"id":"t"}}}"#,
            "\n",
            r#"{"method":"turn/started","params":{"turn":{"id":"t"}}}"#,
            "\n",
            r#"{"method":"item/started","params":{}}"#,
            "\n",
        );
        let notification_first = concat!(
            r#"{"method":"turn/started","params":{"turn":{"id":"t"}}}"#,
            "\n",
            r#"{"id":3,"result":{"turn":{"id":"t"}}}"#,
            "\n",
            r#"{"method":"item/started","params":{}}"#,
            "\n",
        );
        assert_eq!(split_server_lines(notification_first).0, response_first);
        assert_eq!(split_server_lines(response_first).0, response_first);
        // Other notifications, and a started notification about something else, keep their
        // place.
        let other = concat!(
            r#"{"method":"item/started","params":{}}"#,
            "\n",
            r#"{"id":3,"result":{}}"#,
            "\n",
            r#"{"method":"thread/started","params":{"thread":{"id":"h"}}}"#,
            "\n",
            r#"{"id":4,"result":{"turn":{"id":"t"}}}"#,
            "\n",
        );
        assert_eq!(split_server_lines(other).0, other);
    }

    #[test]
    fn normalizer_replaces_volatile_values() {
        let mut n = Normalizer::new();
        n.path(Path::new("/tmp/codexkit-fixture-work-abc"), "<workdir>");
        let text = "thread 0199a213-81c0-7800-8aa1-bbab2a035a53 in /tmp/codexkit-fixture-work-abc/x \
                    at http://127.0.0.1:41089/v1 on 2026-11-01T12:30:00.123Z, Chunk ID: 9f395b\n\
                    Wall time: 0.0012 seconds; again 0199A213-81C0-7800-8AA1-BBAB2A035A53";
        assert_eq!(
            n.text(text),
            "thread <uuid-1> in <workdir>/x at http://127.0.0.1:<port>/v1 on <datetime>, \
             Chunk ID: <chunk>\nWall time: <secs> seconds; again <uuid-1>"
        );
        let line = n.json_line(&json!({"emittedAtMs": 17, "b": "2026-01-02", "a": 1}));
        assert_eq!(line, "{\"a\":1,\"b\":\"<date>\",\"emittedAtMs\":0}\n");
    }

    #[test]
    fn session_log_dates_and_enclosing_repositories_are_normalized() {
        let work = Path::new("/srv/tmp/codexkit-fixture-work-Ab12Cd");
        let mut n = Normalizer::new();
        n.diff_root(work);
        for diff in [
            "diff --git a/tmp/codexkit-fixture-work-Ab12Cd/x.txt b/tmp/codexkit-fixture-work-Ab12Cd/x.txt",
            "diff --git a/codexkit-fixture-work-Ab12Cd/x.txt b/codexkit-fixture-work-Ab12Cd/x.txt",
            "diff --git a/x.txt b/x.txt",
        ] {
            assert_eq!(n.text(diff), "diff --git a/x.txt b/x.txt");
        }
        assert_eq!(
            n.text("sessions/2026/12/04/rollout-2026-12-04T05-09-34-x.jsonl"),
            "sessions/<date>/rollout-<datetime>-x.jsonl"
        );
        // Paths below the working directory stay.
        assert_eq!(n.text("a/sub/x.txt"), "a/sub/x.txt");
    }

    #[test]
    fn manifest_round_trips() {
        let mut manifest = Manifest {
            codex_version: "0.171.0".into(),
            ..Manifest::default()
        };
        manifest.scenarios.insert("a".into(), "00".into());
        manifest
            .files
            .insert("a/exec/x y.jsonl".into(), "ff".into());
        assert_eq!(Manifest::parse(&manifest.render()).unwrap(), manifest);
    }

    #[test]
    fn unified_diff_shows_the_change() {
        let diff = unified_diff("a\nb\nc\n", "a\nB\nc\n", "x/events.jsonl");
        assert!(diff.contains("--- a/x/events.jsonl"), "{diff}");
        assert!(diff.contains("-b\n+B"), "{diff}");
    }
}
