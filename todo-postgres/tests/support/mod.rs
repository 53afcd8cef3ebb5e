//! Shared set-up of the integration tests: a fresh, migrated database on the testkit's PostgreSQL.
#![allow(dead_code)] // each test binary uses a different part

use std::sync::Arc;

use todo_postgres::{connect, migrate, PoolSettings, PostgresTaskRepository};
use todo_testkit::TestDatabase;

/// A fresh database (dropped with the returned guard) and a repository over it.
pub async fn fresh_store() -> (TestDatabase, Arc<PostgresTaskRepository>) {
    fresh_store_with(PoolSettings::default()).await
}

/// [`fresh_store`] with chosen pool settings.
pub async fn fresh_store_with(
    settings: PoolSettings,
) -> (TestDatabase, Arc<PostgresTaskRepository>) {
    let db = TestDatabase::create()
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL from the testkit: {e}"));
    let pool = connect(db.url(), &settings)
        .await
        .expect("connecting to the test database");
    migrate(&pool).await.expect("migrating the test database");
    (db, Arc::new(PostgresTaskRepository::new(pool)))
}

/// Another repository (its own pool) over the same database, as a second replica would have.
pub async fn another_replica(db: &TestDatabase) -> Arc<PostgresTaskRepository> {
    let pool = connect(db.url(), &PoolSettings::default())
        .await
        .expect("connecting to the test database");
    Arc::new(PostgresTaskRepository::new(pool))
}

/// A pool with chosen settings on an existing test database.
pub async fn fresh_pool(db: &TestDatabase, settings: PoolSettings) -> sqlx::PgPool {
    connect(db.url(), &settings)
        .await
        .expect("connecting to the test database")
}
