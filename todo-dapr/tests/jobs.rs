//! The Jobs API end to end: a reminder scheduled by the task use case fires at the app's job route and
//! becomes a `reminders` event; rescheduling, cancelling and overdue jobs, watched for every firing.

mod support;

use std::sync::Arc;

use chrono::{DateTime, SubsecRound, Utc};
use serde_json::{json, Value};
use todo_core::events::topics;
use todo_core::memory::InMemoryTaskRepository;
use todo_core::model::{NewTask, TaskInput, UserId};
use todo_core::ports::{Job, Scheduler, SystemClock, UuidV7Generator};
use todo_core::usecases::{reminder_job_name, ReminderFiredHandler, TaskService};
use todo_dapr::{job_fn, DaprApp, DaprScheduler, JobHandler, ReminderJobHandler};
use todo_testkit::{PubSubBroker, Sidecar};
use tokio::sync::mpsc;
use uuid::Uuid;

use support::{client, sidecar_for, Served};

/// A job callback as the app saw it.
#[derive(Debug)]
struct Fired {
    name: String,
    data: Value,
    at: DateTime<Utc>,
}

/// An app whose job route reports every callback (after `inner`, if any, handled it), and its sidecar.
struct JobsApp {
    fired: mpsc::UnboundedReceiver<Fired>,
    scheduler: DaprScheduler,
    sidecar: Sidecar,
    _app: Served,
}

impl JobsApp {
    async fn start(inner: Option<Arc<dyn JobHandler>>) -> Self {
        let (sender, fired) = mpsc::unbounded_channel();
        let router = DaprApp::new()
            .on_jobs(
                "",
                job_fn(move |name, data| {
                    let (sender, inner) = (sender.clone(), inner.clone());
                    async move {
                        let at = Utc::now();
                        let outcome = match inner {
                            Some(inner) => inner.handle(&name, data.clone()).await,
                            None => Ok(()),
                        };
                        let _ = sender.send(Fired { name, data, at });
                        outcome
                    }
                }),
            )
            .router();
        let app = Served::start(router).await;
        let sidecar = sidecar_for("jobs", app.port, PubSubBroker::Kafka).await;
        Self {
            fired,
            scheduler: DaprScheduler::new(client(&sidecar)),
            sidecar,
            _app: app,
        }
    }

    /// Every callback for `name` until `until`.
    async fn firings(&mut self, name: &str, until: DateTime<Utc>) -> Vec<Fired> {
        let mut firings = Vec::new();
        loop {
            let left = (until - Utc::now()).to_std().unwrap_or_default();
            match tokio::time::timeout(left, self.fired.recv()).await {
                Ok(Some(fired)) if fired.name == name => firings.push(fired),
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => return firings,
            }
        }
    }
}

fn seconds_from_now(seconds: i64) -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0) + chrono::Duration::seconds(seconds + 1)
}

