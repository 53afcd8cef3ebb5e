//! Reminder deliveries on the `deliveries` table: the
//! [`DeliveryStore`](todo_core::ports::DeliveryStore) port.
//!
//! The key is (event id, channel), so `INSERT … ON CONFLICT DO NOTHING` records a delivery once
//! however often its event arrives. A claim is one `UPDATE … RETURNING` on the single writer, so two
//! workers never claim the same row.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;

use todo_core::error::PortError;
use todo_core::model::{EventId, TaskId, UserId};
use todo_core::ports::{
    ChannelKind, Delivery, DeliveryOutcome, DeliveryState, DeliveryStore, PortResult,
};

use crate::error::port_error;
use crate::repository::SqliteTaskRepository;
use crate::row::{get, get_instant, get_uuid, micros};

const ENQUEUE: &str = "\
INSERT INTO deliveries (event_id, channel, user_id, task_id, title, due_at, remind_at, status,
                        attempts, next_attempt_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', 0, ?8)
ON CONFLICT (event_id, channel) DO NOTHING";

const CLAIM: &str = "\
UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = ?3
WHERE (event_id, channel) IN (
    SELECT event_id, channel FROM deliveries
    WHERE channel = ?1 AND status = 'pending' AND next_attempt_at <= ?2
    ORDER BY next_attempt_at, event_id
    LIMIT ?4)
RETURNING event_id, channel, user_id, task_id, title, due_at, remind_at, attempts";

const FINISH: &str = "\
UPDATE deliveries SET status = ?3, next_attempt_at = coalesce(?4, next_attempt_at),
    last_error = ?5, finished_at = ?6
WHERE event_id = ?1 AND channel = ?2";

const STATE: &str = "\
SELECT status, attempts, last_error FROM deliveries WHERE event_id = ?1 AND channel = ?2";

#[async_trait]
impl DeliveryStore for SqliteTaskRepository {
    async fn enqueue(&self, delivery: &Delivery, due: DateTime<Utc>) -> PortResult<bool> {
        let inserted = sqlx::query(ENQUEUE)
            .bind(delivery.event_id.0)
            .bind(delivery.channel.as_str())
            .bind(delivery.user_id.0)
            .bind(delivery.task_id.0)
            .bind(&delivery.title)
            .bind(micros(delivery.due_at))
            .bind(micros(delivery.remind_at))
            .bind(micros(due))
            .execute(&mut *self.db.writer.acquire().await?)
            .await
            .map_err(port_error)?;
        Ok(inserted.rows_affected() == 1)
    }

    async fn claim_due(
        &self,
        channel: ChannelKind,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> PortResult<Vec<Delivery>> {
        let rows = sqlx::query(CLAIM)
            .bind(channel.as_str())
            .bind(micros(now))
            .bind(micros(lease_until))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&mut *self.db.writer.acquire().await?)
            .await
            .map_err(port_error)?;
        let mut claimed = rows
            .iter()
            .map(decode_delivery)
            .collect::<PortResult<Vec<Delivery>>>()?;
        // The subquery picked the most overdue; RETURNING gives them in no order.
        claimed.sort_by_key(|d| (d.remind_at, d.event_id));
        Ok(claimed)
    }

    async fn finish(
        &self,
        event_id: EventId,
        channel: ChannelKind,
        outcome: &DeliveryOutcome,
    ) -> PortResult<()> {
        let columns = outcome.columns();
        sqlx::query(FINISH)
            .bind(event_id.0)
            .bind(channel.as_str())
            .bind(columns.status)
            .bind(columns.next_attempt_at.map(micros))
            .bind(columns.last_error)
            .bind(columns.finished_at.map(micros))
            .execute(&mut *self.db.writer.acquire().await?)
            .await
            .map_err(port_error)?;
        Ok(())
    }

    async fn state(
        &self,
        event_id: EventId,
        channel: ChannelKind,
    ) -> PortResult<Option<DeliveryState>> {
        let row = sqlx::query(STATE)
            .bind(event_id.0)
            .bind(channel.as_str())
            .fetch_optional(&self.db.reader)
            .await
            .map_err(port_error)?;
        row.map(|row| {
            let status: String = get(&row, "status")?;
            let attempts = attempts(&row)?;
            let error: Option<String> = get(&row, "last_error")?;
            DeliveryState::from_columns(&status, attempts, error)
        })
        .transpose()
    }
}

fn attempts(row: &SqliteRow) -> PortResult<u32> {
    let raw: i64 = get(row, "attempts")?;
    u32::try_from(raw).map_err(|e| PortError::corrupt("reading deliveries.attempts", e))
}

fn decode_delivery(row: &SqliteRow) -> PortResult<Delivery> {
    let channel: String = get(row, "channel")?;
    let channel: ChannelKind = channel.parse()?;
    Ok(Delivery {
        event_id: EventId(get_uuid(row, "event_id")?),
        channel,
        user_id: UserId(get_uuid(row, "user_id")?),
        task_id: TaskId(get(row, "task_id")?),
        title: get(row, "title")?,
        due_at: get_instant(row, "due_at")?,
        remind_at: get_instant(row, "remind_at")?,
        attempts: attempts(row)?,
    })
}
