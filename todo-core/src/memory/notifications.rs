//! An in-memory [`NotificationStore`].

use std::cmp::Reverse;
use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::lock;
use crate::model::UserId;
use crate::ports::{Notification, NotificationStore, PortResult};

/// Notifications in a map keyed by id; listing sorts the user's entries (inboxes are small).
#[derive(Debug, Default)]
pub struct InMemoryNotificationStore {
    notifications: Mutex<HashMap<Uuid, Notification>>,
}

impl InMemoryNotificationStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl NotificationStore for InMemoryNotificationStore {
    async fn record(&self, notification: &Notification) -> PortResult<bool> {
        let mut notifications = lock(&self.notifications);
        if notifications.contains_key(&notification.id) {
            return Ok(false);
        }
        notifications.insert(notification.id, notification.clone());
        Ok(true)
    }

    async fn list(&self, user: UserId, limit: usize) -> PortResult<Vec<Notification>> {
        let mut inbox: Vec<Notification> = lock(&self.notifications)
            .values()
            .filter(|n| n.user_id == user)
            .cloned()
            .collect();
        inbox.sort_by_key(|n| Reverse((n.remind_at, n.id)));
        inbox.truncate(limit);
        Ok(inbox)
    }

    async fn mark_read(&self, user: UserId, id: Uuid, at: DateTime<Utc>) -> PortResult<bool> {
        let mut notifications = lock(&self.notifications);
        match notifications.get_mut(&id) {
            Some(notification) if notification.user_id == user => {
                notification.read_at.get_or_insert(at);
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}
