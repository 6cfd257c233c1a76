//! Exit codes: a public contract, documented in README.md.

use codexkit::Error;

/// The turn completed.
pub const COMPLETED: u8 = 0;
/// The turn failed (`turn.failed`, or codex stopped without finishing it).
pub const TURN_FAILED: u8 = 1;
/// Bad command line, options or scenario.
pub const USAGE: u8 = 2;
/// The codex binary is missing or unusable (and could not be installed).
pub const CODEX_UNAVAILABLE: u8 = 3;
/// Cancelled (Ctrl-C) or a deadline passed.
pub const CANCELLED: u8 = 4;
/// The answer does not match `--output-schema`.
pub const SCHEMA_MISMATCH: u8 = 5;

/// The exit code for an error.
pub fn for_error(error: &Error) -> u8 {
    match error {
        Error::BinaryNotFound { .. }
        | Error::BinaryUnusable { .. }
        | Error::Install { .. }
        | Error::Spawn { .. } => CODEX_UNAVAILABLE,
        Error::InvalidOption { .. } | Error::InvalidSchema { .. } => USAGE,
        Error::SchemaMismatch { .. } => SCHEMA_MISMATCH,
        Error::Cancelled | Error::DeadlineExceeded { .. } => CANCELLED,
        _ => TURN_FAILED,
    }
}
