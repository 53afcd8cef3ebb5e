//! The unit of work: one transaction per [`Changes`] on the writer connection, holding the
//! processed-event mark, the outbox messages, the task writes (each with its tags and recurrence
//! row) and the audit entries, so they are stored together or not at all.
//!
//! The transaction is a [`WriteTransaction`] (`BEGIN IMMEDIATE`); any error rolls it back.

use chrono::Utc;
use sqlx::SqliteConnection;

use todo_core::error::PortError;
use todo_core::events::Message;
use todo_core::model::{TaskId, UserId};
use todo_core::ports::{AuditEntry, Changes, PortResult, ProcessedEvent, TaskWrite};

use crate::error::port_error;
use crate::row::{micros, TaskValues};
use crate::setup::Database;
use crate::transaction::WriteTransaction;

/// Records the owner of a task on its first task.
const INSERT_OWNER: &str = "INSERT INTO users (id) VALUES (?1) ON CONFLICT (id) DO NOTHING";

const INSERT_TASK: &str = "\
INSERT INTO tasks (id, user_id, title, description, status, priority, due_date, timezone,
    remind_before, recurrence, series_id, series_anchor, occurrence, predecessor_id, created_at,
    updated_at, completed_at, version, title_key, search_text)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)";

/// Replaces a task at the expected version (`?21`).
const UPDATE_TASK: &str = "\
UPDATE tasks SET title = ?3, description = ?4, status = ?5, priority = ?6, due_date = ?7,
    timezone = ?8, remind_before = ?9, recurrence = ?10, series_id = ?11, series_anchor = ?12,
    occurrence = ?13, predecessor_id = ?14, created_at = ?15, updated_at = ?16,
    completed_at = ?17, version = ?18, title_key = ?19, search_text = ?20
WHERE id = ?1 AND user_id = ?2 AND version = ?21";

/// Deletes a task at the expected version; tags and recurrence go with it (ON DELETE CASCADE), the
/// search index entry with the trigger `tasks_search_delete`.
const DELETE_TASK: &str = "DELETE FROM tasks WHERE id = ?1 AND user_id = ?2 AND version = ?3";

const DELETE_TAGS: &str = "DELETE FROM task_tags WHERE task_id = ?1";

const INSERT_TAG: &str = "INSERT INTO task_tags (task_id, user_id, tag) VALUES (?1, ?2, ?3)";

const DELETE_RECURRENCE: &str = "DELETE FROM task_recurrence WHERE task_id = ?1";

const INSERT_RECURRENCE: &str = "\
INSERT INTO task_recurrence (task_id, pattern, rrule, next_due_date) VALUES (?1, ?2, ?3, ?4)";

/// The stored version of a user's task, to tell a stale write from a missing task.
const STORED_VERSION: &str = "SELECT version FROM tasks WHERE id = ?1 AND user_id = ?2";

/// Appends an outbox message; `seq` records the commit order.
const INSERT_OUTBOX: &str = "\
INSERT INTO outbox (event_id, topic, key, event_type, payload, created_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/// Appends an audit entry; an event already recorded is skipped.
const INSERT_AUDIT: &str = "\
INSERT INTO audit_log (event_id, task_id, user_id, action, at, snapshot)
VALUES (?1, ?2, ?3, ?4, ?5, ?6)
ON CONFLICT (event_id) DO NOTHING";

/// Marks an event processed by a consumer group; a second mark is a unique violation.
const INSERT_PROCESSED: &str =
    "INSERT INTO processed_events (consumer, event_id, processed_at) VALUES (?1, ?2, ?3)";

/// Commits `changes` in one transaction on the writer.
pub(crate) async fn commit(db: &Database, changes: Changes) -> PortResult<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let mut tx = WriteTransaction::begin(db).await?;
    match write_all(tx.conn(), &changes).await {
        Ok(()) => tx.commit().await,
        Err(e) => {
            tx.rollback().await;
            Err(e)
        }
    }
}

async fn write_all(conn: &mut SqliteConnection, changes: &Changes) -> PortResult<()> {
    // The same order of checks as the in-memory reference: a redelivered event and a duplicate
    // outbox message fail before any write is attempted.
    if let Some(processed) = &changes.processed {
        mark_processed(conn, processed).await?;
    }
    if !changes.outbox.is_empty() {
        append_outbox(conn, &changes.outbox).await?;
    }
    for write in &changes.writes {
        apply(conn, write).await?;
    }
    if !changes.audit.is_empty() {
        append_audit(conn, &changes.audit).await?;
    }
    Ok(())
}

async fn mark_processed(conn: &mut SqliteConnection, processed: &ProcessedEvent) -> PortResult<()> {
    sqlx::query(INSERT_PROCESSED)
        .bind(&processed.consumer)
        .bind(processed.event_id.0)
        .bind(micros(Utc::now()))
        .execute(conn)
        .await
        .map_err(|e| match port_error(e) {
            e @ PortError::AlreadyExists { .. } => PortError::already_exists(format!(
                "event {} was already processed by {}",
                processed.event_id, processed.consumer
            ))
            .caused_by(e),
            other => other,
        })?;
    Ok(())
}

