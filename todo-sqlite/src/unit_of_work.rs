//! The unit of work: each [`Changes`] (the processed-event mark, the outbox messages, the task
//! writes with their tags and recurrence rows, the audit entries) is stored together or not at all.
//!
//! **Group commit.** Units that arrive while the writer is busy are committed together: each caller
//! queues its unit and waits for its outcome, and one background task, the flusher, takes the
//! queued units in groups and runs each group in one transaction (`BEGIN IMMEDIATE`). The flusher
//! starts the next group as soon as one commits, with no hand-off to another task in between (when
//! each caller took the writer in turn, every group waited for a caller's task to be woken and
//! polled, and the writer idled half the time under load: docs/benchmarks.md); it takes the writer
//! afresh for each group, so other callers of the writer waiting beside it go first. A caller that
//! goes away (a closed HTTP connection) does not cancel a group others wait for. Inserts go in one
//! [`Batch`]: a group of inserts only is one round trip from `BEGIN` to `COMMIT`. Updates and
//! deletes run each inside its own savepoint, and when a batch fails, its units run one by one too,
//! so a unit that fails (a stale version, an event already processed) is rolled back alone and the
//! others commit. One commit then writes
//! each touched page to the WAL once for the whole group, instead of once per unit (the task table,
//! five sort indexes, tags, outbox and search index pages of every create), and the search index
//! gets one new segment per group. A unit's caller hears back only after the group's `COMMIT`, so
//! an acknowledged unit is committed; if the group's transaction fails (a full disk rolls the whole
//! transaction back), every unit in it gets the error.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use sqlx::query::Query;
use sqlx::sqlite::SqliteArguments;
use sqlx::{Sqlite, SqliteConnection};
use tokio::sync::oneshot;
use uuid::Uuid;

use todo_core::error::PortError;
use todo_core::events::Message;
use todo_core::model::{EventId, Task, TaskId, UserId};
use todo_core::ports::{stale_write, AuditEntry, Changes, PortResult, ProcessedEvent, TaskWrite};

use crate::batch::{payload_text, Batch};
use crate::error::port_error;
use crate::row::{micros, TaskValues};
use crate::setup::Database;
use crate::transaction::WriteTransaction;
use crate::writer::WriterConnection;

/// Records the owner of a task on its first task.
const INSERT_OWNER: &str = "INSERT INTO users (id) VALUES (?) ON CONFLICT (id) DO NOTHING;";

const INSERT_TASK: &str = "INSERT INTO tasks (id, user_id, title, description, status, priority, \
     due_date, timezone, remind_before, recurrence, series_id, series_anchor, occurrence, \
     predecessor_id, created_at, updated_at, completed_at, version, title_key, search_text) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);";

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

const INSERT_TAG: &str = "INSERT INTO task_tags (task_id, user_id, tag) VALUES (?, ?, ?);";

const DELETE_RECURRENCE: &str = "DELETE FROM task_recurrence WHERE task_id = ?1";

const INSERT_RECURRENCE: &str =
    "INSERT INTO task_recurrence (task_id, pattern, rrule, next_due_date) VALUES (?, ?, ?, ?);";

/// The stored version of a user's task, to tell a stale write from a missing task.
const STORED_VERSION: &str = "SELECT version FROM tasks WHERE id = ?1 AND user_id = ?2";

/// Appends an outbox message; `seq` records the commit order.
const INSERT_OUTBOX: &str =
    "INSERT INTO outbox (event_id, topic, key, event_type, payload, created_at) \
     VALUES (?, ?, ?, ?, ?, ?);";

/// Appends an audit entry; an event already recorded is skipped.
const INSERT_AUDIT: &str =
    "INSERT INTO audit_log (event_id, task_id, user_id, action, at, snapshot) \
     VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING;";

/// Marks an event processed by a consumer group; a second mark is a unique violation.
const INSERT_PROCESSED: &str =
    "INSERT INTO processed_events (consumer, event_id, processed_at) VALUES (?, ?, ?);";

