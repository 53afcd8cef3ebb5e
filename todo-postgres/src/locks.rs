//! [`Locks`] on PostgreSQL session-level advisory locks, so that replicas sharing the database
//! exclude each other (the reminder reconciliation runs on one replica at a time).
//!
//! A lock is `pg_try_advisory_lock(namespace, hashtext(name))` on a connection taken from the pool
//! for as long as the lock is held. Released, the lock is `pg_advisory_unlock`ed and the connection
//! goes back to the pool; dropped without a release (or a release that failed or was cancelled), the
//! connection is closed instead, which ends the session and so the lock: a pooled connection never
//! goes back still holding one.

use async_trait::async_trait;
use sqlx::pool::PoolConnection;
use sqlx::{PgPool, Postgres};

use todo_core::error::PortError;
use todo_core::ports::{HeldLock, Locks, PortResult};

use crate::error::port_error;

/// The first key of every lock taken here ("todo" in ASCII). Two-key advisory locks never conflict
/// with one-key ones, such as the migrations' [`crate::MIGRATION_LOCK_KEY`].
pub(crate) const NAMESPACE: i32 = 0x746f_646f;

const TRY_LOCK: &str = "SELECT pg_try_advisory_lock($1, hashtext($2))";
const UNLOCK: &str = "SELECT pg_advisory_unlock($1, hashtext($2))";

/// Named advisory locks, exclusive across every process connected to the same database.
#[derive(Debug, Clone)]
pub struct PostgresLocks {
    pool: PgPool,
}

impl PostgresLocks {
    /// Locks on the database of `pool`; each held lock keeps one of its connections.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl Locks for PostgresLocks {
    async fn try_lock(&self, name: &str) -> PortResult<Option<Box<dyn HeldLock>>> {
        let conn = self.pool.acquire().await.map_err(port_error)?;
        // Wrapped before the statement: if it fails or is cancelled, dropping closes the connection,
        // whether or not the server took the lock.
        let mut held = PostgresHeldLock {
            conn: Some(conn),
            name: name.to_owned(),
        };
        let taken: bool = sqlx::query_scalar(TRY_LOCK)
            .bind(NAMESPACE)
            .bind(name)
            .fetch_one(held.connection())
            .await
            .map_err(port_error)?;
        if taken {
            Ok(Some(Box::new(held)))
        } else {
            held.give_back();
            Ok(None)
        }
    }
}

/// A held advisory lock and the session that holds it.
struct PostgresHeldLock {
    /// `None` once the connection went back to the pool holding nothing.
    conn: Option<PoolConnection<Postgres>>,
    name: String,
}

impl PostgresHeldLock {
    fn connection(&mut self) -> &mut sqlx::PgConnection {
        self.conn
            .as_deref_mut()
            .expect("the connection is kept until given back")
    }

    /// Returns the connection, which holds no lock, to the pool.
    fn give_back(&mut self) {
        self.conn.take();
    }
}

#[async_trait]
impl HeldLock for PostgresHeldLock {
    async fn release(mut self: Box<Self>) -> PortResult<()> {
        let name = self.name.clone();
        let unlocked: bool = sqlx::query_scalar(UNLOCK)
            .bind(NAMESPACE)
            .bind(&name)
            .fetch_one(self.connection())
            .await
            .map_err(port_error)?;
        if !unlocked {
            return Err(PortError::conflict(format!(
                "advisory lock {name:?} was not held by its session"
            )));
        }
        self.give_back();
        Ok(())
    }
}

impl Drop for PostgresHeldLock {
    fn drop(&mut self) {
        if let Some(conn) = &mut self.conn {
            conn.close_on_drop();
        }
    }
}
