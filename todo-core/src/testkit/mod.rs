//! Conformance suites: one per port, run by every adapter's tests against its own implementation, so
//! the in-memory, PostgreSQL, Dapr and Kafka adapters provably mean the same thing.
//!
//! Each suite is a struct with one `pub async fn` per case and a `run_all`. Cases panic with a message
//! naming what broke (they are tests), create fresh random users, keys and job names so a shared
//! database or broker can be reused between runs, and tolerate the at-least-once delivery of real
//! brokers and the jitter of real schedulers.
//!
//! | port | suite | what the adapter test supplies |
//! |---|---|---|
//! | [`TaskRepository`](crate::ports::TaskRepository) + outbox + audit | [`TaskRepositorySuite`] | the store |
//! | [`EventBus`](crate::ports::EventBus) | [`EventBusSuite`] | a [`BusHarness`] that can subscribe |
//! | [`Scheduler`](crate::ports::Scheduler) | [`SchedulerSuite`] | a [`SchedulerHarness`] reporting fired jobs |
//! | [`StateStore`](crate::ports::StateStore) | [`StateStoreSuite`] | the store |
//! | [`Locks`](crate::ports::Locks) | [`LocksSuite`] | two handles on the same locks (two replicas) |
//! | [`SecretStore`](crate::ports::SecretStore) | [`SecretStoreSuite`] | the store and one seeded secret |
//! | [`UserRepository`](crate::ports::UserRepository) | [`UserRepositorySuite`] | the store |
//! | [`NotificationStore`](crate::ports::NotificationStore) | [`NotificationStoreSuite`] | the store |
//! | [`PushSubscriptionStore`](crate::ports::PushSubscriptionStore) | [`PushSubscriptionStoreSuite`] | the store |
//! | [`OutboxStore`](crate::ports::OutboxStore) through the relay | [`OutboxRelaySuite`] | an [`OutboxHarness`] over an empty outbox |
//! | [`TaskRepository`](crate::ports::TaskRepository) under concurrent writers | [`RaceSuite`] | the store |
//! | [`TaskRepository::query`](crate::ports::TaskRepository::query), generated | [`QueryDifferential`] | the store, other plans over it |
//!
//! ```no_run
//! # async fn example() {
//! use std::sync::Arc;
//! use todo_core::memory::InMemoryTaskRepository;
//! use todo_core::testkit::TaskRepositorySuite;
//!
//! TaskRepositorySuite::new(Arc::new(InMemoryTaskRepository::new())).run_all().await;
//! # }
//! ```

mod arbitrary;
mod calendar_feeds;
mod corrupt_rows;
mod deliveries;
mod event_bus;
mod fixtures;
mod locks;
mod notifications;
mod outbox;
mod outbox_relay;
mod push;
mod query;
mod query_differential;
mod races;
mod repository;
mod scheduler;
mod secret_store;
mod series;
mod state_store;
mod users;

pub use arbitrary::any_json;
pub use calendar_feeds::CalendarFeedsSuite;
pub use deliveries::DeliveryStoreSuite;
pub use event_bus::{BusHarness, ChannelHandler, EventBusSuite};
pub use fixtures::store_task;
pub use locks::LocksSuite;
pub use notifications::NotificationStoreSuite;
pub use outbox_relay::{OutboxHarness, OutboxRelaySuite, OutboxStoreHandle};
pub use push::PushSubscriptionStoreSuite;
pub use query_differential::QueryDifferential;
pub use races::RaceSuite;
pub use repository::TaskRepositorySuite;
pub use scheduler::{FiredJob, FiredJobs, SchedulerHarness, SchedulerSuite};
pub use secret_store::{SecretStoreSuite, SeededSecret};
pub use state_store::StateStoreSuite;
pub use users::UserRepositorySuite;
