//! Failures: bad rows are `Corrupt`, an unreachable or stuck database is `Unavailable`, and none of it
//! panics.

mod support;

use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

use todo_core::error::PortError;
use todo_core::model::{Title, UserId};
use todo_core::ports::{Changes, TaskRepository, TaskWrite};
use todo_core::testkit::{store_task, TaskRepositorySuite, UserRepositorySuite};
use todo_postgres::{connect_options, PoolSettings, PostgresTaskRepository};
use todo_testkit::TestDatabase;

#[tokio::test]
async fn rows_the_domain_rejects_are_corrupt_not_a_panic() {
    let (_db, repo) = support::fresh_store().await;
    let corruptions = [
        "UPDATE tasks SET timezone = 'Mars/Olympus' WHERE id = $1",
        "UPDATE tasks SET recurrence = 'FREQ=SOMETIMES' WHERE id = $1",
        "UPDATE tasks SET title = '   ' WHERE id = $1",
        "UPDATE tasks SET priority = 'urgent' WHERE id = $1",
    ];
    // A label added to the enum by someone else is unknown to the domain.
    sqlx::query("ALTER TYPE task_priority ADD VALUE 'urgent'")
        .execute(repo.pool())
        .await
        .unwrap();
    TaskRepositorySuite::new(repo.clone())
        .damaged_rows_read_as_corrupt(&corruptions, async |corruption, id| {
            sqlx::query(corruption)
                .bind(id.0)
                .execute(repo.pool())
                .await
                .unwrap();
        })
        .await;
}

#[tokio::test]
async fn an_unreachable_database_is_unavailable() {
    let settings = PoolSettings::default();
    // Nothing listens on port 1.
    let options = connect_options("postgres://postgres@127.0.0.1:1/todo", &settings).unwrap();
    let pool = PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(500))
        .connect_lazy_with(options);
    let repo = PostgresTaskRepository::new(pool);
    let user = UserId(Uuid::new_v4());
    let result = repo.get(user, todo_core::model::TaskId(1)).await;
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
    let commit = repo
        .commit(Changes {
            processed: Some(todo_core::ports::ProcessedEvent {
                consumer: "c".into(),
                event_id: todo_core::model::EventId(Uuid::now_v7()),
            }),
            ..Changes::default()
        })
        .await;
    assert!(matches!(commit, Err(e) if e.is_transient()));
}

#[tokio::test]
async fn a_write_stuck_past_the_statement_timeout_is_unavailable_and_changes_nothing() {
    let (db, repo) = support::fresh_store().await;
    let user = UserId(Uuid::new_v4());
    let task = store_task(&*repo, user, "Buy milk").await;

    let impatient = PostgresTaskRepository::new(pool_timing_out_after_300_ms(&db).await);

    // Another transaction holds the task's row lock.
    let mut blocker = repo.pool().begin().await.unwrap();
    sqlx::query("SELECT 1 FROM tasks WHERE id = $1 FOR UPDATE")
        .bind(task.id.0)
        .execute(&mut *blocker)
        .await
        .unwrap();

    let mut edit = task.clone();
    edit.title = Title::parse("Edited").unwrap();
    edit.version = 2;
    let result = impatient
        .commit(Changes {
            writes: vec![TaskWrite::Update {
                task: edit,
                expected_version: 1,
            }],
            ..Changes::default()
        })
        .await;
    assert!(
        matches!(result, Err(PortError::Unavailable { .. })),
        "{result:?}"
    );
    blocker.rollback().await.unwrap();
    assert_eq!(repo.get(user, task.id).await.unwrap(), Some(task));
}

/// A transaction left idle between statements (a frozen or partitioned caller) does not keep its
/// locks for ever: the server ends its session once it has been idle as long as a statement may run.
/// Here the lock is the outbox claims' turn, which every relay waits for.
#[tokio::test]
async fn a_transaction_left_idle_is_ended_and_its_locks_released() {
    let (db, _repo) = support::fresh_store().await;
    let frozen = pool_timing_out_after_300_ms(&db).await;
    let mut held = frozen.begin().await.unwrap();
    sqlx::query(PostgresTaskRepository::OUTBOX_CLAIM_TURN)
        .execute(&mut *held)
        .await
        .unwrap();
    // Another relay (statements may run 10 s) gets the turn once the idle session is ended.
    let other = support::fresh_pool(&db, PoolSettings::default()).await;
    let mut next = other.begin().await.unwrap();
    sqlx::query(PostgresTaskRepository::OUTBOX_CLAIM_TURN)
        .execute(&mut *next)
        .await
        .expect("the turn is free again before the statement timeout");
    next.commit().await.unwrap();
    let after = sqlx::query("SELECT 1").execute(&mut *held).await;
    assert!(after.is_err(), "the idle transaction was ended: {after:?}");
}

#[tokio::test]
async fn an_owner_recorded_by_its_tasks_can_sign_up_later() {
    let (_db, repo) = support::fresh_store().await;
    UserRepositorySuite::new(repo.clone())
        .an_owner_recorded_by_its_tasks_can_sign_up_later(&*repo)
        .await;
}

/// A pool whose statements, and transactions left idle, end after 300 ms.
async fn pool_timing_out_after_300_ms(db: &TestDatabase) -> sqlx::PgPool {
    support::fresh_pool(
        db,
        PoolSettings {
            statement_timeout: Some(Duration::from_millis(300)),
            ..PoolSettings::default()
        },
    )
    .await
}
