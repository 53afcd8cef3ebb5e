//! Group commit of task inserts ([`crate::group_commit`]): creates that arrive while earlier ones are
//! being written are inserted together, with their tags, recurrence rows and outbox rows, in one
//! statement and one commit.

use async_trait::async_trait;
use sqlx::PgPool;

use todo_core::events::Message;
use todo_core::model::Task;
use todo_core::ports::PortResult;

use crate::error::port_error;
use crate::group_commit::{BatchWrite, GroupCommit};
use crate::json_text::JsonText;
use crate::row::TaskValues;
use crate::unit_of_work::write_with_outbox;

/// Inserts `$1..` as arrays, one element per task: the task columns, then its tags and outbox messages
/// flattened (each row names its task by index `n`), in the order of the batch.
const INSERT_TASKS_WITH_OUTBOX: &str = "\
WITH t AS (
    SELECT * FROM unnest($1::int8[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[],
        $7::timestamptz[], $8::text[], $9::int4[], $10::text[], $11::uuid[], $12::timestamptz[],
        $13::int8[], $14::int8[], $15::timestamptz[], $16::timestamptz[], $17::timestamptz[],
        $18::int8[], $19::text[], $20::text[], $21::text[], $22::text[], $23::timestamptz[])
    WITH ORDINALITY AS t(id, user_id, title, description, status, priority, due_date, timezone,
        remind_before, recurrence, series_id, series_anchor, occurrence, predecessor_id, created_at,
        updated_at, completed_at, version, title_key, search_text, pattern, rrule, next_due_date, n)
), g AS (
    SELECT * FROM unnest($24::int8[], $25::text[]) AS g(n, tag)
), owner AS (
    INSERT INTO users (id) SELECT DISTINCT user_id FROM t ON CONFLICT (id) DO NOTHING
), task AS (
    INSERT INTO tasks (id, user_id, title, description, status, priority, due_date, timezone,
        remind_before, recurrence, series_id, series_anchor, occurrence, predecessor_id, created_at,
        updated_at, completed_at, version, title_key, search_text, tags)
    SELECT id, user_id, title, description, status::task_status, priority::task_priority, due_date,
        timezone, remind_before, recurrence, series_id, series_anchor, occurrence, predecessor_id,
        created_at, updated_at, completed_at, version, title_key, search_text,
        ARRAY(SELECT g.tag FROM g WHERE g.n = t.n ORDER BY g.tag)
    FROM t ORDER BY n
), recurrence AS (
    INSERT INTO task_recurrence (task_id, pattern, rrule, next_due_date)
    SELECT id, pattern::recurrence_pattern, rrule, next_due_date FROM t WHERE pattern IS NOT NULL
), outbox AS (
    INSERT INTO outbox (event_id, topic, key, event_type, payload)
    SELECT m.event_id, m.topic, m.key, m.event_type, m.payload
    FROM unnest($26::uuid[], $27::text[], $28::text[], $29::text[], $30::json[])
        WITH ORDINALITY AS m(event_id, topic, key, event_type, payload, n)
    ORDER BY m.n
)
SELECT 1";

/// A create: the task and its outbox messages.
pub(crate) type Create = (Task, Vec<Message>);

/// Task creates, in batches ([`GroupCommit`]).
pub(crate) type InsertQueue = GroupCommit<TaskInserts>;

/// Writes creates: in one statement ([`INSERT_TASKS_WITH_OUTBOX`]) or alone.
pub(crate) struct TaskInserts(pub(crate) PgPool);

#[async_trait]
impl BatchWrite for TaskInserts {
    type Item = Create;
    type Output = ();

    async fn write_all(&self, batch: &[Create]) -> PortResult<Vec<()>> {
        insert_all(&self.0, batch).await?;
        Ok(vec![(); batch.len()])
    }

    async fn write_one(&self, (task, messages): &Create) -> PortResult<()> {
        write_with_outbox(&self.0, task, None, messages).await
    }
}

