//! The audit log on PostgreSQL: `audit_log` is append-only (a trigger refuses updates and deletes) and
//! holds each event once (`UNIQUE (event_id)`), so a redelivered event appends nothing.
//!
//! Appends are group-committed ([`crate::group_commit`]): events that consumers hand over concurrently
//! (the outbox relay publishes several tasks' events at a time) are appended in one statement and one
//! commit, rather than one commit, each waiting for the disk, per event.

use std::collections::HashSet;

use async_trait::async_trait;
use sqlx::{PgPool, Row};

use todo_core::events::TaskEventType;
use todo_core::model::{EventId, TaskId, UserId};
use todo_core::ports::{AuditEntry, AuditLog, PortResult, TaskSnapshot};

use crate::error::{corrupt, port_error};
use crate::group_commit::{BatchWrite, GroupCommit};
use crate::repository::PostgresTaskRepository;
use crate::unit_of_work::append_audit;

/// Audit appends, in batches.
pub(crate) type AuditQueue = GroupCommit<AuditAppends>;

/// Appends audit entries: many in one statement, or one alone. The output says whether the entry was
/// appended (`false`: its event was recorded before).
pub(crate) struct AuditAppends(pub(crate) PgPool);

#[async_trait]
impl BatchWrite for AuditAppends {
    type Item = AuditEntry;
    type Output = bool;

    async fn write_all(&self, entries: &[AuditEntry]) -> PortResult<Vec<bool>> {
        let mut conn = self.0.acquire().await.map_err(port_error)?;
        let mut appended: HashSet<uuid::Uuid> = append_audit(&mut conn, entries)
            .await?
            .into_iter()
            .collect();
        // An event handed over twice in one batch is appended once: the first entry of it says so.
        Ok(entries
            .iter()
            .map(|entry| appended.remove(&entry.event_id.0))
            .collect())
    }

    async fn write_one(&self, entry: &AuditEntry) -> PortResult<bool> {
        // The batch statement serves one entry as well: one statement to keep, not two.
        let appended = self.write_all(std::slice::from_ref(entry)).await?;
        Ok(appended.first().copied().unwrap_or(false))
    }
}

/// Oldest first; entries of the same instant in the order they were appended.
const SELECT_HISTORY: &str = "\
SELECT event_id, task_id, user_id, action::text AS action, at, snapshot
FROM audit_log
WHERE user_id = $1 AND task_id = $2
ORDER BY at, id";

#[async_trait]
impl AuditLog for PostgresTaskRepository {
    async fn append(&self, entry: AuditEntry) -> PortResult<bool> {
        self.audit.write(entry).await
    }

    async fn history(&self, user_id: UserId, task_id: TaskId) -> PortResult<Vec<AuditEntry>> {
        history(&self.pool, user_id, task_id).await
    }
}

/// A task's audit entries, oldest first.
pub(crate) async fn history(
    pool: &PgPool,
    user_id: UserId,
    task_id: TaskId,
) -> PortResult<Vec<AuditEntry>> {
    let rows = sqlx::query(SELECT_HISTORY)
        .bind(user_id.0)
        .bind(task_id.0)
        .fetch_all(pool)
        .await
        .map_err(port_error)?;
    rows.iter()
        .map(|row| {
            let action: String = row.try_get("action").map_err(port_error)?;
            Ok(AuditEntry {
                event_id: EventId(row.try_get("event_id").map_err(port_error)?),
                task_id: TaskId(row.try_get("task_id").map_err(port_error)?),
                user_id: UserId(row.try_get("user_id").map_err(port_error)?),
                action: parse_action(&action)
                    .ok_or_else(|| corrupt("audit row", format!("unknown action `{action}`")))?,
                at: row.try_get("at").map_err(port_error)?,
                snapshot: row
                    .try_get::<sqlx::types::Json<TaskSnapshot>, _>("snapshot")
                    .map_err(port_error)?
                    .0,
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
