//! Web Push subscriptions (SPEC §14): the browsers a user registered for reminders.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::PortResult;
use crate::model::{PushSubscription, UserId};

/// One browser registered by one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushRegistration {
    /// The registration's id (`DELETE /api/v1/push/subscriptions/{id}`).
    pub id: Uuid,
    /// Whose reminders go to it.
    pub user_id: UserId,
    /// Where and how to send.
    pub subscription: PushSubscription,
    /// When it was first registered.
    pub created_at: DateTime<Utc>,
}

/// Stores push subscriptions, unique per (user, endpoint).
#[async_trait]
pub trait PushSubscriptionStore: Send + Sync {
    /// Stores `registration`; when the user already registered its endpoint, keeps that one's id
    /// and creation time, takes the new keys and expiry, and returns it (registering is idempotent).
    async fn add(&self, registration: PushRegistration) -> PortResult<PushRegistration>;

    /// Removes the user's registration `id`; `false` when the user has none with that id (another
    /// user's id included).
    async fn remove(&self, user: UserId, id: Uuid) -> PortResult<bool>;

    /// Removes every registration of `endpoint` (the push service said it is gone); how many.
    async fn remove_endpoint(&self, endpoint: &str) -> PortResult<u64>;

    /// The user's registrations, oldest first.
    async fn list(&self, user: UserId) -> PortResult<Vec<PushRegistration>>;
}
