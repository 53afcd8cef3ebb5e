//! Reminder deliveries (SPEC §14): each `reminders` event reaches each configured channel once.
//!
//! ```text
//!   reminders event ─▶ NotificationHandler ─▶ inbox row
//!                                          └▶ ReminderDeliveries::enqueue: a record per channel
//!                                             (a duplicate event adds none)
//!   per channel, a worker ─▶ ReminderDeliveries::deliver_due: claim a batch ─▶ deliver each
//!                            concurrently ─▶ sent │ skipped │ retry later │ dead
//! ```
//!
//! A channel's failures never hold up another channel (each has its own worker and records) nor
//! other users (a batch is delivered concurrently, each delivery on its own schedule). A transient
//! failure is retried with exponential backoff up to [`DeliveryPolicy::max_attempts`], then
//! dead-lettered with its reason, as is a permanent failure at once.
//!
//! Delivery is at least once per channel with one exception narrowed to a crash: a worker that dies
//! after the server accepted a message and before recording it leaves the claim to expire, and the
//! message is sent again.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use tokio::sync::Notify;

use super::{backoff_delay, Backoff};
use crate::error::{chain, PortError};
use crate::events::ReminderEvent;
use crate::ports::{
    ChannelError, ChannelKind, Clock, Delivered, Delivery, DeliveryOutcome, DeliveryStore,
    Reminder, ReminderChannel, UserRepository,
};

/// How deliveries are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryPolicy {
    /// Attempts before a delivery is dead-lettered.
    pub max_attempts: u32,
    /// The delays between attempts.
    pub backoff: Backoff,
    /// How long a claimed delivery is left to its worker before another may take it.
    pub lease: Duration,
    /// Deliveries claimed (and delivered concurrently) at once per channel.
    pub batch: usize,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            backoff: Backoff {
                base: Duration::from_secs(2),
                max: Duration::from_secs(600),
            },
            lease: Duration::from_secs(120),
            batch: 32,
        }
    }
}

/// One delivery attempt's result, for metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The channel.
    pub channel: ChannelKind,
    /// What was recorded.
    pub outcome: DeliveryOutcome,
    /// How late after `remind_at` it was sent (for a sent delivery).
    pub delay: Option<Duration>,
}

/// The deliveries of the configured channels.
#[derive(Clone)]
pub struct ReminderDeliveries {
    store: Arc<dyn DeliveryStore>,
    users: Arc<dyn UserRepository>,
    clock: Arc<dyn Clock>,
    channels: Vec<Arc<dyn ReminderChannel>>,
    policy: DeliveryPolicy,
    wake: Arc<Notify>,
}

impl ReminderDeliveries {
    /// Deliveries over `store` to `channels` (the configured ones; an unconfigured channel is left
    /// out), reading each user's address and settings from `users`.
    pub fn new(
        store: Arc<dyn DeliveryStore>,
        users: Arc<dyn UserRepository>,
        clock: Arc<dyn Clock>,
        channels: Vec<Arc<dyn ReminderChannel>>,
        policy: DeliveryPolicy,
    ) -> Self {
        Self {
            store,
            users,
            clock,
            channels,
            policy,
            wake: Arc::new(Notify::new()),
        }
    }

    /// The configured channels.
    pub fn channels(&self) -> Vec<ChannelKind> {
        self.channels.iter().map(|c| c.kind()).collect()
    }

    /// The retry policy.
    pub fn policy(&self) -> DeliveryPolicy {
        self.policy
    }

