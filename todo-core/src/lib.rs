//! Pure domain of the event-driven task manager.
#![forbid(unsafe_code)]

pub mod error;
pub mod events;
pub mod memory;
pub mod model;
#[cfg(feature = "openapi")]
mod openapi;
pub mod ports;
pub mod query;
pub mod recurrence;
#[cfg(feature = "testing")]
pub mod testkit;
pub mod usecases;
