//! The `todo-core` notification-store conformance suite on PostgreSQL, and racing duplicate
//! deliveries of one firing on two replicas.

mod support;

use todo_core::testkit::NotificationStoreSuite;

#[tokio::test]
async fn the_postgres_notification_store_conforms() {
    let (_db, store) = support::fresh_store().await;
    NotificationStoreSuite::new(store).run_all().await;
}

#[tokio::test]
async fn the_postgres_notification_store_conforms_on_a_reused_database() {
    let (_db, store) = support::fresh_store().await;
    let suite = NotificationStoreSuite::new(store);
    suite.run_all().await;
    suite.run_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_records_of_one_firing_store_it_once() {
    let (db, store) = support::fresh_store().await;
    // Half the deliveries reach another replica with its own pool.
    let replica = support::another_replica(&db).await;
    NotificationStoreSuite::new(store)
        .concurrent_records_of_one_firing_store_it_once(replica)
        .await;
}
