//! An in-memory [`TaskRepository`], which is also the [`OutboxStore`](crate::ports::OutboxStore) and
//! [`AuditLog`](crate::ports::AuditLog) of its tasks, as one database would be.
//!
//! A commit applies its writes in order under one lock, recording how to undo each; the first failure
//! undoes them all, so a unit of work is stored completely or not at all. The uniqueness rules a
//! database enforces with indexes (one successor per task, one occurrence per due date in a series)
//! are kept in the same indexes here, and so are the per-user sort orders a page is read from
//! ([`UserIndex`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::audit::AuditRows;
use super::lock;
use super::outbox::OutboxRows;
use super::user_index::UserIndex;
use crate::error::PortError;
use crate::model::{EventId, SeriesId, Status, Tag, Task, TaskId, UserId};
use crate::ports::{
    stale_write, AuditEntry, Changes, Clock, OutboxEntry, Page, PortResult, ProcessedEvent,
    ReminderCursor, ReminderEntry, SystemClock, TagCount, TaskRepository, TaskWrite,
};
use crate::query::{self, Cursor, Order, SortKey, TaskQuery};

/// How many of a user's tasks a page may visit in sort order before the query walks all of them in
/// id order instead (see [`RepoState::query`]).
const SCAN_BUDGET: usize = 1024;

/// Tasks, outbox, audit log and processed-event marks in memory, with the semantics of the
/// production database, except that the audit log keeps only its newest entries
/// ([`Self::with_audit_capacity`]).
pub struct InMemoryTaskRepository {
    pub(super) state: Mutex<RepoState>,
    /// Stamps outbox rows with their commit time.
    pub(super) clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for InMemoryTaskRepository {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("InMemoryTaskRepository")
            .field("tasks", &state.tasks.len())
            .field("outbox", &state.outbox.len())
            .field("audit", &state.audit.len())
            .finish_non_exhaustive()
    }
}

impl Default for InMemoryTaskRepository {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Default)]
pub(super) struct RepoState {
    last_id: i64,
    tasks: BTreeMap<TaskId, Task>,
    /// Each user's task ids under every sort key; a user without tasks has no entry.
    by_user: HashMap<UserId, UserIndex>,
    /// Predecessor → the occurrence its completion created.
    successor_of: HashMap<TaskId, TaskId>,
    /// (series, due date) → the occurrence due then.
    series_due: HashMap<(SeriesId, DateTime<Utc>), TaskId>,
    /// Every mark ever committed, as the production tables keep them. Unlike the audit log, this is
    /// not bounded: a mark is small (no snapshot) and only consumers' commits write one (reminder
    /// firings, recurring completions and deletions), and forgetting one would let its event through
    /// again; a reminder already past whose firing is unmarked is scheduled again by reconciliation.
    processed: HashSet<ProcessedEvent>,
    pub(super) outbox: OutboxRows,
    pub(super) audit: AuditRows,
}

/// How to restore one task if a later write of the same unit fails: its state before the write.
type Undo = Vec<(TaskId, Option<Task>)>;

impl RepoState {
    fn put(&mut self, task: Task) {
        self.by_user.entry(task.user_id).or_default().insert(&task);
        if let Some(series) = task.series {
            if let Some(predecessor) = series.predecessor {
                self.successor_of.insert(predecessor, task.id);
            }
            if let Some(due) = task.due_date {
                self.series_due.insert((series.id, due), task.id);
            }
        }
        self.tasks.insert(task.id, task);
    }

    fn remove(&mut self, id: TaskId) -> Option<Task> {
        let task = self.tasks.remove(&id)?;
        if let Some(index) = self.by_user.get_mut(&task.user_id) {
            index.remove(&task);
            if index.is_empty() {
                self.by_user.remove(&task.user_id);
            }
        }
        if let Some(series) = task.series {
            if let Some(predecessor) = series.predecessor {
                if self.successor_of.get(&predecessor) == Some(&id) {
                    self.successor_of.remove(&predecessor);
                }
            }
            if let Some(due) = task.due_date {
                if self.series_due.get(&(series.id, due)) == Some(&id) {
                    self.series_due.remove(&(series.id, due));
                }
            }
        }
        Some(task)
    }

    /// The user's task, or `NotFound` (another user's task does not exist for them).
    fn owned(&self, user_id: UserId, id: TaskId) -> PortResult<&Task> {
        self.tasks
            .get(&id)
            .filter(|t| t.user_id == user_id)
            .ok_or(PortError::NotFound)
    }

