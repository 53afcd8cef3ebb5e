//! The audit log on SQLite: `audit_log` is append-only (triggers refuse updates and deletes) and
//! holds each event once (`UNIQUE (event_id)`), so a redelivered event appends nothing.

use async_trait::async_trait;

use todo_core::events::TaskEventType;
use todo_core::model::{EventId, TaskId, UserId};
use todo_core::ports::{AuditEntry, AuditLog, PortResult, TaskSnapshot};

use crate::error::{corrupt, port_error};
use crate::repository::SqliteTaskRepository;
use crate::row::{get, get_instant, get_uuid};
use crate::setup::Database;

/// Oldest first; entries of the same instant in the order they were appended.
const SELECT_HISTORY: &str = "\
SELECT event_id, task_id, user_id, action, at, snapshot
FROM audit_log
WHERE user_id = ?1 AND task_id = ?2
ORDER BY at, id";

#[async_trait]
impl AuditLog for SqliteTaskRepository {
    async fn append(&self, entry: AuditEntry) -> PortResult<bool> {
        // Through the writer's queue: appended in a group with the writes beside it.
        crate::unit_of_work::append(&self.db, self.commits(), entry).await
    }

    async fn history(&self, user_id: UserId, task_id: TaskId) -> PortResult<Vec<AuditEntry>> {
        history(&self.db, user_id, task_id).await
    }
}

/// A task's audit entries, oldest first.
pub(crate) async fn history(
    db: &Database,
    user_id: UserId,
    task_id: TaskId,
) -> PortResult<Vec<AuditEntry>> {
    let rows = sqlx::query(SELECT_HISTORY)
        .bind(user_id.0)
        .bind(task_id.0)
        .fetch_all(&db.reader)
        .await
        .map_err(port_error)?;
    rows.iter()
        .map(|row| {
            let action: String = get(row, "action")?;
            Ok(AuditEntry {
                event_id: EventId(get_uuid(row, "event_id")?),
                task_id: TaskId(get(row, "task_id")?),
                user_id: UserId(get_uuid(row, "user_id")?),
                action: parse_action(&action)
                    .ok_or_else(|| corrupt("audit row", format!("unknown action `{action}`")))?,
                at: get_instant(row, "at")?,
                snapshot: TaskSnapshot::from_json(get(row, "snapshot")?)
                    .map_err(|e| corrupt("stored snapshot", e))?,
            })
        })
        .collect()
}

fn parse_action(label: &str) -> Option<TaskEventType> {
    [
        TaskEventType::Created,
        TaskEventType::Updated,
        TaskEventType::Completed,
        TaskEventType::Deleted,
    ]
    .into_iter()
    .find(|a| a.as_str() == label)
}
