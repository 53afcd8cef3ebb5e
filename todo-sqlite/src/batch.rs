//! A batch: the inserts of many units of work as one script of one statement per table, each
//! statement reading the rows of every unit from one JSON array (`json_each`).
//!
//! A group of creates, with the audit appends and outbox messages queued beside them, is then one
//! round trip to the connection's thread however many units it holds, where it was one round trip
//! per unit. With SQLite in process, those round trips (a hand-off to `sqlx`'s connection thread and
//! back, each waking a thread) were what kept the writer busy, not SQLite's own work
//! (docs/benchmarks.md). The script's text never changes, so its statements are prepared once per
//! connection, whatever the mix of units.
//!
//! Only inserts are batched: an update's or a delete's version check needs its own statement's
//! result. When a batch fails (a redelivered event's processed mark, a duplicate task), the caller
//! undoes it and runs its units one by one, which tells each unit what failed.

use std::collections::HashSet;

use chrono::Utc;
use serde::Serialize;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::SqliteRow;
use sqlx::{Sqlite, SqliteConnection};
use uuid::Uuid;

use todo_core::error::PortError;
use todo_core::events::Message;
use todo_core::ports::{AuditEntry, Changes, PortResult, TaskWrite};

use crate::error::port_error;
use crate::row::{get_uuid, micros, Hex, TaskJson, TaskValues};
use crate::transaction::WriteTransaction;
use crate::unit_of_work::Work;

/// The statements of a batch. `?1` is one JSON object with an array of rows per table ([`Rows`]),
/// `?2` the batch's instant (`sqlx` binds a parameter that a statement's numbering skips as the
/// next positional one, so every statement numbers from `?1`). The order is the one a unit's
/// statements run in one by one: processed marks and outbox messages first, then tasks (after
/// their owners, before their tags and recurrence rows), then audit entries. Rows go in array
/// order, so outbox `seq` and audit `id` follow the order of the units. The audit insert returns
/// the event ids it appended (an event already recorded is skipped).
macro_rules! statements {
    () => {
        "
INSERT INTO processed_events (consumer, event_id, processed_at)
    SELECT value->>0, unhex(value->>1), ?2 FROM json_each(?1, '$.processed');
INSERT INTO outbox (event_id, topic, key, event_type, payload, created_at)
    SELECT unhex(value->>0), value->>1, value->>2, value->>3, value->>4, ?2
    FROM json_each(?1, '$.outbox');
INSERT INTO users (id)
    SELECT DISTINCT unhex(value->>'user_id') FROM json_each(?1, '$.tasks') WHERE true
    ON CONFLICT (id) DO NOTHING;
INSERT INTO tasks (id, user_id, title, description, status, priority, due_date, timezone,
    remind_before, recurrence, series_id, series_anchor, occurrence, predecessor_id, created_at,
    updated_at, completed_at, version, title_key, search_text)
    SELECT value->>'id', unhex(value->>'user_id'), value->>'title', value->>'description',
        value->>'status', value->>'priority', value->>'due_date', value->>'timezone',
        value->>'remind_before', value->>'recurrence', unhex(value->>'series_id'),
        value->>'series_anchor', value->>'occurrence', value->>'predecessor_id',
        value->>'created_at', value->>'updated_at', value->>'completed_at', value->>'version',
        value->>'title_key', value->>'search_text'
    FROM json_each(?1, '$.tasks');
INSERT INTO task_tags (task_id, user_id, tag)
    SELECT value->>0, unhex(value->>1), value->>2 FROM json_each(?1, '$.tags');
INSERT INTO task_recurrence (task_id, pattern, rrule, next_due_date)
    SELECT value->>0, value->>1, value->>2, value->>3 FROM json_each(?1, '$.recurrence');
INSERT INTO audit_log (event_id, task_id, user_id, action, at, snapshot)
    SELECT unhex(value->>0), value->>1, unhex(value->>2), value->>3, value->>4, value->>5
    FROM json_each(?1, '$.audit') WHERE true
    ON CONFLICT (event_id) DO NOTHING RETURNING event_id;
"
    };
}

/// The batch inside a group's transaction, in the savepoint `unit` (undone like a unit's).
const IN_SAVEPOINT: &str = concat!("SAVEPOINT unit;", statements!(), "RELEASE unit;");

/// The batch as a whole transaction of its own: the group in one round trip.
const IN_TRANSACTION: &str = concat!("BEGIN IMMEDIATE;", statements!(), "COMMIT;");

/// A processed-event mark: consumer, event id.
type ProcessedJson<'a> = (&'a str, Hex);
/// An outbox message: event id, topic, key, event type, payload (JSON text).
type OutboxJson<'a> = (Hex, &'a str, &'a str, &'a str, String);
/// An audit entry: event id, task id, user id, action, instant, snapshot (JSON text).
type AuditJson<'a> = (Hex, i64, Hex, &'a str, i64, &'a str);

/// The rows of a batch, one array per table: the script's `?1`.
#[derive(Serialize)]
struct Rows<'b, 'a> {
    processed: &'b [ProcessedJson<'a>],
    outbox: &'b [OutboxJson<'a>],
    tasks: Vec<TaskJson<'b>>,
    /// Task id, user id, tag.
    tags: Vec<(i64, Hex, &'b str)>,
    /// Task id, pattern, custom rule, next due date.
    recurrence: Vec<(i64, &'b str, Option<&'b str>, i64)>,
    audit: &'b [AuditJson<'a>],
}

