//! Attachments: a content-addressed staging store for files and images that turns send to
//! codex, and the [`InputAttachment`]s of an [`Input`](crate::Input).
//!
//! # The store
//!
//! An [`AttachmentStore`] keeps each distinct content once, under its SHA-256:
//!
//! ```text
//! <root>/blobs/<sha256 hex>[.<ext>]        the content, read-only (mode 0444)
//! <root>/blobs/<sha256 hex>[.<ext>].keep   present when staged as persistent
//! <root>/blobs/.tmp-*                      content being written
//! ```
//!
//! `<ext>` comes from the content's magic number only (`png`, `pdf`, …; none for text), so
//! the same bytes always get the same name, whatever file or name they came from. The default
//! root is `<user cache dir>/codexkit/attachments` (e.g. `~/.cache/codexkit/attachments`).
//!
//! * **Atomic, deduplicated writes.** Content is written to a temp file in `blobs/`, fsynced,
//!   and then given its final name with a no-replace rename (`renameat2(RENAME_NOREPLACE)`, or
//!   link and unlink). A reader never sees a partial blob, and when several tasks or processes
//!   stage the same bytes at once exactly one file results. Within a process, stagings of the
//!   same content wait for each other, so only one of them writes.
//! * **Bounded memory.** Paths and readers are streamed in 64 KiB chunks while hashing.
//! * **Leases.** Every [`Attachment`] handle is a lease: while any handle (or a clone) of a
//!   blob is alive, no cleanup deletes it, in this process or another. Within a process the
//!   handles are counted in memory; the process also holds one shared `flock(2)` lock on the
//!   blob file while the count is above zero. Deleting takes an exclusive, non-blocking lock on
//!   the blob and gives up if it can't get it, so another process's cleanup never deletes a
//!   leased blob. The kernel drops the locks of a process that dies, so a crash leaves no stale
//!   lease. A turn holds leases on its attachments until its event stream is dropped.
//! * **Retention.** A [`Retention::Persistent`] blob stays until its TTL passed without use
//!   (the TTL counts from the latest staging or the latest release of its last handle). A
//!   [`Retention::Ephemeral`] blob is deleted as soon as its last handle in this process is
//!   dropped, unless it is leased elsewhere or was also staged as persistent (`.keep`).
//! * **Cleanup.** [`AttachmentStore::cleanup`] deletes expired, unleased blobs; a background
//!   task does the same every [`StoreConfig::cleanup_interval`]. Opening a store sweeps temp
//!   files left by a crashed writer: a writer holds an exclusive lock on its temp file, so an
//!   unlocked temp file older than [`StoreConfig::temp_grace`] is debris.
//! * **Quota and gauge.** With [`StoreConfig::max_bytes`], staging that would go past the
//!   quota fails with [`Error::QuotaExceeded`] before anything is kept.
//!   [`AttachmentStore::usage`] reads the staged bytes and files; crossing
//!   [`StoreConfig::alert_threshold_bytes`] calls [`StoreConfig::on_alert`] and logs a
//!   `tracing` warning. The gauge counts this process's changes as they happen and is
//!   recounted from disk when the store opens and at every cleanup, which is when other
//!   processes' stagings show up in it (and in the quota).
//!
//! All processes sharing a root must run as the same user.

mod input;
mod lock;
mod mime;

pub use input::{ATTACHED_FILES_HEADER, InputAttachment, SharedBytes};
pub(crate) use input::{prepare, unstaged_image_urls};

use crate::{Error, Result};
use lock::{FileLock, Mode};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;
use std::fs::{self, File, Metadata};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

/// Default time a persistent attachment is kept after its last use.
pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// Default time between two background cleanups.
pub const DEFAULT_CLEANUP_INTERVAL: Duration = Duration::from_secs(10 * 60);
/// Default age after which an unlocked temp file is swept.
pub const DEFAULT_TEMP_GRACE: Duration = Duration::from_secs(60);

/// Chunk size for streaming content.
const CHUNK: usize = 64 * 1024;
/// Prefix of temp files.
const TEMP_PREFIX: &str = ".tmp-";
/// Suffix of the marker of persistent blobs.
const KEEP_SUFFIX: &str = ".keep";
/// How long staging waits for a blob that another process is deleting.
const LEASE_PATIENCE: Duration = Duration::from_secs(5);

/// Called when the staged bytes cross [`StoreConfig::alert_threshold_bytes`].
pub type AlertHandler = Arc<dyn Fn(&StoreAlert) + Send + Sync>;

/// Settings of an [`AttachmentStore`].
#[non_exhaustive]
#[derive(Clone)]
pub struct StoreConfig {
    /// The store's directory (created if missing).
    pub root: PathBuf,
    /// How long a persistent attachment is kept after its last use (default 24 h).
    pub ttl: Duration,
    /// Time between background cleanups (default 10 min); `None` for none (call
    /// [`AttachmentStore::cleanup`] yourself). The task runs on the Tokio runtime current when
    /// the store is opened or first stages something, and stops when the store is dropped.
    pub cleanup_interval: Option<Duration>,
    /// Quota: the most bytes the store may hold; `None` (the default) for no limit.
    pub max_bytes: Option<u64>,
    /// Staged bytes at which [`on_alert`](Self::on_alert) is called and a warning logged, once
    /// per crossing (it re-arms when usage drops below).
    pub alert_threshold_bytes: Option<u64>,
    /// The alert callback.
    pub on_alert: Option<AlertHandler>,
    /// Unlocked temp files older than this are swept as crash debris (default 60 s).
    pub temp_grace: Duration,
}

