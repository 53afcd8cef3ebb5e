//! Programs that embed `todo-core`; run them with `cargo run --example <name>`.
//!
//! | example | shows | needs |
//! |---|---|---|
//! | `walkthrough` | the user scenarios on the in-memory adapters, with a simulated clock | nothing |
//! | `with_sqlite` | `todo-sqlite` storage, the embedded default's: a database file, migrations, the transactional outbox relayed to an in-process bus, the next occurrence of a recurring task created from the `completed` event | nothing (or a file path) |
//! | `with_postgres` | the same scenario on `todo-postgres` ([`storage::complete_a_recurring_task`]) | `DATABASE_URL` |
//! | `with_dapr` | Dapr building blocks through a sidecar: events published by the outbox relay to `kafka-pubsub` and consumed back through a subscription, the reminder as a Jobs API job that calls the app back, the recurring handler's state in the `statestore` | `DAPR_HTTP_PORT` or `DAPR_HTTP_ENDPOINT`, `DATABASE_URL` (`postgres://…` or `memory:`) |
//!
//! Each example says at its top how to run it. `tests/examples_run.rs` runs all four, the last two
//! against the real test stack (PostgreSQL, Kafka, daprd with the Dapr scheduler).
//!
//! This library holds what the examples print with, and the scenario of the storage examples.

pub mod storage;

use chrono::{DateTime, Utc};
use todo_core::model::Task;

/// `instant` on the wall clock of the task's time zone: `Mon 2026-03-09 09:00 GMT (Europe/London)`,
/// or `Mon 2026-03-09 09:00 UTC` when the zone is UTC.
#[must_use]
pub fn local_time(task: &Task, instant: DateTime<Utc>) -> String {
    let zone = task.timezone;
    let local = instant
        .with_timezone(&zone.tz())
        .format("%a %Y-%m-%d %H:%M %Z")
        .to_string();
    if local.ends_with(zone.name()) {
        local
    } else {
        format!("{local} ({})", zone.name())
    }
}

/// The task's due date in its time zone, or `no due date`.
#[must_use]
pub fn due(task: &Task) -> String {
    match task.due_date {
        Some(due) => format!("due {}", local_time(task, due)),
        None => "no due date".to_owned(),
    }
}

/// One line about a task: `#2 "Weekly team sync" [pending] due Mon 2026-03-09 09:00 GMT (Europe/London)`.
#[must_use]
pub fn describe(task: &Task) -> String {
    format!(
        "#{} \"{}\" [{}] {}",
        task.id,
        task.title.as_str(),
        task.status,
        due(task)
    )
}

/// The environment variable `name`, or, when it is unset or empty, exits with status 2 and a message
/// that names it and says how to set it (`how`).
#[must_use]
pub fn required_var(name: &str, how: &str) -> String {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => value,
        _ => {
            eprintln!("error: {name} is not set: {how}");
            std::process::exit(2)
        }
    }
}
