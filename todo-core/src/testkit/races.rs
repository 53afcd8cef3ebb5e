//! Races on a task store: concurrent creates, concurrent audit appends with duplicates, concurrent
//! completions of one recurring task, duplicate and replayed `completed` events, and concurrent
//! versioned updates. The store's unique constraints and version
//! checks must decide each race, whatever the interleaving.
//!
//! Run each case on a multi-threaded runtime (`#[tokio::test(flavor = "multi_thread")]`), so the
//! spawned attempts really overlap.

use std::sync::Arc;

use chrono::{Duration, Utc};
use tokio::task::{JoinError, JoinHandle};
use uuid::Uuid;

use super::fixtures::{self, TaskFixture};
use crate::error::{PortError, TaskError};
use crate::events::{consumers, topics};
use crate::events::{TaskEvent, TaskEventType};
use crate::memory::{InMemoryEventBus, InMemoryScheduler, InMemoryStateStore};
use crate::model::{
    EventId, NewTask, SeriesId, Status, Task, TaskId, TaskInput, TaskPatch, Title, UserId,
};
use crate::ports::{
    AuditEntry, AuditLog, Changes, OutboxStore, SystemClock, TaskRepository, TaskWrite,
    UuidV7Generator,
};
use crate::query::TaskQuery;
use crate::usecases::{
    OnCommit, OutboxRelay, RecurringConsumer, RecurringOutcome, RecurringTaskHandler,
    RelayOnCommit, TaskService,
};

/// The race cases, over one store implementing the task repository, its outbox and the audit log.
pub struct RaceSuite {
    repo: Arc<dyn TaskRepository>,
    outbox: Arc<dyn OutboxStore>,
    audit: Arc<dyn AuditLog>,
}

fn daily_task_due_tomorrow() -> NewTask {
    let due = (Utc::now() + Duration::days(1)).format("%Y-%m-%dT09:00:00Z");
    NewTask::parse(TaskInput {
        title: "Water the plants".into(),
        due_date: Some(due.to_string()),
        recurrence: Some(serde_json::json!("daily")),
        ..TaskInput::default()
    })
    .expect("a valid recurring task")
}

fn service(repo: Arc<dyn TaskRepository>) -> TaskService {
    TaskService::new(
        repo,
        Arc::new(InMemoryScheduler::new()),
        Arc::new(SystemClock),
        Arc::new(UuidV7Generator),
    )
}

/// Spawns every task first (so they run at once: a lazy iterator would spawn each only after the
/// previous one finished), then waits for each, in order.
async fn join_all<T>(
    handles: impl IntoIterator<Item = JoinHandle<T>>,
) -> Vec<Result<T, JoinError>> {
    let handles: Vec<_> = handles.into_iter().collect();
    let mut results = Vec::with_capacity(handles.len());
    for handle in handles {
        results.push(handle.await);
    }
    results
}

impl RaceSuite {
    /// A suite over one store implementing the three ports (the usual shape: one database).
    pub fn new<S>(store: Arc<S>) -> Self
    where
        S: TaskRepository + OutboxStore + AuditLog + 'static,
    {
        Self {
            repo: store.clone(),
            outbox: store.clone(),
            audit: store,
        }
    }

    /// Runs every case, one after the other (each with a fresh user, so one store serves them all).
    pub async fn run_all(&self) {
        self.fifty_concurrent_completions_create_exactly_one_next_occurrence()
            .await;
        self.duplicate_and_replayed_completed_events_create_one_next_occurrence()
            .await;
        self.of_concurrent_updates_from_one_version_exactly_one_wins()
            .await;
        self.concurrent_creates_are_each_stored_once_and_a_duplicate_fails_alone()
            .await;
        self.concurrent_audit_appends_record_each_event_once().await;
    }

