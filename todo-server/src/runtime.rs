//! Background work of a service: the outbox relay, the in-process reminder scheduler and the reminder
//! reconciler. Each loop honours the shutdown token and finishes its in-flight work first.

use std::sync::Arc;
use std::time::Duration;

use todo_core::memory::InMemoryScheduler;
use todo_core::ports::{Clock, OutboxStore};
use todo_core::usecases::{
    OutboxRelay, ReminderFiredHandler, ReminderOutcome, ReminderPayload, ReminderReconciler,
};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

/// Relays the outbox every `interval` until shutdown, then drains what is left.
pub async fn relay_outbox(
    relay: OutboxRelay,
    outbox: Arc<dyn OutboxStore>,
    clock: Arc<dyn Clock>,
    interval: Duration,
    shutdown: CancellationToken,
) {
    const BATCH: usize = 200;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
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
            handle_firing(&handler, &job.payload).await;
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

/// Handles one fired reminder job's payload, counting the outcome.
pub async fn handle_firing(handler: &ReminderFiredHandler, payload: &serde_json::Value) {
    let payload: ReminderPayload = match serde_json::from_value(payload.clone()) {
        Ok(p) => p,
        Err(error) => {
            warn!(%error, "undecodable reminder job payload dropped");
            metrics::counter!("todo_reminders_dropped_total", "reason" => "malformed").increment(1);
            return;
        }
    };
    match handler.handle(&payload).await {
        Ok(ReminderOutcome::Sent(_)) => {
            metrics::counter!("todo_reminders_fired_total").increment(1)
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
        }
        Err(error) => warn!(task_id = %payload.task_id, %error, "reminder firing failed"),
    }
}

/// Reconciles reminders at start and then every `interval`.
pub async fn reconcile_reminders(
    reconciler: ReminderReconciler,
    interval: Duration,
    shutdown: CancellationToken,
) {
    loop {
        match reconciler.reconcile().await {
            Ok(count) => {
                metrics::counter!("todo_reminders_scheduled_total").increment(count as u64);
                debug!(count, "reminders reconciled")
            }
            Err(error) => warn!(%error, "reminder reconciliation failed"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
    }
}
