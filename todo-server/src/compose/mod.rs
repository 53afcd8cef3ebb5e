//! Composition: one builder turns a parsed [`Config`] and a set of [`Role`]s into a running [`Service`].
//!
//! ```text
//!   Config ──▶ Stores (SQLite | PostgreSQL | memory) ──┐
//!         └──▶ Transport (in-process | Dapr | Kafka) ──┤
//!                                                      ├─▶ roles: api · recurring · notification · audit · mcp
//!                                                      │     each registers its consumers on the
//!                                                      │     transport and its loops in the workers
//!                                                      └─▶ outbox relay (when a role writes events)
//!                                                            ─▶ Service
//! ```
//!
//! `todo-server all` is every role in one process on the in-process transport (on SQLite by default);
//! `todo-server api` (or `recurring`, `notification`, `audit`, `mcp`) is one role per process over Dapr
//! or Kafka and PostgreSQL.
//! The same registration code runs in both: a role does not know whether its peers share its process.

pub(crate) mod push;
mod roles;
mod signing_key;
mod stores;

use std::sync::Arc;

use todo_core::memory::InMemoryEventBus;
use todo_core::ports::{Clock, IdGenerator, SystemClock, UuidV7Generator};
use todo_core::usecases::OutboxRelay;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::app::{Readiness, Service};
use crate::config::{Bus, Config, Storage};
use crate::transport::{Transport, TransportError};

pub(crate) use stores::Stores;
pub use stores::{backup, migrate};

/// What a service process does. `todo-server all` runs every role; the others run one each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Subcommand)]
pub enum Role {
    /// REST API, SSE stream, reminder jobs and their callbacks.
    Api,
    /// Creates next occurrences of recurring tasks (consumes task-events).
    Recurring,
    /// Stores each reminder for the user's inbox (consumes reminders).
    Notification,
    /// Keeps the audit log (consumes task-events).
    Audit,
    /// MCP server: the task operations as tools at `/mcp` (the binary's `mcp` subcommand, which
    /// also offers `--stdio`).
    #[command(skip)]
    Mcp,
}

impl Role {
    /// Every role: the embedded default, `todo-server all`.
    pub const ALL: [Role; 5] = [
        Role::Api,
        Role::Recurring,
        Role::Notification,
        Role::Audit,
        Role::Mcp,
    ];

    /// The subcommand's name.
    pub fn name(self) -> &'static str {
        match self {
            Role::Api => "api",
            Role::Recurring => "recurring",
            Role::Notification => "notification",
            Role::Audit => "audit",
            Role::Mcp => "mcp",
        }
    }
}

/// The name of the process running `roles`: `all` or the one role's name.
pub fn service_name(roles: &[Role]) -> &'static str {
    match roles {
        [role] => role.name(),
        _ => "all",
    }
}

