//! The reminder horizon: the scheduler holds only the reminder jobs due soon, so that what it holds
//! (and what each reconciliation pass sends it) follows the next few minutes' reminders rather than
//! every pending reminder in the database.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::ports::{Clock, Job, PortResult, Scheduler};

/// How far ahead of now the scheduler holds jobs. It must exceed the reconciliation interval, so that
/// each reminder is brought in by a pass before it is due: [`Horizon::for_interval`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Horizon(chrono::Duration);

impl Horizon {
    /// A horizon of `ahead` (saturating at the largest duration chrono holds).
    pub fn new(ahead: std::time::Duration) -> Self {
        Self(chrono::Duration::from_std(ahead).unwrap_or(chrono::Duration::MAX))
    }

    /// A horizon safe for reconciliation every `interval`: twice the interval plus a minute, so a
    /// reminder is in the window of at least one pass that starts before it is due, even when a pass
    /// runs late.
    pub fn for_interval(interval: std::time::Duration) -> Self {
        Self::new(
            interval
                .saturating_mul(2)
                .saturating_add(std::time::Duration::from_secs(60)),
        )
    }

    /// How far ahead it reaches.
    pub fn ahead(self) -> chrono::Duration {
        self.0
    }

    /// The last instant within the horizon at `now`.
    pub fn end(self, now: DateTime<Utc>) -> DateTime<Utc> {
        now.checked_add_signed(self.0)
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }
}

/// A [`Scheduler`] that passes on only the jobs due within its [`Horizon`] of `clock`'s now. A later
/// job is not scheduled, and any earlier version of it is cancelled (a reminder moved out of the
/// window); the periodic reconciliation schedules it once it comes within the horizon.
pub struct HorizonScheduler {
    inner: Arc<dyn Scheduler>,
    clock: Arc<dyn Clock>,
    horizon: Horizon,
}

impl HorizonScheduler {
    /// Wraps `inner`, holding jobs due within `horizon`.
    pub fn new(inner: Arc<dyn Scheduler>, clock: Arc<dyn Clock>, horizon: Horizon) -> Self {
        Self {
            inner,
            clock,
            horizon,
        }
    }

    /// Its horizon.
    pub fn horizon(&self) -> Horizon {
        self.horizon
    }
}

#[async_trait]
impl Scheduler for HorizonScheduler {
    async fn schedule(&self, job: Job) -> PortResult<()> {
        if job.due <= self.horizon.end(self.clock.now()) {
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
    use std::time::Duration;

    use chrono::TimeZone;
    use serde_json::json;

    use super::*;
    use crate::memory::{InMemoryScheduler, ManualClock};

    #[tokio::test]
    async fn only_jobs_due_within_the_horizon_are_held() {
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        let clock = Arc::new(ManualClock::new(now));
        let inner = Arc::new(InMemoryScheduler::new());
        let scheduler = HorizonScheduler::new(
            inner.clone(),
            clock.clone(),
            Horizon::new(Duration::from_secs(600)),
        );
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

    #[test]
    fn the_horizon_for_an_interval_outlasts_two_intervals() {
        let horizon = Horizon::for_interval(Duration::from_secs(300));
        assert_eq!(horizon.ahead(), chrono::Duration::minutes(11));
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        assert_eq!(horizon.end(now), now + chrono::Duration::minutes(11));
        assert_eq!(
            Horizon::new(Duration::MAX).end(now),
            DateTime::<Utc>::MAX_UTC
        );
    }
}
