//! Background work of a service: the outbox relay, the in-process reminder scheduler and the reminder
//! reconciler. Each loop honours the shutdown token and finishes its in-flight work first.

pub mod near_term;
pub mod outbox_signal;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use todo_core::error::TaskError;
use todo_core::memory::InMemoryScheduler;
use todo_core::ports::{Clock, HandleError, OutboxStore};
use todo_core::usecases::{
    OutboxRelay, ReminderFiredHandler, ReminderOutcome, ReminderPayload, ReminderReconciler,
};
use todo_dapr::{job_fn, JobHandler};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

/// Relays the outbox as soon as `wake` is signalled (a commit with events in this process) and at
/// least every `interval` (rows of other writers, retries that fell due) until shutdown, then drains
/// what is left.
pub async fn relay_outbox(
    relay: OutboxRelay,
    outbox: Arc<dyn OutboxStore>,
    clock: Arc<dyn Clock>,
    interval: Duration,
    wake: Arc<Notify>,
    shutdown: CancellationToken,
) {
    const BATCH: usize = 200;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = wake.notified() => {}
            () = tokio::time::sleep(interval) => {}
        }
        loop {
            match relay.relay_once(BATCH).await {
                Ok(report) if report.sent == BATCH => continue,
                Ok(_) => break,
                Err(error) => {
                    warn!(%error, "outbox relay pass failed");
                    break;
                }
            }
        }
        if let Ok((backlog, oldest)) = outbox.backlog().await {
            metrics::gauge!("todo_outbox_backlog").set(backlog as f64);
            let age = oldest.map_or(0.0, |t| {
                (clock.now() - t).num_milliseconds().max(0) as f64 / 1000.0
            });
            metrics::gauge!("todo_outbox_oldest_age_seconds").set(age);
        }
    }
    match relay.drain(BATCH, 50).await {
        Ok(report) => info!(
            sent = report.sent,
            failed = report.failed,
            "outbox drained on shutdown"
        ),
        Err(error) => {
            warn!(%error, "outbox not drained on shutdown; it will be relayed on next start")
        }
    }
}

/// Fires the in-process scheduler's jobs on time (the embedded mode's stand-in for the Dapr scheduler).
pub async fn fire_reminders(
    scheduler: Arc<InMemoryScheduler>,
    handler: ReminderFiredHandler,
    clock: Arc<dyn Clock>,
    shutdown: CancellationToken,
) {
    let changed = Arc::new(Notify::new());
    let waker = Arc::clone(&changed);
    scheduler.on_change(move || waker.notify_one());
    loop {
        let now = clock.now();
        for job in scheduler.take_due(now) {
            let delay = (now - job.due).num_milliseconds().max(0) as f64 / 1000.0;
            metrics::histogram!("todo_reminder_firing_delay_seconds").record(delay);
            // A failed firing was logged; the periodic reconciliation schedules it again.
            let _ = handle_firing(&handler, &job.payload).await;
        }
        let wait = scheduler
            .next_due()
            .map(|due| (due - clock.now()).to_std().unwrap_or_default())
            .unwrap_or(Duration::from_secs(60))
            .min(Duration::from_secs(60));
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = changed.notified() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// Handles one fired reminder job's payload, counting the outcome and the firing delay. An undecodable
/// payload is dropped (`Ok`); a port error is returned so that the caller can retry the firing.
pub async fn handle_firing(
    handler: &ReminderFiredHandler,
    payload: &serde_json::Value,
) -> Result<(), TaskError> {
    let payload: ReminderPayload = match serde_json::from_value(payload.clone()) {
        Ok(p) => p,
        Err(error) => {
            warn!(%error, "undecodable reminder job payload dropped");
            metrics::counter!("todo_reminders_dropped_total", "reason" => "malformed").increment(1);
            return Ok(());
        }
    };
    match handler.handle(&payload).await {
        Ok(ReminderOutcome::Sent(_)) => {
            metrics::counter!("todo_reminders_fired_total").increment(1);
            Ok(())
        }
        Ok(outcome) => {
            debug!(task_id = %payload.task_id, ?outcome, "reminder firing dropped");
            let reason = match outcome {
                ReminderOutcome::Duplicate => "duplicate",
                ReminderOutcome::DroppedMissing => "missing",
                ReminderOutcome::DroppedCompleted => "completed",
                ReminderOutcome::DroppedRescheduled => "rescheduled",
                _ => "due_passed",
            };
            metrics::counter!("todo_reminders_dropped_total", "reason" => reason).increment(1);
            Ok(())
        }
        Err(error) => {
            warn!(task_id = %payload.task_id, %error, "reminder firing failed");
            Err(error)
        }
    }
}

/// The Dapr scheduler's reminder callbacks: [`handle_firing`], recording how late each firing came
/// (against its `remind_at`, or the moment it was scheduled for when that was already past). A port
/// error asks the scheduler to call again.
pub fn reminder_jobs(handler: ReminderFiredHandler, clock: Arc<dyn Clock>) -> Arc<dyn JobHandler> {
    let handler = Arc::new(handler);
    job_fn(move |name, data| {
        let handler = handler.clone();
        let clock = clock.clone();
        async move {
            if let Some(remind_at) = data
                .get("remind_at")
                .and_then(|v| serde_json::from_value::<DateTime<Utc>>(v.clone()).ok())
            {
                let late = (clock.now() - remind_at).num_milliseconds();
                if late >= 0 {
                    metrics::histogram!("todo_reminder_firing_delay_seconds")
                        .record(late as f64 / 1000.0);
                }
            }
            handle_firing(&handler, &data)
                .await
                .map_err(|error| match error {
                    TaskError::Invalid(e) => HandleError::Drop(format!("job {name}: {e}")),
                    other => HandleError::Retry(format!("job {name}: {other}")),
                })
        }
    })
}

/// Reconciles reminders at start and then every `interval`. A failed pass (the database or the
/// sidecar not reachable yet, as when a service starts before its sidecar) is tried again within
/// seconds rather than after a whole interval.
pub async fn reconcile_reminders(
    reconciler: ReminderReconciler,
    interval: Duration,
    shutdown: CancellationToken,
) {
    const RETRY: Duration = Duration::from_secs(3);
    loop {
        let wait = match reconciler.reconcile().await {
            Ok(count) => {
                metrics::counter!("todo_reminders_scheduled_total").increment(count as u64);
                debug!(count, "reminders reconciled");
                interval
            }
            Err(error) => {
                warn!(%error, "reminder reconciliation failed; trying again shortly");
                interval.min(RETRY)
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
    }
}
