//! Errors: what a failed database call means to a caller of the ports, and what can fail at start-up.

use std::time::Duration;

use todo_core::error::PortError;

/// Why the database could not be set up: the pool could not connect, or migrations failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// Connecting, or a statement run while setting up, failed.
    #[error("postgres: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration could not be applied (or an applied one was changed since).
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// How long a caller should wait before retrying after a transient failure.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Translates a driver error into the port's vocabulary.
///
/// - unique violations are `AlreadyExists` (a second successor, an event processed twice);
/// - a broken or exhausted connection, a timeout, a deadlock or a serialisation failure is
///   `Unavailable`: retrying the same call later may succeed;
/// - a row that cannot be decoded is `Corrupt`.
pub(crate) fn port_error(error: sqlx::Error) -> PortError {
    use sqlx::Error;
    match error {
        Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            let constraint = db.constraint().unwrap_or("").to_owned();
            let message = db.message().to_owned();
            database_error(&code, &constraint, &message)
        }
        Error::Io(e) => unavailable(format!("connection failed: {e}")),
        Error::Tls(e) => unavailable(format!("connection failed: {e}")),
        Error::PoolTimedOut => unavailable("no database connection became free in time".into()),
        Error::PoolClosed => unavailable("the connection pool is closed".into()),
        Error::WorkerCrashed => unavailable("the connection worker crashed".into()),
        Error::Protocol(e) => unavailable(format!("protocol error, connection dropped: {e}")),
        Error::RowNotFound => PortError::NotFound,
        e @ (Error::ColumnDecode { .. }
        | Error::Decode(_)
        | Error::ColumnNotFound(_)
        | Error::ColumnIndexOutOfBounds { .. }
        | Error::TypeNotFound { .. }) => PortError::Corrupt(e.to_string()),
        other => PortError::Other(other.to_string()),
    }
}

/// Classifies a server error by its SQLSTATE.
fn database_error(code: &str, constraint: &str, message: &str) -> PortError {
    match code {
        // unique_violation
        "23505" => PortError::AlreadyExists(format!("{message} ({constraint})")),
        // serialization_failure, deadlock_detected, lock_not_available, query_canceled (timeouts)
        "40001" | "40P01" | "55P03" | "57014" => unavailable(message.to_owned()),
        // insufficient resources, operator intervention (shutdown, crash recovery), connection failures
        _ if code.starts_with("53") || code.starts_with("57P") || code.starts_with("08") => {
            unavailable(message.to_owned())
        }
        // undefined_table / undefined_object: the schema is missing or old
        "42P01" | "42704" => PortError::Other(format!(
            "{message}: the database schema is not migrated (run `todo-server migrate`)"
        )),
        _ => PortError::Other(format!("{message} (SQLSTATE {code})")),
    }
}

fn unavailable(message: String) -> PortError {
    PortError::Unavailable {
        message: format!("postgres: {message}"),
        retry_after: Some(RETRY_AFTER),
    }
}

/// A row whose stored value breaks a rule of the domain.
pub(crate) fn corrupt(what: impl std::fmt::Display) -> PortError {
    PortError::Corrupt(what.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstates_map_to_what_a_caller_can_act_on() {
        assert!(matches!(
            database_error("23505", "tasks_one_successor", "duplicate key"),
            PortError::AlreadyExists(m) if m.contains("tasks_one_successor")
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
            PortError::Other(m) if m.contains("migrate")
        ));
        assert!(matches!(
            database_error("23514", "", "check"),
            PortError::Other(_)
        ));
    }

    #[test]
    fn broken_connections_are_unavailable_and_bad_rows_corrupt() {
        assert!(port_error(sqlx::Error::PoolTimedOut).is_transient());
        assert!(port_error(sqlx::Error::Io(std::io::Error::other("reset"))).is_transient());
        assert!(matches!(
            port_error(sqlx::Error::ColumnNotFound("title".into())),
            PortError::Corrupt(_)
        ));
        assert_eq!(port_error(sqlx::Error::RowNotFound), PortError::NotFound);
    }
}
