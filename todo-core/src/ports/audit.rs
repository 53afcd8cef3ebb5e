//! The audit log: an append-only record of every task event, served as a task's history.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::PortResult;
use crate::events::TaskEventType;
use crate::model::{EventId, Task, TaskId, UserId};

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
    pub snapshot: TaskSnapshot,
}

/// A task as JSON text, kept as written: the audit log stores and serves it whole, so it is never
/// built as a tree of `serde_json::Value`s (building, writing and dropping such trees, for these
/// snapshots and the event payloads, took over a tenth of the server's CPU under creates:
/// docs/benchmarks.md). Two snapshots are equal when their texts are.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskSnapshot(Box<serde_json::value::RawValue>);

impl TaskSnapshot {
    /// The task's JSON, as an event carries it.
    pub fn of(task: &Task) -> Self {
        Self(serde_json::value::to_raw_value(task).expect("a task serialises: plain values only"))
    }

    /// Any JSON value as a snapshot (test data, or an entry written by an older version).
    pub fn from_value(value: &serde_json::Value) -> Self {
        Self(serde_json::value::to_raw_value(value).expect("a JSON value serialises"))
    }

    /// Takes stored JSON text; fails if it is not JSON.
    pub fn from_json(text: String) -> Result<Self, serde_json::Error> {
        serde_json::value::RawValue::from_string(text).map(Self)
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        self.0.get()
    }
}

impl PartialEq for TaskSnapshot {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for TaskSnapshot {}

/// Append-only storage of audit entries, for deployments that keep the log apart from tasks.
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends an entry; returns false (and changes nothing) if its event was already recorded.
    async fn append(&self, entry: AuditEntry) -> PortResult<bool>;

    /// A task's entries, oldest first.
    async fn history(&self, user_id: UserId, task_id: TaskId) -> PortResult<Vec<AuditEntry>>;
}
