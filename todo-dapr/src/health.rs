//! Is the sidecar up? A cached answer of daprd's `/v1.0/healthz`, for the server's readiness probe.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use tokio::sync::Mutex;

use crate::client::{ApiRequest, DaprClient};
use crate::error::DaprError;

/// The sidecar's health, checked at most once per `ttl` (default 1 s) however many probes ask:
/// concurrent callers share one check.
#[derive(Debug, Clone)]
pub struct SidecarHealth {
    client: DaprClient,
    ttl: Duration,
    last: Arc<Mutex<Option<(Instant, bool)>>>,
}

impl SidecarHealth {
    /// Checks the sidecar of `client`, caching each answer for one second.
    #[must_use]
    pub fn new(client: DaprClient) -> Self {
        Self {
            client,
            ttl: Duration::from_secs(1),
            last: Arc::new(Mutex::new(None)),
        }
    }

    /// Caches each answer for `ttl` instead.
    #[must_use]
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Whether daprd answered `GET /v1.0/healthz` with 2xx (it does once its components are loaded and
    /// the app channel is up), as of at most `ttl` ago.
    pub async fn is_healthy(&self) -> bool {
        let mut last = self.last.lock().await;
        if let Some((at, healthy)) = *last {
            if at.elapsed() < self.ttl {
                return healthy;
            }
        }
        let healthy = self.check().await.is_ok();
        *last = Some((Instant::now(), healthy));
        healthy
    }

    /// Asks daprd now, once, with a one-second limit; the error says why it is not healthy.
    pub async fn check(&self) -> Result<(), DaprError> {
        let request = ApiRequest::new(
            "health check",
            Method::GET,
            self.client.url(&["v1.0", "healthz"]),
        )
        .timeout(Duration::from_secs(1).min(self.client.config().request_timeout))
        .max_attempts(1);
        let response = self.client.send(request).await?;
        if response.status.is_success() {
            Ok(())
        } else {
            Err(self.client.api_error("health check", &response))
        }
    }
}
