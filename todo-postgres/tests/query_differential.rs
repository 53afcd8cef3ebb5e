//! The differential query test of `todo_core::testkit` on PostgreSQL: every page (items and cursor,
//! walked to the last page) equals the reference `query::evaluate`.

mod support;

use todo_core::testkit::QueryDifferential;

#[test]
fn postgres_pages_equal_the_reference_evaluation() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let (_db, repo) = runtime.block_on(support::fresh_store());
    QueryDifferential::new(repo).run(&runtime);
}
