//! The task use cases a user drives: create, read, update, complete, reopen, delete.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tracing::warn;

use super::reminders::{reminder_job, reminder_job_name, sync_reminder};
use crate::error::{chain, PortError, TaskError};
use crate::events::{
    DomainEvent, TaskEvent, TaskEventType, TaskUpdateEvent, TaskUpdateType, SCHEMA_VERSION,
};
use crate::model::{EventId, NewTask, SeriesId, Status, Task, TaskId, TaskPatch, UserId};
use crate::ports::{
    AuditEntry, Changes, Clock, IdGenerator, Page, Scheduler, TagCount, TaskRepository, TaskWrite,
};
use crate::query::TaskQuery;

/// How many times a read-modify-write is retried after losing a race to a concurrent writer.
const CONFLICT_RETRIES: usize = 5;

/// The result of completing a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The completed task.
    pub task: Task,
    /// Its next occurrence, when it already exists.
    pub next: Option<Task>,
}

/// The task use cases.
#[derive(Clone)]
pub struct TaskService {
    repo: Arc<dyn TaskRepository>,
    scheduler: Arc<dyn Scheduler>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
}

impl TaskService {
    /// Builds the service over its ports.
    pub fn new(
        repo: Arc<dyn TaskRepository>,
        scheduler: Arc<dyn Scheduler>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
    ) -> Self {
        Self {
            repo,
            scheduler,
            clock,
            ids,
        }
    }

    /// Creates a task and schedules its reminder.
    #[tracing::instrument(skip_all, fields(user_id = %user_id, task_id = tracing::field::Empty), err(level = "debug"))]
    pub async fn create_task(&self, user_id: UserId, new: NewTask) -> Result<Task, TaskError> {
        let now = self.clock.now();
        let id = self.repo.next_task_id().await?;
        tracing::Span::current().record("task_id", tracing::field::display(id));
        let task = Task::create(id, user_id, new, SeriesId(self.ids.new_uuid()), now);
        let event = self.task_event(TaskEventType::Created, &task, now);
        self.repo
            .commit(Changes {
                writes: vec![TaskWrite::Insert(task.clone())],
                outbox: vec![event.to_message()],
                ..Changes::default()
            })
            .await?;
        self.sync_reminder(None, &task, now).await;
        Ok(task)
    }

    /// A user's task.
    #[tracing::instrument(skip(self), fields(user_id = %user_id, task_id = %id), err(level = "debug"))]
    pub async fn get_task(&self, user_id: UserId, id: TaskId) -> Result<Task, TaskError> {
        self.repo.get(user_id, id).await?.ok_or(TaskError::NotFound)
    }

    /// One page of a user's tasks.
    #[tracing::instrument(skip(self, query), fields(user_id = %user_id), err(level = "debug"))]
    pub async fn list_tasks(&self, user_id: UserId, query: &TaskQuery) -> Result<Page, TaskError> {
        Ok(self.repo.query(user_id, query, self.clock.now()).await?)
    }

    /// A user's tags with counts.
    #[tracing::instrument(skip(self), fields(user_id = %user_id), err(level = "debug"))]
    pub async fn list_tags(&self, user_id: UserId) -> Result<Vec<TagCount>, TaskError> {
        Ok(self.repo.tags(user_id).await?)
    }

    /// A task's audit history, oldest first. A task that no longer exists keeps its history.
    #[tracing::instrument(skip(self), fields(user_id = %user_id, task_id = %id), err(level = "debug"))]
    pub async fn task_history(
        &self,
        user_id: UserId,
        id: TaskId,
    ) -> Result<Vec<AuditEntry>, TaskError> {
        let entries = self.repo.history(user_id, id).await?;
        if entries.is_empty() && self.repo.get(user_id, id).await?.is_none() {
            return Err(TaskError::NotFound);
        }
        Ok(entries)
    }

