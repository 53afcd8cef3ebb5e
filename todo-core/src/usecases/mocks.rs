//! mockall doubles of the ports, for unit tests of use-case logic.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use mockall::mock;

use crate::model::{EventId, SeriesId, Task, TaskId, UserId};
use crate::ports::{
    AuditEntry, Changes, Clock, IdGenerator, Job, Page, PortResult, ReminderCursor, ReminderEntry,
    Scheduler, TagCount, TaskRepository,
};
use crate::query::TaskQuery;

mock! {
    pub Repo {}
    #[async_trait]
    impl TaskRepository for Repo {
        async fn next_task_id(&self) -> PortResult<TaskId>;
        async fn commit(&self, changes: Changes) -> PortResult<()>;
        async fn get(&self, user_id: UserId, id: TaskId) -> PortResult<Option<Task>>;
        async fn query(&self, user_id: UserId, query: &TaskQuery, now: DateTime<Utc>) -> PortResult<Page>;
        async fn tags(&self, user_id: UserId) -> PortResult<Vec<TagCount>>;
        async fn successor(&self, user_id: UserId, id: TaskId) -> PortResult<Option<Task>>;
        async fn pending_in_series(&self, user_id: UserId, series: SeriesId) -> PortResult<Vec<Task>>;
        async fn pending_reminders(&self, now: DateTime<Utc>, until: DateTime<Utc>, resume: Option<ReminderCursor>, limit: usize) -> PortResult<Vec<ReminderEntry>>;
        async fn is_processed(&self, consumer: &str, event_id: EventId) -> PortResult<bool>;
        async fn processed_among(&self, consumer: &str, event_ids: &[EventId]) -> PortResult<HashSet<EventId>>;
        async fn history(&self, user_id: UserId, id: TaskId) -> PortResult<Vec<AuditEntry>>;
    }
}

mock! {
    pub Sched {}
    #[async_trait]
    impl Scheduler for Sched {
        async fn schedule(&self, job: Job) -> PortResult<()>;
        async fn cancel(&self, name: &str) -> PortResult<()>;
    }
}

/// A clock stopped at one instant.
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// Ids counting up from 1.
#[derive(Default)]
pub struct CountingIds(std::sync::atomic::AtomicU64);

impl IdGenerator for CountingIds {
    fn new_uuid(&self) -> uuid::Uuid {
        let n = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        uuid::Uuid::from_u128(u128::from(n))
    }
}

/// 2026-03-01 12:00 UTC.
pub fn noon() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

/// A user.
pub fn alice() -> UserId {
    UserId(uuid::Uuid::from_u128(0xA11CE))
}
