//! The conformance suite of [`Scheduler`]: jobs fire once at their due time with their payload,
//! rescheduling moves them, cancelling removes them. Real time, seconds long, with room for jitter.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::ports::{Job, Scheduler};

/// A job the scheduler under test called back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FiredJob {
    /// The job's name.
    pub name: String,
    /// The payload it was scheduled with.
    pub payload: serde_json::Value,
}

/// What an adapter's test provides to [`SchedulerSuite`]: the scheduler and the jobs it fires.
#[async_trait]
pub trait SchedulerHarness: Send + Sync {
    /// The scheduler under test.
    fn scheduler(&self) -> Arc<dyn Scheduler>;

    /// Every job fired from now on, of any name (see [`FiredJobs`] for a ready fan-out).
    async fn fired(&self) -> mpsc::UnboundedReceiver<FiredJob>;

    /// How late a job may fire. Default 3 s.
    fn max_delay(&self) -> Duration {
        Duration::from_secs(3)
    }
}

/// Fans fired jobs out to every live [`SchedulerHarness::fired`] receiver: the harness's job callback
/// calls [`FiredJobs::fire`].
#[derive(Debug, Clone, Default)]
pub struct FiredJobs {
    receivers: Arc<Mutex<Vec<mpsc::UnboundedSender<FiredJob>>>>,
}

impl FiredJobs {
    /// A fan-out without receivers.
    pub fn new() -> Self {
        Self::default()
    }

    /// A receiver of every job fired from now on.
    pub fn subscribe(&self) -> mpsc::UnboundedReceiver<FiredJob> {
        let (sender, receiver) = mpsc::unbounded_channel();
        self.lock().push(sender);
        receiver
    }