    /// Forty audit entries appended at once, each event handed over twice at the same time (as a
    /// redelivery racing the first delivery would), then all forty again. Each event is recorded
    /// exactly once: one of its appends answers `true`, every other `false`, and each task's history
    /// holds its entry once. A store that writes concurrent appends together must answer each one as
    /// if it had been written alone.
    pub async fn concurrent_audit_appends_record_each_event_once(&self) {
        let user = UserId(Uuid::new_v4());
        let entries: Vec<_> = (0..40_i64)
            .map(|n| {
                let task = fixtures::task(TaskId(1_000_000 + n), user, &format!("Audited {n}"));
                fixtures::audit_entry(&task, TaskEventType::Created, fixtures::base_time())
            })
            .collect();
        // Appends every entry at once; what each append answered, in order.
        let append_all = |entries: Vec<AuditEntry>| async move {
            let appends = entries.into_iter().map(|entry| {
                let audit = self.audit.clone();
                tokio::spawn(async move { audit.append(entry).await })
            });
            join_all(appends)
                .await
                .into_iter()
                .map(|joined| {
                    joined
                        .expect("an append panicked")
                        .expect("an append failed")
                })
                .collect::<Vec<bool>>()
        };
        let twice = entries.iter().flat_map(|e| [e.clone(), e.clone()]);
        let first = append_all(twice.collect()).await;
        for (n, pair) in first.chunks(2).enumerate() {
            assert_eq!(
                pair.iter().filter(|appended| **appended).count(),
                1,
                "entry {n}: exactly one of two racing appends records it ({pair:?})"
            );
        }
        let again = append_all(entries.clone()).await;
        assert!(
            again.iter().all(|appended| !appended),
            "a recorded event is not recorded again: {again:?}"
        );
        for entry in &entries {
            let history = self
                .audit
                .history(user, entry.task_id)
                .await
                .expect("reading a history");
            assert_eq!(
                history.iter().map(|h| h.event_id).collect::<Vec<_>>(),
                vec![entry.event_id],
                "task {}: its one entry",
                entry.task_id
            );
        }
    }

    /// Sixty creates at once (tagged or not, due with a reminder or not, one recurring), each with
    /// its event; then twenty more at once with a create reusing an id of the first sixty. Each
    /// create is stored as written with its event, and the duplicate fails with `AlreadyExists`,
    /// alone, leaving nothing behind. A store that writes concurrent creates together must keep
    /// them as separate as one by one.
    pub async fn concurrent_creates_are_each_stored_once_and_a_duplicate_fails_alone(&self) {
        let user = UserId(Uuid::new_v4());
        let (unsent_before, _) = self.outbox.backlog().await.expect("reading the backlog");
        let mut tasks = Vec::new();
        for n in 0..80_i64 {
            let id = self.repo.next_task_id().await.expect("reserving an id");
            let mut task = if n % 40 == 7 {
                let new = NewTask::parse(TaskInput {
                    title: "Water the plants".into(),
                    due_date: Some("2030-06-16T09:00:00Z".into()),
                    recurrence: Some(serde_json::json!("daily")),
                    ..TaskInput::default()
                })
                .expect("a valid recurring task");
                Task::create(
                    id,
                    user,
                    new,
                    SeriesId(Uuid::new_v4()),
                    fixtures::base_time(),
                )
            } else {
                fixtures::task(id, user, &format!("Concurrent create {n}"))
            };
            let tags: &[&str] = match n % 3 {
                0 => &[],
                1 => &["home"],
                _ => &["work", "errands"],
            };
            task = task.tagged(tags);
            if n % 2 == 0 {
                task = task.due(fixtures::base_time() + Duration::days(n + 1), Some(30));
            }
            tasks.push(task);
        }
        let create = |task: Task| {
            let repo = self.repo.clone();
            tokio::spawn(async move {
                let message = fixtures::message(
                    &task.id.to_string(),
                    serde_json::json!({ "title": task.title.as_str() }),
                );
                let changes = Changes {
                    writes: vec![TaskWrite::Insert(task)],
                    outbox: vec![message],
                    ..Changes::default()
                };
                repo.commit(changes).await
            })
        };
        let first: Vec<_> = join_all(tasks[..60].iter().cloned().map(create))
            .await
            .into_iter()
            .map(|joined| joined.expect("a create panicked"))
            .collect();
        assert!(first.iter().all(Result::is_ok), "{first:?}");
        let duplicate = fixtures::task(tasks[0].id, user, "Same id, another task");
        let second: Vec<_> = join_all(tasks[60..].iter().cloned().chain([duplicate]).map(create))
            .await
            .into_iter()
            .map(|joined| joined.expect("a create panicked"))
            .collect();
        let (stored, refused) = second.split_at(20);
        assert!(stored.iter().all(Result::is_ok), "{stored:?}");
        assert!(
            matches!(refused, [Err(PortError::AlreadyExists { .. })]),
            "the duplicate is refused: {refused:?}"
        );
        for task in &tasks {
            let outcome = self.repo.get(user, task.id).await.expect("reading a task");
            assert_eq!(outcome.as_ref(), Some(task), "task {} as stored", task.id);
        }
        let (unsent_after, _) = self.outbox.backlog().await.expect("reading the backlog");
        assert_eq!(
            unsent_after - unsent_before,
            80,
            "one event per stored create, none for the refused one"
        );
    }

