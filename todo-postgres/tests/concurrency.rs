//! Races on PostgreSQL, through the race suite of `todo_core::testkit`: concurrent completions of one
//! recurring task, duplicate and replayed `completed` events, and concurrent versioned updates.

mod support;

use todo_core::testkit::RaceSuite;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_store_decides_every_race() {
    let (_db, repo) = support::fresh_store().await;
    RaceSuite::new(repo).run_all().await;
}
