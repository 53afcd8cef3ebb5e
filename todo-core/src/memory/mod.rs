//! In-memory adapters for every port: the embedded mode (`todo-server all` without a database or sidecar)
//! and fast, deterministic tests.
//!
//! Each adapter keeps its state behind a `std::sync::Mutex` that is never held across an `.await`, and
//! passes the same conformance suite (`todo_core::testkit`, feature `testing`) as the production
//! adapters. Beyond its port, each offers a few inspection and fault-injection methods for tests
//! (published messages, dead letters, "broker down", pending jobs).

mod audit;
mod calendar_feeds;
mod clock;
mod dead_letters;
mod deliveries;
mod event_bus;
mod locks;
mod notifications;
mod outbox;
mod push;
mod repository;
mod scheduler;
mod secret_store;
mod state_store;
mod user_index;
mod users;

pub use crate::ports::DeadLetter;
pub use calendar_feeds::InMemoryCalendarFeeds;
pub use clock::{ManualClock, SequentialIds};
pub use dead_letters::{InMemoryDeadLetters, StateDeadLetters};
pub use deliveries::InMemoryDeliveryStore;
pub use event_bus::{InMemoryEventBus, Redelivery};
pub use locks::InMemoryLocks;
pub use notifications::InMemoryNotificationStore;
pub use push::InMemoryPushSubscriptionStore;
pub use repository::InMemoryTaskRepository;
pub use scheduler::InMemoryScheduler;
pub use secret_store::InMemorySecretStore;
pub use state_store::InMemoryStateStore;
pub use users::InMemoryUserRepository;

use std::sync::{Mutex, MutexGuard};

/// Locks `mutex`, recovering the data if a panicking thread poisoned it: every critical section in this
/// module leaves its state consistent before anything that can panic.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