impl fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreConfig")
            .field("root", &self.root)
            .field("ttl", &self.ttl)
            .field("cleanup_interval", &self.cleanup_interval)
            .field("max_bytes", &self.max_bytes)
            .field("alert_threshold_bytes", &self.alert_threshold_bytes)
            .field("on_alert", &self.on_alert.as_ref().map(|_| "<callback>"))
            .field("temp_grace", &self.temp_grace)
            .finish()
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self::new(Self::default_root())
    }
}

impl StoreConfig {
    /// Settings for a store at `root`, with the defaults otherwise.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            ttl: DEFAULT_TTL,
            cleanup_interval: Some(DEFAULT_CLEANUP_INTERVAL),
            max_bytes: None,
            alert_threshold_bytes: None,
            on_alert: None,
            temp_grace: DEFAULT_TEMP_GRACE,
        }
    }

    /// `<user cache dir>/codexkit/attachments`, or `<temp dir>/codexkit-attachments` where
    /// there is no cache directory.
    pub fn default_root() -> PathBuf {
        match dirs::cache_dir() {
            Some(cache) => cache.join("codexkit").join("attachments"),
            None => std::env::temp_dir().join("codexkit-attachments"),
        }
    }

    /// Sets the TTL of persistent attachments.
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Sets the background cleanup interval (`None`: no background cleanup).
    pub fn with_cleanup_interval(mut self, interval: Option<Duration>) -> Self {
        self.cleanup_interval = interval;
        self
    }

    /// Sets the quota.
    pub fn with_max_bytes(mut self, max: u64) -> Self {
        self.max_bytes = Some(max);
        self
    }

    /// Calls `handler` (and logs a warning) when the staged bytes reach `threshold`.
    pub fn with_alert(
        mut self,
        threshold: u64,
        handler: impl Fn(&StoreAlert) + Send + Sync + 'static,
    ) -> Self {
        self.alert_threshold_bytes = Some(threshold);
        self.on_alert = Some(Arc::new(handler));
        self
    }

    /// Sets the age after which unlocked temp files are swept.
    pub fn with_temp_grace(mut self, grace: Duration) -> Self {
        self.temp_grace = grace;
        self
    }
}

/// How long a staged attachment is kept once no handle uses it.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Retention {
    /// Until the TTL passed without use.
    #[default]
    Persistent,
    /// Deleted when the last handle in this process is dropped (unless leased elsewhere or
    /// also staged as persistent).
    Ephemeral,
}

/// Options of one staging.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StageOptions {
    /// Persistent (default) or ephemeral.
    pub retention: Retention,
    /// A display name (e.g. the original file name): shown in prompts and used to guess the
    /// MIME type of content without a magic number. Staging a path uses its file name.
    pub name: Option<String>,
}

impl StageOptions {
    /// A persistent staging.
    pub fn persistent() -> Self {
        Self::default()
    }

    /// An ephemeral staging.
    pub fn ephemeral() -> Self {
        Self {
            retention: Retention::Ephemeral,
            name: None,
        }
    }

    /// Sets the display name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
}

/// What the store holds: a gauge.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreUsage {
    /// Bytes of staged content.
    pub bytes: u64,
    /// Number of staged blobs.
    pub files: u64,
}

/// The staged bytes reached the alert threshold.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreAlert {
    /// The store's root.
    pub root: PathBuf,
    /// Staged bytes now.
    pub bytes: u64,
    /// Staged blobs now.
    pub files: u64,
    /// The threshold that was reached.
    pub threshold: u64,
}

/// What a cleanup did.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CleanupReport {
    /// Expired blobs deleted.
    pub removed_files: u64,
    /// Their bytes.
    pub removed_bytes: u64,
    /// Expired blobs kept because they are leased (here or by another process).
    pub kept_leased: u64,
    /// Stale temp files deleted.
    pub removed_temp_files: u64,
}

/// A content-addressed staging store for attachments. Cheap to clone; clones share
/// everything. See the [module documentation](self).
#[non_exhaustive]
#[derive(Clone)]
pub struct AttachmentStore {
    inner: Arc<Inner>,
}

impl fmt::Debug for AttachmentStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttachmentStore")
            .field("root", &self.inner.config.root)
            .field("usage", &self.usage())
            .finish_non_exhaustive()
    }
}

struct Inner {
    config: StoreConfig,
    blobs: PathBuf,
    /// In-process leases by blob file name.
    leases: Mutex<HashMap<String, LeaseEntry>>,
    /// The gauge and in-flight reservations. Held while a blob gets or loses its name, and
    /// while the gauge is recounted, so the two never disagree.
    ledger: Mutex<Ledger>,
    /// Whether the alert fired and usage has not dropped below the threshold since.
    alerted: AtomicBool,
    /// One gate per blob name being staged in this process.
    writers: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    cleanup_task: Mutex<Option<tokio::task::AbortHandle>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(task) = lock_ignoring_poison(&self.cleanup_task).take() {
            task.abort();
        }
    }
}

