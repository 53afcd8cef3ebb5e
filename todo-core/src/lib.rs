//! Pure domain of the event-driven task manager.
#![forbid(unsafe_code)]

pub mod error;
pub mod recurrence;
