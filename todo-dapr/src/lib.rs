//! Dapr adapters for the ports of `todo-core`, over the sidecar's HTTP API (Dapr 1.18), and the
//! app-side routes the sidecar calls back.
//!
//! # How the sidecar is used
//!
//! Every service runs next to a `daprd` (in Kubernetes, the second container of the pod; locally,
//! `infra/todo-infra sidecar`). The app never talks to Kafka, PostgreSQL's state table, the scheduler
//! or Kubernetes secrets itself: it calls daprd on loopback, and daprd calls the components named in
//! its component files. Swapping Kafka for Redis is a component-file change.
//!
//! | port | adapter | Dapr API |
//! |---|---|---|
//! | [`EventBus`](todo_core::ports::EventBus) | [`DaprEventBus`] | `POST /v1.0/publish/{pubsub}/{topic}` (CloudEvent, partition key = task id); `publish_all` via `/v1.0/publish/bulk/{pubsub}/{topic}` |
//! | [`Scheduler`](todo_core::ports::Scheduler) | [`DaprScheduler`] | Jobs API: `POST`/`DELETE /v1.0/jobs/{name}` (one-shot `dueTime`, `overwrite: true`) |
//! | [`StateStore`](todo_core::ports::StateStore) | [`DaprStateStore`] | `/v1.0/state/{store}` with ETags and `first-write`; [`DaprStateStore::transaction`] |
//! | [`SecretStore`](todo_core::ports::SecretStore) | [`DaprSecretStore`] | `GET /v1.0/secrets/{store}/{name}` |
//! | (service invocation) | [`ServiceInvoker`] | `/v1.0/invoke/{app-id}/method/{path}` |
//! | (readiness) | [`SidecarHealth`] | `GET /v1.0/healthz`, cached for 1 s |
//!
//! In the other direction, [`DaprApp`] builds the axum routes daprd calls: `GET /dapr/subscribe`
//! (programmatic subscriptions, with dead-letter topics), one delivery route per topic answering
//! Dapr's `SUCCESS` / `RETRY` / `DROP`, and `POST /job/{name}` for due jobs. The [`app`] module
//! explains why subscriptions are programmatic and what each status makes daprd do.
//!
//! # Failures
//!
//! All adapters share one [`DaprClient`]: it sends `dapr-api-token` when `DAPR_API_TOKEN` is set,
//! limits each attempt (5 s) and the connection set-up (1 s), and retries transient failures
//! (connection refused, timeouts, 429 and 5xx) with exponential backoff and jitter
//! ([`RetryPolicy`]), repeating a request that may already have taken effect only when that is
//! harmless. What still fails is a typed [`DaprError`]; converted to the ports'
//! [`PortError`](todo_core::error::PortError), an unreachable sidecar or a failing component becomes
//! `Unavailable { retry_after }`, which the server answers with 503 and `Retry-After`. A stale ETag
//! becomes `Conflict`, a missing secret `NotFound`. When daprd comes back the next call simply
//! succeeds: nothing needs restarting.
//!
//! # Wiring a service
//!
//! ```no_run
//! # async fn wire(
//! #     recurring: todo_core::usecases::RecurringConsumer,
//! #     reminders: todo_core::usecases::ReminderFiredHandler,
//! # ) -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use todo_core::events::{consumers, topics};
//! use todo_dapr::{
//!     DaprApp, DaprClient, DaprEventBus, DaprScheduler, DaprSecretStore, DaprStateStore,
//!     ReminderJobHandler, SidecarHealth, Subscription, DEFAULT_PUBSUB, DEFAULT_SECRET_STORE,
//!     DEFAULT_STATE_STORE,
//! };
//!
//! // DAPR_HTTP_PORT (default 3500) or DAPR_HTTP_ENDPOINT, and DAPR_API_TOKEN.
//! let dapr = DaprClient::from_env()?;
//! let bus = Arc::new(DaprEventBus::new(dapr.clone(), DEFAULT_PUBSUB).with_source("todo-api"));
//! let scheduler = Arc::new(DaprScheduler::new(dapr.clone()));
//! let state = Arc::new(DaprStateStore::new(dapr.clone(), DEFAULT_STATE_STORE));
//! let secrets = Arc::new(DaprSecretStore::new(dapr.clone(), DEFAULT_SECRET_STORE));
//! let health = SidecarHealth::new(dapr.clone()); // readiness: health.is_healthy().await
//!
//! // The routes daprd calls; APP_API_TOKEN, when set, is required on each of them.
//! let dapr_routes = DaprApp::from_env()
//!     .subscribe(
//!         Subscription::new(DEFAULT_PUBSUB, topics::TASK_EVENTS, consumers::RECURRING, Arc::new(recurring))
//!             .with_dead_letter_topic("task-events.dlq"),
//!     )
//!     .on_jobs("reminder-task-", Arc::new(ReminderJobHandler::new(reminders)))
//!     .router();
//! let app = axum::Router::new() /* .merge(api_routes) */ .merge(dapr_routes);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await?;
//! # let _ = (bus, scheduler, state, secrets, health); Ok(()) }
//! ```
//!
//! # Testing
//!
//! The integration tests run these adapters against real daprd 1.18.2 with the Dapr scheduler, Kafka,
//! Redis and PostgreSQL from `todo-testkit`, and pass the same conformance suites
//! (`todo_core::testkit`) as the in-memory adapters.

pub mod app;
mod client;
pub mod cloudevent;
mod config;
mod error;
mod health;
mod invoke;
mod jobs;
mod pubsub;
mod secrets;
mod state;

pub use app::{
    job_fn, DaprApp, DeliveryStatus, JobHandler, ReminderFiring, ReminderJobHandler,
    ReminderObserver, Subscription, RESILIENCY,
};
pub use client::{DaprClient, API_TOKEN_HEADER};
pub use config::{ConfigError, DaprConfig, RetryPolicy, DEFAULT_HTTP_PORT};
pub use error::DaprError;
pub use health::SidecarHealth;
pub use invoke::{Invoked, ServiceInvoker};
pub use jobs::{DaprScheduler, JobRetry};
pub use pubsub::{DaprEventBus, DEFAULT_PUBSUB};
pub use secrets::{DaprSecretStore, DEFAULT_SECRET_STORE};
pub use state::{DaprStateStore, StateOperation, DEFAULT_STATE_STORE};
