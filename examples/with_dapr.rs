//! Embeds `todo-core` with Dapr building blocks, through a `daprd` sidecar's HTTP API (`todo-dapr`):
//!
//! - **Pub/sub**: the outbox relay publishes task events to `kafka-pubsub` ([`DaprEventBus`]); this
//!   program also subscribes to `task-events` (the routes of [`DaprApp`]), so daprd delivers each event
//!   back to the recurring-task handler, which creates the next occurrence of a completed task;
//! - **Jobs API**: reminders are Dapr jobs `reminder-task-{id}` ([`DaprScheduler`]); when one is due the
//!   Dapr scheduler calls `POST /job/reminder-task-{id}` here, and the reminder goes out on `reminders`;
//! - **State**: the recurring handler remembers an ended series in the `statestore` ([`DaprStateStore`]).
//!
//! Tasks are stored in PostgreSQL or in memory (`DATABASE_URL`). It is the distributed deployment in
//! one process: the `api` and `recurring` services share this program and its sidecar.
//!
//! Run it with the local stack. daprd only reports healthy once the app it serves listens, so start the
//! sidecar in the background and then the program (it waits for the sidecar):
//!
//! ```sh
//! infra/todo-infra up                  # PostgreSQL, Kafka, the Dapr scheduler, Redis on loopback
//! eval "$(infra/todo-infra env)"       # TODO_PG_URL, ...
//! cargo build --example with_dapr
//! # daprd with deploy/dapr/local (kafka-pubsub, statestore, secretstore), calling this app on :3001
//! infra/todo-infra sidecar --app-id todo-example --app-port 3001 --dapr-http-port 3500 &
//! DAPR_HTTP_PORT=3500 DATABASE_URL="$TODO_PG_URL" cargo run --example with_dapr   # or DATABASE_URL=memory:
//! infra/todo-infra sidecar-stop todo-example
//! ```
//!
//! `DAPR_HTTP_ENDPOINT` (`http://host:port`) may replace `DAPR_HTTP_PORT`, and `DAPR_API_TOKEN` /
//! `APP_API_TOKEN` are honoured as daprd sets them. `TODO_ADDR` (default `127.0.0.1:3001`) is where
//! this program listens for daprd. It takes a few seconds: the reminder is due three seconds after it
//! is set, and a new Kafka consumer group takes a moment to join.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use chrono::{Days, TimeZone as _, Utc};
use subscriber::DeliveredTaskEvents;
use todo_core::events::{consumers, topics};
use todo_core::memory::InMemoryTaskRepository;
use todo_core::model::{NewTask, Task, TaskInput, TimeZone, UserId};
use todo_core::ports::{
    Clock, HandleError, IdGenerator, OutboxStore, StateStore, SystemClock, TaskRepository,
    UuidV7Generator,
};
use todo_core::usecases::{
    reminder_job_name, OccurrenceReminders, OutboxRelay, RecurringOutcome, RecurringTaskHandler,
    ReminderFiredHandler, ReminderOutcome, ReminderPayload, TaskService,
};
use todo_dapr::{
    job_fn, DaprApp, DaprClient, DaprConfig, DaprEventBus, DaprScheduler, DaprStateStore,
    SidecarHealth, Subscription, DEFAULT_PUBSUB, DEFAULT_STATE_STORE,
};
use todo_examples::{describe, local_time, required_var};
use tokio::sync::mpsc;

