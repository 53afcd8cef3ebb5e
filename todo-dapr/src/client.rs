//! The HTTP client of the sidecar: every adapter's calls go through [`DaprClient`], which adds the API
//! token, enforces the timeouts and retries transient failures with exponential backoff and jitter.
//!
//! What is retried depends on whether repeating the request is safe ([`Retry`]): a connection that
//! could not be established never reached daprd, so that is always retried; a timeout or a 5xx may
//! have had an effect, so only idempotent calls (reads, overwrites, deletes, at-least-once publishes)
//! are repeated after one.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use tracing::{debug, warn};

use crate::config::{ConfigError, DaprConfig};
use crate::error::{is_transient_status, DaprError};

/// The header daprd expects its API token in (both directions: app → sidecar and sidecar → app).
pub const API_TOKEN_HEADER: &str = "dapr-api-token";

/// A client of one sidecar's HTTP API. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct DaprClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    config: DaprConfig,
}

impl fmt::Debug for DaprClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the token.
        f.debug_struct("DaprClient")
            .field("endpoint", &self.inner.config.endpoint.as_str())
            .field(
                "api_token",
                &self.inner.config.api_token.as_ref().map(|_| "***"),
            )
            .finish()
    }
}

/// When a failed attempt may be repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Repeating is harmless: retry connection failures, timeouts and transient statuses.
    Idempotent,
    /// Repeat only when the request cannot have reached daprd (the connection failed).
    ConnectOnly,
}

/// One call, described so that it can be sent again.
pub(crate) struct ApiRequest {
    operation: &'static str,
    method: Method,
    url: Url,
    body: Option<(Bytes, &'static str)>,
    headers: Vec<(&'static str, String)>,
    retry: Retry,
    keep: fn(&ApiResponse) -> bool,
    timeout: Option<Duration>,
    max_attempts: Option<u32>,
}

impl ApiRequest {
    /// A bodiless, idempotent request.
    pub(crate) fn new(operation: &'static str, method: Method, url: Url) -> Self {
        Self {
            operation,
            method,
            url,
            body: None,
            headers: Vec::new(),
            retry: Retry::Idempotent,
            keep: |_| false,
            timeout: None,
            max_attempts: None,
        }
    }

    /// Sends `value` as JSON.
    pub(crate) fn json(self, value: &serde_json::Value) -> Self {
        self.body(
            serde_json::to_vec(value).expect("a JSON value always serialises"),
            "application/json",
        )
    }

    /// Sends `body` with `content_type`.
    pub(crate) fn body(mut self, body: impl Into<Bytes>, content_type: &'static str) -> Self {
        self.body = Some((body.into(), content_type));
        self
    }

    /// Adds a header.
    pub(crate) fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// Sets when a failed attempt may be repeated.
    pub(crate) fn retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    /// Returns a transient-status answer at once when `keep` says it is final (such as "secret not
    /// found", which daprd reports as a 500).
    pub(crate) fn keep_if(mut self, keep: fn(&ApiResponse) -> bool) -> Self {
        self.keep = keep;
        self
    }

    /// Another time limit for each attempt.
    pub(crate) fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// At most this many attempts, whatever the client's policy.
    pub(crate) fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = Some(attempts.max(1));
        self
    }
}

/// A response, read in full.
#[derive(Debug, Clone)]
pub(crate) struct ApiResponse {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl ApiResponse {
    /// Decodes the body as JSON.
    pub(crate) fn json<T: DeserializeOwned>(
        &self,
        operation: &'static str,
    ) -> Result<T, DaprError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            debug!(operation, body = %self.body_text(), "undecodable Dapr response");
            DaprError::Decode {
                operation,
                source: e.into(),
            }
        })
    }

    /// Dapr's `{"errorCode","message"}`, or the body as text.
    pub(crate) fn error_parts(&self) -> (Option<String>, String) {
        #[derive(serde::Deserialize)]
        struct DaprErrorBody {
            #[serde(rename = "errorCode")]
            error_code: Option<String>,
            message: Option<String>,
        }
        match serde_json::from_slice::<DaprErrorBody>(&self.body) {
            Ok(DaprErrorBody {
                error_code,
                message: Some(message),
            }) => (error_code, message),
            Ok(DaprErrorBody {
                error_code,
                message: None,
            }) => (error_code, self.body_text()),
            Err(_) => (None, self.body_text()),
        }
    }

    /// The body as text, shortened for messages.
    pub(crate) fn body_text(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let text = text.trim();
        if text.chars().count() > 500 {
            format!("{}…", text.chars().take(500).collect::<String>())
        } else {
            text.to_owned()
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        self.headers
            .get(RETRY_AFTER)?
            .to_str()
            .ok()?
            .trim()
            .parse::<u64>()
            .ok()
            .map(Duration::from_secs)
    }
}

