use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{Duration as Minutes, TimeZone as _, Utc};
use uuid::Uuid;

use super::*;
use crate::events::SCHEMA_VERSION;
use crate::memory::{InMemoryDeliveryStore, InMemoryUserRepository, ManualClock};
use crate::model::{EventId, TaskId, TimeZone, UserId};
use crate::ports::{DeliveryState, User, UserSettings};

/// A channel that answers from a script (then `Sent`) and records what it was asked to deliver.
struct Scripted {
    kind: ChannelKind,
    answers: Mutex<VecDeque<Result<Delivered, ChannelError>>>,
    delivered: Mutex<Vec<Reminder>>,
}

impl Scripted {
    fn new(kind: ChannelKind, answers: Vec<Result<Delivered, ChannelError>>) -> Arc<Self> {
        Arc::new(Self {
            kind,
            answers: Mutex::new(answers.into()),
            delivered: Mutex::new(Vec::new()),
        })
    }

    fn delivered(&self) -> Vec<Reminder> {
        self.delivered.lock().unwrap().clone()
    }
}

#[async_trait]
impl ReminderChannel for Scripted {
    fn kind(&self) -> ChannelKind {
        self.kind
    }

    async fn deliver(&self, reminder: &Reminder) -> Result<Delivered, ChannelError> {
        self.delivered.lock().unwrap().push(reminder.clone());
        self.answers
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(Ok(Delivered::Sent))
    }
}

fn refused() -> ChannelError {
    ChannelError::transient("connecting to the SMTP server", "connection refused")
}

struct Fixture {
    deliveries: ReminderDeliveries,
    store: Arc<InMemoryDeliveryStore>,
    users: Arc<InMemoryUserRepository>,
    clock: Arc<ManualClock>,
}

fn ada() -> UserId {
    UserId(Uuid::from_u128(0xADA))
}

async fn fixture(channels: Vec<Arc<dyn ReminderChannel>>) -> Fixture {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 28, 8, 0, 0).unwrap(),
    ));
    let users = Arc::new(InMemoryUserRepository::new());
    users
        .create_user(User {
            id: ada(),
            email: "ada@example.com".into(),
            name: None,
            password_hash: String::new(),
            created_at: clock.now(),
            settings: UserSettings {
                timezone: TimeZone::parse("Europe/Paris").unwrap(),
                ..UserSettings::default()
            },
        })
        .await
        .unwrap();
    let store = Arc::new(InMemoryDeliveryStore::new());
    let deliveries = ReminderDeliveries::new(
        store.clone(),
        users.clone(),
        clock.clone(),
        channels,
        DeliveryPolicy {
            max_attempts: 3,
            ..DeliveryPolicy::default()
        },
    );
    Fixture {
        deliveries,
        store,
        users,
        clock,
    }
}

fn reminder_event(user: UserId) -> ReminderEvent {
    let remind_at = Utc.with_ymd_and_hms(2026, 3, 28, 8, 0, 0).unwrap();
    ReminderEvent {
        event_id: EventId(Uuid::new_v4()),
        schema_version: SCHEMA_VERSION,
        task_id: TaskId(12),
        user_id: user,
        title: "Pay rent".into(),
        due_at: remind_at + Minutes::hours(1),
        remind_at,
    }
}

fn kinds(attempts: &[Attempt]) -> Vec<&'static str> {
    attempts
        .iter()
        .map(|a| match a.outcome {
            DeliveryOutcome::Sent { .. } => "sent",
            DeliveryOutcome::Skipped { .. } => "skipped",
            DeliveryOutcome::Retry { .. } => "retry",
            DeliveryOutcome::Dead { .. } => "dead",
        })
        .collect()
}

#[tokio::test]
async fn a_reminder_reaches_each_channel_once_even_when_its_event_comes_twice() {
    let email = Scripted::new(ChannelKind::Email, vec![]);
    let push = Scripted::new(ChannelKind::Push, vec![]);
    let f = fixture(vec![email.clone(), push.clone()]).await;
    let event = reminder_event(ada());
    assert_eq!(f.deliveries.enqueue(&event).await.unwrap(), 2);
    assert_eq!(
        f.deliveries.enqueue(&event).await.unwrap(),
        0,
        "a duplicate adds none"
    );

    f.clock.advance(Minutes::seconds(3));
    let sent = f.deliveries.deliver_due(ChannelKind::Email).await.unwrap();
    assert_eq!(kinds(&sent), ["sent"]);
    assert_eq!(sent[0].delay, Some(std::time::Duration::from_secs(3)));
    assert_eq!(
        kinds(&f.deliveries.deliver_due(ChannelKind::Push).await.unwrap()),
        ["sent"]
    );
    assert!(f
        .deliveries
        .deliver_due(ChannelKind::Email)
        .await
        .unwrap()
        .is_empty());
    f.deliveries.enqueue(&event).await.unwrap();
    assert!(f
        .deliveries
        .deliver_due(ChannelKind::Email)
        .await
        .unwrap()
        .is_empty());

    let [one] = email.delivered().try_into().unwrap();
    assert_eq!(one.email, "ada@example.com");
    assert_eq!(one.timezone, chrono_tz::Europe::Paris);
    assert_eq!((one.title.as_str(), one.task_id), ("Pay rent", TaskId(12)));
    assert_eq!(push.delivered().len(), 1);
}