#[derive(Debug, Default)]
struct Ledger {
    bytes: u64,
    files: u64,
    /// Bytes being written and not yet named.
    reserved: u64,
}

#[derive(Debug)]
struct LeaseEntry {
    count: usize,
    /// The shared lock that tells other processes the blob is in use.
    lock: FileLock,
}

fn lock_ignoring_poison<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// One staged attachment, and a lease on it: the file stays while this handle or a clone of
/// it is alive.
#[non_exhaustive]
#[derive(Clone)]
pub struct Attachment {
    handle: Arc<Handle>,
}

struct Handle {
    store: Arc<Inner>,
    file_name: String,
    path: PathBuf,
    sha256: String,
    size: u64,
    mime: String,
    is_image: bool,
    name: Option<String>,
    retention: Retention,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.store.release(&self.file_name, self.retention);
    }
}

impl fmt::Debug for Attachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attachment")
            .field("path", &self.handle.path)
            .field("size", &self.handle.size)
            .field("mime", &self.handle.mime)
            .field("name", &self.handle.name)
            .field("retention", &self.handle.retention)
            .finish()
    }
}

impl PartialEq for Attachment {
    fn eq(&self, other: &Self) -> bool {
        self.handle.path == other.handle.path && self.handle.name == other.handle.name
    }
}

impl Eq for Attachment {}

impl Attachment {
    /// The absolute path of the staged content.
    pub fn path(&self) -> &Path {
        &self.handle.path
    }

    /// The SHA-256 of the content, lowercase hex.
    pub fn sha256(&self) -> &str {
        &self.handle.sha256
    }

    /// The size in bytes.
    pub fn size(&self) -> u64 {
        self.handle.size
    }

    /// The MIME type, from the content (magic number), else the name's extension, else
    /// `text/plain` for UTF-8 text or `application/octet-stream`.
    pub fn mime(&self) -> &str {
        &self.handle.mime
    }

    /// Whether the content is an image codex can attach (PNG, JPEG, GIF, WebP, …, recognised
    /// by its magic number).
    pub fn is_image(&self) -> bool {
        self.handle.is_image
    }

    /// The display name given when staging (a path's file name), if any.
    pub fn name(&self) -> Option<&str> {
        self.handle.name.as_deref()
    }

    /// How long it is kept once unused.
    pub fn retention(&self) -> Retention {
        self.handle.retention
    }
}

/// What staging learned about the content before naming it.
struct Digested {
    sha256: String,
    size: u64,
    detected: mime::Detected,
}

impl Digested {
    fn file_name(&self) -> String {
        match self.detected.content_extension {
            Some(ext) => format!("{}.{ext}", self.sha256),
            None => self.sha256.clone(),
        }
    }
}

/// Hashes a stream in chunks; keeps the first bytes for MIME detection.
#[derive(Default)]
struct Hashing {
    hasher: Sha256,
    head: Vec<u8>,
    size: u64,
}