/// The error chain of a transport failure, innermost cause last.
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl DaprClient {
    /// A client with `config`. Fails only when the API token is not a valid header value.
    pub fn new(config: DaprConfig) -> Result<Self, ConfigError> {
        let mut headers = HeaderMap::new();
        if let Some(token) = &config.api_token {
            let mut value = HeaderValue::from_str(token)
                .map_err(|_| ConfigError::new("DAPR_API_TOKEN", "not a valid HTTP header value"))?;
            value.set_sensitive(true);
            headers.insert(API_TOKEN_HEADER, value);
        }
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(config.connect_timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| ConfigError::new("HTTP client", e.to_string()))?;
        Ok(Self {
            inner: Arc::new(Inner { http, config }),
        })
    }

    /// A client configured from the environment ([`DaprConfig::from_env`]).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::new(DaprConfig::from_env()?)
    }

    /// The configuration in use.
    #[must_use]
    pub fn config(&self) -> &DaprConfig {
        &self.inner.config
    }

    /// `endpoint` + the given path segments, each percent-encoded (a `/` inside one is escaped).
    pub(crate) fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.inner.config.endpoint.clone();
        url.path_segments_mut()
            .expect("the endpoint was checked to be a base URL")
            .pop_if_empty()
            .extend(segments);
        url
    }

    /// The error for an answer the caller did not expect.
    pub(crate) fn api_error(&self, operation: &'static str, response: &ApiResponse) -> DaprError {
        let (error_code, message) = response.error_parts();
        let status = response.status.as_u16();
        let retry_after = is_transient_status(status).then(|| {
            response
                .retry_after()
                .unwrap_or(self.inner.config.retry_after)
        });
        DaprError::Api {
            operation,
            status,
            error_code,
            message,
            retry_after,
        }
    }

    fn unreachable(&self, operation: &'static str, source: reqwest::Error) -> DaprError {
        DaprError::Unreachable {
            operation,
            endpoint: self
                .inner
                .config
                .endpoint
                .as_str()
                .trim_end_matches('/')
                .to_owned(),
            source,
            retry_after: self.inner.config.retry_after,
        }
    }

    /// Sends `request`, retrying what may be retried. Returns the last HTTP answer whatever its status
    /// (callers decide what a status means), or `Unreachable` when no answer came.
    pub(crate) async fn send(&self, request: ApiRequest) -> Result<ApiResponse, DaprError> {
        let policy = &self.inner.config.retry;
        let max_attempts = request.max_attempts.unwrap_or(policy.max_attempts).max(1);
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = self.attempt(&request).await;
            let retryable = match &outcome {
                Ok(response) => {
                    request.retry == Retry::Idempotent
                        && is_transient_status(response.status.as_u16())
                        && !(request.keep)(response)
                }
                Err(error) => error.is_connect() || request.retry == Retry::Idempotent,
            };
            let backoff = policy.backoff(attempt);
            let give_up = !retryable
                || attempt >= max_attempts
                || started.elapsed() + backoff > policy.max_elapsed;
            if give_up {
                return outcome.map_err(|error| {
                    warn!(operation = request.operation, attempts = attempt, error = %describe(&error),
                          "Dapr sidecar unreachable");
                    self.unreachable(request.operation, error)
                });
            }
            match &outcome {
                Ok(response) => {
                    debug!(operation = request.operation, attempt, status = %response.status,
                                       ?backoff, "Dapr call failed; retrying")
                }
                Err(error) => {
                    debug!(operation = request.operation, attempt, error = %describe(error),
                                     ?backoff, "Dapr call failed; retrying")
                }
            }
            tokio::time::sleep(backoff).await;
        }
    }

    async fn attempt(&self, request: &ApiRequest) -> Result<ApiResponse, reqwest::Error> {
        let mut builder = self
            .inner
            .http
            .request(request.method.clone(), request.url.clone())
            .timeout(request.timeout.unwrap_or(self.inner.config.request_timeout));
        for (name, value) in &request.headers {
            builder = builder.header(*name, value);
        }
        if let Some((body, content_type)) = &request.body {
            builder = builder
                .header(CONTENT_TYPE, *content_type)
                .body(body.clone());
        }
        let response = builder.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await?;
        Ok(ApiResponse {
            status,
            headers,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_escaped_and_the_debug_output_hides_the_token() {
        let client =
            DaprClient::new(DaprConfig::for_port(3500).with_api_token("secret-token")).unwrap();
        let url = client.url(&["v1.0", "state", "statestore", "a/b c"]);
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:3500/v1.0/state/statestore/a%2Fb%20c"
        );
        let debug = format!("{client:?}");
        assert!(!debug.contains("secret-token"), "{debug}");
    }

    #[test]
    fn a_token_that_is_no_header_value_is_a_config_error() {
        let error =
            DaprClient::new(DaprConfig::for_port(1).with_api_token("bad\ntoken")).unwrap_err();
        assert_eq!(error.variable, "DAPR_API_TOKEN");
    }

    #[tokio::test]
    async fn a_refused_connection_is_unreachable_after_the_retries_within_a_second() {
        // A port nothing listens on: bind, note it, close.
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let client = DaprClient::new(DaprConfig::for_port(port)).unwrap();
        let started = Instant::now();
        let result = client
            .send(ApiRequest::new(
                "probe",
                Method::GET,
                client.url(&["v1.0", "healthz"]),
            ))
            .await;
        let elapsed = started.elapsed();
        match result {
            Err(DaprError::Unreachable {
                operation,
                retry_after,
                ..
            }) => {
                assert_eq!(operation, "probe");
                assert_eq!(retry_after, Duration::from_secs(5));
            }
            other => panic!("expected Unreachable, got {other:?}"),
        }
        // Four attempts with 50-100, 100-200 and 200-400 ms between them.
        assert!(elapsed >= Duration::from_millis(350), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");
    }
}
