//! Installing the pinned codex release into codexkit's per-user cache.
//!
//! The release is the npm platform package named in the pin file (`codex-pin.json`, embedded
//! at build time). [`install_pinned`] fetches it with `npm pack` (so npm's own registry, proxy
//! and authentication settings apply), checks its sha512 integrity against the pin, and unpacks
//! its `package/vendor/<target>/` directory to `<cache root>/codex/<version>/<target>/`. The
//! directory appears with one atomic rename, so a reader sees either nothing or a complete
//! install, and concurrent installers cannot corrupt each other.
//!
//! The functions here block; async callers run them in `tokio::task::spawn_blocking`.

use crate::binary::{PINNED_VERSION, is_executable};
use crate::{Error, Result};
use base64::Engine as _;
use serde::Deserialize;
use sha2::{Digest, Sha256, Sha512};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::{self, BufReader, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

/// The pin file, as committed next to this crate's `Cargo.toml`.
const PIN_JSON: &str = include_str!("../codex-pin.json");

/// Suggested fix when codexkit cannot provide a binary for this machine.
const FIX_SET_PATH: &str = "set CODEXKIT_CODEX_PATH to a codex binary";

/// Suggested fix when npm cannot be run.
const FIX_INSTALL_NODE: &str =
    "install Node.js (which provides npm), or set CODEXKIT_CODEX_PATH to a codex binary";

/// Suggested fix when the downloaded tarball is not the pinned one.
const FIX_INTEGRITY: &str = "retry; if it persists, check your npm registry/mirror configuration";

/// Prefix of the temporary directories an install works in, inside `<root>/codex/<version>/`.
const STAGING_PREFIX: &str = ".install-";

/// Staging directories older than this were left by an install that crashed.
const STALE_STAGING_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// The codex release codexkit installs: one npm package version, with a build per platform.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Pin {
    /// The codex version, e.g. `0.171.0`.
    pub version: String,
    /// The npm package name, `@openai/codex`.
    pub package: String,
    /// Subresource-integrity hash of the package's Node.js launcher tarball, for reference.
    pub launcher_integrity: String,
    /// Builds by platform key (`linux-x64`, `darwin-arm64`, `win32-x64`, …).
    pub platforms: BTreeMap<String, PlatformPin>,
}

/// One platform's build of the pinned release.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PlatformPin {
    /// What to hand to `npm pack`, e.g. `@openai/codex@0.171.0-linux-x64`.
    pub npm_spec: String,
    /// Rust target triple; the tarball keeps the build under `package/vendor/<target>/`.
    pub target: String,
    /// Subresource-integrity hash (`sha512-<base64>`) of the npm tarball.
    pub integrity: String,
    /// sha256 (hex) of the codex executable inside, when it has been recorded.
    pub binary_sha256: Option<String>,
}

impl Pin {
    /// Parses and checks pin-file JSON.
    pub fn parse(text: &str) -> Result<Self> {
        let invalid = |reason: String| Error::Install {
            version: PINNED_VERSION.to_owned(),
            reason: format!("the codex pin file is invalid: {reason}"),
            fix: format!("use a codexkit build with a valid pin file, or {FIX_SET_PATH}"),
        };
        let pin: Self = serde_json::from_str(text).map_err(|error| invalid(error.to_string()))?;
        if pin.platforms.is_empty() {
            return Err(invalid("it lists no platforms".to_owned()));
        }
        for (key, platform) in &pin.platforms {
            if !platform.integrity.starts_with("sha512-") {
                return Err(invalid(format!("{key}: integrity is not a sha512 hash")));
            }
            if platform.target.is_empty() || !is_plain_name(&platform.target) {
                return Err(invalid(format!(
                    "{key}: target {:?} is not a directory name",
                    platform.target
                )));
            }
            if let Some(sha256) = &platform.binary_sha256
                && (sha256.len() != 64 || !sha256.bytes().all(|byte| byte.is_ascii_hexdigit()))
            {
                return Err(invalid(format!(
                    "{key}: binary_sha256 is not a sha256 hex digest"
                )));
            }
        }
        Ok(pin)
    }

