//! The unit of work: one transaction per [`Changes`], holding the task writes, their outbox events, audit
//! entries and the processed-event mark, so they are stored together or not at all.
//!
//! Each task write is one statement (data-modifying CTEs write the task, its tags and its recurrence
//! row together). The common unit of work, one insert or update with its events (a create, an edit, a
//! completion), is a single statement with the outbox insert as one more CTE: atomic without an
//! explicit transaction, so one round trip instead of four.

use std::sync::Arc;

use sqlx::{PgConnection, PgPool, Row};

use todo_core::error::PortError;
use todo_core::events::Message;
use todo_core::model::{Task, TaskId, UserId};
use todo_core::ports::{stale_write, AuditEntry, Changes, PortResult, ProcessedEvent, TaskWrite};

use crate::error::port_error;
use crate::insert_batch::InsertQueue;
use crate::json_text::JsonText;
use crate::row::TaskValues;

/// The data-modifying CTEs that insert a task (its tags on its row), its owner (on first use) and its
/// recurrence row (`$1..$24`).
macro_rules! insert_task_ctes {
    () => {
        "\
WITH owner AS (
    INSERT INTO users (id) VALUES ($2) ON CONFLICT (id) DO NOTHING
), task AS (
    INSERT INTO tasks (id, user_id, title, description, status, priority, due_date, timezone,
        remind_before, recurrence, series_id, series_anchor, occurrence, predecessor_id, created_at,
        updated_at, completed_at, version, title_key, search_text, tags)
    VALUES ($1, $2, $3, $4, $5::task_status, $6::task_priority, $7, $8, $9, $10, $11, $12, $13, $14,
        $15, $16, $17, $18, $19, $20, $21::text[])
), recurrence AS (
    INSERT INTO task_recurrence (task_id, pattern, rrule, next_due_date)
    SELECT $1, $22::recurrence_pattern, $23, $24 WHERE $22 IS NOT NULL
)"
    };
}

/// The data-modifying CTEs that replace a task at the expected version (`$25`), with its recurrence
/// row; `updated` holds the id of the task changed, if any.
macro_rules! update_task_ctes {
    () => {
        "\
WITH updated AS (
    UPDATE tasks SET title = $3, description = $4, status = $5::task_status,
        priority = $6::task_priority, due_date = $7, timezone = $8, remind_before = $9,
        recurrence = $10, series_id = $11, series_anchor = $12, occurrence = $13,
        predecessor_id = $14, created_at = $15, updated_at = $16, completed_at = $17, version = $18,
        title_key = $19, search_text = $20, tags = $21::text[]
    WHERE id = $1 AND user_id = $2 AND version = $25
    RETURNING id
), recurrence_ended AS (
    DELETE FROM task_recurrence r USING updated u WHERE r.task_id = u.id AND $22::text IS NULL
), recurrence_set AS (
    INSERT INTO task_recurrence (task_id, pattern, rrule, next_due_date)
    SELECT u.id, $22::recurrence_pattern, $23, $24 FROM updated u WHERE $22 IS NOT NULL
    ON CONFLICT (task_id) DO UPDATE
    SET pattern = EXCLUDED.pattern, rrule = EXCLUDED.rrule, next_due_date = EXCLUDED.next_due_date
)"
    };
}

/// Appends outbox messages, bound as five arrays (`$params`: ids, topics, keys, event types,
/// payloads), in order, if `$condition` holds.
macro_rules! outbox_cte {
    ($params:literal, $condition:literal) => {
        concat!(
            ", outbox AS (
    INSERT INTO outbox (event_id, topic, key, event_type, payload)
    SELECT m.event_id, m.topic, m.key, m.event_type, m.payload
    FROM unnest(",
            $params,
            ") WITH ORDINALITY AS m(event_id, topic, key, event_type, payload, n)
    ",
            $condition,
            "
    ORDER BY m.n
)"
        )
    };
}

/// Inserts a task, its owner (on first use), its tags and its recurrence row.
const INSERT_TASK: &str = concat!(insert_task_ctes!(), "\nSELECT 1");

/// [`INSERT_TASK`] and its outbox messages (`$25..$29`) in one statement.
const INSERT_TASK_WITH_OUTBOX: &str = concat!(
    insert_task_ctes!(),
    outbox_cte!(
        "$25::uuid[], $26::text[], $27::text[], $28::text[], $29::json[]",
        ""
    ),
    "\nSELECT 1"
);

/// Replaces a task if it is at the expected version (`$25`), with its tags and recurrence row;
/// returns how many tasks it changed (0 or 1).
const UPDATE_TASK: &str = concat!(update_task_ctes!(), "\nSELECT count(*) FROM updated");

