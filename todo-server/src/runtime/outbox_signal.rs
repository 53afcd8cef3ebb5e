//! Wakes the outbox relay the moment a unit of work with events commits, so that an event leaves
//! within a millisecond of its transaction instead of at the relay's next poll.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use todo_core::model::{EventId, SeriesId, Task, TaskId, UserId};
use todo_core::ports::{
    AuditEntry, Changes, Page, PortResult, ReminderEntry, TagCount, TaskRepository,
};
use todo_core::query::TaskQuery;
use tokio::sync::Notify;

/// A [`TaskRepository`] that signals `wake` after each commit that wrote outbox messages. The relay
/// still polls (rows written by other replicas, retries that fell due), but far less often.
pub struct SignallingRepository {
    inner: Arc<dyn TaskRepository>,
    wake: Arc<Notify>,
}

impl SignallingRepository {
    /// Wraps `inner`; `wake` is what the relay waits on.
    pub fn new(inner: Arc<dyn TaskRepository>, wake: Arc<Notify>) -> Self {
        Self { inner, wake }
    }
}

#[async_trait]
impl TaskRepository for SignallingRepository {
    async fn next_task_id(&self) -> PortResult<TaskId> {
        self.inner.next_task_id().await
    }

    async fn commit(&self, changes: Changes) -> PortResult<()> {
        let has_events = !changes.outbox.is_empty();
        self.inner.commit(changes).await?;
        if has_events {
            self.wake.notify_one();
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
        after: DateTime<Utc>,
        after_id: Option<TaskId>,
        limit: usize,
    ) -> PortResult<Vec<ReminderEntry>> {
        self.inner.pending_reminders(after, after_id, limit).await
    }

    async fn is_processed(&self, consumer: &str, event_id: EventId) -> PortResult<bool> {
        self.inner.is_processed(consumer, event_id).await
    }

    async fn history(&self, user_id: UserId, id: TaskId) -> PortResult<Vec<AuditEntry>> {
        self.inner.history(user_id, id).await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use todo_core::events::{DomainEvent, TaskEvent, TaskEventType};
    use todo_core::memory::InMemoryTaskRepository;
    use todo_core::model::NewTask;
    use todo_core::ports::{OutboxStore, TaskWrite};

    use super::*;

    #[tokio::test]
    async fn a_commit_with_events_wakes_the_relay_and_one_without_does_not() {
        let memory = Arc::new(InMemoryTaskRepository::new());
        let wake = Arc::new(Notify::new());
        let repo = SignallingRepository::new(memory.clone(), wake.clone());
        let user = UserId(uuid::Uuid::now_v7());
        let now = Utc::now();
        let new = NewTask::titled("Buy groceries").unwrap();
        let id = repo.next_task_id().await.unwrap();
        let task = Task::create(id, user, new, SeriesId(uuid::Uuid::now_v7()), now);
        let event = DomainEvent::Task(TaskEvent::new(
            EventId(uuid::Uuid::now_v7()),
            TaskEventType::Created,
            &task,
            now,
        ));

        let quiet = Changes {
            writes: vec![TaskWrite::Insert(task.clone())],
            ..Changes::default()
        };
        repo.commit(quiet).await.unwrap();
        let woken = tokio::time::timeout(Duration::from_millis(50), wake.notified()).await;
        assert!(woken.is_err(), "no events, no wake-up");

        let loud = Changes {
            outbox: vec![event.to_message()],
            ..Changes::default()
        };
        repo.commit(loud).await.unwrap();
        tokio::time::timeout(Duration::from_secs(1), wake.notified())
            .await
            .expect("woken after a commit with events");
        assert_eq!(memory.backlog().await.unwrap().0, 1);
    }
}
