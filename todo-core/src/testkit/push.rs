//! The [`PushSubscriptionStore`] conformance suite.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{SubsecRound, Utc};
use uuid::Uuid;

use crate::model::{PushKeysInput, PushSubscription, PushSubscriptionInput, UserId};
use crate::ports::{PushRegistration, PushSubscriptionStore};

/// Cases every [`PushSubscriptionStore`] must pass.
pub struct PushSubscriptionStoreSuite {
    store: Arc<dyn PushSubscriptionStore>,
}

/// A registration of a fresh endpoint for `user`, with keys made from `seed`.
fn registration(user: UserId, endpoint: &str, seed: u8) -> PushRegistration {
    let mut point = [seed; 65];
    point[0] = 4;
    let input = PushSubscriptionInput {
        endpoint: endpoint.into(),
        expiration_time: None,
        keys: PushKeysInput {
            p256dh: URL_SAFE_NO_PAD.encode(point),
            auth: URL_SAFE_NO_PAD.encode([seed; 16]),
        },
    };
    PushRegistration {
        id: Uuid::new_v4(),
        user_id: user,
        subscription: PushSubscription::parse(&input).expect("a valid subscription"),
        created_at: Utc::now().trunc_subsecs(6),
    }
}

fn fresh_endpoint() -> String {
    format!(
        "https://push.example.com/conformance/{}",
        Uuid::new_v4().simple()
    )
}

impl PushSubscriptionStoreSuite {
    /// A suite over `store`.
    pub fn new(store: Arc<dyn PushSubscriptionStore>) -> Self {
        Self { store }
    }

    /// Runs every case.
    pub async fn run_all(&self) {
        self.a_registration_reads_back_whole().await;
        self.registering_an_endpoint_again_keeps_its_id_and_takes_new_keys()
            .await;
        self.a_user_removes_only_their_own_registrations().await;
        self.a_gone_endpoint_is_removed_for_every_user().await;
    }

    /// Every field round-trips; a user's list is oldest first and holds only theirs.
    pub async fn a_registration_reads_back_whole(&self) {
        let ada = UserId(Uuid::new_v4());
        let mut first = registration(ada, &fresh_endpoint(), 7);
        first.subscription.expiration_time =
            Some(Utc::now().trunc_subsecs(3) + chrono::Duration::days(30));
        let stored = self.store.add(first.clone()).await.expect("add failed");
        assert_eq!(stored, first, "add returns what it stored");
        let mut second = registration(ada, &fresh_endpoint(), 8);
        second.created_at = first.created_at + chrono::Duration::seconds(1);
        self.store.add(second.clone()).await.expect("add failed");
        self.store
            .add(registration(UserId(Uuid::new_v4()), &fresh_endpoint(), 9))
            .await
            .expect("add failed");
        assert_eq!(
            self.store.list(ada).await.expect("list failed"),
            vec![first, second],
            "the user's registrations, oldest first"
        );
        assert!(self
            .store
            .list(UserId(Uuid::new_v4()))
            .await
            .expect("list failed")
            .is_empty());
    }

    /// The same endpoint for the same user is one registration: its id and creation time stay,
    /// the new keys win.
    pub async fn registering_an_endpoint_again_keeps_its_id_and_takes_new_keys(&self) {
        let ada = UserId(Uuid::new_v4());
        let endpoint = fresh_endpoint();
        let first = self
            .store
            .add(registration(ada, &endpoint, 1))
            .await
            .expect("add failed");
        let again = registration(ada, &endpoint, 2);
        let stored = self.store.add(again.clone()).await.expect("add failed");
        assert_eq!(stored.id, first.id, "the existing id");
        assert_eq!(stored.created_at, first.created_at);
        assert_eq!(stored.subscription, again.subscription, "the new keys");
        assert_eq!(
            self.store.list(ada).await.expect("list failed"),
            vec![stored]
        );
    }

    /// `remove` needs the owner: another user's id is `false` and leaves it.
    pub async fn a_user_removes_only_their_own_registrations(&self) {
        let ada = UserId(Uuid::new_v4());
        let bob = UserId(Uuid::new_v4());
        let hers = self
            .store
            .add(registration(ada, &fresh_endpoint(), 3))
            .await
            .expect("add failed");
        assert!(!self
            .store
            .remove(bob, hers.id)
            .await
            .expect("remove failed"));
        assert_eq!(self.store.list(ada).await.expect("list failed").len(), 1);
        assert!(self
            .store
            .remove(ada, hers.id)
            .await
            .expect("remove failed"));
        assert!(
            !self
                .store
                .remove(ada, hers.id)
                .await
                .expect("remove failed"),
            "a second removal finds nothing"
        );
        assert!(self.store.list(ada).await.expect("list failed").is_empty());
    }

    /// An endpoint the push service reports gone is removed whoever registered it, and only it.
    pub async fn a_gone_endpoint_is_removed_for_every_user(&self) {
        let ada = UserId(Uuid::new_v4());
        let bob = UserId(Uuid::new_v4());
        let gone = fresh_endpoint();
        let kept = self
            .store
            .add(registration(ada, &fresh_endpoint(), 4))
            .await
            .expect("add failed");
        self.store
            .add(registration(ada, &gone, 5))
            .await
            .expect("add failed");
        self.store
            .add(registration(bob, &gone, 6))
            .await
            .expect("add failed");
        assert_eq!(
            self.store
                .remove_endpoint(&gone)
                .await
                .expect("remove_endpoint failed"),
            2
        );
        assert_eq!(self.store.list(ada).await.expect("list failed"), vec![kept]);
        assert!(self.store.list(bob).await.expect("list failed").is_empty());
        assert_eq!(
            self.store
                .remove_endpoint(&gone)
                .await
                .expect("remove_endpoint failed"),
            0
        );
    }
}
