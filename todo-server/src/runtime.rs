//! Background work of a service: the outbox relay, the in-process reminder scheduler and the reminder
//! reconciler. Each loop honours the shutdown token and finishes its in-flight work first.

pub mod in_process;
pub mod outbox_signal;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use todo_core::error::chain;
use todo_core::memory::InMemoryScheduler;
use todo_core::ports::{ChannelKind, Clock, DeliveryOutcome, OutboxStore};
use todo_core::usecases::{
    Attempt, OutboxRelay, Reconciliation, ReminderDeliveries, ReminderFiredHandler,
    ReminderOutcome, ReminderReconciler,
};
use todo_dapr::{JobHandler, ReminderFiring, ReminderJobHandler};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

/// How often, at most, the outbox gauges are refreshed while the relay has work; once a pass finds
/// nothing to send they are refreshed at once. Counting the unsent rows reads every entry of the
/// outbox's unsent index, dead ones included: under a stream of creates, with a pass after every
/// commit, a refresh after each pass cost PostgreSQL 5–10 ms dozens of times a second.
const BACKLOG_GAUGES_EVERY: Duration = Duration::from_secs(1);

/// Sets `todo_outbox_backlog` (unsent events) and `todo_outbox_oldest_age_seconds`.
async fn record_backlog(outbox: &dyn OutboxStore, clock: &dyn Clock) {
    if let Ok((backlog, oldest)) = outbox.backlog().await {
        metrics::gauge!("todo_outbox_backlog").set(backlog as f64);
        let age = oldest.map_or(0.0, |t| {
            (clock.now() - t).num_milliseconds().max(0) as f64 / 1000.0
        });
        metrics::gauge!("todo_outbox_oldest_age_seconds").set(age);
    }
}

/// Relays the outbox as soon as `wake` is signalled (a commit with events in this process) and at
/// least every `interval` (rows of other writers, retries that fell due) until shutdown, then drains
/// what is left.
pub async fn relay_outbox(
    relay: OutboxRelay,
    outbox: Arc<dyn OutboxStore>,
    clock: Arc<dyn Clock>,
    interval: Duration,
    retention: Duration,
    wake: Arc<Notify>,
    shutdown: CancellationToken,
) {
    const BATCH: usize = 200;
    // Sent events older than the retention are deleted once an hour (and at start).
    const PURGE_EVERY: Duration = Duration::from_secs(3600);
    let mut next_purge = tokio::time::Instant::now();
    let mut gauges_at = tokio::time::Instant::now();
    loop {
        if tokio::time::Instant::now() >= next_purge {
            next_purge += PURGE_EVERY;
            let before = clock.now() - chrono::Duration::from_std(retention).unwrap_or_default();
            match outbox.purge_sent(before).await {
                Ok(purged) => {
                    metrics::counter!("todo_outbox_purged_total").increment(purged);
                    debug!(purged, "sent outbox events purged");
                }
                Err(error) => warn!(error = %chain(&error), "purging sent outbox events failed"),
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = wake.notified() => {}
            () = tokio::time::sleep(interval) => {}
        }
        // A pass may wait out an outage of the bus or, in process, of a consumer's store: shutdown
        // abandons it (nothing is marked sent that was not handled; its rows are relayed again once
        // their lease ends, at the latest on the next start).
        // Whether the last pass found nothing to send (or failed): the gauges are then refreshed at
        // once, otherwise at most every BACKLOG_GAUGES_EVERY.
        let passes = async {
            loop {
                match relay.relay_once(BATCH).await {
                    Ok(report) if report.sent == BATCH => {
                        if gauges_at.elapsed() >= BACKLOG_GAUGES_EVERY {
                            record_backlog(outbox.as_ref(), clock.as_ref()).await;
                            gauges_at = tokio::time::Instant::now();
                        }
                    }
                    Ok(report) => break report.sent == 0,
                    Err(error) => {
                        warn!(error = %chain(&error), "outbox relay pass failed");
                        break true;
                    }
                }
            }
        };
        let idle = tokio::select! {
            () = shutdown.cancelled() => {
                info!("outbox relay pass abandoned on shutdown");
                break;
            }
            idle = passes => idle,
        };
        if idle || gauges_at.elapsed() >= BACKLOG_GAUGES_EVERY {
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = record_backlog(outbox.as_ref(), clock.as_ref()) => {}
            }
            gauges_at = tokio::time::Instant::now();
        }
    }
    match tokio::time::timeout(DRAIN_LIMIT, relay.drain(BATCH, 50)).await {
        Ok(Ok(report)) => info!(
            sent = report.sent,
            failed = report.failed,
            "outbox drained on shutdown"
        ),
        Ok(Err(error)) => {
            warn!(error = %chain(&error), "outbox not drained on shutdown; it will be relayed on next start")
        }
        Err(_) => warn!(
            limit = ?DRAIN_LIMIT,
            "outbox drain on shutdown abandoned; what is left will be relayed on next start"
        ),
    }
}

/// How long the relay's last drain may take at shutdown (the store or the bus may be down).
pub const DRAIN_LIMIT: Duration = Duration::from_secs(3);