/// How long to wait for daprd, for a delivery, or for a job to call back.
const PATIENCE: Duration = Duration::from_secs(60);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Configuration: where the sidecar is, where the tasks live, where daprd calls this app.
    if std::env::var_os("DAPR_HTTP_PORT").is_none()
        && std::env::var_os("DAPR_HTTP_ENDPOINT").is_none()
    {
        eprintln!(
            "error: DAPR_HTTP_PORT (or DAPR_HTTP_ENDPOINT) is not set: start a sidecar with \
             `infra/todo-infra sidecar --app-id todo-example --app-port 3001 --dapr-http-port 3500 &` \
             and set DAPR_HTTP_PORT=3500"
        );
        std::process::exit(2);
    }
    let dapr = DaprClient::new(DaprConfig::from_env()?)?;
    let database_url = required_var(
        "DATABASE_URL",
        "give it a PostgreSQL URL (`DATABASE_URL=\"$TODO_PG_URL\"` after \
         `eval \"$(infra/todo-infra env)\"`) or `memory:` to keep the tasks in memory",
    );
    let addr = std::env::var("TODO_ADDR").unwrap_or_else(|_| "127.0.0.1:3001".to_owned());

    // Storage: the task repository and its outbox, in PostgreSQL or in memory.
    let (repo, outbox) = storage(&database_url).await?;

    // The Dapr adapters of the ports.
    let bus = Arc::new(DaprEventBus::new(dapr.clone(), DEFAULT_PUBSUB).with_source("todo-example"));
    let scheduler = Arc::new(DaprScheduler::new(dapr.clone()));
    let state = Arc::new(DaprStateStore::new(dapr.clone(), DEFAULT_STATE_STORE));

    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let ids: Arc<dyn IdGenerator> = Arc::new(UuidV7Generator);
    let tasks = TaskService::new(repo.clone(), scheduler.clone(), clock.clone(), ids.clone());
    let relay = OutboxRelay::new(outbox, bus, clock.clone());
    let me = UserId(ids.new_uuid());

    // The routes daprd calls: deliveries of `task-events` to the recurring handler, and reminder jobs
    // to the reminder handler. Each reports what it did on a channel, so `main` can print it.
    let recurring = RecurringTaskHandler::new(repo.clone(), state.clone(), clock.clone(), ids);
    let (occurrences, mut recurring_outcomes) = mpsc::unbounded_channel();
    let (fired, mut reminder_outcomes) = mpsc::unbounded_channel();
    let reminders = ReminderFiredHandler::new(repo.clone(), clock.clone());
    let routes = DaprApp::from_env()
        .subscribe(Subscription::new(
            DEFAULT_PUBSUB,
            topics::TASK_EVENTS,
            consumers::RECURRING,
            Arc::new(DeliveredTaskEvents {
                user: me,
                handler: recurring,
                reminders: OccurrenceReminders::new(scheduler.clone(), clock.clone()),
                outcomes: occurrences,
            }),
        ))
        .on_jobs(
            todo_core::events::jobs::REMINDER_PREFIX,
            // The server registers `todo_dapr::ReminderJobHandler` here; this closure does the same
            // (decode the payload, run the use case) and also reports the outcome.
            job_fn(move |name, data| {
                let reminders = reminders.clone();
                let fired = fired.clone();
                async move {
                    let payload: ReminderPayload = serde_json::from_value(data)
                        .map_err(|e| HandleError::dropped(format!("job {name}"), e))?;
                    let outcome = reminders
                        .handle(&payload)
                        .await
                        .map_err(|e| HandleError::from_task_error(format!("job {name}"), e))?;
                    let _ = fired.send((name, outcome));
                    Ok(())
                }
            }),
        )
        .router();
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("listening on TODO_ADDR ({addr}) for daprd"))?;
    tokio::spawn(async move { axum::serve(listener, routes).await });
    println!("listening for daprd on {addr}");

    // daprd is healthy once its components are loaded and it has read our subscriptions.
    let health = SidecarHealth::new(dapr.clone());
    let waited = tokio::time::Instant::now();
    while let Err(why) = health.check().await {
        if waited.elapsed() > PATIENCE {
            bail!("the sidecar at DAPR_HTTP_PORT/DAPR_HTTP_ENDPOINT is not healthy: {why}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!("daprd is healthy");

    println!("\n== Create: reminders become Dapr jobs");
    let berlin = TimeZone::parse("Europe/Berlin")?;
    let tomorrow = clock.now().with_timezone(&berlin.tz()).date_naive() + Days::new(1);
    let nine = berlin
        .tz()
        .from_local_datetime(&tomorrow.and_hms_opt(9, 0, 0).context("09:00 is a time")?)
        .earliest()
        .context("09:00 exists in Berlin")?
        .with_timezone(&Utc);
    let plants = tasks
        .create_task(
            me,
            NewTask::parse(TaskInput {
                title: "Water the plants".into(),
                tags: Some(vec!["home".into()]),
                due_date: Some(nine.to_rfc3339()),
                timezone: Some(berlin.name().into()),
                recurrence: Some(serde_json::json!("weekly")),
                ..TaskInput::default()
            })?,
        )
        .await?;
    println!("created {}", describe(&plants));
    print_job(&scheduler, &plants).await?;
    // Due in 63 seconds, reminded one minute before: the job fires in about three seconds.
    let plumber = tasks
        .create_task(
            me,
            NewTask::parse(TaskInput {
                title: "Call the plumber".into(),
                priority: Some("high".into()),
                due_date: Some((clock.now() + chrono::Duration::seconds(63)).to_rfc3339()),
                timezone: Some(berlin.name().into()),
                remind_before: Some(1),
                ..TaskInput::default()
            })?,
        )
        .await?;
    println!("created {}", describe(&plumber));
    print_job(&scheduler, &plumber).await?;

    println!("\n== Complete: the event goes out through the outbox and Dapr pub/sub");
    let completion = tasks.complete_task(me, plants.id).await?;
    println!("completed {}", describe(&completion.task));
    print_job(&scheduler, &completion.task).await?; // cancelled with the completion
    let report = relay.drain(100, 10).await?;
    println!(
        "outbox relay -> {DEFAULT_PUBSUB}: {} published, {} failed",
        report.sent, report.failed
    );
    let next = loop {
        match next_within(&mut recurring_outcomes, "the `completed` event").await? {
            RecurringOutcome::Created(next) => break next,
            other => println!("recurring handler: {other:?}"),
        }
    };
    println!("recurring handler (via daprd): created {}", describe(&next));
    print_job(&scheduler, &next).await?;

    println!("\n== Remind: the Dapr scheduler calls the job back");
    let (job, outcome) = next_within(&mut reminder_outcomes, "the reminder job").await?;
    match outcome {
        ReminderOutcome::Sent(event) => println!(
            "job {job} fired: remind \"{}\", due {}",
            event.title,
            local_time(&plumber, event.due_at)
        ),
        other => bail!("job {job} fired but the reminder was not sent: {other:?}"),
    }
    let report = relay.drain(100, 10).await?;
    println!(
        "outbox relay -> {DEFAULT_PUBSUB}: {} published, the reminder on `{}` among them",
        report.sent,
        topics::REMINDERS
    );

    println!("\n== Delete the next occurrence: the series ends, remembered in Dapr state");
    tasks.delete_task(me, next.id).await?;
    relay.drain(100, 10).await?;
    loop {
        match next_within(&mut recurring_outcomes, "the `deleted` event").await? {
            RecurringOutcome::SeriesEnded => break,
            other => println!("recurring handler: {other:?}"),
        }
    }
    // The key the recurring handler writes (todo-core's `recurring-series-ended-{series}`).
    let series = next.series.context("an occurrence belongs to a series")?;
    let key = format!("recurring-series-ended-{}", series.id);
    match state.get(&key).await? {
        Some(item) => println!(
            "recurring handler (via daprd): series ended; {DEFAULT_STATE_STORE} holds {key} = {}",
            item.value
        ),
        None => bail!("the state store has no {key}"),
    }
    Ok(())
}

/// The repository and outbox for `DATABASE_URL`: `memory:` or a PostgreSQL URL (migrated).
async fn storage(url: &str) -> anyhow::Result<(Arc<dyn TaskRepository>, Arc<dyn OutboxStore>)> {
    if url == "memory:" {
        println!("tasks are kept in memory");
        let store = Arc::new(InMemoryTaskRepository::new());
        return Ok((store.clone(), store));
    }
    let pool = todo_postgres::connect(url, &todo_postgres::PoolSettings::default())
        .await
        .context("connecting to DATABASE_URL")?;
    todo_postgres::migrate(&pool)
        .await
        .context("applying the migrations")?;
    println!("tasks are stored in PostgreSQL (migrations applied)");
    let store = Arc::new(todo_postgres::PostgresTaskRepository::new(pool));
    Ok((store.clone(), store))
}

/// Prints the reminder job of `task` as the Dapr scheduler holds it (`GET /v1.0/jobs/{name}`).
async fn print_job(scheduler: &DaprScheduler, task: &Task) -> anyhow::Result<()> {
    let name = reminder_job_name(task.id);
    match scheduler.get(&name).await? {
        Some(job) => println!("  Dapr job {name}: dueTime {}", job["dueTime"]),
        None => println!("  Dapr job {name}: none"),
    }
    Ok(())
}

/// The next value from `outcomes`, or an error naming `what` after [`PATIENCE`].
async fn next_within<T>(
    outcomes: &mut mpsc::UnboundedReceiver<T>,
    what: &str,
) -> anyhow::Result<T> {
    match tokio::time::timeout(PATIENCE, outcomes.recv()).await {
        Ok(Some(value)) => Ok(value),
        Ok(None) => bail!("the handler of {what} went away"),
        Err(_) => bail!("daprd did not deliver {what} within {PATIENCE:?}"),
    }
}

mod subscriber {
    //! The subscriber of `task-events`.

    use async_trait::async_trait;
    use todo_core::events::Message;
    use todo_core::model::UserId;
    use todo_core::ports::{HandleError, MessageHandler};
    use todo_core::usecases::{
        decode_task_event, OccurrenceReminders, RecurringOutcome, RecurringTaskHandler,
    };
    use tokio::sync::mpsc;

    /// Hands `task-events` deliveries of this run's user to the recurring handler and reports what it
    /// did. The consumer group starts at the topic's oldest offset, and the topic is shared with
    /// everything else on the stack (earlier runs, the local deployment), so other users' events are
    /// acknowledged and skipped: in the `recurring` service, which owns the database, there is no filter.
    pub struct DeliveredTaskEvents {
        pub user: UserId,
        pub handler: RecurringTaskHandler,
        /// Schedules the reminder of each occurrence the handler creates (from its `created` event).
        pub reminders: OccurrenceReminders,
        pub outcomes: mpsc::UnboundedSender<RecurringOutcome>,
    }

    #[async_trait]
    impl MessageHandler for DeliveredTaskEvents {
        async fn handle(&self, message: &Message) -> Result<(), HandleError> {
            let event = decode_task_event(message)?;
            if event.user_id != self.user {
                return Ok(());
            }
            self.reminders.handle(message).await?;
            match self.handler.handle(&event).await {
                Ok(RecurringOutcome::Ignored) => Ok(()),
                Ok(outcome) => {
                    let _ = self.outcomes.send(outcome);
                    Ok(())
                }
                Err(e) => Err(HandleError::from_task_error("task-events delivery", e)),
            }
        }
    }
}
