//! Wakes the outbox relay the moment a unit of work with events commits, so that an event leaves
//! within a millisecond of its transaction instead of at the relay's next poll.

use std::sync::Arc;

use async_trait::async_trait;
use todo_core::usecases::AfterCommit;
use tokio::sync::Notify;

/// An [`AfterCommit`] hook that signals `wake` after each commit that wrote outbox messages (wrap the
/// repository in `OnCommit::new(repo, WakeRelay::new(wake))`). The relay still polls (rows written by
/// other replicas, retries that fell due), but far less often.
#[derive(Debug, Clone)]
pub struct WakeRelay {
    wake: Arc<Notify>,
}

impl WakeRelay {
    /// Signals `wake`, which the relay waits on.
    pub fn new(wake: Arc<Notify>) -> Self {
        Self { wake }
    }
}

#[async_trait]
impl AfterCommit for WakeRelay {
    async fn events_committed(&self) {
        self.wake.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::Utc;
    use todo_core::events::{DomainEvent, TaskEvent, TaskEventType};
    use todo_core::memory::InMemoryTaskRepository;
    use todo_core::model::{EventId, NewTask, SeriesId, Task, UserId};
    use todo_core::ports::{Changes, OutboxStore, TaskRepository, TaskWrite};
    use todo_core::usecases::OnCommit;

    use super::*;

    #[tokio::test]
    async fn a_commit_with_events_wakes_the_relay_and_one_without_does_not() {
        let memory = Arc::new(InMemoryTaskRepository::new());
        let wake = Arc::new(Notify::new());
        let repo = OnCommit::new(memory.clone(), WakeRelay::new(wake.clone()));
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
