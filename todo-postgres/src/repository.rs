//! [`PostgresTaskRepository`]: the [`TaskRepository`] port on PostgreSQL. The same value is the
//! [`OutboxStore`](todo_core::ports::OutboxStore) and [`AuditLog`](todo_core::ports::AuditLog) of its
//! database (see [`crate::outbox`] and [`crate::audit`]), since they share its transactions.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgPool, Row};
use tracing::instrument;
use uuid::Uuid;

use todo_core::model::{EventId, SeriesId, Tag, Task, TaskId, UserId};
use todo_core::ports::{
    AuditEntry, Changes, Page, PortResult, ReminderCursor, ReminderEntry, ReservedTaskIds,
    TagCount, TaskRepository,
};
use todo_core::query::{sort_value, Cursor, TaskQuery};

use crate::audit::{history, AuditAppends, AuditQueue};
use crate::error::{corrupt, port_error};
use crate::group_commit::GroupCommit;
use crate::insert_batch::{InsertQueue, TaskInserts};
use crate::row::{decode_task, task_columns};
use crate::unit_of_work;

const SELECT_TASK: &str = concat!(
    "SELECT ",
    task_columns!(),
    " FROM tasks t WHERE t.id = $1 AND t.user_id = $2"
);

const SELECT_SUCCESSOR: &str = concat!(
    "SELECT ",
    task_columns!(),
    " FROM tasks t WHERE t.predecessor_id = $1 AND t.user_id = $2"
);

const SELECT_PENDING_IN_SERIES: &str = concat!(
    "SELECT ",
    task_columns!(),
    " FROM tasks t WHERE t.series_id = $1 AND t.user_id = $2 AND t.status = 'pending' ORDER BY t.id"
);

/// Reads the tags of every task of the user: one pass over the user's rows.
const SELECT_TAG_COUNTS: &str = "\
SELECT g.tag, count(*) AS tasks
FROM tasks t, unnest(t.tags) AS g(tag)
WHERE t.user_id = $1
GROUP BY g.tag
ORDER BY g.tag COLLATE \"C\"";

/// One page of the reminder window: the predicate and the order match the partial index
/// `tasks_reminder_window`, so a page is one index-only range scan from the cursor (`$3`, `$4`).
const SELECT_PENDING_REMINDERS: &str = "\
SELECT t.id, t.user_id, t.due_date, t.remind_before
FROM tasks t
WHERE t.status = 'pending' AND t.due_date IS NOT NULL AND t.remind_before IS NOT NULL
  AND (reminder_at(t.due_date, t.remind_before), t.id) > ($3, $4)
  AND reminder_at(t.due_date, t.remind_before) <= $2
  AND t.due_date > $1
ORDER BY reminder_at(t.due_date, t.remind_before), t.id
LIMIT $5";

const SELECT_PROCESSED: &str =
    "SELECT EXISTS (SELECT 1 FROM processed_events WHERE consumer = $1 AND event_id = $2)";

/// Which of a batch of events a consumer processed: one probe of the primary key per id.
const SELECT_PROCESSED_AMONG: &str =
    "SELECT event_id FROM processed_events WHERE consumer = $1 AND event_id = ANY($2)";

/// How many task ids one round trip reserves from `tasks_id_seq`.
const TASK_ID_BLOCK: i64 = 64;

/// Reserves the next [`TASK_ID_BLOCK`] values of the task id sequence.
const RESERVE_TASK_IDS: &str = "SELECT nextval('tasks_id_seq') FROM generate_series(1, $1)";

/// Batch inserts of creates in flight at most: creates come from many requests at once, and one
/// statement per flusher keeps a create that arrives alone from waiting behind a batch.
const INSERT_FLUSHERS: usize = 4;

/// Batch audit appends in flight at most. Fewer than for creates: appends come from the outbox
/// relay's concurrent publishes, and while one batch waits for its commit the next one fills up
/// (measured on durable PostgreSQL, 10 s of creates: with 4 flushers the audit wrote about two entries
/// per commit and trailed the creates by 10 000-15 000 events; with 2, it kept up).
const AUDIT_FLUSHERS: usize = 2;

