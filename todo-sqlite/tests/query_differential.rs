//! The differential query test of `todo_core::testkit` on SQLite: every page equals the reference
//! `query::evaluate`, and every search plan (the trigram index alone, short scans, the default) gives
//! the same page.

mod support;

use std::sync::Arc;

use todo_core::ports::TaskRepository;
use todo_core::testkit::QueryDifferential;

#[test]
fn sqlite_pages_equal_the_reference_evaluation_with_every_search_plan() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let (_db, repo) = runtime.block_on(support::fresh_store());
    // The default plan answers first; the trigram index alone (a scan of 0) and scans of the first
    // few candidates, which rarely fill the page, must agree with it.
    let plans = [0, 1, 3]
        .into_iter()
        .map(|scan| {
            let plan: Arc<dyn TaskRepository> = Arc::new((*repo).clone().with_search_scan(scan));
            (format!("a search scan of {scan}"), plan)
        })
        .collect();
    QueryDifferential::new(repo).with_plans(plans).run(&runtime);
}