    /// The build for `platform_key`, or an error saying the platform is unsupported.
    pub fn platform(&self, platform_key: &str) -> Result<&PlatformPin> {
        self.platforms
            .get(platform_key)
            .ok_or_else(|| Error::Install {
                version: self.version.clone(),
                reason: format!(
                    "there is no codex build for platform {platform_key} (builds exist for {})",
                    self.platforms
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                fix: FIX_SET_PATH.to_owned(),
            })
    }
}

/// The pin embedded in this build of codexkit.
///
/// Fails (rather than panicking) when the embedded file is malformed or names another version
/// than [`PINNED_VERSION`].
pub fn pinned() -> Result<&'static Pin> {
    static PIN: OnceLock<std::result::Result<Pin, String>> = OnceLock::new();
    let parsed = PIN.get_or_init(|| match Pin::parse(PIN_JSON) {
        Ok(pin) if pin.version == PINNED_VERSION => Ok(pin),
        Ok(pin) => Err(format!(
            "the codex pin file names version {}, but this codexkit expects {PINNED_VERSION}",
            pin.version
        )),
        Err(Error::Install { reason, .. }) => Err(reason),
        Err(other) => Err(other.to_string()),
    });
    parsed.as_ref().map_err(|reason| Error::Install {
        version: PINNED_VERSION.to_owned(),
        reason: reason.clone(),
        fix: format!("use a codexkit build with a valid pin file, or {FIX_SET_PATH}"),
    })
}

/// The pin's platform key for an operating system and architecture as named by
/// [`std::env::consts::OS`] and [`std::env::consts::ARCH`]; `None` when codex has no build.
pub fn platform_key(os: &str, arch: &str) -> Option<&'static str> {
    Some(match (os, arch) {
        ("linux", "x86_64") => "linux-x64",
        ("linux", "aarch64") => "linux-arm64",
        ("macos", "x86_64") => "darwin-x64",
        ("macos", "aarch64") => "darwin-arm64",
        ("windows", "x86_64") => "win32-x64",
        ("windows", "aarch64") => "win32-arm64",
        _ => return None,
    })
}

/// The pin's platform key for this machine (`linux-x64`, …).
pub fn current_platform() -> Result<&'static str> {
    let (os, arch) = (std::env::consts::OS, std::env::consts::ARCH);
    platform_key(os, arch).ok_or_else(|| Error::Install {
        version: PINNED_VERSION.to_owned(),
        reason: format!("codex has no prebuilt binary for {os}/{arch}"),
        fix: FIX_SET_PATH.to_owned(),
    })
}

/// The directory a version's build for `target` is installed to: `<cache_root>/codex/<version>/<target>`.
pub fn install_dir(cache_root: &Path, version: &str, target: &str) -> PathBuf {
    cache_root.join("codex").join(version).join(target)
}

/// The executable named by `<dir>/codex-package.json`, when that file is readable and names a
/// path inside `dir`. The file may not exist.
pub(crate) fn installed_entrypoint(dir: &Path) -> Option<PathBuf> {
    let manifest = read_manifest(dir).ok()?;
    safe_relative_path(Path::new(&manifest.entrypoint)).map(|relative| dir.join(relative))
}

/// Where codex builds for `target` keep their executable when there is no manifest to say.
pub(crate) fn default_entrypoint(target: &str) -> PathBuf {
    let name = if target.contains("windows") {
        "codex.exe"
    } else {
        "codex"
    };
    Path::new("bin").join(name)
}

/// A step of an install, reported to [`InstallOptions::progress`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallProgress {
    /// `npm pack` is downloading the package.
    Fetching {
        /// The npm package spec being fetched.
        spec: String,
    },
    /// The tarball's integrity is being checked.
    Verifying {
        /// The tarball.
        tarball: PathBuf,
    },
    /// The build is being unpacked; sent repeatedly.
    Extracting {
        /// Compressed bytes read so far.
        done_bytes: u64,
        /// Size of the compressed tarball.
        total_bytes: u64,
    },
    /// This call installed codex.
    Installed {
        /// The installed executable.
        path: PathBuf,
    },
    /// codex was already installed (possibly by a concurrent install); nothing was changed.
    AlreadyInstalled {
        /// The installed executable.
        path: PathBuf,
    },
}

/// Receives [`InstallProgress`] events; called on the installing thread.
pub type ProgressCallback = Arc<dyn Fn(InstallProgress) + Send + Sync>;

