//! Finding the codex binary and checking its version.
//!
//! [`discover`] looks in four places, in order: an explicit path, the `CODEXKIT_CODEX_PATH`
//! environment variable, codexkit's per-user install cache (filled by
//! [`crate::install::install_pinned`]) and `codex` on `PATH`. Every place looked at is recorded
//! as a [`DiscoveryAttempt`], so a failure says exactly what was tried.

use crate::install::{self, PlatformPin};
use crate::{Error, Result};
use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The codex version codexkit is built and tested against.
pub const PINNED_VERSION: &str = "0.171.0";

/// Environment variable naming a codex binary to use.
pub const CODEX_PATH_ENV: &str = "CODEXKIT_CODEX_PATH";

/// How long [`probe_version`] waits for `codex --version` before killing it.
pub const VERSION_PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a binary was looked for.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscoverySource {
    /// The path given in options.
    ExplicitPath,
    /// The `CODEXKIT_CODEX_PATH` environment variable.
    EnvVar,
    /// codexkit's per-user install cache for the pinned version.
    InstallCache,
    /// `codex` on `PATH`.
    SystemPath,
}

impl fmt::Display for DiscoverySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ExplicitPath => "explicit path",
            Self::EnvVar => CODEX_PATH_ENV,
            Self::InstallCache => "install cache",
            Self::SystemPath => "PATH",
        })
    }
}

/// One place looked at during discovery and what was found there.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryAttempt {
    /// Which step.
    pub source: DiscoverySource,
    /// The path looked at, when the step had one.
    pub path: Option<PathBuf>,
    /// What was found (`not set`, `no such file`, …).
    pub outcome: String,
}

impl DiscoveryAttempt {
    fn new(source: DiscoverySource, path: Option<&Path>, outcome: impl Into<String>) -> Self {
        Self {
            source,
            path: path.map(Path::to_path_buf),
            outcome: outcome.into(),
        }
    }
}

impl fmt::Display for DiscoveryAttempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(path) => write!(f, "{} ({}): {}", self.source, path.display(), self.outcome),
            None => write!(f, "{}: {}", self.source, self.outcome),
        }
    }
}

/// Inputs to discovery; everything read from the process environment can be overridden.
#[non_exhaustive]
#[derive(Debug, Clone, Default)]
pub struct DiscoveryOptions {
    /// An explicit binary path; used first.
    pub explicit_path: Option<PathBuf>,
    /// Value of `CODEXKIT_CODEX_PATH`; `None` reads the process environment.
    pub env_path: Option<Option<OsString>>,
    /// Install cache root; `None` uses the default per-user cache.
    pub cache_root: Option<PathBuf>,
    /// `PATH` to search; `None` reads the process environment.
    pub search_path: Option<Option<OsString>>,
}

impl DiscoveryOptions {
    /// Sets [`DiscoveryOptions::explicit_path`].
    pub fn with_explicit_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.explicit_path = Some(path.into());
        self
    }

    /// Sets [`DiscoveryOptions::env_path`]: `None` behaves as if `CODEXKIT_CODEX_PATH` is unset.
    pub fn with_env_path(mut self, value: Option<OsString>) -> Self {
        self.env_path = Some(value);
        self
    }

    /// Sets [`DiscoveryOptions::cache_root`].
    pub fn with_cache_root(mut self, root: impl Into<PathBuf>) -> Self {
        self.cache_root = Some(root.into());
        self
    }

    /// Sets [`DiscoveryOptions::search_path`]: `None` behaves as if `PATH` is unset.
    pub fn with_search_path(mut self, value: Option<OsString>) -> Self {
        self.search_path = Some(value);
        self
    }
}

/// A codex binary ready to run.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodexBinary {
    /// The executable to run.
    pub path: PathBuf,
    /// Where it was found.
    pub source: DiscoverySource,
    /// The npm launcher script found on `PATH`, when `path` is the native binary it would have
    /// started. Running the native binary directly saves a Node.js process per turn; the only
    /// difference codex sees is the missing `CODEX_MANAGED_BY_NPM` variable, which the launcher
    /// sets for codex's update hints.
    pub launcher: Option<PathBuf>,
}

impl CodexBinary {
    /// A binary at a known path, found by `source`.
    pub fn new(path: impl Into<PathBuf>, source: DiscoverySource) -> Self {
        Self {
            path: path.into(),
            source,
            launcher: None,
        }
    }

