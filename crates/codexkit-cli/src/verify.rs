//! `codexkit verify`.

/// Exit code: a regression check found a difference (`codexkit verify`, `codexkit fixtures
/// check`, `codexkit parity`). Documented in README.md.
pub const VERIFICATION_FAILED: u8 = 6;
pub const EXAMPLES: &str = "";
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {}
pub async fn verify(_args: VerifyArgs) -> u8 { 0 }
