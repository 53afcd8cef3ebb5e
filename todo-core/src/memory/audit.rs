//! The audit half of [`InMemoryTaskRepository`]: an append-only log, one entry per event, that keeps
//! only its newest entries so that a long-running in-memory server does not grow without bound.

use std::collections::{HashMap, HashSet, VecDeque};

use async_trait::async_trait;

use super::lock;
use super::repository::InMemoryTaskRepository;
use crate::model::{EventId, TaskId, UserId};
use crate::ports::{AuditEntry, AuditLog, PortResult};

/// The newest `capacity` entries, per task in append order, and the events they record.
///
/// When full, an append first drops the oldest entry (in append order, whatever its task) and forgets
/// its event: the dedupe covers exactly the entries kept. A redelivery of an event whose entry was
/// dropped is therefore appended again, as the newest entry (and [`Self::history`] places it by its
/// time, as any other).
#[derive(Debug)]
pub(super) struct AuditRows {
    capacity: usize,
    /// Each task's kept entries in append order; a task without kept entries has no key.
    by_task: HashMap<(UserId, TaskId), VecDeque<AuditEntry>>,
    /// The task of every kept entry, in append order: the front is the entry dropped next. The oldest
    /// entry overall is also the oldest of its task, so it is the front of that task's entries too.
    append_order: VecDeque<(UserId, TaskId)>,
    /// The events of the kept entries.
    recorded: HashSet<EventId>,
}

impl Default for AuditRows {
    fn default() -> Self {
        Self::with_capacity(InMemoryTaskRepository::DEFAULT_AUDIT_CAPACITY)
    }
}

impl AuditRows {
    /// An empty log keeping the newest `capacity` entries (at least one).
    pub(super) fn with_capacity(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            by_task: HashMap::new(),
            append_order: VecDeque::new(),
            recorded: HashSet::new(),
        }
    }

    /// Keeps the newest `capacity` entries (at least one) from now on, dropping the oldest beyond it.
    pub(super) fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity.max(1);
        while self.len() > self.capacity {
            self.drop_oldest();
        }
    }

    /// How many entries are kept.
    pub(super) fn len(&self) -> usize {
        self.append_order.len()
    }

    /// Appends `entry` unless its event is recorded by a kept entry, dropping the oldest entry if the
    /// log is full; returns whether it was appended.
    pub(super) fn append(&mut self, entry: AuditEntry) -> bool {
        if self.recorded.contains(&entry.event_id) {
            return false;
        }
        if self.len() == self.capacity {
            self.drop_oldest();
        }
        let key = (entry.user_id, entry.task_id);
        self.recorded.insert(entry.event_id);
        self.append_order.push_back(key);
        self.by_task.entry(key).or_default().push_back(entry);
        true
    }

    /// Drops the oldest entry and forgets its event, in O(1) amortised.
    fn drop_oldest(&mut self) {
        let Some(key) = self.append_order.pop_front() else {
            return;
        };
        let Some(entries) = self.by_task.get_mut(&key) else {
            debug_assert!(false, "every key in append order has entries");
            return;
        };
        if let Some(oldest) = entries.pop_front() {
            self.recorded.remove(&oldest.event_id);
        }
        if entries.is_empty() {
            self.by_task.remove(&key);
        } else if entries.capacity() > 64 && entries.len() < entries.capacity() / 4 {
            // A task that once had many entries and still has a few would otherwise keep the room for
            // all of them; shrinking to twice its length once under a quarter is used keeps the copying
            // O(1) amortised per entry dropped.
            entries.shrink_to(entries.len() * 2);
        }
    }

    /// A task's kept entries, oldest first (append order among entries of the same instant).
    pub(super) fn history(&self, user_id: UserId, task_id: TaskId) -> Vec<AuditEntry> {
        let mut entries: Vec<AuditEntry> = self
            .by_task
            .get(&(user_id, task_id))
            .map(|entries| entries.iter().cloned().collect())
            .unwrap_or_default();
        entries.sort_by_key(|e| e.at);
        entries
    }
}

#[async_trait]
impl AuditLog for InMemoryTaskRepository {
    async fn append(&self, entry: AuditEntry) -> PortResult<bool> {
        Ok(lock(&self.state).audit.append(entry))
    }

    async fn history(&self, user_id: UserId, task_id: TaskId) -> PortResult<Vec<AuditEntry>> {
        Ok(lock(&self.state).audit.history(user_id, task_id))
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Duration, Utc};
    use uuid::Uuid;

