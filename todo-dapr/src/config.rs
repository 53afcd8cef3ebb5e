//! Where the sidecar is and how calls to it behave: endpoint, API token, timeouts and retries.
//!
//! Read once at start-up ([`DaprConfig::from_env`]); an invalid variable is an error naming it.

use std::time::Duration;

use rand::Rng;
use reqwest::Url;

/// The port daprd's HTTP API listens on when `DAPR_HTTP_PORT` is not set (Dapr's default).
pub const DEFAULT_HTTP_PORT: u16 = 3500;

/// A configuration variable had a value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    /// The environment variable (or setting) that was rejected.
    pub variable: String,
    /// What is wrong with it.
    pub message: String,
}

impl ConfigError {
    pub(crate) fn new(variable: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            variable: variable.into(),
            message: message.into(),
        }
    }
}

/// How transient failures of one call are retried: exponential backoff with jitter, bounded by a number
/// of attempts and by a total time budget.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in total, the first included (1 = no retry).
    pub max_attempts: u32,
    /// The backoff before the second attempt; it doubles for each further one.
    pub initial_backoff: Duration,
    /// The largest backoff between two attempts.
    pub max_backoff: Duration,
    /// No retry starts once this much time has passed since the first attempt.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    /// Four attempts, 100 ms doubling to at most 2 s, within 10 s: a sidecar that refuses connections
    /// is reported unavailable in under a second.
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            max_elapsed: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// A policy that makes one attempt only.
    #[must_use]
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// A policy of `max_attempts` attempts with the given first and largest backoff.
    #[must_use]
    pub fn new(max_attempts: u32, initial_backoff: Duration, max_backoff: Duration) -> Self {
        Self {
            max_attempts: max_attempts.max(1),
            initial_backoff,
            max_backoff,
            ..Self::default()
        }
    }

    /// The same policy with another total time budget.
    #[must_use]
    pub fn with_max_elapsed(mut self, max_elapsed: Duration) -> Self {
        self.max_elapsed = max_elapsed;
        self
    }

    /// The pause after failed attempt number `attempt` (1-based): the exponential step, of which a
    /// random half is kept ("equal jitter"), so that many clients do not retry in lockstep.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(20);
        let step = self
            .initial_backoff
            .saturating_mul(1 << exponent)
            .min(self.max_backoff);
        let half = step / 2;
        half + rand::thread_rng().gen_range(Duration::ZERO..=half)
    }
}

/// Settings of every call to the sidecar's HTTP API.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DaprConfig {
    /// Base URL of daprd's HTTP API, such as `http://127.0.0.1:3500`.
    pub endpoint: Url,
    /// Sent as `dapr-api-token` on every call when set (daprd started with `DAPR_API_TOKEN`).
    pub api_token: Option<String>,
    /// Time limit of one attempt, response body included.
    pub request_timeout: Duration,
    /// Time limit of establishing a connection.
    pub connect_timeout: Duration,
    /// How transient failures are retried.
    pub retry: RetryPolicy,
    /// The `Retry-After` hint given with [`PortError::Unavailable`](todo_core::error::PortError) when
    /// the sidecar is unreachable or reports a transient failure without a hint of its own.
    pub retry_after: Duration,
}

impl DaprConfig {
    /// A configuration for the sidecar at `endpoint` (`http://host:port`), with default timeouts
    /// (5 s per attempt, 1 s to connect) and retries ([`RetryPolicy::default`]).
    pub fn new(endpoint: &str) -> Result<Self, ConfigError> {
        let endpoint = Url::parse(endpoint)
            .map_err(|e| ConfigError::new("DAPR_HTTP_ENDPOINT", format!("not a URL: {e}")))?;
        if endpoint.scheme() != "http" {
            return Err(ConfigError::new(
                "DAPR_HTTP_ENDPOINT",
                "only http:// is supported (the sidecar listens on the pod's loopback)",
            ));
        }
        if endpoint.cannot_be_a_base() || endpoint.host().is_none() {
            return Err(ConfigError::new(
                "DAPR_HTTP_ENDPOINT",
                "must be http://host:port",
            ));
        }
        Ok(Self {
            endpoint,
            api_token: None,
            request_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(1),
            retry: RetryPolicy::default(),
            retry_after: Duration::from_secs(5),
        })
    }

