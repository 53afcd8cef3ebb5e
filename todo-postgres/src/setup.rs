//! Connecting and migrating: a pool with timeouts that turn a stuck database into
//! [`PortError::Unavailable`](todo_core::error::PortError::Unavailable) instead of a hung request, and
//! migrations that are safe to run from several init containers at once.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};
use tracing::info;

use crate::error::SetupError;

/// The schema, embedded in the binary: `todo-postgres/migrations/*.sql`, applied in order.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The advisory lock held while migrating (an arbitrary constant: "todo" "mig" in ASCII).
pub const MIGRATION_LOCK_KEY: i64 = 0x0074_6f64_6f6d_6967;

/// How the connection pool behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSettings {
    /// Most connections held open.
    pub max_connections: u32,
    /// How long a caller waits for a free connection before the call is `Unavailable`.
    pub acquire_timeout: Duration,
    /// Server-side limit of one statement (`statement_timeout`), and of the time a transaction may
    /// sit idle between statements (`idle_in_transaction_session_timeout`: the server ends such a
    /// session, and with it the transaction's locks, such as the outbox claims' turn); `None` leaves
    /// the server's defaults.
    pub statement_timeout: Option<Duration>,
    /// Shown in `pg_stat_activity`.
    pub application_name: String,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Some(Duration::from_secs(10)),
            application_name: "todo".to_owned(),
        }
    }
}

/// The connect options for `url` with `settings` applied (for [`PgPoolOptions::connect_lazy_with`]).
pub fn connect_options(url: &str, settings: &PoolSettings) -> Result<PgConnectOptions, SetupError> {
    let mut options = PgConnectOptions::from_str(url)?.application_name(&settings.application_name);
    if let Some(timeout) = settings.statement_timeout {
        let timeout = format!("{}ms", timeout.as_millis());
        options = options.options([
            ("statement_timeout", timeout.clone()),
            ("idle_in_transaction_session_timeout", timeout),
        ]);
    }
    Ok(options)
}

/// Opens a pool to `url` (`postgres://user:password@host:port/database`) and checks that it connects.
pub async fn connect(url: &str, settings: &PoolSettings) -> Result<PgPool, SetupError> {
    let options = connect_options(url, settings)?;
    // One connection first, so that a refused or failed connection reports its cause (the pool
    // would only report that it timed out waiting).
    let probe = tokio::time::timeout(settings.acquire_timeout, options.connect())
        .await
        .map_err(|_| SetupError::Connect(sqlx::Error::PoolTimedOut))?
        .map_err(SetupError::Connect)?;
    let _ = probe.close().await;
    let pool = PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.acquire_timeout)
        // sqlx pings every connection it hands out by default: one more round trip per statement
        // (creates measured 7-10 % faster without; docs/benchmarks.md). A connection that died
        // while idle fails its statement instead, which is `Unavailable`, and the pool drops it.
        .test_before_acquire(false)
        .connect_with(options)
        .await
        .map_err(SetupError::Connect)?;
    Ok(pool)
}

/// Brings the schema up to date; a no-op when it is. Safe to run concurrently from several processes:
/// each holds a session advisory lock ([`MIGRATION_LOCK_KEY`]) while it migrates, so the others wait
/// and then find nothing to do.
pub async fn migrate(pool: &PgPool) -> Result<(), SetupError> {
    let mut conn = pool.acquire().await?.detach();
    let result = async {
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(MIGRATION_LOCK_KEY)
            .execute(&mut conn)
            .await?;
        let before = applied_migrations(&mut conn).await?;
        // `run_direct` is `run` on a connection we hold; `run(&mut conn)` makes this future
        // unusable in `tokio::spawn` (sqlx's "Acquire is not general enough").
        MIGRATOR.run_direct(&mut conn).await?;
        let after = applied_migrations(&mut conn).await?;
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(MIGRATION_LOCK_KEY)
            .execute(&mut conn)
            .await?;
        Ok::<_, SetupError>((before, after))
    }
    .await;
    // Closing the detached connection ends its session, which releases the lock even after an error.
    let _ = conn.close().await;
    let (before, after) = result?;
    if after > before {
        info!(
            applied = after - before,
            total = after,
            "database schema migrated"
        );
    } else {
        info!(total = after, "database schema is up to date");
    }
    Ok(())
}

/// How many migrations the database records as applied (none before the first migration).
async fn applied_migrations(conn: &mut sqlx::PgConnection) -> Result<i64, SetupError> {
    let table: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(&mut *conn)
        .await?;
    if !table {
        return Ok(0);
    }
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut *conn)
            .await?,
    )
}
