//! What each role adds to a service: its consumers (with their group names from
//! [`todo_core::events::consumers`]), its background loops and, for the API, its routes.
//!
//! | role | consumes | publishes (through the outbox) | also |
//! |---|---|---|---|
//! | `api` | `task-events` (reminders of occurrences created elsewhere); `task-events`, `task-updates` and `reminders` on every replica (live streams) | `task-events`, `task-updates`, `reminders` | REST API, reminder jobs and their callbacks; chat in process, or by invoking `mcp` through Dapr |
//! | `recurring` | `task-events` | `task-events` (the next occurrences) | series-ended marks in the Dapr state store (in the database without Dapr) |
//! | `notification` | `reminders` | — | stores each notification (the inbox) |
//! | `audit` | `task-events` | — | the append-only history |
//! | `mcp` | — | `task-events`, `task-updates`, `reminders` | the MCP tools at `/mcp`; `POST /chat`, invoked by the API (conversations in the Dapr state store); reminder jobs of the tasks it writes |
//!
//! The roles that write tasks (api, mcp) share one [`TaskWrites`]: in `all` it is built once, so
//! reminders are scheduled and reconciled by one loop; `todo-server mcp` alone builds the same.
//! Reminder jobs belong to the API: a Dapr job calls back the app that created it, so the API
//! schedules the reminder of every task, including the occurrences the recurring role creates (it
//! learns of them from their `created` event).

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use governor::{Quota, RateLimiter};
use todo_core::error::chain;
use todo_core::events::{consumers, topics};
use todo_core::memory::{InMemoryLocks, InMemoryScheduler};
use todo_core::ports::{
    Locks, ReminderChannel, Scheduler, SecretStore, StateStore, TaskRepository,
};
use todo_core::usecases::{
    AuditConsumer, AuditHandler, ChatService, DeliveryPolicy, Horizon, HorizonScheduler,
    NotificationHandler, OccurrenceReminders, OnCommit, OutboxRelay, RecurringConsumer,
    RecurringTaskHandler, RelayOnCommit, ReminderDeliveries, ReminderFiredHandler,
    ReminderReconciler, TaskService,
};
use todo_dapr::{
    DaprScheduler, DaprSecretStore, DaprStateStore, ReminderJobHandler, ServiceInvoker,
    SidecarHealth, DEFAULT_SECRET_STORE, DEFAULT_STATE_STORE,
};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::{BuildError, Parts};
use crate::app::{AppParts, AppState, Readiness};
use crate::auth::Accounts;
use crate::channels::email::EmailChannel;
use crate::chat::Assistant;
use crate::config::Bus;
use crate::http::ApiError;
use crate::stream::{StreamConsumer, StreamEcho, StreamHub};

/// How often the outbox relay looks for rows it was not woken for (other writers, retries due).
const RELAY_POLL: Duration = Duration::from_millis(250);

/// How often a delivery worker looks for retries that fell due and other replicas' records.
const DELIVERY_POLL: Duration = Duration::from_secs(1);

/// The secret (in the Dapr secret store) that holds the SMTP server's URL.
pub const SMTP_URL_SECRET: &str = "smtp-url";

/// The sidecar's health, when the transport is Dapr.
pub(super) fn sidecar(parts: &Parts) -> Option<SidecarHealth> {
    parts
        .transport
        .dapr_client()
        .cloned()
        .map(SidecarHealth::new)
}

/// The task use cases of a role that writes tasks, with the reminder scheduler they schedule on.
#[derive(Clone)]
pub(crate) struct TaskWrites {
    pub(crate) tasks: TaskService,
    pub(crate) scheduler: Arc<dyn Scheduler>,
}