/// How [`install_pinned`] installs codex.
#[non_exhaustive]
#[derive(Clone, Default)]
pub struct InstallOptions {
    /// Cache root; `None` uses [`crate::binary::default_cache_root`].
    pub cache_root: Option<PathBuf>,
    /// The npm executable; `None` looks for `npm` on `PATH`.
    pub npm: Option<PathBuf>,
    /// A local copy of the platform tarball to install instead of running `npm pack`. Its
    /// integrity is checked all the same.
    pub tarball: Option<PathBuf>,
    /// Platform key (`linux-x64`, …) to install for; `None` means this machine.
    pub platform: Option<String>,
    /// Integrity (`sha512-<base64>`) to require instead of the pinned one, for mirrors that
    /// repackage the release and for tests. The pinned sha256 of the executable is then not
    /// checked either, since it belongs to the pinned tarball.
    pub expected_integrity: Option<String>,
    /// Reinstall even when the pinned version is already installed.
    pub force: bool,
    /// Receives progress events.
    pub progress: Option<ProgressCallback>,
}

impl InstallOptions {
    /// Sets [`InstallOptions::cache_root`].
    pub fn with_cache_root(mut self, root: impl Into<PathBuf>) -> Self {
        self.cache_root = Some(root.into());
        self
    }

    /// Sets [`InstallOptions::npm`].
    pub fn with_npm(mut self, npm: impl Into<PathBuf>) -> Self {
        self.npm = Some(npm.into());
        self
    }

    /// Sets [`InstallOptions::tarball`].
    pub fn with_tarball(mut self, tarball: impl Into<PathBuf>) -> Self {
        self.tarball = Some(tarball.into());
        self
    }

    /// Sets [`InstallOptions::platform`].
    pub fn with_platform(mut self, platform_key: impl Into<String>) -> Self {
        self.platform = Some(platform_key.into());
        self
    }

    /// Sets [`InstallOptions::expected_integrity`].
    pub fn with_expected_integrity(mut self, integrity: impl Into<String>) -> Self {
        self.expected_integrity = Some(integrity.into());
        self
    }

    /// Sets [`InstallOptions::force`].
    pub fn with_force(mut self, force: bool) -> Self {
        self.force = force;
        self
    }

    /// Sets [`InstallOptions::progress`].
    pub fn with_progress(
        mut self,
        progress: impl Fn(InstallProgress) + Send + Sync + 'static,
    ) -> Self {
        self.progress = Some(Arc::new(progress));
        self
    }
}

impl fmt::Debug for InstallOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstallOptions")
            .field("cache_root", &self.cache_root)
            .field("npm", &self.npm)
            .field("tarball", &self.tarball)
            .field("platform", &self.platform)
            .field("expected_integrity", &self.expected_integrity)
            .field("force", &self.force)
            .field("progress", &self.progress.as_ref().map(|_| "<callback>"))
            .finish()
    }
}

