//! What the PostgreSQL benchmarks share: the server they run on, and building a dataset's indexes.

use std::time::Instant;

use sqlx::PgConnection;

/// Runs a benchmark on a runtime of two workers (the machine's cores).
pub fn block_on(
    benchmark: impl std::future::Future<Output = anyhow::Result<()>>,
) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(benchmark)
}

/// The server to benchmark on: `TODO_BENCH_DATABASE_URL`, or the testkit's shared PostgreSQL.
pub fn server_url() -> anyhow::Result<String> {
    if let Ok(url) = std::env::var("TODO_BENCH_DATABASE_URL") {
        return Ok(url);
    }
    Ok(todo_testkit::Stack::get()?.pg_url()?.to_owned())
}

/// `url` with its database replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    todo_testkit::database_url(url, name)
}

/// Creates each `(name, definition)` index, saying how long each took.
pub async fn build_indexes(
    conn: &mut PgConnection,
    indexes: &[(String, String)],
) -> anyhow::Result<()> {
    for (name, definition) in indexes {
        let step = Instant::now();
        sqlx::raw_sql(definition).execute(&mut *conn).await?;
        eprintln!(
            "  index {name} built in {:.1} s",
            step.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
