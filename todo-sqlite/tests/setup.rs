//! Opening, locking and backing up the database file: every failure names the file.

mod support;

use std::sync::Arc;

use chrono::Utc;
use uuid::Uuid;

use todo_core::model::{NewTask, SeriesId, Task, UserId};
use todo_core::ports::{Changes, TaskRepository, TaskWrite};
use todo_core::query::TaskQuery;
use todo_sqlite::{backup, open, OpenOptions, SetupError, SqliteTaskRepository};

#[tokio::test]
async fn a_second_open_of_the_same_file_is_locked() {
    let (db, _repo) = support::fresh_store().await;
    let second = open(&db.path, &OpenOptions::default()).await;
    match second {
        Err(error @ SetupError::Locked { .. }) => {
            assert!(
                error.to_string().contains(&db.path.display().to_string()),
                "{error}"
            );
        }
        other => panic!("expected Locked, got {other:?}"),
    }
}

#[tokio::test]
async fn the_lock_is_released_when_the_database_is_dropped() {
    let (db, repo) = support::fresh_store().await;
    repo.database().close().await;
    drop(repo);
    let again = open(&db.path, &OpenOptions::default()).await;
    assert!(again.is_ok(), "{again:?}");
}

#[tokio::test]
async fn a_file_of_garbage_is_not_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.db");
    let garbage: Vec<u8> = (0..8192u32).map(|n| (n * 7 + 13) as u8).collect();
    std::fs::write(&path, garbage).unwrap();
    match open(&path, &OpenOptions::default()).await {
        Err(error @ SetupError::NotADatabase { .. }) => {
            assert!(error.to_string().contains("garbage.db"), "{error}");
        }
        other => panic!("expected NotADatabase, got {other:?}"),
    }
}

#[tokio::test]
async fn a_path_in_a_missing_directory_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-dir").join("todo.db");
    let error = open(&path, &OpenOptions::default())
        .await
        .expect_err("the directory does not exist");
    let message = error.to_string();
    assert!(
        message.contains("no-such-dir") && message.contains("todo.db"),
        "{message}"
    );
}

#[tokio::test]
async fn a_backup_opens_and_holds_the_same_tasks() {
    let (db, repo) = support::fresh_store().await;
    let user = UserId(Uuid::new_v4());
    let mut writes = Vec::new();
    for title in ["Pay rent", "Call mom", "Water plants"] {
        let id = repo.next_task_id().await.unwrap();
        writes.push(TaskWrite::Insert(Task::create(
            id,
            user,
            NewTask::titled(title).unwrap(),
            SeriesId(Uuid::new_v4()),
            chrono::SubsecRound::trunc_subsecs(Utc::now(), 6),
        )));
    }
    repo.commit(Changes {
        writes,
        ..Changes::default()
    })
    .await
    .unwrap();
    let now = Utc::now();
    let original = repo.query(user, &TaskQuery::default(), now).await.unwrap();
    assert_eq!(original.items.len(), 3);

    // Taken while the database is open and in use.
    let target = db.dir.path().join("copy.db");
    let written = backup(&db.path, &target).await.unwrap();
    assert_eq!(written.path, target);
    assert!(written.bytes > 0);

    let copy = Arc::new(SqliteTaskRepository::new(
        support::open_migrated(&target).await,
    ));
    assert_eq!(
        copy.query(user, &TaskQuery::default(), now).await.unwrap(),
        original
    );
    let search = TaskQuery {
        words: vec!["rent".into()],
        ..TaskQuery::default()
    };
    assert_eq!(
        copy.query(user, &search, now).await.unwrap().items.len(),
        1,
        "the copy's search index works"
    );

    // A backup never overwrites.
    assert!(matches!(
        backup(&db.path, &target).await,
        Err(SetupError::TargetExists { .. })
    ));
}