/// Tasks, their outbox, audit log and processed-event marks in one PostgreSQL database.
///
/// Cheap to clone (it holds a connection pool); clones share their reserved task ids. Run
/// [`crate::migrate`] on the pool first.
#[derive(Debug, Clone)]
pub struct PostgresTaskRepository {
    pub(crate) pool: PgPool,
    /// Connections of the same database for page queries (see [`page_pool`]).
    pages: PgPool,
    /// Creates waiting to be written together (group commit).
    inserts: Arc<InsertQueue>,
    /// Audit appends waiting to be written together (group commit).
    pub(crate) audit: Arc<AuditQueue>,
    reserved_ids: Arc<ReservedTaskIds>,
}

impl PostgresTaskRepository {
    /// A repository over `pool`, whose database is migrated.
    pub fn new(pool: PgPool) -> Self {
        Self {
            pages: page_pool(&pool),
            inserts: GroupCommit::new(TaskInserts(pool.clone()), INSERT_FLUSHERS),
            audit: GroupCommit::new(AuditAppends(pool.clone()), AUDIT_FLUSHERS),
            pool,
            reserved_ids: Arc::default(),
        }
    }

    /// The pool it uses (for health checks and metrics).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The statement of one page of pending reminders (`$1` now, `$2` until, `$3`/`$4` the cursor,
    /// `$5` the limit), for checking its plan.
    pub const PENDING_REMINDERS: &'static str = SELECT_PENDING_REMINDERS;

    /// The statement looking up which of a batch of events a consumer processed (`$1` the consumer,
    /// `$2` the event ids), for checking its plan.
    pub const PROCESSED_AMONG: &'static str = SELECT_PROCESSED_AMONG;
}

/// A pool beside `pool` (same database, options and size) whose connections plan every execution of a
/// prepared statement for its own values (`plan_cache_mode = force_custom_plan`), for page queries.
///
/// A page query is prepared once per connection, which saves parsing and analysing it on every request
/// (measured with pgbench on the search page: 2 400-2 650 pages/s sent unnamed, 5 000-5 300 prepared),
/// but a cached generic plan cannot know how selective the words and filters are, nor the limit, and
/// for a search it can be several times slower (measured: 420-630 search pages/s with the generic plan
/// against 2 200 with custom plans; docs/benchmarks.md). Writes keep the main pool, whose generic plans
/// are right for them (a custom plan per insert measured 25 % fewer inserts/s).
fn page_pool(pool: &PgPool) -> PgPool {
    let options = (*pool.connect_options())
        .clone()
        .options([("plan_cache_mode", "force_custom_plan")]);
    PgPoolOptions::new()
        .max_connections(pool.options().get_max_connections())
        .acquire_timeout(pool.options().get_acquire_timeout())
        .test_before_acquire(false)
        .connect_lazy_with(options)
}

#[async_trait]
impl TaskRepository for PostgresTaskRepository {
    async fn next_task_id(&self) -> PortResult<TaskId> {
        if let Some(id) = self.reserved_ids.take() {
            return Ok(id);
        }
        let block: Vec<i64> = sqlx::query_scalar(RESERVE_TASK_IDS)
            .bind(TASK_ID_BLOCK)
            .fetch_all(&self.pool)
            .await
            .map_err(port_error)?;
        self.reserved_ids
            .add_and_take(block)
            .ok_or_else(|| corrupt("the task id sequence", "it returned no value"))
    }

    #[instrument(level = "debug", skip_all, fields(writes = changes.writes.len(), events = changes.outbox.len()))]
    async fn commit(&self, changes: Changes) -> PortResult<()> {
        unit_of_work::commit(&self.pool, &self.inserts, changes).await
    }

