//! Errors: what a failed database call means to a caller of the ports, and what can fail at start-up.

use std::time::Duration;

use todo_core::error::{BoxError, Context, PortError};

/// Why the database could not be set up: the pool could not connect, or migrations failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// The database could not be reached, or refused the connection (address, credentials).
    #[error("cannot connect")]
    Connect(#[source] sqlx::Error),
    /// A statement run while setting up failed.
    #[error("setting up the database")]
    Database(#[from] sqlx::Error),
    /// A migration could not be applied (or an applied one was changed since).
    #[error("applying the migrations")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// How long a caller should wait before retrying after a transient failure.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Translates a driver error into the port's vocabulary, keeping the driver's error as the source.
///
/// - unique violations are `AlreadyExists` (a second successor, an event processed twice);
/// - a broken or exhausted connection, a timeout, a deadlock or a serialisation failure is
///   `Unavailable`: retrying the same call later may succeed;
/// - a row that cannot be decoded is `Corrupt`.
pub(crate) fn port_error(error: sqlx::Error) -> PortError {
    use sqlx::Error;
    match &error {
        Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            let constraint = db.constraint().unwrap_or("").to_owned();
            database_error(&code, &constraint, error)
        }
        Error::Io(_) | Error::Tls(_) => unavailable("postgres: connection failed", error),
        Error::PoolTimedOut => unavailable(
            "postgres: no database connection became free in time",
            error,
        ),
        Error::PoolClosed => unavailable("postgres: the connection pool is closed", error),
        Error::WorkerCrashed => unavailable("postgres: the connection worker crashed", error),
        Error::Protocol(_) => unavailable("postgres: protocol error, connection dropped", error),
        Error::RowNotFound => PortError::NotFound,
        Error::ColumnDecode { .. }
        | Error::Decode(_)
        | Error::ColumnNotFound(_)
        | Error::ColumnIndexOutOfBounds { .. }
        | Error::TypeNotFound { .. } => PortError::corrupt("postgres: decoding a row", error),
        _ => PortError::other("postgres", error),
    }
}

/// Classifies a server error by its SQLSTATE; `source` is the server's error.
fn database_error(code: &str, constraint: &str, source: impl Into<BoxError>) -> PortError {
    match code {
        // unique_violation
        "23505" => PortError::already_exists(format!("postgres: unique constraint {constraint}"))
            .caused_by(source),
        // serialization_failure, deadlock_detected, lock_not_available, query_canceled (timeouts)
        "40001" | "40P01" | "55P03" | "57014" => unavailable("postgres: transient failure", source),
        // insufficient resources, operator intervention (shutdown, crash recovery), connection failures
        _ if code.starts_with("53") || code.starts_with("57P") || code.starts_with("08") => {
            unavailable("postgres: server unavailable", source)
        }
        // undefined_table / undefined_object: the schema is missing or old
        "42P01" | "42704" => PortError::other(
            "postgres: the database schema is not migrated (run `todo-server migrate`)",
            source,
        ),
        _ => PortError::other(format!("postgres: SQLSTATE {code}"), source),
    }
}

fn unavailable(context: &'static str, source: impl Into<BoxError>) -> PortError {
    PortError::unavailable(context)
        .with_retry_after(RETRY_AFTER)
        .caused_by(source)
}

/// A row whose stored value breaks a rule of the domain: `what` was being read, `cause` is why it
/// is invalid.
pub(crate) fn corrupt(what: impl Into<Context>, cause: impl Into<BoxError>) -> PortError {
    PortError::corrupt(what, cause)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstates_map_to_what_a_caller_can_act_on() {
        assert!(matches!(
            database_error("23505", "tasks_one_successor", "duplicate key"),
            PortError::AlreadyExists { context, source: Some(_) } if context.contains("tasks_one_successor")
        ));
        for transient in [
            "40001", "40P01", "55P03", "57014", "53300", "57P01", "08006",
        ] {
            assert!(
                database_error(transient, "", "x").is_transient(),
                "{transient}"
            );
        }
        assert!(matches!(
            database_error("42P01", "", "relation \"tasks\" does not exist"),
            PortError::Other { context, .. } if context.contains("migrate")
        ));
        assert!(matches!(
            database_error("23514", "", "check"),
            PortError::Other { .. }
        ));
    }

    #[test]
    fn broken_connections_are_unavailable_and_bad_rows_corrupt() {
        assert!(port_error(sqlx::Error::PoolTimedOut).is_transient());
        assert!(port_error(sqlx::Error::Io(std::io::Error::other("reset"))).is_transient());
        assert!(matches!(
            port_error(sqlx::Error::ColumnNotFound("title".into())),
            PortError::Corrupt { .. }
        ));
        assert!(matches!(
            port_error(sqlx::Error::RowNotFound),
            PortError::NotFound
        ));
    }
}
