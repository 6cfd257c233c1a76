//! End-to-end tests: the real pinned codex binary against the testkit mock model, and fault
//! injection with a fake codex.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod app_server;
mod attachments;
mod common;
mod fault_matrix;
mod faults;
mod real_codex;
mod structured;
mod telemetry;
mod tools;