impl Hashing {
    fn update(&mut self, chunk: &[u8]) {
        self.hasher.update(chunk);
        if self.head.len() < mime::SNIFF_BYTES {
            let take = (mime::SNIFF_BYTES - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        self.size += chunk.len() as u64;
    }

    fn finish(self, name: Option<&str>) -> Digested {
        Digested {
            sha256: hex(&self.hasher.finalize()),
            size: self.size,
            detected: mime::detect(&self.head, name),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// Content to stage that can be read more than once.
#[derive(Clone)]
enum Source {
    Path(PathBuf),
    Bytes(SharedBytes),
}

impl Source {
    /// Streams the content into `sink` (the file `target`, for messages), hashing it, and
    /// returns the digest.
    fn copy_into(
        &self,
        name: Option<&str>,
        target: &Path,
        mut sink: impl Write,
    ) -> Result<Digested> {
        let mut hashing = Hashing::default();
        match self {
            Self::Bytes(bytes) => {
                for chunk in bytes.as_slice().chunks(CHUNK) {
                    hashing.update(chunk);
                    sink.write_all(chunk)
                        .map_err(|e| Error::io("writing", target, e))?;
                }
            }
            Self::Path(path) => {
                let mut file = File::open(path).map_err(|e| Error::io("reading", path, e))?;
                let mut buf = vec![0u8; CHUNK];
                loop {
                    let n = match file.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(Error::io("reading", path, e)),
                    };
                    hashing.update(&buf[..n]);
                    sink.write_all(&buf[..n])
                        .map_err(|e| Error::io("writing", target, e))?;
                }
            }
        }
        Ok(hashing.finish(name))
    }
}

impl AttachmentStore {
    /// Opens (creating if needed) the store described by `config`: sweeps temp files left by
    /// crashed writers and counts what is staged. Starts the background cleanup when called
    /// on a Tokio runtime (otherwise on the first staging).
    pub fn open(config: StoreConfig) -> Result<Self> {
        let blobs = config.root.join("blobs");
        fs::create_dir_all(&blobs)
            .map_err(|e| Error::io("creating the attachment store", &blobs, e))?;
        let blobs = fs::canonicalize(&blobs).map_err(|e| Error::io("resolving", &blobs, e))?;
        let inner = Arc::new(Inner {
            config,
            blobs,
            leases: Mutex::new(HashMap::new()),
            ledger: Mutex::new(Ledger::default()),
            alerted: AtomicBool::new(false),
            writers: Mutex::new(HashMap::new()),
            cleanup_task: Mutex::new(None),
        });
        let swept = inner.sweep_temp_files();
        if swept > 0 {
            tracing::info!(
                root = %inner.config.root.display(),
                files = swept,
                "removed temp files left by an interrupted attachment staging"
            );
        }
        inner.recount()?;
        inner.ensure_cleanup_task();
        Ok(Self { inner })
    }

    /// Opens the store at the default root with default settings.
    pub fn open_default() -> Result<Self> {
        Self::open(StoreConfig::default())
    }

    /// The process-wide default store (opened on first use), used for turns whose
    /// [`CodexOptions`](crate::CodexOptions) name no store.
    pub fn shared() -> Result<Self> {
        static SHARED: Mutex<Option<AttachmentStore>> = Mutex::new(None);
        let mut slot = lock_ignoring_poison(&SHARED);
        if let Some(store) = slot.as_ref() {
            store.inner.ensure_cleanup_task();
            return Ok(store.clone());
        }
        let store = Self::open_default()?;
        *slot = Some(store.clone());
        Ok(store)
    }

    /// The store's root directory.
    pub fn root(&self) -> &Path {
        &self.inner.config.root
    }

    /// The directory holding the staged files (absolute): the directory given to codex's
    /// sandbox as an additional directory.
    pub fn blobs_dir(&self) -> &Path {
        &self.inner.blobs
    }

    /// The settings.
    pub fn config(&self) -> &StoreConfig {
        &self.inner.config
    }

    /// The gauge: staged bytes and files.
    pub fn usage(&self) -> StoreUsage {
        let ledger = lock_ignoring_poison(&self.inner.ledger);
        StoreUsage {
            bytes: ledger.bytes,
            files: ledger.files,
        }
    }

    /// Stages the content of the file at `path` (the file name becomes the display name
    /// unless `options` has one).
    pub async fn stage_path(
        &self,
        path: impl AsRef<Path>,
        options: StageOptions,
    ) -> Result<Attachment> {
        let path = path.as_ref();
        let meta = fs::metadata(path).map_err(|e| Error::io("reading", path, e))?;
        if !meta.is_file() {
            return Err(Error::invalid(
                "attachment",
                format!("{} is not a regular file", path.display()),
            ));
        }
        let path = std::path::absolute(path).map_err(|e| Error::io("resolving", path, e))?;
        let mut options = options;
        if options.name.is_none() {
            options.name = path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned());
        }
        self.stage_source(Source::Path(path), options).await
    }

    /// Stages bytes.
    pub async fn stage_bytes(
        &self,
        bytes: impl Into<SharedBytes>,
        options: StageOptions,
    ) -> Result<Attachment> {
        self.stage_source(Source::Bytes(bytes.into()), options)
            .await
    }

    /// Stages everything `reader` yields, streaming it to disk (memory stays bounded whatever
    /// its length). With a quota, the stream is refused as soon as it would not fit: its bytes
    /// count as new while they arrive, even if the content turns out to be staged already.
    pub async fn stage_reader(
        &self,
        reader: impl AsyncRead + Unpin + Send,
        options: StageOptions,
    ) -> Result<Attachment> {
        self.inner.ensure_cleanup_task();
        let inner = Arc::clone(&self.inner);
        let (temp, temp_lock) = blocking(move || inner.create_temp()).await?;
        let mut file = tokio::fs::File::from_std(
            temp.as_file()
                .try_clone()
                .map_err(|e| Error::io("opening", temp.path(), e))?,
        );
        let mut reservation = Reservation::new(&self.inner);
        let mut hashing = Hashing::default();
        let mut reader = reader;
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = reader
                .read(&mut buf)
                .await
                .map_err(|e| Error::io("reading the attachment stream for", temp.path(), e))?;
            if n == 0 {
                break;
            }
            reservation.grow(n as u64)?;
            hashing.update(&buf[..n]);
            file.write_all(&buf[..n])
                .await
                .map_err(|e| Error::io("writing", temp.path(), e))?;
        }
        file.flush()
            .await
            .map_err(|e| Error::io("writing", temp.path(), e))?;
        drop(file);
        let digest = hashing.finish(options.name.as_deref());
        let inner = Arc::clone(&self.inner);
        blocking(move || {
            inner.commit_temp(temp, temp_lock, &digest, reservation)?;
            inner
                .lease_existing(&digest, &options)?
                .ok_or_else(|| vanished(&inner.blobs, &digest))
        })
        .await
    }

    async fn stage_source(&self, source: Source, options: StageOptions) -> Result<Attachment> {
        self.inner.ensure_cleanup_task();
        // First pass: hash only, so content that is already staged is never written again.
        let digest = {
            let source = source.clone();
            let name = options.name.clone();
            blocking(move || {
                source.copy_into(
                    name.as_deref(),
                    Path::new("(hashing only)"),
                    std::io::sink(),
                )
            })
            .await?
        };
        let gate = WriterGate {
            inner: Arc::clone(&self.inner),
            gate: self.inner.writer_gate(&digest.file_name()),
        };
        let _turn = gate.gate.lock().await;
        let inner = Arc::clone(&self.inner);
        blocking(move || inner.materialize(&source, &digest, &options)).await
    }

    /// Deletes expired, unleased blobs and stale temp files, and recounts the gauge from disk.
    pub async fn cleanup(&self) -> Result<CleanupReport> {
        let inner = Arc::clone(&self.inner);
        blocking(move || inner.cleanup()).await
    }
}

/// This process's turn to write one blob; forgets the gate when the last waiter is done
/// (also when the staging future is dropped).
struct WriterGate {
    inner: Arc<Inner>,
    gate: Arc<tokio::sync::Mutex<()>>,
}

impl Drop for WriterGate {
    fn drop(&mut self) {
        let mut writers = lock_ignoring_poison(&self.inner.writers);
        // The map's reference and ours: nobody else waits on it.
        if Arc::strong_count(&self.gate) == 2 {
            writers.retain(|_, g| !Arc::ptr_eq(g, &self.gate));
        }
    }
}

/// Runs blocking file work off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::io("staging an attachment", "", std::io::Error::other(e)))?
}

fn vanished(blobs: &Path, digest: &Digested) -> Error {
    Error::io(
        "leasing",
        blobs.join(digest.file_name()),
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "the staged file was deleted before it could be leased",
        ),
    )
}

