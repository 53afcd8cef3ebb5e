//! User accounts: who may sign in. Password hashing is the server's concern; this port stores the hash.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::PortResult;
use crate::model::{TimeZone, UserId};

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Stable id; tasks are scoped to it.
    pub id: UserId,
    /// Lower-cased e-mail address, unique.
    pub email: String,
    /// Display name.
    pub name: Option<String>,
    /// PHC-format password hash (argon2id).
    pub password_hash: String,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
    /// What the user has chosen.
    pub settings: UserSettings,
}

/// A user's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSettings {
    /// The zone quick-add, chat and reminder messages read dates and times in (`UTC` until the user
    /// chooses).
    pub timezone: TimeZone,
    /// Reminders by email (on by default; nothing is sent while the server has no SMTP server).
    pub email_notifications: bool,
    /// Reminders by Web Push to the browsers the user registered (on by default).
    pub push_notifications: bool,
}

impl Default for UserSettings {
    fn default() -> Self {
        Self {
            timezone: TimeZone::default(),
            email_notifications: true,
            push_notifications: true,
        }
    }
}

/// Stores user accounts.
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// Stores a new user; `AlreadyExists` if the e-mail is taken.
    async fn create_user(&self, user: User) -> PortResult<()>;

    /// The user with this (lower-cased) e-mail, if any.
    async fn user_by_email(&self, email: &str) -> PortResult<Option<User>>;

    /// The user with this id, if any.
    async fn user_by_id(&self, id: UserId) -> PortResult<Option<User>>;

    /// Replaces the user's settings; `false` when there is no such user.
    async fn update_settings(&self, id: UserId, settings: &UserSettings) -> PortResult<bool>;
}
