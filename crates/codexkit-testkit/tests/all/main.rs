//! Integration tests of codexkit-testkit (one binary to keep link times low).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod codex_e2e;
#[cfg(unix)]
mod fake;
mod hermetic;
mod hold;
mod http;
mod per_thread;
mod scenario;
mod server;
mod sse;
