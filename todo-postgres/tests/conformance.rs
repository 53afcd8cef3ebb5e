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
