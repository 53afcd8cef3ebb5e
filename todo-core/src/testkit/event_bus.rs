//! The conformance suite of [`EventBus`]: what is published arrives intact, in order per key, at every
//! consumer group.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::events::Message;
use crate::model::EventId;
use crate::ports::{EventBus, HandleError, MessageHandler};

/// What an adapter's test provides to [`EventBusSuite`]: the bus and a way to consume from it.
#[async_trait]
pub trait BusHarness: Send + Sync {
    /// The bus under test.
    fn bus(&self) -> Arc<dyn EventBus>;

    /// Starts consuming `topic` as consumer group `group`. Every message published after this returns
    /// must reach the receiver (at least once); dropping the receiver ends the subscription.
    async fn subscribe(&self, topic: &str, group: &str) -> mpsc::UnboundedReceiver<Message>;

    /// The topic the suite publishes to; on a real broker it must exist. Default `todo-conformance`.
    fn topic(&self) -> String {
        "todo-conformance".to_owned()
    }

    /// Two distinct consumer groups the harness can subscribe. Default `conformance-a`, `conformance-b`.
    fn groups(&self) -> (String, String) {
        ("conformance-a".to_owned(), "conformance-b".to_owned())
    }

    /// How long a message may take to arrive. Default 30 s, for real brokers.
    fn timeout(&self) -> Duration {
        Duration::from_secs(30)
    }
}

/// A [`MessageHandler`] that forwards every message to a channel: the usual body of
/// [`BusHarness::subscribe`] for adapters that deliver to handlers.
#[derive(Debug, Clone)]
pub struct ChannelHandler {
    sender: mpsc::UnboundedSender<Message>,
}

impl ChannelHandler {
    /// A handler and the receiver of what it handles.
    pub fn new() -> (Arc<Self>, mpsc::UnboundedReceiver<Message>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (Arc::new(Self { sender }), receiver)
    }
}

#[async_trait]
impl MessageHandler for ChannelHandler {
    async fn handle(&self, message: &Message) -> Result<(), HandleError> {
        // A dropped receiver means the test has finished with this subscription: accept and forget.
        let _ = self.sender.send(message.clone());
        Ok(())
    }
}

/// Checks an [`EventBus`] adapter through its [`BusHarness`]. Run the cases one after the other
/// ([`Self::run_all`]): they share a topic and consumer groups.
pub struct EventBusSuite<H> {
    harness: H,
}

impl<H: BusHarness> EventBusSuite<H> {
    /// A suite over `harness`.
    pub fn new(harness: H) -> Self {
        Self { harness }
    }

    /// Runs every case, one after the other.
    pub async fn run_all(&self) {
        self.a_message_arrives_exactly_as_published().await;
        self.publish_all_delivers_every_message().await;
        self.messages_with_one_key_arrive_in_publish_order().await;
        self.every_consumer_group_receives_every_message().await;
        self.a_large_payload_arrives_intact().await;
    }

    fn message(&self, key: &str, payload: serde_json::Value) -> Message {
        Message {
            id: EventId(Uuid::now_v7()),
            topic: self.harness.topic(),
            key: key.to_owned(),
            event_type: "com.todo.conformance.checked".to_owned(),
            payload,
        }
    }

    async fn publish(&self, message: &Message) {
        if let Err(error) = self.harness.bus().publish(message).await {
            panic!("publishing message {} failed: {error}", message.id);
        }
    }

    /// Receives until every message of `ids` arrived; returns their first arrivals in arrival order
    /// (redeliveries are tolerated and dropped).
    async fn receive(
        &self,
        receiver: &mut mpsc::UnboundedReceiver<Message>,
        ids: &[EventId],
        what: &str,
    ) -> Vec<Message> {
        let wanted: HashSet<EventId> = ids.iter().copied().collect();
        let mut seen = HashSet::new();
        let mut arrived = Vec::new();
        let deadline = tokio::time::Instant::now() + self.harness.timeout();
        while seen.len() < wanted.len() {
            let next = tokio::time::timeout_at(deadline, receiver.recv()).await;
            match next {
                Ok(Some(message)) => {
                    if wanted.contains(&message.id) && seen.insert(message.id) {
                        arrived.push(message);
                    }
                }
                Ok(None) => panic!(
                    "{what}: the subscription ended after {} of {} messages",
                    seen.len(),
                    wanted.len()
                ),
                Err(_) => panic!(
                    "{what}: only {} of {} messages arrived within {:?}",
                    seen.len(),
                    wanted.len(),
                    self.harness.timeout()
                ),
            }
        }
        arrived
    }