    /// Runs `<path> --version` and returns the version it reports; see [`probe_version`].
    pub fn version(&self) -> Result<String> {
        probe_version(&self.path)
    }

    /// Like [`CodexBinary::version`], and warns once per process when the version differs from
    /// [`PINNED_VERSION`]; see [`check_version`].
    pub fn check_version(&self) -> Result<String> {
        check_version(&self.path)
    }
}

/// Finds codex: explicit path, then `CODEXKIT_CODEX_PATH`, then the install cache, then `PATH`.
///
/// An explicit path or `CODEXKIT_CODEX_PATH` that does not name a usable file is an error, even
/// when another codex could be found later on: the caller asked for that binary. When the
/// `codex` on `PATH` is npm's Node.js launcher, the native binary of its platform package is
/// returned instead when it is installed.
pub fn discover(options: &DiscoveryOptions) -> Result<CodexBinary> {
    let mut attempts = Vec::new();

    if let Some(found) = check_chosen_path(
        DiscoverySource::ExplicitPath,
        options.explicit_path.as_deref(),
        &mut attempts,
    )? {
        return Ok(found);
    }

    let env_value = match &options.env_path {
        Some(value) => value.clone(),
        None => std::env::var_os(CODEX_PATH_ENV),
    };
    let env_path = env_value
        .filter(|value| !value.is_empty())
        .map(PathBuf::from);
    if let Some(found) =
        check_chosen_path(DiscoverySource::EnvVar, env_path.as_deref(), &mut attempts)?
    {
        return Ok(found);
    }

    if let Some(found) = look_in_cache(options.cache_root.as_deref(), &mut attempts) {
        return Ok(found);
    }

    let search_path = match &options.search_path {
        Some(value) => value.clone(),
        None => std::env::var_os("PATH"),
    };
    if let Some(found) = look_on_path(search_path.as_deref(), &mut attempts) {
        return Ok(found);
    }

    Err(Error::BinaryNotFound { attempts })
}

/// Formats attempts for an error message, one `source (path): outcome` per attempt.
pub fn describe_attempts(attempts: &[DiscoveryAttempt]) -> String {
    if attempts.is_empty() {
        return "nothing".to_owned();
    }
    attempts
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The default install cache root (per user): `<user cache dir>/codexkit`.
///
/// `None` when the platform has no per-user cache directory (for example, no home directory).
pub fn default_cache_root() -> Option<PathBuf> {
    dirs::cache_dir().map(|dir| dir.join("codexkit"))
}

/// Where the pinned version's binary for this platform lives under `cache_root`.
///
/// The path follows the layout of the npm platform package's `vendor/<target>/` directory; its
/// entrypoint is read from the installed `codex-package.json` when there is one. On a platform
/// without a pinned build, the path is under `<os>-<arch>/`, where nothing is ever installed.
pub fn cached_binary_path(cache_root: &Path) -> PathBuf {
    match current_platform_pin() {
        Ok(platform) => {
            let dir = install::install_dir(cache_root, PINNED_VERSION, &platform.target);
            install::installed_entrypoint(&dir)
                .unwrap_or_else(|| dir.join(install::default_entrypoint(&platform.target)))
        }
        Err(_) => install::install_dir(
            cache_root,
            PINNED_VERSION,
            &format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH),
        )
        .join("bin")
        .join(format!("codex{}", std::env::consts::EXE_SUFFIX)),
    }
}

/// Runs `<path> --version` and returns the version from its `codex-cli X.Y.Z` answer.
///
/// Blocks for at most [`VERSION_PROBE_TIMEOUT`]; a binary that takes longer is killed and
/// reported unusable. In async code, call it from `tokio::task::spawn_blocking`.
pub fn probe_version(path: &Path) -> Result<String> {
    probe_version_with_timeout(path, VERSION_PROBE_TIMEOUT)
}

