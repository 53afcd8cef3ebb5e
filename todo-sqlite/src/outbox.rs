//! The transactional outbox on SQLite: messages are inserted by the unit of work in the transaction
//! of their change (see [`crate::SqliteTaskRepository`]), and relayed from here.
//!
//! A claim is one `UPDATE … RETURNING` on the writer connection: it picks due, unleased rows in
//! commit order (`seq`) and leases them. SQLite has one writer at a time and this process has one
//! writer connection, so the statement is atomic against every other claim: there is no
//! `SKIP LOCKED` to need. Concurrent relays (several tasks of this process) never claim the same row
//! at the same time; a crashed relay's lease runs out and the next relay picks the rows up, so
//! nothing is lost, at the price of a possible duplicate (delivery is at-least-once; consumers are
//! idempotent).
//!
//! Per-task order: a message is not claimed while an earlier unsent message with the same topic and
//! key is leased or waiting for its retry, so a failed event of a task holds back that task's later
//! events across relay passes, not only within one batch.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use todo_core::events::Message;
use todo_core::model::EventId;
use todo_core::ports::{OutboxEntry, OutboxStore, PortResult};

use crate::error::{corrupt, port_error};
use crate::repository::SqliteTaskRepository;
use crate::row::{get, get_instant, get_json, get_uuid, micros, optional_instant};

const CLAIM: &str = "\
UPDATE outbox SET leased_until = ?2
WHERE seq IN (
    SELECT o.seq
    FROM outbox o
    WHERE o.sent_at IS NULL
      AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= ?1)
      AND (o.leased_until IS NULL OR o.leased_until <= ?1)
      AND NOT EXISTS (
          SELECT 1 FROM outbox e
          WHERE e.sent_at IS NULL AND e.topic = o.topic AND e.key = o.key AND e.seq < o.seq
            AND (e.leased_until > ?1 OR e.next_attempt_at > ?1))
    ORDER BY o.seq
    LIMIT ?3
)
RETURNING seq, event_id, topic, key, event_type, payload, attempts, created_at";

/// A row already sent (by a relay whose lease outlived ours) has nothing left to record.
const MARK_FAILED: &str = "\
UPDATE outbox
SET attempts = attempts + 1, next_attempt_at = ?2, leased_until = NULL, last_error = ?3
WHERE event_id = ?1 AND sent_at IS NULL";

const BACKLOG: &str =
    "SELECT count(*) AS unsent, min(created_at) AS oldest FROM outbox WHERE sent_at IS NULL";

const PURGE_SENT: &str = "DELETE FROM outbox WHERE sent_at < ?1";

/// Longest error text kept per message.
const MAX_ERROR_CHARS: usize = 2_000;

#[async_trait]
impl OutboxStore for SqliteTaskRepository {
    async fn claim(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> PortResult<Vec<OutboxEntry>> {
        let rows = sqlx::query(CLAIM)
            .bind(micros(now))
            .bind(micros(lease_until))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&mut *self.db.writer.acquire().await?)
            .await
            .map_err(port_error)?;
        let mut claimed = rows
            .iter()
            .map(|row| {
                let seq: i64 = get(row, "seq")?;
                let attempts: i64 = get(row, "attempts")?;
                let entry = OutboxEntry {
                    message: Message {
                        id: EventId(get_uuid(row, "event_id")?),
                        topic: get(row, "topic")?,
                        key: get(row, "key")?,
                        event_type: get(row, "event_type")?,
                        payload: get_json(row, "payload")?,
                    },
                    attempts: u32::try_from(attempts).map_err(|e| {
                        corrupt(format!("outbox row {seq}: attempts {attempts}"), e)
                    })?,
                    created_at: get_instant(row, "created_at")?,
                };
                Ok((seq, entry))
            })
            .collect::<PortResult<Vec<_>>>()?;
        // RETURNING has no order of its own.
        claimed.sort_by_key(|(seq, _)| *seq);
        Ok(claimed.into_iter().map(|(_, entry)| entry).collect())
    }

    async fn mark_sent(&self, ids: &[EventId], at: DateTime<Utc>) -> PortResult<()> {
        // Through the writer's queue: marked in a group with the writes beside it.
        crate::unit_of_work::mark_sent(&self.db, self.commits(), ids.to_vec(), at).await
    }

    async fn mark_failed(
        &self,
        id: EventId,
        next_attempt_at: DateTime<Utc>,
        error: &str,
    ) -> PortResult<()> {
        let error: String = error.chars().take(MAX_ERROR_CHARS).collect();
        sqlx::query(MARK_FAILED)
            .bind(id.0)
            .bind(micros(next_attempt_at))
            .bind(error)
            .execute(&mut *self.db.writer.acquire().await?)
            .await
            .map_err(port_error)?;
        Ok(())
    }

    async fn backlog(&self) -> PortResult<(u64, Option<DateTime<Utc>>)> {
        let row = sqlx::query(BACKLOG)
            .fetch_one(&self.db.reader)
            .await
            .map_err(port_error)?;
        let count: i64 = get(&row, "unsent")?;
        let oldest = optional_instant(get(&row, "oldest")?, "outbox created_at")?;
        Ok((u64::try_from(count).unwrap_or_default(), oldest))
    }

    async fn purge_sent(&self, before: DateTime<Utc>) -> PortResult<u64> {
        let done = sqlx::query(PURGE_SENT)
            .bind(micros(before))
            .execute(&mut *self.db.writer.acquire().await?)
            .await
            .map_err(port_error)?;
        Ok(done.rows_affected())
    }
}

impl SqliteTaskRepository {
    /// The last error recorded for an unsent message, if any (for diagnostics and tests).
    pub async fn outbox_last_error(&self, id: EventId) -> PortResult<Option<String>> {
        let error: Option<Option<String>> = sqlx::query_scalar(
            "SELECT last_error FROM outbox WHERE event_id = ?1 AND sent_at IS NULL",
        )
        .bind(id.0)
        .fetch_optional(&self.db.reader)
        .await
        .map_err(port_error)?;
        Ok(error.flatten())
    }
}
