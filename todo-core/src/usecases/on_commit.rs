//! [`OnCommit`]: a [`TaskRepository`] that runs a hook after every commit that wrote events, and
//! otherwise is the repository it wraps. The hooks: [`super::RelayOnCommit`] (relay at once, the
//! embedded default) and, in the server, waking the background relay.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::model::{EventId, SeriesId, Task, TaskId, UserId};
use crate::ports::{
    AuditEntry, Changes, Page, PortResult, ReminderCursor, ReminderEntry, TagCount, TaskRepository,
};
use crate::query::TaskQuery;

/// What to do once a commit that wrote outbox messages has succeeded.
#[async_trait]
pub trait AfterCommit: Send + Sync {
    /// Whether to act after `changes` commit; by default, when they hold outbox messages.
    fn applies_to(&self, changes: &Changes) -> bool {
        !changes.outbox.is_empty()
    }

    /// Called after each successful commit the hook [applies to](Self::applies_to).
    async fn events_committed(&self);
}

/// Wraps a repository: after a successful `commit` the hook applies to (by default, one whose
/// changes hold outbox messages), it calls `hook`; every other call goes straight to the inner
/// repository.
pub struct OnCommit<H> {
    inner: Arc<dyn TaskRepository>,
    hook: H,
}

impl<H: AfterCommit> OnCommit<H> {
    /// Calls `hook` after each commit with events to `inner`.
    pub fn new(inner: Arc<dyn TaskRepository>, hook: H) -> Self {
        Self { inner, hook }
    }
}

impl<H: std::fmt::Debug> std::fmt::Debug for OnCommit<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnCommit")
            .field("hook", &self.hook)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl<H: AfterCommit> TaskRepository for OnCommit<H> {
    async fn next_task_id(&self) -> PortResult<TaskId> {
        self.inner.next_task_id().await
    }

    async fn commit(&self, changes: Changes) -> PortResult<()> {
        let applies = self.hook.applies_to(&changes);
        self.inner.commit(changes).await?;
        if applies {
            self.hook.events_committed().await;
        }
        Ok(())
    }

    async fn get(&self, user_id: UserId, id: TaskId) -> PortResult<Option<Task>> {
        self.inner.get(user_id, id).await
    }

    async fn query(
        &self,
        user_id: UserId,
        query: &TaskQuery,
        now: DateTime<Utc>,
    ) -> PortResult<Page> {
        self.inner.query(user_id, query, now).await
    }

    async fn tags(&self, user_id: UserId) -> PortResult<Vec<TagCount>> {
        self.inner.tags(user_id).await
    }

    async fn successor(&self, user_id: UserId, id: TaskId) -> PortResult<Option<Task>> {
        self.inner.successor(user_id, id).await
    }

    async fn pending_in_series(&self, user_id: UserId, series: SeriesId) -> PortResult<Vec<Task>> {
        self.inner.pending_in_series(user_id, series).await
    }

    async fn pending_reminders(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        resume: Option<ReminderCursor>,
        limit: usize,
    ) -> PortResult<Vec<ReminderEntry>> {
        self.inner
            .pending_reminders(now, until, resume, limit)
            .await
    }

    async fn is_processed(&self, consumer: &str, event_id: EventId) -> PortResult<bool> {
        self.inner.is_processed(consumer, event_id).await
    }

    async fn processed_among(
        &self,
        consumer: &str,
        event_ids: &[EventId],
    ) -> PortResult<HashSet<EventId>> {
        self.inner.processed_among(consumer, event_ids).await
    }

    async fn history(&self, user_id: UserId, id: TaskId) -> PortResult<Vec<AuditEntry>> {
        self.inner.history(user_id, id).await
    }
}