/// The most units one transaction takes.
const MAX_GROUP: usize = 64;

/// What a queued unit writes.
pub(crate) enum Work {
    /// A unit of work of the task repository.
    Changes(Changes),
    /// One audit entry (the audit consumer's append).
    Audit(AuditEntry),
    /// Outbox messages the relay has sent, and when.
    MarkSent {
        ids: Vec<EventId>,
        at: DateTime<Utc>,
    },
}

/// What a committed unit reports back.
enum Done {
    Committed,
    /// Whether the audit entry was new.
    Appended(bool),
}

/// A unit waiting for the writer, and where its outcome goes.
pub(crate) struct Queued {
    work: Work,
    reply: oneshot::Sender<PortResult<Done>>,
}

/// Units waiting for the writer (shared by the clones of a repository), and whether the flusher runs.
#[derive(Default)]
pub(crate) struct CommitQueue {
    queued: Mutex<VecDeque<Queued>>,
    flushing: AtomicBool,
}

impl std::fmt::Debug for CommitQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommitQueue").finish_non_exhaustive()
    }
}

impl CommitQueue {
    fn queued(&self) -> std::sync::MutexGuard<'_, VecDeque<Queued>> {
        self.queued.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push(&self, unit: Queued) {
        self.queued().push_back(unit);
    }

    fn take(&self) -> Vec<Queued> {
        let mut queue = self.queued();
        let n = queue.len().min(MAX_GROUP);
        queue.drain(..n).collect()
    }

    fn is_empty(&self) -> bool {
        self.queued().is_empty()
    }
}

/// Marks outbox messages sent at `at`, in a group with the units queued beside it (the relay's
/// marks ride along with the creates instead of taking the writer for a transaction of their own).
pub(crate) async fn mark_sent(
    db: &Database,
    queue: &Arc<CommitQueue>,
    ids: Vec<EventId>,
    at: DateTime<Utc>,
) -> PortResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    write(db, queue, Work::MarkSent { ids, at }).await.map(drop)
}

/// Commits `changes` atomically, in a group with the units queued beside it (see the module docs).
pub(crate) async fn commit(
    db: &Database,
    queue: &Arc<CommitQueue>,
    changes: Changes,
) -> PortResult<()> {
    if changes.is_empty() {
        return Ok(());
    }
    write(db, queue, Work::Changes(changes)).await.map(drop)
}

/// Appends an audit entry, in a group with the units queued beside it; whether it was new.
pub(crate) async fn append(
    db: &Database,
    queue: &Arc<CommitQueue>,
    entry: AuditEntry,
) -> PortResult<bool> {
    match write(db, queue, Work::Audit(entry)).await? {
        Done::Appended(new) => Ok(new),
        Done::Committed => Ok(true),
    }
}

async fn write(db: &Database, queue: &Arc<CommitQueue>, work: Work) -> PortResult<Done> {
    let (reply, outcome) = oneshot::channel();
    queue.push(Queued { work, reply });
    start_flusher(db, queue);
    outcome.await.unwrap_or_else(|_| Err(interrupted()))
}

/// Spawns the flusher unless it is running (then it finds the unit just queued).
fn start_flusher(db: &Database, queue: &Arc<CommitQueue>) {
    if queue.flushing.swap(true, Ordering::AcqRel) {
        return;
    }
    let db = db.clone();
    let mut running = Running {
        queue: Arc::clone(queue),
        armed: true,
    };
    tokio::spawn(async move {
        let queue = Arc::clone(&running.queue);
        loop {
            flush(&db, &queue).await;
            queue.flushing.store(false, Ordering::Release);
            // A unit queued after the flusher's last look, whose caller saw it running: go on,
            // unless a new flusher has started for it.
            if queue.is_empty() || queue.flushing.swap(true, Ordering::AcqRel) {
                running.disarm();
                return;
            }
        }
    });
}

