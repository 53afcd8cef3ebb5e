//! [`SqliteTaskRepository`]: the [`TaskRepository`] port on SQLite. The same value is the
//! [`OutboxStore`](todo_core::ports::OutboxStore), [`AuditLog`](todo_core::ports::AuditLog),
//! [`UserRepository`](todo_core::ports::UserRepository),
//! [`NotificationStore`](todo_core::ports::NotificationStore) and
//! [`StateStore`](todo_core::ports::StateStore) of its database file.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use sqlx::Row;
use tracing::instrument;

use todo_core::model::{EventId, SeriesId, Tag, Task, TaskId, UserId};
use todo_core::ports::{
    AuditEntry, Changes, Page, PortResult, ReminderCursor, ReminderEntry, ReservedTaskIds,
    TagCount, TaskRepository,
};
use todo_core::query::{sort_value, Cursor, TaskQuery};

use crate::audit::history;
use crate::error::{corrupt, port_error};
use crate::query::{fts_query, Plan};
use crate::row::{decode_task, get, get_instant, get_uuid, micros, task_columns};
use crate::setup::Database;
use crate::unit_of_work;

const SELECT_TASK: &str = concat!(
    "SELECT ",
    task_columns!(),
    " FROM tasks t WHERE t.id = ?1 AND t.user_id = ?2"
);

const SELECT_SUCCESSOR: &str = concat!(
    "SELECT ",
    task_columns!(),
    " FROM tasks t WHERE t.predecessor_id = ?1 AND t.user_id = ?2"
);

const SELECT_PENDING_IN_SERIES: &str = concat!(
    "SELECT ",
    task_columns!(),
    " FROM tasks t WHERE t.series_id = ?1 AND t.user_id = ?2 AND t.status = 'pending' ORDER BY t.id"
);

/// Tags by code point (BINARY collation), as the reference's `BTreeMap<Tag, _>` orders them.
const SELECT_TAG_COUNTS: &str = "\
SELECT g.tag, count(*) AS tasks
FROM task_tags g
WHERE g.user_id = ?1
GROUP BY g.tag
ORDER BY g.tag";

/// One page of the reminder window: the predicate and the order match the partial index
/// `tasks_reminder_window` (its exact expression), so a page is one covering range scan from the
/// cursor (`?3`, `?4`) to the end of the window. (As a row value, `(expr, id) > (?3, ?4)`, the
/// cursor did not bound the range: SQLite scanned from the first entry.)
const SELECT_PENDING_REMINDERS: &str = "\
SELECT t.id, t.user_id, t.due_date, t.remind_before
FROM tasks t
WHERE t.status = 'pending' AND t.due_date IS NOT NULL AND t.remind_before IS NOT NULL
  AND t.due_date - t.remind_before * 60000000 BETWEEN ?3 AND ?2
  AND (t.due_date - t.remind_before * 60000000 > ?3 OR t.id > ?4)
  AND t.due_date > ?1
ORDER BY t.due_date - t.remind_before * 60000000, t.id
LIMIT ?5";

const SELECT_PROCESSED: &str =
    "SELECT EXISTS (SELECT 1 FROM processed_events WHERE consumer = ?1 AND event_id = ?2)";

/// At most this many event ids go into one statement of [`SqliteTaskRepository::processed_among_sql`].
const PROCESSED_AMONG_CHUNK: usize = 500;

/// How many task ids one write reserves from `task_ids`.
const TASK_ID_BLOCK: i64 = 64;

/// Reserves the next [`TASK_ID_BLOCK`] ids; returns the last one reserved.
const RESERVE_TASK_IDS: &str =
    "UPDATE task_ids SET last_id = last_id + ?1 WHERE only_row = 1 RETURNING last_id";

/// Tasks, their outbox, audit log, processed-event marks, users, notifications and state in one
/// SQLite database file.
///
/// Cheap to clone (it holds the database's pools); clones share their reserved task ids. Run
/// [`crate::migrate`] on the database first.
#[derive(Debug, Clone)]
pub struct SqliteTaskRepository {
    pub(crate) db: Database,
    reserved_ids: Arc<ReservedTaskIds>,
    commits: Arc<unit_of_work::CommitQueue>,
    search_scan: usize,
}

impl SqliteTaskRepository {
    /// How many tasks a search looks at in the page's order before it asks the trigram index
    /// instead (see [`Plan`]): a word in one task of eight still fills a page of 50 from them.
    pub const SEARCH_SCAN: usize = 400;

    /// The statement of one page of pending reminders (`?1` now, `?2` until, `?3`/`?4` the cursor,
    /// `?5` the limit), for checking its plan.
    pub const PENDING_REMINDERS: &'static str = SELECT_PENDING_REMINDERS;

    /// The statement looking up which of `n` events a consumer processed (`?1` the consumer, then the
    /// `n` event ids): one probe of the primary key per id.
    pub fn processed_among_sql(n: usize) -> String {
        let ids = (2..n + 2)
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        format!("SELECT event_id FROM processed_events WHERE consumer = ?1 AND event_id IN ({ids})")
    }

    /// A repository over `db`, whose schema is migrated.
    pub fn new(db: Database) -> Self {
        Self {
            db,
            reserved_ids: Arc::default(),
            commits: Arc::default(),
            search_scan: Self::SEARCH_SCAN,
        }
    }