fn job_name(case: &str) -> String {
    format!("dapr-test-{case}-{}", Uuid::new_v4().simple())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reminder_due_in_two_seconds_reaches_the_job_route_and_becomes_a_reminders_event() {
    let repo = Arc::new(InMemoryTaskRepository::new());
    let reminders = ReminderJobHandler::new(ReminderFiredHandler::new(
        repo.clone(),
        Arc::new(SystemClock),
    ));
    let mut app = JobsApp::start(Some(Arc::new(reminders))).await;
    let service = TaskService::new(
        repo.clone(),
        Arc::new(app.scheduler.clone()),
        Arc::new(SystemClock),
        Arc::new(UuidV7Generator),
    );
    // Due in a minute and two seconds, reminded a minute before: the job is due in two seconds.
    let due = seconds_from_now(61);
    let user = UserId(Uuid::new_v4());
    let task = service
        .create_task(
            user,
            NewTask::parse(TaskInput {
                title: "Call the plumber".into(),
                due_date: Some(due.to_rfc3339()),
                remind_before: Some(1),
                ..TaskInput::default()
            })
            .expect("valid input"),
        )
        .await
        .expect("created (and its reminder job scheduled through daprd)");
    let remind_at = task.remind_at().expect("a reminder");
    let name = reminder_job_name(task.id);
    let scheduled = app
        .scheduler
        .get(&name)
        .await
        .expect("reading the job back")
        .expect("the job exists in the scheduler");
    assert!(scheduled.get("dueTime").is_some(), "{scheduled}");

    let firings = app
        .firings(&name, remind_at + chrono::Duration::seconds(5))
        .await;
    let [fired] = firings.as_slice() else {
        panic!(
            "expected one firing of {name} due at {remind_at}, got {firings:?}\n{}",
            app.sidecar.log_tail(20)
        );
    };
    let late = fired.at - remind_at;
    eprintln!(
        "reminder job fired {} ms after its due time",
        late.num_milliseconds()
    );
    assert!(
        late > -chrono::Duration::milliseconds(500),
        "fired early: {late}"
    );
    assert!(late < chrono::Duration::seconds(3), "fired late: {late}");
    assert_eq!(fired.data["task_id"], json!(task.id.0));

    let reminder_events: Vec<_> = repo
        .outbox()
        .into_iter()
        .filter(|entry| entry.message.topic == topics::REMINDERS)
        .collect();
    assert_eq!(
        reminder_events.len(),
        1,
        "one reminders event for the firing"
    );
    assert_eq!(reminder_events[0].message.key, task.id.to_string());
    assert_eq!(
        app.scheduler.get(&name).await.expect("read"),
        None,
        "a one-shot job is gone once fired"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rescheduled_job_fires_once_at_the_new_time() {
    let mut app = JobsApp::start(None).await;
    let name = job_name("moved");
    let (first, moved) = (seconds_from_now(2), seconds_from_now(4));
    for (due, v) in [(first, 1), (moved, 2)] {
        app.scheduler
            .schedule(Job {
                name: name.clone(),
                due,
                payload: json!({ "v": v }),
            })
            .await
            .expect("schedule");
    }
    let firings = app
        .firings(&name, moved + chrono::Duration::seconds(4))
        .await;
    let [fired] = firings.as_slice() else {
        panic!("expected exactly one firing, got {firings:?}");
    };
    assert_eq!(fired.data, json!({ "v": 2 }));
    assert!(
        fired.at >= moved - chrono::Duration::milliseconds(500),
        "{fired:?} before {moved}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_job_never_fires_and_cancelling_twice_is_fine() {
    let mut app = JobsApp::start(None).await;
    let name = job_name("cancelled");
    let due = seconds_from_now(2);
    app.scheduler
        .schedule(Job {
            name: name.clone(),
            due,
            payload: json!({}),
        })
        .await
        .expect("schedule");
    app.scheduler.cancel(&name).await.expect("cancel");
    app.scheduler
        .cancel(&name)
        .await
        .expect("cancel a job that is gone");
    let firings = app.firings(&name, due + chrono::Duration::seconds(3)).await;
    assert!(firings.is_empty(), "a cancelled job fired: {firings:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_due_in_the_past_fires_at_once() {
    let mut app = JobsApp::start(None).await;
    let name = job_name("overdue");
    let scheduled_at = Utc::now();
    app.scheduler
        .schedule(Job {
            name: name.clone(),
            due: scheduled_at - chrono::Duration::hours(1),
            payload: json!({ "late": true }),
        })
        .await
        .expect("schedule");
    let firings = app
        .firings(&name, scheduled_at + chrono::Duration::seconds(3))
        .await;
    let [fired] = firings.as_slice() else {
        panic!("expected one firing, got {firings:?}");
    };
    let delay = fired.at - scheduled_at;
    eprintln!(
        "overdue job fired {} ms after it was scheduled",
        delay.num_milliseconds()
    );
    assert!(delay < chrono::Duration::seconds(1), "{delay}");
    assert_eq!(fired.data, json!({ "late": true }));
}