async fn append_outbox(conn: &mut SqliteConnection, messages: &[Message]) -> PortResult<()> {
    // One instant for the unit: its messages were committed together; seq keeps their order.
    let created_at = micros(Utc::now());
    for message in messages {
        let payload = serde_json::to_string(&message.payload)
            .map_err(|e| PortError::other(format!("outbox message {}: payload", message.id), e))?;
        sqlx::query(INSERT_OUTBOX)
            .bind(message.id.0)
            .bind(&message.topic)
            .bind(&message.key)
            .bind(&message.event_type)
            .bind(payload)
            .bind(created_at)
            .execute(&mut *conn)
            .await
            .map_err(port_error)?;
    }
    Ok(())
}

/// Appends audit entries, skipping events already recorded; returns how many were appended.
pub(crate) async fn append_audit(
    conn: &mut SqliteConnection,
    entries: &[AuditEntry],
) -> PortResult<u64> {
    let mut appended = 0;
    for entry in entries {
        let snapshot = serde_json::to_string(&entry.snapshot).map_err(|e| {
            PortError::other(format!("audit entry {}: snapshot", entry.event_id), e)
        })?;
        appended += sqlx::query(INSERT_AUDIT)
            .bind(entry.event_id.0)
            .bind(entry.task_id.0)
            .bind(entry.user_id.0)
            .bind(entry.action.as_str())
            .bind(micros(entry.at))
            .bind(snapshot)
            .execute(&mut *conn)
            .await
            .map_err(port_error)?
            .rows_affected();
    }
    Ok(appended)
}

async fn apply(conn: &mut SqliteConnection, write: &TaskWrite) -> PortResult<()> {
    match write {
        TaskWrite::Insert(task) => {
            let values = TaskValues::of(task)?;
            sqlx::query(INSERT_OWNER)
                .bind(task.user_id.0)
                .execute(&mut *conn)
                .await
                .map_err(port_error)?;
            values
                .bind(sqlx::query(INSERT_TASK))
                .execute(&mut *conn)
                .await
                .map_err(|e| match port_error(e) {
                    e @ PortError::AlreadyExists { .. } => {
                        PortError::already_exists(format!("task {}", task.id)).caused_by(e)
                    }
                    other => other,
                })?;
            write_dependents(conn, &values, false).await
        }
        TaskWrite::Update {
            task,
            expected_version,
        } => {
            let values = TaskValues::of(task)?;
            let done = values
                .bind(sqlx::query(UPDATE_TASK))
                .bind(expected_version)
                .execute(&mut *conn)
                .await
                .map_err(port_error)?;
            if done.rows_affected() == 0 {
                return Err(refusal(conn, task.user_id, task.id, *expected_version).await);
            }
            write_dependents(conn, &values, true).await
        }
        TaskWrite::Delete {
            user_id,
            id,
            expected_version,
        } => {
            let done = sqlx::query(DELETE_TASK)
                .bind(id.0)
                .bind(user_id.0)
                .bind(expected_version)
                .execute(&mut *conn)
                .await
                .map_err(port_error)?;
            if done.rows_affected() == 0 {
                return Err(refusal(conn, *user_id, *id, *expected_version).await);
            }
            Ok(())
        }
    }
}

/// Writes a task's tags and recurrence row (replacing the old ones after an update).
async fn write_dependents(
    conn: &mut SqliteConnection,
    values: &TaskValues<'_>,
    replace: bool,
) -> PortResult<()> {
    let task = values.task;
    if replace {
        sqlx::query(DELETE_TAGS)
            .bind(task.id.0)
            .execute(&mut *conn)
            .await
            .map_err(port_error)?;
        sqlx::query(DELETE_RECURRENCE)
            .bind(task.id.0)
            .execute(&mut *conn)
            .await
            .map_err(port_error)?;
    }
    for tag in &values.tags {
        sqlx::query(INSERT_TAG)
            .bind(task.id.0)
            .bind(task.user_id.0)
            .bind(tag)
            .execute(&mut *conn)
            .await
            .map_err(port_error)?;
    }
    if let Some((pattern, rrule, next_due_date)) = &values.recurrence_row {
        sqlx::query(INSERT_RECURRENCE)
            .bind(task.id.0)
            .bind(*pattern)
            .bind(rrule.as_deref())
            .bind(*next_due_date)
            .execute(&mut *conn)
            .await
            .map_err(port_error)?;
    }
    Ok(())
}

/// Why a versioned write changed nothing: the task is missing (for this user) or at another version.
async fn refusal(
    conn: &mut SqliteConnection,
    user_id: UserId,
    id: TaskId,
    expected: i64,
) -> PortError {
    let stored: Result<Option<i64>, _> = sqlx::query_scalar(STORED_VERSION)
        .bind(id.0)
        .bind(user_id.0)
        .fetch_optional(conn)
        .await;
    match stored {
        Ok(None) => PortError::NotFound,
        Ok(Some(version)) => {
            PortError::conflict(format!("task {id} is at version {version}, not {expected}"))
        }
        Err(e) => port_error(e),
    }
}
