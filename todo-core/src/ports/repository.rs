//! The task repository: a unit of work that stores task changes with their outbox events atomically,
//! the reference queries, and idempotency records.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use std::collections::{BTreeSet, HashSet};
use std::sync::Mutex;

use super::{AuditEntry, PortResult};
use crate::error::PortError;
use crate::events::Message;
use crate::model::{EventId, RemindBefore, SeriesId, Tag, Task, TaskId, UserId};
use crate::query::{Cursor, TaskQuery};

/// One write of a unit of work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskWrite {
    /// Store a new task (its id from [`TaskRepository::next_task_id`]). A task with a predecessor that
    /// already has a successor, or a second occurrence at the same due date in its series, fails with
    /// `AlreadyExists`.
    Insert(Task),
    /// Replace a task; fails with `Conflict` unless the stored version is `expected_version`.
    Update {
        /// The new state.
        task: Task,
        /// The version the change was computed from.
        expected_version: i64,
    },
    /// Remove a task; fails with `Conflict` unless the stored version is `expected_version`.
    Delete {
        /// Owner.
        user_id: UserId,
        /// Which task.
        id: TaskId,
        /// The version the deletion was decided on.
        expected_version: i64,
    },
}

/// An event consumed by a consumer group, recorded so a redelivery is recognised.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProcessedEvent {
    /// Consumer group name.
    pub consumer: String,
    /// The event.
    pub event_id: EventId,
}

/// Everything one use case changes, committed together or not at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Task writes, applied in order.
    pub writes: Vec<TaskWrite>,
    /// Events to relay after commit (transactional outbox).
    pub outbox: Vec<Message>,
    /// Audit entries to append.
    pub audit: Vec<AuditEntry>,
    /// Marks an inbound event processed; if it already was, the whole unit fails with `AlreadyExists`.
    pub processed: Option<ProcessedEvent>,
}

impl Changes {
    /// Whether there is nothing to commit.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
            && self.outbox.is_empty()
            && self.audit.is_empty()
            && self.processed.is_none()
    }
}

/// One page of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Tasks in query order.
    pub items: Vec<Task>,
    /// Resumes after the last item; `None` on the last page.
    pub next_cursor: Option<Cursor>,
}

/// A tag and how many of the user's tasks carry it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TagCount {
    /// The tag.
    pub tag: Tag,
    /// Tasks carrying it.
    pub count: u64,
}

/// A pending reminder, for reconciling the scheduler with the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderEntry {
    /// The task.
    pub task_id: TaskId,
    /// Its owner.
    pub user_id: UserId,
    /// When the reminder is due.
    pub remind_at: DateTime<Utc>,
    /// The task's due date.
    pub due_date: DateTime<Utc>,
}

impl ReminderEntry {
    /// Where the next page of pending reminders resumes after this one.
    pub fn cursor(&self) -> ReminderCursor {
        ReminderCursor {
            remind_at: self.remind_at,
            task_id: self.task_id,
        }
    }
}

/// A position in the order of pending reminders: by `remind_at`, then task id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReminderCursor {
    /// The reminder time of the last entry seen.
    pub remind_at: DateTime<Utc>,
    /// Its task.
    pub task_id: TaskId,
}

impl ReminderCursor {
    /// Where a walk of the reminders still ahead at `now` starts: before the earliest `remind_at` such
    /// a reminder can have (a due date after `now` less the longest lead time, one year). Stores start
    /// their index range here rather than at the first reminder ever stored, so that tasks long overdue
    /// cost a pass nothing.
    pub fn start(now: DateTime<Utc>) -> Self {
        Self {
            remind_at: now - RemindBefore::MAX.duration(),
            task_id: TaskId(i64::MIN),
        }
    }
}

/// Durable storage of tasks.
#[async_trait]
pub trait TaskRepository: Send + Sync {
    /// Reserves a fresh task id (ids are positive and increase).
    async fn next_task_id(&self) -> PortResult<TaskId>;

    /// Commits a unit of work atomically: all writes, outbox messages, audit entries and the processed
    /// mark, or none of them.
    async fn commit(&self, changes: Changes) -> PortResult<()>;

