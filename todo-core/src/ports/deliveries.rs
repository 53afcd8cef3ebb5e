//! Reminder deliveries: one record per `reminders` event and channel, so a reminder reaches each
//! channel once however often its event is delivered, and a failing channel is retried on its own
//! schedule (SPEC §14).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{ChannelKind, PortResult};
use crate::error::PortError;
use crate::model::{EventId, TaskId, UserId};

/// A delivery to make: what the reminder says, on which channel, and how often it was tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The `reminders` event (with `channel`, the record's key).
    pub event_id: EventId,
    /// Where it goes.
    pub channel: ChannelKind,
    /// Whom it reaches.
    pub user_id: UserId,
    /// The task.
    pub task_id: TaskId,
    /// The task's title when the reminder fired.
    pub title: String,
    /// When the task is due.
    pub due_at: DateTime<Utc>,
    /// When the reminder was due.
    pub remind_at: DateTime<Utc>,
    /// Attempts so far, this one included once claimed.
    pub attempts: u32,
}

/// How a delivery ended, or when to try it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// Handed over to the channel's server at `at`.
    Sent {
        /// When.
        at: DateTime<Utc>,
    },
    /// Nothing to do (the channel is off for this user, or nobody to send to).
    Skipped {
        /// When.
        at: DateTime<Utc>,
        /// Why.
        reason: String,
    },
    /// Failed for now: try again at `at`.
    Retry {
        /// The next attempt.
        at: DateTime<Utc>,
        /// What went wrong this time.
        error: String,
    },
    /// Given up (dead letter) at `at`.
    Dead {
        /// When.
        at: DateTime<Utc>,
        /// Why.
        reason: String,
    },
}

/// Where a delivery stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryState {
    /// Waiting for its next attempt.
    Pending {
        /// Attempts so far.
        attempts: u32,
        /// The last failure, if any.
        last_error: Option<String>,
    },
    /// Sent.
    Sent {
        /// Attempts it took.
        attempts: u32,
    },
    /// Nothing was sent, on purpose.
    Skipped {
        /// Why.
        reason: String,
    },
    /// Given up.
    Dead {
        /// Attempts made.
        attempts: u32,
        /// Why.
        reason: String,
    },
}

/// A [`DeliveryOutcome`] as an adapter stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryColumns<'a> {
    /// `pending` (a retry), `sent`, `skipped` or `dead`.
    pub status: &'static str,
    /// The next attempt, for a retry.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The error (a retry) or the reason (skipped, dead).
    pub last_error: Option<&'a str>,
    /// When the delivery ended (not for a retry).
    pub finished_at: Option<DateTime<Utc>>,
}

impl DeliveryOutcome {
    /// How an adapter stores the outcome.
    pub fn columns(&self) -> DeliveryColumns<'_> {
        let (status, next_attempt_at, last_error, finished_at) = match self {
            DeliveryOutcome::Sent { at } => ("sent", None, None, Some(*at)),
            DeliveryOutcome::Skipped { at, reason } => {
                ("skipped", None, Some(reason.as_str()), Some(*at))
            }
            DeliveryOutcome::Retry { at, error } => {
                ("pending", Some(*at), Some(error.as_str()), None)
            }
            DeliveryOutcome::Dead { at, reason } => {
                ("dead", None, Some(reason.as_str()), Some(*at))
            }
        };
        DeliveryColumns {
            status,
            next_attempt_at,
            last_error,
            finished_at,
        }
    }
}

impl DeliveryState {
    /// The state stored as `status`, `attempts` and `last_error` (see [`DeliveryOutcome::columns`]).
    ///
    /// # Errors
    ///
    /// `Corrupt` for a status no adapter writes.
    pub fn from_columns(
        status: &str,
        attempts: u32,
        last_error: Option<String>,
    ) -> PortResult<Self> {
        Ok(match status {
            "pending" => DeliveryState::Pending {
                attempts,
                last_error,
            },
            "sent" => DeliveryState::Sent { attempts },
            "skipped" => DeliveryState::Skipped {
                reason: last_error.unwrap_or_default(),
            },
            "dead" => DeliveryState::Dead {
                attempts,
                reason: last_error.unwrap_or_default(),
            },
            other => {
                return Err(PortError::corrupt(
                    "reading a delivery's status",
                    format!("unknown status `{other}`"),
                ))
            }
        })
    }
}

/// The delivery records (the notification service's own table).
#[async_trait]
pub trait DeliveryStore: Send + Sync {
    /// Records `delivery` as pending, due at `due`; `false` (and nothing changes) if this event
    /// already has a record on this channel: a duplicate event delivers nothing twice.
    async fn enqueue(&self, delivery: &Delivery, due: DateTime<Utc>) -> PortResult<bool>;

    /// Up to `limit` pending deliveries on `channel` due by `now`, the most overdue first (returned in
    /// the order of their `remind_at`), each claimed: its
    /// attempts counted and its next attempt moved to `lease_until`, so that another worker does not
    /// take it meanwhile, and a worker that dies leaves it to be retried then.
    async fn claim_due(
        &self,
        channel: ChannelKind,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> PortResult<Vec<Delivery>>;

    /// Records how the attempt went.
    async fn finish(
        &self,
        event_id: EventId,
        channel: ChannelKind,
        outcome: &DeliveryOutcome,
    ) -> PortResult<()>;

    /// Where the delivery of `event_id` on `channel` stands, if there is one.
    async fn state(
        &self,
        event_id: EventId,
        channel: ChannelKind,
    ) -> PortResult<Option<DeliveryState>>;
}
