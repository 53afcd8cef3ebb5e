//! Races on PostgreSQL, through the race suite of `todo_core::testkit`: concurrent completions of one
//! recurring task, duplicate and replayed `completed` events, and concurrent versioned updates.

mod support;

use todo_core::testkit::RaceSuite;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_completions_create_exactly_one_next_occurrence() {
    let (_db, repo) = support::fresh_store().await;
    RaceSuite::new(repo)
        .fifty_concurrent_completions_create_exactly_one_next_occurrence()
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_and_replayed_completed_events_create_one_next_occurrence() {
    let (_db, repo) = support::fresh_store().await;
    RaceSuite::new(repo)
        .duplicate_and_replayed_completed_events_create_one_next_occurrence()
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_concurrent_updates_from_one_version_exactly_one_wins() {
    let (_db, repo) = support::fresh_store().await;
    RaceSuite::new(repo)
        .of_concurrent_updates_from_one_version_exactly_one_wins()
        .await;
}
