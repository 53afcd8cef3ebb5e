//! The audit log: an append-only record of every task event, served as a task's history.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::PortResult;
use crate::events::TaskEventType;
use crate::model::{EventId, TaskId, UserId};

/// One line of a task's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// The event recorded (unique: a redelivery appends nothing).
    pub event_id: EventId,
    /// The task.
    pub task_id: TaskId,
    /// Its owner.
    pub user_id: UserId,
    /// What happened.
    pub action: TaskEventType,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The task after the change (before it, for a deletion).
    pub snapshot: serde_json::Value,
}

/// Append-only storage of audit entries, for deployments that keep the log apart from tasks.
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends an entry; returns false (and changes nothing) if its event was already recorded.
    async fn append(&self, entry: AuditEntry) -> PortResult<bool>;

    /// A task's entries, oldest first.
    async fn history(&self, user_id: UserId, task_id: TaskId) -> PortResult<Vec<AuditEntry>>;
}