    /// Notified when deliveries were enqueued, so a waiting worker starts at once.
    pub fn wake(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Records a delivery of `event` on every configured channel; how many were new (none for a
    /// duplicate event).
    pub async fn enqueue(&self, event: &ReminderEvent) -> Result<usize, PortError> {
        let now = self.clock.now();
        let mut added = 0;
        for channel in &self.channels {
            let delivery = Delivery {
                event_id: event.event_id,
                channel: channel.kind(),
                user_id: event.user_id,
                task_id: event.task_id,
                title: event.title.clone(),
                due_at: event.due_at,
                remind_at: event.remind_at,
                attempts: 0,
            };
            if self.store.enqueue(&delivery, now).await? {
                added += 1;
            }
        }
        if added > 0 {
            self.wake.notify_waiters();
        }
        Ok(added)
    }

    /// Claims the due deliveries of `kind` (one batch) and delivers them concurrently; each attempt
    /// as recorded. An empty result means nothing was due.
    pub async fn deliver_due(&self, kind: ChannelKind) -> Result<Vec<Attempt>, PortError> {
        let Some(channel) = self.channels.iter().find(|c| c.kind() == kind) else {
            return Ok(Vec::new());
        };
        let now = self.clock.now();
        let lease = now + chrono::Duration::from_std(self.policy.lease).unwrap_or_default();
        let claimed = self
            .store
            .claim_due(kind, now, lease, self.policy.batch)
            .await?;
        let attempts = join_all(
            claimed
                .into_iter()
                .map(|delivery| self.deliver_one(channel.as_ref(), delivery)),
        )
        .await;
        attempts.into_iter().collect()
    }

    async fn deliver_one(
        &self,
        channel: &dyn ReminderChannel,
        delivery: Delivery,
    ) -> Result<Attempt, PortError> {
        let outcome = match self.reminder(&delivery).await {
            Ok(Some(reminder)) => match channel.deliver(&reminder).await {
                Ok(Delivered::Sent) => DeliveryOutcome::Sent {
                    at: self.clock.now(),
                },
                Ok(Delivered::NoRecipient) => DeliveryOutcome::Skipped {
                    at: self.clock.now(),
                    reason: "nobody to send to".into(),
                },
                Err(error) => self.failed(&delivery, &error),
            },
            Ok(None) => DeliveryOutcome::Skipped {
                at: self.clock.now(),
                reason: format!("{} is off in the user's settings", channel.kind().as_str()),
            },
            Err(error) => {
                self.retry_or_give_up(&delivery, format!("reading the user: {}", chain(&error)))
            }
        };
        self.store
            .finish(delivery.event_id, delivery.channel, &outcome)
            .await?;
        let delay = match &outcome {
            DeliveryOutcome::Sent { at } => (*at - delivery.remind_at).to_std().ok(),
            _ => None,
        };
        Ok(Attempt {
            channel: delivery.channel,
            outcome,
            delay,
        })
    }

    /// The reminder to send, or `None` when the user turned the channel off or is gone.
    async fn reminder(&self, delivery: &Delivery) -> Result<Option<Reminder>, PortError> {
        let Some(user) = self.users.user_by_id(delivery.user_id).await? else {
            return Ok(None);
        };
        let on = match delivery.channel {
            ChannelKind::Email => user.settings.email_notifications,
            ChannelKind::Push => user.settings.push_notifications,
        };
        Ok(on.then(|| Reminder {
            event_id: delivery.event_id,
            user_id: user.id,
            email: user.email.clone(),
            timezone: user.settings.timezone.tz(),
            task_id: delivery.task_id,
            title: delivery.title.clone(),
            due_at: delivery.due_at,
            remind_at: delivery.remind_at,
        }))
    }

    fn failed(&self, delivery: &Delivery, error: &ChannelError) -> DeliveryOutcome {
        if error.is_transient() {
            self.retry_or_give_up(delivery, chain(error).to_string())
        } else {
            DeliveryOutcome::Dead {
                at: self.clock.now(),
                reason: chain(error).to_string(),
            }
        }
    }

    fn retry_or_give_up(&self, delivery: &Delivery, error: String) -> DeliveryOutcome {
        let now = self.clock.now();
        if delivery.attempts >= self.policy.max_attempts {
            return DeliveryOutcome::Dead {
                at: now,
                reason: format!("gave up after {} attempts: {error}", delivery.attempts),
            };
        }
        DeliveryOutcome::Retry {
            at: now + retry_delay(self.policy.backoff, delivery),
            error,
        }
    }
}

/// The delay before the next attempt: exponential in the attempts made, with a jitter taken from
/// the event id (deterministic, and spread across deliveries).
fn retry_delay(backoff: Backoff, delivery: &Delivery) -> chrono::Duration {
    let jitter = (delivery.event_id.0.as_u128() % 1000) as f64 / 1000.0;
    let delay = backoff_delay(backoff, delivery.attempts.saturating_sub(1), jitter);
    chrono::Duration::from_std(delay).unwrap_or_else(|_| chrono::Duration::seconds(600))
}

#[cfg(test)]
mod tests;
