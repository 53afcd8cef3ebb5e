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
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A port's adapter failed: the repository, event bus, scheduler, state or secret store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PortError {
    /// The thing asked for does not exist.
    #[error("not found")]
    NotFound,
    /// A write lost an optimistic-concurrency race (stale version or ETag).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A write would duplicate something unique (a second successor, an event already processed).
    #[error("already exists: {0}")]
    AlreadyExists(String),
    /// The backing service is unreachable or overloaded; try again later.
    #[error("unavailable: {message}")]
    Unavailable {
        /// What was unreachable and why.
        message: String,
        /// When a retry may succeed, if the service said.
        retry_after: Option<Duration>,
    },
    /// Stored data could not be decoded into the domain.
    #[error("corrupt data: {0}")]
    Corrupt(String),
    /// Any other failure.
    #[error("{0}")]
    Other(String),
}

impl PortError {
    /// An unavailable error without a retry hint.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::Unavailable {
            message: message.into(),
            retry_after: None,
        }
    }

    /// Whether retrying the same call later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}

/// Why a use case did not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TaskError {
    /// The input broke a rule; nothing changed.
    #[error("invalid input: {0}")]
    Invalid(#[from] ValidationError),
    /// No such task for this user.
    #[error("task not found")]
    NotFound,
    /// The task changed since the client read it; nothing changed.
    #[error("task was changed concurrently (current version {current_version})")]
    Conflict {
        /// The version now stored.
        current_version: i64,
    },
    /// A backing service is unavailable; nothing changed, try again later.
    #[error("service unavailable: {message}")]
    Unavailable {
        /// What was unreachable.
        message: String,
        /// When to retry, if known.
        retry_after: Option<Duration>,
    },
    /// An unexpected failure of a port (details are logged, not shown to users).
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<PortError> for TaskError {
    fn from(error: PortError) -> Self {
        match error {
            PortError::NotFound => TaskError::NotFound,
            PortError::Unavailable {
                message,
                retry_after,
            } => TaskError::Unavailable {
                message,
                retry_after,
            },
            other => TaskError::Internal(other.to_string()),
        }
    }
}
