//! The reminder channels (SPEC §14) that the notification role delivers to, each an adapter of
//! [`ReminderChannel`](todo_core::ports::ReminderChannel): records, retries and metrics are the
//! use case's ([`ReminderDeliveries`](todo_core::usecases::ReminderDeliveries)).

pub mod email;

/// Web Push (RFC 8030/8291/8292), from the `todo-push` crate.
pub use todo_push::{PushChannel, PushSettings};