/// Installs the pinned codex for this platform (or [`InstallOptions::platform`]) into the
/// install cache and returns the path of its executable.
///
/// Returns at once when it is already installed, unless [`InstallOptions::force`] is set. Safe
/// to run from several threads or processes at once: one install wins, the others use it.
pub fn install_pinned(options: &InstallOptions) -> Result<PathBuf> {
    let pin = pinned()?;
    let platform_key = match &options.platform {
        Some(key) => key.as_str(),
        None => current_platform()?,
    };
    let platform = pin.platform(platform_key)?;
    let fail = |reason: String, fix: &str| Error::Install {
        version: pin.version.clone(),
        reason,
        fix: fix.to_owned(),
    };

    let cache_root = match options
        .cache_root
        .clone()
        .or_else(crate::binary::default_cache_root)
    {
        Some(root) => root,
        None => {
            return Err(fail(
                "this system has no per-user cache directory".to_owned(),
                &format!("pass an explicit cache root, or {FIX_SET_PATH}"),
            ));
        }
    };
    let final_dir = install_dir(&cache_root, &pin.version, &platform.target);
    let expected_integrity = options
        .expected_integrity
        .as_deref()
        .unwrap_or(&platform.integrity);
    // The executable's pinned hash only describes the pinned tarball.
    let expected_binary_sha256 = match options.expected_integrity {
        Some(_) => None,
        None => platform.binary_sha256.as_deref(),
    };
    let report = |event: InstallProgress| {
        if let Some(progress) = &options.progress {
            progress(event);
        }
    };

    if !options.force {
        // The tree can only have appeared through a verified install, so the executable is not
        // hashed again here: that would cost a read of several hundred megabytes per call.
        match check_installed(&final_dir, &pin.version, &platform.target) {
            Ok(binary) => {
                tracing::debug!(path = %binary.display(), "codex {} already installed", pin.version);
                report(InstallProgress::AlreadyInstalled {
                    path: binary.clone(),
                });
                return Ok(binary);
            }
            Err(why) if final_dir.exists() => {
                tracing::warn!(dir = %final_dir.display(), "reinstalling codex {}: {why}", pin.version);
            }
            Err(_) => {}
        }
    }

    let version_dir = final_dir
        .parent()
        .map_or_else(|| cache_root.clone(), Path::to_path_buf);
    tracing::info!(
        version = %pin.version,
        platform = platform_key,
        dir = %final_dir.display(),
        "installing codex"
    );

    let (tarball, download_staging) = match &options.tarball {
        Some(tarball) => (tarball.clone(), None),
        None => {
            let npm = find_npm(options.npm.as_deref(), &pin.version)?;
            let staging = create_staging(&version_dir)?;
            let download_dir = staging.path().join("download");
            fs::create_dir(&download_dir)
                .map_err(|source| Error::io("creating", &download_dir, source))?;
            report(InstallProgress::Fetching {
                spec: platform.npm_spec.clone(),
            });
            let tarball = npm_pack(&npm, &platform.npm_spec, &download_dir, &pin.version)?;
            (tarball, Some(staging))
        }
    };

    report(InstallProgress::Verifying {
        tarball: tarball.clone(),
    });
    verify_integrity(
        &tarball,
        expected_integrity,
        &platform.npm_spec,
        &pin.version,
    )?;

    let staging = match download_staging {
        Some(staging) => staging,
        None => create_staging(&version_dir)?,
    };
    let tree = staging.path().join(&platform.target);
    let default_binary = default_entrypoint(&platform.target);
    let hash_while_extracting = expected_binary_sha256.map(|_| default_binary.as_path());
    let streamed_sha256 = extract_vendor_tree(
        &tarball,
        &platform.target,
        &tree,
        hash_while_extracting,
        &report,
    )
    .map_err(|reason| {
        fail(
            format!("unpacking {}: {reason}", tarball.display()),
            "retry; if it persists, check free disk space and permissions in the cache directory",
        )
    })?;
    let unusable = |reason: String| {
        fail(
            format!(
                "the unpacked {} is not a usable codex build: {reason}",
                platform.npm_spec
            ),
            FIX_INTEGRITY,
        )
    };
    let binary = check_installed(&tree, &pin.version, &platform.target).map_err(unusable)?;
    if let Some(expected) = expected_binary_sha256 {
        let actual = match streamed_sha256 {
            Some(streamed) if binary == tree.join(&default_binary) => streamed,
            _ => sha256_hex(&binary).map_err(|source| Error::io("reading", &binary, source))?,
        };
        if !actual.eq_ignore_ascii_case(expected) {
            return Err(unusable(format!(
                "its executable has sha256 {actual}, expected {expected}"
            )));
        }
    }

    let placed = move_into_place(&tree, &final_dir, staging.path(), options.force, |dir| {
        check_installed(dir, &pin.version, &platform.target)
    })?;
    // Dropping the staging directory removes the download, a losing tree or a replaced install.
    drop(staging);
    match placed {
        Placement::Installed(binary) => {
            tracing::info!(path = %binary.display(), "installed codex {}", pin.version);
            report(InstallProgress::Installed {
                path: binary.clone(),
            });
            Ok(binary)
        }
        Placement::AlreadyThere(binary) => {
            tracing::debug!(path = %binary.display(), "a concurrent install of codex {} won", pin.version);
            report(InstallProgress::AlreadyInstalled {
                path: binary.clone(),
            });
            Ok(binary)
        }
    }
}

/// The part of `codex-package.json` that says what a vendor directory holds.
#[derive(Debug, Deserialize)]
struct CodexPackageManifest {
    version: String,
    target: String,
    entrypoint: String,
}

fn read_manifest(dir: &Path) -> std::result::Result<CodexPackageManifest, String> {
    let path = dir.join("codex-package.json");
    let text = fs::read_to_string(&path)
        .map_err(|error| format!("reading {}: {error}", path.display()))?;
    serde_json::from_str(&text).map_err(|error| format!("parsing {}: {error}", path.display()))
}

