//! Test support for integration tests that need real infrastructure.
//!
//! A test asks for what it needs and gets its own isolated piece of a shared, real stack:
//!
//! - [`TestDatabase`]: a fresh PostgreSQL database, dropped when the value is dropped.
//! - [`TestTopic`]: a uniquely named Kafka topic with N partitions, deleted on drop.
//! - [`Sidecar`]: a `daprd` for one app, with its own ports, rendered components and
//!   consumer group, stopped on drop. It is started, awaited and stopped by the project's one
//!   process supervisor (`infra/todo-infra sidecar`), as in the local deployment.
//!
//! The stack itself (PostgreSQL, Apache Kafka in KRaft mode, the Dapr scheduler and Redis)
//! is started on first use by `infra/todo-infra up` in the run directory `.run/test` of the
//! workspace (or `$TODO_INFRA_RUN_DIR`), shared by every test binary, and never torn down
//! by tests: it keeps running after `cargo test` (the run that starts it says so on the
//! terminal, with the command that stops it: `infra/todo-infra --name test down`). If it cannot start, the error
//! says so and how to provision it (`infra/todo-infra install`); tests never skip.
//!
//! Tests wait on observable state, never for a fixed time: [`wait_until`] polls a condition until
//! it holds and, past its deadline, fails with what it last saw.
//!
//! ```no_run
//! # async fn demo() -> Result<(), todo_testkit::TestkitError> {
//! use todo_testkit::{TestDatabase, TestTopic, Sidecar, PubSubBroker};
//!
//! let db = TestDatabase::create().await?;
//! let pool = db.pool().await?;
//!
//! let topic = TestTopic::create("task-events", 3).await?;
//! topic.produce_keyed(vec![(b"task-1".to_vec(), b"created".to_vec())]).await?;
//!
//! let sidecar = Sidecar::builder("api").app_port(8080).pubsub(PubSubBroker::Kafka).start().await?;
//! let publish_url = format!("{}/v1.0/publish/kafka-pubsub/{}", sidecar.http_url(), topic.name());
//! # let _ = (pool, publish_url); Ok(()) }
//! ```

mod dapr;
mod error;
mod kafka;
mod names;
mod postgres;
mod stack;
mod wait;

pub use dapr::{PubSubBroker, Sidecar, SidecarBuilder};
pub use error::TestkitError;
pub use kafka::{delete_topic, partition_for_key, ConsumedRecord, TestTopic};
pub use names::{free_port, unique_name};
pub use postgres::{database_url, TestDatabase};
pub use stack::Stack;
pub use wait::wait_until;

/// Re-export of the Kafka client the testkit uses, so tests can use its types without
/// adding a second version of it.
pub use rskafka;
/// Re-export of the PostgreSQL driver behind [`TestDatabase::pool`].
pub use sqlx;
