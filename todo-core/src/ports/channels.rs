//! Reminder channels (SPEC §14): the ways a reminder reaches a person besides the in-app inbox
//! (email, Web Push). The notification service delivers each reminder once per channel the user
//! enabled; retries, backoff, dead letters and metrics belong to that service, not to a channel.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::error::BoxError;
use crate::model::{EventId, TaskId, UserId};

/// The name of a channel, as settings, records and metrics call it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChannelKind {
    /// SMTP email to the account's address.
    Email,
    /// Web Push to the user's registered browsers.
    Push,
}

impl std::str::FromStr for ChannelKind {
    type Err = crate::error::PortError;

    /// `email` or `push`; anything else is `Corrupt` (only stored names are read back).
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "email" => Ok(ChannelKind::Email),
            "push" => Ok(ChannelKind::Push),
            other => Err(crate::error::PortError::corrupt(
                "reading a channel name",
                format!("unknown channel `{other}`"),
            )),
        }
    }
}

impl ChannelKind {
    /// `email` or `push`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Email => "email",
            ChannelKind::Push => "push",
        }
    }
}

/// One reminder to deliver, with what a message needs to read well.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reminder {
    /// The `reminders` event it comes from (one delivery per event and channel).
    pub event_id: EventId,
    /// The user to reach.
    pub user_id: UserId,
    /// Their e-mail address.
    pub email: String,
    /// Their time zone (the `timezone` setting), for dates in the message.
    pub timezone: Tz,
    /// The task.
    pub task_id: TaskId,
    /// Its title when the reminder fired.
    pub title: String,
    /// When it is due.
    pub due_at: DateTime<Utc>,
    /// When the reminder was due.
    pub remind_at: DateTime<Utc>,
}

/// Why a delivery did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    /// Worth trying again later (the server is down, a timeout, a 5xx or 429).
    #[error("{context}")]
    Transient {
        /// What failed.
        context: String,
        /// The cause.
        #[source]
        source: Option<BoxError>,
    },
    /// Will not succeed as it is (a rejected address, a 4xx): dead-lettered with this reason.
    #[error("{context}")]
    Permanent {
        /// What failed.
        context: String,
        /// The cause.
        #[source]
        source: Option<BoxError>,
    },
}

impl ChannelError {
    /// A failure worth retrying.
    pub fn transient(context: impl Into<String>, source: impl Into<BoxError>) -> Self {
        ChannelError::Transient {
            context: context.into(),
            source: Some(source.into()),
        }
    }

    /// A failure not worth retrying.
    pub fn permanent(context: impl Into<String>, source: impl Into<BoxError>) -> Self {
        ChannelError::Permanent {
            context: context.into(),
            source: Some(source.into()),
        }
    }

    /// Whether a retry may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, ChannelError::Transient { .. })
    }
}

/// What a delivery reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivered {
    /// The message was handed over (the SMTP server accepted it; the push service took it for at
    /// least one browser).
    Sent,
    /// There was nobody to send to (no browser registered for push): nothing to retry.
    NoRecipient,
}

/// A way to reach a person with a reminder.
#[async_trait]
pub trait ReminderChannel: Send + Sync {
    /// Which channel this is.
    fn kind(&self) -> ChannelKind;

    /// Delivers `reminder` once; the caller records the outcome and decides about retries.
    async fn deliver(&self, reminder: &Reminder) -> Result<Delivered, ChannelError>;
}