    /// The embedded wiring: an in-process bus with the recurring consumer (over the plain
    /// repository), and a task service whose commits relay their events before returning.
    fn embedded_service(&self) -> TaskService {
        let bus = Arc::new(InMemoryEventBus::new());
        let recurring = RecurringTaskHandler::new(
            self.repo.clone(),
            Arc::new(InMemoryStateStore::new()),
            Arc::new(SystemClock),
            Arc::new(UuidV7Generator),
        );
        bus.subscribe(
            topics::TASK_EVENTS,
            consumers::RECURRING,
            Arc::new(RecurringConsumer(recurring)),
        );
        let relay = OutboxRelay::new(self.outbox.clone(), bus, Arc::new(SystemClock));
        service(Arc::new(OnCommit::new(
            self.repo.clone(),
            RelayOnCommit::new(relay),
        )))
    }

    /// The stored tasks of `user` in a series, by id.
    async fn series_tasks(&self, user: UserId, series: SeriesId) -> Vec<Task> {
        let query = TaskQuery {
            limit: 500,
            ..TaskQuery::default()
        };
        let page = self
            .repo
            .query(user, &query, Utc::now())
            .await
            .expect("reading the series");
        let mut tasks: Vec<Task> = page
            .items
            .into_iter()
            .filter(|t| t.series.as_ref().is_some_and(|s| s.id == series))
            .collect();
        tasks.sort_by_key(|t| t.id);
        tasks
    }

    /// Fifty concurrent completions of one daily task all succeed and create one next occurrence,
    /// which every completion that answers one names.
    pub async fn fifty_concurrent_completions_create_exactly_one_next_occurrence(&self) {
        let tasks = self.embedded_service();
        let user = UserId(Uuid::new_v4());
        let task = tasks
            .create_task(user, daily_task_due_tomorrow())
            .await
            .expect("creating a recurring task");
        let series = task
            .series
            .as_ref()
            .expect("a recurring task has a series")
            .id;

        let completions = (0..50).map(|_| {
            let tasks = tasks.clone();
            tokio::spawn(async move { tasks.complete_task(user, task.id).await })
        });
        let results: Vec<_> = join_all(completions)
            .await
            .into_iter()
            .map(|joined| joined.expect("a completion panicked"))
            .collect();

        let rows = self.series_tasks(user, series).await;
        let summary: Vec<_> = rows
            .iter()
            .map(|t| {
                (
                    t.id,
                    t.status,
                    t.series.as_ref().and_then(|s| s.predecessor),
                )
            })
            .collect();
        assert_eq!(
            rows.len(),
            2,
            "the task and one next occurrence: {summary:?}"
        );
        let next = &summary[1];
        assert_eq!((next.1, next.2), (Status::Pending, Some(task.id)));
        let mut answered_next = 0;
        for result in results {
            let completion = result.expect("every concurrent completion succeeds");
            assert_eq!(completion.task.status, Status::Completed);
            if let Some(answer) = completion.next {
                assert_eq!(
                    answer.id, next.0,
                    "every answer names the same next occurrence"
                );
                answered_next += 1;
            }
        }
        assert!(
            answered_next >= 1,
            "the winning completion answers its next occurrence"
        );
        let successor = self
            .repo
            .successor(user, task.id)
            .await
            .expect("reading the successor")
            .expect("a successor");
        assert_eq!(
            successor.due_date,
            task.due_date.map(|d| d + Duration::days(1))
        );
    }

