//! Group commit of task inserts: creates that arrive while earlier ones are being written are inserted
//! together, in one statement and one commit.
//!
//! On durable storage a create is bound by PostgreSQL's work per statement (executor start-up, the
//! check constraints and foreign-key triggers, the commit), not by its rows: one statement inserting
//! ten tasks with their tags and outbox rows measured about four times the rows per second of ten
//! statements (docs/benchmarks.md). So concurrent creates queue here, and at most [`FLUSHERS`]
//! background tasks write what has queued, up to [`MAX_BATCH`] at a time. A create that finds a
//! flusher free is written at once, alone, with the single-row statement: batching adds no wait when
//! there is no queue, and batches grow with the load.
//!
//! The batch statement is atomic. If it fails (a duplicate id, say), nothing of it was written and
//! each create of the batch is written again on its own, so each caller gets the result its own
//! statement would have had. Flushers are spawned tasks: a caller that goes away (a closed HTTP
//! connection) does not cancel a write that other callers wait for.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use sqlx::PgPool;
use tokio::sync::{oneshot, Semaphore};

use todo_core::error::PortError;
use todo_core::events::Message;
use todo_core::model::Task;
use todo_core::ports::PortResult;

use crate::error::port_error;
use crate::row::TaskValues;
use crate::unit_of_work::write_with_outbox;

/// Background writers at most: statements in flight for creates.
pub(crate) const FLUSHERS: usize = 4;

/// Creates in one statement at most.
pub(crate) const MAX_BATCH: usize = 64;

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
), tags AS (
    INSERT INTO task_tags (task_id, user_id, tag) SELECT t.id, t.user_id, g.tag FROM g JOIN t USING (n)
), recurrence AS (
    INSERT INTO task_recurrence (task_id, pattern, rrule, next_due_date)
    SELECT id, pattern::recurrence_pattern, rrule, next_due_date FROM t WHERE pattern IS NOT NULL
), outbox AS (
    INSERT INTO outbox (event_id, topic, key, event_type, payload)
    SELECT m.event_id, m.topic, m.key, m.event_type, m.payload
    FROM unnest($26::uuid[], $27::text[], $28::text[], $29::text[], $30::jsonb[])
        WITH ORDINALITY AS m(event_id, topic, key, event_type, payload, n)
    ORDER BY m.n
)
SELECT 1";

/// A create waiting to be written, and where its result goes.
struct Pending {
    task: Task,
    messages: Vec<Message>,
    done: oneshot::Sender<PortResult<()>>,
}

impl std::fmt::Debug for InsertQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InsertQueue")
            .field("queued", &self.queue().len())
            .field("flushers_free", &self.flushers.available_permits())
            .finish()
    }
}

/// The queue of creates and the flushers' permits; shared by the clones of a repository.
pub(crate) struct InsertQueue {
    pool: PgPool,
    pending: Mutex<VecDeque<Pending>>,
    flushers: Arc<Semaphore>,
}

impl InsertQueue {
    pub(crate) fn new(pool: PgPool) -> Arc<Self> {
        Arc::new(Self {
            pool,
            pending: Mutex::new(VecDeque::new()),
            flushers: Arc::new(Semaphore::new(FLUSHERS)),
        })
    }

    /// Inserts `task` with its outbox `messages`, alone or with the creates queued beside it.
    pub(crate) async fn insert(
        self: &Arc<Self>,
        task: Task,
        messages: Vec<Message>,
    ) -> PortResult<()> {
        let (done, result) = oneshot::channel();
        self.queue().push_back(Pending {
            task,
            messages,
            done,
        });
        self.start_flusher();
        result.await.unwrap_or_else(|_| {
            Err(PortError::unavailable(
                "the task insert was abandoned (the runtime is shutting down)",
            ))
        })
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, VecDeque<Pending>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Spawns a flusher if one is free; otherwise a running flusher takes the queue after its batch.
    fn start_flusher(self: &Arc<Self>) {
        let Ok(permit) = Arc::clone(&self.flushers).try_acquire_owned() else {
            return;
        };
        let queue = Arc::clone(self);
        tokio::spawn(async move {
            let mut permit = permit;
            loop {
                loop {
                    let batch: Vec<Pending> = {
                        let mut pending = queue.queue();
                        let n = pending.len().min(MAX_BATCH);
                        pending.drain(..n).collect()
                    };
                    if batch.is_empty() {
                        break;
                    }
                    queue.write(batch).await;
                }
                drop(permit);
                // A create queued after the last look but before the permit was returned found no
                // flusher free: take it up again.
                if queue.queue().is_empty() {
                    return;
                }
                match Arc::clone(&queue.flushers).try_acquire_owned() {
                    Ok(again) => permit = again,
                    Err(_) => return,
                }
            }
        });
    }

    /// Writes `batch` in one statement, or each create on its own if that fails or it is one.
    async fn write(&self, batch: Vec<Pending>) {
        if batch.len() > 1 {
            match insert_all(&self.pool, &batch).await {
                Ok(()) => {
                    for pending in batch {
                        let _ = pending.done.send(Ok(()));
                    }
                    return;
                }
                Err(error) => {
                    tracing::debug!(%error, creates = batch.len(), "a batch of creates failed; writing each alone");
                }
            }
        }
        for pending in batch {
            let result =
                write_with_outbox(&self.pool, &pending.task, None, &pending.messages).await;
            let _ = pending.done.send(result);
        }
    }
}

/// Inserts every task of `batch` with its tags, recurrence row and outbox messages: one statement.
async fn insert_all(pool: &PgPool, batch: &[Pending]) -> PortResult<()> {
    let values = batch
        .iter()
        .map(|p| TaskValues::of(&p.task))
        .collect::<PortResult<Vec<_>>>()?;
    let mut columns = Columns::default();
    for (n, v) in values.iter().enumerate() {
        columns.push(i64::try_from(n + 1).unwrap_or(i64::MAX), v);
    }
    let messages = batch.iter().flat_map(|p| &p.messages);
    let ids: Vec<_> = messages.clone().map(|m| m.id.0).collect();
    let topics: Vec<_> = messages.clone().map(|m| m.topic.as_str()).collect();
    let keys: Vec<_> = messages.clone().map(|m| m.key.as_str()).collect();
    let types: Vec<_> = messages.clone().map(|m| m.event_type.as_str()).collect();
    let payloads: Vec<_> = messages.map(|m| &m.payload).collect();
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
