//! The distributed services, one per process: `api`, `recurring`, `notification` and `audit`.
//!
//! Each shares PostgreSQL and talks to the others only through events (Dapr pub/sub, or Kafka
//! directly: see [`crate::transport`]):
//!
//! | service | consumes | publishes (through its outbox) | also |
//! |---|---|---|---|
//! | `api` | `task-events` (reminders of occurrences created elsewhere); `task-updates` and `reminders` on every replica (live streams) | `task-events`, `task-updates`, `reminders` | REST API, reminder jobs and their callbacks |
//! | `recurring` | `task-events` | `task-events` (the next occurrences) | series-ended marks in the Dapr state store (in PostgreSQL without Dapr) |
//! | `notification` | `reminders` | — | stores each notification (the inbox) |
//! | `audit` | `task-events` | — | the append-only history |
//!
//! Reminder jobs belong to the API: a Dapr job calls back the app that created it, so the API
//! schedules the reminder of every task, including the occurrences the recurring service creates (it
//! learns of them from their `created` event).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use todo_core::events::{consumers, topics};
use todo_core::memory::InMemoryScheduler;
use todo_core::ports::{
    Clock, IdGenerator, Scheduler, SecretStore, StateStore, SystemClock, UuidV7Generator,
};
use todo_core::usecases::{
    AuditConsumer, AuditHandler, NotificationHandler, OccurrenceReminders, RecurringConsumer,
    RecurringTaskHandler, ReminderFiredHandler, ReminderReconciler, TaskService,
};
use todo_dapr::{
    DaprClient, DaprScheduler, DaprSecretStore, DaprStateStore, ReminderJobHandler, SidecarHealth,
    DEFAULT_SECRET_STORE, DEFAULT_STATE_STORE,
};
use todo_kafka_direct::KafkaConfig;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::app::{api_state, open_stores, spawn_relay, BuildError, Readiness, Service, Stores};
use crate::auth::Accounts;
use crate::config::{Bus, Config, Storage};
use crate::http::ApiError;
use crate::runtime::near_term::NearTermScheduler;
use crate::stream::{StreamConsumer, StreamHub};
use crate::transport::Transport;

/// The secret (in the Dapr secret store) that holds the JWT signing key.
pub const JWT_SECRET_NAME: &str = "jwt-signing-key";

/// One of the distributed services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// REST API, live streams, reminder jobs.
    Api,
    /// Next occurrences of recurring tasks.
    Recurring,
    /// Reminder delivery.
    Notification,
    /// The audit log.
    Audit,
}

impl Role {
    /// The subcommand's name.
    pub fn name(self) -> &'static str {
        match self {
            Role::Api => "api",
            Role::Recurring => "recurring",
            Role::Notification => "notification",
            Role::Audit => "audit",
        }
    }
}

/// What every service is assembled from.
struct Base {
    config: Config,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    stores: Stores,
    transport: Transport,
    sidecar: Option<SidecarHealth>,
    workers: JoinSet<()>,
    shutdown: CancellationToken,
}

