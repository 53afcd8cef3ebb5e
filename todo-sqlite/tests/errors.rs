//! Failures: bad rows are `Corrupt`, a full disk is `Unavailable` and stores nothing of the unit of
//! work that hit it, and none of it panics.

mod support;

use chrono::{SubsecRound, Utc};
use uuid::Uuid;

use todo_core::error::PortError;
use todo_core::events::Message;
use todo_core::model::{Description, EventId, NewTask, SeriesId, Task, UserId};
use todo_core::ports::{Changes, OutboxStore, TaskRepository, TaskWrite};
use todo_core::query::TaskQuery;
use todo_core::testkit::{store_task, TaskRepositorySuite, UserRepositorySuite};

fn task(id: todo_core::model::TaskId, user: UserId, title: &str) -> Task {
    Task::create(
        id,
        user,
        NewTask::titled(title).unwrap(),
        SeriesId(Uuid::new_v4()),
        Utc::now().trunc_subsecs(6),
    )
}

#[tokio::test]
async fn rows_the_domain_rejects_are_corrupt_not_a_panic() {
    let (_db, repo) = support::fresh_store().await;
    let corruptions = [
        "UPDATE tasks SET timezone = 'Mars/Olympus' WHERE id = ?1",
        "UPDATE tasks SET recurrence = 'FREQ=SOMETIMES' WHERE id = ?1",
        "UPDATE tasks SET title = '   ' WHERE id = ?1",
        "UPDATE tasks SET priority = 7 WHERE id = ?1",
        "UPDATE tasks SET remind_before = 99999999999 WHERE id = ?1",
        "UPDATE tasks SET due_date = 9223372036854775000 WHERE id = ?1",
        "UPDATE tasks SET created_at = -9223372036854775000 WHERE id = ?1",
        "UPDATE tasks SET series_id = x'0102', occurrence = 1 WHERE id = ?1",
        "INSERT INTO task_tags (task_id, user_id, tag) SELECT id, user_id, '  ' FROM tasks WHERE id = ?1",
    ];
    let db = repo.database().clone();
    TaskRepositorySuite::new(repo.clone())
        .damaged_rows_read_as_corrupt(&corruptions, async |corruption, id| {
            sqlx::query(corruption)
                .bind(id.0)
                .execute(&mut *db.writer().await.unwrap())
                .await
                .unwrap();
        })
        .await;
}

#[tokio::test]
async fn a_corrupt_outbox_payload_is_corrupt() {
    let (_db, repo) = support::fresh_store().await;
    let message = Message {
        id: EventId(Uuid::now_v7()),
        topic: "task-events".into(),
        key: "1".into(),
        event_type: "com.todo.task.created".into(),
        payload: serde_json::json!({ "ok": true }),
    };
    repo.commit(Changes {
        outbox: vec![message],
        ..Changes::default()
    })
    .await
    .unwrap();
    sqlx::query("UPDATE outbox SET payload = '{not json'")
        .execute(&mut *repo.database().writer().await.unwrap())
        .await
        .unwrap();
    let now = Utc::now();
    let claimed = repo.claim(now, now, 10).await;
    assert!(
        matches!(claimed, Err(PortError::Corrupt { .. })),
        "{claimed:?}"
    );
}

#[tokio::test]
async fn a_full_disk_is_unavailable_and_stores_nothing_of_the_unit() {
    let (_db, repo) = support::fresh_store().await;
    let user = UserId(Uuid::new_v4());
    let mut stored = Vec::new();
    for _ in 0..3 {
        stored.push(store_task(&*repo, user, "Buy milk").await);
    }

    // The database may not grow past a few more pages: the writer's inserts hit SQLITE_FULL.
    let mut writer = repo.database().writer().await.unwrap();
    let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
        .fetch_one(&mut *writer)
        .await
        .unwrap();
    sqlx::query(&format!("PRAGMA max_page_count = {}", pages + 4))
        .execute(&mut *writer)
        .await
        .unwrap();
    drop(writer);

    let long = "lorem ipsum dolor sit amet ".repeat(370);
    let mut writes = Vec::new();
    let mut big = Vec::new();
    for n in 0..40 {
        let mut task = task(
            repo.next_task_id().await.unwrap(),
            user,
            &format!("Long read {n}"),
        );
        task.description = Description::parse(&long).unwrap();
        big.push(task.id);
        writes.push(TaskWrite::Insert(task));
    }
    let event = Message {
        id: EventId(Uuid::now_v7()),
        topic: "task-events".into(),
        key: "big".into(),
        event_type: "com.todo.task.created".into(),
        payload: serde_json::json!({ "big": true }),
    };
    let result = repo
        .commit(Changes {
            writes,
            outbox: vec![event],
            ..Changes::default()
        })
        .await;
    assert!(
        matches!(
            result,
            Err(PortError::Unavailable {
                retry_after: Some(_),
                ..
            })
        ),
        "{result:?}"
    );
    assert!(result.as_ref().is_err_and(PortError::is_transient));

    // Earlier tasks read back; nothing of the failed unit was stored.
    for task in &stored {
        assert_eq!(repo.get(user, task.id).await.unwrap().as_ref(), Some(task));
    }
    for id in &big {
        assert_eq!(repo.get(user, *id).await.unwrap(), None, "task {id}");
    }
    assert_eq!(repo.backlog().await.unwrap().0, 0, "the unit's event");
    let page = repo
        .query(user, &TaskQuery::default(), Utc::now())
        .await
        .unwrap();
    assert_eq!(page.items, stored);
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(repo.database().reader_pool())
        .await
        .unwrap();
    assert_eq!(integrity, "ok");

    // Once there is room again, the writer works on.
    sqlx::query("PRAGMA max_page_count = 1073741823")
        .execute(&mut *repo.database().writer().await.unwrap())
        .await
        .unwrap();
    stored.push(store_task(&*repo, user, "Buy milk").await);
    let page = repo
        .query(user, &TaskQuery::default(), Utc::now())
        .await
        .unwrap();
    assert_eq!(page.items, stored);
}

#[tokio::test]
async fn an_owner_recorded_by_its_tasks_can_sign_up_later() {
    let (_db, repo) = support::fresh_store().await;
    UserRepositorySuite::new(repo.clone())
        .an_owner_recorded_by_its_tasks_can_sign_up_later(&*repo)
        .await;
}

#[tokio::test]
async fn a_closed_database_is_unavailable() {
    let (_db, repo) = support::fresh_store().await;
    let user = UserId(Uuid::new_v4());
    repo.database().close().await;
    let read = repo.get(user, todo_core::model::TaskId(1)).await;
    assert!(matches!(&read, Err(e) if e.is_transient()), "{read:?}");
    let commit = repo
        .commit(Changes {
            processed: Some(todo_core::ports::ProcessedEvent {
                consumer: "c".into(),
                event_id: EventId(Uuid::now_v7()),
            }),
            ..Changes::default()
        })
        .await;
    assert!(matches!(&commit, Err(e) if e.is_transient()), "{commit:?}");
}
