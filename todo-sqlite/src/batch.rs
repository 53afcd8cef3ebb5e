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
//! Inserts are batched, and the relay's marks of sent outbox messages: an update's or a delete's
//! version check needs its own statement's result. When a batch fails (a redelivered event's processed mark, a duplicate task), the caller
//! undoes it and runs its units one by one, which tells each unit what failed.

use std::collections::HashSet;

use chrono::Utc;
use serde::Serialize;
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Sqlite, SqliteConnection};
use uuid::Uuid;

use todo_core::error::PortError;
use todo_core::events::Message;
use todo_core::ports::{AuditEntry, Changes, PortResult, TaskWrite};

use crate::error::port_error;
use crate::row::{get_uuid, micros, Hex, TaskJson, TaskValues};
use crate::transaction::WriteTransaction;
use crate::unit_of_work::Work;
use crate::writer::WriterConnection;

/// The statements of a batch. Each reads its rows from a JSON array bound to its own parameter
/// (so each array is parsed once, by its statement alone); processed marks and outbox messages
/// also take the batch's instant. The parameters are positional (`?`), bound in the order they
/// appear. The order of the statements is the one a unit's statements run in one by one: processed
/// marks and outbox messages first, then tasks (after their owners, before their tags and
/// recurrence rows), then audit entries; sent marks last. Rows go in array order, so outbox `seq`
/// and audit `id` follow the order of the units. The audit insert returns the event ids it appended
/// (an event already recorded is skipped); it is the only statement that returns rows.
macro_rules! statements {
    () => {
        concat!(
            "
INSERT INTO processed_events (consumer, event_id, processed_at)
    SELECT value->>0, unhex(value->>1), ? FROM json_each(?);
INSERT INTO outbox (event_id, topic, key, event_type, payload, created_at)
    SELECT unhex(value->>0), value->>1, value->>2, value->>3, value->>4, ? FROM json_each(?);
INSERT INTO users (id)
    SELECT unhex(value) FROM json_each(?) WHERE true
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
    FROM json_each(?);
INSERT INTO task_tags (task_id, user_id, tag)
    SELECT value->>0, unhex(value->>1), value->>2 FROM json_each(?);
INSERT INTO task_recurrence (task_id, pattern, rrule, next_due_date)
    SELECT value->>0, value->>1, value->>2, value->>3 FROM json_each(?);
INSERT INTO audit_log (event_id, task_id, user_id, action, at, snapshot)
    SELECT unhex(value->>0), value->>1, unhex(value->>2), value->>3, value->>4, value->>5
    FROM json_each(?) WHERE true
    ON CONFLICT (event_id) DO NOTHING RETURNING event_id;
",
            mark_sent!(),
            ";"
        )
    };
}

/// Marks outbox messages sent; one probe of the `event_id` index per message.
macro_rules! mark_sent {
    () => {
        "UPDATE outbox SET sent_at = value->>1, leased_until = NULL
    FROM json_each(?)
    WHERE outbox.event_id = unhex(value->>0) AND outbox.sent_at IS NULL"
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
/// An outbox message sent: event id, instant.
type SentJson = (Hex, i64);

/// The inserts of the units added so far.
#[derive(Default)]
pub(crate) struct Batch<'a> {
    processed: Vec<ProcessedJson<'a>>,
    outbox: Vec<OutboxJson<'a>>,
    tasks: Vec<TaskValues<'a>>,
    audit: Vec<AuditJson<'a>>,
    sent: Vec<SentJson>,
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
            && self.sent.is_empty()
    }

    /// Adds a queued unit when the batch can take it (see [`Batch::add_changes`] and
    /// [`Batch::add_audit`]; sent marks always fit).
    pub(crate) fn add(&mut self, work: &'a Work) -> bool {
        match work {
            Work::Changes(changes) => self.add_changes(changes),
            Work::Audit(entry) => self.add_audit(entry),
            Work::MarkSent { ids, at } => {
                let at = micros(*at);
                self.sent.extend(ids.iter().map(|id| (Hex(id.0), at)));
                true
            }
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
        let rows = self
            .bind(sqlx::query(IN_SAVEPOINT))?
            .fetch_all(conn)
            .await
            .map_err(port_error)?;
        appended(&rows)
    }

    /// Runs the batch as a transaction of its own on the writer, `BEGIN IMMEDIATE` to `COMMIT` in
    /// one round trip; the event ids of the audit entries it appended. On an error nothing of it
    /// is stored.
    pub(crate) async fn commit(&self, writer: &mut WriterConnection) -> PortResult<HashSet<Uuid>> {
        let query = self.bind(sqlx::query(IN_TRANSACTION))?;
        appended(&WriteTransaction::run_whole(writer, query).await?)
    }

    /// Binds the rows of each statement of [`statements!`], in order.
    fn bind<'q>(
        &self,
        query: Query<'q, Sqlite, SqliteArguments<'q>>,
    ) -> PortResult<Query<'q, Sqlite, SqliteArguments<'q>>> {
        let mut users: Vec<Hex> = self.tasks.iter().map(|v| Hex(v.task.user_id.0)).collect();
        users.sort_unstable_by_key(|user| user.0);
        users.dedup();
        let tasks: Vec<TaskJson<'_>> = self.tasks.iter().map(TaskValues::json).collect();
        // Task id, user id, tag.
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
        // Task id, pattern, custom rule, next due date.
        let recurrence: Vec<(i64, &str, Option<&str>, i64)> = self
            .tasks
            .iter()
            .filter_map(|values| {
                let (pattern, rrule, next) = values.recurrence_row.as_ref()?;
                Some((values.task.id.0, *pattern, rrule.as_deref(), *next))
            })
            .collect();
        let now = micros(Utc::now());
        Ok(query
            .bind(now)
            .bind(json(&self.processed)?)
            .bind(now)
            .bind(json(&self.outbox)?)
            .bind(json(&users)?)
            .bind(json(&tasks)?)
            .bind(json(&tags)?)
            .bind(json(&recurrence)?)
            .bind(json(&self.audit)?)
            .bind(json(&self.sent)?))
    }
}

