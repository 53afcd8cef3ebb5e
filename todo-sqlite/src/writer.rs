//! The one writer connection, taken in turn.
//!
//! SQLite has one writer at a time, so the process keeps one writer connection and callers queue
//! for it here, in arrival order, instead of spinning on `SQLITE_BUSY`. It is a connection behind a
//! lock rather than a pool of one: a pool tests every connection it takes back (`sqlx` pings it, a
//! round trip to the connection's thread), and every write here gives the writer back at once, so
//! that test doubled the round trips of the busiest connection in the process (docs/benchmarks.md).
//!
//! A connection whose state is unknown (a transaction left open by a caller dropped half-way, see
//! [`crate::transaction`]) is closed when given back, which rolls back whatever was open; the next
//! caller opens a fresh one.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};
use tokio::sync::{Mutex, OwnedMutexGuard};

use todo_core::ports::PortResult;

use crate::error::port_error;

/// The writer connection of a database, shared by its clones.
#[derive(Clone)]
pub(crate) struct Writer {
    slot: Arc<Mutex<Slot>>,
    options: Arc<SqliteConnectOptions>,
    acquire_timeout: Duration,
}

/// What the writer holds between callers.
enum Slot {
    Open(SqliteConnection),
    /// Closed after an unknown state (or never opened): the next caller opens one.
    Lost,
    /// The database was closed.
    Closed,
}

impl Writer {
    /// The writer of `conn`, opened with `options` (which open its replacement when it is lost).
    pub(crate) fn new(
        conn: SqliteConnection,
        options: SqliteConnectOptions,
        acquire_timeout: Duration,
    ) -> Self {
        Self {
            slot: Arc::new(Mutex::new(Slot::Open(conn))),
            options: Arc::new(options),
            acquire_timeout,
        }
    }

    /// The writer connection, once the callers before this one have given it back (at most the
    /// acquire timeout, then `Unavailable`).
    pub(crate) async fn acquire(&self) -> PortResult<WriterConnection> {
        self.acquire_or_driver_error().await.map_err(port_error)
    }

    /// [`Writer::acquire`], failing with the driver's error (a timeout is `PoolTimedOut`).
    pub(crate) async fn acquire_or_driver_error(&self) -> Result<WriterConnection, sqlx::Error> {
        let mut slot = tokio::time::timeout(self.acquire_timeout, self.slot.clone().lock_owned())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?;
        match &*slot {
            Slot::Open(_) => {}
            Slot::Lost => *slot = Slot::Open(self.options.connect().await?),
            Slot::Closed => return Err(sqlx::Error::PoolClosed),
        }
        Ok(WriterConnection {
            slot,
            close_on_drop: false,
        })
    }

    /// Closes the connection once the caller holding it gives it back; later callers get
    /// `Unavailable`.
    pub(crate) async fn close(&self) {
        let mut slot = self.slot.lock().await;
        if let Slot::Open(conn) = std::mem::replace(&mut *slot, Slot::Closed) {
            if let Err(e) = conn.close().await {
                tracing::warn!(error = %e, "closing the writer connection failed");
            }
        }
    }
}

impl fmt::Debug for Writer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

/// The writer connection while a caller holds it; given back when dropped.
pub struct WriterConnection {
    slot: OwnedMutexGuard<Slot>,
    close_on_drop: bool,
}

impl WriterConnection {
    /// Closes the connection instead of giving it back (its state is unknown).
    pub(crate) fn close_on_drop(&mut self) {
        self.close_on_drop = true;
    }
}

impl fmt::Debug for WriterConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriterConnection").finish_non_exhaustive()
    }
}

impl Deref for WriterConnection {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        match &*self.slot {
            Slot::Open(conn) => conn,
            // `acquire` hands out open connections only, and only `drop` takes them away.
            Slot::Lost | Slot::Closed => unreachable!("a writer connection is open while held"),
        }
    }
}

impl DerefMut for WriterConnection {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        match &mut *self.slot {
            Slot::Open(conn) => conn,
            Slot::Lost | Slot::Closed => unreachable!("a writer connection is open while held"),
        }
    }
}

impl Drop for WriterConnection {
    fn drop(&mut self) {
        if self.close_on_drop {
            // Dropping the connection ends its thread, which closes the database handle: SQLite
            // rolls back the transaction left open.
            *self.slot = Slot::Lost;
        }
    }
}

#[cfg(test)]
mod tests {
    use todo_core::error::PortError;

    use crate::setup::temporary;

    /// A caller dropped with its transaction open must not hand that transaction to the next one.
    #[tokio::test]
    async fn a_connection_of_unknown_state_is_replaced_and_its_transaction_rolled_back() {
        let (_dir, db) = temporary(true).await;
        let mut abandoned = db.writer().await.unwrap();
        sqlx::query("BEGIN IMMEDIATE; INSERT INTO users (id) VALUES (x'01');")
            .execute(&mut *abandoned)
            .await
            .unwrap();
        abandoned.close_on_drop();
        drop(abandoned);

        let mut next = db.writer().await.unwrap();
        // On the old connection this would fail: a transaction is already open there.
        sqlx::query("BEGIN IMMEDIATE; INSERT INTO users (id) VALUES (x'02'); COMMIT;")
            .execute(&mut *next)
            .await
            .expect("a fresh connection with no transaction open");
        let users: Vec<Vec<u8>> = sqlx::query_scalar("SELECT id FROM users ORDER BY id")
            .fetch_all(&mut *next)
            .await
            .unwrap();
        assert_eq!(users, vec![vec![2u8]]);
    }

    #[tokio::test]
    async fn a_closed_writer_is_unavailable() {
        let (_dir, db) = temporary(false).await;
        db.close().await;
        let acquired = db.writer().await;
        assert!(
            matches!(acquired, Err(PortError::Unavailable { .. })),
            "{acquired:?}"
        );
    }
}
