//! codexkit testkit.
