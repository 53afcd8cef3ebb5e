//! The one error type of the testkit.

use std::path::PathBuf;

/// Why the testkit could not give a test what it asked for.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestkitError {
    /// The shared stack could not be started or read; the message says how to fix it.
    #[error("the local test stack is not available: {0}")]
    StackUnavailable(String),
    /// A variable the stack should export (`infra/todo-infra env`) is missing.
    #[error("the test stack exports no {0}; is infra/todo-infra up to date with the testkit?")]
    MissingVar(String),
    /// A PostgreSQL statement failed.
    #[error("postgres: {0}")]
    Postgres(#[from] sqlx::Error),
    /// A Kafka request failed.
    #[error("kafka: {0}")]
    Kafka(#[from] rskafka::client::error::Error),
    /// Kafka did not return the expected records in time.
    #[error("kafka: {0}")]
    KafkaTimeout(String),
    /// A component template could not be rendered.
    #[error("rendering {path}: {message}")]
    Render {
        /// The template.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// daprd could not be started or did not become healthy.
    #[error("daprd for app '{app_id}': {message}")]
    Sidecar {
        /// The app id of the sidecar.
        app_id: String,
        /// What went wrong, with the tail of daprd's log.
        message: String,
    },
    /// A file or process operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What the testkit was doing.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl TestkitError {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let context = context.into();
        move |source| Self::Io { context, source }
    }
}
