//! The one error type of the testkit.

/// Why the testkit could not give a test what it asked for.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestkitError {
    /// The shared stack could not be started or read; the message says how to fix it.
    #[error("the local test stack is not available: {report}")]
    StackUnavailable {
        /// What `infra/todo-infra up` reported, and how to fix it.
        report: String,
    },
    /// A variable the stack should export (`infra/todo-infra env`) is missing.
    #[error(
        "the test stack exports no {variable}; is infra/todo-infra up to date with the testkit?"
    )]
    MissingVar {
        /// The variable's name.
        variable: String,
    },
    /// A PostgreSQL statement failed.
    #[error("postgres")]
    Postgres(#[from] sqlx::Error),
    /// A Kafka request failed.
    #[error("kafka")]
    Kafka(#[from] rskafka::client::error::Error),
    /// Kafka did not return the expected records in time.
    #[error("kafka: read {read} of {expected} records from {topic} within {timeout:?}")]
    KafkaTimeout {
        /// The topic read.
        topic: String,
        /// Records read before the deadline.
        read: usize,
        /// Records expected.
        expected: usize,
        /// How long the read was given.
        timeout: std::time::Duration,
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
    #[error("{context}")]
    Io {
        /// What the testkit was doing.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl TestkitError {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let context = context.into();
        move |source| Self::Io { context, source }
    }
}