    async fn get(&self, user_id: UserId, id: TaskId) -> PortResult<Option<Task>> {
        sqlx::query(SELECT_TASK)
            .bind(id.0)
            .bind(user_id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(port_error)?
            .map(|row| decode_task(&row))
            .transpose()
    }

    #[instrument(level = "debug", skip_all, fields(%user_id, sort = query.sort.as_str()))]
    async fn query(
        &self,
        user_id: UserId,
        query: &TaskQuery,
        now: DateTime<Utc>,
    ) -> PortResult<Page> {
        let mut statement = crate::query::page_statement(user_id, query, now)?;
        let rows = statement
            .build()
            .fetch_all(&self.pages)
            .await
            .map_err(port_error)?;
        let limit = query.limit.max(1);
        let more = rows.len() > limit;
        let items = rows
            .iter()
            .take(limit)
            .map(decode_task)
            .collect::<PortResult<Vec<Task>>>()?;
        let next_cursor = items.last().filter(|_| more).map(|last| Cursor {
            sort: query.sort,
            order: query.order,
            value: sort_value(last, query.sort),
            id: last.id,
        });
        Ok(Page { items, next_cursor })
    }

    async fn tags(&self, user_id: UserId) -> PortResult<Vec<TagCount>> {
        let rows = sqlx::query(SELECT_TAG_COUNTS)
            .bind(user_id.0)
            .fetch_all(&self.pool)
            .await
            .map_err(port_error)?;
        rows.iter()
            .map(|row| {
                let tag: String = row.try_get("tag").map_err(port_error)?;
                let count: i64 = row.try_get("tasks").map_err(port_error)?;
                Ok(TagCount {
                    tag: Tag::parse(&tag).map_err(|e| corrupt("stored tag", e))?,
                    count: u64::try_from(count).unwrap_or_default(),
                })
            })
            .collect()
    }

    async fn successor(&self, user_id: UserId, id: TaskId) -> PortResult<Option<Task>> {
        sqlx::query(SELECT_SUCCESSOR)
            .bind(id.0)
            .bind(user_id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(port_error)?
            .map(|row| decode_task(&row))
            .transpose()
    }

    async fn pending_in_series(&self, user_id: UserId, series: SeriesId) -> PortResult<Vec<Task>> {
        sqlx::query(SELECT_PENDING_IN_SERIES)
            .bind(series.0)
            .bind(user_id.0)
            .fetch_all(&self.pool)
            .await
            .map_err(port_error)?
            .iter()
            .map(decode_task)
            .collect()
    }

    async fn pending_reminders(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        resume: Option<ReminderCursor>,
        limit: usize,
    ) -> PortResult<Vec<ReminderEntry>> {
        let from = resume.unwrap_or(ReminderCursor::start(now));
        let rows = sqlx::query(SELECT_PENDING_REMINDERS)
            .bind(now)
            .bind(until)
            .bind(from.remind_at)
            .bind(from.task_id.0)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(port_error)?;
        rows.iter()
            .map(|row| {
                let due_date: DateTime<Utc> = row.try_get("due_date").map_err(port_error)?;
                let minutes: i32 = row.try_get("remind_before").map_err(port_error)?;
                Ok(ReminderEntry {
                    task_id: TaskId(row.try_get("id").map_err(port_error)?),
                    user_id: UserId(row.try_get("user_id").map_err(port_error)?),
                    remind_at: due_date - Duration::minutes(i64::from(minutes)),
                    due_date,
                })
            })
            .collect()
    }

    async fn is_processed(&self, consumer: &str, event_id: EventId) -> PortResult<bool> {
        sqlx::query_scalar(SELECT_PROCESSED)
            .bind(consumer)
            .bind(event_id.0)
            .fetch_one(&self.pool)
            .await
            .map_err(port_error)
    }

    async fn processed_among(
        &self,
        consumer: &str,
        event_ids: &[EventId],
    ) -> PortResult<HashSet<EventId>> {
        if event_ids.is_empty() {
            return Ok(HashSet::new());
        }
        let ids: Vec<Uuid> = event_ids.iter().map(|id| id.0).collect();
        let found: Vec<Uuid> = sqlx::query_scalar(SELECT_PROCESSED_AMONG)
            .bind(consumer)
            .bind(ids)
            .fetch_all(&self.pool)
            .await
            .map_err(port_error)?;
        Ok(found.into_iter().map(EventId).collect())
    }

    async fn history(&self, user_id: UserId, id: TaskId) -> PortResult<Vec<AuditEntry>> {
        history(&self.pool, user_id, id).await
    }
}
