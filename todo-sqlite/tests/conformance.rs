//! The `todo-core` conformance suites, unchanged, on SQLite.

mod support;

use todo_core::testkit::{
    CalendarFeedsSuite, NotificationStoreSuite, StateStoreSuite, TaskRepositorySuite,
    UserRepositorySuite,
};

#[tokio::test]
async fn the_sqlite_repository_conforms() {
    let (_db, store) = support::fresh_store().await;
    TaskRepositorySuite::new(store).run_all().await;
}

#[tokio::test]
async fn the_sqlite_repository_conforms_on_a_reused_database() {
    // The suite makes fresh users, so a second run on the same database must pass too.
    let (_db, store) = support::fresh_store().await;
    let suite = TaskRepositorySuite::new(store);
    suite.run_all().await;
    suite.run_all().await;
}

#[tokio::test]
async fn the_sqlite_user_repository_conforms() {
    let (_db, store) = support::fresh_store().await;
    UserRepositorySuite::new(store).run_all().await;
}

#[tokio::test]
async fn the_sqlite_state_store_conforms() {
    let (_db, store) = support::fresh_store().await;
    let suite = StateStoreSuite::new(store);
    suite.run_all().await;
    // Fresh keys each run: a second run on the same table passes too.
    suite.run_all().await;
}

#[tokio::test]
async fn the_sqlite_notification_store_conforms() {
    let (_db, store) = support::fresh_store().await;
    NotificationStoreSuite::new(store).run_all().await;
}

#[tokio::test]
async fn the_sqlite_repository_conforms_after_a_restart() {
    // The same file reopened by a new process (a new repository, a new id counter reservation).
    let (db, store) = support::fresh_store().await;
    TaskRepositorySuite::new(store.clone()).run_all().await;
    store.database().close().await;
    drop(store);
    let reopened = support::open_migrated(&db.path).await;
    let store = std::sync::Arc::new(todo_sqlite::SqliteTaskRepository::new(reopened));
    TaskRepositorySuite::new(store).run_all().await;
}

#[tokio::test]
async fn the_sqlite_calendar_feeds_conform() {
    let (_db, store) = support::fresh_store().await;
    CalendarFeedsSuite::new(store).run_all().await;
}

#[tokio::test]
async fn the_sqlite_push_subscription_store_conforms() {
    let (_db, store) = support::fresh_store().await;
    let suite = todo_core::testkit::PushSubscriptionStoreSuite::new(store);
    suite.run_all().await;
    // Fresh users and endpoints per case: a second run on the same table passes too.
    suite.run_all().await;
}
