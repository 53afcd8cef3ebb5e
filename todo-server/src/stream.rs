//! The real-time stream hub: per-user fan-out of `task-events` (every create, update, completion and
//! deletion), `task-updates` and `reminders` to SSE connections, with a short replay buffer so a client
//! reconnecting with `Last-Event-ID` misses nothing.
//!
//! Each API replica runs its own hub and must receive every event (its own consumer group per replica,
//! e.g. Dapr's `consumerGroup: "{podName}"`), because a user's connection may be on any replica; so a
//! client may resume on another replica than the one it left. The hub lets a user go once they have
//! had neither a connection nor an event here for a while: its memory follows the active users, not
//! every user who ever had an event, and a live channel exists only for users who connected.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use todo_core::events::{topics, EventHeader, Message};
use todo_core::model::{EventId, UserId};
use todo_core::ports::{EventBus, HandleError, MessageHandler, PortResult};
use tokio::sync::broadcast;

/// Events kept per user for resumption.
const REPLAY: usize = 100;
/// Events buffered per live connection before a slow client starts losing them.
const LIVE: usize = 256;
/// How long a user without a connection is kept after their last event or connection.
const IDLE_KEEP: Duration = Duration::from_secs(600);
/// Idle users are let go once every this many events and subscriptions.
const SWEEP_EVERY: u64 = 1024;

/// One event for a user's stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamEvent {
    /// SSE `id:` (the event id).
    pub id: EventId,
    /// SSE `event:` name: `task-event`, `task-update` or `reminder`.
    pub kind: &'static str,
    /// SSE `data:` (the topic's JSON text), shared by the replay buffer and the live stream.
    pub data: Arc<str>,
}

struct UserStream {
    recent: VecDeque<StreamEvent>,
    /// Created by the first connection; dropped (closing its receivers) by a resync.
    live: Option<broadcast::Sender<StreamEvent>>,
    /// The last event or subscription.
    active: Instant,
}

impl UserStream {
    fn new() -> Self {
        Self {
            recent: VecDeque::new(),
            live: None,
            active: Instant::now(),
        }
    }

    fn connections(&self) -> usize {
        self.live
            .as_ref()
            .map_or(0, broadcast::Sender::receiver_count)
    }

    fn idle(&self) -> bool {
        self.connections() == 0 && self.active.elapsed() > IDLE_KEEP
    }
}

/// Fans events out to each user's connections.
#[derive(Default)]
pub struct StreamHub {
    users: Mutex<HashMap<UserId, UserStream>>,
    operations: AtomicU64,
    /// The broadcast subscription restarted and has delivered nothing since.
    awaiting_join: AtomicBool,
}

impl StreamHub {
    /// An empty hub.
    pub fn new() -> Self {
        Self::default()
    }

    fn users(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, UserStream>> {
        let mut users = self
            .users
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.operations.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            users.retain(|_, stream| !stream.idle());
        }
        users
    }

    /// Delivers an event to `user`'s connections and keeps it for replay; a duplicate id is ignored.
    /// Returns whether it reached an open connection.
    pub fn publish(&self, user: UserId, event: StreamEvent) -> bool {
        let mut users = self.users();
        let stream = users.entry(user).or_insert_with(UserStream::new);
        stream.active = Instant::now();
        if stream.recent.iter().any(|e| e.id == event.id) {
            return false;
        }
        if stream.recent.len() == REPLAY {
            stream.recent.pop_front();
        }
        stream.recent.push_back(event.clone());
        match &stream.live {
            Some(live) => live.send(event).is_ok(),
            None => false,
        }
    }

    /// The broadcast subscription restarted (a new Dapr sidecar: see `Transport::on_broadcast_gap`).
    /// Its new consumer group starts at the newest offset once it has joined, so what was published
    /// before then never arrives: the open streams resynchronise now, and again at the first delivery
    /// (proof that the group has joined), which covers what was written in between.
    pub fn broadcast_restarted(&self) {
        self.awaiting_join.store(true, Ordering::SeqCst);
        self.resync();
    }