/// Checks that `dir` holds a complete build of `version` for `target`, returning its executable.
fn check_installed(
    dir: &Path,
    version: &str,
    target: &str,
) -> std::result::Result<PathBuf, String> {
    let manifest = read_manifest(dir)?;
    if manifest.version != version || manifest.target != target {
        return Err(format!(
            "it holds codex {} for {}, not {version} for {target}",
            manifest.version, manifest.target
        ));
    }
    let relative = safe_relative_path(Path::new(&manifest.entrypoint)).ok_or_else(|| {
        format!(
            "its entrypoint {:?} points outside the directory",
            manifest.entrypoint
        )
    })?;
    let binary = dir.join(relative);
    let metadata =
        fs::metadata(&binary).map_err(|error| format!("{}: {error}", binary.display()))?;
    if !metadata.is_file() || !is_executable(&metadata) {
        return Err(format!("{} is not an executable file", binary.display()));
    }
    Ok(binary)
}

/// `path` if it is relative and stays inside the directory it is joined to.
fn safe_relative_path(path: &Path) -> Option<PathBuf> {
    let mut relative = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => relative.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    (!relative.as_os_str().is_empty()).then_some(relative)
}

/// Whether `name` can be used as a single directory name.
fn is_plain_name(name: &str) -> bool {
    let mut components = Path::new(name).components();
    matches!(components.next(), Some(Component::Normal(_))) && components.next().is_none()
}

/// Creates a temporary directory inside `version_dir`, on the same filesystem as the final
/// install so that it can be renamed into place.
fn create_staging(version_dir: &Path) -> Result<tempfile::TempDir> {
    fs::create_dir_all(version_dir).map_err(|source| Error::io("creating", version_dir, source))?;
    remove_stale_staging(version_dir);
    tempfile::Builder::new()
        .prefix(STAGING_PREFIX)
        .tempdir_in(version_dir)
        .map_err(|source| Error::io("creating a temporary directory in", version_dir, source))
}

