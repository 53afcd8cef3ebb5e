//! The `todo-core` delivery-store conformance suite on PostgreSQL.

mod support;

use todo_core::testkit::DeliveryStoreSuite;

#[tokio::test]
async fn the_postgres_delivery_store_conforms_on_a_reused_database() {
    let (_db, store) = support::fresh_store().await;
    let suite = DeliveryStoreSuite::new(store);
    suite.run_all().await;
    suite.run_all().await;
}
