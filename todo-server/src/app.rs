//! Assembly: builds the adapters the configuration asks for, wires them into the use cases, and starts
//! the background work of each service.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use metrics_exporter_prometheus::PrometheusHandle;
use rand::RngCore;
use todo_core::events::{consumers, topics};
use todo_core::memory::{
    InMemoryEventBus, InMemoryNotificationStore, InMemoryScheduler, InMemoryStateStore,
    InMemoryTaskRepository, InMemoryUserRepository,
};
use todo_core::model::{TaskId, UserId};
use todo_core::ports::{
    AuditLog, Clock, EventBus, IdGenerator, MessageHandler, NotificationStore, OutboxStore,
    Scheduler, StateStore, SystemClock, TaskRepository, UserRepository, UuidV7Generator,
};
use todo_core::usecases::{
    AuditConsumer, AuditHandler, NotificationHandler, OccurrenceReminders, OutboxRelay,
    RecurringConsumer, RecurringTaskHandler, RelayOnCommit, ReminderFiredHandler,
    ReminderReconciler, TaskService,
};
use todo_dapr::SidecarHealth;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::auth::Accounts;
use crate::config::{Bus, Config, Storage};
use crate::metrics::{MeteredBus, MeteredHandler};
use crate::runtime::near_term::NearTermScheduler;
use crate::runtime::outbox_signal::SignallingRepository;
use crate::stream::{StreamConsumer, StreamHub};

/// Everything the HTTP handlers need.
#[derive(Clone)]
pub struct AppState {
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
    /// Cancelled when the server starts shutting down, so long-lived streams end and let it stop.
    pub closing: CancellationToken,
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

    /// `Ok` when every dependency answers; otherwise what does not.
    pub async fn check(&self) -> Result<(), String> {
        if let Err(error) = self.repo.get(UserId(uuid::Uuid::nil()), TaskId(1)).await {
            return Err(format!("storage unavailable: {error}"));
        }
        match &self.sidecar {
            Some(sidecar) if !sidecar.is_healthy().await => {
                Err("the Dapr sidecar is unreachable".to_owned())
            }
            _ => Ok(()),
        }
    }
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
}

/// Why the service could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A combination this build cannot run.
    #[error("{0}")]
    Unsupported(String),
    /// The database could not be reached or migrated.
    #[error("database: {0}")]
    Database(#[from] todo_postgres::SetupError),
}

/// The storage ports, from one adapter.
pub(crate) struct Stores {
    pub(crate) tasks: Arc<dyn TaskRepository>,
    pub(crate) outbox: Arc<dyn OutboxStore>,
    pub(crate) audit: Arc<dyn AuditLog>,
    pub(crate) users: Arc<dyn UserRepository>,
    pub(crate) notifications: Arc<dyn NotificationStore>,
    /// Keyed state (the recurring service's series-ended marks) when Dapr's state API is not used.
    pub(crate) state: Arc<dyn StateStore>,
    /// Signalled by `tasks` after each commit with events; the outbox relay waits on it.
    pub(crate) relay_wake: Arc<Notify>,
}

impl Stores {
    fn of<S>(store: Arc<S>) -> Self
    where
        S: TaskRepository
            + OutboxStore
            + AuditLog
            + UserRepository
            + NotificationStore
            + StateStore
            + 'static,
    {
        Stores {
            tasks: store.clone(),
            outbox: store.clone(),
            audit: store.clone(),
            users: store.clone(),
            notifications: store.clone(),
            state: store,
            relay_wake: Arc::new(Notify::new()),
        }
        .signalling()
    }

    /// Makes `tasks` wake the outbox relay after each commit with events.
    fn signalling(mut self) -> Self {
        self.tasks = Arc::new(SignallingRepository::new(
            self.tasks,
            self.relay_wake.clone(),
        ));
        self
    }
}