    /// Ends every open stream, keeping the replay buffers: each client reconnects with
    /// `Last-Event-ID`, gets what is buffered, and reloads (as the web app does after a
    /// reconnection). For when the hub may have missed events.
    pub fn resync(&self) {
        let mut users = self.users();
        let mut ended = 0;
        for stream in users.values_mut() {
            ended += stream.connections();
            // Dropping the sender closes every receiver of its channel.
            stream.live = None;
        }
        tracing::info!(streams = ended, "live streams asked to resynchronise");
    }

    /// Subscribes `user`: the events after `last_event_id` still buffered (all buffered ones when the id
    /// is unknown, none without an id), then the live feed — with no gap between the two.
    pub fn subscribe(
        &self,
        user: UserId,
        last_event_id: Option<EventId>,
    ) -> (Vec<StreamEvent>, broadcast::Receiver<StreamEvent>) {
        let mut users = self.users();
        let stream = users.entry(user).or_insert_with(UserStream::new);
        stream.active = Instant::now();
        let replay = match last_event_id {
            None => Vec::new(),
            Some(id) => match stream.recent.iter().position(|e| e.id == id) {
                Some(at) => stream.recent.iter().skip(at + 1).cloned().collect(),
                None => stream.recent.iter().cloned().collect(),
            },
        };
        let live = stream
            .live
            .get_or_insert_with(|| broadcast::channel(LIVE).0)
            .subscribe();
        (replay, live)
    }
}

/// Consumes `task-events`, `task-updates` and `reminders` from the broadcast subscription into the
/// hub: what keeps every open client in sync, and the in-app delivery of reminders.
pub struct StreamConsumer(pub Arc<StreamHub>);

#[async_trait]
impl MessageHandler for StreamConsumer {
    #[tracing::instrument(name = "stream_consumer", skip_all, fields(event_id = %message.id))]
    async fn handle(&self, message: &Message) -> Result<(), HandleError> {
        if self.0.awaiting_join.swap(false, Ordering::SeqCst) {
            self.0.resync();
        }
        self.0.deliver(message)
    }
}

impl StreamHub {
    /// Hands a topic message to its user's streams.
    fn deliver(&self, message: &Message) -> Result<(), HandleError> {
        // The hub needs whose event it is and its id, not the rest: the header alone is decoded.
        let header = EventHeader::decode(&message.topic, &message.payload)
            .map_err(|e| HandleError::dropped("decoding a stream event", e))?;
        let kind = match message.topic.as_str() {
            topics::TASK_EVENTS => "task-event",
            topics::TASK_UPDATES => "task-update",
            topics::REMINDERS => "reminder",
            other => {
                return Err(HandleError::dropped(
                    "decoding a stream event",
                    format!("not a stream topic: {other}"),
                ))
            }
        };
        let delivered = self.publish(
            header.user_id,
            StreamEvent {
                id: header.event_id,
                kind,
                data: message.payload.to_string().into(),
            },
        );
        if delivered && kind == "reminder" {
            metrics::counter!("todo_reminders_delivered_total").increment(1);
        }
        Ok(())
    }
}

/// The publisher of a replica that holds live streams: what it publishes also goes straight to its own
/// hub, once the broker has acknowledged it.
///
/// The broadcast subscription alone can miss events: its consumer group is new for each replica and
/// starts at the newest offset, so a partition it has not consumed from yet has no committed
/// position, and after a broker outage it rejoins at the end of that partition, past what the relay
/// published meanwhile. With the echo, the changes written through this replica reach its streams
/// whatever the broker did; the hub drops the copy that arrives through the broker by its event id.
pub struct StreamEcho {
    inner: Arc<dyn EventBus>,
    hub: Arc<StreamHub>,
}

impl StreamEcho {
    /// Publishes through `inner`, echoing every acknowledged stream event into `hub`.
    pub fn new(inner: Arc<dyn EventBus>, hub: Arc<StreamHub>) -> Self {
        Self { inner, hub }
    }