/// Removes staging directories left behind by installs that were killed; best effort.
fn remove_stale_staging(version_dir: &Path) {
    let Ok(entries) = fs::read_dir(version_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let is_staging = entry
            .file_name()
            .to_string_lossy()
            .starts_with(STAGING_PREFIX);
        let age = entry
            .metadata()
            .and_then(|metadata| metadata.modified())
            .ok()
            .and_then(|modified| SystemTime::now().duration_since(modified).ok());
        if is_staging && age.is_some_and(|age| age > STALE_STAGING_AGE) {
            tracing::debug!(dir = %entry.path().display(), "removing an abandoned install directory");
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

fn find_npm(npm: Option<&Path>, version: &str) -> Result<PathBuf> {
    // `which` also finds `npm.cmd` on Windows, which a bare `Command::new("npm")` would not, and
    // checks that an explicit path is an executable file.
    let (lookup, where_looked) = match npm {
        Some(npm) => (npm.as_os_str(), format!("at {}", npm.display())),
        None => ("npm".as_ref(), "on PATH".to_owned()),
    };
    which::which(lookup).map_err(|_| Error::Install {
        version: version.to_owned(),
        reason: format!("npm was not found {where_looked}"),
        fix: FIX_INSTALL_NODE.to_owned(),
    })
}

/// Downloads `spec`'s tarball into `dest` with `npm pack` and returns its path.
fn npm_pack(npm: &Path, spec: &str, dest: &Path, version: &str) -> Result<PathBuf> {
    let fail = |reason: String, fix: &str| Error::Install {
        version: version.to_owned(),
        reason,
        fix: fix.to_owned(),
    };
    tracing::debug!(npm = %npm.display(), spec, "running npm pack");
    let output = Command::new(npm)
        .arg("pack")
        .arg(spec)
        .arg("--json")
        .arg("--ignore-scripts")
        .arg("--pack-destination")
        .arg(dest)
        .stdin(Stdio::null())
        .output()
        .map_err(|error| match error.kind() {
            io::ErrorKind::NotFound => fail(
                format!("npm was not found at {}", npm.display()),
                FIX_INSTALL_NODE,
            ),
            _ => fail(
                format!("could not run {}: {error}", npm.display()),
                FIX_INSTALL_NODE,
            ),
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stderr = stderr.trim();
        return Err(fail(
            format!(
                "`npm pack {spec}` failed ({}){}",
                output.status,
                if stderr.is_empty() {
                    String::new()
                } else {
                    format!(": {}", last_chars(stderr, 2000))
                }
            ),
            &format!(
                "check your network connection and npm registry configuration (`npm config get registry`), or {FIX_SET_PATH}"
            ),
        ));
    }

    // npm reports the file name; when its output cannot be read, the directory holds only it.
    let reported = serde_json::from_slice::<serde_json::Value>(&output.stdout)
        .ok()
        .and_then(|json| json.get(0)?.get("filename")?.as_str().map(str::to_owned))
        .and_then(|name| safe_relative_path(Path::new(&name)))
        .map(|name| dest.join(name))
        .filter(|path| path.is_file());
    if let Some(tarball) = reported {
        return Ok(tarball);
    }
    let tarballs: Vec<PathBuf> = fs::read_dir(dest)
        .map_err(|source| Error::io("reading", dest, source))?
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "tgz"))
        .collect();
    match tarballs.as_slice() {
        [tarball] => Ok(tarball.clone()),
        _ => Err(fail(
            format!(
                "`npm pack {spec}` succeeded but left {} tarballs in {}",
                tarballs.len(),
                dest.display()
            ),
            &format!("retry, or {FIX_SET_PATH}"),
        )),
    }
}

fn last_chars(text: &str, max_chars: usize) -> String {
    let count = text.chars().count();
    if count <= max_chars {
        text.to_owned()
    } else {
        let tail: String = text.chars().skip(count - max_chars).collect();
        format!("…{tail}")
    }
}

/// Checks `tarball` against a subresource-integrity value (`sha512-<base64>`, possibly several
/// separated by spaces, any of which may match).
fn verify_integrity(tarball: &Path, expected: &str, spec: &str, version: &str) -> Result<()> {
    let expected_sha512: Vec<&str> = expected
        .split_whitespace()
        .filter(|hash| hash.starts_with("sha512-"))
        .collect();
    if expected_sha512.is_empty() {
        return Err(Error::Install {
            version: version.to_owned(),
            reason: format!("expected integrity {expected:?} has no sha512 hash to check against"),
            fix: "give the integrity as `sha512-<base64>`".to_owned(),
        });
    }
    let digest =
        hash_file::<Sha512>(tarball).map_err(|source| Error::io("reading", tarball, source))?;
    let actual = format!(
        "sha512-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    );
    if expected_sha512.contains(&actual.as_str()) {
        tracing::debug!(tarball = %tarball.display(), "integrity verified");
        Ok(())
    } else {
        Err(Error::Install {
            version: version.to_owned(),
            reason: format!(
                "the {spec} tarball failed its integrity check: expected {}, got {actual}",
                expected_sha512.join(" or ")
            ),
            fix: FIX_INTEGRITY.to_owned(),
        })
    }
}

fn sha256_hex(path: &Path) -> io::Result<String> {
    Ok(hex(&hash_file::<Sha256>(path)?))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Hashes a file in fixed-size chunks, so memory use does not grow with the file.
fn hash_file<D: Digest>(path: &Path) -> io::Result<sha2::digest::Output<D>> {
    let mut file = fs::File::open(path)?;
    let mut hasher = D::new();
    let mut buffer = vec![0_u8; 256 * 1024];
    loop {
        let read = match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        hasher.update(&buffer[..read]);
    }
    Ok(hasher.finalize())
}

/// Counts the bytes read through it, for progress reports.
struct CountingReader<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.count.set(self.count.get() + read as u64);
        Ok(read)
    }
}

/// Unpacks `package/vendor/<target>/` of `tarball` into `dest`, streaming, and returns the
/// sha256 (hex) of the file at `hash_relative` inside it, when asked for and present.
///
/// Only regular files and directories are accepted there; an entry whose path is absolute or
/// contains `..` anywhere in the archive fails the whole extraction.
fn extract_vendor_tree(
    tarball: &Path,
    target: &str,
    dest: &Path,
    hash_relative: Option<&Path>,
    report: &dyn Fn(InstallProgress),
) -> std::result::Result<Option<String>, String> {
    // Progress is reported at most once per this many compressed bytes.
    const REPORT_EVERY_BYTES: u64 = 1024 * 1024;

    let file = fs::File::open(tarball).map_err(|error| error.to_string())?;
    let total_bytes = file.metadata().map_err(|error| error.to_string())?.len();
    let done_bytes = Rc::new(Cell::new(0_u64));
    let reader = CountingReader {
        inner: BufReader::new(file),
        count: Rc::clone(&done_bytes),
    };
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(reader));
    fs::create_dir_all(dest).map_err(|error| format!("creating {}: {error}", dest.display()))?;

    let prefix = Path::new("package").join("vendor").join(target);
    let mut last_report = 0_u64;
    let mut report_progress = |force: bool| {
        let done = done_bytes.get();
        if force || done.saturating_sub(last_report) >= REPORT_EVERY_BYTES {
            last_report = done;
            report(InstallProgress::Extracting {
                done_bytes: done,
                total_bytes,
            });
        }
    };

    let mut extracted_files = 0_usize;
    let mut streamed_sha256 = None;
    let entries = archive.entries().map_err(|error| error.to_string())?;
    for entry in entries {
        let mut entry = entry.map_err(|error| error.to_string())?;
        let entry_path = entry
            .path()
            .map_err(|error| error.to_string())?
            .into_owned();
        let Some(entry_path) = safe_relative_path(&entry_path) else {
            return Err(format!(
                "entry {} escapes the package directory",
                entry_path.display()
            ));
        };
        let Ok(relative) = entry_path.strip_prefix(&prefix) else {
            continue;
        };
        if relative.as_os_str().is_empty() {
            continue;
        }
        let out_path = dest.join(relative);
        let entry_type = entry.header().entry_type();
        if entry_type.is_dir() {
            fs::create_dir_all(&out_path)
                .map_err(|error| format!("creating {}: {error}", out_path.display()))?;
        } else if entry_type.is_file() {
            if let Some(parent) = out_path.parent() {
                fs::create_dir_all(parent)
                    .map_err(|error| format!("creating {}: {error}", parent.display()))?;
            }
            let mode = entry.header().mode().unwrap_or(0o644);
            let mut out = create_file_with_mode(&out_path, mode)
                .map_err(|error| format!("creating {}: {error}", out_path.display()))?;
            // Hashing while writing spares reading the (large) executable back.
            let mut hasher = (hash_relative == Some(relative)).then(Sha256::new);
            let mut buffer = vec![0_u8; 256 * 1024];
            loop {
                let read = match entry.read(&mut buffer) {
                    Ok(0) => break,
                    Ok(read) => read,
                    Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                    Err(error) => return Err(format!("reading {}: {error}", entry_path.display())),
                };
                out.write_all(&buffer[..read])
                    .map_err(|error| format!("writing {}: {error}", out_path.display()))?;
                if let Some(hasher) = &mut hasher {
                    hasher.update(&buffer[..read]);
                }
                report_progress(false);
            }
            if let Some(hasher) = hasher {
                streamed_sha256 = Some(hex(&hasher.finalize()));
            }
            out.flush()
                .map_err(|error| format!("writing {}: {error}", out_path.display()))?;
            extracted_files += 1;
        } else {
            return Err(format!(
                "entry {} is a {entry_type:?}, not a file or directory",
                entry_path.display()
            ));
        }
    }
    // Reading to the end checks the gzip trailer (CRC and length) and completes the progress.
    io::copy(&mut archive.into_inner(), &mut io::sink())
        .map_err(|error| format!("reading the end of the archive: {error}"))?;
    if extracted_files == 0 {
        return Err(format!("it has no files under {}/", prefix.display()));
    }
    report_progress(true);
    Ok(streamed_sha256)
}

/// Creates a file with the archive's permission bits (without set-id bits), so executables stay
/// executable.
fn create_file_with_mode(path: &Path, mode: u32) -> io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode & 0o777);
    }
    #[cfg(not(unix))]
    let _ = mode;
    options.open(path)
}

