//! Races on SQLite (one writer connection, so the unique indexes and version checks decide), through
//! the race suite of `todo_core::testkit`: concurrent completions of one recurring task, duplicate
//! and replayed `completed` events, concurrent versioned updates; and, specific to SQLite's group
//! commit, a failing unit among concurrent ones.

mod support;

use chrono::Utc;
use uuid::Uuid;

use todo_core::error::PortError;
use todo_core::model::{NewTask, UserId};
use todo_core::ports::{Changes, TaskRepository, TaskWrite};
use todo_core::testkit::RaceSuite;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_store_decides_every_race() {
    let (_db, repo) = support::fresh_store().await;
    RaceSuite::new(repo).run_all().await;
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