/// The inserts of the units added so far.
#[derive(Default)]
pub(crate) struct Batch<'a> {
    processed: Vec<ProcessedJson<'a>>,
    outbox: Vec<OutboxJson<'a>>,
    tasks: Vec<TaskValues<'a>>,
    audit: Vec<AuditJson<'a>>,
    /// The event ids of `audit`: a second entry for one event would be skipped by the insert, and
    /// its unit could not tell it was the one skipped.
    audit_ids: HashSet<Uuid>,
}

impl<'a> Batch<'a> {
    /// Whether no unit was added.
    pub(crate) fn is_empty(&self) -> bool {
        self.processed.is_empty()
            && self.outbox.is_empty()
            && self.tasks.is_empty()
            && self.audit.is_empty()
    }

    /// Adds a queued unit when the batch can take it (see [`Batch::add_changes`] and
    /// [`Batch::add_audit`]).
    pub(crate) fn add(&mut self, work: &'a Work) -> bool {
        match work {
            Work::Changes(changes) => self.add_changes(changes),
            Work::Audit(entry) => self.add_audit(entry),
        }
    }

    /// Adds a unit of work when it is inserts only, encodes, and records no audit event already
    /// in the batch; otherwise leaves the batch as it was and returns false.
    fn add_changes(&mut self, changes: &'a Changes) -> bool {
        let mut tasks = Vec::with_capacity(changes.writes.len());
        for write in &changes.writes {
            match write {
                TaskWrite::Insert(task) => match TaskValues::of(task) {
                    Ok(values) => tasks.push(values),
                    Err(_) => return false,
                },
                TaskWrite::Update { .. } | TaskWrite::Delete { .. } => return false,
            }
        }
        let mut outbox = Vec::with_capacity(changes.outbox.len());
        for message in &changes.outbox {
            match payload_text(message) {
                Ok(payload) => outbox.push((
                    Hex(message.id.0),
                    message.topic.as_str(),
                    message.key.as_str(),
                    message.event_type.as_str(),
                    payload,
                )),
                Err(_) => return false,
            }
        }
        let mut ids = HashSet::with_capacity(changes.audit.len());
        let fresh = changes
            .audit
            .iter()
            .all(|e| !self.audit_ids.contains(&e.event_id.0) && ids.insert(e.event_id.0));
        if !fresh {
            return false;
        }
        self.audit_ids.extend(ids);
        if let Some(mark) = &changes.processed {
            self.processed
                .push((mark.consumer.as_str(), Hex(mark.event_id.0)));
        }
        self.outbox.extend(outbox);
        self.tasks.extend(tasks);
        self.audit.extend(changes.audit.iter().map(audit_json));
        true
    }

    /// Adds an audit append, unless the batch already records its event.
    fn add_audit(&mut self, entry: &'a AuditEntry) -> bool {
        if !self.audit_ids.insert(entry.event_id.0) {
            return false;
        }
        self.audit.push(audit_json(entry));
        true
    }

    /// Runs the batch in the savepoint `unit` of the open transaction on `conn`; the event ids of
    /// the audit entries it appended. On an error the savepoint is still open: undo it before
    /// anything else runs.
    pub(crate) async fn run(&self, conn: &mut SqliteConnection) -> PortResult<HashSet<Uuid>> {
        let rows = sqlx::query(IN_SAVEPOINT)
            .bind(self.rows()?)
            .bind(micros(Utc::now()))
            .fetch_all(conn)
            .await
            .map_err(port_error)?;
        appended(&rows)
    }

    /// Runs the batch as a transaction of its own on the writer, `BEGIN IMMEDIATE` to `COMMIT` in
    /// one round trip; the event ids of the audit entries it appended. On an error nothing of it
    /// is stored.
    pub(crate) async fn commit(
        &self,
        writer: &mut PoolConnection<Sqlite>,
    ) -> PortResult<HashSet<Uuid>> {
        let query = sqlx::query(IN_TRANSACTION)
            .bind(self.rows()?)
            .bind(micros(Utc::now()));
        appended(&WriteTransaction::run_whole(writer, query).await?)
    }

    /// The script's `?1`.
    fn rows(&self) -> PortResult<String> {
        let tasks: Vec<_> = self.tasks.iter().map(TaskValues::json).collect();
        let tags: Vec<(i64, Hex, &str)> = self
            .tasks
            .iter()
            .flat_map(|values| {
                let task = values.task;
                values
                    .tags
                    .iter()
                    .map(move |tag| (task.id.0, Hex(task.user_id.0), tag.as_str()))
            })
            .collect();
        let recurrence: Vec<(i64, &str, Option<&str>, i64)> = self
            .tasks
            .iter()
            .filter_map(|values| {
                let (pattern, rrule, next) = values.recurrence_row.as_ref()?;
                Some((values.task.id.0, *pattern, rrule.as_deref(), *next))
            })
            .collect();
        let rows = Rows {
            processed: &self.processed,
            outbox: &self.outbox,
            tasks,
            tags,
            recurrence,
            audit: &self.audit,
        };
        serde_json::to_string(&rows).map_err(|e| PortError::other("sqlite: encoding a batch", e))
    }
}

/// The event ids the audit insert returned.
fn appended(rows: &[SqliteRow]) -> PortResult<HashSet<Uuid>> {
    rows.iter().map(|row| get_uuid(row, "event_id")).collect()
}

fn audit_json(entry: &AuditEntry) -> AuditJson<'_> {
    (
        Hex(entry.event_id.0),
        entry.task_id.0,
        Hex(entry.user_id.0),
        entry.action.as_str(),
        micros(entry.at),
        entry.snapshot.as_str(),
    )
}

/// The JSON text of an outbox message's payload.
pub(crate) fn payload_text(message: &Message) -> PortResult<String> {
    serde_json::to_string(&message.payload)
        .map_err(|e| PortError::other(format!("outbox message {}: payload", message.id), e))
}