    async fn echo(&self, message: &Message) {
        if matches!(
            message.topic.as_str(),
            topics::TASK_EVENTS | topics::TASK_UPDATES | topics::REMINDERS
        ) {
            // A message the hub cannot decode would be dropped by the broadcast consumer too.
            let _ = self.hub.deliver(message);
        }
    }
}

#[async_trait]
impl EventBus for StreamEcho {
    async fn publish(&self, message: &Message) -> PortResult<()> {
        self.inner.publish(message).await?;
        self.echo(message).await;
        Ok(())
    }

    async fn publish_all(&self, messages: &[Message]) -> PortResult<()> {
        self.inner.publish_all(messages).await?;
        for message in messages {
            self.echo(message).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use todo_core::events::DomainEvent;

    fn event(n: u128) -> StreamEvent {
        StreamEvent {
            id: EventId(uuid::Uuid::from_u128(n)),
            kind: "task-update",
            data: n.to_string().into(),
        }
    }

    #[test]
    fn a_reconnecting_client_gets_what_it_missed_and_nothing_twice() {
        let hub = StreamHub::new();
        let user = UserId(uuid::Uuid::from_u128(1));
        let (_, mut live) = hub.subscribe(user, None);
        for n in 1..=3 {
            hub.publish(user, event(n));
        }
        hub.publish(user, event(2));
        assert_eq!(live.try_recv().unwrap(), event(1));
        let (replay, _) = hub.subscribe(user, Some(event(1).id));
        assert_eq!(replay, vec![event(2), event(3)]);
        let other = UserId(uuid::Uuid::from_u128(2));
        assert!(
            hub.subscribe(other, Some(event(1).id)).0.is_empty(),
            "users never see each other's events"
        );
    }

    fn reminder(n: u128, user: UserId) -> Message {
        DomainEvent::Reminder(todo_core::events::ReminderEvent {
            event_id: EventId(uuid::Uuid::from_u128(n)),
            schema_version: todo_core::events::SCHEMA_VERSION,
            task_id: todo_core::model::TaskId(7),
            user_id: user,
            title: "Pay rent".into(),
            due_at: chrono::DateTime::UNIX_EPOCH,
            remind_at: chrono::DateTime::UNIX_EPOCH,
        })
        .to_message()
    }

    #[tokio::test]
    async fn what_a_replica_relays_reaches_its_own_streams_once() {
        let hub = Arc::new(StreamHub::new());
        let bus = Arc::new(todo_core::memory::InMemoryEventBus::new());
        let echo = StreamEcho::new(bus.clone(), hub.clone());
        let user = UserId(uuid::Uuid::from_u128(1));
        let (_, mut live) = hub.subscribe(user, None);

        echo.publish(&reminder(1, user)).await.unwrap();
        echo.publish_all(&[reminder(2, user)]).await.unwrap();
        assert_eq!(bus.published().len(), 2, "published through the broker");
        assert_eq!(
            live.try_recv().unwrap().id,
            EventId(uuid::Uuid::from_u128(1))
        );
        assert_eq!(
            live.try_recv().unwrap().id,
            EventId(uuid::Uuid::from_u128(2))
        );
        // The broker's copy arrives too: the hub recognises it.
        StreamConsumer(hub.clone())
            .handle(&reminder(1, user))
            .await
            .unwrap();
        assert!(live.try_recv().is_err(), "no event twice");
        // Other topics are not the streams' business.
        let mut other = reminder(3, user);
        other.topic = "task-events.dlq".into();
        echo.publish(&other).await.unwrap();
        assert!(live.try_recv().is_err());
    }

    #[tokio::test]
    async fn nothing_is_echoed_that_the_broker_refused() {
        let hub = Arc::new(StreamHub::new());
        let bus = Arc::new(todo_core::memory::InMemoryEventBus::new());
        bus.fail_next(1);
        let echo = StreamEcho::new(bus, hub.clone());
        let user = UserId(uuid::Uuid::from_u128(1));
        let (_, mut live) = hub.subscribe(user, None);
        assert!(echo.publish(&reminder(1, user)).await.is_err());
        assert!(live.try_recv().is_err());
    }

    #[test]
    fn a_resync_ends_open_streams_and_keeps_what_they_can_resume_from() {
        let hub = StreamHub::new();
        let user = UserId(uuid::Uuid::from_u128(1));
        let (_, mut live) = hub.subscribe(user, None);
        hub.publish(user, event(1));
        hub.resync();
        assert_eq!(
            live.try_recv().unwrap(),
            event(1),
            "what was sent stays readable"
        );
        assert_eq!(
            live.try_recv(),
            Err(broadcast::error::TryRecvError::Closed),
            "then the stream ends"
        );
        let (replay, mut again) = hub.subscribe(user, Some(event(0).id));
        assert_eq!(replay, vec![event(1)]);
        hub.publish(user, event(2));
        assert_eq!(again.try_recv().unwrap(), event(2));
    }

    #[test]
    fn idle_users_are_let_go() {
        let hub = StreamHub::new();
        let user = UserId(uuid::Uuid::from_u128(1));
        assert!(!hub.publish(user, event(1)), "no connection yet");
        // A client resuming here (after a connection to another replica) gets what was buffered.
        let (replay, live) = hub.subscribe(user, Some(event(0).id));
        assert_eq!(replay, vec![event(1)]);
        drop(live);
        for stream in hub.users.lock().unwrap().values_mut() {
            stream.active -= IDLE_KEEP + Duration::from_secs(1);
        }
        // Kept while connected, however long ago it was active.
        let connected = UserId(uuid::Uuid::from_u128(2));
        let (_, _open) = hub.subscribe(connected, None);
        hub.users
            .lock()
            .unwrap()
            .get_mut(&connected)
            .unwrap()
            .active -= IDLE_KEEP + Duration::from_secs(1);
        for n in 0..SWEEP_EVERY {
            hub.publish(
                UserId(uuid::Uuid::from_u128(100)),
                event(u128::from(n) + 10),
            );
        }
        let users = hub.users.lock().unwrap();
        assert!(
            !users.contains_key(&user),
            "idle and without a connection: let go"
        );
        assert!(users.contains_key(&connected));
        assert_eq!(users.len(), 2);
    }

    #[tokio::test]
    async fn after_a_broadcast_restart_streams_resync_now_and_at_the_first_delivery() {
        let hub = Arc::new(StreamHub::new());
        let user = UserId(uuid::Uuid::from_u128(1));
        let (_, mut before) = hub.subscribe(user, None);
        hub.broadcast_restarted();
        assert_eq!(
            before.try_recv(),
            Err(broadcast::error::TryRecvError::Closed)
        );
        // Reconnected before the new group joined; what this replica relays does not prove a join.
        let (_, mut reconnected) = hub.subscribe(user, None);
        let echo = StreamEcho::new(
            Arc::new(todo_core::memory::InMemoryEventBus::new()),
            hub.clone(),
        );
        echo.publish(&reminder(1, user)).await.unwrap();
        assert_eq!(
            reconnected.try_recv().unwrap().id,
            EventId(uuid::Uuid::from_u128(1))
        );
        // The first delivery through the broker does: the stream resynchronises once more...
        StreamConsumer(hub.clone())
            .handle(&reminder(2, user))
            .await
            .unwrap();
        assert_eq!(
            reconnected.try_recv(),
            Err(broadcast::error::TryRecvError::Closed)
        );
        let (replay, mut last) = hub.subscribe(user, Some(EventId(uuid::Uuid::from_u128(1))));
        assert_eq!(
            replay.len(),
            1,
            "and the delivery waits in the replay buffer"
        );
        // ... and only once.
        StreamConsumer(hub.clone())
            .handle(&reminder(3, user))
            .await
            .unwrap();
        assert_eq!(
            last.try_recv().unwrap().id,
            EventId(uuid::Uuid::from_u128(3))
        );
    }
}
