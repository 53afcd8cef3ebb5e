//! The scheduler: named one-shot jobs that call back at a due time (Dapr Jobs API in production).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::PortResult;

/// A one-shot job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// Unique name; scheduling the same name again replaces the job (`reminder-task-{id}`).
    pub name: String,
    /// When it should fire.
    pub due: DateTime<Utc>,
    /// Handed back when it fires.
    pub payload: serde_json::Value,
}

/// Schedules and cancels named one-shot jobs. Jobs may fire late or twice; handlers must cope.
#[async_trait]
pub trait Scheduler: Send + Sync {
    /// Schedules `job`, replacing any job of the same name. A due time in the past fires at once.
    async fn schedule(&self, job: Job) -> PortResult<()>;

    /// Cancels a job; cancelling a job that does not exist succeeds.
    async fn cancel(&self, name: &str) -> PortResult<()>;
}
