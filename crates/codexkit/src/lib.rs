//! codexkit runtime.

pub mod binary;
mod error;

pub use error::{Error, Result};
