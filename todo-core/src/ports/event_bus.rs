//! The event bus: publish messages to topics; consumers implement [`MessageHandler`].

use async_trait::async_trait;

use super::PortResult;
use crate::error::{BoxError, Context, TaskError};
use crate::events::Message;

/// Publishes messages. `Ok` means the broker acknowledged the message durably.
#[async_trait]
pub trait EventBus: Send + Sync {
    /// Publishes one message, keyed by `message.key`.
    async fn publish(&self, message: &Message) -> PortResult<()>;

    /// Publishes several; `Ok` only when all were acknowledged. The default publishes one by one.
    async fn publish_all(&self, messages: &[Message]) -> PortResult<()> {
        for message in messages {
            self.publish(message).await?;
        }
        Ok(())
    }
}

/// Why a handler did not accept a message, which tells the consumer runner what to do with it.
///
/// Both variants keep the failure as their `source`, so the runner can log the whole chain
/// ([`crate::error::chain`]) and a dead-letter record can say why.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// A transient failure: deliver the message again later.
    #[error("{reason}")]
    Retry {
        /// What the handler was doing.
        reason: Context,
        /// What failed.
        #[source]
        source: BoxError,
    },
    /// The message can never be handled (malformed, unknown version): dead-letter it and move on.
    #[error("{reason}")]
    Drop {
        /// Why the message is unusable.
        reason: Context,
        /// What was wrong with it.
        #[source]
        source: BoxError,
    },
}

impl HandleError {
    /// A transient failure while doing `reason`: deliver the message again later.
    pub fn retry(reason: impl Into<Context>, source: impl Into<BoxError>) -> Self {
        Self::Retry {
            reason: reason.into(),
            source: source.into(),
        }
    }

    /// A message that can never be handled: dead-letter it.
    pub fn dropped(reason: impl Into<Context>, source: impl Into<BoxError>) -> Self {
        Self::Drop {
            reason: reason.into(),
            source: source.into(),
        }
    }

    /// Classifies a use case's failure while doing `reason`: input that breaks a rule of the domain
    /// can never be handled (`Drop`); anything else (a port failing) may succeed later (`Retry`).
    pub fn from_task_error(reason: impl Into<Context>, error: TaskError) -> Self {
        match error {
            TaskError::Invalid(_) => Self::dropped(reason, error),
            other => Self::retry(reason, other),
        }
    }

    /// Whether the runner should deliver the message again.
    pub fn is_retry(&self) -> bool {
        matches!(self, Self::Retry { .. })
    }

    /// The short reason, without the cause.
    pub fn reason(&self) -> &str {
        match self {
            Self::Retry { reason, .. } | Self::Drop { reason, .. } => reason,
        }
    }
}

/// Consumes messages of one consumer group. Must be idempotent: delivery is at-least-once.
#[async_trait]
pub trait MessageHandler: Send + Sync {
    /// Handles one message.
    async fn handle(&self, message: &Message) -> Result<(), HandleError>;
}
