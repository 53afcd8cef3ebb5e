//! The `todo-core` repository conformance suite, unchanged, on PostgreSQL.

mod support;

use todo_core::testkit::TaskRepositorySuite;

#[tokio::test]
async fn the_postgres_repository_conforms() {
    let (_db, store) = support::fresh_store().await;
    TaskRepositorySuite::new(store).run_all().await;
}

#[tokio::test]
async fn the_postgres_repository_conforms_on_a_reused_database() {
    // The suite makes fresh users, so a second run on the same database must pass too.
    let (_db, store) = support::fresh_store().await;
    let suite = TaskRepositorySuite::new(store);
    suite.run_all().await;
    suite.run_all().await;
}

#[tokio::test]
async fn the_postgres_user_repository_conforms() {
    let (_db, store) = support::fresh_store().await;
    todo_core::testkit::UserRepositorySuite::new(store)
        .run_all()
        .await;
}

#[tokio::test]
async fn the_postgres_state_store_conforms() {
    let (_db, store) = support::fresh_store().await;
    let suite = todo_core::testkit::StateStoreSuite::new(store);
    suite.run_all().await;
    // Fresh keys each run: a second run on the same table passes too.
    suite.run_all().await;
}

#[tokio::test]
async fn the_postgres_calendar_feeds_conform() {
    let (_db, store) = support::fresh_store().await;
    todo_core::testkit::CalendarFeedsSuite::new(store)
        .run_all()
        .await;
}

#[tokio::test]
async fn the_postgres_push_subscription_store_conforms() {
    let (_db, store) = support::fresh_store().await;
    let suite = todo_core::testkit::PushSubscriptionStoreSuite::new(store);
    suite.run_all().await;
    // Fresh users and endpoints per case: a second run on the same table passes too.
    suite.run_all().await;
}

#[tokio::test]
async fn postgres_locks_conform_across_two_replicas() {
    let (db, _store) = support::fresh_store().await;
    let (one, other) = (
        support::fresh_pool(&db, todo_postgres::PoolSettings::default()).await,
        support::fresh_pool(&db, todo_postgres::PoolSettings::default()).await,
    );
    todo_core::testkit::LocksSuite::new(
        std::sync::Arc::new(todo_postgres::PostgresLocks::new(one)),
        std::sync::Arc::new(todo_postgres::PostgresLocks::new(other)),
    )
    .run_all()
    .await;
}

#[tokio::test]
async fn a_lock_dropped_unreleased_never_goes_back_to_the_pool_held() {
    // One connection in the pool: if the dropped lock's connection went back still holding the lock,
    // the next try would get that very session, which may take its own lock again, and another
    // replica would never get it.
    let (db, _store) = support::fresh_store().await;
    let single = todo_postgres::PoolSettings {
        max_connections: 1,
        ..todo_postgres::PoolSettings::default()
    };
    let locks = todo_postgres::PostgresLocks::new(support::fresh_pool(&db, single).await);
    let other = todo_postgres::PostgresLocks::new(
        support::fresh_pool(&db, todo_postgres::PoolSettings::default()).await,
    );
    use todo_core::ports::Locks;
    let held = locks
        .try_lock("dropped")
        .await
        .expect("try_lock")
        .expect("a free lock");
    drop(held);
    let again = locks.try_lock("dropped").await.expect("try_lock");
    assert!(
        again.is_some(),
        "the pool's one connection was closed, so a new session takes it"
    );
    assert!(
        other.try_lock("dropped").await.expect("try_lock").is_none(),
        "held by the new session, refused to another replica"
    );
    again.expect("checked").release().await.expect("release");
    let taken = other.try_lock("dropped").await.expect("try_lock");
    assert!(taken.is_some(), "released, so another replica takes it");
}

#[tokio::test]
async fn a_reconciliation_page_is_read_from_the_reminder_window_index() {
    let (db, _store) = support::fresh_store().await;
    let pool = support::fresh_pool(&db, todo_postgres::PoolSettings::default()).await;
    let mut conn = pool.acquire().await.expect("a connection");
    sqlx::query("SET enable_seqscan = off")
        .execute(&mut *conn)
        .await
        .expect("SET");
    let explain = format!(
        "EXPLAIN (FORMAT JSON) {}",
        todo_postgres::PostgresTaskRepository::PENDING_REMINDERS
    );
    let now = chrono::Utc::now();
    let plan: serde_json::Value = sqlx::query_scalar(&explain)
        .bind(now)
        .bind(now + chrono::Duration::minutes(11))
        .bind(now - chrono::Duration::days(365))
        .bind(0_i64)
        .bind(500_i64)
        .fetch_one(&mut *conn)
        .await
        .expect("EXPLAIN");
    let plan = plan.to_string();
    assert!(
        plan.contains("tasks_reminder_window") && !plan.contains("\"Sort\""),
        "a page must be one ordered scan of tasks_reminder_window: {plan}"
    );
}