    /// A user's task; another user's task is `None`.
    async fn get(&self, user_id: UserId, id: TaskId) -> PortResult<Option<Task>>;

    /// One page of a user's tasks, evaluated exactly as [`crate::query::evaluate`] defines.
    async fn query(
        &self,
        user_id: UserId,
        query: &TaskQuery,
        now: DateTime<Utc>,
    ) -> PortResult<Page>;

    /// A user's tags with counts, by tag.
    async fn tags(&self, user_id: UserId) -> PortResult<Vec<TagCount>>;

    /// The occurrence created by completing `id`, if any.
    async fn successor(&self, user_id: UserId, id: TaskId) -> PortResult<Option<Task>>;

    /// Pending occurrences of a series (normally at most one).
    async fn pending_in_series(&self, user_id: UserId, series: SeriesId) -> PortResult<Vec<Task>>;

    /// The reminders of pending tasks still due after `now` whose `remind_at` is at or before `until`
    /// (reminders already past included), by `remind_at` then task id, resuming after `resume`, at
    /// most `limit`.
    async fn pending_reminders(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        resume: Option<ReminderCursor>,
        limit: usize,
    ) -> PortResult<Vec<ReminderEntry>>;

    /// Whether `consumer` already processed `event_id`.
    async fn is_processed(&self, consumer: &str, event_id: EventId) -> PortResult<bool>;

    /// Which of `event_ids` `consumer` already processed, looked up together (one round trip for a
    /// page of them).
    async fn processed_among(
        &self,
        consumer: &str,
        event_ids: &[EventId],
    ) -> PortResult<HashSet<EventId>>;

    /// A task's audit history, oldest first.
    async fn history(&self, user_id: UserId, id: TaskId) -> PortResult<Vec<AuditEntry>>;
}

/// Why a versioned write (`WHERE version = expected`) changed nothing, from the version stored for
/// the user's task: `NotFound` when there is none, else `Conflict` naming both versions.
pub fn stale_write(id: TaskId, stored_version: Option<i64>, expected: i64) -> PortError {
    match stored_version {
        None => PortError::NotFound,
        Some(version) => {
            PortError::conflict(format!("task {id} is at version {version}, not {expected}"))
        }
    }
}

/// Task ids reserved in blocks and not handed out yet, smallest first: for adapters whose
/// [`TaskRepository::next_task_id`] reserves several ids per round trip. Like a sequence's own
/// cache, the ids of a block still reserved when the process ends are skipped; successive calls
/// still get increasing ids. Clones of a repository share one.
#[derive(Debug, Default)]
pub struct ReservedTaskIds(Mutex<BTreeSet<i64>>);

impl ReservedTaskIds {
    /// The smallest reserved id, if any is left.
    pub fn take(&self) -> Option<TaskId> {
        self.lock().pop_first().map(TaskId)
    }

    /// Adds a block (concurrent callers may each have reserved one) and takes the smallest id.
    pub fn add_and_take(&self, block: impl IntoIterator<Item = i64>) -> Option<TaskId> {
        let mut ids = self.lock();
        ids.extend(block);
        ids.pop_first().map(TaskId)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeSet<i64>> {
        // The set stays consistent whatever panicked while holding the lock.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_ids_come_out_smallest_first_across_blocks() {
        let ids = ReservedTaskIds::default();
        assert_eq!(ids.take(), None);
        assert_eq!(ids.add_and_take(65..=128), Some(TaskId(65)));
        // A concurrent caller's earlier block is handed out before the rest of the later one.
        assert_eq!(ids.add_and_take(1..=64), Some(TaskId(1)));
        assert_eq!(ids.take(), Some(TaskId(2)));
    }

    #[test]
    fn a_stale_write_is_not_found_or_a_conflict() {
        assert!(matches!(
            stale_write(TaskId(7), None, 3),
            PortError::NotFound
        ));
        assert!(matches!(
            stale_write(TaskId(7), Some(4), 3),
            PortError::Conflict { context, .. } if context.contains("version 4, not 3")
        ));
    }
}