/// Fires the in-process scheduler's jobs on time (the embedded mode's stand-in for the Dapr scheduler),
/// through the same [`ReminderJobHandler`] and metrics as the Dapr job callback.
pub async fn fire_reminders(
    scheduler: Arc<InMemoryScheduler>,
    handler: ReminderFiredHandler,
    clock: Arc<dyn Clock>,
    shutdown: CancellationToken,
) {
    let jobs = ReminderJobHandler::new(handler).observe(reminder_metrics(clock.clone()));
    let changed = Arc::new(Notify::new());
    let waker = Arc::clone(&changed);
    scheduler.on_change(move || waker.notify_one());
    loop {
        for job in scheduler.take_due(clock.now()) {
            // A failed firing is logged; the periodic reconciliation schedules it again.
            if let Err(error) = jobs.handle(&job.name, job.payload).await {
                warn!(job = %job.name, error = %chain(&error), "reminder firing failed");
            }
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

/// The observer of [`ReminderJobHandler`] that records reminder metrics, for the in-process loop and
/// the Dapr job callback alike: how late each firing came against its `remind_at`
/// (`todo_reminder_firing_delay_seconds`), and what came of it (`todo_reminders_fired_total`,
/// `todo_reminders_dropped_total` by reason).
pub fn reminder_metrics(clock: Arc<dyn Clock>) -> impl Fn(ReminderFiring<'_>) + Send + Sync {
    move |firing| record_reminder_firing(clock.now(), firing)
}

fn record_reminder_firing(now: DateTime<Utc>, firing: ReminderFiring<'_>) {
    let (payload, result) = match firing {
        ReminderFiring::Handled { payload, result } => (payload, result),
        ReminderFiring::Malformed(error) => {
            warn!(%error, "undecodable reminder job payload dropped");
            metrics::counter!("todo_reminders_dropped_total", "reason" => "malformed").increment(1);
            return;
        }
        _ => return,
    };
    let late = (now - payload.remind_at).num_milliseconds();
    if late >= 0 {
        metrics::histogram!("todo_reminder_firing_delay_seconds").record(late as f64 / 1000.0);
    }
    let reason = match result {
        Ok(ReminderOutcome::Sent(_)) => {
            metrics::counter!("todo_reminders_fired_total").increment(1);
            return;
        }
        Err(_) => return,
        Ok(ReminderOutcome::Duplicate) => "duplicate",
        Ok(ReminderOutcome::DroppedMissing) => "missing",
        Ok(ReminderOutcome::DroppedCompleted) => "completed",
        Ok(ReminderOutcome::DroppedRescheduled) => "rescheduled",
        Ok(_) => "due_passed",
    };
    debug!(task_id = %payload.task_id, reason, "reminder firing dropped");
    metrics::counter!("todo_reminders_dropped_total", "reason" => reason).increment(1);
}

/// Reconciles reminders at start and then every `interval`. A failed pass (the database or the
/// sidecar not reachable yet, as when a service starts before its sidecar) is tried again within
/// seconds rather than after a whole interval. Counts the jobs scheduled in
/// `todo_reminders_reconciled_total` and the passes skipped because another replica held the lock
/// in `todo_reminder_reconciliations_skipped_total`.
pub async fn reconcile_reminders(
    reconciler: ReminderReconciler,
    interval: Duration,
    shutdown: CancellationToken,
) {
    const RETRY: Duration = Duration::from_secs(3);
    loop {
        let reconciled = tokio::select! {
            () = shutdown.cancelled() => return,
            reconciled = reconciler.reconcile() => reconciled,
        };
        let wait = match reconciled {
            Ok(Reconciliation::Scheduled(count)) => {
                metrics::counter!("todo_reminders_reconciled_total").increment(count as u64);
                debug!(count, "reminders reconciled");
                interval
            }
            Ok(Reconciliation::Skipped) => {
                metrics::counter!("todo_reminder_reconciliations_skipped_total").increment(1);
                debug!("reminder reconciliation skipped: another replica is reconciling");
                interval
            }
            Err(error) => {
                warn!(error = %chain(&error), "reminder reconciliation failed; trying again shortly");
                interval.min(RETRY)
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// Delivers the reminders due on `channel` until shutdown: a batch as soon as deliveries are
/// enqueued in this process, and at least every `interval` (retries that fell due, other replicas'
/// records). Records `todo_reminder_deliveries_total` by channel and outcome, and
/// `todo_reminder_delivery_delay_seconds` (remind_at → handed to the channel's server).
pub async fn deliver_reminders(
    deliveries: ReminderDeliveries,
    channel: ChannelKind,
    interval: Duration,
    shutdown: CancellationToken,
) {
    let wake = deliveries.wake();
    let batch = deliveries.policy().batch;
    info!(channel = channel.as_str(), "reminder deliveries started");
    loop {
        // Registered before the pass, so an enqueue during it is not missed.
        let woken = wake.notified();
        let delivered = match deliveries.deliver_due(channel).await {
            Ok(attempts) => {
                for attempt in &attempts {
                    record_delivery(attempt);
                }
                attempts.len()
            }
            Err(error) => {
                warn!(channel = channel.as_str(), error = %chain(&error), "reminder deliveries failed; trying again shortly");
                0
            }
        };
        if delivered >= batch {
            continue;
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = woken => {}
            () = tokio::time::sleep(interval) => {}
        }
    }
    info!(channel = channel.as_str(), "reminder deliveries stopped");
}

fn record_delivery(attempt: &Attempt) {
    let channel = attempt.channel.as_str();
    let outcome = match &attempt.outcome {
        DeliveryOutcome::Sent { .. } => "sent",
        DeliveryOutcome::Skipped { .. } => "skipped",
        DeliveryOutcome::Retry { error, .. } => {
            warn!(channel, %error, "reminder delivery failed; it will be retried");
            "retried"
        }
        DeliveryOutcome::Dead { reason, .. } => {
            warn!(channel, %reason, "reminder delivery given up (dead letter)");
            "dead"
        }
    };
    metrics::counter!("todo_reminder_deliveries_total", "channel" => channel, "outcome" => outcome)
        .increment(1);
    if let Some(delay) = attempt.delay {
        metrics::histogram!("todo_reminder_delivery_delay_seconds", "channel" => channel)
            .record(delay.as_secs_f64());
    }
}