    /// Sets how many tasks a search looks at before it uses the trigram index; 0 always uses the
    /// index. The results are the same; only the time differs.
    pub fn with_search_scan(mut self, tasks: usize) -> Self {
        self.search_scan = tasks;
        self
    }

    /// The queue of writes waiting for the writer (group commit).
    pub(crate) fn commits(&self) -> &Arc<unit_of_work::CommitQueue> {
        &self.commits
    }

    /// The database it uses (for health checks, backups and closing).
    pub fn database(&self) -> &Database {
        &self.db
    }
}

#[async_trait]
impl TaskRepository for SqliteTaskRepository {
    async fn next_task_id(&self) -> PortResult<TaskId> {
        if let Some(id) = self.reserved_ids.take() {
            return Ok(id);
        }
        let last: i64 = sqlx::query_scalar(RESERVE_TASK_IDS)
            .bind(TASK_ID_BLOCK)
            .fetch_optional(&mut *self.db.writer.acquire().await?)
            .await
            .map_err(port_error)?
            .ok_or_else(|| corrupt("the task id counter", "its row is missing"))?;
        let block = (last - TASK_ID_BLOCK + 1)..=last;
        self.reserved_ids
            .add_and_take(block)
            .ok_or_else(|| corrupt("the task id counter", "it reserved no id"))
    }

    #[instrument(level = "debug", skip_all, fields(writes = changes.writes.len(), events = changes.outbox.len()))]
    async fn commit(&self, changes: Changes) -> PortResult<()> {
        unit_of_work::commit(&self.db, &self.commits, changes).await
    }

    async fn get(&self, user_id: UserId, id: TaskId) -> PortResult<Option<Task>> {
        sqlx::query(SELECT_TASK)
            .bind(id.0)
            .bind(user_id.0)
            .fetch_optional(&self.db.reader)
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
        let limit = query.limit.max(1);
        let fetch = |plan| async move {
            crate::query::page_statement(user_id, query, now, plan)
                .build()
                .fetch_all(&self.db.reader)
                .await
                .map_err(port_error)
        };
        let mut rows = Vec::new();
        if self.search_scan > 0 {
            rows = fetch(Plan::Scan {
                budget: self.search_scan,
            })
            .await?;
        }
        // Without search words both plans are one statement; with them, a page that did not fill
        // from the scanned tasks comes from the trigram index.
        if rows.len() <= limit && (self.search_scan == 0 || fts_query(&query.words).is_some()) {
            rows = fetch(Plan::Index).await?;
        }
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
            .fetch_all(&self.db.reader)
            .await
            .map_err(port_error)?;
        rows.iter()
            .map(|row| {
                let tag: String = get(row, "tag")?;
                let count: i64 = get(row, "tasks")?;
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
            .fetch_optional(&self.db.reader)
            .await
            .map_err(port_error)?
            .map(|row| decode_task(&row))
            .transpose()
    }

    async fn pending_in_series(&self, user_id: UserId, series: SeriesId) -> PortResult<Vec<Task>> {
        sqlx::query(SELECT_PENDING_IN_SERIES)
            .bind(series.0)
            .bind(user_id.0)
            .fetch_all(&self.db.reader)
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
            .bind(micros(now))
            .bind(micros(until))
            .bind(micros(from.remind_at))
            .bind(from.task_id.0)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.db.reader)
            .await
            .map_err(port_error)?;
        rows.iter()
            .map(|row| {
                let due_date = get_instant(row, "due_date")?;
                let minutes: i64 = get(row, "remind_before")?;
                let task_id = TaskId(get(row, "id")?);
                let remind_at = Duration::try_minutes(minutes)
                    .and_then(|lead| due_date.checked_sub_signed(lead))
                    .ok_or_else(|| {
                        corrupt(
                            format!("task {task_id}: stored remind_before"),
                            format!("{minutes} minutes is out of range"),
                        )
                    })?;
                Ok(ReminderEntry {
                    task_id,
                    user_id: UserId(get_uuid(row, "user_id")?),
                    remind_at,
                    due_date,
                })
            })
            .collect()
    }

    async fn is_processed(&self, consumer: &str, event_id: EventId) -> PortResult<bool> {
        let row = sqlx::query(SELECT_PROCESSED)
            .bind(consumer)
            .bind(event_id.0)
            .fetch_one(&self.db.reader)
            .await
            .map_err(port_error)?;
        let exists: i64 = row.try_get(0).map_err(port_error)?;
        Ok(exists != 0)
    }

    async fn processed_among(
        &self,
        consumer: &str,
        event_ids: &[EventId],
    ) -> PortResult<HashSet<EventId>> {
        let mut found = HashSet::new();
        for chunk in event_ids.chunks(PROCESSED_AMONG_CHUNK) {
            let sql = Self::processed_among_sql(chunk.len());
            let mut query = sqlx::query(&sql).bind(consumer);
            for id in chunk {
                query = query.bind(id.0);
            }
            let rows = query.fetch_all(&self.db.reader).await.map_err(port_error)?;
            for row in &rows {
                found.insert(EventId(get_uuid(row, "event_id")?));
            }
        }
        Ok(found)
    }

    async fn history(&self, user_id: UserId, id: TaskId) -> PortResult<Vec<AuditEntry>> {
        history(&self.db, user_id, id).await
    }
}
