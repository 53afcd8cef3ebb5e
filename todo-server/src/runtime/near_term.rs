//! Keeps only the reminder jobs due soon in the in-process scheduler, so that its memory follows
//! the next few minutes' reminders rather than every pending reminder in the database.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use todo_core::memory::InMemoryScheduler;
use todo_core::ports::{Clock, Job, PortResult, Scheduler};

/// A [`Scheduler`] over the in-process one that holds a job only when it is due within `horizon`.
/// A later job is left out (and any earlier version of it cancelled); the periodic reconciliation
/// schedules it once it comes within the horizon. So the horizon must exceed the reconciliation
/// interval: [`NearTermScheduler::horizon_for`] gives twice the interval plus a minute.
pub struct NearTermScheduler {
    inner: Arc<InMemoryScheduler>,
    clock: Arc<dyn Clock>,
    horizon: chrono::Duration,
}

impl NearTermScheduler {
    /// Wraps `inner`, holding jobs due within `horizon` of `clock`'s now.
    pub fn new(inner: Arc<InMemoryScheduler>, clock: Arc<dyn Clock>, horizon: Duration) -> Self {
        Self {
            inner,
            clock,
            horizon: chrono::Duration::from_std(horizon).unwrap_or(chrono::Duration::MAX),
        }
    }

    /// A horizon safe for reconciliation every `interval`.
    pub fn horizon_for(interval: Duration) -> Duration {
        interval * 2 + Duration::from_secs(60)
    }
}

#[async_trait]
impl Scheduler for NearTermScheduler {
    async fn schedule(&self, job: Job) -> PortResult<()> {
        if job.due <= self.clock.now() + self.horizon {
            self.inner.schedule(job).await
        } else {
            self.inner.cancel(&job.name).await
        }
    }

    async fn cancel(&self, name: &str) -> PortResult<()> {
        self.inner.cancel(name).await
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use serde_json::json;
    use todo_core::memory::ManualClock;

    use super::*;

    #[tokio::test]
    async fn only_jobs_due_within_the_horizon_are_held() {
        let now = Utc::now();
        let clock = Arc::new(ManualClock::new(now));
        let inner = Arc::new(InMemoryScheduler::new());
        let scheduler =
            NearTermScheduler::new(inner.clone(), clock.clone(), Duration::from_secs(600));
        let job = |minutes| Job {
            name: "reminder-task-1".into(),
            due: now + chrono::Duration::minutes(minutes),
            payload: json!({}),
        };
        scheduler.schedule(job(5)).await.unwrap();
        assert_eq!(inner.next_due(), Some(job(5).due));
        // Moved beyond the horizon: the held version goes.
        scheduler.schedule(job(60)).await.unwrap();
        assert_eq!(inner.next_due(), None);
        // Once within the horizon (as the reconciler finds it), it is held.
        clock.advance(chrono::Duration::minutes(55));
        scheduler.schedule(job(60)).await.unwrap();
        assert_eq!(inner.next_due(), Some(job(60).due));
        scheduler.cancel("reminder-task-1").await.unwrap();
        assert_eq!(inner.next_due(), None);
    }
}
