//! An in-memory [`Scheduler`]: a table of named jobs that a driver polls with
//! [`InMemoryScheduler::take_due`].
//!
//! It fires nothing by itself (no timers in a pure crate). The embedded server's driver sleeps until
//! [`InMemoryScheduler::next_due`], takes the due jobs and runs them; [`InMemoryScheduler::on_change`]
//! tells it to recompute its sleep when a job is scheduled or cancelled.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::lock;
use crate::error::PortError;
use crate::ports::{Job, PortResult, Scheduler};

/// Called after every schedule or cancel.
type Listener = Arc<dyn Fn() + Send + Sync>;

/// Named one-shot jobs held until a driver takes them when due.
#[derive(Default)]
pub struct InMemoryScheduler {
    state: Mutex<SchedulerState>,
    listener: Mutex<Option<Listener>>,
}

#[derive(Debug, Default)]
struct SchedulerState {
    jobs: Jobs,
    generation: u64,
    down: bool,
}

/// Jobs by name, indexed by due time so the driver's calls stay logarithmic with many pending reminders.
#[derive(Debug, Default)]
struct Jobs {
    by_name: BTreeMap<String, Job>,
    by_due: BTreeSet<(DateTime<Utc>, String)>,
}

impl Jobs {
    fn insert(&mut self, job: Job) {
        self.remove(&job.name);
        self.by_due.insert((job.due, job.name.clone()));
        self.by_name.insert(job.name.clone(), job);
    }

    fn remove(&mut self, name: &str) -> Option<Job> {
        let job = self.by_name.remove(name)?;
        self.by_due.remove(&(job.due, job.name.clone()));
        Some(job)
    }
}

impl std::fmt::Debug for InMemoryScheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemoryScheduler")
            .field("state", &*lock(&self.state))
            .finish_non_exhaustive()
    }
}

impl InMemoryScheduler {
    /// A scheduler without jobs.
    pub fn new() -> Self {
        Self::default()
    }

    /// Removes and returns the jobs due at `now`, earliest first (then by name).
    #[must_use = "the taken jobs are gone from the scheduler"]
    pub fn take_due(&self, now: DateTime<Utc>) -> Vec<Job> {
        let mut state = lock(&self.state);
        let due: Vec<String> = state
            .jobs
            .by_due
            .iter()
            .take_while(|(at, _)| *at <= now)
            .map(|(_, name)| name.clone())
            .collect();
        due.iter()
            .filter_map(|name| state.jobs.remove(name))
            .collect()
    }

    /// When the earliest job is due, if there is one.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        lock(&self.state).jobs.by_due.first().map(|(due, _)| *due)
    }

    /// The scheduled jobs, by name.
    pub fn jobs(&self) -> Vec<Job> {
        lock(&self.state).jobs.by_name.values().cloned().collect()
    }

    /// The job called `name`, if scheduled.
    pub fn job(&self, name: &str) -> Option<Job> {
        lock(&self.state).jobs.by_name.get(name).cloned()
    }

    /// Counts schedules and cancels: a driver that saw another value must recompute its next wake-up.
    pub fn generation(&self) -> u64 {
        lock(&self.state).generation
    }

    /// Calls `listener` after every schedule and cancel (replacing any earlier listener), for example
    /// to wake a driver through a `tokio::sync::Notify`. It runs on the caller's task: keep it short.
    pub fn on_change(&self, listener: impl Fn() + Send + Sync + 'static) {
        *lock(&self.listener) = Some(Arc::new(listener));
    }

    /// Makes `schedule` and `cancel` answer `Unavailable` (as when the Dapr sidecar is down), or not.
    pub fn set_available(&self, available: bool) {
        lock(&self.state).down = !available;
    }

    fn change(&self, apply: impl FnOnce(&mut Jobs)) -> PortResult<()> {
        {
            let mut state = lock(&self.state);
            if state.down {
                return Err(PortError::unavailable("the in-memory scheduler is down"));
            }
            apply(&mut state.jobs);
            state.generation += 1;
        }
        let listener = lock(&self.listener).clone();
        if let Some(listener) = listener {
            listener();
        }
        Ok(())
    }
}

#[async_trait]
impl Scheduler for InMemoryScheduler {
    async fn schedule(&self, job: Job) -> PortResult<()> {
        self.change(|jobs| jobs.insert(job))
    }

    async fn cancel(&self, name: &str) -> PortResult<()> {
        self.change(|jobs| {
            jobs.remove(name);
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn job(name: &str, due: DateTime<Utc>) -> Job {
        Job {
            name: name.into(),
            due,
            payload: serde_json::json!({ "name": name }),
        }
    }

    #[tokio::test]
    async fn due_jobs_are_taken_once_earliest_first() {
        let now = Utc::now();
        let scheduler = InMemoryScheduler::new();
        scheduler
            .schedule(job("later", now + Duration::minutes(5)))
            .await
            .unwrap();
        scheduler
            .schedule(job("b", now - Duration::seconds(1)))
            .await
            .unwrap();
        scheduler
            .schedule(job("a", now - Duration::seconds(2)))
            .await
            .unwrap();
        assert_eq!(scheduler.next_due(), Some(now - Duration::seconds(2)));
        let names: Vec<String> = scheduler
            .take_due(now)
            .into_iter()
            .map(|j| j.name)
            .collect();
        assert_eq!(names, ["a", "b"]);
        assert!(scheduler.take_due(now).is_empty());
        assert_eq!(scheduler.next_due(), Some(now + Duration::minutes(5)));
        assert_eq!(scheduler.jobs().len(), 1);
    }

    #[tokio::test]
    async fn rescheduling_replaces_and_every_change_is_announced() {
        let now = Utc::now();
        let scheduler = InMemoryScheduler::new();
        let changes = Arc::new(AtomicU32::new(0));
        let counter = changes.clone();
        scheduler.on_change(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        scheduler.schedule(job("j", now)).await.unwrap();
        scheduler
            .schedule(job("j", now + Duration::hours(1)))
            .await
            .unwrap();
        assert_eq!(scheduler.job("j").unwrap().due, now + Duration::hours(1));
        scheduler.cancel("j").await.unwrap();
        scheduler.cancel("missing").await.unwrap();
        assert_eq!(changes.load(Ordering::SeqCst), 4);
        assert_eq!(scheduler.generation(), 4);
        assert_eq!(scheduler.next_due(), None);
    }

    #[tokio::test]
    async fn a_down_scheduler_refuses_changes() {
        let scheduler = InMemoryScheduler::new();
        scheduler.set_available(false);
        let refused = scheduler.schedule(job("j", Utc::now())).await.unwrap_err();
        assert!(refused.is_transient());
        assert!(scheduler.jobs().is_empty());
        scheduler.set_available(true);
        scheduler.cancel("j").await.unwrap();
    }
}
