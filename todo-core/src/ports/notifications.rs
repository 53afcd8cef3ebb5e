//! In-app notifications: the notification service's record of each reminder that fired, which a user
//! lists later (an inbox) and marks read.
//!
//! A notification's id is the firing's `event_id` (a v5 UUID of task and remind time), so a duplicate
//! firing or a redelivered `reminders` event maps to the same notification and stores nothing new.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::PortResult;
use crate::events::ReminderEvent;
use crate::model::{TaskId, UserId};

/// One reminder as the user's inbox shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// The reminder event's `event_id`: one notification per firing.
    pub id: Uuid,
    /// Whose inbox it is in.
    pub user_id: UserId,
    /// The task it reminds of (the task may since have been deleted).
    pub task_id: TaskId,
    /// The task's title when the reminder fired.
    pub title: String,
    /// The task's due date when the reminder fired.
    pub due_at: DateTime<Utc>,
    /// When the reminder was due.
    pub remind_at: DateTime<Utc>,
    /// When the notification service stored it.
    pub created_at: DateTime<Utc>,
    /// When the user first marked it read; `None` while unread.
    pub read_at: Option<DateTime<Utc>>,
}

impl Notification {
    /// The unread notification of a `reminders` event, stored at `created_at`.
    pub fn from_reminder(event: &ReminderEvent, created_at: DateTime<Utc>) -> Self {
        Self {
            id: event.event_id.0,
            user_id: event.user_id,
            task_id: event.task_id,
            title: event.title.clone(),
            due_at: event.due_at,
            remind_at: event.remind_at,
            created_at,
            read_at: None,
        }
    }
}

/// Stores in-app notifications, one per id. Every read and write is scoped to one user: a user never
/// sees or marks another user's notification.
#[async_trait]
pub trait NotificationStore: Send + Sync {
    /// Stores `notification` unless one with its id exists; `true` if it was new. A duplicate changes
    /// nothing stored (not even its read state).
    async fn record(&self, notification: &Notification) -> PortResult<bool>;

    /// At most `limit` of `user`'s notifications, newest `remind_at` first, then by id descending.
    async fn list(&self, user: UserId, limit: usize) -> PortResult<Vec<Notification>>;

    /// Marks `user`'s notification `id` read at `at`; `false` if `user` has no such notification. An
    /// already read notification keeps its first `read_at` (and the answer is `true`).
    async fn mark_read(&self, user: UserId, id: Uuid, at: DateTime<Utc>) -> PortResult<bool>;
}
