//! How events travel between the roles: in process (`all`), Dapr pub/sub through the sidecar, or Apache
//! Kafka directly (the `kafka` cargo feature).
//!
//! A role publishes through [`Transport::publisher`] (the outbox relay is its only caller) and
//! declares what it consumes in two ways:
//!
//! - [`Transport::consume`]: the replicas of a service share the work, one consumer group per
//!   service (SPEC §4: `recurring-task-service`, `audit-service`, ...);
//! - [`Transport::broadcast`]: every replica receives every message. The API uses it to feed the live
//!   streams of the users connected to that replica: it does not know which replica holds which
//!   user's stream, so each replica reads all `task-events`, `task-updates` and `reminders` and
//!   keeps its own.
//!
//! In process, both are a subscription of the in-memory bus, which delivers before `publish`
//! returns. With Dapr, the sidecar delivers to the app's HTTP routes ([`Transport::start`] returns
//! them): shared consumption uses the component `kafka-pubsub`, whose consumer group is the app id;
//! broadcast uses `kafka-broadcast`, whose consumer group is unique per sidecar and starts at the
//! newest offset. With Kafka, a consumer per subscription joins the group itself; a broadcast group is
//! named after the replica and starts at the newest offset.

use std::sync::Arc;

use axum::Router;
use todo_core::events::topics;
use todo_core::memory::InMemoryEventBus;
use todo_core::ports::{EventBus, MessageHandler};
use todo_dapr::{DaprApp, DaprClient, DaprEventBus, JobHandler, Subscription, DEFAULT_PUBSUB};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::{Bus, DaprSettings};
use crate::metrics::{MeteredBus, MeteredHandler};

/// The Dapr pub/sub component whose consumer group is unique per sidecar (live-stream fan-out).
pub const BROADCAST_PUBSUB: &str = "kafka-broadcast";

