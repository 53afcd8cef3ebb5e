//! Migrations: up from an empty database, a re-run is a no-op, concurrent runs all succeed.

use futures::future::join_all;
use sqlx::PgPool;
use todo_postgres::{connect, migrate, PoolSettings, MIGRATION_LOCK_KEY, MIGRATOR};
use todo_testkit::TestDatabase;

const TABLES: &[&str] = &[
    "users",
    "tasks",
    "task_recurrence",
    "outbox",
    "processed_events",
    "audit_log",
];

async fn empty_database() -> (TestDatabase, PgPool) {
    let db = TestDatabase::create()
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL from the testkit: {e}"));
    let pool = connect(db.url(), &PoolSettings::default())
        .await
        .expect("connect");
    (db, pool)
}

/// A fingerprint of the schema: every column and index of the public schema.
async fn schema_fingerprint(pool: &PgPool) -> String {
    sqlx::query_scalar(
        "SELECT md5(coalesce(string_agg(item, ',' ORDER BY item), '')) FROM (
             SELECT table_name || '.' || column_name || ':' || data_type AS item
             FROM information_schema.columns WHERE table_schema = 'public'
             UNION ALL
             SELECT indexdef FROM pg_indexes WHERE schemaname = 'public') AS schema",
    )
    .fetch_one(pool)
    .await
    .expect("fingerprinting the schema")
}

async fn applied_migrations(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(pool)
        .await
        .expect("reading _sqlx_migrations")
}

#[tokio::test]
async fn migrations_build_the_schema_from_empty_and_a_rerun_changes_nothing() {
    let (_db, pool) = empty_database().await;
    let present: Option<String> = sqlx::query_scalar("SELECT to_regclass('tasks')::text")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(present, None, "the database starts empty");

    migrate(&pool).await.expect("first migration");
    for table in TABLES {
        let found: Option<String> = sqlx::query_scalar("SELECT to_regclass($1)::text")
            .bind(*table)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(found.as_deref(), Some(*table), "table {table} exists");
    }
    let expected = i64::try_from(MIGRATOR.iter().count()).unwrap();
    assert_eq!(applied_migrations(&pool).await, expected);
    let before = schema_fingerprint(&pool).await;

    migrate(&pool).await.expect("second migration");
    assert_eq!(
        applied_migrations(&pool).await,
        expected,
        "nothing re-applied"
    );
    assert_eq!(schema_fingerprint(&pool).await, before, "schema unchanged");

    let locks: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(locks, 0, "no advisory lock outlives a migration");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_migrations_all_succeed() {
    for round in 0..3 {
        let (db, pool) = empty_database().await;
        let mut pools = vec![pool];
        for _ in 0..3 {
            pools.push(
                connect(db.url(), &PoolSettings::default())
                    .await
                    .expect("connect"),
            );
        }
        let runs = pools.iter().cloned().map(|pool| {
            tokio::spawn(async move { migrate(&pool).await.map_err(|e| e.to_string()) })
        });
        for result in join_all(runs).await {
            result
                .expect("a migration task panicked")
                .unwrap_or_else(|e| panic!("round {round}: a concurrent migration failed: {e}"));
        }
        let expected = i64::try_from(MIGRATOR.iter().count()).unwrap();
        assert_eq!(applied_migrations(&pools[0]).await, expected);
    }
}

#[tokio::test]
async fn a_migration_waits_for_the_lock_holder() {
    let (_db, pool) = empty_database().await;
    let mut holder = pool.acquire().await.unwrap();
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(MIGRATION_LOCK_KEY)
        .execute(&mut *holder)
        .await
        .unwrap();
    let waiting = tokio::spawn({
        let pool = pool.clone();
        async move { migrate(&pool).await.map_err(|e| e.to_string()) }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "migrate must wait while another process holds the lock"
    );
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(MIGRATION_LOCK_KEY)
        .execute(&mut *holder)
        .await
        .unwrap();
    waiting
        .await
        .unwrap()
        .expect("migrate after the lock is released");
}

#[tokio::test]
async fn a_database_with_tasks_is_upgraded_in_place() {
    use std::borrow::Cow;
    use todo_core::model::{TaskId, UserId};
    use todo_core::ports::TaskRepository;
    use todo_core::query::TaskQuery;

    let (_db, pool) = empty_database().await;
    // The schema as of the second migration, with a task written by that version.
    let old = sqlx::migrate::Migrator {
        migrations: Cow::Owned(MIGRATOR.iter().take(2).cloned().collect()),
        ignore_missing: false,
        locking: true,
        no_tx: false,
    };
    old.run(&pool).await.expect("the first two migrations");
    let user = uuid::Uuid::new_v4();
    for statement in [
        "INSERT INTO users (id) VALUES ($1)",
        "INSERT INTO tasks (id, user_id, title, created_at, updated_at, title_key, search_text)
         VALUES (1, $1, 'Buy milk', now(), now(), 'buy milk', E'buy milk\\n')",
        "INSERT INTO task_tags (task_id, tag) VALUES (1, 'home'), (1, 'errand')",
    ] {
        let query = sqlx::query(statement);
        let query = if statement.contains("$1") {
            query.bind(user)
        } else {
            query
        };
        query
            .execute(&pool)
            .await
            .expect("writing as the old schema");
    }

    migrate(&pool).await.expect("upgrading");
    let repo = todo_postgres::PostgresTaskRepository::new(pool.clone());
    let task = repo
        .get(UserId(user), TaskId(1))
        .await
        .unwrap()
        .expect("the task survives the upgrade");
    assert_eq!(task.tags.len(), 2);
    let tagged = TaskQuery {
        tags_any: [todo_core::model::Tag::parse("home").unwrap()].into(),
        ..TaskQuery::default()
    };
    let page = repo
        .query(UserId(user), &tagged, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1, "tag filters see the backfilled owner");
}
