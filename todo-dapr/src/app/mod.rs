//! The routes the sidecar calls in the app: programmatic subscriptions (`GET /dapr/subscribe`), event
//! deliveries, and job callbacks (`POST /job/{name}`), as an axum [`Router`] to merge into the server's.
//!
//! ```text
//!  daprd ── GET  /dapr/subscribe ─────────────────▶ [{"pubsubname","topic","route","deadLetterTopic"}]
//!  daprd ── POST /dapr/pubsub/{pubsub}/{topic} ───▶ decode CloudEvent ─▶ MessageHandler(s) ─▶ {"status"}
//!  daprd ── POST /job/{name} ─────────────────────▶ JobHandler (by name prefix) ─▶ 200 / 503 / 404
//! ```
//!
//! # Why programmatic subscriptions
//!
//! The app declares what it consumes in code, next to the handlers: [`DaprApp::subscribe`] both
//! registers the handler and lists the subscription that daprd reads at start-up, so the two can
//! never disagree, and the same binary subscribes to what its subcommand runs. Declarative
//! `Subscription` files would need a file per service kept in step with the code; they remain
//! possible ([`DaprApp::subscriptions`] prints what to declare), but nothing here needs them.
//!
//! # Status semantics
//!
//! Every delivery is answered 200 with Dapr's `{"status": ...}`, never an error status (daprd retries
//! any non-2xx, which would turn a bug into a redelivery loop):
//!
//! | outcome | status | what daprd does |
//! |---|---|---|
//! | every handler returned `Ok` | `SUCCESS` | acknowledges the message |
//! | some handler returned [`HandleError::Retry`](todo_core::ports::HandleError::Retry) | `RETRY` | delivers it again (see below) |
//! | the body is no event (not JSON, no event id), a handler returned [`HandleError::Drop`](todo_core::ports::HandleError::Drop), or a handler panicked | `DROP` | sends it to the subscription's dead-letter topic, or discards it with a warning when there is none |
//!
//! Several consumers of one topic in one app share the delivery (daprd delivers a topic once per app
//! id): each is called in turn and the worst outcome wins (`RETRY` over `DROP` over `SUCCESS`), so on
//! a retry the consumers that succeeded see the message again and must be idempotent, which every
//! consumer is (SPEC §4).
//!
//! **`RETRY` with a dead-letter topic.** daprd retries a `RETRY` answer with the component's inbound
//! resiliency policy; when that policy is exhausted (or there is none) it sends the message to the
//! dead-letter topic. Without a dead-letter topic, `pubsub.kafka` itself retries forever every 5 s.
//! So a subscription with a dead-letter topic needs a resiliency policy that retries the component's
//! inbound calls indefinitely with backoff, or a transient failure would dead-letter good messages:
//! [`RESILIENCY`] is that policy (load it with the components).
//!
//! # Job callbacks
//!
//! daprd posts the job's data as the JSON body. The handler registered for the longest prefix of the
//! job's name gets it ([`DaprApp::on_jobs`]). `Ok` answers 200; [`HandleError::Retry`](todo_core::ports::HandleError::Retry) answers 503,
//! and the scheduler tries again by the job's failure policy ([`crate::JobRetry`]);
//! [`HandleError::Drop`](todo_core::ports::HandleError::Drop), an unreadable body or an unknown name answers 404, which daprd counts as a
//! failed trigger but does not retry.
//!
//! # Authentication
//!
//! With an app API token ([`DaprApp::from_env`] reads `APP_API_TOKEN`, the variable daprd reads for
//! the same purpose), every route answers 401 to a call without the matching `dapr-api-token` header:
//! only the sidecar may call them.

mod jobs;
mod subscriptions;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;

pub use jobs::{job_fn, JobHandler, ReminderFiring, ReminderJobHandler, ReminderObserver};
pub use subscriptions::{DeliveryStatus, Subscription};

use crate::client::API_TOKEN_HEADER;
use jobs::JobRoutes;
use subscriptions::TopicRoutes;

/// A Dapr resiliency policy that retries inbound deliveries of the `kafka-pubsub` component forever,
/// with exponential backoff capped at 30 s: with it, `RETRY` means "try again later" even on
/// subscriptions that have a dead-letter topic (see the module docs). Load it with the components
/// (`--resources-path`); it is the file `deploy/dapr/local/resiliency.yaml`, which every local sidecar
/// loads.
pub const RESILIENCY: &str = include_str!("../../resources/resiliency.yaml");

