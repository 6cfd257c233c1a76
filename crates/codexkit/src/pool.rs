//! Spreading threads over several app-servers.

use crate::options::{CodexOptions, RemoteAppServer, ThreadOptions, Transport};
use crate::{Codex, Error, Result, Thread};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A set of clients (typically one per remote app-server) that new threads are spread over,
/// round robin. A thread stays on the client that started it.
#[derive(Debug, Clone)]
pub struct CodexPool {
    members: Arc<[Codex]>,
    next: Arc<AtomicUsize>,
}

impl CodexPool {
    /// A pool of existing clients.
    pub fn new(members: Vec<Codex>) -> Result<Self> {
        if members.is_empty() {
            return Err(Error::invalid("pool", "needs at least one client"));
        }
        Ok(Self {
            members: members.into(),
            next: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// One client per remote app-server, each with `options` (whose transport is replaced).
    pub fn remote(
        servers: impl IntoIterator<Item = RemoteAppServer>,
        options: &CodexOptions,
    ) -> Result<Self> {
        let members = servers
            .into_iter()
            .map(|server| Codex::new(options.clone().with_transport(Transport::Remote(server))))
            .collect::<Result<Vec<_>>>()?;
        Self::new(members)
    }

    /// Starts a thread on the next client.
    pub fn start_thread(&self, options: ThreadOptions) -> Thread {
        self.pick().start_thread(options)
    }

    /// The next client, round robin.
    pub fn pick(&self) -> &Codex {
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.members.len();
        &self.members[index]
    }

    /// Every client of the pool.
    pub fn members(&self) -> &[Codex] {
        &self.members
    }
}
