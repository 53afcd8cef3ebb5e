//! Proof that the testkit hands out real, isolated PostgreSQL databases.

use todo_testkit::sqlx::{self, Row};
use todo_testkit::TestDatabase;

#[tokio::test]
async fn a_fresh_database_accepts_tables_and_queries() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let pool = db.pool().await?;

    let current: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&pool)
        .await?;
    assert_eq!(current, db.name());

    let version: i32 = sqlx::query_scalar("SELECT current_setting('server_version_num')::int")
        .fetch_one(&pool)
        .await?;
    assert!(
        version >= 150_000,
        "expected PostgreSQL 15 or newer, got {version}"
    );

    sqlx::query("CREATE TABLE tasks (id BIGSERIAL PRIMARY KEY, title TEXT NOT NULL)")
        .execute(&pool)
        .await?;
    for title in ["buy milk", "call mum", "file taxes"] {
        sqlx::query("INSERT INTO tasks (title) VALUES ($1)")
            .bind(title)
            .execute(&pool)
            .await?;
    }
    let rows = sqlx::query("SELECT id, title FROM tasks WHERE title LIKE $1 ORDER BY id")
        .bind("%a%")
        .fetch_all(&pool)
        .await?;
    let titles: Vec<String> = rows.iter().map(|r| r.get("title")).collect();
    assert_eq!(titles, ["call mum", "file taxes"]);
    Ok(())
}

#[tokio::test]
async fn databases_are_isolated_and_dropped_after_use() -> anyhow::Result<()> {
    let a = TestDatabase::create().await?;
    let b = TestDatabase::create().await?;
    assert_ne!(a.name(), b.name());

    let pool_a = a.pool().await?;
    sqlx::query("CREATE TABLE only_in_a (x INT)")
        .execute(&pool_a)
        .await?;
    let pool_b = b.pool().await?;
    let seen_in_b: Option<String> = sqlx::query_scalar("SELECT to_regclass('only_in_a')::text")
        .fetch_one(&pool_b)
        .await?;
    assert_eq!(
        seen_in_b, None,
        "a table of database a is visible in database b"
    );

    let name = a.name().to_owned();
    drop(pool_a);
    drop(a);
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&pool_b)
            .await?;
    assert!(
        !exists,
        "database {name} still exists after its TestDatabase was dropped"
    );
    Ok(())
}