/// Marks the flusher of `queue` stopped when dropped armed: a flusher whose task ends otherwise
/// than by its loop (a panic, the runtime shutting down) must not leave later writes waiting for it.
struct Running {
    queue: Arc<CommitQueue>,
    armed: bool,
}

impl Running {
    /// The loop ended as it should, having settled `flushing` itself.
    fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.armed {
            self.queue.flushing.store(false, Ordering::Release);
        }
    }
}

/// Commits the queued units group after group until the queue is empty, taking the writer for each.
async fn flush(db: &Database, queue: &CommitQueue) {
    loop {
        let writer = db.writer.acquire().await;
        let group = queue.take();
        if group.is_empty() {
            return;
        }
        match writer {
            Ok(mut writer) => commit_group(&mut writer, group).await,
            // No writer in time (or the database is closed): this group fails, the next tries again.
            Err(e) => fail_all(group, &e),
        }
    }
}

/// The flusher was stopped mid-group (the runtime is shutting down): the group's transaction is
/// gone, and this unit with it.
fn interrupted() -> PortError {
    PortError::unavailable("sqlite: the transaction of this write was interrupted")
        .with_retry_after(std::time::Duration::from_secs(1))
}

/// Runs `group` and tells each unit its outcome; when the group's transaction fails as a whole,
/// every unit gets the error.
async fn commit_group(writer: &mut WriterConnection, group: Vec<Queued>) {
    match run_group(writer, &group).await {
        Ok(outcomes) => {
            for (unit, outcome) in group.into_iter().zip(outcomes) {
                let _ = unit.reply.send(outcome);
            }
        }
        Err(e) => fail_all(group, &e),
    }
}

/// Runs `group` in one transaction; each unit's outcome. When every unit is inserts only (creates,
/// audit appends: the common case), the group is one [`Batch`] and one round trip. Otherwise the
/// batch takes the units it can inside the group's transaction and the others run each in its own
/// savepoint. A failed batch is undone and its units run one by one, which tells each unit what
/// failed.
async fn run_group(
    writer: &mut WriterConnection,
    group: &[Queued],
) -> PortResult<Vec<PortResult<Done>>> {
    let mut batch = Batch::default();
    let batched: Vec<bool> = group.iter().map(|unit| batch.add(&unit.work)).collect();
    if !batched.contains(&false) {
        if let Ok(appended) = batch.commit(writer).await {
            return Ok(group
                .iter()
                .map(|unit| Ok(batched_outcome(&unit.work, &appended)))
                .collect());
        }
        // Rolled back: every unit one by one.
        return run_in_transaction(writer, group, &Batch::default(), &[]).await;
    }
    run_in_transaction(writer, group, &batch, &batched).await
}

/// What a unit committed in a batch reports.
fn batched_outcome(work: &Work, appended: &HashSet<Uuid>) -> Done {
    match work {
        Work::Changes(_) | Work::MarkSent { .. } => Done::Committed,
        Work::Audit(entry) => Done::Appended(appended.contains(&entry.event_id.0)),
    }
}

/// Runs `group` in one transaction (`BEGIN IMMEDIATE` … `COMMIT`): first `batch`, which holds the
/// units marked in `batched`, then each other unit in its own savepoint.
async fn run_in_transaction(
    writer: &mut WriterConnection,
    group: &[Queued],
    batch: &Batch<'_>,
    batched: &[bool],
) -> PortResult<Vec<PortResult<Done>>> {
    let mut tx = WriteTransaction::begin(writer).await?;
    match run_units(tx.conn(), group, batch, batched).await {
        Ok(outcomes) => tx.commit().await.map(|()| outcomes),
        Err(lost) => {
            tx.rollback().await;
            Err(lost)
        }
    }
}