/// [`probe_version`] with a caller-chosen deadline.
pub fn probe_version_with_timeout(path: &Path, timeout: Duration) -> Result<String> {
    // The binary's output may echo its environment; keep secrets out of the error.
    let redactor = crate::redact::Redactor::from_env(std::env::vars_os());
    let unusable = |reason: String| Error::BinaryUnusable {
        path: path.to_path_buf(),
        reason: redactor.redact(&reason),
    };
    let output = run_with_deadline(path, &[OsStr::new("--version")], timeout)?;
    let Some(status) = output.status else {
        return Err(unusable(format!(
            "`--version` did not answer within {timeout:?} and was killed"
        )));
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let details = if stderr.trim().is_empty() {
            stdout.trim()
        } else {
            stderr.trim()
        };
        return Err(unusable(format!(
            "`--version` failed ({status}){}",
            if details.is_empty() {
                String::new()
            } else {
                format!(": {}", shorten(details, 500))
            }
        )));
    }
    parse_version_output(&stdout).ok_or_else(|| {
        unusable(format!(
            "`--version` printed {:?}, not `codex-cli <version>`",
            shorten(stdout.trim(), 200)
        ))
    })
}

/// Probes the version like [`probe_version`] and returns it; when it differs from
/// [`PINNED_VERSION`], logs a warning (once per binary path per process). Such a binary is still
/// usable, but its events may not match what codexkit expects.
pub fn check_version(path: &Path) -> Result<String> {
    let version = probe_version(path)?;
    if version != PINNED_VERSION && first_warning_for(path) {
        tracing::warn!(
            path = %path.display(),
            found = %version,
            pinned = PINNED_VERSION,
            "codex version differs from the version codexkit is tested against; \
             run `codexkit install` or point CODEXKIT_CODEX_PATH at codex {PINNED_VERSION}"
        );
    }
    Ok(version)
}

/// Extracts the version from `codex --version` output (`codex-cli 0.171.0`).
fn parse_version_output(stdout: &str) -> Option<String> {
    stdout.lines().find_map(|line| {
        let version = line
            .trim()
            .strip_prefix("codex-cli ")?
            .split_whitespace()
            .next()?;
        let well_formed = version.starts_with(|c: char| c.is_ascii_digit())
            && version.contains('.')
            && version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'));
        well_formed.then(|| version.to_owned())
    })
}

/// Records that `path` was warned about; true the first time only.
fn first_warning_for(path: &Path) -> bool {
    static WARNED_PATHS: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());
    // A panic while holding the lock cannot leave the set inconsistent, so poisoning is ignored.
    let mut warned = WARNED_PATHS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    warned.insert(path.to_path_buf())
}

fn shorten(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        text.to_owned()
    } else {
        let mut short: String = text.chars().take(max_chars).collect();
        short.push('…');
        short
    }
}

/// What a child process printed, and how it ended (`None` when it was killed at the deadline).
struct DeadlineOutput {
    status: Option<ExitStatus>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// Runs a short command, killing it when it outlives `timeout`.
fn run_with_deadline(program: &Path, args: &[&OsStr], timeout: Duration) -> Result<DeadlineOutput> {
    // Output beyond this is not a version string; not reading it makes a chatty child block and
    // hit the deadline instead of filling memory.
    const MAX_OUTPUT_BYTES: u64 = 64 * 1024;
    // Grace period for reading output after exit; a grandchild may still hold the pipes open.
    const READ_GRACE: Duration = Duration::from_secs(1);

    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| Error::Spawn {
            program: program.to_path_buf(),
            source,
        })?;

    let (stdout_tx, stdout_rx) = mpsc::channel();
    let (stderr_tx, stderr_rx) = mpsc::channel();
    if let Some(stdout) = child.stdout.take() {
        std::thread::spawn(move || {
            let mut buffer = Vec::new();
            let _ = stdout.take(MAX_OUTPUT_BYTES).read_to_end(&mut buffer);
            let _ = stdout_tx.send(buffer);
        });
    }
    if let Some(stderr) = child.stderr.take() {
        std::thread::spawn(move || {
            let mut buffer = Vec::new();
            let _ = stderr.take(MAX_OUTPUT_BYTES).read_to_end(&mut buffer);
            let _ = stderr_tx.send(buffer);
        });
    }

    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(source) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::io("waiting for", program, source));
            }
        }
    };

    Ok(DeadlineOutput {
        status,
        stdout: stdout_rx.recv_timeout(READ_GRACE).unwrap_or_default(),
        stderr: stderr_rx.recv_timeout(READ_GRACE).unwrap_or_default(),
    })
}

fn current_platform_pin() -> Result<&'static PlatformPin> {
    install::pinned()?.platform(install::current_platform()?)
}