/// Bytes counted against the quota while they are being written; released on drop.
struct Reservation {
    inner: Arc<Inner>,
    bytes: u64,
}

impl Reservation {
    fn new(inner: &Arc<Inner>) -> Self {
        Self {
            inner: Arc::clone(inner),
            bytes: 0,
        }
    }

    fn grow(&mut self, more: u64) -> Result<()> {
        let mut ledger = lock_ignoring_poison(&self.inner.ledger);
        if let Some(limit) = self.inner.config.max_bytes {
            let used = ledger.bytes + ledger.reserved;
            if used.saturating_add(more) > limit {
                return Err(Error::QuotaExceeded {
                    limit,
                    used,
                    requested: self.bytes + more,
                });
            }
        }
        ledger.reserved += more;
        self.bytes += more;
        Ok(())
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut ledger = lock_ignoring_poison(&self.inner.ledger);
        ledger.reserved = ledger.reserved.saturating_sub(self.bytes);
    }
}

fn same_file(a: &Metadata, b: &Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        a.dev() == b.dev() && a.ino() == b.ino()
    }
    #[cfg(not(unix))]
    {
        a.len() == b.len() && a.modified().ok() == b.modified().ok()
    }
}

fn is_blob_name(name: &str) -> bool {
    if name.ends_with(KEEP_SUFFIX) {
        return false;
    }
    let (hash, ext) = match name.split_once('.') {
        Some((hash, ext)) => (hash, Some(ext)),
        None => (name, None),
    };
    hash.len() == 64
        && hash
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        && ext.is_none_or(|e| !e.is_empty() && e.bytes().all(|b| b.is_ascii_alphanumeric()))
}

fn modified(meta: &Metadata) -> SystemTime {
    meta.modified().unwrap_or(SystemTime::UNIX_EPOCH)
}

impl Inner {
    fn blob_path(&self, file_name: &str) -> PathBuf {
        self.blobs.join(file_name)
    }

    fn keep_path(&self, file_name: &str) -> PathBuf {
        self.blobs.join(format!("{file_name}{KEEP_SUFFIX}"))
    }

    fn writer_gate(&self, file_name: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut writers = lock_ignoring_poison(&self.writers);
        Arc::clone(writers.entry(file_name.to_owned()).or_default())
    }