    /// Twenty-five redeliveries of one `completed` event and twenty-five replays under new event
    /// ids, all at once, create one next occurrence.
    pub async fn duplicate_and_replayed_completed_events_create_one_next_occurrence(&self) {
        let user = UserId(Uuid::new_v4());
        let completion = {
            let tasks = service(self.repo.clone());
            let task = tasks
                .create_task(user, daily_task_due_tomorrow())
                .await
                .expect("creating a recurring task");
            tasks
                .complete_task(user, task.id)
                .await
                .expect("completing the task")
        };
        assert_eq!(
            completion.next, None,
            "with events, the recurring service creates it"
        );
        let handler = RecurringTaskHandler::new(
            self.repo.clone(),
            Arc::new(InMemoryStateStore::new()),
            Arc::new(SystemClock),
            Arc::new(UuidV7Generator),
        );
        let event = TaskEvent::new(
            EventId(Uuid::now_v7()),
            TaskEventType::Completed,
            &completion.task,
            completion.task.completed_at.expect("completed"),
        );

        let deliveries = (0..50).map(|n| {
            let handler = handler.clone();
            let mut event = event.clone();
            if n % 2 == 1 {
                event.event_id = EventId(Uuid::now_v7());
            }
            tokio::spawn(async move { handler.handle(&event).await })
        });
        let outcomes: Vec<RecurringOutcome> = join_all(deliveries)
            .await
            .into_iter()
            .map(|joined| {
                joined
                    .expect("a handler panicked")
                    .expect("handling succeeds")
            })
            .collect();
        let created = outcomes
            .iter()
            .filter(|o| matches!(o, RecurringOutcome::Created(_)))
            .count();
        assert_eq!(created, 1, "outcomes: {outcomes:?}");
        let series = completion
            .task
            .series
            .expect("a recurring task has a series")
            .id;
        assert_eq!(self.series_tasks(user, series).await.len(), 2);
    }

    /// Of twenty updates from the same version, one wins and nineteen conflict; through the use
    /// case, a client's stale version is a conflict too.
    pub async fn of_concurrent_updates_from_one_version_exactly_one_wins(&self) {
        let user = UserId(Uuid::new_v4());
        let task = service(self.repo.clone())
            .create_task(user, NewTask::titled("Draft").expect("a valid title"))
            .await
            .expect("creating a task");
        let attempts = (0..20).map(|n| {
            let repo = self.repo.clone();
            let mut edit = task.clone();
            edit.title = Title::parse(&format!("Edit {n}")).expect("a valid title");
            edit.version = task.version + 1;
            tokio::spawn(async move {
                repo.commit(Changes {
                    writes: vec![TaskWrite::Update {
                        task: edit,
                        expected_version: 1,
                    }],
                    ..Changes::default()
                })
                .await
            })
        });
        let results: Vec<_> = join_all(attempts)
            .await
            .into_iter()
            .map(|joined| joined.expect("an update panicked"))
            .collect();
        let won = results.iter().filter(|r| r.is_ok()).count();
        let conflicts = results
            .iter()
            .filter(|r| matches!(r, Err(PortError::Conflict { .. })))
            .count();
        assert_eq!((won, conflicts), (1, 19), "{results:?}");
        let stored = self
            .repo
            .get(user, task.id)
            .await
            .expect("reading the task")
            .expect("the task is stored");
        assert_eq!(stored.version, 2);

        let stale = service(self.repo.clone())
            .update_task(
                user,
                task.id,
                TaskPatch {
                    title: Some(Title::parse("Stale").expect("a valid title")),
                    expected_version: Some(1),
                    ..TaskPatch::default()
                },
            )
            .await;
        assert!(
            matches!(stale, Err(TaskError::Conflict { current_version: 2 })),
            "{stale:?}"
        );
    }
}
