//! Calendar feed secrets on the `calendar_feeds` table: the [`CalendarFeeds`] port.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use todo_core::calendar::FeedDigest;
use todo_core::model::UserId;
use todo_core::ports::{CalendarFeeds, PortResult};

use crate::error::port_error;
use crate::repository::SqliteTaskRepository;
use crate::row::{get_uuid, micros};

/// One row per user: a new secret replaces the old digest.
const REPLACE_FEED: &str = "\
INSERT INTO calendar_feeds (user_id, secret_sha256, issued_at) VALUES (?1, ?2, ?3)
ON CONFLICT (user_id) DO UPDATE
SET secret_sha256 = excluded.secret_sha256, issued_at = excluded.issued_at";

const FEED_OWNER: &str = "SELECT user_id FROM calendar_feeds WHERE secret_sha256 = ?1";

#[async_trait]
impl CalendarFeeds for SqliteTaskRepository {
    async fn replace_feed(
        &self,
        user_id: UserId,
        digest: &FeedDigest,
        issued_at: DateTime<Utc>,
    ) -> PortResult<()> {
        sqlx::query(REPLACE_FEED)
            .bind(user_id.0)
            .bind(&digest.0[..])
            .bind(micros(issued_at))
            .execute(&mut *self.db.writer.acquire().await?)
            .await
            .map_err(port_error)?;
        Ok(())
    }

    async fn feed_owner(&self, digest: &FeedDigest) -> PortResult<Option<UserId>> {
        sqlx::query(FEED_OWNER)
            .bind(&digest.0[..])
            .fetch_optional(&self.db.reader)
            .await
            .map_err(port_error)?
            .map(|row| get_uuid(&row, "user_id").map(UserId))
            .transpose()
    }
}
