//! The [`NotificationStore`] conformance suite: idempotent recording, inbox order and limit, user
//! isolation, and mark-read semantics.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use uuid::Uuid;

use crate::model::{TaskId, UserId};
use crate::ports::{Notification, NotificationStore};

/// Cases every [`NotificationStore`] must pass. Each case uses fresh users and ids, so a shared
/// database can be reused between runs.
pub struct NotificationStoreSuite {
    store: Arc<dyn NotificationStore>,
}

/// 2026-03-01 09:00 UTC: a whole second, which every store holds exactly.
fn base_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0)
        .single()
        .expect("a valid, unambiguous UTC instant")
}

fn fresh_user() -> UserId {
    UserId(Uuid::new_v4())
}

/// An unread notification of `user`, reminding `minutes` after [`base_time`].
fn notification(user: UserId, minutes: i64) -> Notification {
    let remind_at = base_time() + Duration::minutes(minutes);
    Notification {
        id: Uuid::new_v4(),
        user_id: user,
        task_id: TaskId(4_000 + minutes),
        title: format!("Reminder {minutes} ✓"),
        due_at: remind_at + Duration::hours(1),
        remind_at,
        created_at: remind_at + Duration::seconds(2),
        read_at: None,
    }
}

fn ids(notifications: &[Notification]) -> Vec<Uuid> {
    notifications.iter().map(|n| n.id).collect()
}

impl NotificationStoreSuite {
    /// A suite over `store`.
    pub fn new(store: Arc<dyn NotificationStore>) -> Self {
        Self { store }
    }

    /// Runs every case, one after the other.
    pub async fn run_all(&self) {
        self.a_recorded_notification_lists_back_unread().await;
        self.recording_the_same_firing_again_stores_nothing_new()
            .await;
        self.the_inbox_lists_the_newest_reminders_first_then_by_id()
            .await;
        self.the_inbox_returns_at_most_limit_notifications().await;
        self.a_user_never_sees_or_marks_another_users_notification()
            .await;
        self.marking_read_keeps_the_first_read_time().await;
        self.marking_an_unknown_notification_read_answers_false()
            .await;
    }

