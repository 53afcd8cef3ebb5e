//! Pure domain of the event-driven task manager.
#![forbid(unsafe_code)]

pub mod error;
pub mod events;
pub mod model;
pub mod ports;
pub mod query;
pub mod recurrence;
pub mod usecases;