#[tokio::test]
async fn a_failing_channel_is_retried_with_backoff_then_dead_lettered_and_never_holds_up_another() {
    let email = Scripted::new(
        ChannelKind::Email,
        vec![Err(refused()), Err(refused()), Err(refused())],
    );
    let push = Scripted::new(ChannelKind::Push, vec![]);
    let f = fixture(vec![email.clone(), push.clone()]).await;
    let event = reminder_event(ada());
    f.deliveries.enqueue(&event).await.unwrap();

    let first = f.deliveries.deliver_due(ChannelKind::Email).await.unwrap();
    assert_eq!(kinds(&first), ["retry"]);
    assert_eq!(
        kinds(&f.deliveries.deliver_due(ChannelKind::Push).await.unwrap()),
        ["sent"],
        "push is not held up"
    );
    let DeliveryOutcome::Retry { at, error } = &first[0].outcome else {
        unreachable!()
    };
    let wait = *at - f.clock.now();
    assert!(
        wait >= Minutes::seconds(1) && wait <= Minutes::seconds(2),
        "{wait}"
    );
    assert!(error.contains("connection refused"), "{error}");
    assert!(
        f.deliveries
            .deliver_due(ChannelKind::Email)
            .await
            .unwrap()
            .is_empty(),
        "not before its time"
    );

    f.clock.advance(wait);
    assert_eq!(
        kinds(&f.deliveries.deliver_due(ChannelKind::Email).await.unwrap()),
        ["retry"]
    );
    f.clock.advance(Minutes::seconds(5));
    let last = f.deliveries.deliver_due(ChannelKind::Email).await.unwrap();
    assert_eq!(kinds(&last), ["dead"]);
    assert_eq!(
        f.store
            .state(event.event_id, ChannelKind::Email)
            .await
            .unwrap(),
        Some(DeliveryState::Dead {
            attempts: 3,
            reason: "gave up after 3 attempts: connecting to the SMTP server: connection refused"
                .into()
        })
    );
    assert_eq!(email.delivered().len(), 3);
}

#[tokio::test]
async fn a_permanent_failure_is_dead_at_once_and_a_channel_turned_off_sends_nothing() {
    let email = Scripted::new(
        ChannelKind::Email,
        vec![Err(ChannelError::permanent(
            "sending",
            "550 no such mailbox",
        ))],
    );
    let push = Scripted::new(ChannelKind::Push, vec![Ok(Delivered::NoRecipient)]);
    let f = fixture(vec![email.clone(), push.clone()]).await;
    f.deliveries.enqueue(&reminder_event(ada())).await.unwrap();
    assert_eq!(
        kinds(&f.deliveries.deliver_due(ChannelKind::Email).await.unwrap()),
        ["dead"]
    );
    assert_eq!(
        kinds(&f.deliveries.deliver_due(ChannelKind::Push).await.unwrap()),
        ["skipped"]
    );

    let mut settings = f.users.user_by_id(ada()).await.unwrap().unwrap().settings;
    settings.email_notifications = false;
    f.users.update_settings(ada(), &settings).await.unwrap();
    let event = reminder_event(ada());
    f.deliveries.enqueue(&event).await.unwrap();
    assert_eq!(
        kinds(&f.deliveries.deliver_due(ChannelKind::Email).await.unwrap()),
        ["skipped"]
    );
    assert_eq!(
        email.delivered().len(),
        1,
        "nothing sent while email is off"
    );
    assert_eq!(
        f.store
            .state(event.event_id, ChannelKind::Email)
            .await
            .unwrap(),
        Some(DeliveryState::Skipped {
            reason: "email is off in the user's settings".into()
        })
    );
}

#[tokio::test]
async fn a_batch_is_delivered_to_many_users_and_only_configured_channels_get_records() {
    let email = Scripted::new(ChannelKind::Email, vec![Err(refused())]);
    let f = fixture(vec![email.clone()]).await;
    let events: Vec<ReminderEvent> = (0..5).map(|_| reminder_event(ada())).collect();
    for event in &events {
        assert_eq!(f.deliveries.enqueue(event).await.unwrap(), 1, "email only");
    }
    let attempts = f.deliveries.deliver_due(ChannelKind::Email).await.unwrap();
    let mut outcomes = kinds(&attempts);
    outcomes.sort_unstable();
    assert_eq!(
        outcomes,
        ["retry", "sent", "sent", "sent", "sent"],
        "one failure holds up no other"
    );
    assert!(f
        .deliveries
        .deliver_due(ChannelKind::Push)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(f.deliveries.channels(), [ChannelKind::Email]);
}
