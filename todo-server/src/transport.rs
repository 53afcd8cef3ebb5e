//! The distributed event bus: Dapr pub/sub through the sidecar, or Apache Kafka directly.
//!
//! A service publishes through [`Transport::publisher`] (the outbox relay is its only caller) and
//! declares what it consumes in two ways:
//!
//! - [`Transport::consume`]: the replicas of a service share the work, one consumer group per
//!   service (SPEC §4: `recurring-task-service`, `audit-service`, ...);
//! - [`Transport::broadcast`]: every replica receives every message. The API uses it to feed the live
//!   streams of the users connected to that replica: it does not know which replica holds which
//!   user's stream, so each replica reads all `task-updates` and `reminders` and keeps its own.
//!
//! With Dapr, the sidecar delivers to the app's HTTP routes ([`Transport::start`] returns them):
//! shared consumption uses the component `kafka-pubsub`, whose consumer group is the app id;
//! broadcast uses `kafka-broadcast`, whose consumer group is unique per sidecar and starts at the
//! newest offset. With Kafka, a [`ConsumerRunner`] per subscription joins the group itself; a
//! broadcast group is named after the replica and starts at the newest offset.

use std::sync::Arc;

use axum::Router;
use todo_core::ports::{EventBus, MessageHandler};
use todo_dapr::{DaprApp, DaprClient, DaprEventBus, JobHandler, Subscription, DEFAULT_PUBSUB};
use todo_kafka_direct::{ConsumerRunner, KafkaConfig, KafkaEventBus};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

use crate::metrics::{MeteredBus, MeteredHandler};

/// The Dapr pub/sub component whose consumer group is unique per sidecar (live-stream fan-out).
pub const BROADCAST_PUBSUB: &str = "kafka-broadcast";

/// The prefix of reminder job names (`reminder-task-{id}`), whose callbacks the API handles.
pub const REMINDER_JOB_PREFIX: &str = "reminder-task-";

/// A consumer the transport hands messages to.
struct Consumer {
    topic: &'static str,
    group: String,
    handler: Arc<dyn MessageHandler>,
    broadcast: bool,
}

enum Kind {
    Dapr {
        client: DaprClient,
        reminders: Option<Arc<dyn JobHandler>>,
    },
    Kafka {
        config: KafkaConfig,
        replica: String,
    },
}

/// A service's connection to the event bus: where it publishes and what it consumes.
pub struct Transport {
    kind: Kind,
    publisher: Arc<dyn EventBus>,
    consumers: Vec<Consumer>,
}

impl Transport {
    /// Dapr pub/sub through the sidecar `client` talks to; events are stamped with `source`.
    pub fn dapr(client: DaprClient, source: &str) -> Self {
        let bus = DaprEventBus::new(client.clone(), DEFAULT_PUBSUB).with_source(source);
        Self {
            kind: Kind::Dapr {
                client,
                reminders: None,
            },
            publisher: Arc::new(MeteredBus(Arc::new(bus))),
            consumers: Vec::new(),
        }
    }

    /// Kafka directly; `replica` names this process among the service's replicas (broadcast
    /// consumer groups are named after it).
    pub fn kafka(config: KafkaConfig, replica: &str) -> Result<Self, String> {
        let producer = Arc::new(KafkaEventBus::new(&config).map_err(|e| e.to_string())?);
        Ok(Self {
            kind: Kind::Kafka {
                config,
                replica: replica.to_owned(),
            },
            publisher: Arc::new(MeteredBus(producer)),
            consumers: Vec::new(),
        })
    }

    /// Where the service publishes.
    pub fn publisher(&self) -> Arc<dyn EventBus> {
        self.publisher.clone()
    }

    /// The sidecar, when the transport is Dapr.
    pub fn dapr_client(&self) -> Option<&DaprClient> {
        match &self.kind {
            Kind::Dapr { client, .. } => Some(client),
            Kind::Kafka { .. } => None,
        }
    }

    /// The replicas of this service share `topic`'s messages as consumer group `group`.
    pub fn consume(&mut self, topic: &'static str, group: &str, handler: Arc<dyn MessageHandler>) {
        self.consumers.push(Consumer {
            topic,
            group: group.to_owned(),
            handler,
            broadcast: false,
        });
    }

    /// Every replica receives all of `topic`'s messages published from now on; `name` labels them.
    pub fn broadcast(&mut self, topic: &'static str, name: &str, handler: Arc<dyn MessageHandler>) {
        self.consumers.push(Consumer {
            topic,
            group: name.to_owned(),
            handler,
            broadcast: true,
        });
    }

    /// Handles the Dapr scheduler's reminder job callbacks (`POST /job/reminder-task-{id}`). Only
    /// meaningful with Dapr: with Kafka, reminders are fired by the in-process scheduler.
    pub fn on_reminder_jobs(&mut self, handler: Arc<dyn JobHandler>) {
        if let Kind::Dapr { reminders, .. } = &mut self.kind {
            *reminders = Some(handler);
        }
    }

    /// Starts consuming: with Kafka, one runner per subscription joins `workers`; with Dapr, the
    /// returned routes (subscriptions, deliveries, job callbacks) must be served for daprd.
    pub fn start(self, workers: &mut JoinSet<()>, shutdown: &CancellationToken) -> Router {
        let metered = |c: &Consumer| -> Arc<dyn MessageHandler> {
            Arc::new(MeteredHandler {
                group: c.group.clone(),
                inner: c.handler.clone(),
            })
        };
        match self.kind {
            Kind::Dapr { reminders, .. } => {
                let mut app = DaprApp::from_env();
                for consumer in &self.consumers {
                    let pubsub = if consumer.broadcast {
                        BROADCAST_PUBSUB
                    } else {
                        DEFAULT_PUBSUB
                    };
                    let mut subscription = Subscription::new(
                        pubsub,
                        consumer.topic,
                        &consumer.group,
                        metered(consumer),
                    );
                    if !consumer.broadcast {
                        subscription =
                            subscription.with_dead_letter_topic(format!("{}.dlq", consumer.topic));
                    }
                    app = app.subscribe(subscription);
                }
                if let Some(handler) = reminders {
                    app = app.on_jobs(REMINDER_JOB_PREFIX, handler);
                }
                app.router()
            }
            Kind::Kafka { config, replica } => {
                for consumer in &self.consumers {
                    let (group, config) = if consumer.broadcast {
                        (
                            format!("{}-{replica}", consumer.group),
                            config.clone().with_property("auto.offset.reset", "latest"),
                        )
                    } else {
                        (consumer.group.clone(), config.clone())
                    };
                    let runner =
                        ConsumerRunner::new(config, group, &[consumer.topic], metered(consumer));
                    let token = shutdown.clone();
                    workers.spawn(async move {
                        let group = runner.group().to_owned();
                        match runner.run(token).await {
                            Ok(report) => info!(
                                %group,
                                handled = report.handled,
                                dead_lettered = report.dead_lettered,
                                "consumer stopped"
                            ),
                            Err(error) => error!(%group, %error, "consumer failed"),
                        }
                    });
                }
                Router::new()
            }
        }
    }
}
