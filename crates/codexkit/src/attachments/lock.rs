//! Advisory whole-file locks (`flock(2)`): leases on staged blobs and markers on temp files
//! being written.
//!
//! A lock belongs to an open file description, so two opens of the same file conflict even in
//! one process, and the kernel drops a lock when its process dies: a crashed process never
//! leaves a lease or a "being written" marker behind.

use std::fs::File;
use std::io;
use std::time::{Duration, Instant};

/// How the lock is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Many holders at once: a lease.
    Shared,
    /// One holder: a file being written, or a blob being deleted.
    Exclusive,
}

/// A held lock; dropping it (or the process dying) releases it.
#[derive(Debug)]
pub(crate) struct FileLock {
    #[cfg(unix)]
    inner: nix::fcntl::Flock<File>,
    #[cfg(not(unix))]
    inner: File,
}

impl FileLock {
    /// The locked file.
    pub(crate) fn file(&self) -> &File {
        &self.inner
    }
}

/// Locks `file` unless another open file description holds a conflicting lock (`Ok(None)`).
#[cfg(unix)]
pub(crate) fn try_lock(file: File, mode: Mode) -> io::Result<Option<FileLock>> {
    use nix::errno::Errno;
    use nix::fcntl::{Flock, FlockArg};
    let arg = match mode {
        Mode::Shared => FlockArg::LockSharedNonblock,
        Mode::Exclusive => FlockArg::LockExclusiveNonblock,
    };
    let mut file = file;
    loop {
        match Flock::lock(file, arg) {
            Ok(inner) => return Ok(Some(FileLock { inner })),
            Err((_, Errno::EWOULDBLOCK)) => return Ok(None),
            Err((back, Errno::EINTR)) => file = back,
            Err((_, errno)) => return Err(io::Error::from(errno)),
        }
    }
}

/// Without `flock`, every lock is granted: leases are then only kept within this process.
#[cfg(not(unix))]
pub(crate) fn try_lock(file: File, _mode: Mode) -> io::Result<Option<FileLock>> {
    Ok(Some(FileLock { inner: file }))
}

/// Waits (polling, at most `patience`) for a shared lock; `Ok(None)` if it never came.
///
/// An exclusive holder is a cleanup deleting the blob, which takes microseconds; the bound
/// only protects against a foreign process holding a lock on our file forever.
pub(crate) fn lock_shared(file: File, patience: Duration) -> io::Result<Option<FileLock>> {
    let deadline = Instant::now() + patience;
    loop {
        // The clone shares the open file description, so the lock it gets is the lease.
        if let Some(lock) = try_lock(file.try_clone()?, Mode::Shared)? {
            return Ok(Some(lock));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn exclusive_conflicts_with_shared_across_descriptions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"x").unwrap();
        let shared = try_lock(File::open(&path).unwrap(), Mode::Shared)
            .unwrap()
            .unwrap();
        let second = try_lock(File::open(&path).unwrap(), Mode::Shared).unwrap();
        assert!(second.is_some(), "shared locks coexist");
        assert!(
            try_lock(File::open(&path).unwrap(), Mode::Exclusive)
                .unwrap()
                .is_none()
        );
        drop(shared);
        drop(second);
        let exclusive = try_lock(File::open(&path).unwrap(), Mode::Exclusive).unwrap();
        assert!(exclusive.is_some());
        let waited = lock_shared(File::open(&path).unwrap(), Duration::from_millis(20)).unwrap();
        assert!(waited.is_none(), "an exclusive holder blocks a lease");
    }
}
