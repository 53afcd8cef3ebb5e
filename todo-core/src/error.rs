//! Errors of the domain: invalid input, and failures reported by ports.

use std::borrow::Cow;
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

/// Any error, boxed: the cause an error keeps as its `source`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A short description of what was being done or what was found (`"publishing to task-events"`).
pub type Context = Cow<'static, str>;

/// A port's adapter failed: the repository, event bus, scheduler, state or secret store.
///
/// The variants say what a caller can do about it; the `source` keeps the adapter's own error, so a
/// log line can show the whole chain (see [`chain`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PortError {
    /// The thing asked for does not exist.
    #[error("not found")]
    NotFound,
    /// A write lost an optimistic-concurrency race (stale version or ETag).
    #[error("conflict: {context}")]
    Conflict {
        /// What conflicted.
        context: Context,
        /// The adapter's error, when there was one.
        #[source]
        source: Option<BoxError>,
    },
    /// A write would duplicate something unique (a second successor, an event already processed).
    #[error("already exists: {context}")]
    AlreadyExists {
        /// What already exists.
        context: Context,
        /// The adapter's error, when there was one.
        #[source]
        source: Option<BoxError>,
    },
    /// The backing service is unreachable or overloaded; try again later.
    #[error("unavailable: {context}")]
    Unavailable {
        /// What was unreachable, or what was being done.
        context: Context,
        /// When a retry may succeed, if the service said.
        retry_after: Option<Duration>,
        /// The adapter's error, when there was one.
        #[source]
        source: Option<BoxError>,
    },
    /// Stored data could not be decoded into the domain.
    #[error("corrupt data: {context}")]
    Corrupt {
        /// What was being decoded.
        context: Context,
        /// Why it could not be decoded.
        #[source]
        source: BoxError,
    },
    /// Any other failure.
    #[error("{context}")]
    Other {
        /// What was being done.
        context: Context,
        /// What failed.
        #[source]
        source: BoxError,
    },
}

impl PortError {
    /// A lost optimistic-concurrency race, without an adapter error behind it.
    pub fn conflict(context: impl Into<Context>) -> Self {
        Self::Conflict {
            context: context.into(),
            source: None,
        }
    }

    /// A duplicate of something unique, without an adapter error behind it.
    pub fn already_exists(context: impl Into<Context>) -> Self {
        Self::AlreadyExists {
            context: context.into(),
            source: None,
        }
    }

    /// An unavailable error without a retry hint.
    pub fn unavailable(context: impl Into<Context>) -> Self {
        Self::Unavailable {
            context: context.into(),
            retry_after: None,
            source: None,
        }
    }

    /// Stored data that could not be decoded, and why.
    pub fn corrupt(context: impl Into<Context>, source: impl Into<BoxError>) -> Self {
        Self::Corrupt {
            context: context.into(),
            source: source.into(),
        }
    }

    /// Any other failure while doing `context`.
    pub fn other(context: impl Into<Context>, source: impl Into<BoxError>) -> Self {
        Self::Other {
            context: context.into(),
            source: source.into(),
        }
    }

    /// Keeps `cause` as this error's source (replacing any).
    #[must_use]
    pub fn caused_by(mut self, cause: impl Into<BoxError>) -> Self {
        let cause = cause.into();
        match &mut self {
            Self::NotFound => {}
            Self::Conflict { source, .. }
            | Self::AlreadyExists { source, .. }
            | Self::Unavailable { source, .. } => *source = Some(cause),
            Self::Corrupt { source, .. } | Self::Other { source, .. } => *source = cause,
        }
        self
    }

    /// Adds a retry hint to an `Unavailable` error; other errors are returned unchanged.
    #[must_use]
    pub fn with_retry_after(mut self, after: Duration) -> Self {
        if let Self::Unavailable { retry_after, .. } = &mut self {
            *retry_after = Some(after);
        }
        self
    }

    /// Whether retrying the same call later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }

    /// When a retry may succeed, if the service said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Unavailable { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// Why a use case did not do what was asked.
#[derive(Debug, thiserror::Error)]
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
    /// A backing service is unavailable; nothing changed, try again later. Always holds a
    /// [`PortError::Unavailable`].
    #[error("service unavailable")]
    Unavailable(#[source] PortError),
    /// An unexpected failure of a port (details are logged, not shown to users).
    #[error("internal error")]
    Internal(#[source] PortError),
}

impl TaskError {
    /// When a retry may succeed, for an unavailable service that said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Unavailable(port) => port.retry_after(),
            _ => None,
        }
    }
}

impl From<PortError> for TaskError {
    fn from(error: PortError) -> Self {
        match error {
            PortError::NotFound => TaskError::NotFound,
            unavailable @ PortError::Unavailable { .. } => TaskError::Unavailable(unavailable),
            other => TaskError::Internal(other),
        }
    }
}

/// Renders an error and its chain of sources as `outer: cause: root cause`, for log lines
/// (`warn!(error = %chain(&e), ...)`). A cause whose message the previous one already shows (some
/// libraries print their source in their own message) is not repeated.
pub fn chain<'a>(error: &'a (dyn std::error::Error + 'static)) -> Chain<'a> {
    Chain(error)
}

/// An error with its sources, displayed on one line; see [`chain`].
#[derive(Debug, Clone, Copy)]
pub struct Chain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut shown = self.0.to_string();
        f.write_str(&shown)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            let message = cause.to_string();
            if !shown.contains(&message) {
                write!(f, ": {message}")?;
            }
            shown = message;
            source = cause.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_already_in_its_parents_message_is_not_repeated() {
        #[derive(Debug, thiserror::Error)]
        #[error("error communicating with database: {0}")]
        struct Driver(#[source] std::io::Error);
        let port = PortError::other("connecting", Driver(std::io::Error::other("refused")));
        assert_eq!(
            chain(&port).to_string(),
            "connecting: error communicating with database: refused"
        );
    }

    #[test]
    fn a_chain_shows_every_cause_from_the_outside_in() {
        let io = std::io::Error::other("connection reset");
        let port = PortError::unavailable("reading task 7").caused_by(io);
        let task = TaskError::from(port);
        assert!(matches!(task, TaskError::Unavailable(_)));
        assert_eq!(
            chain(&task).to_string(),
            "service unavailable: unavailable: reading task 7: connection reset"
        );
    }

    #[test]
    fn only_unavailable_errors_are_transient_and_carry_a_retry_hint() {
        let hinted = PortError::unavailable("db").with_retry_after(Duration::from_secs(2));
        assert!(hinted.is_transient());
        assert_eq!(hinted.retry_after(), Some(Duration::from_secs(2)));
        let task = TaskError::from(hinted);
        assert_eq!(task.retry_after(), Some(Duration::from_secs(2)));
        let other =
            PortError::other("hashing", "bad salt").with_retry_after(Duration::from_secs(2));
        assert!(!other.is_transient());
        assert_eq!(other.retry_after(), None);
        assert!(matches!(
            TaskError::from(other),
            TaskError::Internal(PortError::Other { .. })
        ));
        assert!(matches!(
            TaskError::from(PortError::NotFound),
            TaskError::NotFound
        ));
    }
}
