//! The [`CalendarFeeds`] conformance suite.

use std::sync::Arc;

use chrono::{SubsecRound, Utc};
use uuid::Uuid;

use crate::calendar::FeedSecret;
use crate::model::UserId;
use crate::ports::CalendarFeeds;

/// Cases every [`CalendarFeeds`] must pass.
pub struct CalendarFeedsSuite {
    feeds: Arc<dyn CalendarFeeds>,
}

fn fresh_user() -> UserId {
    UserId(Uuid::new_v4())
}

impl CalendarFeedsSuite {
    /// A suite over `feeds`.
    pub fn new(feeds: Arc<dyn CalendarFeeds>) -> Self {
        Self { feeds }
    }

    /// Runs every case.
    pub async fn run_all(&self) {
        self.an_issued_feed_names_its_owner().await;
        self.a_new_feed_revokes_the_old_one().await;
        self.each_user_has_their_own_feed().await;
    }

    async fn owner(&self, secret: &FeedSecret) -> Option<UserId> {
        self.feeds
            .feed_owner(&secret.digest())
            .await
            .expect("feed_owner failed")
    }

    async fn issue(&self, user: UserId) -> FeedSecret {
        let secret = FeedSecret::generate();
        self.feeds
            .replace_feed(user, &secret.digest(), Utc::now().trunc_subsecs(6))
            .await
            .expect("replace_feed failed");
        secret
    }

    /// A stored digest reads back as its user's; a digest never stored names nobody.
    pub async fn an_issued_feed_names_its_owner(&self) {
        let user = fresh_user();
        let secret = self.issue(user).await;
        assert_eq!(self.owner(&secret).await, Some(user));
        assert_eq!(self.owner(&FeedSecret::generate()).await, None);
    }

    /// Replacing a user's feed makes the old secret name nobody and the new one name the user.
    pub async fn a_new_feed_revokes_the_old_one(&self) {
        let user = fresh_user();
        let old = self.issue(user).await;
        let new = self.issue(user).await;
        assert_eq!(self.owner(&old).await, None, "the old secret still works");
        assert_eq!(self.owner(&new).await, Some(user));
    }

    /// A user's new feed leaves another user's feed working.
    pub async fn each_user_has_their_own_feed(&self) {
        let (ada, bob) = (fresh_user(), fresh_user());
        let ada_feed = self.issue(ada).await;
        let bob_feed = self.issue(bob).await;
        let _ = self.issue(ada).await;
        assert_eq!(self.owner(&ada_feed).await, None);
        assert_eq!(self.owner(&bob_feed).await, Some(bob));
    }
}
