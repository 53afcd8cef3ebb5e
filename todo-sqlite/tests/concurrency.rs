//! Races on SQLite (one writer connection, so the unique indexes and version checks decide): concurrent completions of one recurring task, duplicate and replayed
//! `completed` events, and concurrent versioned updates.

mod support;

use std::sync::Arc;

use chrono::{Duration, Utc};
use uuid::Uuid;

use todo_core::error::{PortError, TaskError};
use todo_core::events::{consumers, topics};
use todo_core::events::{TaskEvent, TaskEventType};
use todo_core::memory::{InMemoryEventBus, InMemoryScheduler, InMemoryStateStore};
use todo_core::model::{EventId, NewTask, Status, TaskInput, Title, UserId};
use todo_core::ports::{Changes, SystemClock, TaskRepository, TaskWrite, UuidV7Generator};
use todo_core::usecases::{
    OnCommit, OutboxRelay, RecurringConsumer, RecurringOutcome, RecurringTaskHandler,
    RelayOnCommit, TaskService,
};
use todo_sqlite::SqliteTaskRepository;

/// Waits for every spawned task, in order.
async fn join_all<T>(
    handles: impl IntoIterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<Result<T, tokio::task::JoinError>> {
    let mut results = Vec::new();
    for handle in handles {
        results.push(handle.await);
    }
    results
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

/// The embedded wiring over SQLite: an in-process bus with the recurring consumer (over the
/// plain repository), and a task service whose commits relay their events before returning.
fn embedded_service(repo: Arc<SqliteTaskRepository>) -> TaskService {
    let bus = Arc::new(InMemoryEventBus::new());
    let recurring = RecurringTaskHandler::new(
        repo.clone(),
        Arc::new(InMemoryStateStore::new()),
        Arc::new(SystemClock),
        Arc::new(UuidV7Generator),
    );
    bus.subscribe(
        topics::TASK_EVENTS,
        consumers::RECURRING,
        Arc::new(RecurringConsumer(recurring)),
    );
    let relay = OutboxRelay::new(repo.clone(), bus, Arc::new(SystemClock));
    service(Arc::new(OnCommit::new(repo, RelayOnCommit::new(relay))))
}

/// The tasks of a series, by id: (id, status, predecessor).
async fn series_rows(repo: &SqliteTaskRepository, series: Uuid) -> Vec<(i64, String, Option<i64>)> {
    sqlx::query_as("SELECT id, status, predecessor_id FROM tasks WHERE series_id = ?1 ORDER BY id")
        .bind(series)
        .fetch_all(repo.database().reader_pool())
        .await
        .expect("reading the series")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_completions_create_exactly_one_next_occurrence() {
    let (_db, repo) = support::fresh_store().await;
    let tasks = embedded_service(repo.clone());
    let user = UserId(Uuid::new_v4());
    let task = tasks
        .create_task(user, daily_task_due_tomorrow())
        .await
        .unwrap();
    let series = task.series.expect("a recurring task has a series").id;

    let completions = (0..50).map(|_| {
        let tasks = tasks.clone();
        tokio::spawn(async move { tasks.complete_task(user, task.id).await })
    });
    let results: Vec<_> = join_all(completions)
        .await
        .into_iter()
        .map(|joined| joined.expect("a completion panicked"))
        .collect();

    let rows = series_rows(&repo, series.0).await;
    assert_eq!(rows.len(), 2, "the task and one next occurrence: {rows:?}");
    let next = &rows[1];
    assert_eq!((next.1.as_str(), next.2), ("pending", Some(task.id.0)));
    let mut answered_next = 0;
    for result in results {
        let completion = result.expect("every concurrent completion succeeds");
        assert_eq!(completion.task.status, Status::Completed);
        if let Some(answer) = completion.next {
            assert_eq!(
                answer.id.0, next.0,
                "every answer names the same next occurrence"
            );
            answered_next += 1;
        }
    }
    assert!(
        answered_next >= 1,
        "the winning completion answers its next occurrence"
    );
    let successor = repo
        .successor(user, task.id)
        .await
        .unwrap()
        .expect("a successor");
    assert_eq!(
        successor.due_date,
        task.due_date.map(|d| d + Duration::days(1))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_and_replayed_completed_events_create_one_next_occurrence() {
    let (_db, repo) = support::fresh_store().await;
    let user = UserId(Uuid::new_v4());
    let completion = {
        let tasks = service(repo.clone());
        let task = tasks
            .create_task(user, daily_task_due_tomorrow())
            .await
            .unwrap();
        tasks.complete_task(user, task.id).await.unwrap()
    };
    assert_eq!(
        completion.next, None,
        "with events, the recurring service creates it"
    );
    let handler = RecurringTaskHandler::new(
        repo.clone(),
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

    // 25 redeliveries of one event, and 25 replays under new event ids, all at once.
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
    let series = completion.task.series.unwrap().id;
    assert_eq!(series_rows(&repo, series.0).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_concurrent_updates_from_one_version_exactly_one_wins() {
    let (_db, repo) = support::fresh_store().await;
    let user = UserId(Uuid::new_v4());
    let task = service(repo.clone())
        .create_task(user, NewTask::titled("Draft").unwrap())
        .await
        .unwrap();
    let attempts = (0..20).map(|n| {
        let repo = repo.clone();
        let mut edit = task.clone();
        edit.title = Title::parse(&format!("Edit {n}")).unwrap();
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
    let stored = repo.get(user, task.id).await.unwrap().unwrap();
    assert_eq!(stored.version, 2);

    // Through the use case, a client's stale version is a conflict too.
    let stale = service(repo.clone())
        .update_task(
            user,
            task.id,
            todo_core::model::TaskPatch {
                title: Some(Title::parse("Stale").unwrap()),
                expected_version: Some(1),
                ..Default::default()
            },
        )
        .await;
    assert!(
        matches!(stale, Err(TaskError::Conflict { current_version: 2 })),
        "{stale:?}"
    );
}

/// Concurrent units commit in groups (one transaction, a savepoint each): a unit that fails is
/// undone alone with its own error, and every other unit of its group is committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failing_unit_in_a_group_fails_alone() {
    let (_db, repo) = support::fresh_store().await;
    let user = UserId(Uuid::new_v4());
    let now = Utc::now();
    // Ten tasks already stored: inserting one of their ids again is a duplicate.
    let mut existing = Vec::new();
    for n in 0..10 {
        let id = repo.next_task_id().await.unwrap();
        let task = todo_core::model::Task::create(
            id,
            user,
            NewTask::titled(&format!("existing {n}")).unwrap(),
            todo_core::model::SeriesId(Uuid::new_v4()),
            now,
        );
        repo.commit(Changes {
            writes: vec![TaskWrite::Insert(task.clone())],
            ..Changes::default()
        })
        .await
        .unwrap();
        existing.push(task);
    }
    let mut handles = Vec::new();
    for n in 0..100 {
        let repo = repo.clone();
        let duplicate = existing.get(n / 10).filter(|_| n % 10 == 0).cloned();
        handles.push(tokio::spawn(async move {
            let task = match duplicate {
                Some(task) => task,
                None => todo_core::model::Task::create(
                    repo.next_task_id().await.unwrap(),
                    user,
                    NewTask::titled(&format!("new {n}")).unwrap(),
                    todo_core::model::SeriesId(Uuid::new_v4()),
                    now,
                ),
            };
            let id = task.id;
            let outcome = repo
                .commit(Changes {
                    writes: vec![TaskWrite::Insert(task)],
                    ..Changes::default()
                })
                .await;
            (id, outcome)
        }));
    }
    let mut committed = 0;
    let mut duplicates = 0;
    for result in join_all(handles).await {
        let (id, outcome) = result.unwrap();
        match outcome {
            Ok(()) => {
                committed += 1;
                assert!(
                    repo.get(user, id).await.unwrap().is_some(),
                    "task {id} committed"
                );
            }
            Err(PortError::AlreadyExists { context, .. }) => {
                duplicates += 1;
                assert!(context.contains(&id.to_string()), "{context}");
            }
            Err(other) => panic!("unexpected {other}"),
        }
    }
    assert_eq!((committed, duplicates), (90, 10));
    let stored = repo
        .query(
            user,
            &todo_core::query::TaskQuery {
                limit: 500,
                ..Default::default()
            },
            Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(
        stored.items.len(),
        100,
        "10 existing + 90 new, no duplicate"
    );
}
