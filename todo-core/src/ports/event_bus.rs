//! The event bus: publish messages to topics; consumers implement [`MessageHandler`].

use async_trait::async_trait;

use super::PortResult;
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
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandleError {
    /// A transient failure: deliver the message again later.
    #[error("retry: {0}")]
    Retry(String),
    /// The message can never be handled (malformed, unknown version): dead-letter it and move on.
    #[error("drop: {0}")]
    Drop(String),
}

/// Consumes messages of one consumer group. Must be idempotent: delivery is at-least-once.
#[async_trait]
pub trait MessageHandler: Send + Sync {
    /// Handles one message.
    async fn handle(&self, message: &Message) -> Result<(), HandleError>;
}
