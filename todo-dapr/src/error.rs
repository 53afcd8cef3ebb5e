//! What can go wrong when talking to the sidecar, and how it maps onto the ports' [`PortError`].

use std::time::Duration;

use todo_core::error::PortError;

/// A call to the Dapr sidecar failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DaprError {
    /// The sidecar could not be reached (connection refused, reset or timed out), after retries.
    #[error("{operation}: the Dapr sidecar at {endpoint} is unreachable: {message}")]
    Unreachable {
        /// What was being done (`publish`, `schedule job`, ...).
        operation: &'static str,
        /// The sidecar's base URL.
        endpoint: String,
        /// The transport error.
        message: String,
        /// When trying again may succeed.
        retry_after: Duration,
    },
    /// The sidecar answered with an error status.
    #[error("{operation}: Dapr answered {status}{}: {message}", error_code.as_deref().map(|c| format!(" {c}")).unwrap_or_default())]
    Api {
        /// What was being done.
        operation: &'static str,
        /// The HTTP status.
        status: u16,
        /// Dapr's `errorCode` (`ERR_PUBSUB_PUBLISH_MESSAGE`, ...), when the body carried one.
        error_code: Option<String>,
        /// Dapr's `message`, or the body.
        message: String,
        /// For transient statuses: the sidecar's `Retry-After`, or the configured hint.
        retry_after: Option<Duration>,
    },
    /// The sidecar answered success with a body this crate cannot read.
    #[error("{operation}: unexpected response from Dapr: {message}")]
    Decode {
        /// What was being done.
        operation: &'static str,
        /// Why the body could not be read.
        message: String,
    },
}

impl DaprError {
    /// The HTTP status Dapr answered, if it answered.
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        match self {
            DaprError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Dapr's `errorCode`, if it sent one.
    #[must_use]
    pub fn error_code(&self) -> Option<&str> {
        match self {
            DaprError::Api { error_code, .. } => error_code.as_deref(),
            _ => None,
        }
    }

    /// Whether the same call may succeed later: the sidecar was unreachable, or answered 429 / 5xx
    /// (a component such as the broker or the database is down).
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            DaprError::Unreachable { .. } => true,
            DaprError::Api { status, .. } => is_transient_status(*status),
            DaprError::Decode { .. } => false,
        }
    }
}

/// Statuses worth retrying: too many requests, and every server error (Dapr answers 500 when a
/// component such as Kafka or PostgreSQL fails).
pub(crate) fn is_transient_status(status: u16) -> bool {
    status == 429 || (500..600).contains(&status)
}

impl From<DaprError> for PortError {
    /// Unreachable and transient answers become `Unavailable` (the server's 503 with `Retry-After`),
    /// 404 `NotFound`, 409/412 `Conflict`, an unreadable body `Corrupt`, anything else `Other`.
    fn from(error: DaprError) -> Self {
        let message = error.to_string();
        match error {
            DaprError::Unreachable { retry_after, .. } => PortError::Unavailable {
                message,
                retry_after: Some(retry_after),
            },
            DaprError::Api {
                status,
                retry_after,
                ..
            } => match status {
                404 => PortError::NotFound,
                409 | 412 => PortError::Conflict(message),
                401 | 403 => PortError::Other(format!(
                    "{message} (check DAPR_API_TOKEN against the sidecar's token)"
                )),
                s if is_transient_status(s) => PortError::Unavailable {
                    message,
                    retry_after,
                },
                _ => PortError::Other(message),
            },
            DaprError::Decode { .. } => PortError::Corrupt(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16) -> DaprError {
        DaprError::Api {
            operation: "save state",
            status,
            error_code: Some("ERR_STATE_SAVE".into()),
            message: "boom".into(),
            retry_after: is_transient_status(status).then_some(Duration::from_secs(5)),
        }
    }

    #[test]
    fn an_unreachable_sidecar_is_unavailable_with_a_retry_hint() {
        let error = DaprError::Unreachable {
            operation: "publish",
            endpoint: "http://127.0.0.1:1".into(),
            message: "connection refused".into(),
            retry_after: Duration::from_secs(5),
        };
        assert!(error.is_transient());
        assert!(matches!(
            PortError::from(error),
            PortError::Unavailable { retry_after: Some(d), .. } if d == Duration::from_secs(5)
        ));
    }

    #[test]
    fn statuses_map_onto_port_errors() {
        assert!(matches!(PortError::from(api(409)), PortError::Conflict(_)));
        assert!(matches!(PortError::from(api(412)), PortError::Conflict(_)));
        assert_eq!(PortError::from(api(404)), PortError::NotFound);
        assert!(matches!(
            PortError::from(api(500)),
            PortError::Unavailable { .. }
        ));
        assert!(matches!(
            PortError::from(api(503)),
            PortError::Unavailable { .. }
        ));
        assert!(matches!(PortError::from(api(400)), PortError::Other(_)));
        assert!(
            matches!(PortError::from(api(401)), PortError::Other(m) if m.contains("DAPR_API_TOKEN"))
        );
        assert_eq!(api(500).error_code(), Some("ERR_STATE_SAVE"));
        assert_eq!(api(500).status(), Some(500));
        assert!(api(500).to_string().contains("500 ERR_STATE_SAVE: boom"));
    }
}
