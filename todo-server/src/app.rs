//! What a built service is: its routes and background work ([`Service`]), the state its HTTP
//! handlers share ([`AppState`]) and what `/readyz` checks ([`Readiness`]). [`crate::compose`] builds
//! them.

use std::net::IpAddr;
use std::sync::Arc;

use governor::DefaultKeyedRateLimiter;
use metrics_exporter_prometheus::PrometheusHandle;
use todo_core::error::PortError;
use todo_core::model::{TaskId, UserId};
use todo_core::ports::{Clock, NotificationStore, TaskRepository};
use todo_core::usecases::{CalendarFeedService, TaskService};
use todo_dapr::SidecarHealth;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::auth::Accounts;
use crate::config::Config;
use crate::stream::StreamHub;

/// Everything the HTTP handlers need, shared: axum clones the state for every request and every
/// layer that reads it, so a clone is one reference count, not a copy of each service's handles (a
/// profile of creates found copying and dropping them at 6 % of the server's CPU).
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

impl AppState {
    /// The state of a router serving `parts`.
    pub fn new(parts: AppParts) -> Self {
        Self(Arc::new(parts))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

/// What [`AppState`] shares.
pub struct AppParts {
    /// Task use cases.
    pub tasks: TaskService,
    /// Sign-up, login and tokens.
    pub accounts: Accounts,
    /// Per-user live events.
    pub hub: Arc<StreamHub>,
    /// What `/readyz` checks.
    pub readiness: Readiness,
    /// The stored reminders (the inbox).
    pub notifications: Arc<dyn NotificationStore>,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
    /// Limits sign-up and login attempts per client address.
    pub auth_limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    /// The configuration it was built from.
    pub config: Arc<Config>,
    /// The time, for what a handler computes itself (the recurrence preview's default start).
    pub clock: Arc<dyn Clock>,
    /// Who answers chat messages.
    pub assistant: crate::chat::Assistant,
    /// The private calendar feeds.
    pub calendar: CalendarFeedService,
    /// Cancelled when the server starts shutting down, so long-lived streams end and let it stop.
    pub closing: CancellationToken,
    /// Web Push registration: the subscriptions and the VAPID public key.
    pub push: crate::http::PushApi,
}

/// What a service needs to be ready: its storage answers and, in Dapr mode, its sidecar is healthy.
#[derive(Clone)]
pub struct Readiness {
    repo: Arc<dyn TaskRepository>,
    sidecar: Option<SidecarHealth>,
}

impl Readiness {
    /// Checks `repo` and, when given, the sidecar.
    pub fn new(repo: Arc<dyn TaskRepository>, sidecar: Option<SidecarHealth>) -> Self {
        Self { repo, sidecar }
    }

    /// `Ok` when every dependency answers; otherwise the first that does not.
    pub async fn check(&self) -> Result<(), NotReady> {
        self.repo
            .get(UserId(uuid::Uuid::nil()), TaskId(1))
            .await
            .map_err(NotReady::Storage)?;
        match &self.sidecar {
            Some(sidecar) if !sidecar.is_healthy().await => Err(NotReady::Sidecar),
            _ => Ok(()),
        }
    }
}

/// Why a service is not ready.
#[derive(Debug, thiserror::Error)]
pub enum NotReady {
    /// The database does not answer.
    #[error("storage unavailable")]
    Storage(#[source] PortError),
    /// The Dapr sidecar does not answer its health check.
    #[error("the Dapr sidecar is unreachable")]
    Sidecar,
}

/// A running service: its routes and its background tasks.
pub struct Service {
    /// Every route the service serves.
    pub router: axum::Router,
    /// Background loops; awaited on shutdown.
    pub workers: JoinSet<()>,
    /// Cancels the background loops.
    pub shutdown: CancellationToken,
    /// Cancelled when the server starts shutting down, so long-lived streams end.
    pub closing: CancellationToken,
    /// The MCP tools, when the service runs the mcp role (served at `/mcp`, or on stdio).
    pub mcp: Option<crate::mcp::McpServer>,
}
