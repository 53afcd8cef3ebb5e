//! Errors: what a failed database call means to a caller of the ports, and what can fail at start-up.
//!
//! SQLite reports a numeric result code (the primary code in the low byte of the extended one);
//! the mapping keeps the driver's error as the source.

use std::path::{Path, PathBuf};
use std::time::Duration;

use todo_core::error::{BoxError, Context, PortError};

/// Why the database could not be set up. Every variant about the file names it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// Another process holds the database (its `.lock` file is locked).
    #[error("{} is in use by another process (another todo-server on the same data?)", path.display())]
    Locked {
        /// The database file.
        path: PathBuf,
    },
    /// The file exists but is not a SQLite database.
    #[error("{} is not a SQLite database", path.display())]
    NotADatabase {
        /// The file.
        path: PathBuf,
        /// The driver's report.
        #[source]
        source: sqlx::Error,
    },
    /// The file could not be opened or created (a directory that cannot be written, a bad path).
    #[error("cannot open {}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// The driver's report.
        #[source]
        source: sqlx::Error,
    },
    /// A file beside the database could not be created or read.
    #[error("{}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// A backup would overwrite an existing file.
    #[error("{} already exists; a backup never overwrites a file", path.display())]
    TargetExists {
        /// The target.
        path: PathBuf,
    },
    /// The database to back up does not exist.
    #[error("{} does not exist", path.display())]
    Missing {
        /// The file.
        path: PathBuf,
    },
    /// A statement run while setting up failed.
    #[error("setting up the database")]
    Database(#[from] sqlx::Error),
    /// A migration could not be applied (or an applied one was changed since).
    #[error("applying the migrations")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl SetupError {
    /// An error opening `path`: "not a database" when SQLite says so, else `Open`.
    pub(crate) fn open(path: &Path, source: sqlx::Error) -> Self {
        let path = path.to_owned();
        match primary_code(&source) {
            Some(NOTADB) => SetupError::NotADatabase { path, source },
            _ => SetupError::Open { path, source },
        }
    }
}

// SQLite primary result codes (https://sqlite.org/rescode.html).
const BUSY: i32 = 5;
const LOCKED: i32 = 6;
const NOMEM: i32 = 7;
const READONLY: i32 = 8;
const IOERR: i32 = 10;
const CORRUPT: i32 = 11;
const FULL: i32 = 13;
const CANTOPEN: i32 = 14;
const CONSTRAINT: i32 = 19;
const NOTADB: i32 = 26;
// Extended codes of CONSTRAINT.
const CONSTRAINT_PRIMARYKEY: i32 = 1555;
const CONSTRAINT_UNIQUE: i32 = 2067;

/// The SQLite result code of a database error, reduced to its primary code.
fn primary_code(error: &sqlx::Error) -> Option<i32> {
    extended_code(error).map(|code| code & 0xff)
}

fn extended_code(error: &sqlx::Error) -> Option<i32> {
    match error {
        sqlx::Error::Database(db) => db.code().and_then(|code| code.parse().ok()),
        _ => None,
    }
}

/// How long a caller should wait before retrying after a transient failure.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Translates a driver error into the port's vocabulary, keeping the driver's error as the source.
///
/// - unique and primary-key violations are `AlreadyExists`;
/// - a busy or locked database, a full disk, an I/O error, an exhausted pool are `Unavailable`:
///   the transaction was rolled back, and retrying later may succeed;
/// - a row that cannot be decoded, or a corrupt file, is `Corrupt`.
pub(crate) fn port_error(error: sqlx::Error) -> PortError {
    use sqlx::Error;
    if let Some(code) = extended_code(&error) {
        return database_error(code, error);
    }
    match &error {
        Error::Io(_) => unavailable("sqlite: I/O error", error),
        Error::PoolTimedOut => {
            unavailable("sqlite: no database connection became free in time", error)
        }
        Error::PoolClosed => unavailable("sqlite: the database is closed", error),
        Error::WorkerCrashed => unavailable("sqlite: the connection worker crashed", error),
        Error::RowNotFound => PortError::NotFound,
        Error::ColumnDecode { .. }
        | Error::Decode(_)
        | Error::ColumnNotFound(_)
        | Error::ColumnIndexOutOfBounds { .. }
        | Error::TypeNotFound { .. } => PortError::corrupt("sqlite: decoding a row", error),
        _ => PortError::other("sqlite", error),
    }
}

/// Classifies an error by its extended result code; `source` is the driver's error.
fn database_error(code: i32, source: impl Into<BoxError>) -> PortError {
    match code {
        CONSTRAINT_UNIQUE | CONSTRAINT_PRIMARYKEY => {
            PortError::already_exists("sqlite: unique constraint").caused_by(source)
        }
        _ => match code & 0xff {
            BUSY | LOCKED => unavailable("sqlite: the database is busy", source),
            FULL => unavailable(
                "sqlite: the disk (or the database's size limit) is full",
                source,
            ),
            IOERR | CANTOPEN | NOMEM => unavailable("sqlite: I/O error", source),
            READONLY => unavailable("sqlite: the database cannot be written", source),
            CORRUPT | NOTADB => PortError::corrupt("sqlite: the database file is damaged", source),
            CONSTRAINT => PortError::other("sqlite: constraint violated", source),
            _ => PortError::other(format!("sqlite: result code {code}"), source),
        },
    }
}

fn unavailable(context: &'static str, source: impl Into<BoxError>) -> PortError {
    PortError::unavailable(context)
        .with_retry_after(RETRY_AFTER)
        .caused_by(source)
}

/// A row whose stored value breaks a rule of the domain: `what` was being read, `cause` is why it
/// is invalid.
#[allow(dead_code)] // used by the row decoders
pub(crate) fn corrupt(what: impl Into<Context>, cause: impl Into<BoxError>) -> PortError {
    PortError::corrupt(what, cause)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_codes_map_to_what_a_caller_can_act_on() {
        assert!(matches!(
            database_error(CONSTRAINT_UNIQUE, "UNIQUE constraint failed"),
            PortError::AlreadyExists {
                source: Some(_),
                ..
            }
        ));
        assert!(matches!(
            database_error(CONSTRAINT_PRIMARYKEY, "PRIMARY KEY"),
            PortError::AlreadyExists { .. }
        ));
        // BUSY, BUSY_SNAPSHOT, LOCKED, FULL, IOERR_WRITE, IOERR_FSYNC
        for transient in [5, 517, 6, 13, 778, 1034] {
            assert!(database_error(transient, "x").is_transient(), "{transient}");
        }
        assert!(matches!(
            database_error(11, "malformed"),
            PortError::Corrupt { .. }
        ));
        assert!(matches!(
            database_error(787, "FOREIGN KEY constraint failed"),
            PortError::Other { .. }
        ));
    }

    #[test]
    fn broken_connections_are_unavailable() {
        assert!(port_error(sqlx::Error::PoolTimedOut).is_transient());
        assert!(port_error(sqlx::Error::Io(std::io::Error::other("gone"))).is_transient());
        assert!(matches!(
            port_error(sqlx::Error::RowNotFound),
            PortError::NotFound
        ));
    }
}