/// The task use cases, built once per process by the first role that writes tasks: reminder jobs
/// (scheduling, firing, reconciling) and, in process, relaying each change before it returns.
fn task_writes(parts: &mut Parts) -> TaskWrites {
    if let Some(writes) = &parts.writes {
        return writes.clone();
    }
    let repo = parts.stores.tasks.clone();
    let clock = parts.clock.clone();
    let horizon = Horizon::for_interval(parts.config.reconcile_interval);
    let ReminderScheduler { scheduler, locks } = reminder_scheduler(parts);
    let scheduler: Arc<dyn Scheduler> =
        Arc::new(HorizonScheduler::new(scheduler, clock.clone(), horizon));
    parts.workers.spawn(crate::runtime::reconcile_reminders(
        ReminderReconciler::new(
            repo.clone(),
            scheduler.clone(),
            clock.clone(),
            horizon,
            locks,
        ),
        parts.config.reconcile_interval,
        parts.shutdown.clone(),
    ));
    // In process, a completion relays its events before it returns, so the recurring role has
    // handled it when the request answers: `complete` returns the next occurrence (SPEC §6).
    // Consumers keep the plain repository (see `RelayOnCommit`).
    let writes: Arc<dyn TaskRepository> = match parts.config.bus {
        Bus::InProcess => Arc::new(OnCommit::new(repo, RelayOnCommit::new(parts.relay.clone()))),
        _ => repo,
    };
    let tasks = TaskService::new(writes, scheduler.clone(), clock, parts.ids.clone());
    let writes = TaskWrites { tasks, scheduler };
    parts.writes = Some(writes.clone());
    writes
}

/// Sign-up, login and tokens, built once per process by the first role that needs them.
async fn accounts(parts: &mut Parts) -> Result<Accounts, BuildError> {
    if let Some(accounts) = &parts.accounts {
        return Ok(accounts.clone());
    }
    let key = super::signing_key::jwt_key(parts).await?;
    let accounts = Accounts::new(
        parts.stores.users.clone(),
        parts.clock.clone(),
        parts.ids.clone(),
        &key,
        parts.config.auth.jwt_ttl,
    );
    parts.accounts = Some(accounts.clone());
    Ok(accounts)
}

/// The API: REST routes, live streams, reminder jobs (scheduling, firing, reconciling).
pub(super) async fn api(parts: &mut Parts) -> Result<(), BuildError> {
    let repo = parts.stores.tasks.clone();
    let clock = parts.clock.clone();
    let TaskWrites { tasks, scheduler } = task_writes(parts);
    parts.transport.consume(
        topics::TASK_EVENTS,
        consumers::API_REMINDERS,
        Arc::new(OccurrenceReminders::new(scheduler.clone(), clock.clone())),
    );
    let hub = Arc::new(StreamHub::new());
    parts.transport.broadcast(
        topics::TASK_EVENTS,
        consumers::API_STREAM_TASK_EVENTS,
        Arc::new(StreamConsumer(hub.clone())),
    );
    parts.transport.broadcast(
        topics::TASK_UPDATES,
        consumers::API_STREAM_TASK_UPDATES,
        Arc::new(StreamConsumer(hub.clone())),
    );
    parts.transport.broadcast(
        topics::REMINDERS,
        consumers::API_STREAM_REMINDERS,
        Arc::new(StreamConsumer(hub.clone())),
    );
    // A new sidecar's broadcast group starts at the newest offset: the streams resynchronise.
    let restarted = hub.clone();
    parts
        .transport
        .on_broadcast_gap(Arc::new(move || restarted.broadcast_restarted()));
    // Over a broker, what this replica relays reaches its own streams without the round trip
    // (see `StreamEcho`); in process, the bus already delivers everything here.
    if !matches!(parts.config.bus, Bus::InProcess) {
        let publisher = Arc::new(StreamEcho::new(parts.transport.publisher(), hub.clone()));
        parts.relay = OutboxRelay::new(parts.stores.outbox.clone(), publisher, clock.clone());
    }

    let accounts = accounts(parts).await?;
    let assistant = match (parts.transport.dapr_client(), &parts.config.bus) {
        (Some(client), Bus::Dapr(dapr)) => Assistant::Invoked {
            invoker: ServiceInvoker::new(client.clone()),
            app_id: dapr.mcp_app_id.clone(),
        },
        _ => Assistant::InProcess(chat(parts, tasks.clone())),
    };
    let push = super::push::push_api(parts).await?;
    let sidecar = sidecar(parts);
    let per_minute = NonZeroU32::new(parts.config.auth.rate_per_minute).unwrap_or(NonZeroU32::MIN);
    let calendar = todo_core::usecases::CalendarFeedService::new(
        parts.stores.calendar_feeds.clone(),
        tasks.clone(),
        parts.clock.clone(),
    );
    let state = AppState::new(AppParts {
        tasks,
        accounts,
        hub,
        readiness: Readiness::new(repo, sidecar.clone()),
        notifications: parts.stores.notifications.clone(),
        metrics: crate::metrics::install(),
        auth_limiter: Arc::new(RateLimiter::keyed(Quota::per_minute(per_minute))),
        config: Arc::new(parts.config.clone()),
        clock,
        assistant,
        calendar,
        closing: CancellationToken::new(),
        push,
    });
    let closing = state.closing.clone();
    let mut router = crate::http::router(state);
    if let Some(sidecar) = sidecar {
        router = router.layer(middleware::from_fn_with_state(sidecar, require_sidecar));
    }
    parts.api = Some((router, closing));
    Ok(())
}

