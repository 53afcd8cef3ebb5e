//! In-app notifications on the `notifications` table: the
//! [`NotificationStore`](todo_core::ports::NotificationStore) port.
//!
//! The primary key is the reminder's event id, so `INSERT … ON CONFLICT DO NOTHING` records each
//! firing once however many deliveries race. Every statement is scoped by `user_id`; the inbox reads
//! one range of `notifications_user_inbox (user_id, remind_at DESC, id DESC)`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

use todo_core::model::{TaskId, UserId};
use todo_core::ports::{Notification, NotificationStore, PortResult};

use crate::error::port_error;
use crate::repository::SqliteTaskRepository;
use crate::row::{get, get_instant, get_optional_instant, get_uuid, micros};

const INSERT_NOTIFICATION: &str = "\
INSERT INTO notifications (id, user_id, task_id, title, due_at, remind_at, created_at, read_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
ON CONFLICT (id) DO NOTHING";

const SELECT_INBOX: &str = "\
SELECT id, user_id, task_id, title, due_at, remind_at, created_at, read_at
FROM notifications
WHERE user_id = ?1
ORDER BY remind_at DESC, id DESC
LIMIT ?2";

/// Keeps the first read time; returns the row when the user owns the notification.
const MARK_READ: &str = "\
UPDATE notifications SET read_at = coalesce(read_at, ?3)
WHERE id = ?1 AND user_id = ?2
RETURNING id";

#[async_trait]
impl NotificationStore for SqliteTaskRepository {
    async fn record(&self, notification: &Notification) -> PortResult<bool> {
        let inserted = sqlx::query(INSERT_NOTIFICATION)
            .bind(notification.id)
            .bind(notification.user_id.0)
            .bind(notification.task_id.0)
            .bind(&notification.title)
            .bind(micros(notification.due_at))
            .bind(micros(notification.remind_at))
            .bind(micros(notification.created_at))
            .bind(notification.read_at.map(micros))
            .execute(&mut *self.db.writer.acquire().await?)
            .await
            .map_err(port_error)?;
        Ok(inserted.rows_affected() == 1)
    }

    async fn list(&self, user: UserId, limit: usize) -> PortResult<Vec<Notification>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // A limit beyond i64 asks for everything, which i64::MAX also does.
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = sqlx::query(SELECT_INBOX)
            .bind(user.0)
            .bind(limit)
            .fetch_all(&self.db.reader)
            .await
            .map_err(port_error)?;
        rows.iter().map(decode_notification).collect()
    }

    async fn mark_read(&self, user: UserId, id: Uuid, at: DateTime<Utc>) -> PortResult<bool> {
        let marked = sqlx::query(MARK_READ)
            .bind(id)
            .bind(user.0)
            .bind(micros(at))
            .fetch_optional(&mut *self.db.writer.acquire().await?)
            .await
            .map_err(port_error)?;
        Ok(marked.is_some())
    }
}

fn decode_notification(row: &SqliteRow) -> PortResult<Notification> {
    Ok(Notification {
        id: get_uuid(row, "id")?,
        user_id: UserId(get_uuid(row, "user_id")?),
        task_id: TaskId(get(row, "task_id")?),
        title: get(row, "title")?,
        due_at: get_instant(row, "due_at")?,
        remind_at: get_instant(row, "remind_at")?,
        created_at: get_instant(row, "created_at")?,
        read_at: get_optional_instant(row, "read_at")?,
    })
}
