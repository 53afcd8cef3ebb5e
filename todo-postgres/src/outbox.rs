//! The transactional outbox on PostgreSQL: messages are inserted by the unit of work
//! in the transaction of their change (see [`crate::PostgresTaskRepository`]),
//! and relayed from here.
//!
//! A claim is one statement: it picks due, unleased rows oldest first with `FOR UPDATE SKIP LOCKED`
//! and leases them, so relays running in several API replicas never claim the same row at the same
//! time and, in the normal case, never publish an event twice. A crashed relay's lease simply runs
//! out and another relay picks the rows up: nothing is lost, at the price of a possible duplicate
//! (delivery is at-least-once; consumers are idempotent).
//!
//! Per-task order: a message is not claimed while an earlier unsent message with the same topic and
//! key is leased by another relay or waiting for its retry, so a failed event of a task holds back
//! that task's later events across relay passes and replicas, not only within one batch.
//!
//! That check is a correlated sub-query kept as such (`OFFSET 0` stops PostgreSQL from turning it into
//! an anti-join): one probe of `outbox_unsent_by_key` per candidate row, whatever the statistics say.
//! As an anti-join, it was planned from statistics gathered while the outbox was empty (the usual
//! state, so the usual statistics) as a nested loop that scanned every unsent row for every candidate:
//! with a backlog of 5 000 events a claim took 4.5 s, and with 26 000 it ran into the 10 s statement
//! timeout again and again, so the relay could not work off a backlog, after a broker outage or a
//! burst of creates. Now a claim over 50 000 unsent rows takes 15 ms with fresh statistics and 200 ms
//! with those of an empty outbox (docs/benchmarks.md).
//!
//! Claims take turns: each runs in a transaction that first takes a transaction-level advisory lock
//! (`outbox-claim`), so the claim statement, which starts once the lock is granted, reads with
//! a snapshot that holds every lease committed by the claims before it. Without turns, a claim whose
//! snapshot predated another relay's commit saw a task's first event unleased (and skipped it only
//! because the other relay had it locked), took the task's second event, and the two relays sent the
//! two events at once, in either order. The concurrent relays' conformance case caught that about
//! once in eight runs once leases got cheaper (below). A turn lasts one statement, about 2 ms for 200
//! rows; the publishing that follows runs in parallel. A relay that stops in the middle of its turn
//! (frozen, or cut off from the database) holds it no longer than a statement may run: the pool's
//! connections end a transaction left idle that long ([`crate::PoolSettings::statement_timeout`]).
//!
//! A lease sets only `leased_until`, which no index holds, and the outbox's pages are filled to 40 %
//! (migration 13), so PostgreSQL writes each leased row beside the old one, as a heap-only tuple,
//! without an entry in any of the outbox's four indexes: a claimed row went from 6.6 WAL records to 2.2.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

use todo_core::events::Message;
use todo_core::model::EventId;
use todo_core::ports::{OutboxEntry, OutboxStore, PortResult};

use crate::error::{corrupt, port_error};
use crate::repository::PostgresTaskRepository;

const CLAIM: &str = "\
WITH due AS (
    SELECT o.seq
    FROM outbox o
    WHERE o.sent_at IS NULL
      AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= $1)
      AND (o.leased_until IS NULL OR o.leased_until <= $1)
      AND NOT EXISTS (
          SELECT 1 FROM outbox e
          WHERE e.sent_at IS NULL AND e.topic = o.topic AND e.key = o.key
            AND (e.created_at, e.seq) < (o.created_at, o.seq)
            AND (e.leased_until > $1 OR e.next_attempt_at > $1)
          OFFSET 0)
    ORDER BY o.created_at, o.seq
    LIMIT $3
    FOR UPDATE SKIP LOCKED
)
UPDATE outbox o SET leased_until = $2
FROM due
WHERE o.seq = due.seq
RETURNING o.seq, o.event_id, o.topic, o.key, o.event_type, o.payload, o.attempts, o.created_at";

/// Waits for the claims' turn: a transaction-level advisory lock in the namespace of
/// [`crate::locks`] (`0x746f646f`, "todo"), named `outbox-claim`.
const TAKE_CLAIM_TURN: &str = "SELECT pg_advisory_xact_lock(1953457263, hashtext('outbox-claim'))";

/// Found by event id alone: a row already sent (by a relay whose lease outlived ours) keeps its
/// `sent_at`. With `AND sent_at IS NULL` in the condition instead, PostgreSQL combined the event-id
/// index with one of the partial indexes of unsent rows, which it takes for nearly empty (the
/// statistics of an outbox that is usually empty): it read every entry of that index, dead ones
/// included (2 900 of them for a mark of 157 events, in one plan logged under a stream of creates).
/// By id alone, a mark of ~190 events took 4.4–5.1 ms of PostgreSQL's time instead of 7.0–8.3 ms
/// (docs/benchmarks.md, "Cheaper event bookkeeping").
const MARK_SENT: &str = "\
UPDATE outbox SET sent_at = coalesce(sent_at, $2), leased_until = NULL
WHERE event_id = ANY($1)";