    /// A message arrives with the id, topic, key, type and payload it was published with.
    pub async fn a_message_arrives_exactly_as_published(&self) {
        let (group, _) = self.harness.groups();
        let mut receiver = self.harness.subscribe(&self.harness.topic(), &group).await;
        let sent = self.message(
            "42",
            serde_json::json!({
                "event_id": Uuid::now_v7(),
                "schema_version": 1,
                "title": "Buy groceries — milk, eggs & «bread» 🥛",
                "numbers": [0, -1, 9_007_199_254_740_991_i64, 1.5],
                "nested": { "empty": {}, "list": [], "null": null, "flag": true }
            }),
        );
        self.publish(&sent).await;
        let arrived = self
            .receive(&mut receiver, &[sent.id], "a single message")
            .await;
        assert_eq!(
            arrived,
            vec![sent],
            "a message must arrive exactly as published"
        );
    }

    /// `publish_all` delivers every message of the batch.
    pub async fn publish_all_delivers_every_message(&self) {
        let (group, _) = self.harness.groups();
        let mut receiver = self.harness.subscribe(&self.harness.topic(), &group).await;
        let batch: Vec<Message> = (0..5)
            .map(|n| self.message(&n.to_string(), serde_json::json!({ "n": n })))
            .collect();
        if let Err(error) = self.harness.bus().publish_all(&batch).await {
            panic!("publish_all failed: {error}");
        }
        let ids: Vec<EventId> = batch.iter().map(|m| m.id).collect();
        let arrived = self.receive(&mut receiver, &ids, "publish_all").await;
        let by_id: HashMap<EventId, &Message> = arrived.iter().map(|m| (m.id, m)).collect();
        for message in &batch {
            assert_eq!(
                by_id.get(&message.id),
                Some(&message),
                "a message of publish_all arrived changed"
            );
        }
    }

    /// 100 messages over 5 keys: each key's messages arrive in the order they were published.
    pub async fn messages_with_one_key_arrive_in_publish_order(&self) {
        let (group, _) = self.harness.groups();
        let mut receiver = self.harness.subscribe(&self.harness.topic(), &group).await;
        let keys: Vec<String> = (0..5).map(|_| rand::random::<u32>().to_string()).collect();
        let mut sent = Vec::new();
        for seq in 0..100 {
            let message = self.message(&keys[seq % keys.len()], serde_json::json!({ "seq": seq }));
            self.publish(&message).await;
            sent.push(message);
        }
        let ids: Vec<EventId> = sent.iter().map(|m| m.id).collect();
        let arrived = self
            .receive(&mut receiver, &ids, "100 keyed messages")
            .await;
        for key in &keys {
            let published: Vec<EventId> = sent
                .iter()
                .filter(|m| &m.key == key)
                .map(|m| m.id)
                .collect();
            let received: Vec<EventId> = arrived
                .iter()
                .filter(|m| &m.key == key)
                .map(|m| m.id)
                .collect();
            assert_eq!(
                received, published,
                "messages with key {key} must arrive in publish order"
            );
        }
    }

    /// Two consumer groups each receive every message.
    pub async fn every_consumer_group_receives_every_message(&self) {
        let (a, b) = self.harness.groups();
        let topic = self.harness.topic();
        let mut first = self.harness.subscribe(&topic, &a).await;
        let mut second = self.harness.subscribe(&topic, &b).await;
        let sent: Vec<Message> = (0..10)
            .map(|n| self.message(&n.to_string(), serde_json::json!({ "n": n })))
            .collect();
        for message in &sent {
            self.publish(message).await;
        }
        let ids: Vec<EventId> = sent.iter().map(|m| m.id).collect();
        self.receive(&mut first, &ids, &format!("consumer group {a}"))
            .await;
        self.receive(&mut second, &ids, &format!("consumer group {b}"))
            .await;
    }

    /// A 64 KiB payload arrives byte for byte.
    pub async fn a_large_payload_arrives_intact(&self) {
        let (group, _) = self.harness.groups();
        let mut receiver = self.harness.subscribe(&self.harness.topic(), &group).await;
        let text: String = (0..64 * 1024)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let sent = self.message("7", serde_json::json!({ "description": text }));
        self.publish(&sent).await;
        let arrived = self
            .receive(&mut receiver, &[sent.id], "a 64 KiB message")
            .await;
        assert!(
            arrived == vec![sent],
            "a 64 KiB payload must arrive unchanged"
        );
    }
}