/// Checks a path the caller chose (explicit option or environment variable).
///
/// `Ok(None)` means the step was not configured and discovery goes on; a configured path that
/// cannot be used ends discovery with an error.
fn check_chosen_path(
    source: DiscoverySource,
    path: Option<&Path>,
    attempts: &mut Vec<DiscoveryAttempt>,
) -> Result<Option<CodexBinary>> {
    let Some(path) = path else {
        attempts.push(DiscoveryAttempt::new(source, None, "not set"));
        return Ok(None);
    };
    match check_executable(path) {
        FileCheck::Executable => Ok(Some(CodexBinary {
            path: path.to_path_buf(),
            source,
            launcher: None,
        })),
        FileCheck::Missing => {
            attempts.push(DiscoveryAttempt::new(source, Some(path), "no such file"));
            Err(Error::BinaryNotFound {
                attempts: std::mem::take(attempts),
            })
        }
        problem => Err(Error::BinaryUnusable {
            path: path.to_path_buf(),
            reason: format!("{} (given by {source})", problem.describe()),
        }),
    }
}

fn look_in_cache(
    cache_root: Option<&Path>,
    attempts: &mut Vec<DiscoveryAttempt>,
) -> Option<CodexBinary> {
    let source = DiscoverySource::InstallCache;
    let Some(root) = cache_root
        .map(Path::to_path_buf)
        .or_else(default_cache_root)
    else {
        attempts.push(DiscoveryAttempt::new(
            source,
            None,
            "no per-user cache directory",
        ));
        return None;
    };
    if let Err(error) = current_platform_pin() {
        attempts.push(DiscoveryAttempt::new(
            source,
            Some(&root),
            format!("unavailable: {error}"),
        ));
        return None;
    }
    let path = cached_binary_path(&root);
    match check_executable(&path) {
        FileCheck::Executable => Some(CodexBinary {
            path,
            source,
            launcher: None,
        }),
        FileCheck::Missing => {
            attempts.push(DiscoveryAttempt::new(source, Some(&path), "not in cache"));
            None
        }
        problem => {
            attempts.push(DiscoveryAttempt::new(
                source,
                Some(&path),
                problem.describe(),
            ));
            None
        }
    }
}

fn look_on_path(
    search_path: Option<&OsStr>,
    attempts: &mut Vec<DiscoveryAttempt>,
) -> Option<CodexBinary> {
    let source = DiscoverySource::SystemPath;
    let Some(search_path) = search_path.filter(|value| !value.is_empty()) else {
        attempts.push(DiscoveryAttempt::new(source, None, "PATH not set"));
        return None;
    };
    // The working directory only matters for relative PATH entries.
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let found = match which::which_in("codex", Some(search_path), cwd) {
        Ok(found) => found,
        Err(_) => {
            attempts.push(DiscoveryAttempt::new(source, None, "not on PATH"));
            return None;
        }
    };
    match find_launcher_package_root(&found) {
        Some(package_root) => match native_binary_behind_launcher(&package_root) {
            Some(native) => {
                tracing::debug!(
                    launcher = %found.display(),
                    native = %native.display(),
                    "codex on PATH is the npm launcher; using its native binary"
                );
                Some(CodexBinary {
                    path: native,
                    source,
                    launcher: Some(found),
                })
            }
            None => {
                tracing::debug!(
                    launcher = %found.display(),
                    "codex on PATH is the npm launcher and its native binary was not found; using the launcher"
                );
                Some(CodexBinary {
                    path: found,
                    source,
                    launcher: None,
                })
            }
        },
        None => Some(CodexBinary {
            path: found,
            source,
            launcher: None,
        }),
    }
}

/// When `found` is the `codex` launcher of npm's `@openai/codex` package (directly, through a
/// symlink, or through one of npm's Windows shims), the package's root directory.
fn find_launcher_package_root(found: &Path) -> Option<PathBuf> {
    let resolved = fs::canonicalize(found).unwrap_or_else(|_| found.to_path_buf());

    // npm links `codex` to `<package>/bin/codex.js` on Unix.
    let bin_dir = resolved.parent()?;
    if resolved.file_name() == Some(OsStr::new("codex.js")) {
        return bin_dir.parent().map(Path::to_path_buf);
    }
    // A launcher script inside the package under another name.
    if let Some(package_root) = bin_dir.parent()
        && bin_dir.file_name() == Some(OsStr::new("bin"))
        && is_codex_launcher_package(package_root)
        && is_script(&resolved)
    {
        return Some(package_root.to_path_buf());
    }
    // npm's shims (`codex.cmd`, `codex.ps1`, `codex`) live next to `node_modules` in the prefix.
    let shim_dir = found.parent()?;
    let package_root = shim_dir.join("node_modules").join("@openai").join("codex");
    (is_script(found) && package_root.join("bin").join("codex.js").is_file())
        .then_some(package_root)
}