    /// The uniqueness rules of a series, checked for `task` against every other task.
    fn check_series(&self, task: &Task) -> PortResult<()> {
        let Some(series) = task.series else {
            return Ok(());
        };
        if let Some(predecessor) = series.predecessor {
            if let Some(other) = self
                .successor_of
                .get(&predecessor)
                .filter(|o| **o != task.id)
            {
                return Err(PortError::already_exists(format!(
                    "task {predecessor} already has a successor (task {other})"
                )));
            }
        }
        if let Some(due) = task.due_date {
            if let Some(other) = self
                .series_due
                .get(&(series.id, due))
                .filter(|o| **o != task.id)
            {
                return Err(PortError::already_exists(format!(
                    "series {} already has an occurrence due at {due} (task {other})",
                    series.id
                )));
            }
        }
        Ok(())
    }

    fn apply(&mut self, write: TaskWrite, undo: &mut Undo) -> PortResult<()> {
        match write {
            TaskWrite::Insert(task) => {
                if self.tasks.contains_key(&task.id) {
                    return Err(PortError::already_exists(format!(
                        "task {} exists",
                        task.id
                    )));
                }
                self.check_series(&task)?;
                self.last_id = self.last_id.max(task.id.0);
                undo.push((task.id, None));
                self.put(task);
            }
            TaskWrite::Update {
                task,
                expected_version,
            } => {
                let stored = self.owned(task.user_id, task.id)?;
                if stored.version != expected_version {
                    return Err(stale_write(task.id, Some(stored.version), expected_version));
                }
                self.check_series(&task)?;
                let before = self.remove(task.id);
                undo.push((task.id, before));
                self.put(task);
            }
            TaskWrite::Delete {
                user_id,
                id,
                expected_version,
            } => {
                let stored = self.owned(user_id, id)?;
                if stored.version != expected_version {
                    return Err(stale_write(id, Some(stored.version), expected_version));
                }
                let before = self.remove(id);
                undo.push((id, before));
            }
        }
        Ok(())
    }

    fn rollback(&mut self, undo: Undo) {
        for (id, before) in undo.into_iter().rev() {
            self.remove(id);
            if let Some(task) = before {
                self.put(task);
            }
        }
    }

    fn commit(&mut self, changes: Changes, now: DateTime<Utc>) -> PortResult<()> {
        if let Some(processed) = &changes.processed {
            if self.processed.contains(processed) {
                return Err(PortError::already_exists(format!(
                    "event {} was already processed by {}",
                    processed.event_id, processed.consumer
                )));
            }
        }
        let mut seen = HashSet::new();
        if let Some(message) = changes
            .outbox
            .iter()
            .find(|m| self.outbox.contains(m.id) || !seen.insert(m.id))
        {
            return Err(PortError::already_exists(format!(
                "outbox message {} exists",
                message.id
            )));
        }
        let mut undo = Undo::new();
        for write in changes.writes {
            if let Err(error) = self.apply(write, &mut undo) {
                self.rollback(undo);
                return Err(error);
            }
        }
        // Nothing below can fail: the unit is committed.
        if let Some(processed) = changes.processed {
            self.processed.insert(processed);
        }
        for message in changes.outbox {
            self.outbox.push(message, now);
        }
        for entry in changes.audit {
            self.audit.append(entry);
        }
        Ok(())
    }

    /// The user's tasks by id.
    fn user_tasks(&self, user_id: UserId) -> impl Iterator<Item = &Task> {
        self.by_user
            .get(&user_id)
            .into_iter()
            .flat_map(UserIndex::ids)
            .filter_map(|id| self.tasks.get(&id))
    }

    /// [`query::evaluate`] over the user's tasks, read from the index of the query's sort key: the
    /// scan starts after the cursor and stops at the first match past the page (or, for filters that
    /// match too few tasks to fill a page within [`SCAN_BUDGET`] visits, falls back to the reference).
    fn query(&self, user_id: UserId, query: &TaskQuery, now: DateTime<Utc>) -> Page {
        let Some(index) = self.by_user.get(&user_id) else {
            return Page {
                items: Vec::new(),
                next_cursor: None,
            };
        };
        // As in the reference, a cursor of another sort key or order restarts from the first page.
        let after = query
            .cursor
            .as_ref()
            .filter(|c| c.sort == query.sort && c.order == query.order)
            .map(|c| (&c.value, c.id));
        let due_start = match query.order {
            Order::Asc => query.due_from,
            Order::Desc => query.due_to,
        };
        let Some(scan) = index.scan(query.sort, query.order, after, due_start) else {
            // A cursor whose value is of another key than its own (only a hand-built query has one)
            // has no position in the index; the reference still gives it a meaning.
            return query::evaluate(self.user_tasks(user_id), query, now);
        };
        let limit = query.limit.max(1);
        let mut items: Vec<&Task> = Vec::new();
        let mut more = false;
        let candidates = scan
            .filter_map(|id| self.tasks.get(&id))
            .take_while(|task| !past_due_range(task, query));
        for (visited, task) in candidates.enumerate() {
            if visited == SCAN_BUDGET {
                // Filters this selective leave the index nothing to save, and visiting tasks in id
                // order is several times faster than in sort order: walk them as the reference does.
                return query::evaluate(self.user_tasks(user_id), query, now);
            }
            if !query::matches(task, query, now) {
                continue;
            }
            if items.len() == limit {
                more = true;
                break;
            }
            items.push(task);
        }
        let next_cursor = if more {
            items.last().map(|last| Cursor {
                sort: query.sort,
                order: query.order,
                value: query::sort_value(last, query.sort),
                id: last.id,
            })
        } else {
            None
        };
        let items = items.into_iter().cloned().collect();
        Page { items, next_cursor }
    }
}