/// Which install ended up at the final directory.
enum Placement {
    /// This call's tree was moved into place.
    Installed(PathBuf),
    /// A valid install was already there (a concurrent install won the race).
    AlreadyThere(PathBuf),
}

/// Renames the unpacked `tree` to `final_dir`.
///
/// A valid install already at `final_dir` is kept (unless `replace`), and this call's tree is
/// left for the caller to discard. An invalid one (or any one, when replacing) is first moved
/// into `staging`, so it disappears with it.
fn move_into_place(
    tree: &Path,
    final_dir: &Path,
    staging: &Path,
    replace: bool,
    check: impl Fn(&Path) -> std::result::Result<PathBuf, String>,
) -> Result<Placement> {
    const ATTEMPTS: usize = 3;
    let mut last_error = None;
    for attempt in 0..ATTEMPTS {
        if replace || attempt > 0 {
            let set_aside = staging.join(format!("replaced-{attempt}"));
            match fs::rename(final_dir, &set_aside) {
                Ok(()) => {
                    tracing::debug!(dir = %final_dir.display(), "moved the previous install aside")
                }
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(source) => return Err(Error::io("moving aside", final_dir, source)),
            }
        }
        match fs::rename(tree, final_dir) {
            Ok(()) => {
                return check(final_dir)
                    .map(Placement::Installed)
                    .map_err(|reason| Error::Install {
                        version: PINNED_VERSION.to_owned(),
                        reason: format!(
                            "{} is unusable after installing: {reason}",
                            final_dir.display()
                        ),
                        fix: "retry with force".to_owned(),
                    });
            }
            Err(error) => {
                if !replace && let Ok(binary) = check(final_dir) {
                    return Ok(Placement::AlreadyThere(binary));
                }
                if !final_dir.exists() {
                    return Err(Error::io("moving into place", final_dir, error));
                }
                last_error = Some(error);
            }
        }
    }
    Err(Error::io(
        "moving into place",
        final_dir,
        last_error.unwrap_or_else(|| io::Error::other("another install kept replacing it")),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_paths_that_escape() {
        assert_eq!(
            safe_relative_path(Path::new("a/./b")),
            Some(PathBuf::from("a/b"))
        );
        assert_eq!(safe_relative_path(Path::new("a/../b")), None);
        assert_eq!(safe_relative_path(Path::new("/etc/passwd")), None);
        assert_eq!(safe_relative_path(Path::new("")), None);
    }

    #[test]
    fn default_entrypoint_follows_the_target() {
        assert_eq!(
            default_entrypoint("x86_64-pc-windows-msvc"),
            Path::new("bin").join("codex.exe")
        );
        assert_eq!(
            default_entrypoint("aarch64-apple-darwin"),
            Path::new("bin").join("codex")
        );
    }

    #[test]
    fn extraction_hashes_the_requested_file() -> std::result::Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        let tarball = dir.path().join("t.tgz");
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
            fs::File::create(&tarball)?,
            flate2::Compression::fast(),
        ));
        for (path, contents) in [
            ("package/vendor/t/bin/codex", &b"binary"[..]),
            ("package/vendor/t/codex-package.json", &b"{}"[..]),
            ("package/other/bin/codex", &b"ignored"[..]),
        ] {
            let mut header = tar::Header::new_gnu();
            header.set_size(contents.len() as u64);
            header.set_mode(0o755);
            builder.append_data(&mut header, path, contents)?;
        }
        builder.into_inner()?.finish()?;

        let dest = dir.path().join("out");
        let events = std::cell::RefCell::new(Vec::new());
        let report = |event: InstallProgress| events.borrow_mut().push(event);
        let hash =
            extract_vendor_tree(&tarball, "t", &dest, Some(Path::new("bin/codex")), &report)?;
        assert_eq!(hash, Some(hex(&Sha256::digest(b"binary"))));
        assert_eq!(fs::read(dest.join("bin/codex"))?, b"binary");
        assert!(!dest.join("other").exists());
        let total = fs::metadata(&tarball)?.len();
        assert_eq!(
            events.borrow().last(),
            Some(&InstallProgress::Extracting {
                done_bytes: total,
                total_bytes: total
            })
        );
        assert_eq!(
            extract_vendor_tree(&tarball, "t", &dest.join("again"), None, &report)?,
            None
        );
        Ok(())
    }

    #[test]
    fn integrity_lists_may_hold_several_hashes() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|source| Error::io("creating", "temp", source))?;
        let file = dir.path().join("data");
        fs::write(&file, b"hello").map_err(|source| Error::io("writing", &file, source))?;
        let digest =
            hash_file::<Sha512>(&file).map_err(|source| Error::io("reading", &file, source))?;
        let good = format!(
            "sha512-{}",
            base64::engine::general_purpose::STANDARD.encode(digest)
        );
        verify_integrity(&file, &format!("sha1-abc {good}"), "spec", "1")?;
        assert!(verify_integrity(&file, "sha512-AAAA", "spec", "1").is_err());
        assert!(verify_integrity(&file, "sha1-abc", "spec", "1").is_err());
        Ok(())
    }
}
