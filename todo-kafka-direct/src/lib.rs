//! The event bus on Apache Kafka directly (rdkafka), for deployments without Dapr and for tests.
//!
//! Two halves, matching the two sides of the [`EventBus`](todo_core::ports::EventBus) port:
//!
//! - [`KafkaEventBus`] publishes: an idempotent producer with `acks=all` and at most five requests
//!   in flight per broker, keyed by task id; `publish` returns `Ok` only after Kafka's delivery
//!   report, so the outbox relay never marks an unacknowledged event sent. A broker outage is
//!   ridden out with librdkafka's retries and reconnect backoff, up to
//!   [`KafkaConfig::delivery_timeout`]; [`KafkaEventBus::close`] flushes on shutdown.
//! - [`ConsumerRunner`] consumes: one consumer group (named as in SPEC §4, see [`Subscription`])
//!   hands each record to a [`MessageHandler`](todo_core::ports::MessageHandler) and commits its
//!   offset only after the handler succeeded. Poison records and `Drop` answers go to the
//!   [dead-letter topic](dead_letter) `<topic>.dlq` with the reason in a header; `Retry` answers are
//!   retried with backoff ([`RetryPolicy`]); shutdown through a
//!   [`CancellationToken`](tokio_util::sync::CancellationToken) drains the record in hand and commits.
//!
//! On the wire a message is a CloudEvent in Kafka's binary mode: the key is the task id, the value
//! the event JSON, the id and type travel in `ce_id` and `ce_type` headers ([`envelope`]).
//!
//! ```no_run
//! # async fn demo(
//! #     handler: std::sync::Arc<dyn todo_core::ports::MessageHandler>,
//! #     event: todo_core::events::DomainEvent,
//! # ) -> Result<(), Box<dyn std::error::Error>> {
//! use todo_core::ports::EventBus;
//! use todo_kafka_direct::{ConsumerRunner, KafkaConfig, KafkaEventBus, Subscription};
//! use tokio_util::sync::CancellationToken;
//!
//! let config = KafkaConfig::new("127.0.0.1:9092").with_client_id("todo-api");
//! let bus = KafkaEventBus::new(&config)?;
//! let message = event.to_message(); // topic, key = task id, id, type, JSON payload
//! bus.publish(&message).await?; // Ok once Kafka acknowledged it
//!
//! let shutdown = CancellationToken::new();
//! let runner = ConsumerRunner::for_subscription(config, Subscription::RECURRING, handler);
//! let consuming = tokio::spawn(runner.run(shutdown.clone()));
//! // ... on SIGTERM:
//! shutdown.cancel();
//! let report = consuming.await??;
//! bus.close(std::time::Duration::from_secs(10)).await?;
//! # let _ = report; Ok(()) }
//! ```
//!
//! # Building
//!
//! librdkafka is compiled from the source `rdkafka-sys` ships (its default `./configure && make`
//! build) and linked statically, with zlib as the only optional library. That needs a C compiler
//! and `make`, nothing else. The alternatives do not work on Debian 12: linking Debian's
//! librdkafka (`dynamic-linking`) fails the crate's version check (Debian has 2.0.2, the crate
//! binds 2.12.1), and the CMake build (`cmake-build`) of librdkafka 2.12 does not compile without
//! libcurl headers (librdkafka issue 5135), which would pull in curl and OpenSSL. TLS, SASL and
//! zstd are therefore not built in: connect to a plaintext listener (the local stack, or a Strimzi
//! cluster's internal `plain` listener); managed Kafka that requires TLS is reached through Dapr.

mod config;
mod consumer;
pub mod dead_letter;
pub mod envelope;
mod error;
mod producer;
mod retry;

pub use config::KafkaConfig;
pub use consumer::{ConsumerRunner, RunReport, Subscription};
pub use error::KafkaBusError;
pub use producer::KafkaEventBus;
pub use retry::{RetryPolicy, RetryPolicyError};