/// Whether `task`, met in a scan in due-date order, shows that no later task can be in the query's
/// due-date range: it is past the range's far end in the scan's direction, or it has no due date
/// (those come last in both directions, and a range excludes them).
fn past_due_range(task: &Task, query: &TaskQuery) -> bool {
    if query.sort != SortKey::DueDate || (query.due_from.is_none() && query.due_to.is_none()) {
        return false;
    }
    let Some(due) = task.due_date else {
        return true;
    };
    match query.order {
        Order::Asc => query.due_to.is_some_and(|to| due > to),
        Order::Desc => query.due_from.is_some_and(|from| due < from),
    }
}

impl InMemoryTaskRepository {
    /// How many audit entries a repository keeps unless [`Self::with_audit_capacity`] says otherwise.
    /// Each holds its task's JSON snapshot: about 3 KiB of memory for a task with a short title, so
    /// about 30 MiB when full.
    pub const DEFAULT_AUDIT_CAPACITY: usize = 10_000;

    /// An empty repository stamping outbox rows with the system clock.
    pub fn new() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }

    /// An empty repository stamping outbox rows with `clock` (the use cases' clock, in tests).
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Self {
            state: Mutex::new(RepoState::default()),
            clock,
        }
    }

    /// Keeps the newest `capacity` audit entries (at least one; [`Self::DEFAULT_AUDIT_CAPACITY`]
    /// otherwise), however they were appended: when full, the oldest entry is dropped and its event
    /// forgotten, so a redelivery of that event is appended again as a new entry. The history of a task
    /// holds its entries still kept.
    #[must_use]
    pub fn with_audit_capacity(mut self, capacity: usize) -> Self {
        self.state
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .audit
            .set_capacity(capacity);
        self
    }

    /// Every stored task, by id (for tests and diagnostics).
    pub fn tasks(&self) -> Vec<Task> {
        lock(&self.state).tasks.values().cloned().collect()
    }

    /// The unsent outbox messages in commit order (for tests of the relay).
    pub fn outbox(&self) -> Vec<OutboxEntry> {
        lock(&self.state).outbox.unsent()
    }
}

#[async_trait]
impl TaskRepository for InMemoryTaskRepository {
    async fn next_task_id(&self) -> PortResult<TaskId> {
        let mut state = lock(&self.state);
        state.last_id += 1;
        Ok(TaskId(state.last_id))
    }

    async fn commit(&self, changes: Changes) -> PortResult<()> {
        let now = self.clock.now();
        lock(&self.state).commit(changes, now)
    }

    async fn get(&self, user_id: UserId, id: TaskId) -> PortResult<Option<Task>> {
        Ok(lock(&self.state).owned(user_id, id).ok().cloned())
    }

    async fn query(
        &self,
        user_id: UserId,
        query: &TaskQuery,
        now: DateTime<Utc>,
    ) -> PortResult<Page> {
        Ok(lock(&self.state).query(user_id, query, now))
    }

    async fn tags(&self, user_id: UserId) -> PortResult<Vec<TagCount>> {
        let state = lock(&self.state);
        let mut counts: BTreeMap<&Tag, u64> = BTreeMap::new();
        for tag in state.user_tasks(user_id).flat_map(|t| t.tags.iter()) {
            *counts.entry(tag).or_default() += 1;
        }
        Ok(counts
            .into_iter()
            .map(|(tag, count)| TagCount {
                tag: tag.clone(),
                count,
            })
            .collect())
    }

    async fn successor(&self, user_id: UserId, id: TaskId) -> PortResult<Option<Task>> {
        let state = lock(&self.state);
        Ok(state
            .successor_of
            .get(&id)
            .and_then(|successor| state.owned(user_id, *successor).ok())
            .cloned())
    }