/// Builds the router of the routes daprd calls. Register consumers and job handlers, then call
/// [`DaprApp::router`].
#[derive(Clone, Default)]
#[must_use]
pub struct DaprApp {
    subscriptions: Vec<Subscription>,
    jobs: Vec<(String, Arc<dyn JobHandler>)>,
    app_api_token: Option<String>,
    on_sidecar_start: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl std::fmt::Debug for DaprApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DaprApp")
            .field("subscriptions", &self.subscriptions)
            .field(
                "job_prefixes",
                &self.jobs.iter().map(|(p, _)| p).collect::<Vec<_>>(),
            )
            .field("app_api_token", &self.app_api_token.as_ref().map(|_| "***"))
            .field("on_sidecar_start", &self.on_sidecar_start.is_some())
            .finish()
    }
}

impl DaprApp {
    /// No subscriptions, no job handlers, no token.
    pub fn new() -> Self {
        Self::default()
    }

    /// Like [`Self::new`], with the token from `APP_API_TOKEN` (unset or empty: none).
    pub fn from_env() -> Self {
        Self::new().with_app_api_token(std::env::var("APP_API_TOKEN").ok())
    }

    /// Requires `dapr-api-token: <token>` on every call (`None` or an empty token: no check).
    pub fn with_app_api_token(mut self, token: Option<impl Into<String>>) -> Self {
        self.app_api_token = token.map(Into::into).filter(|t| !t.trim().is_empty());
        self
    }

    /// Consumes a topic with a handler (see [`Subscription`]).
    pub fn subscribe(mut self, subscription: Subscription) -> Self {
        self.subscriptions.push(subscription);
        self
    }

    /// Handles the jobs whose name starts with `prefix` (`""`: every job without a longer match).
    pub fn on_jobs(mut self, prefix: impl Into<String>, handler: Arc<dyn JobHandler>) -> Self {
        self.jobs.push((prefix.into(), handler));
        self
    }

    /// Calls `f` each time a sidecar asks for the subscriptions, which daprd does when it starts.
    /// A new sidecar's consumer groups may be new too: one that starts at the newest offset (a
    /// broadcast) misses what was published while no sidecar was consuming.
    pub fn on_sidecar_start(mut self, f: Arc<dyn Fn() + Send + Sync>) -> Self {
        self.on_sidecar_start = Some(f);
        self
    }

    /// What `GET /dapr/subscribe` answers: one entry per (pub/sub, topic), in Dapr's programmatic
    /// format. Also what a declarative `Subscription` would have to declare.
    #[must_use]
    pub fn subscriptions(&self) -> Value {
        TopicRoutes::new(&self.subscriptions).listing()
    }

    /// The routes: `GET /dapr/subscribe`, `POST /dapr/pubsub/{pubsub}/{topic}`, `POST /job/{name}`.
    pub fn router(self) -> Router {
        let topics = Arc::new(TopicRoutes::new(&self.subscriptions));
        let jobs = Arc::new(JobRoutes::new(self.jobs));
        let listing = topics.listing();
        let on_sidecar_start = self.on_sidecar_start;
        let routes = Router::new()
            .route(
                "/dapr/subscribe",
                get(move || {
                    if let Some(f) = &on_sidecar_start {
                        f();
                    }
                    let listing = listing.clone();
                    async move { axum::Json(listing) }
                }),
            )
            .route(
                "/dapr/pubsub/{pubsub}/{topic}",
                post(subscriptions::deliver).with_state(topics),
            )
            .route("/job/{name}", post(jobs::trigger).with_state(jobs));
        match self.app_api_token {
            Some(token) => routes.layer(axum::middleware::from_fn_with_state(
                Arc::<str>::from(token),
                require_token,
            )),
            None => routes,
        }
    }
}

/// Rejects calls without the app API token: only the sidecar knows it.
async fn require_token(State(token): State<Arc<str>>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(API_TOKEN_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if constant_time_eq(presented, token.as_bytes()) {
        next.run(request).await
    } else {
        tracing::warn!(path = %request.uri().path(), "call without the app API token refused");
        (StatusCode::UNAUTHORIZED, "missing or wrong dapr-api-token").into_response()
    }
}

/// Compares without stopping at the first difference, so timing does not reveal the token.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Metadata of a subscription, as Dapr takes it (`rawPayload`, ...).
pub type SubscriptionMetadata = BTreeMap<String, String>;

#[cfg(test)]
mod tests;