/// Inserts every task of `batch` with its tags, recurrence row and outbox messages: one statement.
async fn insert_all(pool: &PgPool, batch: &[Create]) -> PortResult<()> {
    let values = batch
        .iter()
        .map(|(task, _)| TaskValues::of(task))
        .collect::<PortResult<Vec<_>>>()?;
    let mut columns = Columns::default();
    for (n, v) in values.iter().enumerate() {
        columns.push(i64::try_from(n + 1).unwrap_or(i64::MAX), v);
    }
    let messages = batch.iter().flat_map(|(_, messages)| messages);
    let ids: Vec<_> = messages.clone().map(|m| m.id.0).collect();
    let topics: Vec<_> = messages.clone().map(|m| m.topic.as_str()).collect();
    let keys: Vec<_> = messages.clone().map(|m| m.key.as_str()).collect();
    let types: Vec<_> = messages.clone().map(|m| m.event_type.as_str()).collect();
    let payloads: Vec<_> = messages.map(|m| JsonText(&m.payload)).collect();
    columns
        .bind(sqlx::query(INSERT_TASKS_WITH_OUTBOX))
        .bind(ids)
        .bind(topics)
        .bind(keys)
        .bind(types)
        .bind(payloads)
        .execute(pool)
        .await
        .map_err(port_error)?;
    Ok(())
}

/// The batch statement's arrays `$1..$25`, one element per task (tags: one per tag, with its task's
/// position `n`).
#[derive(Default)]
struct Columns {
    id: Vec<i64>,
    user_id: Vec<uuid::Uuid>,
    title: Vec<String>,
    description: Vec<String>,
    status: Vec<&'static str>,
    priority: Vec<&'static str>,
    due_date: Vec<Option<chrono::DateTime<chrono::Utc>>>,
    timezone: Vec<String>,
    remind_before: Vec<Option<i32>>,
    recurrence: Vec<Option<String>>,
    series_id: Vec<Option<uuid::Uuid>>,
    series_anchor: Vec<Option<chrono::DateTime<chrono::Utc>>>,
    occurrence: Vec<Option<i64>>,
    predecessor_id: Vec<Option<i64>>,
    created_at: Vec<chrono::DateTime<chrono::Utc>>,
    updated_at: Vec<chrono::DateTime<chrono::Utc>>,
    completed_at: Vec<Option<chrono::DateTime<chrono::Utc>>>,
    version: Vec<i64>,
    title_key: Vec<String>,
    search_text: Vec<String>,
    pattern: Vec<Option<&'static str>>,
    rrule: Vec<Option<String>>,
    next_due_date: Vec<Option<chrono::DateTime<chrono::Utc>>>,
    tag_n: Vec<i64>,
    tag: Vec<String>,
}

impl Columns {
    fn push(&mut self, n: i64, v: &TaskValues<'_>) {
        let row = v.row();
        self.id.push(row.id);
        self.user_id.push(row.user_id);
        self.title.push(row.title.to_owned());
        self.description.push(row.description.to_owned());
        self.status.push(row.status);
        self.priority.push(row.priority);
        self.due_date.push(row.due_date);
        self.timezone.push(row.timezone.to_owned());
        self.remind_before.push(row.remind_before);
        self.recurrence.push(row.recurrence.map(str::to_owned));
        self.series_id.push(row.series_id);
        self.series_anchor.push(row.series_anchor);
        self.occurrence.push(row.occurrence);
        self.predecessor_id.push(row.predecessor_id);
        self.created_at.push(row.created_at);
        self.updated_at.push(row.updated_at);
        self.completed_at.push(row.completed_at);
        self.version.push(row.version);
        self.title_key.push(row.title_key.to_owned());
        self.search_text.push(row.search_text.to_owned());
        self.pattern.push(row.pattern);
        self.rrule.push(row.rrule.map(str::to_owned));
        self.next_due_date.push(row.next_due_date);
        for tag in row.tags {
            self.tag_n.push(n);
            self.tag.push(tag.clone());
        }
    }

    fn bind(
        self,
        query: sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments> {
        query
            .bind(self.id)
            .bind(self.user_id)
            .bind(self.title)
            .bind(self.description)
            .bind(self.status)
            .bind(self.priority)
            .bind(self.due_date)
            .bind(self.timezone)
            .bind(self.remind_before)
            .bind(self.recurrence)
            .bind(self.series_id)
            .bind(self.series_anchor)
            .bind(self.occurrence)
            .bind(self.predecessor_id)
            .bind(self.created_at)
            .bind(self.updated_at)
            .bind(self.completed_at)
            .bind(self.version)
            .bind(self.title_key)
            .bind(self.search_text)
            .bind(self.pattern)
            .bind(self.rrule)
            .bind(self.next_due_date)
            .bind(self.tag_n)
            .bind(self.tag)
    }
}
