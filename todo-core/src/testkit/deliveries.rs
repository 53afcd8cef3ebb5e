//! The [`DeliveryStore`] conformance suite: one record per event and channel, claims that take due
//! deliveries once (oldest first, per channel, within the limit), leases that bring a claimed
//! delivery back, and the four outcomes.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use uuid::Uuid;

use crate::model::{EventId, TaskId, UserId};
use crate::ports::{ChannelKind, Delivery, DeliveryOutcome, DeliveryState, DeliveryStore};

/// Cases every [`DeliveryStore`] must pass. Each case uses fresh events at instants of its own and
/// ends every delivery it made, so a shared database can be reused between runs.
pub struct DeliveryStoreSuite {
    store: Arc<dyn DeliveryStore>,
}

fn delivery(channel: ChannelKind, minutes: i64) -> Delivery {
    let remind_at = Utc
        .with_ymd_and_hms(2026, 3, 1, 9, 0, 0)
        .single()
        .expect("a valid instant")
        + Duration::minutes(minutes);
    Delivery {
        event_id: EventId(Uuid::new_v4()),
        channel,
        user_id: UserId(Uuid::new_v4()),
        task_id: TaskId(7_000 + minutes),
        title: format!("Pay rent ✓ {minutes}"),
        due_at: remind_at + Duration::hours(1),
        remind_at,
        attempts: 0,
    }
}

/// A moment of its own for each case: years apart, far from any other run's pending rows.
fn era(case: i32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2200 + case * 10, 1, 1, 0, 0, 0)
        .single()
        .expect("a valid instant")
}

impl DeliveryStoreSuite {
    /// Ends `deliveries` (sent), so that no later case or run claims them.
    async fn end(&self, deliveries: &[&Delivery]) {
        for d in deliveries {
            self.store
                .finish(d.event_id, d.channel, &DeliveryOutcome::Sent { at: era(0) })
                .await
                .expect("finish");
        }
    }

    /// A suite over `store`.
    pub fn new(store: Arc<dyn DeliveryStore>) -> Self {
        Self { store }
    }

    /// Runs every case, one after the other.
    pub async fn run_all(&self) {
        self.an_event_is_recorded_once_per_channel().await;
        self.a_claim_takes_due_deliveries_of_its_channel_oldest_first_once()
            .await;
        self.a_lease_that_runs_out_brings_a_delivery_back().await;
        self.outcomes_end_or_reschedule_a_delivery().await;
    }

    /// Enqueuing the same event again on a channel changes nothing; another channel is separate.
    pub async fn an_event_is_recorded_once_per_channel(&self) {
        let at = era(0);
        let email = delivery(ChannelKind::Email, 1);
        assert!(self.store.enqueue(&email, at).await.expect("enqueue"));
        let mut again = email.clone();
        again.title = "changed".into();
        assert!(
            !self.store.enqueue(&again, at).await.expect("enqueue"),
            "a duplicate event is not recorded twice"
        );
        let push = Delivery {
            channel: ChannelKind::Push,
            ..email.clone()
        };
        assert!(self.store.enqueue(&push, at).await.expect("enqueue"));
        let claimed = self
            .store
            .claim_due(ChannelKind::Email, at, at + Duration::minutes(1), 100)
            .await
            .expect("claim");
        let mine: Vec<&Delivery> = claimed
            .iter()
            .filter(|d| d.event_id == email.event_id)
            .collect();
        assert_eq!(mine.len(), 1, "{claimed:?}");
        assert_eq!(mine[0].title, email.title, "the first record stands");
        assert_eq!(mine[0].attempts, 1);
        assert_eq!(
            self.store
                .state(push.event_id, ChannelKind::Push)
                .await
                .expect("state"),
            Some(DeliveryState::Pending {
                attempts: 0,
                last_error: None
            })
        );
        self.end(&[&email, &push]).await;
    }

    /// A claim returns only due deliveries of its channel, oldest first, at most `limit`, and a
    /// claimed delivery is not claimed again before its lease ends.
    pub async fn a_claim_takes_due_deliveries_of_its_channel_oldest_first_once(&self) {
        let at = era(1);
        let first = delivery(ChannelKind::Email, 1);
        let second = delivery(ChannelKind::Email, 2);
        let later = delivery(ChannelKind::Email, 3);
        let other = delivery(ChannelKind::Push, 4);
        self.store
            .enqueue(&second, at + Duration::seconds(2))
            .await
            .expect("enqueue");
        self.store
            .enqueue(&first, at + Duration::seconds(1))
            .await
            .expect("enqueue");
        self.store
            .enqueue(&later, at + Duration::hours(1))
            .await
            .expect("enqueue");
        self.store.enqueue(&other, at).await.expect("enqueue");
        let now = at + Duration::seconds(10);
        let lease = now + Duration::minutes(5);
        let one = self
            .store
            .claim_due(ChannelKind::Email, now, lease, 1)
            .await
            .expect("claim");
        assert_eq!(
            ids(&one),
            [first.event_id],
            "the oldest first, within the limit"
        );
        let rest = self
            .store
            .claim_due(ChannelKind::Email, now, lease, 10)
            .await
            .expect("claim");
        assert_eq!(
            ids(&rest),
            [second.event_id],
            "not the claimed one, not the later one"
        );
        assert_eq!(
            rest[0],
            Delivery {
                attempts: 1,
                ..second.clone()
            }
        );
        assert!(self
            .store
            .claim_due(ChannelKind::Email, now, lease, 10)
            .await
            .expect("claim")
            .is_empty());
        let push = self
            .store
            .claim_due(ChannelKind::Push, now, lease, 10)
            .await
            .expect("claim");
        assert_eq!(ids(&push), [other.event_id]);
        self.end(&[&first, &second, &later, &other]).await;
    }

