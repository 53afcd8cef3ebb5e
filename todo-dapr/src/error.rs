//! What can go wrong when talking to the sidecar, and how it maps onto the ports' [`PortError`].

use std::time::Duration;

use todo_core::error::{BoxError, PortError};

/// A call to the Dapr sidecar failed. The transport's or the decoder's error is kept as the source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DaprError {
    /// The sidecar could not be reached (connection refused, reset or timed out), after retries.
    #[error("{operation}: the Dapr sidecar at {endpoint} is unreachable")]
    Unreachable {
        /// What was being done (`publish`, `schedule job`, ...).
        operation: &'static str,
        /// The sidecar's base URL.
        endpoint: String,
        /// The transport error of the last attempt.
        #[source]
        source: reqwest::Error,
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
    #[error("{operation}: unexpected response from Dapr")]
    Decode {
        /// What was being done.
        operation: &'static str,
        /// Why the body could not be read.
        #[source]
        source: BoxError,
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
    /// 404 `NotFound`, 409/412 `Conflict`, an unreadable body `Corrupt`, anything else `Other`. The
    /// [`DaprError`] is kept as the source.
    fn from(error: DaprError) -> Self {
        match &error {
            DaprError::Unreachable { retry_after, .. } => {
                let retry_after = *retry_after;
                PortError::unavailable("dapr sidecar unreachable")
                    .with_retry_after(retry_after)
                    .caused_by(error)
            }
            DaprError::Api {
                status,
                retry_after,
                ..
            } => match *status {
                404 => PortError::NotFound,
                409 | 412 => PortError::conflict("dapr").caused_by(error),
                401 | 403 => PortError::other(
                    "dapr refused the API token (check DAPR_API_TOKEN against the sidecar's token)",
                    error,
                ),
                s if is_transient_status(s) => {
                    let unavailable = PortError::unavailable("dapr");
                    match retry_after {
                        Some(after) => unavailable.with_retry_after(*after),
                        None => unavailable,
                    }
                    .caused_by(error)
                }
                _ => PortError::other("dapr", error),
            },
            DaprError::Decode { .. } => PortError::corrupt("dapr response", error),
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
        let transport = reqwest::Client::new()
            .get("not a url")
            .build()
            .expect_err("an invalid URL is a request error");
        let error = DaprError::Unreachable {
            operation: "publish",
            endpoint: "http://127.0.0.1:1".into(),
            source: transport,
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
        assert!(matches!(
            PortError::from(api(409)),
            PortError::Conflict { .. }
        ));
        assert!(matches!(
            PortError::from(api(412)),
            PortError::Conflict { .. }
        ));
        assert!(matches!(PortError::from(api(404)), PortError::NotFound));
        assert!(matches!(
            PortError::from(api(500)),
            PortError::Unavailable { .. }
        ));
        assert!(matches!(
            PortError::from(api(503)),
            PortError::Unavailable { .. }
        ));
        assert!(matches!(PortError::from(api(400)), PortError::Other { .. }));
        assert!(
            matches!(PortError::from(api(401)), PortError::Other { context, .. } if context.contains("DAPR_API_TOKEN"))
        );
        assert_eq!(api(500).error_code(), Some("ERR_STATE_SAVE"));
        assert_eq!(api(500).status(), Some(500));
        assert!(api(500).to_string().contains("500 ERR_STATE_SAVE: boom"));
    }
}