/// Where reminder jobs are held, and the locks under which it is reconciled.
struct ReminderScheduler {
    scheduler: Arc<dyn Scheduler>,
    /// Whose turn it is to reconcile `scheduler`: everyone sharing it takes turns.
    locks: Arc<dyn Locks>,
}

/// With Dapr, reminder jobs live in the Dapr scheduler, which calls the API back; every replica
/// shares it, so one replica at a time reconciles it (under the store's locks: PostgreSQL advisory
/// locks across replicas). Otherwise each API process fires them from an in-process schedule of its
/// own, which it reconciles itself; a firing is recorded, so replicas never notify twice. Either
/// way [`task_writes`] puts the scheduler behind the horizon: it holds only the jobs due soon, and
/// the periodic reconciliation brings later ones in from the database as they approach.
fn reminder_scheduler(parts: &mut Parts) -> ReminderScheduler {
    let repo = parts.stores.tasks.clone();
    let clock = parts.clock.clone();
    if let Some(client) = parts.transport.dapr_client().cloned() {
        let handler = ReminderFiredHandler::new(repo, clock.clone());
        parts.transport.on_reminder_jobs(Arc::new(
            ReminderJobHandler::new(handler).observe(crate::runtime::reminder_metrics(clock)),
        ));
        return ReminderScheduler {
            scheduler: Arc::new(DaprScheduler::new(client)),
            locks: parts.stores.locks.clone(),
        };
    }
    let in_process = Arc::new(InMemoryScheduler::new());
    parts.workers.spawn(crate::runtime::fire_reminders(
        in_process.clone(),
        ReminderFiredHandler::new(repo, clock.clone()),
        clock,
        parts.shutdown.clone(),
    ));
    ReminderScheduler {
        scheduler: in_process,
        locks: Arc::new(InMemoryLocks::new()),
    }
}

/// The recurring role: next occurrences from `completed` events, series ended by `deleted` ones.
pub(super) fn recurring(parts: &mut Parts) {
    let handler = RecurringTaskHandler::new(
        parts.stores.tasks.clone(),
        state_store(parts),
        parts.clock.clone(),
        parts.ids.clone(),
    );
    parts.transport.consume(
        topics::TASK_EVENTS,
        consumers::RECURRING,
        Arc::new(RecurringConsumer(handler)),
    );
}