    /// Applies a patch. With `expected_version` set, a concurrent change is a conflict; without it the
    /// patch is re-applied to the latest version.
    #[tracing::instrument(skip(self, patch), fields(user_id = %user_id, task_id = %id), err(level = "debug"))]
    pub async fn update_task(
        &self,
        user_id: UserId,
        id: TaskId,
        patch: TaskPatch,
    ) -> Result<Task, TaskError> {
        let series_id = SeriesId(self.ids.new_uuid());
        for _ in 0..CONFLICT_RETRIES {
            let mut task = self.get_task(user_id, id).await?;
            if let Some(expected) = patch.expected_version {
                if expected != task.version {
                    return Err(TaskError::Conflict {
                        current_version: task.version,
                    });
                }
            }
            let before = task.clone();
            let now = self.clock.now();
            if !task.apply(patch.clone(), series_id, now) {
                return Ok(task);
            }
            let event = self.task_event(TaskEventType::Updated, &task, now);
            match self.write(task.clone(), before.version, vec![event]).await {
                Err(TaskError::Conflict { .. }) if patch.expected_version.is_none() => continue,
                Err(e) => return Err(e),
                Ok(()) => {
                    self.sync_reminder(Some(&before), &task, now).await;
                    return Ok(task);
                }
            }
        }
        Err(self.conflict(user_id, id).await)
    }

    /// Completes a task and cancels its reminder. Completing a completed task changes nothing and
    /// answers the same task and next occurrence.
    ///
    /// The next occurrence of a recurring task is created by [`super::RecurringTaskHandler`] from the
    /// `completed` event; `next` is it when it already exists (always, with an in-process bus behind
    /// [`super::RelayOnCommit`]).
    #[tracing::instrument(skip(self), fields(user_id = %user_id, task_id = %id), err(level = "debug"))]
    pub async fn complete_task(
        &self,
        user_id: UserId,
        id: TaskId,
    ) -> Result<Completion, TaskError> {
        for _ in 0..CONFLICT_RETRIES {
            let mut task = self.get_task(user_id, id).await?;
            let before = task.clone();
            let now = self.clock.now();
            if !task.complete(now) {
                let next = self.repo.successor(user_id, id).await?;
                return Ok(Completion { task, next });
            }
            let events = vec![
                self.task_event(TaskEventType::Completed, &task, now),
                self.status_event(&task, Status::Pending, now),
            ];
            match self.write(task.clone(), before.version, events).await {
                Err(TaskError::Conflict { .. }) => continue,
                Err(e) => return Err(e),
                Ok(()) => {}
            }
            self.sync_reminder(Some(&before), &task, now).await;
            let next = self.repo.successor(user_id, id).await?;
            return Ok(Completion { task, next });
        }
        Err(self.conflict(user_id, id).await)
    }

    /// Marks a completed task pending again and re-schedules its reminder.
    #[tracing::instrument(skip(self), fields(user_id = %user_id, task_id = %id), err(level = "debug"))]
    pub async fn reopen_task(&self, user_id: UserId, id: TaskId) -> Result<Task, TaskError> {
        for _ in 0..CONFLICT_RETRIES {
            let mut task = self.get_task(user_id, id).await?;
            let before = task.clone();
            let now = self.clock.now();
            if !task.reopen(now) {
                return Ok(task);
            }
            let events = vec![
                self.task_event(TaskEventType::Updated, &task, now),
                self.status_event(&task, Status::Completed, now),
            ];
            match self.write(task.clone(), before.version, events).await {
                Err(TaskError::Conflict { .. }) => continue,
                Err(e) => return Err(e),
                Ok(()) => {
                    self.sync_reminder(Some(&before), &task, now).await;
                    return Ok(task);
                }
            }
        }
        Err(self.conflict(user_id, id).await)
    }

