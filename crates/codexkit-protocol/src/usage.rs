//! Token usage.

use crate::ExtraFields;
use serde::{Deserialize, Serialize};

/// Token usage as Codex reports it in `turn.completed`.
///
/// Codex reports these counts **cumulatively for the whole thread**, including history loaded
/// when a thread is resumed: a second turn's usage includes the first turn's. Use
/// [`Usage::since`] to get the part one turn added.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Input tokens sent to the model.
    #[serde(default)]
    pub input_tokens: u64,
    /// Input tokens served from the prompt cache.
    #[serde(default)]
    pub cached_input_tokens: u64,
    /// Input tokens written to the prompt cache.
    #[serde(default)]
    pub cache_write_input_tokens: u64,
    /// Output tokens produced by the model.
    #[serde(default)]
    pub output_tokens: u64,
    /// Output tokens spent on reasoning.
    #[serde(default)]
    pub reasoning_output_tokens: u64,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl Usage {
    /// Builds a usage value from its counts.
    pub fn new(
        input_tokens: u64,
        cached_input_tokens: u64,
        output_tokens: u64,
        reasoning_output_tokens: u64,
    ) -> Self {
        Self {
            input_tokens,
            cached_input_tokens,
            output_tokens,
            reasoning_output_tokens,
            ..Self::default()
        }
    }

    /// The usage added since `earlier`, a previous cumulative report of the same thread.
    ///
    /// Counts never go below zero.
    pub fn since(&self, earlier: &Usage) -> Usage {
        Usage {
            input_tokens: self.input_tokens.saturating_sub(earlier.input_tokens),
            cached_input_tokens: self
                .cached_input_tokens
                .saturating_sub(earlier.cached_input_tokens),
            cache_write_input_tokens: self
                .cache_write_input_tokens
                .saturating_sub(earlier.cache_write_input_tokens),
            output_tokens: self.output_tokens.saturating_sub(earlier.output_tokens),
            reasoning_output_tokens: self
                .reasoning_output_tokens
                .saturating_sub(earlier.reasoning_output_tokens),
            extra: ExtraFields::new(),
        }
    }

    /// Input plus output tokens.
    pub fn total_tokens(&self) -> u64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }
}
