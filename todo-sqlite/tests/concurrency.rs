//! Races on SQLite (one writer connection, so the unique indexes and version checks decide), through
//! the race suite of `todo_core::testkit`: concurrent completions of one recurring task, duplicate
//! and replayed `completed` events, concurrent versioned updates; and, specific to SQLite's group
//! commit, a failing unit among concurrent ones and callers that go away mid-group.

mod support;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use todo_core::error::PortError;
use todo_core::model::{NewTask, SeriesId, Task, TaskId, UserId};
use todo_core::ports::{Changes, PortResult, TaskRepository, TaskWrite};
use todo_core::testkit::RaceSuite;
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

/// A new task of `user` titled `title`, with an id from `repo`.
async fn new_task(
    repo: &SqliteTaskRepository,
    user: UserId,
    title: &str,
    now: DateTime<Utc>,
) -> Task {
    Task::create(
        repo.next_task_id().await.unwrap(),
        user,
        NewTask::titled(title).unwrap(),
        SeriesId(Uuid::new_v4()),
        now,
    )
}

/// Inserts `task` as a unit of work of its own; its id and the outcome.
async fn insert(repo: &SqliteTaskRepository, task: Task) -> (TaskId, PortResult<()>) {
    let id = task.id;
    let outcome = repo
        .commit(Changes {
            writes: vec![TaskWrite::Insert(task)],
            ..Changes::default()
        })
        .await;
    (id, outcome)
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
        let task = new_task(&repo, user, &format!("existing {n}"), now).await;
        insert(&repo, task.clone()).await.1.unwrap();
        existing.push(task);
    }
    let mut handles = Vec::new();
    for n in 0..100 {
        let repo = repo.clone();
        let duplicate = existing.get(n / 10).filter(|_| n % 10 == 0).cloned();
        handles.push(tokio::spawn(async move {
            let task = match duplicate {
                Some(task) => task,
                None => new_task(&repo, user, &format!("new {n}"), now).await,
            };
            insert(&repo, task).await
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

/// A group that mixes creates and audit appends (taken as one batch) with versioned updates (each
/// in its own savepoint), some of each failing: every unit hears its own outcome, and exactly the
/// units that succeeded are stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_mixed_group_tells_each_unit_its_own_outcome() {
    use todo_core::events::TaskEventType;
    use todo_core::model::{EventId, Task, Title};
    use todo_core::ports::{AuditEntry, AuditLog, TaskSnapshot};

    let (_db, repo) = support::fresh_store().await;
    let user = UserId(Uuid::new_v4());
    // Stored at microsecond precision.
    let now = chrono::SubsecRound::trunc_subsecs(Utc::now(), 6);
    let new_task = |id, title: &str| {
        Task::create(
            id,
            user,
            NewTask::titled(title).unwrap(),
            todo_core::model::SeriesId(Uuid::new_v4()),
            now,
        )
    };
    let entry = |task: &Task| AuditEntry {
        event_id: EventId(Uuid::now_v7()),
        task_id: task.id,
        user_id: user,
        action: TaskEventType::Created,
        at: now,
        snapshot: TaskSnapshot::of(task),
    };
    let mut existing = Vec::new();
    let mut recorded = Vec::new();
    for n in 0..10 {
        let task = new_task(repo.next_task_id().await.unwrap(), &format!("existing {n}"));
        repo.commit(Changes {
            writes: vec![TaskWrite::Insert(task.clone())],
            ..Changes::default()
        })
        .await
        .unwrap();
        let audit = entry(&task);
        assert!(repo.append(audit.clone()).await.unwrap());
        recorded.push(audit);
        existing.push(task);
    }

    enum Expect {
        Created(Task),
        Updated(Task),
        Stale,
        Appended(bool),
    }
    let mut handles = Vec::new();
    for n in 0..40 {
        let repo = repo.clone();
        let (work, expect) = match n % 4 {
            // Creates, with a tag each.
            0 => {
                let mut task = new_task(repo.next_task_id().await.unwrap(), &format!("new {n}"));
                task.tags = todo_core::model::Tags::parse(&[format!("t{n}")]).unwrap();
                let changes = Changes {
                    writes: vec![TaskWrite::Insert(task.clone())],
                    ..Changes::default()
                };
                (Ok(changes), Expect::Created(task))
            }
            // Updates at the stored version (even tasks) or a stale one (odd tasks).
            1 => {
                let mut task = existing[n / 4].clone();
                let expected_version = task.version + i64::from(n / 4 % 2 == 1);
                task.title = Title::parse(&format!("renamed {n}")).unwrap();
                task.version += 1;
                let changes = Changes {
                    writes: vec![TaskWrite::Update {
                        task: task.clone(),
                        expected_version,
                    }],
                    ..Changes::default()
                };
                let expect = if n / 4 % 2 == 0 {
                    Expect::Updated(task)
                } else {
                    Expect::Stale
                };
                (Ok(changes), expect)
            }
            // Appends of an event already recorded.
            2 => (Err(recorded[n / 4].clone()), Expect::Appended(false)),
            // Appends of a new event.
            _ => (Err(entry(&existing[n / 4])), Expect::Appended(true)),
        };
        handles.push(tokio::spawn(async move {
            let outcome = match work {
                Ok(changes) => repo.commit(changes).await.map(|()| None),
                Err(entry) => repo.append(entry).await.map(Some),
            };
            (outcome, expect)
        }));
    }
    for result in join_all(handles).await {
        match result.unwrap() {
            (Ok(None), Expect::Created(task)) => {
                let stored = repo.get(user, task.id).await.unwrap();
                assert_eq!(stored, Some(task));
            }
            (Ok(None), Expect::Updated(task)) => {
                let stored = repo.get(user, task.id).await.unwrap();
                assert_eq!(stored, Some(task));
            }
            (Err(PortError::Conflict { .. }), Expect::Stale) => {}
            (Ok(Some(new)), Expect::Appended(expected)) => assert_eq!(new, expected),
            (outcome, _) => panic!("unexpected outcome {outcome:?}"),
        }
    }
    // Every stored task got one new event appended beside its first.
    for task in &existing {
        let history = AuditLog::history(&*repo, user, task.id).await.unwrap();
        assert_eq!(history.len(), 2, "task {}", task.id);
    }
}

/// Callers that go away (an HTTP client hanging up) do not take the units queued beside theirs
/// with them: groups are committed by the flusher, not by whichever caller got the writer, so no
/// group's transaction is dropped half-way with a caller.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn callers_that_go_away_do_not_fail_the_units_beside_theirs() {
    let (_db, repo) = support::fresh_store().await;
    let user = UserId(Uuid::new_v4());
    let now = Utc::now();
    for round in 0..20 {
        let mut handles = Vec::new();
        for n in 0..16 {
            let repo = repo.clone();
            handles.push(tokio::spawn(async move {
                let task = new_task(&repo, user, &format!("round {round} task {n}"), now).await;
                insert(&repo, task).await
            }));
        }
        // Half the callers go away while their units are queued or being committed.
        tokio::time::sleep(std::time::Duration::from_micros(300)).await;
        for handle in handles.iter().step_by(2) {
            handle.abort();
        }
        for (n, result) in join_all(handles).await.into_iter().enumerate() {
            if n % 2 == 0 {
                continue;
            }
            let (id, outcome) = result.expect("not aborted");
            assert!(outcome.is_ok(), "round {round}, task {id}: {outcome:?}");
            assert!(repo.get(user, id).await.unwrap().is_some(), "task {id}");
        }
    }
}
