//! The transactional outbox: events committed with their change, relayed to the bus afterwards.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::PortResult;
use crate::events::Message;
use crate::model::EventId;

/// A pending outbox message and its delivery bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// The message to publish.
    pub message: Message,
    /// Failed publish attempts so far.
    pub attempts: u32,
    /// When it was committed.
    pub created_at: DateTime<Utc>,
}

/// Reads and settles the outbox. Implemented by the same adapter as the repository.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Claims up to `limit` unsent messages due for an attempt at `now`, oldest first, and leases them
    /// until `lease_until` so concurrent relays skip them. A message is held back while an earlier
    /// unsent message with the same topic and key is leased or waiting for its retry, so each task's
    /// events are published in order.
    async fn claim(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> PortResult<Vec<OutboxEntry>>;

    /// Marks messages sent (only after the bus acknowledged them).
    async fn mark_sent(&self, ids: &[EventId], at: DateTime<Utc>) -> PortResult<()>;

    /// Records a failed attempt and when to try again.
    async fn mark_failed(
        &self,
        id: EventId,
        next_attempt_at: DateTime<Utc>,
        error: &str,
    ) -> PortResult<()>;

    /// Unsent messages and the creation time of the oldest (backlog metrics).
    async fn backlog(&self) -> PortResult<(u64, Option<DateTime<Utc>>)>;

    /// Deletes messages sent before `before` (sent ones may be kept a while for inspection);
    /// returns how many were deleted. Unsent messages are never deleted.
    async fn purge_sent(&self, before: DateTime<Utc>) -> PortResult<u64>;
}
