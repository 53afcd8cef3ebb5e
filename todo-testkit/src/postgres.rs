//! Per-test PostgreSQL databases on the shared cluster.

use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions};
use sqlx::Connection;

use crate::{unique_name, Stack, TestkitError};

/// A fresh, empty database, dropped (with `FORCE`, closing open connections) on drop.
#[derive(Debug)]
pub struct TestDatabase {
    name: String,
    url: String,
    admin_url: String,
}

impl TestDatabase {
    /// Creates a database named `test_<random>` on the shared cluster.
    pub async fn create() -> Result<Self, TestkitError> {
        let admin_url = Stack::get()?.pg_url()?.to_owned();
        let name = unique_name("test").replace('-', "_");
        let mut admin = PgConnection::connect(&admin_url).await?;
        // Identifiers cannot be bound as parameters; the name is ours ([a-z0-9_] only).
        sqlx::raw_sql(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await?;
        admin.close().await?;
        let url = database_url(&admin_url, &name);
        Ok(Self {
            name,
            url,
            admin_url,
        })
    }

    /// The database's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Connection URL, `postgres://postgres@127.0.0.1:<port>/<name>`.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A small connection pool (5 connections) to this database.
    pub async fn pool(&self) -> Result<PgPool, TestkitError> {
        Ok(PgPoolOptions::new()
            .max_connections(5)
            .connect(&self.url)
            .await?)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let statement = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        // Drop cannot await, and may run inside or outside a runtime: use a helper thread
        // with its own small runtime. Best effort: a leftover database harms no other test.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&admin_url).await.ok()?;
                sqlx::raw_sql(&statement).execute(&mut admin).await.ok()?;
                admin.close().await.ok()
            })
        })
        .join();
    }
}

/// `admin_url` (a PostgreSQL URL) with its database replaced by `name`, its query kept.
pub fn database_url(admin_url: &str, name: &str) -> String {
    let (without_query, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (admin_url, None),
    };
    let base = match without_query.rfind('/') {
        Some(slash) if slash > "postgres://".len() => &without_query[..slash],
        _ => without_query,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::database_url;

    #[test]
    fn the_database_path_of_a_url_is_replaced() {
        assert_eq!(
            database_url("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            database_url("postgres://u@h:1/postgres?sslmode=disable", "t2"),
            "postgres://u@h:1/t2?sslmode=disable"
        );
    }
}
