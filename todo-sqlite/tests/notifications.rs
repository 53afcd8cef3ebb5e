//! The `todo-core` notification-store conformance suite on SQLite, and racing duplicate
//! deliveries of one firing through two repositories over the same file.

mod support;

use std::sync::Arc;

use todo_core::testkit::NotificationStoreSuite;

#[tokio::test]
async fn the_sqlite_notification_store_conforms_on_a_reused_database() {
    let (_db, store) = support::fresh_store().await;
    let suite = NotificationStoreSuite::new(store);
    suite.run_all().await;
    suite.run_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_records_of_one_firing_store_it_once() {
    let (_db, store) = support::fresh_store().await;
    // Half the deliveries reach another repository over the same file.
    let replica = Arc::new(todo_sqlite::SqliteTaskRepository::new(
        store.database().clone(),
    ));
    NotificationStoreSuite::new(store)
        .concurrent_records_of_one_firing_store_it_once(replica)
        .await;
}
