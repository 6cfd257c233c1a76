//! End-to-end tests: the real pinned codex binary against the testkit mock model, and fault
//! injection with a fake codex.

mod common;
mod faults;
mod real_codex;