    /// Twenty deliveries of one firing, half through `replica` (another handle on the same data),
    /// record it at once: exactly one of them is new and the inbox holds it once.
    ///
    /// Not part of [`run_all`](Self::run_all): it needs the replica, and a multi-threaded runtime
    /// so the deliveries really race.
    pub async fn concurrent_records_of_one_firing_store_it_once(
        &self,
        replica: Arc<dyn NotificationStore>,
    ) {
        let notification = notification(fresh_user(), 0);
        let barrier = Arc::new(tokio::sync::Barrier::new(20));
        let attempts: Vec<_> = (0..20)
            .map(|i| {
                let store = if i % 2 == 0 {
                    self.store.clone()
                } else {
                    replica.clone()
                };
                let (barrier, notification) = (barrier.clone(), notification.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    store.record(&notification).await
                })
            })
            .collect();
        let mut new = 0;
        for attempt in attempts {
            if attempt
                .await
                .expect("a delivery panicked")
                .expect("record succeeded")
            {
                new += 1;
            }
        }
        assert_eq!(new, 1, "exactly one concurrent record is new");
        assert_eq!(
            self.list(notification.user_id, 10).await,
            vec![notification],
            "one notification stored"
        );
    }

    async fn record(&self, notification: &Notification) -> bool {
        self.store
            .record(notification)
            .await
            .unwrap_or_else(|e| panic!("record {} failed: {e}", notification.id))
    }

    async fn list(&self, user: UserId, limit: usize) -> Vec<Notification> {
        self.store
            .list(user, limit)
            .await
            .unwrap_or_else(|e| panic!("list for {user} failed: {e}"))
    }

    async fn mark_read(&self, user: UserId, id: Uuid, at: DateTime<Utc>) -> bool {
        self.store
            .mark_read(user, id, at)
            .await
            .unwrap_or_else(|e| panic!("mark_read {id} for {user} failed: {e}"))
    }

    /// Every field round-trips, and a new notification is unread.
    pub async fn a_recorded_notification_lists_back_unread(&self) {
        let user = fresh_user();
        let stored = notification(user, 0);
        assert!(self.record(&stored).await, "a new notification is new");
        assert_eq!(
            self.list(user, 10).await,
            vec![stored],
            "the inbox holds the notification as recorded"
        );
    }

    /// A duplicate or redelivered firing (same id) answers `false` and changes nothing stored: not
    /// the fields, not the read state.
    pub async fn recording_the_same_firing_again_stores_nothing_new(&self) {
        let user = fresh_user();
        let first = notification(user, 0);
        assert!(self.record(&first).await, "the first record is new");
        let redelivered = Notification {
            title: "a later copy".into(),
            created_at: first.created_at + Duration::minutes(5),
            ..first.clone()
        };
        assert!(
            !self.record(&redelivered).await,
            "a second record of the same id must answer false"
        );
        assert_eq!(
            self.list(user, 10).await,
            vec![first.clone()],
            "a duplicate neither adds nor overwrites"
        );

        let read_at = first.created_at + Duration::minutes(1);
        assert!(self.mark_read(user, first.id, read_at).await, "mark read");
        assert!(
            !self.record(&first).await,
            "a record after mark-read is still a duplicate"
        );
        assert_eq!(
            self.list(user, 10).await,
            vec![Notification {
                read_at: Some(read_at),
                ..first
            }],
            "a duplicate does not mark a read notification unread"
        );
    }

    /// Newest `remind_at` first; notifications of the same `remind_at` by id, descending. Neither the
    /// order of recording nor `created_at` matters.
    pub async fn the_inbox_lists_the_newest_reminders_first_then_by_id(&self) {
        let user = fresh_user();
        let oldest = notification(user, 0);
        let newest = notification(user, 60);
        let (mut tie_low, mut tie_high) = (notification(user, 30), notification(user, 30));
        if tie_low.id > tie_high.id {
            std::mem::swap(&mut tie_low, &mut tie_high);
        }
        // Stored in an order, and with creation times, that disagree with the inbox order.
        let mut recorded = [
            tie_low.clone(),
            newest.clone(),
            oldest.clone(),
            tie_high.clone(),
        ];
        for (i, n) in recorded.iter_mut().enumerate() {
            n.created_at = base_time() - Duration::minutes(i64::try_from(i).unwrap_or(0));
            assert!(self.record(n).await, "notification {i} is new");
        }
        assert_eq!(
            ids(&self.list(user, 10).await),
            vec![newest.id, tie_high.id, tie_low.id, oldest.id],
            "inbox order: remind_at descending, then id descending"
        );
    }

    /// `limit` caps the inbox, keeping the newest; a limit of zero lists nothing.
    pub async fn the_inbox_returns_at_most_limit_notifications(&self) {
        let user = fresh_user();
        let mut all = Vec::new();
        for minutes in 0..5 {
            let n = notification(user, minutes * 10);
            assert!(self.record(&n).await, "notification {minutes} is new");
            all.push(n);
        }
        all.reverse();
        assert_eq!(
            ids(&self.list(user, 2).await),
            ids(&all[..2]),
            "limit 2 keeps the two newest"
        );
        assert_eq!(
            ids(&self.list(user, 5).await),
            ids(&all),
            "limit equal to the count lists all"
        );
        assert_eq!(
            ids(&self.list(user, 100).await),
            ids(&all),
            "a limit above the count lists all"
        );
        assert!(self.list(user, 0).await.is_empty(), "limit 0 lists nothing");
        assert_eq!(
            ids(&self.list(user, usize::MAX).await),
            ids(&all),
            "the largest limit lists all"
        );
    }

    /// Listing is scoped to the user, and nobody can mark another user's notification read.
    pub async fn a_user_never_sees_or_marks_another_users_notification(&self) {
        let (alice, bob) = (fresh_user(), fresh_user());
        let alices = notification(alice, 0);
        let bobs = notification(bob, 5);
        assert!(self.record(&alices).await, "alice's is new");
        assert!(self.record(&bobs).await, "bob's is new");

        assert_eq!(ids(&self.list(alice, 10).await), vec![alices.id]);
        assert_eq!(ids(&self.list(bob, 10).await), vec![bobs.id]);
        assert!(
            self.list(fresh_user(), 10).await.is_empty(),
            "a user without notifications has an empty inbox"
        );

        assert!(
            !self.mark_read(bob, alices.id, base_time()).await,
            "bob cannot mark alice's notification read"
        );
        assert_eq!(
            self.list(alice, 10).await,
            vec![alices],
            "alice's notification is still unread"
        );
    }

    /// Marking read sets `read_at`; marking again answers `true` and keeps the first `read_at`.
    pub async fn marking_read_keeps_the_first_read_time(&self) {
        let user = fresh_user();
        let n = notification(user, 0);
        let other = notification(user, 10);
        assert!(self.record(&n).await, "new");
        assert!(self.record(&other).await, "new");

        let first_read = n.created_at + Duration::minutes(3);
        assert!(self.mark_read(user, n.id, first_read).await, "mark read");
        assert!(
            self.mark_read(user, n.id, first_read + Duration::hours(1))
                .await,
            "marking a read notification read again answers true"
        );
        let inbox = self.list(user, 10).await;
        assert_eq!(
            inbox,
            vec![
                other,
                Notification {
                    read_at: Some(first_read),
                    ..n
                }
            ],
            "only the marked notification is read, at the first read time"
        );
    }

    /// An id nobody recorded answers `false`.
    pub async fn marking_an_unknown_notification_read_answers_false(&self) {
        let user = fresh_user();
        assert!(
            !self.mark_read(user, Uuid::new_v4(), base_time()).await,
            "an unknown id cannot be marked read"
        );
        assert!(self.list(user, 10).await.is_empty(), "and nothing appears");
    }
}
