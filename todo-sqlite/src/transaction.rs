//! Write transactions on the one writer connection, begun with `BEGIN IMMEDIATE` (the write lock is
//! taken at once, so a transaction never fails half-way because another connection wrote first).
//!
//! They are plain SQL statements rather than sqlx's transaction manager, because SQLite itself may
//! roll a transaction back when a statement fails with `SQLITE_FULL`, `SQLITE_IOERR` or
//! `SQLITE_NOMEM`: sqlx's `ROLLBACK` then fails ("no transaction is active"), its count of open
//! transactions stays at one, and every later `begin` on the connection fails. Here a failed unit is
//! rolled back explicitly (a missing transaction is fine), and a connection whose state is unknown
//! (a rollback that failed otherwise, or a caller that dropped the future half-way) is closed
//! instead of given back: closing rolls back whatever was open, and the next caller opens a fresh
//! writer ([`crate::writer`]).

use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Sqlite, SqliteConnection};

use todo_core::ports::PortResult;

use crate::error::port_error;
use crate::setup::Database;
use crate::writer::WriterConnection;

/// An open write transaction on the writer; roll it back or commit it, or the connection is closed
/// when dropped.
pub(crate) struct WriteTransaction<'c> {
    conn: &'c mut WriterConnection,
    /// Whether a transaction may be open on `conn`.
    open: bool,
}

impl<'c> WriteTransaction<'c> {
    /// The writer connection, once it is free (for [`WriteTransaction::begin`]).
    pub(crate) async fn writer(db: &Database) -> PortResult<WriterConnection> {
        db.writer.acquire().await
    }

    /// Begins a transaction on the writer connection `conn`.
    pub(crate) async fn begin(conn: &'c mut WriterConnection) -> PortResult<Self> {
        // Open from here: if this future is dropped during BEGIN, the connection is closed.
        let mut tx = Self { conn, open: true };
        match sqlx::query("BEGIN IMMEDIATE").execute(&mut **tx.conn).await {
            Ok(_) => Ok(tx),
            Err(e) => {
                tx.open = false;
                Err(port_error(e))
            }
        }
    }

    /// Runs `script`, a whole transaction from `BEGIN IMMEDIATE` to `COMMIT`, on the writer
    /// connection `conn` in one round trip; its rows. When a statement fails, the transaction is
    /// rolled back before the error returns.
    pub(crate) async fn run_whole<'q>(
        conn: &'c mut WriterConnection,
        script: Query<'q, Sqlite, SqliteArguments<'q>>,
    ) -> PortResult<Vec<SqliteRow>> {
        let mut tx = Self { conn, open: true };
        match script.fetch_all(&mut **tx.conn).await {
            Ok(rows) => {
                tx.open = false;
                Ok(rows)
            }
            Err(e) => {
                tx.roll_back().await;
                Err(port_error(e))
            }
        }
    }

    /// The connection, to run the transaction's statements on.
    pub(crate) fn conn(&mut self) -> &mut SqliteConnection {
        self.conn
    }

    /// Commits; on failure the transaction is rolled back and the error returned.
    pub(crate) async fn commit(mut self) -> PortResult<()> {
        match sqlx::query("COMMIT").execute(&mut **self.conn).await {
            Ok(_) => {
                self.open = false;
                Ok(())
            }
            Err(e) => {
                self.roll_back().await;
                Err(port_error(e))
            }
        }
    }

    /// Rolls back (SQLite may have done it already).
    pub(crate) async fn rollback(mut self) {
        self.roll_back().await;
    }

    async fn roll_back(&mut self) {
        match sqlx::query("ROLLBACK").execute(&mut **self.conn).await {
            Ok(_) => self.open = false,
            Err(e) if e.to_string().contains("no transaction is active") => self.open = false,
            // Left open: dropping closes the connection.
            Err(e) => tracing::warn!(error = %e, "rolling back a write transaction failed"),
        }
    }
}

impl Drop for WriteTransaction<'_> {
    fn drop(&mut self) {
        if self.open {
            self.conn.close_on_drop();
        }
    }
}