/// Runs `batch` in a savepoint, then each unit it does not hold in its own; each unit's outcome.
/// `Err` means the transaction itself is gone (see [`run_unit`]).
async fn run_units(
    conn: &mut SqliteConnection,
    group: &[Queued],
    batch: &Batch<'_>,
    batched: &[bool],
) -> PortResult<Vec<PortResult<Done>>> {
    let appended = if batch.is_empty() {
        None
    } else {
        match batch.run(conn).await {
            Ok(appended) => Some(appended),
            Err(e) => {
                undo(conn).await.map_err(|_| e)?;
                None
            }
        }
    };
    let mut outcomes = Vec::with_capacity(group.len());
    for (n, unit) in group.iter().enumerate() {
        let outcome = match (&appended, batched.get(n)) {
            (Some(appended), Some(true)) => Ok(batched_outcome(&unit.work, appended)),
            _ => match &unit.work {
                Work::Changes(changes) => run_unit(conn, changes).await?.map(|()| Done::Committed),
                Work::Audit(entry) => run_audit(conn, entry).await?.map(Done::Appended),
                Work::MarkSent { .. } => {
                    run_alone(conn, &unit.work).await?.map(|_| Done::Committed)
                }
            },
        };
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// Runs one unit inside its own savepoint: `Ok(outcome)` is the unit's own result (a failed unit is
/// undone alone); `Err` means the transaction itself is gone (SQLite rolled it back after a full
/// disk or an I/O error), and with it every unit before.
async fn run_unit(
    conn: &mut SqliteConnection,
    changes: &Changes,
) -> Result<PortResult<()>, PortError> {
    savepoint(conn, "SAVEPOINT unit").await?;
    match write_all(conn, changes).await {
        Ok(()) => savepoint(conn, "RELEASE unit").await.map(Ok),
        Err(e) => {
            undo(conn).await.map_err(|_| same_error(&e))?;
            Ok(Err(e))
        }
    }
}

/// Appends one audit entry inside its own savepoint, in one round trip; see [`run_unit`].
async fn run_audit(
    conn: &mut SqliteConnection,
    entry: &AuditEntry,
) -> Result<PortResult<bool>, PortError> {
    let appended = bind_audit(sqlx::query(SCRIPT_APPEND_AUDIT), entry)
        .fetch_all(&mut *conn)
        .await;
    match appended {
        Ok(rows) => Ok(Ok(!rows.is_empty())),
        Err(e) => {
            let e = port_error(e);
            undo(conn).await.map_err(|_| same_error(&e))?;
            Ok(Err(e))
        }
    }
}

/// Runs `work` as a batch of its own inside its own savepoint; see [`run_unit`].
async fn run_alone(
    conn: &mut SqliteConnection,
    work: &Work,
) -> Result<PortResult<HashSet<Uuid>>, PortError> {
    let mut batch = Batch::default();
    batch.add(work);
    match batch.run(conn).await {
        Ok(appended) => Ok(Ok(appended)),
        Err(e) => {
            undo(conn).await.map_err(|_| same_error(&e))?;
            Ok(Err(e))
        }
    }
}

/// An audit entry in its own savepoint; a row comes back when it was new.
const SCRIPT_APPEND_AUDIT: &str = "SAVEPOINT unit;\
     INSERT INTO audit_log (event_id, task_id, user_id, action, at, snapshot) \
     VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING RETURNING 1;\
     RELEASE unit;";

type SqliteQuery<'q> = Query<'q, Sqlite, SqliteArguments<'q>>;

/// Binds [`INSERT_PROCESSED`]'s values.
fn bind_processed<'q>(
    query: SqliteQuery<'q>,
    mark: &'q ProcessedEvent,
    now: i64,
) -> SqliteQuery<'q> {
    query
        .bind(mark.consumer.as_str())
        .bind(mark.event_id.0)
        .bind(now)
}

/// Binds [`INSERT_OUTBOX`]'s values.
fn bind_outbox<'q>(
    query: SqliteQuery<'q>,
    message: &'q Message,
    payload: &'q str,
    now: i64,
) -> SqliteQuery<'q> {
    query
        .bind(message.id.0)
        .bind(message.topic.as_str())
        .bind(message.key.as_str())
        .bind(message.event_type.as_str())
        .bind(payload)
        .bind(now)
}

