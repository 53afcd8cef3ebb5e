//! Calendar feed secrets: which user a feed URL belongs to.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::PortResult;
use crate::calendar::FeedDigest;
use crate::model::UserId;

/// Stores each user's one calendar feed secret, as its digest (a leaked database does not leak feeds).
#[async_trait]
pub trait CalendarFeeds: Send + Sync {
    /// Makes `digest` the user's feed secret, issued at `issued_at`; the previous one stops naming
    /// any feed.
    async fn replace_feed(
        &self,
        user_id: UserId,
        digest: &FeedDigest,
        issued_at: DateTime<Utc>,
    ) -> PortResult<()>;

    /// The user whose current feed secret has this digest, if any.
    async fn feed_owner(&self, digest: &FeedDigest) -> PortResult<Option<UserId>>;
}