/// [`UPDATE_TASK`] and its outbox messages in one statement; the messages are appended only when the
/// task was at the expected version.
const UPDATE_TASK_WITH_OUTBOX: &str = concat!(
    update_task_ctes!(),
    outbox_cte!(
        "$26::uuid[], $27::text[], $28::text[], $29::text[], $30::json[]",
        "WHERE EXISTS (SELECT 1 FROM updated)"
    ),
    "\nSELECT count(*) FROM updated"
);

/// Deletes a task at the expected version; its recurrence row goes with it (ON DELETE CASCADE).
const DELETE_TASK: &str = "DELETE FROM tasks WHERE id = $1 AND user_id = $2 AND version = $3";

/// The stored version of a user's task, to tell a stale write from a missing task.
const STORED_VERSION: &str = "SELECT version FROM tasks WHERE id = $1 AND user_id = $2";

/// Appends outbox messages in order; `created_at` and `seq` record that order.
const INSERT_OUTBOX: &str = "\
INSERT INTO outbox (event_id, topic, key, event_type, payload)
SELECT m.event_id, m.topic, m.key, m.event_type, m.payload
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::json[])
    WITH ORDINALITY AS m(event_id, topic, key, event_type, payload, n)
ORDER BY m.n";

/// Appends audit entries; an event already recorded is skipped.
pub(crate) const INSERT_AUDIT: &str = "\
INSERT INTO audit_log (event_id, task_id, user_id, action, at, snapshot)
SELECT a.event_id, a.task_id, a.user_id, a.action::audit_action, a.at, a.snapshot
FROM unnest($1::uuid[], $2::int8[], $3::uuid[], $4::text[], $5::timestamptz[], $6::json[])
    WITH ORDINALITY AS a(event_id, task_id, user_id, action, at, snapshot, n)
ORDER BY a.n
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id";

/// Marks an event processed by a consumer group; a second mark is a unique violation.
const INSERT_PROCESSED: &str = "INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2)";

/// Commits `changes` in one transaction.
pub(crate) async fn commit(
    pool: &PgPool,
    inserts: &Arc<InsertQueue>,
    mut changes: Changes,
) -> PortResult<()> {
    if changes.is_empty() {
        return Ok(());
    }
    // The common case, one task write and its events: one statement, which is atomic on its own, in
    // place of BEGIN, the outbox insert, the write and COMMIT (four round trips). A create goes
    // through the insert queue, which writes concurrent creates together.
    if changes.processed.is_none() && changes.audit.is_empty() && changes.writes.len() == 1 {
        match changes.writes.pop() {
            Some(TaskWrite::Insert(task)) => return inserts.write((task, changes.outbox)).await,
            Some(TaskWrite::Update {
                task,
                expected_version,
            }) => {
                return write_with_outbox(pool, &task, Some(expected_version), &changes.outbox)
                    .await
            }
            Some(other) => changes.writes.push(other),
            None => {}
        }
    }
    let mut tx = pool.begin().await.map_err(port_error)?;
    // The same order of checks as the in-memory reference: a redelivered event and a duplicate
    // outbox message fail before any write is attempted.
    if let Some(processed) = &changes.processed {
        mark_processed(&mut tx, processed).await?;
    }
    if !changes.outbox.is_empty() {
        append_outbox(&mut tx, &changes.outbox).await?;
    }
    for write in &changes.writes {
        apply(&mut tx, write).await?;
    }
    if !changes.audit.is_empty() {
        append_audit(&mut tx, &changes.audit).await?;
    }
    // Dropping the transaction on any error above rolls it back.
    tx.commit().await.map_err(port_error)
}

