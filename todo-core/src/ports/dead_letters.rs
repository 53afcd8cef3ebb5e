//! Dead letters: the messages a consumer group can never handle (its handler answered
//! [`HandleError::Drop`](super::HandleError::Drop)), kept durably for an operator to look at.
//!
//! Only poison messages go here. A handler that answers `Retry` (its store is down, say) gets the
//! message again later, however long that takes: a transient failure is never a reason to give up.

use async_trait::async_trait;

use super::PortResult;
use crate::events::Message;

/// A message a consumer group dropped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The consumer group that dropped it.
    pub group: String,
    /// The message, as published.
    pub message: Message,
    /// The handler's answer with its causes, rendered by [`crate::error::chain`] (a record, so the
    /// dead letter stays comparable and storable).
    pub error: String,
    /// How many times the handler was called (earlier calls answered `Retry`).
    pub attempts: u32,
}

/// Keeps dead letters. `Ok` means the letter is stored as durably as the adapter's other data, so
/// the message may be settled (marked sent in the outbox) without being lost.
#[async_trait]
pub trait DeadLetterStore: Send + Sync {
    /// Records `letter`; recording the same group's letter for the same message again replaces it.
    async fn record(&self, letter: &DeadLetter) -> PortResult<()>;
}