    /// Hands `job` to every live receiver (and forgets dropped ones).
    pub fn fire(&self, job: FiredJob) {
        self.lock()
            .retain(|sender| sender.send(job.clone()).is_ok());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<mpsc::UnboundedSender<FiredJob>>> {
        self.receivers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// How much earlier than its due time a firing may be observed (clock granularity between processes).
const EARLY: chrono::Duration = chrono::Duration::milliseconds(500);

/// Checks a [`Scheduler`] adapter through its [`SchedulerHarness`]. Cases use their own job names and
/// may run concurrently; [`Self::run_all`] does so to keep the suite under ten seconds.
pub struct SchedulerSuite<H> {
    harness: H,
}

impl<H: SchedulerHarness> SchedulerSuite<H> {
    /// A suite over `harness`.
    pub fn new(harness: H) -> Self {
        Self { harness }
    }

    /// Runs every case, concurrently.
    pub async fn run_all(&self) {
        tokio::join!(
            self.a_job_fires_at_its_due_time_with_its_payload(),
            self.rescheduling_a_job_fires_it_once_at_the_new_time(),
            self.a_cancelled_job_never_fires(),
            self.cancelling_a_missing_job_succeeds(),
            self.a_job_due_in_the_past_fires_at_once(),
        );
    }

    async fn schedule(&self, job: Job) {
        if let Err(error) = self.harness.scheduler().schedule(job.clone()).await {
            panic!("scheduling job {} failed: {error}", job.name);
        }
    }

    /// Every firing of `name` observed until `until`, with the time each was observed.
    async fn firings(
        &self,
        receiver: &mut mpsc::UnboundedReceiver<FiredJob>,
        name: &str,
        until: DateTime<Utc>,
        stop_at_first: bool,
    ) -> Vec<(DateTime<Utc>, FiredJob)> {
        let mut firings = Vec::new();
        loop {
            let left = (until - Utc::now()).to_std().unwrap_or_default();
            match tokio::time::timeout(left, receiver.recv()).await {
                Ok(Some(job)) if job.name == name => {
                    firings.push((Utc::now(), job));
                    if stop_at_first {
                        return firings;
                    }
                }
                Ok(Some(_)) => {}
                Ok(None) => panic!("the harness stopped reporting fired jobs"),
                Err(_) => return firings,
            }
        }
    }

    fn max_delay(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.harness.max_delay()).expect("a max delay of sane size")
    }

    /// A job scheduled two seconds ahead fires then (not before, at most `max_delay` late) with its
    /// payload.
    pub async fn a_job_fires_at_its_due_time_with_its_payload(&self) {
        let mut receiver = self.harness.fired().await;
        let name = job_name("due");
        let due = whole_seconds_after(Utc::now(), 2);
        let payload =
            serde_json::json!({ "task_id": 42, "user_id": Uuid::new_v4(), "note": "remind me" });
        self.schedule(Job {
            name: name.clone(),
            due,
            payload: payload.clone(),
        })
        .await;
        let firings = self
            .firings(&mut receiver, &name, due + self.max_delay(), true)
            .await;
        let Some((at, fired)) = firings.first() else {
            panic!(
                "job {name} due at {due} did not fire within {:?}",
                self.harness.max_delay()
            );
        };
        assert!(
            *at >= due - EARLY,
            "job {name} due at {due} fired early, at {at}"
        );
        assert_eq!(
            fired.payload, payload,
            "a job must fire with the payload it was scheduled with"
        );
    }

    /// Scheduling a name again replaces the job: it fires at the new time with the new payload only.
    pub async fn rescheduling_a_job_fires_it_once_at_the_new_time(&self) {
        let mut receiver = self.harness.fired().await;
        let name = job_name("moved");
        let now = Utc::now();
        let first_due = whole_seconds_after(now, 2);
        let new_due = whole_seconds_after(now, 4);
        self.schedule(Job {
            name: name.clone(),
            due: first_due,
            payload: serde_json::json!({ "v": 1 }),
        })
        .await;
        self.schedule(Job {
            name: name.clone(),
            due: new_due,
            payload: serde_json::json!({ "v": 2 }),
        })
        .await;
        assert!(
            Utc::now() < first_due - EARLY,
            "scheduling took too long to test rescheduling (the first due time has passed)"
        );
        let firings = self
            .firings(&mut receiver, &name, new_due + self.max_delay(), false)
            .await;
        let Some((at, _)) = firings.first() else {
            panic!("rescheduled job {name} due at {new_due} did not fire");
        };
        assert!(
            *at >= new_due - EARLY,
            "rescheduled job {name} fired at {at}, before its new due time {new_due}"
        );
        assert!(
            firings
                .iter()
                .all(|(_, job)| job.payload == serde_json::json!({ "v": 2 })),
            "a rescheduled job must fire only with its new payload: {firings:?}"
        );
    }

    /// A cancelled job does not fire, watched until well past its due time.
    pub async fn a_cancelled_job_never_fires(&self) {
        let mut receiver = self.harness.fired().await;
        let name = job_name("cancelled");
        let due = whole_seconds_after(Utc::now(), 2);
        self.schedule(Job {
            name: name.clone(),
            due,
            payload: serde_json::json!({}),
        })
        .await;
        if let Err(error) = self.harness.scheduler().cancel(&name).await {
            panic!("cancelling job {name} failed: {error}");
        }
        let firings = self
            .firings(&mut receiver, &name, due + self.max_delay(), true)
            .await;
        assert!(
            firings.is_empty(),
            "cancelled job {name} fired: {firings:?}"
        );
    }

    /// Cancelling a job that was never scheduled succeeds.
    pub async fn cancelling_a_missing_job_succeeds(&self) {
        let name = job_name("missing");
        if let Err(error) = self.harness.scheduler().cancel(&name).await {
            panic!("cancelling a missing job must succeed, got {error:?}");
        }
    }

    /// A job due an hour ago fires at once.
    pub async fn a_job_due_in_the_past_fires_at_once(&self) {
        let mut receiver = self.harness.fired().await;
        let name = job_name("overdue");
        let scheduled_at = Utc::now();
        let due = scheduled_at.trunc_subsecs(0) - chrono::Duration::hours(1);
        self.schedule(Job {
            name: name.clone(),
            due,
            payload: serde_json::json!({ "late": true }),
        })
        .await;
        let firings = self
            .firings(&mut receiver, &name, Utc::now() + self.max_delay(), true)
            .await;
        let Some((_, fired)) = firings.first() else {
            panic!(
                "job {name} due in the past did not fire within {:?}",
                self.harness.max_delay()
            );
        };
        assert_eq!(fired.payload, serde_json::json!({ "late": true }));
    }
}

fn job_name(case: &str) -> String {
    format!("conformance-{case}-{}", Uuid::new_v4().simple())
}

/// The first whole second more than `seconds` after `now` (schedulers may keep only whole seconds).
fn whole_seconds_after(now: DateTime<Utc>, seconds: i64) -> DateTime<Utc> {
    now.trunc_subsecs(0) + chrono::Duration::seconds(seconds + 1)
}