/// Builds the service `role` from `config`: PostgreSQL (`DATABASE_URL`, migrated at start) and the
/// bus `TODO_BUS` (`dapr`: the sidecar at `DAPR_HTTP_PORT`; `kafka`: `TODO_KAFKA_BROKERS`).
pub async fn build(role: Role, config: Config) -> Result<Service, BuildError> {
    let name = role.name();
    if config.storage == Storage::Memory {
        return Err(BuildError::Unsupported(format!(
            "`todo-server {name}` needs DATABASE_URL: the services share PostgreSQL (for everything in one process without infrastructure, run `todo-server all`)"
        )));
    }
    let transport = match config.bus {
        Bus::Dapr => {
            let client = DaprClient::from_env()
                .map_err(|e| BuildError::Unsupported(format!("configuration: {e}")))?;
            Transport::dapr(client, &format!("todo-{name}"))
        }
        Bus::Kafka => {
            let brokers = config.kafka_brokers.clone().unwrap_or_default();
            let kafka = KafkaConfig::new(brokers)
                .with_client_id(format!("todo-{name}-{}", config.replica_id))
                .with_source(format!("todo-{name}"));
            Transport::kafka(kafka, &config.replica_id)
                .map_err(|e| BuildError::Unsupported(format!("kafka: {e}")))?
        }
        Bus::Memory => {
            return Err(BuildError::Unsupported(format!(
                "`todo-server {name}` needs TODO_BUS=dapr or TODO_BUS=kafka (the in-process bus only connects the services of `todo-server all`)"
            )))
        }
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let stores = open_stores(&config.storage, clock.clone()).await?;
    let sidecar = transport.dapr_client().cloned().map(SidecarHealth::new);
    let base = Base {
        config,
        clock,
        ids: Arc::new(UuidV7Generator),
        stores,
        transport,
        sidecar,
        workers: JoinSet::new(),
        shutdown: CancellationToken::new(),
    };
    info!(service = name, bus = ?base.config.bus, "starting");
    match role {
        Role::Api => build_api(base).await,
        Role::Recurring => Ok(build_recurring(base)),
        Role::Notification => Ok(build_notification(base)),
        Role::Audit => Ok(build_audit(base)),
    }
}

async fn build_api(mut base: Base) -> Result<Service, BuildError> {
    let repo = base.stores.tasks.clone();
    let clock = base.clock.clone();
    let secret = api_jwt_secret(&base).await?;
    let scheduler: Arc<dyn Scheduler> = match base.transport.dapr_client().cloned() {
        Some(client) => {
            let handler = ReminderFiredHandler::new(repo.clone(), clock.clone());
            base.transport.on_reminder_jobs(Arc::new(
                ReminderJobHandler::new(handler)
                    .observe(crate::runtime::reminder_metrics(clock.clone())),
            ));
            Arc::new(DaprScheduler::new(client))
        }
        None => {
            // Without Dapr, each API replica fires reminders from its own in-process schedule,
            // rebuilt from the database; a firing is recorded, so replicas never notify twice.
            let in_process = Arc::new(InMemoryScheduler::new());
            base.workers.spawn(crate::runtime::fire_reminders(
                in_process.clone(),
                ReminderFiredHandler::new(repo.clone(), clock.clone()),
                clock.clone(),
                base.shutdown.clone(),
            ));
            Arc::new(NearTermScheduler::new(
                in_process,
                clock.clone(),
                NearTermScheduler::horizon_for(base.config.reconcile_interval),
            ))
        }
    };
    base.workers.spawn(crate::runtime::reconcile_reminders(
        ReminderReconciler::new(repo.clone(), scheduler.clone(), clock.clone()),
        base.config.reconcile_interval,
        base.shutdown.clone(),
    ));
    base.transport.consume(
        topics::TASK_EVENTS,
        "api-reminders",
        Arc::new(OccurrenceReminders::new(scheduler.clone(), clock.clone())),
    );
    let hub = Arc::new(StreamHub::new());
    for topic in [topics::TASK_UPDATES, topics::REMINDERS] {
        base.transport.broadcast(
            topic,
            &format!("api-stream-{topic}"),
            Arc::new(StreamConsumer(hub.clone())),
        );
    }
    spawn_relay(
        &mut base.workers,
        &base.stores,
        base.transport.publisher(),
        clock.clone(),
        &base.shutdown,
    );

    let tasks = TaskService::new(repo.clone(), scheduler, clock.clone(), base.ids.clone());
    let accounts = Accounts::new(
        base.stores.users.clone(),
        clock,
        base.ids.clone(),
        &secret,
        base.config.jwt_ttl,
    );
    let readiness = Readiness::new(repo, base.sidecar.clone());
    let state = api_state(&base.config, &base.stores, tasks, accounts, hub, readiness);
    let closing = state.closing.clone();
    let mut router = crate::http::router(state);
    if let Some(sidecar) = base.sidecar.clone() {
        router = router.layer(middleware::from_fn_with_state(sidecar, require_sidecar));
    }
    let router = router.merge(base.transport.start(&mut base.workers, &base.shutdown));
    Ok(Service {
        router,
        workers: base.workers,
        shutdown: base.shutdown,
        closing,
    })
}

/// The API's JWT key: `TODO_JWT_SECRET`, or with Dapr the secret store's `jwt-signing-key`. Every
/// replica must sign with the same key, so there is no random fallback here.
async fn api_jwt_secret(base: &Base) -> Result<Vec<u8>, BuildError> {
    if let Some(secret) = &base.config.jwt_secret {
        return Ok(secret.as_bytes().to_vec());
    }
    let Some(client) = base.transport.dapr_client() else {
        return Err(BuildError::Unsupported(
            "configuration: TODO_JWT_SECRET: required by `todo-server api` with TODO_BUS=kafka"
                .into(),
        ));
    };
    let secrets = DaprSecretStore::new(client.clone(), DEFAULT_SECRET_STORE);
    let mut attempts = 0;
    let values = loop {
        // The sidecar may start after the app: wait for it a little.
        match secrets.get(JWT_SECRET_NAME).await {
            Ok(values) => break values,
            Err(error) if attempts < 30 => {
                attempts += 1;
                warn!(error = %todo_core::error::chain(&error), "JWT signing key not readable from the secret store yet");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(error) => {
                return Err(BuildError::Unsupported(format!(
                    "secret `{JWT_SECRET_NAME}` in `{DEFAULT_SECRET_STORE}`: {error} (or set TODO_JWT_SECRET)"
                )))
            }
        }
    };
    let key = values
        .get(JWT_SECRET_NAME)
        .or_else(|| values.values().next())
        .cloned()
        .unwrap_or_default();
    if key.len() < 32 {
        return Err(BuildError::Unsupported(format!(
            "secret `{JWT_SECRET_NAME}` must be at least 32 bytes"
        )));
    }
    Ok(key.into_bytes())
}

fn build_recurring(mut base: Base) -> Service {
    let state: Arc<dyn StateStore> = match base.transport.dapr_client() {
        Some(client) => Arc::new(DaprStateStore::new(client.clone(), DEFAULT_STATE_STORE)),
        // Without Dapr, the same marks live in PostgreSQL's `state_store` table.
        None => base.stores.state.clone(),
    };
    let handler = RecurringTaskHandler::new(
        base.stores.tasks.clone(),
        state,
        base.clock.clone(),
        base.ids.clone(),
    );
    base.transport.consume(
        topics::TASK_EVENTS,
        consumers::RECURRING,
        Arc::new(RecurringConsumer(handler)),
    );
    spawn_relay(
        &mut base.workers,
        &base.stores,
        base.transport.publisher(),
        base.clock.clone(),
        &base.shutdown,
    );
    worker_service(base)
}

fn build_audit(mut base: Base) -> Service {
    let handler = AuditHandler::new(base.stores.audit.clone());
    base.transport.consume(
        topics::TASK_EVENTS,
        consumers::AUDIT,
        Arc::new(AuditConsumer(handler)),
    );
    worker_service(base)
}

fn build_notification(mut base: Base) -> Service {
    base.transport.consume(
        topics::REMINDERS,
        consumers::NOTIFICATION,
        Arc::new(NotificationHandler::new(
            base.stores.notifications.clone(),
            base.clock.clone(),
        )),
    );
    worker_service(base)
}

/// A service without the REST API: operations routes and, with Dapr, the routes daprd calls.
fn worker_service(mut base: Base) -> Service {
    let readiness = Readiness::new(base.stores.tasks.clone(), base.sidecar.clone());
    let ops = crate::http::operations_routes(readiness, crate::metrics::install());
    let router = ops.merge(base.transport.start(&mut base.workers, &base.shutdown));
    Service {
        router,
        workers: base.workers,
        shutdown: base.shutdown,
        closing: CancellationToken::new(),
    }
}

/// With the sidecar unreachable, a change could be stored but neither published nor scheduled in
/// time: answer 503 with `Retry-After` instead. Reads need no sidecar and keep working.
async fn require_sidecar(
    State(sidecar): State<SidecarHealth>,
    request: Request,
    next: Next,
) -> Response {
    let writes = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if writes && request.uri().path().starts_with("/api/v1/tasks") && !sidecar.is_healthy().await {
        return ApiError::unavailable(
            "the Dapr sidecar is unreachable, so changes are refused for now; try again shortly",
            Some(Duration::from_secs(5)),
        )
        .into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Config {
        let vars: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_vars(&vars).unwrap()
    }

    async fn refusal(role: Role, pairs: &[(&str, &str)]) -> String {
        match build(role, config(pairs)).await {
            Ok(_) => panic!("`{}` started with {pairs:?}", role.name()),
            Err(error) => error.to_string(),
        }
    }

    #[tokio::test]
    async fn a_service_without_a_database_or_a_bus_says_what_is_missing() {
        for role in [Role::Api, Role::Recurring, Role::Notification, Role::Audit] {
            let message = refusal(role, &[("TODO_BUS", "dapr")]).await;
            assert!(message.contains("DATABASE_URL"), "{message}");
            let message = refusal(role, &[("DATABASE_URL", "postgres://127.0.0.1:1/x")]).await;
            assert!(message.contains("TODO_BUS=dapr"), "{message}");
        }
    }

    #[tokio::test]
    async fn a_bad_sidecar_address_is_a_configuration_error() {
        std::env::set_var("DAPR_HTTP_ENDPOINT", "not a url");
        let message = refusal(
            Role::Audit,
            &[
                ("DATABASE_URL", "postgres://127.0.0.1:1/x"),
                ("TODO_BUS", "dapr"),
            ],
        )
        .await;
        std::env::remove_var("DAPR_HTTP_ENDPOINT");
        assert!(message.starts_with("configuration:"), "{message}");
        assert!(message.contains("DAPR_HTTP_ENDPOINT"), "{message}");
    }
}
