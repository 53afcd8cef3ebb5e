//! The audit half of [`InMemoryTaskRepository`]: an append-only log, one entry per event.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;

use super::lock;
use super::repository::InMemoryTaskRepository;
use crate::model::{EventId, TaskId, UserId};
use crate::ports::{AuditEntry, AuditLog, PortResult};

/// Entries per task in append order, and the events already recorded.
#[derive(Debug, Default)]
pub(super) struct AuditRows {
    by_task: HashMap<(UserId, TaskId), Vec<AuditEntry>>,
    recorded: HashSet<EventId>,
}

impl AuditRows {
    /// Appends `entry` unless its event was recorded; returns whether it was appended.
    pub(super) fn append(&mut self, entry: AuditEntry) -> bool {
        if !self.recorded.insert(entry.event_id) {
            return false;
        }
        self.by_task
            .entry((entry.user_id, entry.task_id))
            .or_default()
            .push(entry);
        true
    }

    /// A task's entries, oldest first (append order among entries of the same instant).
    pub(super) fn history(&self, user_id: UserId, task_id: TaskId) -> Vec<AuditEntry> {
        let mut entries = self
            .by_task
            .get(&(user_id, task_id))
            .cloned()
            .unwrap_or_default();
        entries.sort_by_key(|e| e.at);
        entries
    }
}

#[async_trait]
impl AuditLog for InMemoryTaskRepository {
    async fn append(&self, entry: AuditEntry) -> PortResult<bool> {
        Ok(lock(&self.state).audit.append(entry))
    }

    async fn history(&self, user_id: UserId, task_id: TaskId) -> PortResult<Vec<AuditEntry>> {
        Ok(lock(&self.state).audit.history(user_id, task_id))
    }
}