/// The notification role: stores each reminder for the user's inbox, and delivers it on every
/// configured channel (email, Web Push), each channel with its own worker.
pub(super) async fn notification(parts: &mut Parts) -> Result<(), BuildError> {
    let mut channels: Vec<Arc<dyn ReminderChannel>> = Vec::new();
    if let Some(email) = email_channel(parts).await? {
        channels.push(Arc::new(email));
    }
    match super::push::push_channel(parts).await? {
        Some(push) => {
            info!("reminders by Web Push are on");
            channels.push(Arc::new(push));
        }
        None => info!("reminders by Web Push are off: no VAPID key"),
    }
    let deliveries = ReminderDeliveries::new(
        parts.stores.deliveries.clone(),
        parts.stores.users.clone(),
        parts.clock.clone(),
        channels,
        DeliveryPolicy::default(),
    );
    for channel in deliveries.channels() {
        parts.workers.spawn(crate::runtime::deliver_reminders(
            deliveries.clone(),
            channel,
            DELIVERY_POLL,
            parts.shutdown.clone(),
        ));
    }
    let handler = NotificationHandler::new(parts.stores.notifications.clone(), parts.clock.clone())
        .with_deliveries(deliveries);
    parts.transport.consume(
        topics::REMINDERS,
        consumers::NOTIFICATION,
        Arc::new(handler),
    );
    Ok(())
}

/// The email channel: `TODO_SMTP_URL`, else with Dapr the secret `smtp-url`; none (email off, said
/// at start) without either.
async fn email_channel(parts: &Parts) -> Result<Option<EmailChannel>, BuildError> {
    let url = match (&parts.config.email.smtp_url, parts.transport.dapr_client()) {
        (Some(url), _) => Some(url.clone()),
        (None, Some(client)) => {
            let secrets = DaprSecretStore::new(client.clone(), DEFAULT_SECRET_STORE);
            match secrets.get(SMTP_URL_SECRET).await {
                Ok(values) => values
                    .get(SMTP_URL_SECRET)
                    .or_else(|| values.values().next())
                    .cloned(),
                Err(error) => {
                    warn!(secret = SMTP_URL_SECRET, error = %chain(&error),
                          "no SMTP server in the secret store: reminders by email are off");
                    None
                }
            }
        }
        (None, None) => None,
    };
    let Some(url) = url else {
        info!("reminders by email are off: set TODO_SMTP_URL (or the secret `smtp-url` with Dapr)");
        return Ok(None);
    };
    let channel = EmailChannel::new(&url, &parts.config.email.mail_from)
        .map_err(|source| BuildError::Email { source })?;
    info!(server = channel.server(), from = %parts.config.email.mail_from, "reminders by email are on");
    Ok(Some(channel))
}

/// The audit role: the append-only history of every task.
pub(super) fn audit(parts: &mut Parts) {
    let handler = AuditHandler::new(parts.stores.audit.clone());
    parts.transport.consume(
        topics::TASK_EVENTS,
        consumers::AUDIT,
        Arc::new(AuditConsumer(handler)),
    );
}

/// The mcp role: the task tools, over the same use cases and accounts as the API, and the chat the
/// API invokes.
pub(super) async fn mcp(parts: &mut Parts) -> Result<(), BuildError> {
    let TaskWrites { tasks, .. } = task_writes(parts);
    let accounts = accounts(parts).await?;
    let chat = chat(parts, tasks.clone());
    parts.mcp = Some(crate::mcp::McpServer::new(
        tasks,
        parts.clock.clone(),
        accounts,
        chat,
    ));
    Ok(())
}

/// The chat use case, keeping conversations in the Dapr state store with Dapr, in the database
/// otherwise.
fn chat(parts: &Parts, tasks: TaskService) -> ChatService {
    ChatService::new(
        tasks,
        parts.stores.users.clone(),
        state_store(parts),
        parts.clock.clone(),
    )
}

/// The Dapr state store with Dapr; the database's state store otherwise.
fn state_store(parts: &Parts) -> Arc<dyn StateStore> {
    match parts.transport.dapr_client() {
        Some(client) => Arc::new(DaprStateStore::new(client.clone(), DEFAULT_STATE_STORE)),
        None => parts.stores.state.clone(),
    }
}

/// Relays the outbox to the transport until shutdown, then drains it.
pub(super) fn relay(parts: &mut Parts) {
    parts.workers.spawn(crate::runtime::relay_outbox(
        parts.relay.clone(),
        parts.stores.outbox.clone(),
        parts.clock.clone(),
        RELAY_POLL,
        parts.config.outbox_retention,
        parts.stores.relay_wake.clone(),
        parts.shutdown.clone(),
    ));
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