/// Why a transport could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The client of the sidecar's HTTP API could not be built.
    #[error("cannot build the Dapr client")]
    Dapr(#[source] todo_dapr::ConfigError),
    /// The Kafka producer could not be created.
    #[cfg(feature = "kafka")]
    #[error("cannot create the Kafka producer")]
    Kafka(#[source] todo_kafka_direct::KafkaBusError),
}

/// A consumer the transport hands messages to.
struct Consumer {
    topic: &'static str,
    group: &'static str,
    handler: Arc<dyn MessageHandler>,
    broadcast: bool,
}

impl Consumer {
    fn metered(&self) -> Arc<dyn MessageHandler> {
        Arc::new(MeteredHandler {
            group: self.group.to_owned(),
            inner: self.handler.clone(),
        })
    }
}

enum Kind {
    InProcess(Arc<InMemoryEventBus>),
    Dapr {
        client: DaprClient,
        app_api_token: Option<String>,
    },
    #[cfg(feature = "kafka")]
    Kafka {
        config: todo_kafka_direct::KafkaConfig,
        replica: String,
    },
}

/// A service's connection to the event bus: where it publishes and what it consumes.
pub struct Transport {
    kind: Kind,
    publisher: Arc<dyn EventBus>,
    consumers: Vec<Consumer>,
    reminder_jobs: Option<Arc<dyn JobHandler>>,
    broadcast_gap: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl Transport {
    /// Opens the transport `bus` names for the service `service` (`all`, `api`, ...); `replica`
    /// names this process among the service's replicas.
    #[cfg_attr(not(feature = "kafka"), allow(unused_variables))]
    pub fn open(bus: &Bus, service: &str, replica: &str) -> Result<Self, TransportError> {
        let source = format!("todo-{service}");
        let (kind, publisher): (Kind, Arc<dyn EventBus>) = match bus {
            Bus::InProcess => {
                let bus = Arc::new(InMemoryEventBus::new().without_history());
                (Kind::InProcess(bus.clone()), bus)
            }
            Bus::Dapr(settings) => {
                let DaprSettings {
                    client,
                    app_api_token,
                    ..
                } = settings.as_ref();
                let client = DaprClient::new(client.clone()).map_err(TransportError::Dapr)?;
                let bus = DaprEventBus::new(client.clone(), DEFAULT_PUBSUB).with_source(&source);
                let kind = Kind::Dapr {
                    client,
                    app_api_token: app_api_token.clone(),
                };
                (kind, Arc::new(bus))
            }
            #[cfg(feature = "kafka")]
            Bus::Kafka(settings) => {
                let config = todo_kafka_direct::KafkaConfig::new(settings.brokers.clone())
                    .with_client_id(format!("{source}-{replica}"))
                    .with_source(source);
                let producer = todo_kafka_direct::KafkaEventBus::new(&config)
                    .map_err(TransportError::Kafka)?;
                let kind = Kind::Kafka {
                    config,
                    replica: replica.to_owned(),
                };
                (kind, Arc::new(producer))
            }
            #[cfg(not(feature = "kafka"))]
            Bus::Kafka(_) => {
                unreachable!("the configuration refuses TODO_BUS=kafka without the kafka feature")
            }
        };
        Ok(Self {
            kind,
            publisher: Arc::new(MeteredBus(publisher)),
            consumers: Vec::new(),
            reminder_jobs: None,
            broadcast_gap: None,
        })
    }

    /// The in-process transport over `bus` (`todo-server all`), built by the caller so that it can
    /// give the bus its timer and dead-letter store, and close it at shutdown.
    pub fn in_process(bus: Arc<InMemoryEventBus>) -> Self {
        Self {
            kind: Kind::InProcess(bus.clone()),
            publisher: Arc::new(MeteredBus(bus)),
            consumers: Vec::new(),
            reminder_jobs: None,
            broadcast_gap: None,
        }
    }

    /// Where the service publishes.
    pub fn publisher(&self) -> Arc<dyn EventBus> {
        self.publisher.clone()
    }

    /// The sidecar, when the transport is Dapr.
    pub fn dapr_client(&self) -> Option<&DaprClient> {
        match &self.kind {
            Kind::Dapr { client, .. } => Some(client),
            _ => None,
        }
    }

    /// The replicas of this service share `topic`'s messages as consumer group `group`.
    pub fn consume(
        &mut self,
        topic: &'static str,
        group: &'static str,
        handler: Arc<dyn MessageHandler>,
    ) {
        self.add(Consumer {
            topic,
            group,
            handler,
            broadcast: false,
        });
    }

    /// Every replica receives all of `topic`'s messages published from now on; `group` labels them.
    pub fn broadcast(
        &mut self,
        topic: &'static str,
        group: &'static str,
        handler: Arc<dyn MessageHandler>,
    ) {
        self.add(Consumer {
            topic,
            group,
            handler,
            broadcast: true,
        });
    }

    fn add(&mut self, consumer: Consumer) {
        match &self.kind {
            // Subscribed at once, so that nothing published during start-up finds no consumer.
            Kind::InProcess(bus) => {
                bus.subscribe(consumer.topic, consumer.group, consumer.metered())
            }
            _ => self.consumers.push(consumer),
        }
    }

    /// Handles the Dapr scheduler's reminder job callbacks (`POST /job/reminder-task-{id}`). Only
    /// meaningful with Dapr: otherwise reminders fire from the in-process scheduler.
    pub fn on_reminder_jobs(&mut self, handler: Arc<dyn JobHandler>) {
        self.reminder_jobs = Some(handler);
    }

    /// Calls `f` when the broadcast subscriptions may have missed messages: with Dapr, each time a
    /// sidecar starts (its broadcast consumer group is new, and starts at the newest offset). In
    /// process and with Kafka, the consumers live and die with this process.
    pub fn on_broadcast_gap(&mut self, f: Arc<dyn Fn() + Send + Sync>) {
        self.broadcast_gap = Some(f);
    }

    /// Starts consuming: with Kafka, one consumer per subscription joins `workers`; with Dapr, the
    /// returned routes (subscriptions, deliveries, job callbacks) must be served for daprd.
    #[cfg_attr(not(feature = "kafka"), allow(unused_variables))]
    pub fn start(self, workers: &mut JoinSet<()>, shutdown: &CancellationToken) -> Router {
        match self.kind {
            Kind::InProcess(_) => Router::new(),
            Kind::Dapr { app_api_token, .. } => {
                let mut app = DaprApp::new().with_app_api_token(app_api_token);
                for consumer in &self.consumers {
                    let pubsub = if consumer.broadcast {
                        BROADCAST_PUBSUB
                    } else {
                        DEFAULT_PUBSUB
                    };
                    let mut subscription = Subscription::new(
                        pubsub,
                        consumer.topic,
                        consumer.group,
                        consumer.metered(),
                    );
                    if !consumer.broadcast {
                        subscription = subscription
                            .with_dead_letter_topic(topics::dead_letter(consumer.topic));
                    }
                    app = app.subscribe(subscription);
                }
                if let Some(handler) = self.reminder_jobs {
                    app = app.on_jobs(todo_core::events::jobs::REMINDER_PREFIX, handler);
                }
                if let Some(f) = self.broadcast_gap {
                    app = app.on_sidecar_start(f);
                }
                app.router()
            }
            #[cfg(feature = "kafka")]
            Kind::Kafka { config, replica } => {
                for consumer in &self.consumers {
                    spawn_kafka_consumer(consumer, &config, &replica, workers, shutdown);
                }
                Router::new()
            }
        }
    }
}

/// Runs one Kafka consumer of `consumer`'s topic until `shutdown`.
#[cfg(feature = "kafka")]
fn spawn_kafka_consumer(
    consumer: &Consumer,
    config: &todo_kafka_direct::KafkaConfig,
    replica: &str,
    workers: &mut JoinSet<()>,
    shutdown: &CancellationToken,
) {
    let (group, config) = if consumer.broadcast {
        (
            format!("{}-{replica}", consumer.group),
            config.clone().with_property("auto.offset.reset", "latest"),
        )
    } else {
        (consumer.group.to_owned(), config.clone())
    };
    let runner = todo_kafka_direct::ConsumerRunner::new(
        config,
        group,
        &[consumer.topic],
        consumer.metered(),
    );
    let token = shutdown.clone();
    workers.spawn(async move {
        let group = runner.group().to_owned();
        match runner.run(token).await {
            Ok(report) => tracing::info!(
                %group,
                handled = report.handled,
                dead_lettered = report.dead_lettered,
                "consumer stopped"
            ),
            Err(error) => {
                tracing::error!(%group, error = %todo_core::error::chain(&error), "consumer failed")
            }
        }
    });
}