/// Inserts `task` (no `expected_version`) or updates it from `expected_version`, with its outbox
/// messages, as one statement.
pub(crate) async fn write_with_outbox(
    pool: &PgPool,
    task: &Task,
    expected_version: Option<i64>,
    messages: &[Message],
) -> PortResult<()> {
    let values = TaskValues::of(task)?;
    let ids: Vec<_> = messages.iter().map(|m| m.id.0).collect();
    let topics: Vec<_> = messages.iter().map(|m| m.topic.as_str()).collect();
    let keys: Vec<_> = messages.iter().map(|m| m.key.as_str()).collect();
    let types: Vec<_> = messages.iter().map(|m| m.event_type.as_str()).collect();
    let payloads: Vec<_> = messages.iter().map(|m| JsonText(&m.payload)).collect();
    let mut conn = pool.acquire().await.map_err(port_error)?;
    let query = match expected_version {
        None => values.bind(sqlx::query(INSERT_TASK_WITH_OUTBOX)),
        Some(expected) => values
            .bind(sqlx::query(UPDATE_TASK_WITH_OUTBOX))
            .bind(expected),
    };
    let result = query
        .bind(ids)
        .bind(topics)
        .bind(keys)
        .bind(types)
        .bind(payloads)
        .fetch_one(&mut *conn)
        .await;
    let row = result.map_err(|e| {
        // The same errors as the transaction's steps: a duplicate event as the outbox insert reports
        // it, any other unique violation as the task write does.
        let outbox = e
            .as_database_error()
            .and_then(|db| db.constraint())
            .is_some_and(|c| c.starts_with("outbox"));
        match port_error(e) {
            e @ PortError::AlreadyExists { .. } if !outbox && expected_version.is_none() => {
                PortError::already_exists(format!("task {}", task.id)).caused_by(e)
            }
            other => other,
        }
    })?;
    if let Some(expected) = expected_version {
        let changed: i64 = row.try_get(0).map_err(port_error)?;
        if changed == 0 {
            return Err(refusal(&mut conn, task.user_id, task.id, expected).await);
        }
    }
    Ok(())
}

async fn mark_processed(conn: &mut PgConnection, processed: &ProcessedEvent) -> PortResult<()> {
    sqlx::query(INSERT_PROCESSED)
        .bind(&processed.consumer)
        .bind(processed.event_id.0)
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

async fn append_outbox(conn: &mut PgConnection, messages: &[Message]) -> PortResult<()> {
    let ids: Vec<_> = messages.iter().map(|m| m.id.0).collect();
    let topics: Vec<_> = messages.iter().map(|m| m.topic.as_str()).collect();
    let keys: Vec<_> = messages.iter().map(|m| m.key.as_str()).collect();
    let types: Vec<_> = messages.iter().map(|m| m.event_type.as_str()).collect();
    let payloads: Vec<_> = messages.iter().map(|m| JsonText(&m.payload)).collect();
    sqlx::query(INSERT_OUTBOX)
        .bind(ids)
        .bind(topics)
        .bind(keys)
        .bind(types)
        .bind(payloads)
        .execute(conn)
        .await
        .map_err(port_error)?;
    Ok(())
}

/// Appends audit entries, skipping events already recorded; returns the event ids appended.
pub(crate) async fn append_audit(
    conn: &mut PgConnection,
    entries: &[AuditEntry],
) -> PortResult<Vec<uuid::Uuid>> {
    let ids: Vec<_> = entries.iter().map(|e| e.event_id.0).collect();
    let tasks: Vec<_> = entries.iter().map(|e| e.task_id.0).collect();
    let users: Vec<_> = entries.iter().map(|e| e.user_id.0).collect();
    let actions: Vec<_> = entries.iter().map(|e| e.action.as_str()).collect();
    let times: Vec<_> = entries.iter().map(|e| e.at).collect();
    let snapshots: Vec<_> = entries.iter().map(|e| JsonText(&e.snapshot)).collect();
    sqlx::query_scalar(INSERT_AUDIT)
        .bind(ids)
        .bind(tasks)
        .bind(users)
        .bind(actions)
        .bind(times)
        .bind(snapshots)
        .fetch_all(conn)
        .await
        .map_err(port_error)
}

async fn apply(conn: &mut PgConnection, write: &TaskWrite) -> PortResult<()> {
    match write {
        TaskWrite::Insert(task) => {
            let values = TaskValues::of(task)?;
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
            Ok(())
        }
        TaskWrite::Update {
            task,
            expected_version,
        } => {
            let values = TaskValues::of(task)?;
            let row = values
                .bind(sqlx::query(UPDATE_TASK))
                .bind(expected_version)
                .fetch_one(&mut *conn)
                .await
                .map_err(port_error)?;
            let changed: i64 = row.try_get(0).map_err(port_error)?;
            if changed == 0 {
                return Err(refusal(conn, task.user_id, task.id, *expected_version).await);
            }
            Ok(())
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

/// Why a versioned write changed nothing: the task is missing (for this user) or at another version.
async fn refusal(conn: &mut PgConnection, user_id: UserId, id: TaskId, expected: i64) -> PortError {
    let stored: Result<Option<i64>, _> = sqlx::query_scalar(STORED_VERSION)
        .bind(id.0)
        .bind(user_id.0)
        .fetch_optional(conn)
        .await;
    match stored {
        Ok(version) => stale_write(id, version, expected),
        Err(e) => port_error(e),
    }
}
