//! The audit handler: appends every task event to the append-only audit log.

use std::sync::Arc;

use crate::error::TaskError;
use crate::events::TaskEvent;
use crate::ports::{AuditEntry, AuditLog, TaskSnapshot};

/// Handles `task-events` for the audit service.
#[derive(Clone)]
pub struct AuditHandler {
    log: Arc<dyn AuditLog>,
}

impl AuditHandler {
    /// Builds the handler over the audit log.
    pub fn new(log: Arc<dyn AuditLog>) -> Self {
        Self { log }
    }

    /// Appends the event; returns false when it was already recorded (a redelivery).
    #[tracing::instrument(name = "audit", skip_all, fields(event_id = %event.event_id, task_id = %event.task_id, user_id = %event.user_id), err(level = "debug"))]
    pub async fn handle(&self, event: &TaskEvent) -> Result<bool, TaskError> {
        let entry = AuditEntry {
            event_id: event.event_id,
            task_id: event.task_id,
            user_id: event.user_id,
            action: event.event_type,
            at: event.timestamp,
            snapshot: TaskSnapshot::of(&event.task_data),
        };
        Ok(self.log.append(entry).await?)
    }
}