    /// A claimed delivery whose worker never finished comes back when the lease ends, with its
    /// attempts counted.
    pub async fn a_lease_that_runs_out_brings_a_delivery_back(&self) {
        let at = era(2);
        let email = delivery(ChannelKind::Email, 1);
        self.store.enqueue(&email, at).await.expect("enqueue");
        let lease = at + Duration::minutes(1);
        let claimed = self
            .store
            .claim_due(ChannelKind::Email, at, lease, 10)
            .await
            .expect("claim");
        assert_eq!(ids(&claimed), [email.event_id]);
        let before = self
            .store
            .claim_due(
                ChannelKind::Email,
                lease - Duration::seconds(1),
                lease + Duration::minutes(1),
                10,
            )
            .await
            .expect("claim");
        assert!(before.is_empty(), "{before:?}");
        let after = self
            .store
            .claim_due(ChannelKind::Email, lease, lease + Duration::minutes(1), 10)
            .await
            .expect("claim");
        assert_eq!(ids(&after), [email.event_id]);
        assert_eq!(after[0].attempts, 2);
        self.end(&[&email]).await;
    }

    /// Sent, skipped and dead deliveries are done; a retry waits until its time.
    pub async fn outcomes_end_or_reschedule_a_delivery(&self) {
        let at = era(3);
        let [sent, skipped, dead, retried] = [1, 2, 3, 4].map(|m| delivery(ChannelKind::Email, m));
        for d in [&sent, &skipped, &dead, &retried] {
            self.store.enqueue(d, at).await.expect("enqueue");
        }
        let lease = at + Duration::minutes(1);
        let claimed = self
            .store
            .claim_due(ChannelKind::Email, at, lease, 10)
            .await
            .expect("claim");
        assert_eq!(claimed.len(), 4);
        let finish = |d: &Delivery, outcome: DeliveryOutcome| {
            let store = self.store.clone();
            let event_id = d.event_id;
            async move {
                store
                    .finish(event_id, ChannelKind::Email, &outcome)
                    .await
                    .expect("finish")
            }
        };
        finish(&sent, DeliveryOutcome::Sent { at }).await;
        finish(
            &skipped,
            DeliveryOutcome::Skipped {
                at,
                reason: "email is off".into(),
            },
        )
        .await;
        finish(
            &dead,
            DeliveryOutcome::Dead {
                at,
                reason: "550 no such mailbox".into(),
            },
        )
        .await;
        let retry_at = at + Duration::minutes(10);
        finish(
            &retried,
            DeliveryOutcome::Retry {
                at: retry_at,
                error: "connection refused".into(),
            },
        )
        .await;

        let state = |d: &Delivery| self.store.state(d.event_id, ChannelKind::Email);
        assert_eq!(
            state(&sent).await.expect("state"),
            Some(DeliveryState::Sent { attempts: 1 })
        );
        assert_eq!(
            state(&skipped).await.expect("state"),
            Some(DeliveryState::Skipped {
                reason: "email is off".into()
            })
        );
        assert_eq!(
            state(&dead).await.expect("state"),
            Some(DeliveryState::Dead {
                attempts: 1,
                reason: "550 no such mailbox".into()
            })
        );
        assert_eq!(
            state(&retried).await.expect("state"),
            Some(DeliveryState::Pending {
                attempts: 1,
                last_error: Some("connection refused".into())
            })
        );
        let far = retry_at + Duration::days(365);
        let early = self
            .store
            .claim_due(ChannelKind::Email, retry_at - Duration::seconds(1), far, 10)
            .await
            .expect("claim");
        assert!(early.is_empty(), "a retry waits for its time: {early:?}");
        let due = self
            .store
            .claim_due(ChannelKind::Email, retry_at, far, 10)
            .await
            .expect("claim");
        assert_eq!(ids(&due), [retried.event_id], "only the retry comes back");
        self.end(&[&retried]).await;
        assert_eq!(
            self.store
                .state(EventId(Uuid::new_v4()), ChannelKind::Email)
                .await
                .expect("state"),
            None
        );
    }
}

fn ids(deliveries: &[Delivery]) -> Vec<EventId> {
    deliveries.iter().map(|d| d.event_id).collect()
}