    /// A configuration for daprd's HTTP API on `127.0.0.1:port`.
    #[must_use]
    pub fn for_port(port: u16) -> Self {
        Self::new(&format!("http://127.0.0.1:{port}"))
            .expect("a loopback URL with a port is a valid endpoint")
    }

    /// Reads `DAPR_HTTP_ENDPOINT` (a full `http://` URL) or else `DAPR_HTTP_PORT` (default 3500, on
    /// 127.0.0.1), and `DAPR_API_TOKEN` (unset or empty: no token).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`Self::from_env`] over any source of variables (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let set = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut config = match (set("DAPR_HTTP_ENDPOINT"), set("DAPR_HTTP_PORT")) {
            (Some(endpoint), _) => Self::new(endpoint.trim())?,
            (None, Some(port)) => {
                let port: u16 = port.trim().parse().map_err(|_| {
                    ConfigError::new("DAPR_HTTP_PORT", format!("`{port}` is not a port number"))
                })?;
                if port == 0 {
                    return Err(ConfigError::new("DAPR_HTTP_PORT", "port 0 is not a port"));
                }
                Self::for_port(port)
            }
            (None, None) => Self::for_port(DEFAULT_HTTP_PORT),
        };
        config.api_token = set("DAPR_API_TOKEN");
        Ok(config)
    }

    /// Sends `token` as `dapr-api-token` on every call.
    #[must_use]
    pub fn with_api_token(mut self, token: impl Into<String>) -> Self {
        self.api_token = Some(token.into());
        self
    }

    /// Another time limit per attempt.
    #[must_use]
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Another retry policy.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Another `Retry-After` hint for unavailability.
    #[must_use]
    pub fn with_retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = retry_after;
        self
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn without_variables_the_sidecar_is_on_the_default_port_without_a_token() {
        let config = DaprConfig::from_lookup(lookup(&[])).unwrap();
        assert_eq!(config.endpoint.as_str(), "http://127.0.0.1:3500/");
        assert_eq!(config.api_token, None);
    }

    #[test]
    fn the_port_and_token_come_from_the_environment() {
        let config = DaprConfig::from_lookup(lookup(&[
            ("DAPR_HTTP_PORT", "3600"),
            ("DAPR_API_TOKEN", "t"),
        ]))
        .unwrap();
        assert_eq!(config.endpoint.as_str(), "http://127.0.0.1:3600/");
        assert_eq!(config.api_token.as_deref(), Some("t"));
    }

    #[test]
    fn an_endpoint_wins_over_a_port() {
        let config = DaprConfig::from_lookup(lookup(&[
            ("DAPR_HTTP_ENDPOINT", "http://localhost:4000"),
            ("DAPR_HTTP_PORT", "3600"),
        ]))
        .unwrap();
        assert_eq!(config.endpoint.as_str(), "http://localhost:4000/");
    }

    #[test]
    fn invalid_values_name_their_variable() {
        let error = DaprConfig::from_lookup(lookup(&[("DAPR_HTTP_PORT", "http")])).unwrap_err();
        assert_eq!(error.variable, "DAPR_HTTP_PORT");
        let error =
            DaprConfig::from_lookup(lookup(&[("DAPR_HTTP_ENDPOINT", "https://x:1")])).unwrap_err();
        assert_eq!(error.variable, "DAPR_HTTP_ENDPOINT");
        let error = DaprConfig::from_lookup(lookup(&[("DAPR_HTTP_PORT", "0")])).unwrap_err();
        assert_eq!(error.variable, "DAPR_HTTP_PORT");
    }

    #[test]
    fn an_empty_token_is_no_token() {
        let config = DaprConfig::from_lookup(lookup(&[("DAPR_API_TOKEN", " ")])).unwrap();
        assert_eq!(config.api_token, None);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_keeps_at_least_half_of_each_step() {
        let policy = RetryPolicy::new(10, Duration::from_millis(100), Duration::from_millis(800));
        for _ in 0..200 {
            let first = policy.backoff(1);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let third = policy.backoff(3);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            let capped = policy.backoff(9);
            assert!(capped >= Duration::from_millis(400) && capped <= Duration::from_millis(800));
        }
        assert_eq!(RetryPolicy::none().max_attempts, 1);
    }
}
