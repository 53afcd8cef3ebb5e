//! An in-memory [`CalendarFeeds`].

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::lock;
use crate::calendar::FeedDigest;
use crate::model::UserId;
use crate::ports::{CalendarFeeds, PortResult};

/// Each user's feed digest in a map.
#[derive(Debug, Default)]
pub struct InMemoryCalendarFeeds {
    feeds: Mutex<HashMap<UserId, FeedDigest>>,
}

impl InMemoryCalendarFeeds {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl CalendarFeeds for InMemoryCalendarFeeds {
    async fn replace_feed(
        &self,
        user_id: UserId,
        digest: &FeedDigest,
        _issued_at: DateTime<Utc>,
    ) -> PortResult<()> {
        lock(&self.feeds).insert(user_id, *digest);
        Ok(())
    }

    async fn feed_owner(&self, digest: &FeedDigest) -> PortResult<Option<UserId>> {
        Ok(lock(&self.feeds)
            .iter()
            .find(|(_, d)| *d == digest)
            .map(|(user, _)| *user))
    }
}
