//! The storage ports of a service, all from one adapter: SQLite (the embedded default), PostgreSQL
//! or in memory.

use std::path::Path;
use std::sync::Arc;

use todo_core::memory::{
    InMemoryCalendarFeeds, InMemoryDeliveryStore, InMemoryLocks, InMemoryNotificationStore,
    InMemoryPushSubscriptionStore, InMemoryStateStore, InMemoryTaskRepository,
    InMemoryUserRepository,
};
use todo_core::ports::{
    AuditLog, CalendarFeeds, Clock, DeliveryStore, Locks, NotificationStore, OutboxStore,
    PushSubscriptionStore, StateStore, TaskRepository, UserRepository,
};
use todo_core::usecases::OnCommit;
use tokio::sync::Notify;

use super::BuildError;
use crate::config::{PostgresSettings, SqliteSettings, Storage};
use crate::runtime::outbox_signal::WakeRelay;

/// The storage ports, from one adapter.
pub(crate) struct Stores {
    /// Tasks, written with their outbox messages in one transaction. Consumers use this one;
    /// see [`Stores::signalling`] for the one that wakes the relay.
    pub(crate) tasks: Arc<dyn TaskRepository>,
    pub(crate) outbox: Arc<dyn OutboxStore>,
    pub(crate) audit: Arc<dyn AuditLog>,
    pub(crate) users: Arc<dyn UserRepository>,
    pub(crate) notifications: Arc<dyn NotificationStore>,
    /// The browsers registered for Web Push.
    pub(crate) push: Arc<dyn PushSubscriptionStore>,
    /// Keyed state (the recurring role's series-ended marks) when Dapr's state API is not used.
    pub(crate) state: Arc<dyn StateStore>,
    /// The reminder deliveries of the notification role (one record per event and channel).
    pub(crate) deliveries: Arc<dyn DeliveryStore>,
    /// Calendar feed secrets (SPEC §14).
    pub(crate) calendar_feeds: Arc<dyn CalendarFeeds>,
    /// Signalled after each commit with events; the outbox relay waits on it.
    pub(crate) relay_wake: Arc<Notify>,
    /// Exclusive locks shared by every process on this store: PostgreSQL's advisory locks, else
    /// in-process ones (SQLite and memory are one process's).
    pub(crate) locks: Arc<dyn Locks>,
}

impl Stores {
    fn of<S>(store: Arc<S>) -> Self
    where
        S: TaskRepository
            + OutboxStore
            + AuditLog
            + UserRepository
            + NotificationStore
            + PushSubscriptionStore
            + StateStore
            + DeliveryStore
            + CalendarFeeds
            + 'static,
    {
        Stores {
            tasks: store.clone(),
            outbox: store.clone(),
            audit: store.clone(),
            users: store.clone(),
            notifications: store.clone(),
            push: store.clone(),
            state: store.clone(),
            deliveries: store.clone(),
            calendar_feeds: store,
            relay_wake: Arc::new(Notify::new()),
            locks: Arc::new(InMemoryLocks::new()),
        }
        .signalling()
    }

    /// Makes `tasks` wake the outbox relay after each commit with events.
    fn signalling(mut self) -> Self {
        self.tasks = Arc::new(OnCommit::new(
            self.tasks,
            WakeRelay::new(self.relay_wake.clone()),
        ));
        self
    }
}

/// Opens the stores `storage` names; a database is migrated first.
pub(super) async fn open(storage: &Storage, clock: Arc<dyn Clock>) -> Result<Stores, BuildError> {
    match storage {
        Storage::Memory => {
            let memory = Arc::new(InMemoryTaskRepository::with_clock(clock));
            Ok(Stores {
                tasks: memory.clone(),
                outbox: memory.clone(),
                audit: memory,
                users: Arc::new(InMemoryUserRepository::new()),
                notifications: Arc::new(InMemoryNotificationStore::new()),
                push: Arc::new(InMemoryPushSubscriptionStore::new()),
                state: Arc::new(InMemoryStateStore::new()),
                deliveries: Arc::new(InMemoryDeliveryStore::new()),
                calendar_feeds: Arc::new(InMemoryCalendarFeeds::new()),
                relay_wake: Arc::new(Notify::new()),
                locks: Arc::new(InMemoryLocks::new()),
            }
            .signalling())
        }
        Storage::Sqlite(sqlite) => Ok(Stores::of(Arc::new(
            todo_sqlite::SqliteTaskRepository::new(open_sqlite(sqlite).await?),
        ))),
        Storage::Postgres(settings) => {
            let store = postgres(storage, settings).await?;
            let locks = Arc::new(todo_postgres::PostgresLocks::new(store.pool().clone()));
            Ok(Stores {
                locks,
                ..Stores::of(Arc::new(store))
            })
        }
    }
}

/// Creates the data directory (readable by its owner only) if needed, then opens, locks and
/// migrates the database file.
async fn open_sqlite(sqlite: &SqliteSettings) -> Result<todo_sqlite::Database, BuildError> {
    if let Some(dir) = sqlite
        .path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
    {
        create_private_dir(dir).map_err(|source| BuildError::DataDir {
            path: dir.to_owned(),
            source,
        })?;
    }
    let options = todo_sqlite::OpenOptions {
        durability: sqlite.durability,
        ..todo_sqlite::OpenOptions::default()
    };
    let failed = |source| BuildError::DataFile { source };
    let db = todo_sqlite::open(&sqlite.path, &options)
        .await
        .map_err(failed)?;
    todo_sqlite::migrate(&db).await.map_err(failed)?;
    Ok(db)
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Connects to PostgreSQL and applies the migrations; safe when several processes do it at once.
async fn postgres(
    storage: &Storage,
    settings: &PostgresSettings,
) -> Result<todo_postgres::PostgresTaskRepository, BuildError> {
    let failed = |source| BuildError::Database {
        address: storage.redacted(),
        source,
    };
    let pool_settings = todo_postgres::PoolSettings {
        max_connections: settings.pool_size,
        ..todo_postgres::PoolSettings::default()
    };
    let pool = todo_postgres::connect(&settings.url, &pool_settings)
        .await
        .map_err(failed)?;
    todo_postgres::migrate(&pool).await.map_err(failed)?;
    Ok(todo_postgres::PostgresTaskRepository::new(pool))
}

/// Applies the database migrations (`todo-server migrate`); safe to run concurrently on PostgreSQL.
pub async fn migrate(storage: &Storage) -> Result<(), BuildError> {
    match storage {
        Storage::Postgres(settings) => postgres(storage, settings).await.map(drop),
        Storage::Sqlite(sqlite) => {
            open_sqlite(sqlite).await?.close().await;
            Ok(())
        }
        Storage::Memory => Err(BuildError::Requires {
            service: "migrate",
            variable: "DATABASE_URL",
            reason: "there is nothing to migrate in memory",
        }),
    }
}

/// Writes a consistent copy of the SQLite database to `target` (`todo-server backup PATH`), also
/// while a server is running on it.
pub async fn backup(storage: &Storage, target: &Path) -> Result<todo_sqlite::Backup, BuildError> {
    match storage {
        Storage::Sqlite(sqlite) => todo_sqlite::backup(&sqlite.path, target)
            .await
            .map_err(|source| BuildError::DataFile { source }),
        Storage::Postgres(_) | Storage::Memory => Err(BuildError::Requires {
            service: "backup",
            variable: "DATABASE_URL unset or sqlite://PATH",
            reason: "it copies the SQLite database; back PostgreSQL up with pg_dump, and memory has nothing to keep",
        }),
    }
}
