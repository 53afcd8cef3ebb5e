//! An in-memory [`PushSubscriptionStore`].

use std::sync::Mutex;

use async_trait::async_trait;
use uuid::Uuid;

use super::lock;
use crate::model::UserId;
use crate::ports::{PortResult, PushRegistration, PushSubscriptionStore};

/// Registrations in insertion order.
#[derive(Debug, Default)]
pub struct InMemoryPushSubscriptionStore {
    registrations: Mutex<Vec<PushRegistration>>,
}

impl InMemoryPushSubscriptionStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl PushSubscriptionStore for InMemoryPushSubscriptionStore {
    async fn add(&self, registration: PushRegistration) -> PortResult<PushRegistration> {
        let mut registrations = lock(&self.registrations);
        if let Some(existing) = registrations.iter_mut().find(|r| {
            r.user_id == registration.user_id
                && r.subscription.endpoint == registration.subscription.endpoint
        }) {
            existing.subscription = registration.subscription;
            return Ok(existing.clone());
        }
        registrations.push(registration.clone());
        Ok(registration)
    }

    async fn remove(&self, user: UserId, id: Uuid) -> PortResult<bool> {
        let mut registrations = lock(&self.registrations);
        let before = registrations.len();
        registrations.retain(|r| !(r.user_id == user && r.id == id));
        Ok(registrations.len() != before)
    }

    async fn remove_endpoint(&self, endpoint: &str) -> PortResult<u64> {
        let mut registrations = lock(&self.registrations);
        let before = registrations.len();
        registrations.retain(|r| r.subscription.endpoint.as_str() != endpoint);
        Ok((before - registrations.len()) as u64)
    }

    async fn list(&self, user: UserId) -> PortResult<Vec<PushRegistration>> {
        Ok(lock(&self.registrations)
            .iter()
            .filter(|r| r.user_id == user)
            .cloned()
            .collect())
    }
}