pub(crate) async fn open_stores(
    storage: &Storage,
    clock: Arc<dyn Clock>,
) -> Result<Stores, BuildError> {
    match storage {
        Storage::Memory => {
            let memory = Arc::new(InMemoryTaskRepository::with_clock(clock));
            Ok(Stores {
                tasks: memory.clone(),
                outbox: memory.clone(),
                audit: memory,
                users: Arc::new(InMemoryUserRepository::new()),
                notifications: Arc::new(InMemoryNotificationStore::new()),
                state: Arc::new(InMemoryStateStore::new()),
                relay_wake: Arc::new(Notify::new()),
            }
            .signalling())
        }
        Storage::Postgres(url) => {
            let pool = todo_postgres::connect(url, &todo_postgres::PoolSettings::default()).await?;
            todo_postgres::migrate(&pool).await?;
            Ok(Stores::of(Arc::new(
                todo_postgres::PostgresTaskRepository::new(pool),
            )))
        }
    }
}

/// Applies the database migrations (`todo-server migrate`); safe to run concurrently.
pub async fn migrate(config: &Config) -> Result<(), BuildError> {
    let Storage::Postgres(url) = &config.storage else {
        return Err(BuildError::Unsupported(
            "`migrate` needs DATABASE_URL".into(),
        ));
    };
    let pool = todo_postgres::connect(url, &todo_postgres::PoolSettings::default()).await?;
    todo_postgres::migrate(&pool).await?;
    Ok(())
}

/// The JWT key of the embedded mode: the configured one, or a random one for this process.
fn jwt_secret(config: &Config) -> Vec<u8> {
    match &config.jwt_secret {
        Some(secret) => secret.as_bytes().to_vec(),
        None => {
            warn!(
                "TODO_JWT_SECRET is not set: using a random key, so tokens end with this process"
            );
            let mut key = vec![0u8; 32];
            rand::thread_rng().fill_bytes(&mut key);
            key
        }
    }
}

/// Builds `all`: every service in one process with in-process messaging and scheduling (the embedded
/// default), storing in memory or, with `DATABASE_URL`, in PostgreSQL (migrated at start).
pub async fn build_all(config: Config) -> Result<Service, BuildError> {
    if config.bus != Bus::Memory {
        return Err(BuildError::Unsupported(
            "`all` runs with the in-process bus (TODO_BUS=memory); Dapr and Kafka run the services one per process"
                .into(),
        ));
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let ids: Arc<dyn IdGenerator> = Arc::new(UuidV7Generator);
    let stores = open_stores(&config.storage, clock.clone()).await?;
    let repo = stores.tasks.clone();
    let users = stores.users.clone();
    // Reminders fire from an in-process schedule that holds only the jobs due soon; the periodic
    // reconciliation brings later ones in from storage as they approach.
    let in_process = Arc::new(InMemoryScheduler::new());
    let scheduler: Arc<dyn Scheduler> = Arc::new(NearTermScheduler::new(
        in_process.clone(),
        clock.clone(),
        NearTermScheduler::horizon_for(config.reconcile_interval),
    ));
    let memory_bus = Arc::new(InMemoryEventBus::new().without_history());
    let hub = Arc::new(StreamHub::new());

    let metered =
        |group: &'static str, inner: Arc<dyn MessageHandler>| -> Arc<dyn MessageHandler> {
            Arc::new(MeteredHandler {
                group: group.to_owned(),
                inner,
            })
        };
    let recurring = RecurringTaskHandler::new(
        repo.clone(),
        stores.state.clone(),
        clock.clone(),
        ids.clone(),
    );
    memory_bus.subscribe(
        topics::TASK_EVENTS,
        consumers::RECURRING,
        metered(consumers::RECURRING, Arc::new(RecurringConsumer(recurring))),
    );
    memory_bus.subscribe(
        topics::TASK_EVENTS,
        "api-reminders",
        metered(
            "api-reminders",
            Arc::new(OccurrenceReminders::new(scheduler.clone(), clock.clone())),
        ),
    );
    memory_bus.subscribe(
        topics::TASK_EVENTS,
        consumers::AUDIT,
        metered(
            consumers::AUDIT,
            Arc::new(AuditConsumer(AuditHandler::new(stores.audit.clone()))),
        ),
    );
    memory_bus.subscribe(
        topics::REMINDERS,
        consumers::NOTIFICATION,
        metered(
            consumers::NOTIFICATION,
            Arc::new(NotificationHandler::new(
                stores.notifications.clone(),
                clock.clone(),
            )),
        ),
    );
    memory_bus.subscribe(
        topics::REMINDERS,
        "api-stream",
        metered("api-stream", Arc::new(StreamConsumer(hub.clone()))),
    );
    memory_bus.subscribe(
        topics::TASK_UPDATES,
        "api-stream",
        metered("api-stream", Arc::new(StreamConsumer(hub.clone()))),
    );
    let bus: Arc<dyn EventBus> = Arc::new(MeteredBus(memory_bus));

    // The task service's commits relay their events before returning, so `complete` answers the
    // next occurrence; consumers keep the plain repository (see `RelayOnCommit`).
    let relay = OutboxRelay::new(stores.outbox.clone(), bus, clock.clone());
    let relaying = Arc::new(RelayOnCommit::new(repo.clone(), relay.clone()));
    let tasks = TaskService::new(relaying, scheduler.clone(), clock.clone(), ids.clone());
    let accounts = Accounts::new(
        users,
        clock.clone(),
        ids,
        &jwt_secret(&config),
        config.jwt_ttl,
    );

    let shutdown = CancellationToken::new();
    let mut workers = JoinSet::new();
    spawn_outbox_relay(&mut workers, &stores, relay, clock.clone(), &shutdown);
    let firing = ReminderFiredHandler::new(repo.clone(), clock.clone());
    workers.spawn(crate::runtime::fire_reminders(
        in_process,
        firing,
        clock.clone(),
        shutdown.clone(),
    ));
    let reconciler = ReminderReconciler::new(repo.clone(), scheduler, clock);
    workers.spawn(crate::runtime::reconcile_reminders(
        reconciler,
        config.reconcile_interval,
        shutdown.clone(),
    ));

    let state = api_state(
        &config,
        &stores,
        tasks,
        accounts,
        hub,
        Readiness::new(repo, None),
    );
    Ok(Service {
        closing: state.closing.clone(),
        router: crate::http::router(state),
        workers,
        shutdown,
    })
}