    use super::*;
    use crate::events::TaskEventType;
    use crate::ports::{Changes, TaskRepository, TaskSnapshot};

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .to_utc()
    }

    /// The `n`th entry about `task_id`, `n` minutes after `t0`, with event id `n`.
    fn entry(user_id: UserId, task_id: i64, n: u128) -> AuditEntry {
        AuditEntry {
            event_id: EventId(Uuid::from_u128(n)),
            task_id: TaskId(task_id),
            user_id,
            action: TaskEventType::Updated,
            at: t0() + Duration::minutes(i64::try_from(n).unwrap()),
            snapshot: TaskSnapshot::from_value(&serde_json::json!({ "n": n.to_string() })),
        }
    }

    fn events(entries: &[AuditEntry]) -> Vec<u128> {
        entries.iter().map(|e| e.event_id.0.as_u128()).collect()
    }

    fn kept(rows: &AuditRows, user: UserId, tasks: &[i64]) -> Vec<u128> {
        tasks
            .iter()
            .flat_map(|&task| events(&rows.history(user, TaskId(task))))
            .collect()
    }

    #[test]
    fn a_full_log_keeps_its_capacity_dropping_the_oldest_entries_first() {
        let user = UserId(Uuid::new_v4());
        let mut rows = AuditRows::with_capacity(100);
        for n in 1..=1000 {
            assert!(rows.append(entry(user, i64::try_from(n % 7).unwrap(), n)));
            assert_eq!(rows.len(), usize::try_from(n.min(100)).unwrap());
        }
        let mut all = kept(&rows, user, &[0, 1, 2, 3, 4, 5, 6]);
        all.sort_unstable();
        assert_eq!(all, (901..=1000).collect::<Vec<_>>());
        assert_eq!(rows.recorded.len(), 100);
        assert_eq!(rows.by_task.values().map(VecDeque::len).sum::<usize>(), 100);
    }

    #[test]
    fn history_keeps_time_order_after_the_oldest_entries_are_dropped() {
        let user = UserId(Uuid::new_v4());
        let mut rows = AuditRows::with_capacity(3);
        // Task 1's events 1 and 2 are dropped first; its 5 and 4 are appended out of time order.
        for (task, n) in [(1, 1), (1, 2), (2, 3), (1, 5), (1, 4)] {
            assert!(rows.append(entry(user, task, n)));
        }
        assert_eq!(events(&rows.history(user, TaskId(1))), [4, 5]);
        assert_eq!(events(&rows.history(user, TaskId(2))), [3]);
        assert!(rows.append(entry(user, 3, 6)));
        assert_eq!(events(&rows.history(user, TaskId(1))), [4, 5]);
        assert!(rows.history(user, TaskId(2)).is_empty());
        assert!(!rows.by_task.contains_key(&(user, TaskId(2))));
    }

    #[test]
    fn a_kept_event_is_refused_and_an_evicted_one_is_appended_again_as_the_newest() {
        let user = UserId(Uuid::new_v4());
        let mut rows = AuditRows::with_capacity(3);
        for n in 1..=3 {
            assert!(rows.append(entry(user, 1, n)));
        }
        for n in 1..=3 {
            assert!(!rows.append(entry(user, 1, n)), "event {n} is kept");
        }
        assert_eq!(kept(&rows, user, &[1]), [1, 2, 3]);

        assert!(rows.append(entry(user, 2, 4)));
        assert_eq!(kept(&rows, user, &[1, 2]), [2, 3, 4]);
        // Event 1 was dropped with its entry: its redelivery is recorded again, and drops event 2.
        assert!(rows.append(entry(user, 1, 1)));
        assert_eq!(kept(&rows, user, &[1, 2]), [1, 3, 4]);
        assert!(!rows.append(entry(user, 1, 1)));
        assert!(!rows.append(entry(user, 1, 3)));
        assert_eq!(rows.len(), 3);
    }

    #[test]
    fn a_task_with_few_entries_left_gives_back_the_room_of_those_dropped() {
        let user = UserId(Uuid::new_v4());
        let mut rows = AuditRows::with_capacity(10_000);
        for n in 1..=10_000 {
            rows.append(entry(user, 1, n));
        }
        rows.append(entry(user, 1, 10_001));
        for n in 10_002..=20_000 {
            rows.append(entry(user, 2, n));
        }
        assert_eq!(kept(&rows, user, &[1]), [10_001]);
        let room = rows.by_task[&(user, TaskId(1))].capacity();
        assert!(room <= 128, "task 1 keeps room for {room} entries");
    }

    #[test]
    fn lowering_the_capacity_drops_the_oldest_entries_at_once() {
        let user = UserId(Uuid::new_v4());
        let mut rows = AuditRows::with_capacity(10);
        for n in 1..=5 {
            rows.append(entry(user, 1, n));
        }
        rows.set_capacity(2);
        assert_eq!(kept(&rows, user, &[1]), [4, 5]);
        rows.set_capacity(0);
        assert_eq!(kept(&rows, user, &[1]), [5]);
    }

    #[tokio::test]
    async fn the_repository_bounds_entries_appended_by_commits_and_by_the_log_alike() {
        let repo = InMemoryTaskRepository::new().with_audit_capacity(4);
        let user = UserId(Uuid::new_v4());
        for n in 1..=6 {
            repo.commit(Changes {
                audit: vec![entry(user, 1, n)],
                ..Changes::default()
            })
            .await
            .unwrap();
        }
        assert_eq!(
            events(
                &TaskRepository::history(&repo, user, TaskId(1))
                    .await
                    .unwrap()
            ),
            [3, 4, 5, 6]
        );
        assert!(AuditLog::append(&repo, entry(user, 1, 7)).await.unwrap());
        assert!(!AuditLog::append(&repo, entry(user, 1, 7)).await.unwrap());
        assert_eq!(
            events(&AuditLog::history(&repo, user, TaskId(1)).await.unwrap()),
            [4, 5, 6, 7]
        );
    }
}