    fn ensure_cleanup_task(self: &Arc<Self>) {
        let Some(interval) = self.config.cleanup_interval else {
            return;
        };
        let mut slot = lock_ignoring_poison(&self.cleanup_task);
        if slot.as_ref().is_some_and(|task| !task.is_finished()) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let weak: Weak<Self> = Arc::downgrade(self);
        let task = runtime.spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                let Some(inner) = weak.upgrade() else { break };
                match tokio::task::spawn_blocking(move || inner.cleanup()).await {
                    Ok(Ok(report)) => tracing::debug!(?report, "attachment cleanup"),
                    Ok(Err(error)) => tracing::warn!(%error, "attachment cleanup failed"),
                    Err(error) => tracing::warn!(%error, "attachment cleanup panicked"),
                }
            }
        });
        *slot = Some(task.abort_handle());
    }

    /// A temp file in `blobs/`, exclusively locked so sweepers leave it alone.
    fn create_temp(&self) -> Result<(tempfile::NamedTempFile, FileLock)> {
        let temp = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .tempfile_in(&self.blobs)
            .map_err(|e| Error::io("creating a temp file in", &self.blobs, e))?;
        let clone = temp
            .as_file()
            .try_clone()
            .map_err(|e| Error::io("opening", temp.path(), e))?;
        let lock = lock::try_lock(clone, Mode::Exclusive)
            .map_err(|e| Error::io("locking", temp.path(), e))?
            .ok_or_else(|| {
                Error::io(
                    "locking",
                    temp.path(),
                    std::io::Error::new(
                        std::io::ErrorKind::WouldBlock,
                        "a fresh temp file is locked",
                    ),
                )
            })?;
        Ok((temp, lock))
    }

    /// Leases the blob for `digest` if it is there, or writes it and leases it.
    fn materialize(
        self: &Arc<Self>,
        source: &Source,
        digest: &Digested,
        options: &StageOptions,
    ) -> Result<Attachment> {
        // A blob can vanish between writing and leasing only if another process deletes it
        // (ephemeral release or an expired cleanup); then write it again.
        for _ in 0..3 {
            if let Some(attachment) = self.lease_existing(digest, options)? {
                return Ok(attachment);
            }
            let mut reservation = Reservation::new(self);
            reservation.grow(digest.size)?;
            let (temp, temp_lock) = self.create_temp()?;
            let written = {
                let mut writer = std::io::BufWriter::with_capacity(CHUNK, temp.as_file());
                let written =
                    source.copy_into(options.name.as_deref(), temp.path(), &mut writer)?;
                writer
                    .flush()
                    .map_err(|e| Error::io("writing", temp.path(), e))?;
                written
            };
            if written.sha256 != digest.sha256 {
                return Err(Error::invalid(
                    "attachment",
                    "the file changed while it was being staged",
                ));
            }
            self.commit_temp(temp, temp_lock, digest, reservation)?;
        }
        Err(vanished(&self.blobs, digest))
    }

    /// Makes a fully written temp file the blob for `digest` (no-op if the blob exists).
    fn commit_temp(
        &self,
        temp: tempfile::NamedTempFile,
        temp_lock: FileLock,
        digest: &Digested,
        mut reservation: Reservation,
    ) -> Result<()> {
        let file = temp.as_file();
        file.sync_all()
            .map_err(|e| Error::io("syncing", temp.path(), e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(fs::Permissions::from_mode(0o444))
                .map_err(|e| Error::io("protecting", temp.path(), e))?;
        }
        let target = self.blob_path(&digest.file_name());
        let crossed = {
            let mut ledger = lock_ignoring_poison(&self.ledger);
            let created = match temp.persist_noclobber(&target) {
                Ok(_) => true,
                // Another writer (another process) got there first with the same bytes; our
                // temp file is removed when the error drops it.
                Err(error) if error.error.kind() == std::io::ErrorKind::AlreadyExists => false,
                Err(error) => return Err(Error::io("naming", &target, error.error)),
            };
            ledger.reserved = ledger.reserved.saturating_sub(reservation.bytes);
            reservation.bytes = 0;
            if created {
                ledger.bytes += digest.size;
                ledger.files += 1;
            }
            created.then_some((ledger.bytes, ledger.files))
        };
        drop(temp_lock);
        if let Ok(dir) = File::open(&self.blobs) {
            // Make the new name durable; not fatal where directories can't be synced.
            let _ = dir.sync_all();
        }
        if let Some((bytes, files)) = crossed {
            tracing::debug!(
                store_bytes = bytes,
                store_files = files,
                "attachment staged"
            );
            self.check_alert(bytes, files);
        }
        Ok(())
    }

    /// Takes a lease on the blob for `digest` if it exists, refreshing its retention.
    fn lease_existing(
        self: &Arc<Self>,
        digest: &Digested,
        options: &StageOptions,
    ) -> Result<Option<Attachment>> {
        let file_name = digest.file_name();
        let path = self.blob_path(&file_name);
        let mut leases = lock_ignoring_poison(&self.leases);
        if let Some(entry) = leases.get_mut(&file_name) {
            entry.count += 1;
            if options.retention == Retention::Persistent {
                self.mark_persistent(&file_name, entry.lock.file());
            }
        } else {
            // Without the map lock: waiting for a deleter in another process must not stall
            // every other lease of this store.
            drop(leases);
            let file = match File::open(&path) {
                Ok(file) => file,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(Error::io("opening", &path, e)),
            };
            let Some(lock) = lock::lock_shared(file, LEASE_PATIENCE)
                .map_err(|e| Error::io("leasing", &path, e))?
            else {
                return Err(Error::io(
                    "leasing",
                    &path,
                    std::io::Error::new(
                        std::io::ErrorKind::WouldBlock,
                        "another process holds an exclusive lock on it",
                    ),
                ));
            };
            // Deleted (and maybe staged again) between open and lock: not our file any more.
            let held = lock
                .file()
                .metadata()
                .map_err(|e| Error::io("reading", &path, e))?;
            match fs::metadata(&path) {
                Ok(named) if same_file(&held, &named) => {}
                Ok(_) => return Ok(None),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(Error::io("reading", &path, e)),
            }
            if options.retention == Retention::Persistent {
                self.mark_persistent(&file_name, lock.file());
            }
            leases = lock_ignoring_poison(&self.leases);
            match leases.get_mut(&file_name) {
                // Another thread leased it meanwhile; its lock serves both.
                Some(entry) => entry.count += 1,
                None => {
                    leases.insert(file_name.clone(), LeaseEntry { count: 1, lock });
                }
            }
        }
        drop(leases);
        Ok(Some(Attachment {
            handle: Arc::new(Handle {
                store: Arc::clone(self),
                file_name,
                path,
                sha256: digest.sha256.clone(),
                size: digest.size,
                mime: digest.detected.mime.clone(),
                is_image: digest.detected.is_image(),
                name: options.name.clone(),
                retention: options.retention,
            }),
        }))
    }

    /// Restarts the TTL and writes the `.keep` marker.
    fn mark_persistent(&self, file_name: &str, blob: &File) {
        let now = SystemTime::now();
        if let Err(error) = blob.set_modified(now) {
            tracing::debug!(%error, file_name, "could not touch a staged attachment");
        }
        let keep = self.keep_path(file_name);
        let touched = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&keep)
            .and_then(|marker| marker.set_modified(now));
        if let Err(error) = touched {
            tracing::warn!(%error, path = %keep.display(), "could not mark an attachment persistent");
        }
    }

    /// A handle was dropped.
    fn release(&self, file_name: &str, retention: Retention) {
        let last = {
            let mut leases = lock_ignoring_poison(&self.leases);
            let Some(entry) = leases.get_mut(file_name) else {
                return;
            };
            entry.count -= 1;
            if entry.count > 0 {
                return;
            }
            leases.remove(file_name)
        };
        let Some(entry) = last else { return };
        match retention {
            Retention::Persistent => {
                // The TTL counts from the last use.
                let _ = entry.lock.file().set_modified(SystemTime::now());
                drop(entry);
            }
            Retention::Ephemeral => {
                drop(entry);
                let keep = self.keep_path(file_name);
                let kept = fs::metadata(&keep).is_ok_and(|meta| !self.expired(modified(&meta)));
                if !kept && let Err(error) = self.try_remove(file_name, |_| true) {
                    tracing::warn!(%error, file_name, "could not delete an ephemeral attachment");
                }
            }
        }
    }

    fn expired(&self, last_use: SystemTime) -> bool {
        SystemTime::now()
            .duration_since(last_use)
            .is_ok_and(|age| age >= self.config.ttl)
    }

    /// Deletes a blob if nobody leases it and `still_wanted_gone` agrees once it is locked.
    /// `Ok(Some(size))` when deleted, `Ok(None)` when leased or already gone.
    fn try_remove(
        &self,
        file_name: &str,
        still_wanted_gone: impl Fn(&Metadata) -> bool,
    ) -> Result<Option<u64>> {
        let path = self.blob_path(file_name);
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("opening", &path, e)),
        };
        let Some(lock) =
            lock::try_lock(file, Mode::Exclusive).map_err(|e| Error::io("locking", &path, e))?
        else {
            return Ok(None);
        };
        if lock_ignoring_poison(&self.leases).contains_key(file_name) {
            return Ok(None);
        }
        let held = lock
            .file()
            .metadata()
            .map_err(|e| Error::io("reading", &path, e))?;
        match fs::symlink_metadata(&path) {
            Ok(named) if same_file(&held, &named) => {}
            _ => return Ok(None),
        }
        if !still_wanted_gone(&held) {
            return Ok(None);
        }
        let size = held.len();
        let (bytes, files) = {
            let mut ledger = lock_ignoring_poison(&self.ledger);
            fs::remove_file(&path).map_err(|e| Error::io("deleting", &path, e))?;
            ledger.bytes = ledger.bytes.saturating_sub(size);
            ledger.files = ledger.files.saturating_sub(1);
            (ledger.bytes, ledger.files)
        };
        let _ = fs::remove_file(self.keep_path(file_name));
        drop(lock);
        tracing::debug!(file_name, size, store_bytes = bytes, "attachment cleaned");
        self.check_alert(bytes, files);
        Ok(Some(size))
    }

    /// Removes temp files whose writer is gone; returns how many.
    fn sweep_temp_files(&self) -> u64 {
        let Ok(entries) = fs::read_dir(&self.blobs) else {
            return 0;
        };
        let mut removed = 0;
        for entry in entries.flatten() {
            let name = entry.file_name();
            if !name.to_string_lossy().starts_with(TEMP_PREFIX) {
                continue;
            }
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            let age = SystemTime::now()
                .duration_since(modified(&meta))
                .unwrap_or_default();
            if age < self.config.temp_grace {
                continue;
            }
            let Ok(file) = File::open(&path) else {
                continue;
            };
            // A live writer holds an exclusive lock on its temp file.
            if let Ok(Some(lock)) = lock::try_lock(file, Mode::Exclusive) {
                if fs::remove_file(&path).is_ok() {
                    removed += 1;
                }
                drop(lock);
            }
        }
        removed
    }

    fn cleanup(&self) -> Result<CleanupReport> {
        let mut report = CleanupReport {
            removed_temp_files: self.sweep_temp_files(),
            ..CleanupReport::default()
        };
        let entries =
            fs::read_dir(&self.blobs).map_err(|e| Error::io("listing", &self.blobs, e))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(blob) = name.strip_suffix(KEEP_SUFFIX) {
                if is_blob_name(blob) && !self.blob_path(blob).exists() {
                    let _ = fs::remove_file(entry.path());
                }
                continue;
            }
            if !is_blob_name(&name) {
                continue;
            }
            let Ok(meta) = entry.metadata() else { continue };
            let last_use = |blob: &Metadata| {
                let keep = fs::metadata(self.keep_path(&name))
                    .map(|m| modified(&m))
                    .unwrap_or(SystemTime::UNIX_EPOCH);
                modified(blob).max(keep)
            };
            if !self.expired(last_use(&meta)) {
                continue;
            }
            if lock_ignoring_poison(&self.leases).contains_key(&name) {
                report.kept_leased += 1;
                continue;
            }
            match self.try_remove(&name, |held| self.expired(last_use(held)))? {
                Some(size) => {
                    report.removed_files += 1;
                    report.removed_bytes += size;
                }
                None if self.blob_path(&name).exists() => report.kept_leased += 1,
                None => {}
            }
        }
        self.recount()?;
        Ok(report)
    }

    /// Sets the gauge from what is on disk.
    fn recount(&self) -> Result<()> {
        let (bytes, files) = {
            let mut ledger = lock_ignoring_poison(&self.ledger);
            let entries =
                fs::read_dir(&self.blobs).map_err(|e| Error::io("listing", &self.blobs, e))?;
            let (mut bytes, mut files) = (0, 0);
            for entry in entries.flatten() {
                if !is_blob_name(&entry.file_name().to_string_lossy()) {
                    continue;
                }
                if let Ok(meta) = entry.metadata() {
                    bytes += meta.len();
                    files += 1;
                }
            }
            ledger.bytes = bytes;
            ledger.files = files;
            (bytes, files)
        };
        self.check_alert(bytes, files);
        Ok(())
    }

    /// Fires the alert on an upward crossing, re-arms it below the threshold.
    fn check_alert(&self, bytes: u64, files: u64) {
        metrics::gauge!("codexkit.attachments.staged_bytes").set(bytes as f64);
        let Some(threshold) = self.config.alert_threshold_bytes else {
            return;
        };
        if bytes < threshold {
            self.alerted.store(false, Ordering::SeqCst);
            return;
        }
        if self.alerted.swap(true, Ordering::SeqCst) {
            return;
        }
        tracing::warn!(
            root = %self.config.root.display(),
            bytes,
            files,
            threshold,
            "the attachment store reached its alert threshold"
        );
        if let Some(handler) = &self.config.on_alert {
            handler(&StoreAlert {
                root: self.config.root.clone(),
                bytes,
                files,
                threshold,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &Path) -> AttachmentStore {
        AttachmentStore::open(StoreConfig::new(dir).with_cleanup_interval(None)).unwrap()
    }

    #[test]
    fn blob_names_are_recognised() {
        let hash = "a".repeat(64);
        assert!(is_blob_name(&hash));
        assert!(is_blob_name(&format!("{hash}.png")));
        assert!(!is_blob_name(&format!("{hash}.png.keep")));
        assert!(!is_blob_name(&format!("{hash}.keep")));
        assert!(!is_blob_name(&format!("{}.png", "A".repeat(64))));
        assert!(!is_blob_name(".tmp-abc"));
        assert!(!is_blob_name(&format!("{hash}.")));
    }

    #[tokio::test]
    async fn a_live_temp_file_survives_the_sweep_and_a_dead_one_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let (temp, lock) = store.inner.create_temp().unwrap();
        let old = SystemTime::now() - Duration::from_secs(3600);
        temp.as_file().set_modified(old).unwrap();
        assert_eq!(
            store.inner.sweep_temp_files(),
            0,
            "its writer holds the lock"
        );
        assert!(temp.path().exists());
        drop(lock);
        assert_eq!(store.inner.sweep_temp_files(), 1);
        assert!(!temp.path().exists());
    }

    #[tokio::test]
    async fn ephemeral_blobs_go_with_their_last_handle_unless_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let first = store
            .stage_bytes(b"short-lived".to_vec(), StageOptions::ephemeral())
            .await
            .unwrap();
        let second = first.clone();
        let path = first.path().to_path_buf();
        assert!(
            lock_ignoring_poison(&store.inner.writers).is_empty(),
            "writer gates are forgotten"
        );
        drop(first);
        assert!(path.exists(), "a clone still leases it");
        drop(second);
        assert!(!path.exists());
        assert_eq!(store.usage(), StoreUsage::default());

        let kept = store
            .stage_bytes(b"both".to_vec(), StageOptions::persistent())
            .await
            .unwrap();
        let brief = store
            .stage_bytes(b"both".to_vec(), StageOptions::ephemeral())
            .await
            .unwrap();
        let path = kept.path().to_path_buf();
        drop(kept);
        drop(brief);
        assert!(path.exists(), "also staged as persistent");
    }

    #[tokio::test]
    async fn a_second_store_on_the_same_root_cannot_delete_a_leased_blob() {
        let dir = tempfile::tempdir().unwrap();
        let ttl_zero = StoreConfig::new(dir.path())
            .with_cleanup_interval(None)
            .with_ttl(Duration::ZERO);
        let holder = AttachmentStore::open(ttl_zero.clone()).unwrap();
        let other = AttachmentStore::open(ttl_zero).unwrap();
        let leased = holder
            .stage_bytes(b"in use".to_vec(), StageOptions::default())
            .await
            .unwrap();
        let report = other.cleanup().await.unwrap();
        assert_eq!(report.removed_files, 0);
        assert_eq!(report.kept_leased, 1);
        assert!(leased.path().exists());
        let path = leased.path().to_path_buf();
        drop(leased);
        assert_eq!(other.cleanup().await.unwrap().removed_files, 1);
        assert!(!path.exists());
    }
}