    async fn pending_in_series(&self, user_id: UserId, series: SeriesId) -> PortResult<Vec<Task>> {
        let state = lock(&self.state);
        Ok(state
            .user_tasks(user_id)
            .filter(|t| t.status == Status::Pending && t.series.is_some_and(|s| s.id == series))
            .cloned()
            .collect())
    }

    async fn pending_reminders(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        resume: Option<ReminderCursor>,
        limit: usize,
    ) -> PortResult<Vec<ReminderEntry>> {
        let state = lock(&self.state);
        let from = resume.unwrap_or(ReminderCursor::start(now));
        let mut window: Vec<ReminderEntry> = state
            .tasks
            .values()
            .filter(|t| t.status == Status::Pending)
            .filter_map(|t| {
                Some(ReminderEntry {
                    task_id: t.id,
                    user_id: t.user_id,
                    remind_at: t.remind_at()?,
                    due_date: t.due_date.filter(|due| *due > now)?,
                })
            })
            .filter(|entry| entry.remind_at <= until && entry.cursor() > from)
            .collect();
        window.sort_unstable_by_key(ReminderEntry::cursor);
        window.truncate(limit);
        Ok(window)
    }

    async fn is_processed(&self, consumer: &str, event_id: EventId) -> PortResult<bool> {
        let key = ProcessedEvent {
            consumer: consumer.to_owned(),
            event_id,
        };
        Ok(lock(&self.state).processed.contains(&key))
    }

    async fn processed_among(
        &self,
        consumer: &str,
        event_ids: &[EventId],
    ) -> PortResult<HashSet<EventId>> {
        let state = lock(&self.state);
        Ok(event_ids
            .iter()
            .copied()
            .filter(|&event_id| {
                state.processed.contains(&ProcessedEvent {
                    consumer: consumer.to_owned(),
                    event_id,
                })
            })
            .collect())
    }

    async fn history(&self, user_id: UserId, id: TaskId) -> PortResult<Vec<AuditEntry>> {
        Ok(lock(&self.state).audit.history(user_id, id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{NewTask, Series};
    use uuid::Uuid;

    fn task(id: i64, user: UserId) -> Task {
        let now = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .to_utc();
        let new = NewTask::titled("Buy milk").unwrap();
        Task::create(TaskId(id), user, new, SeriesId(Uuid::new_v4()), now)
    }

    #[tokio::test]
    async fn a_failed_write_restores_every_index_it_touched() {
        let repo = InMemoryTaskRepository::new();
        let user = UserId(Uuid::new_v4());
        let series = SeriesId(Uuid::new_v4());
        let due = DateTime::parse_from_rfc3339("2026-02-01T09:00:00Z")
            .unwrap()
            .to_utc();
        let mut first = task(1, user);
        first.due_date = Some(due);
        first.series = Some(Series {
            id: series,
            anchor: Some(due),
            occurrence: 1,
            predecessor: None,
        });
        repo.commit(Changes {
            writes: vec![TaskWrite::Insert(first.clone())],
            ..Changes::default()
        })
        .await
        .unwrap();

        // Moving the occurrence frees its due date in the index, then a stale write undoes the move.
        let mut moved = first.clone();
        moved.due_date = Some(due + chrono::Duration::days(1));
        moved.version = 2;
        let failing = Changes {
            writes: vec![
                TaskWrite::Update {
                    task: moved,
                    expected_version: 1,
                },
                TaskWrite::Delete {
                    user_id: user,
                    id: TaskId(1),
                    expected_version: 1,
                },
            ],
            ..Changes::default()
        };
        assert!(matches!(
            repo.commit(failing).await,
            Err(PortError::Conflict { .. })
        ));
        assert_eq!(
            repo.get(user, TaskId(1)).await.unwrap(),
            Some(first.clone())
        );

        let mut twin = task(2, user);
        twin.due_date = Some(due);
        twin.series = first.series;
        let duplicate = Changes {
            writes: vec![TaskWrite::Insert(twin)],
            ..Changes::default()
        };
        assert!(matches!(
            repo.commit(duplicate).await,
            Err(PortError::AlreadyExists { .. })
        ));
    }

    #[tokio::test]
    async fn inserted_ids_are_never_handed_out_again() {
        let repo = InMemoryTaskRepository::new();
        let user = UserId(Uuid::new_v4());
        repo.commit(Changes {
            writes: vec![TaskWrite::Insert(task(7, user))],
            ..Changes::default()
        })
        .await
        .unwrap();
        assert_eq!(repo.next_task_id().await.unwrap(), TaskId(8));
        assert_eq!(repo.tasks().len(), 1);
    }
}