    /// Deletes a task and cancels its reminder. Deleting a pending occurrence of a recurring task ends
    /// its series (the recurring service acts on the `deleted` event).
    #[tracing::instrument(skip(self), fields(user_id = %user_id, task_id = %id), err(level = "debug"))]
    pub async fn delete_task(&self, user_id: UserId, id: TaskId) -> Result<(), TaskError> {
        for _ in 0..CONFLICT_RETRIES {
            let task = self.get_task(user_id, id).await?;
            let now = self.clock.now();
            let event = self.task_event(TaskEventType::Deleted, &task, now);
            let result = self
                .repo
                .commit(Changes {
                    writes: vec![TaskWrite::Delete {
                        user_id,
                        id,
                        expected_version: task.version,
                    }],
                    outbox: vec![event.to_message()],
                    ..Changes::default()
                })
                .await;
            match result {
                Err(PortError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
                Ok(()) => {
                    if reminder_job(&task, now).is_some() {
                        let name = reminder_job_name(id);
                        if let Err(error) = self.scheduler.cancel(&name).await {
                            warn!(task_id = %id, error = %chain(&error), "reminder not cancelled; its firing will be dropped as stale");
                        }
                    }
                    return Ok(());
                }
            }
        }
        Err(self.conflict(user_id, id).await)
    }

    async fn write(
        &self,
        task: Task,
        expected_version: i64,
        events: Vec<DomainEvent>,
    ) -> Result<(), TaskError> {
        let result = self
            .repo
            .commit(Changes {
                writes: vec![TaskWrite::Update {
                    task: task.clone(),
                    expected_version,
                }],
                outbox: events.iter().map(DomainEvent::to_message).collect(),
                ..Changes::default()
            })
            .await;
        match result {
            Err(PortError::Conflict { .. }) => Err(TaskError::Conflict {
                current_version: expected_version,
            }),
            other => Ok(other?),
        }
    }

    async fn conflict(&self, user_id: UserId, id: TaskId) -> TaskError {
        match self.repo.get(user_id, id).await {
            Ok(Some(task)) => TaskError::Conflict {
                current_version: task.version,
            },
            Ok(None) => TaskError::NotFound,
            Err(e) => e.into(),
        }
    }

    /// Schedules or cancels the reminder. The database is the source of truth: a failure here is logged
    /// and repaired by the reminder reconciler, never surfaced as a failed write.
    async fn sync_reminder(&self, before: Option<&Task>, after: &Task, now: DateTime<Utc>) {
        if let Err(error) = sync_reminder(self.scheduler.as_ref(), before, after, now).await {
            warn!(task_id = %after.id, error = %chain(&error), "reminder not synchronised; the reconciler will repair it");
        }
    }

    fn task_event(&self, kind: TaskEventType, task: &Task, now: DateTime<Utc>) -> DomainEvent {
        DomainEvent::Task(TaskEvent::new(
            EventId(self.ids.new_uuid()),
            kind,
            task,
            now,
        ))
    }

    fn status_event(&self, task: &Task, old: Status, now: DateTime<Utc>) -> DomainEvent {
        DomainEvent::TaskUpdate(TaskUpdateEvent {
            event_id: EventId(self.ids.new_uuid()),
            schema_version: SCHEMA_VERSION,
            event_type: TaskUpdateType::StatusChanged,
            task_id: task.id,
            user_id: task.user_id,
            old_status: old,
            new_status: task.status,
            timestamp: now,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use chrono::Duration;
    use mockall::predicate::eq;

    use super::*;
    use crate::error::PortError;
    use crate::model::{parse_due_date, TaskInput};
    use crate::ports::Job;
    use crate::usecases::mocks::{alice, noon, CountingIds, FixedClock, MockRepo, MockSched};

    fn service(repo: MockRepo, sched: MockSched) -> TaskService {
        TaskService::new(
            Arc::new(repo),
            Arc::new(sched),
            Arc::new(FixedClock(noon())),
            Arc::new(CountingIds::default()),
        )
    }

    fn due_tomorrow() -> NewTask {
        NewTask::parse(TaskInput {
            title: "Pay rent".into(),
            due_date: Some("2026-03-02T12:00:00Z".into()),
            ..TaskInput::default()
        })
        .unwrap()
    }

    fn stored(new: NewTask) -> Task {
        Task::create(
            TaskId(7),
            alice(),
            new,
            SeriesId(uuid::Uuid::nil()),
            noon() - Duration::days(1),
        )
    }

    /// Records every committed unit of work.
    fn recording_repo(commits: &Arc<Mutex<Vec<Changes>>>) -> MockRepo {
        let mut repo = MockRepo::new();
        let sink = Arc::clone(commits);
        repo.expect_commit().returning(move |c| {
            sink.lock().unwrap().push(c);
            Ok(())
        });
        repo
    }

    #[tokio::test]
    async fn creating_a_task_with_a_due_date_schedules_its_reminder_an_hour_before() {
        let commits = Arc::new(Mutex::new(Vec::new()));
        let mut repo = recording_repo(&commits);
        repo.expect_next_task_id()
            .times(1)
            .returning(|| Ok(TaskId(1)));
        let mut sched = MockSched::new();
        sched
            .expect_schedule()
            .withf(|job: &Job| {
                job.name == "reminder-task-1"
                    && job.due == parse_due_date("2026-03-02T11:00:00Z", "t").unwrap()
            })
            .times(1)
            .returning(|_| Ok(()));

        let task = service(repo, sched)
            .create_task(alice(), due_tomorrow())
            .await
            .unwrap();

        assert_eq!(task.remind_before.map(|r| r.minutes()), Some(60));
        let commits = commits.lock().unwrap();
        assert_eq!(commits.len(), 1);
        assert_eq!(commits[0].writes, vec![TaskWrite::Insert(task.clone())]);
        assert_eq!(commits[0].outbox.len(), 1);
        assert_eq!(commits[0].outbox[0].topic, "task-events");
        assert_eq!(commits[0].outbox[0].payload["event_type"], "created");
        assert_eq!(commits[0].outbox[0].key, "1");
    }

    #[tokio::test]
    async fn a_task_without_a_due_date_never_touches_the_scheduler() {
        let commits = Arc::new(Mutex::new(Vec::new()));
        let mut repo = recording_repo(&commits);
        repo.expect_next_task_id().returning(|| Ok(TaskId(2)));
        let mut sched = MockSched::new();
        sched.expect_schedule().never();
        sched.expect_cancel().never();

        service(repo, sched)
            .create_task(alice(), NewTask::titled("Someday").unwrap())
            .await
            .unwrap();
        assert_eq!(commits.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_scheduler_outage_does_not_fail_the_write() {
        let commits = Arc::new(Mutex::new(Vec::new()));
        let mut repo = recording_repo(&commits);
        repo.expect_next_task_id().returning(|| Ok(TaskId(3)));
        let mut sched = MockSched::new();
        sched
            .expect_schedule()
            .returning(|_| Err(PortError::unavailable("sidecar down")));

        let task = service(repo, sched)
            .create_task(alice(), due_tomorrow())
            .await;
        assert!(task.is_ok());
        assert_eq!(commits.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn an_unavailable_repository_is_reported_as_unavailable() {
        let mut repo = MockRepo::new();
        repo.expect_next_task_id()
            .returning(|| Err(PortError::unavailable("db down")));
        let err = service(repo, MockSched::new())
            .create_task(alice(), due_tomorrow())
            .await
            .unwrap_err();
        assert!(matches!(err, TaskError::Unavailable { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn completing_emits_completed_and_status_changed_and_cancels_the_reminder() {
        let task = stored(due_tomorrow());
        let commits = Arc::new(Mutex::new(Vec::new()));
        let mut repo = recording_repo(&commits);
        let current = task.clone();
        repo.expect_get()
            .with(eq(alice()), eq(TaskId(7)))
            .returning(move |_, _| Ok(Some(current.clone())));
        repo.expect_successor().returning(|_, _| Ok(None));
        let mut sched = MockSched::new();
        sched
            .expect_cancel()
            .with(eq("reminder-task-7"))
            .times(1)
            .returning(|_| Ok(()));

        let done = service(repo, sched)
            .complete_task(alice(), TaskId(7))
            .await
            .unwrap();

        assert_eq!(done.task.status, Status::Completed);
        assert_eq!(done.task.completed_at, Some(noon()));
        assert_eq!(done.task.version, task.version + 1);
        assert_eq!(done.next, None);
        let commits = commits.lock().unwrap();
        let topics: Vec<&str> = commits[0].outbox.iter().map(|m| m.topic.as_str()).collect();
        assert_eq!(topics, vec!["task-events", "task-updates"]);
        assert_eq!(commits[0].outbox[1].payload["old_status"], "pending");
        assert_eq!(commits[0].outbox[1].payload["new_status"], "completed");
        assert!(matches!(
            &commits[0].writes[0],
            TaskWrite::Update { expected_version, .. } if *expected_version == task.version
        ));
    }

    #[tokio::test]
    async fn completing_a_completed_task_changes_nothing() {
        let mut task = stored(due_tomorrow());
        task.complete(noon());
        let mut repo = MockRepo::new();
        repo.expect_commit().never();
        let current = task.clone();
        repo.expect_get()
            .returning(move |_, _| Ok(Some(current.clone())));
        repo.expect_successor().times(1).returning(|_, _| Ok(None));

        let done = service(repo, MockSched::new())
            .complete_task(alice(), TaskId(7))
            .await
            .unwrap();
        assert_eq!(done.task, task);
    }

    #[tokio::test]
    async fn a_stale_client_version_is_a_conflict_and_writes_nothing() {
        let task = stored(due_tomorrow());
        let mut repo = MockRepo::new();
        repo.expect_commit().never();
        let current = task.clone();
        repo.expect_get()
            .returning(move |_, _| Ok(Some(current.clone())));
        let patch = TaskPatch {
            title: Some(crate::model::Title::parse("Pay the rent").unwrap()),
            expected_version: Some(task.version - 1),
            ..TaskPatch::default()
        };
        let err = service(repo, MockSched::new())
            .update_task(alice(), TaskId(7), patch)
            .await
            .unwrap_err();
        assert!(
            matches!(err, TaskError::Conflict { current_version } if current_version == task.version),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn an_update_without_a_version_is_retried_after_losing_a_race() {
        let task = stored(due_tomorrow());
        let mut repo = MockRepo::new();
        let current = task.clone();
        repo.expect_get()
            .times(2)
            .returning(move |_, _| Ok(Some(current.clone())));
        let mut seq = mockall::Sequence::new();
        repo.expect_commit()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| Err(PortError::conflict("version")));
        repo.expect_commit()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| Ok(()));
        let patch = TaskPatch {
            priority: Some(crate::model::Priority::High),
            ..TaskPatch::default()
        };

        let updated = service(repo, MockSched::new())
            .update_task(alice(), TaskId(7), patch)
            .await;
        assert_eq!(updated.unwrap().priority, crate::model::Priority::High);
    }

    #[tokio::test]
    async fn moving_the_due_date_reschedules_the_reminder() {
        let task = stored(due_tomorrow());
        let mut repo = MockRepo::new();
        let current = task.clone();
        repo.expect_get()
            .returning(move |_, _| Ok(Some(current.clone())));
        repo.expect_commit().times(1).returning(|_| Ok(()));
        let mut sched = MockSched::new();
        sched
            .expect_schedule()
            .withf(|job: &Job| job.due == parse_due_date("2026-03-05T11:30:00Z", "t").unwrap())
            .times(1)
            .returning(|_| Ok(()));
        let patch = TaskPatch {
            due_date: Some(Some(parse_due_date("2026-03-05T12:00:00Z", "t").unwrap())),
            remind_before: Some(Some(crate::model::RemindBefore::new(30).unwrap())),
            ..TaskPatch::default()
        };
        service(repo, sched)
            .update_task(alice(), TaskId(7), patch)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn clearing_the_due_date_cancels_the_reminder() {
        let task = stored(due_tomorrow());
        let mut repo = MockRepo::new();
        let current = task.clone();
        repo.expect_get()
            .returning(move |_, _| Ok(Some(current.clone())));
        repo.expect_commit().times(1).returning(|_| Ok(()));
        let mut sched = MockSched::new();
        sched
            .expect_cancel()
            .with(eq("reminder-task-7"))
            .times(1)
            .returning(|_| Ok(()));
        let patch = TaskPatch {
            due_date: Some(None),
            ..TaskPatch::default()
        };
        let updated = service(repo, sched)
            .update_task(alice(), TaskId(7), patch)
            .await
            .unwrap();
        assert_eq!(updated.remind_at(), None);
    }

    #[tokio::test]
    async fn an_empty_patch_writes_nothing() {
        let task = stored(due_tomorrow());
        let mut repo = MockRepo::new();
        let current = task.clone();
        repo.expect_get()
            .returning(move |_, _| Ok(Some(current.clone())));
        repo.expect_commit().never();
        let same = service(repo, MockSched::new())
            .update_task(alice(), TaskId(7), TaskPatch::default())
            .await
            .unwrap();
        assert_eq!(same, task);
    }

    #[tokio::test]
    async fn deleting_emits_deleted_with_the_last_state_and_cancels_the_reminder() {
        let task = stored(due_tomorrow());
        let commits = Arc::new(Mutex::new(Vec::new()));
        let mut repo = recording_repo(&commits);
        let current = task.clone();
        repo.expect_get()
            .returning(move |_, _| Ok(Some(current.clone())));
        let mut sched = MockSched::new();
        sched
            .expect_cancel()
            .with(eq("reminder-task-7"))
            .times(1)
            .returning(|_| Ok(()));

        service(repo, sched)
            .delete_task(alice(), TaskId(7))
            .await
            .unwrap();
        let commits = commits.lock().unwrap();
        assert_eq!(
            commits[0].writes,
            vec![TaskWrite::Delete {
                user_id: alice(),
                id: TaskId(7),
                expected_version: 1
            }]
        );
        assert_eq!(commits[0].outbox[0].payload["event_type"], "deleted");
        assert_eq!(
            commits[0].outbox[0].payload["task_data"]["title"],
            "Pay rent"
        );
    }

    #[tokio::test]
    async fn another_users_task_is_not_found() {
        let mut repo = MockRepo::new();
        repo.expect_get().returning(|_, _| Ok(None));
        repo.expect_commit().never();
        let err = service(repo, MockSched::new())
            .delete_task(alice(), TaskId(9))
            .await
            .unwrap_err();
        assert!(matches!(err, TaskError::NotFound), "{err:?}");
    }
}
