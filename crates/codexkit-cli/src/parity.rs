//! `codexkit parity`.
pub const EXAMPLES: &str = "";
#[derive(Debug, clap::Args)]
pub struct ParityArgs {}
pub fn parity(_args: ParityArgs) -> u8 { 0 }