/// A row already sent (by a relay whose lease outlived ours) has nothing left to record.
const MARK_FAILED: &str = "\
UPDATE outbox
SET attempts = attempts + 1, next_attempt_at = $2, leased_until = NULL, last_error = $3
WHERE event_id = $1 AND sent_at IS NULL";

const BACKLOG: &str = "SELECT count(*), min(created_at) FROM outbox WHERE sent_at IS NULL";

const PURGE_SENT: &str = "DELETE FROM outbox WHERE sent_at < $1";

/// Longest error text kept per message.
const MAX_ERROR_CHARS: usize = 2_000;

#[async_trait]
impl OutboxStore for PostgresTaskRepository {
    async fn claim(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> PortResult<Vec<OutboxEntry>> {
        let mut turn = self.pool.begin().await.map_err(port_error)?;
        sqlx::query(TAKE_CLAIM_TURN)
            .execute(&mut *turn)
            .await
            .map_err(port_error)?;
        let rows = sqlx::query(CLAIM)
            .bind(now)
            .bind(lease_until)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&mut *turn)
            .await
            .map_err(port_error)?;
        turn.commit().await.map_err(port_error)?;
        let mut claimed = rows
            .iter()
            .map(|row| {
                let seq: i64 = row.try_get("seq").map_err(port_error)?;
                let attempts: i32 = row.try_get("attempts").map_err(port_error)?;
                let entry = OutboxEntry {
                    message: Message {
                        id: EventId(row.try_get("event_id").map_err(port_error)?),
                        topic: row.try_get("topic").map_err(port_error)?,
                        key: row.try_get("key").map_err(port_error)?,
                        event_type: row.try_get("event_type").map_err(port_error)?,
                        payload: row.try_get("payload").map_err(port_error)?,
                    },
                    attempts: u32::try_from(attempts).map_err(|e| {
                        corrupt(format!("outbox row {seq}: attempts {attempts}"), e)
                    })?,
                    created_at: row.try_get("created_at").map_err(port_error)?,
                };
                Ok((seq, entry))
            })
            .collect::<PortResult<Vec<_>>>()?;
        // RETURNING has no order of its own.
        claimed.sort_by_key(|(seq, entry)| (entry.created_at, *seq));
        Ok(claimed.into_iter().map(|(_, entry)| entry).collect())
    }

    async fn mark_sent(&self, ids: &[EventId], at: DateTime<Utc>) -> PortResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let ids: Vec<_> = ids.iter().map(|id| id.0).collect();
        sqlx::query(MARK_SENT)
            .bind(ids)
            .bind(at)
            .execute(&self.pool)
            .await
            .map_err(port_error)?;
        Ok(())
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
            .bind(next_attempt_at)
            .bind(error)
            .execute(&self.pool)
            .await
            .map_err(port_error)?;
        Ok(())
    }

    async fn backlog(&self) -> PortResult<(u64, Option<DateTime<Utc>>)> {
        let row = sqlx::query(BACKLOG)
            .fetch_one(&self.pool)
            .await
            .map_err(port_error)?;
        let count: i64 = row.try_get(0).map_err(port_error)?;
        let oldest: Option<DateTime<Utc>> = row.try_get(1).map_err(port_error)?;
        Ok((u64::try_from(count).unwrap_or_default(), oldest))
    }

    async fn purge_sent(&self, before: DateTime<Utc>) -> PortResult<u64> {
        let done = sqlx::query(PURGE_SENT)
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(port_error)?;
        Ok(done.rows_affected())
    }
}

impl PostgresTaskRepository {
    /// The statement claiming due outbox rows (`$1` now, `$2` the lease's end, `$3` the limit), for
    /// checking its plan.
    pub const OUTBOX_CLAIM: &'static str = CLAIM;

    /// The statement a claim's transaction starts with, waiting for the claims' turn, for tests
    /// that hold the turn.
    pub const OUTBOX_CLAIM_TURN: &'static str = TAKE_CLAIM_TURN;

    /// The last error recorded for an unsent message, if any (for diagnostics and tests).
    pub async fn outbox_last_error(&self, id: EventId) -> PortResult<Option<String>> {
        let error: Option<Option<String>> = sqlx::query_scalar(
            "SELECT last_error FROM outbox WHERE event_id = $1 AND sent_at IS NULL",
        )
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(port_error)?;
        Ok(error.flatten())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_claim_turn_is_a_lock_in_the_namespace_of_the_named_locks() {
        assert!(super::TAKE_CLAIM_TURN.contains(&crate::locks::NAMESPACE.to_string()));
    }
}
