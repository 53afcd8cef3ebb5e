//! What the PostgreSQL benchmarks share: the server they run on.

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