/// Whether `dir` holds the `@openai/codex` launcher package (not a platform package, which has
/// the same name but no `bin/codex.js`).
fn is_codex_launcher_package(dir: &Path) -> bool {
    let Ok(text) = fs::read_to_string(dir.join("package.json")) else {
        return false;
    };
    let Ok(manifest) = serde_json::from_str::<serde_json::Value>(&text) else {
        return false;
    };
    manifest.get("name").and_then(serde_json::Value::as_str) == Some("@openai/codex")
        && dir.join("bin").join("codex.js").is_file()
}

/// Whether the file is a script rather than a native executable: a `#!` line or a Windows
/// batch/PowerShell shim.
fn is_script(path: &Path) -> bool {
    let extension = path
        .extension()
        .and_then(OsStr::to_str)
        .map(str::to_ascii_lowercase);
    if matches!(extension.as_deref(), Some("js" | "cmd" | "bat" | "ps1")) {
        return true;
    }
    let mut start = [0_u8; 2];
    fs::File::open(path)
        .and_then(|mut file| file.read_exact(&mut start))
        .is_ok_and(|()| &start == b"#!")
}

/// The native binary the launcher in `package_root` would start, found the way its Node.js
/// module resolution does: the platform package (`@openai/codex-<platform>`) in a
/// `node_modules` of the package or any parent directory, then the package's own `vendor/`.
fn native_binary_behind_launcher(package_root: &Path) -> Option<PathBuf> {
    let platform_key = install::current_platform().ok()?;
    let platform = install::pinned().ok()?.platform(platform_key).ok()?;
    let platform_package = PathBuf::from("@openai").join(format!("codex-{platform_key}"));

    let from_platform_package = package_root.ancestors().map(|dir| {
        dir.join("node_modules")
            .join(&platform_package)
            .join("vendor")
            .join(&platform.target)
    });
    let bundled = std::iter::once(package_root.join("vendor").join(&platform.target));
    from_platform_package.chain(bundled).find_map(|vendor_dir| {
        let binary = install::installed_entrypoint(&vendor_dir)
            .unwrap_or_else(|| vendor_dir.join(install::default_entrypoint(&platform.target)));
        matches!(check_executable(&binary), FileCheck::Executable).then_some(binary)
    })
}

/// What is at a path that should be an executable file.
enum FileCheck {
    Executable,
    Missing,
    NotAFile,
    NotExecutable,
    Unreadable(std::io::ErrorKind),
}

impl FileCheck {
    fn describe(&self) -> String {
        match self {
            Self::Executable => "executable".to_owned(),
            Self::Missing => "no such file".to_owned(),
            Self::NotAFile => "not a file".to_owned(),
            Self::NotExecutable => "not executable".to_owned(),
            Self::Unreadable(kind) => format!("unreadable ({kind})"),
        }
    }
}

fn check_executable(path: &Path) -> FileCheck {
    let metadata = match fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return FileCheck::Missing,
        Err(error) => return FileCheck::Unreadable(error.kind()),
    };
    if !metadata.is_file() {
        return FileCheck::NotAFile;
    }
    if is_executable(&metadata) {
        FileCheck::Executable
    } else {
        FileCheck::NotExecutable
    }
}

#[cfg(unix)]
pub(crate) fn is_executable(metadata: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    metadata.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
pub(crate) fn is_executable(_metadata: &fs::Metadata) -> bool {
    // Windows has no executable bit; whether the file runs is decided by its extension.
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_version_lines() {
        assert_eq!(
            parse_version_output("codex-cli 0.171.0\n").as_deref(),
            Some("0.171.0")
        );
        assert_eq!(
            parse_version_output("warning: x\ncodex-cli 1.2.3-alpha.1\n").as_deref(),
            Some("1.2.3-alpha.1")
        );
        assert_eq!(parse_version_output("codex 0.171.0"), None);
        assert_eq!(parse_version_output("codex-cli latest"), None);
        assert_eq!(parse_version_output(""), None);
    }
}