/// Binds [`INSERT_AUDIT`]'s (and [`SCRIPT_APPEND_AUDIT`]'s) values.
fn bind_audit<'q>(query: SqliteQuery<'q>, entry: &'q AuditEntry) -> SqliteQuery<'q> {
    query
        .bind(entry.event_id.0)
        .bind(entry.task_id.0)
        .bind(entry.user_id.0)
        .bind(entry.action.as_str())
        .bind(micros(entry.at))
        .bind(entry.snapshot.as_str())
}

/// Binds [`INSERT_TAG`]'s values.
fn bind_tag<'q>(query: SqliteQuery<'q>, task: &Task, tag: &'q str) -> SqliteQuery<'q> {
    query.bind(task.id.0).bind(task.user_id.0).bind(tag)
}

/// Binds [`INSERT_RECURRENCE`]'s values.
fn bind_recurrence<'q>(
    query: SqliteQuery<'q>,
    task: &Task,
    (pattern, rrule, next_due_date): &'q (&'static str, Option<String>, i64),
) -> SqliteQuery<'q> {
    query
        .bind(task.id.0)
        .bind(*pattern)
        .bind(rrule.as_deref())
        .bind(*next_due_date)
}

/// Rolls the current unit back; fails when the savepoint is gone with the whole transaction.
async fn undo(conn: &mut SqliteConnection) -> PortResult<()> {
    savepoint(conn, "ROLLBACK TO unit").await?;
    savepoint(conn, "RELEASE unit").await
}

async fn savepoint(conn: &mut SqliteConnection, statement: &'static str) -> PortResult<()> {
    sqlx::query(statement)
        .execute(conn)
        .await
        .map(drop)
        .map_err(port_error)
}

/// Tells every unit of a group that failed as a whole why: the same kind of error, with the cause.
fn fail_all(group: Vec<Queued>, error: &PortError) {
    for unit in group {
        let _ = unit.reply.send(Err(same_error(error)));
    }
}

/// A copy of `error` for another caller: its kind, context and retry hint, with its cause chain as
/// text (the original's source is not cloneable).
fn same_error(error: &PortError) -> PortError {
    let cause = std::error::Error::source(error)
        .map(|source| todo_core::error::chain(source).to_string())
        .unwrap_or_default();
    match error {
        PortError::Unavailable {
            context,
            retry_after,
            ..
        } => {
            let copy = PortError::unavailable(context.clone()).caused_by(cause);
            match retry_after {
                Some(after) => copy.with_retry_after(*after),
                None => copy,
            }
        }
        PortError::Conflict { context, .. } => {
            PortError::conflict(context.clone()).caused_by(cause)
        }
        PortError::AlreadyExists { context, .. } => {
            PortError::already_exists(context.clone()).caused_by(cause)
        }
        PortError::Corrupt { context, .. } => PortError::corrupt(context.clone(), cause),
        PortError::NotFound => PortError::NotFound,
        PortError::Other { context, .. } => PortError::other(context.clone(), cause),
        // A kind added later: its message, as an unexplained failure.
        other => PortError::other("sqlite: a group of writes failed", other.to_string()),
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
    bind_processed(sqlx::query(INSERT_PROCESSED), processed, micros(Utc::now()))
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
        let payload = payload_text(message)?;
        bind_outbox(sqlx::query(INSERT_OUTBOX), message, &payload, created_at)
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
        appended += bind_audit(sqlx::query(INSERT_AUDIT), entry)
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
        bind_tag(sqlx::query(INSERT_TAG), task, tag)
            .execute(&mut *conn)
            .await
            .map_err(port_error)?;
    }
    if let Some(row) = &values.recurrence_row {
        bind_recurrence(sqlx::query(INSERT_RECURRENCE), task, row)
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
        Ok(version) => stale_write(id, version, expected),
        Err(e) => port_error(e),
    }
}
