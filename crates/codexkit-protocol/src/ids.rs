//! Identifier newtypes.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The id of a Codex thread (a conversation), as printed in `thread.started`.
///
/// Pass it to resume the thread later.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
#[non_exhaustive]
pub struct ThreadId(String);

/// The id of an item within a turn (`item_0`, `item_1`, … in exec).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
#[non_exhaustive]
pub struct ItemId(String);

macro_rules! string_id {
    ($name:ident) => {
        impl $name {
            /// Wraps an id string.
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_owned())
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

string_id!(ThreadId);
string_id!(ItemId);
