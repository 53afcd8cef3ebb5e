//! Pure domain of the event-driven task manager: no I/O, no adapter, no runtime.
//!
//! - [`model`], [`recurrence`], [`query`]: tasks and the rules on them (parse, don't validate);
//! - [`events`]: the messages of SPEC §4, and the names every process must agree on (topics,
//!   consumer groups, job names);
//! - [`ports`]: what the domain needs from outside, as async traits; [`memory`] implements each in
//!   process, and the `testing` feature's `testkit` holds the conformance suite every adapter passes;
//! - [`usecases`]: the rules that use the ports (`TaskService`, the consumers, the outbox relay);
//! - [`quick_add`] and [`chat`]: one line of plain words read as a new task, or a chat message as
//!   what the user wants done (deterministic, no LLM);
//! - [`error`]: what can go wrong, with causes kept.
//!
//! The `examples/` of the repository embed it: `walkthrough` in memory, `with_postgres` over
//! `todo-postgres`, `with_dapr` over a Dapr sidecar through `todo-dapr`.
#![forbid(unsafe_code)]

pub mod calendar;
pub mod chat;
pub mod error;
pub mod events;
pub mod memory;
pub mod model;
#[cfg(feature = "openapi")]
mod openapi;
pub mod ports;
pub mod query;
pub mod quick_add;
pub mod recurrence;
#[cfg(feature = "testing")]
pub mod testkit;
pub mod usecases;