/// A JSON array of rows.
fn json(rows: &impl Serialize) -> PortResult<String> {
    serde_json::to_string(rows).map_err(|e| PortError::other("sqlite: encoding a batch", e))
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

#[cfg(test)]
mod tests {
    use chrono::SubsecRound;
    use serde_json::json;

    use todo_core::events::TaskEventType;
    use todo_core::model::{EventId, NewTask, Series, SeriesId, Tags, Task, TaskId, UserId};
    use todo_core::ports::{ProcessedEvent, TaskSnapshot};

    use super::*;
    use crate::setup::temporary;

    /// The relay marks its messages sent by their event ids: each must be one probe of the
    /// `event_id` index, not a scan of every message kept.
    #[tokio::test]
    async fn a_sent_mark_probes_the_event_id_index() {
        let (_dir, db) = temporary(true).await;
        let plan: Vec<String> = sqlx::query(concat!("EXPLAIN QUERY PLAN ", mark_sent!()))
            .bind("[]")
            .fetch_all(&db.reader)
            .await
            .unwrap()
            .iter()
            .map(|step| sqlx::Row::get(step, "detail"))
            .collect();
        let outbox = plan
            .iter()
            .find(|step| step.contains("outbox"))
            .expect("a step on the outbox");
        assert!(
            outbox.contains("USING INDEX sqlite_autoindex_outbox_1 (event_id=?)"),
            "{plan:?}"
        );
    }

    /// The batch itself must succeed: were it to fail, every unit would still be stored, one by one,
    /// and only the speed would tell.
    #[tokio::test]
    async fn a_batch_of_every_kind_of_insert_commits_as_one_transaction() {
        let (_dir, db) = temporary(true).await;
        let user = UserId(Uuid::new_v4());
        let now = Utc::now().trunc_subsecs(6);
        let mut task = Task::create(
            TaskId(7),
            user,
            NewTask::titled("Water the \"plants\" \\ 🌱").unwrap(),
            SeriesId(Uuid::new_v4()),
            now,
        );
        task.tags = Tags::parse(&["home", "ünïcode"]).unwrap();
        task.recurrence = Some("FREQ=WEEKLY;BYDAY=MO".parse().unwrap());
        task.series = Some(Series {
            id: SeriesId(Uuid::new_v4()),
            anchor: Some(now),
            occurrence: 1,
            predecessor: None,
        });
        let event = EventId(Uuid::now_v7());
        let changes = Changes {
            processed: Some(ProcessedEvent {
                consumer: "tests".into(),
                event_id: EventId(Uuid::now_v7()),
            }),
            outbox: vec![Message {
                id: event,
                topic: "task-events".into(),
                key: "7".into(),
                event_type: "com.todo.task.created".into(),
                payload: json!({ "title": "Water the \"plants\"", "n": 1.5 }),
            }],
            writes: vec![TaskWrite::Insert(task.clone())],
            audit: Vec::new(),
        };
        let entry = AuditEntry {
            event_id: event,
            task_id: task.id,
            user_id: user,
            action: TaskEventType::Created,
            at: now,
            snapshot: TaskSnapshot::of(&task),
        };
        let (changes_work, audit_work) = (Work::Changes(changes), Work::Audit(entry));
        // Marks run last: the message the batch inserts is marked sent by it.
        let sent_work = Work::MarkSent {
            ids: vec![event],
            at: now,
        };
        let mut batch = Batch::default();
        assert!(batch.add(&changes_work) && batch.add(&audit_work) && batch.add(&sent_work));
        let mut writer = db.writer.acquire().await.unwrap();
        let appended = batch.commit(&mut writer).await.expect("the batch commits");
        assert_eq!(appended, HashSet::from([event.0]));
        drop(writer);

        let repo = crate::SqliteTaskRepository::new(db);
        assert_eq!(
            todo_core::ports::TaskRepository::get(&repo, user, task.id)
                .await
                .unwrap(),
            Some(task.clone())
        );
        let (payload, sent_at, tags, rule): (String, Option<i64>, i64, Option<String>) =
            sqlx::query_as(
                "SELECT o.payload, o.sent_at, (SELECT count(*) FROM task_tags WHERE task_id = 7), \
                 (SELECT rrule FROM task_recurrence WHERE task_id = 7) FROM outbox o",
            )
            .fetch_one(&repo.db.reader)
            .await
            .unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&payload).unwrap()["n"],
            1.5
        );
        assert_eq!(sent_at, Some(micros(now)));
        assert_eq!((tags, rule.as_deref()), (2, Some("FREQ=WEEKLY;BYDAY=MO")));
        let history = todo_core::ports::AuditLog::history(&repo, user, task.id)
            .await
            .unwrap();
        assert_eq!(history.len(), 1);
    }
}
