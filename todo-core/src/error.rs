//! Errors of the domain: invalid input, and failures reported by ports.

use std::time::Duration;

/// A value broke a rule of the domain; names the offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// The field or parameter that was rejected, as the API names it (`title`, `tags`, `recurrence`).
    pub field: String,
    /// A sentence a user can act on.
    pub message: String,
}

impl ValidationError {
    /// Builds an error for `field` with a human-readable `message`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}