/// Relays the outbox of `stores` to `bus` until `shutdown`, then drains it.
pub(crate) fn spawn_relay(
    workers: &mut JoinSet<()>,
    stores: &Stores,
    bus: Arc<dyn EventBus>,
    clock: Arc<dyn Clock>,
    shutdown: &CancellationToken,
) {
    let relay = OutboxRelay::new(stores.outbox.clone(), bus, clock.clone());
    spawn_outbox_relay(workers, stores, relay, clock, shutdown);
}

/// Runs `relay` over the outbox of `stores` until `shutdown`, then drains it.
fn spawn_outbox_relay(
    workers: &mut JoinSet<()>,
    stores: &Stores,
    relay: OutboxRelay,
    clock: Arc<dyn Clock>,
    shutdown: &CancellationToken,
) {
    workers.spawn(crate::runtime::relay_outbox(
        relay,
        stores.outbox.clone(),
        clock,
        Duration::from_millis(250),
        stores.relay_wake.clone(),
        shutdown.clone(),
    ));
}

/// The API's HTTP state.
pub(crate) fn api_state(
    config: &Config,
    stores: &Stores,
    tasks: TaskService,
    accounts: Accounts,
    hub: Arc<StreamHub>,
    readiness: Readiness,
) -> AppState {
    let per_minute = NonZeroU32::new(config.auth_rate_per_minute).unwrap_or(NonZeroU32::MIN);
    AppState {
        tasks,
        accounts,
        hub,
        readiness,
        notifications: stores.notifications.clone(),
        metrics: crate::metrics::install(),
        auth_limiter: Arc::new(RateLimiter::keyed(Quota::per_minute(per_minute))),
        config: Arc::new(config.clone()),
        closing: CancellationToken::new(),
    }
}