/// Why a service could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The configuration lacks something this service needs.
    #[error("`todo-server {service}` needs {variable}: {reason}")]
    Requires {
        /// The service that cannot start.
        service: &'static str,
        /// The variable to set (or change).
        variable: &'static str,
        /// Why, and what to do instead.
        reason: &'static str,
    },
    /// The SMTP server's URL or the sender could not be read.
    #[error("reminders by email (TODO_SMTP_URL, TODO_MAIL_FROM)")]
    Email {
        /// What is wrong.
        #[source]
        source: crate::channels::email::EmailConfigError,
    },
    /// The database could not be reached or migrated.
    #[error("database {address} (DATABASE_URL)")]
    Database {
        /// The database's address without its password.
        address: String,
        /// What went wrong.
        #[source]
        source: todo_postgres::SetupError,
    },
    /// The SQLite database file could not be opened, locked or migrated.
    #[error("the data file (TODO_DATA_DIR, or DATABASE_URL=sqlite://PATH)")]
    DataFile {
        /// What went wrong; it names the file.
        #[source]
        source: todo_sqlite::SetupError,
    },
    /// The data directory could not be created.
    #[error("cannot create the data directory {} (TODO_DATA_DIR)", path.display())]
    DataDir {
        /// The directory.
        path: std::path::PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The JWT signing key kept beside the data could not be read or written.
    #[error("the JWT signing key {} (or set TODO_JWT_SECRET)", path.display())]
    SigningKeyFile {
        /// The key file.
        path: std::path::PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// The event transport could not be opened.
    #[error("transport TODO_BUS={bus}")]
    Transport {
        /// The transport asked for.
        bus: &'static str,
        /// What went wrong.
        #[source]
        source: TransportError,
    },
    /// The JWT signing key could not be read from the secret store.
    #[error("secret `{name}` in the Dapr secret store `{store}` (or set TODO_JWT_SECRET)")]
    JwtSecret {
        /// The secret's name.
        name: &'static str,
        /// The secret store.
        store: &'static str,
        /// What went wrong.
        #[source]
        source: todo_core::error::PortError,
    },
    /// The VAPID key kept beside the data could not be read or written.
    #[error("the VAPID key {} (or set TODO_VAPID_PRIVATE_KEY)", path.display())]
    VapidKeyFile {
        /// The key file.
        path: std::path::PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// The VAPID key could not be read from the secret store, or is not a key.
    #[error("secret `{name}` in the Dapr secret store `{store}` (or set TODO_VAPID_PRIVATE_KEY)")]
    VapidSecret {
        /// The secret's name.
        name: &'static str,
        /// The secret store.
        store: &'static str,
        /// What went wrong.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The HTTPS client for push services could not be made (`TODO_PUSH_CA_FILE`).
    #[error("the Web Push client")]
    PushClient(#[source] todo_push::PushSetupError),
    /// The JWT signing key from the secret store is too short.
    #[error("secret `{name}` must be at least 32 bytes (or set TODO_JWT_SECRET)")]
    WeakJwtSecret {
        /// The secret's name.
        name: &'static str,
    },
}

/// What every role is assembled from; roles add their consumers, loops and routes to it.
pub(crate) struct Parts {
    pub(crate) config: Config,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) ids: Arc<dyn IdGenerator>,
    pub(crate) stores: Stores,
    pub(crate) transport: Transport,
    /// Publishes the outbox through the transport. Its clones share one lock, so the background loop
    /// and the in-process `RelayOnCommit` never take each other's messages mid-pass.
    pub(crate) relay: OutboxRelay,
    pub(crate) workers: JoinSet<()>,
    pub(crate) shutdown: CancellationToken,
    /// The API's routes and the token that ends its streams, once the api role is added.
    pub(crate) api: Option<(axum::Router, CancellationToken)>,
    /// The task use cases of the roles that write tasks (api, mcp), built by the first of them.
    pub(crate) writes: Option<roles::TaskWrites>,
    /// Sign-in and tokens, built by the first role that needs them (api, mcp).
    pub(crate) accounts: Option<crate::auth::Accounts>,
    /// The MCP tools, once the mcp role is added.
    pub(crate) mcp: Option<crate::mcp::McpServer>,
    /// The VAPID key once read (`Some(None)`: Web Push is off), shared by the api and notification roles.
    pub(crate) vapid: Option<Option<todo_push::VapidKey>>,
}

/// Builds a service running `roles` from `config`: opens the stores (PostgreSQL is migrated at
/// start) and the transport, adds each role, and relays the outbox when a role writes events.
pub async fn build(roles: &[Role], config: Config) -> Result<Service, BuildError> {
    let service = service_name(roles);
    check_requirements(service, &config)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let stores = stores::open(&config.storage, clock.clone()).await?;
    // In process, the bus waits out the stores' outages and keeps its dead letters beside the data.
    let in_process_bus = matches!(config.bus, Bus::InProcess)
        .then(|| crate::runtime::in_process::bus(stores.state.clone()));
    let transport = match &in_process_bus {
        Some(bus) => Transport::in_process(bus.clone()),
        None => Transport::open(&config.bus, service, &config.replica_id).map_err(|source| {
            BuildError::Transport {
                bus: config.bus.name(),
                source,
            }
        })?,
    };
    info!(service, bus = config.bus.name(), storage = %config.storage.redacted(), "starting");
    let relay = OutboxRelay::new(stores.outbox.clone(), transport.publisher(), clock.clone())
        .with_concurrency(relay_concurrency(&config));
    let mut parts = Parts {
        config,
        clock,
        ids: Arc::new(UuidV7Generator),
        stores,
        transport,
        relay,
        workers: JoinSet::new(),
        shutdown: CancellationToken::new(),
        api: None,
        writes: None,
        accounts: None,
        mcp: None,
        vapid: None,
    };
    for role in roles {
        match role {
            Role::Api => roles::api(&mut parts).await?,
            Role::Recurring => roles::recurring(&mut parts),
            Role::Notification => roles::notification(&mut parts).await?,
            Role::Audit => roles::audit(&mut parts),
            Role::Mcp => roles::mcp(&mut parts).await?,
        }
    }
    if roles
        .iter()
        .any(|r| matches!(r, Role::Api | Role::Recurring | Role::Mcp))
    {
        roles::relay(&mut parts);
    }
    Ok(finish(parts, in_process_bus))
}

/// Tasks whose events the outbox relay publishes at the same time. In process, a publish is every
/// consumer's commit, and the audit log group-commits the appends that arrive together: 32 at a
/// time let its groups fill (measured on durable PostgreSQL: with 8, the audit trailed 10 s of
/// creates by 20 000-30 000 events; with 32, by none in three runs of four). SQLite takes a group's
/// appends in one batch, one round trip to its writer, so it gains the same way. To a broker or
/// sidecar, a publish is one round trip: [`OutboxRelay::DEFAULT_CONCURRENCY`].
fn relay_concurrency(config: &Config) -> usize {
    match config.bus {
        Bus::InProcess => 32,
        _ => OutboxRelay::DEFAULT_CONCURRENCY,
    }
}

/// `all` runs only on the in-process transport, which in turn connects only the roles of one process;
/// a single role shares PostgreSQL with its peers.
fn check_requirements(service: &'static str, config: &Config) -> Result<(), BuildError> {
    let requires = |variable, reason| {
        Err(BuildError::Requires {
            service,
            variable,
            reason,
        })
    };
    let all = service == "all";
    match (&config.bus, &config.storage) {
        (Bus::InProcess, _) if !all => requires(
            "TODO_BUS=dapr or TODO_BUS=kafka",
            "the in-process bus only connects the roles of `todo-server all`",
        ),
        (Bus::Dapr(_) | Bus::Kafka(_), _) if all => requires(
            "TODO_BUS unset (memory)",
            "`all` runs every role in one process on the in-process bus; Dapr and Kafka run the services one per process",
        ),
        (_, Storage::Memory | Storage::Sqlite(_)) if !all => requires(
            "DATABASE_URL=postgres://…",
            "the services share PostgreSQL (for everything in one process without infrastructure, run `todo-server all`)",
        ),
        _ => Ok(()),
    }
}

/// The service's routes: the API's (with the operations routes) or, without it, the operations
/// routes alone; `/mcp` with the mcp role; plus what the transport serves (Dapr's subscription and
/// job routes).
///
/// The in-process bus, if any, is closed at the shutdown signal (`closing`), so that neither a request
/// nor the relay's last pass waits out a store that is down.
fn finish(mut parts: Parts, in_process_bus: Option<Arc<InMemoryEventBus>>) -> Service {
    let (router, closing) = match parts.api.take() {
        Some(api) => api,
        None => {
            let readiness = Readiness::new(parts.stores.tasks.clone(), roles::sidecar(&parts));
            let ops = crate::http::operations_routes(readiness, crate::metrics::install());
            (ops, CancellationToken::new())
        }
    };
    if let Some(bus) = in_process_bus {
        parts
            .workers
            .spawn(crate::runtime::in_process::close_on_shutdown(
                bus,
                closing.clone(),
                parts.shutdown.clone(),
            ));
    }
    let mut router = router.merge(parts.transport.start(&mut parts.workers, &parts.shutdown));
    if let Some(mcp) = &parts.mcp {
        // Stateless: every call is a short request, which graceful shutdown lets finish.
        router =
            router.merge(mcp.routes(parts.config.http.body_limit, parts.shutdown.child_token()));
    }
    // The routes merged after the API's have none of its layers: the same headers on their answers.
    let router = crate::http::security_headers(router);
    Service {
        router,
        workers: parts.workers,
        shutdown: parts.shutdown,
        closing,
        mcp: parts.mcp,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Config {
        let vars: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .chain([("HOME".to_owned(), "/nonexistent".to_owned())])
            .collect();
        Config::from_vars(&vars).unwrap()
    }

    async fn refusal(roles: &[Role], pairs: &[(&str, &str)]) -> BuildError {
        match build(roles, config(pairs)).await {
            Ok(_) => panic!("`{}` started with {pairs:?}", service_name(roles)),
            Err(error) => error,
        }
    }

    #[tokio::test]
    async fn a_service_without_a_database_or_a_bus_says_what_is_missing() {
        for role in Role::ALL {
            let error = refusal(&[role], &[("TODO_BUS", "dapr")]).await;
            assert!(
                matches!(
                    error,
                    BuildError::Requires {
                        variable: "DATABASE_URL=postgres://…",
                        ..
                    }
                ),
                "{error}"
            );
            let error = refusal(&[role], &[("DATABASE_URL", "postgres://127.0.0.1:1/x")]).await;
            assert!(
                matches!(error, BuildError::Requires { variable, .. } if variable.starts_with("TODO_BUS=dapr")),
                "{error}"
            );
        }
    }

    #[tokio::test]
    async fn all_refuses_a_distributed_bus() {
        let error = refusal(&Role::ALL, &[("TODO_BUS", "dapr")]).await;
        assert!(
            matches!(error, BuildError::Requires { service: "all", .. }),
            "{error}"
        );
    }

    #[tokio::test]
    async fn an_unreachable_database_is_named_without_its_password() {
        let error = refusal(
            &[Role::Audit],
            &[
                ("DATABASE_URL", "postgres://me:s3cret@127.0.0.1:1/x"),
                ("TODO_BUS", "dapr"),
            ],
        )
        .await;
        let message = error.to_string();
        assert!(matches!(error, BuildError::Database { .. }), "{message}");
        assert!(message.contains("127.0.0.1:1"), "{message}");
        assert!(message.contains("DATABASE_URL"), "{message}");
        assert!(!message.contains("s3cret"), "{message}");
    }

    #[test]
    fn the_service_name_is_all_or_the_single_role() {
        assert_eq!(service_name(&Role::ALL), "all");
        assert_eq!(service_name(&[Role::Recurring]), "recurring");
        assert_eq!(service_name(&[Role::Mcp]), "mcp");
    }
}
