//! Subscriptions and deliveries: what the app consumes, and the route daprd posts each event to.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};
use todo_core::error::chain;
use todo_core::events::Message;
use todo_core::ports::{HandleError, MessageHandler};
use tracing::{error, info_span, warn, Instrument};

use super::SubscriptionMetadata;
use crate::cloudevent::message_from_delivery;

/// One consumer of one topic: the handler a consumer group would run, in an app whose sidecar
/// subscribes for it. The consumer name labels logs; the Kafka consumer group is the app id.
#[derive(Clone)]
pub struct Subscription {
    pubsub: String,
    topic: String,
    consumer: String,
    handler: Arc<dyn MessageHandler>,
    dead_letter_topic: Option<String>,
    metadata: SubscriptionMetadata,
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("pubsub", &self.pubsub)
            .field("topic", &self.topic)
            .field("consumer", &self.consumer)
            .field("dead_letter_topic", &self.dead_letter_topic)
            .field("metadata", &self.metadata)
            .finish_non_exhaustive()
    }
}

impl Subscription {
    /// `consumer` handles the messages of `topic` on the pub/sub component `pubsub`, without a
    /// dead-letter topic.
    #[must_use]
    pub fn new(
        pubsub: impl Into<String>,
        topic: impl Into<String>,
        consumer: impl Into<String>,
        handler: Arc<dyn MessageHandler>,
    ) -> Self {
        Self {
            pubsub: pubsub.into(),
            topic: topic.into(),
            consumer: consumer.into(),
            handler,
            dead_letter_topic: None,
            metadata: BTreeMap::new(),
        }
    }

    /// Dropped messages go to `topic` (the convention here is `<topic>.dlq`). Consumers of one topic
    /// share one subscription: the first dead-letter topic given for it applies.
    #[must_use]
    pub fn with_dead_letter_topic(mut self, topic: impl Into<String>) -> Self {
        self.dead_letter_topic = Some(topic.into());
        self
    }

    /// Subscription metadata for the component (merged over the topic's consumers).
    #[must_use]
    pub fn with_metadata(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(name.into(), value.into());
        self
    }

    /// The topic.
    #[must_use]
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The route daprd posts this topic's events to.
    #[must_use]
    pub fn route(&self) -> String {
        format!("/dapr/pubsub/{}/{}", self.pubsub, self.topic)
    }
}

/// What the app answers daprd for one delivery (Dapr's `{"status": ...}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeliveryStatus {
    /// Handled: acknowledge it.
    Success,
    /// Can never be handled: dead-letter (or discard) it.
    Drop,
    /// Not handled this time: deliver it again.
    Retry,
}

impl DeliveryStatus {
    /// The wire value.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Success => "SUCCESS",
            DeliveryStatus::Drop => "DROP",
            DeliveryStatus::Retry => "RETRY",
        }
    }
}

/// The consumers of each (pub/sub, topic), in registration order.
pub(super) struct TopicRoutes {
    topics: BTreeMap<(String, String), Vec<Subscription>>,
}

impl TopicRoutes {
    pub(super) fn new(subscriptions: &[Subscription]) -> Self {
        let mut topics: BTreeMap<(String, String), Vec<Subscription>> = BTreeMap::new();
        for subscription in subscriptions {
            topics
                .entry((subscription.pubsub.clone(), subscription.topic.clone()))
                .or_default()
                .push(subscription.clone());
        }
        Self { topics }
    }

    /// Dapr's programmatic subscription list.
    pub(super) fn listing(&self) -> Value {
        let entries: Vec<Value> = self
            .topics
            .values()
            .map(|consumers| {
                let first = &consumers[0];
                let mut entry = json!({
                    "pubsubname": first.pubsub,
                    "topic": first.topic,
                    "route": first.route(),
                });
                if let Some(dead_letter) =
                    consumers.iter().find_map(|s| s.dead_letter_topic.as_ref())
                {
                    entry["deadLetterTopic"] = json!(dead_letter);
                }
                let metadata: SubscriptionMetadata =
                    consumers.iter().flat_map(|s| s.metadata.clone()).collect();
                if !metadata.is_empty() {
                    entry["metadata"] = json!(metadata);
                }
                entry
            })
            .collect();
        Value::Array(entries)
    }
}

/// `POST /dapr/pubsub/{pubsub}/{topic}`: decodes the event and hands it to every consumer of the topic.
pub(super) async fn deliver(
    State(routes): State<Arc<TopicRoutes>>,
    Path((pubsub, topic)): Path<(String, String)>,
    body: Bytes,
) -> (StatusCode, Json<Value>) {
    let Some(consumers) = routes.topics.get(&(pubsub.clone(), topic.clone())) else {
        // Not subscribed here: daprd treats 404 as "drop" and does not retry.
        warn!(%pubsub, %topic, "delivery for a topic this app does not consume");
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "status": DeliveryStatus::Drop.as_str() })),
        );
    };
    let status = match message_from_delivery(&body, &topic) {
        Ok(message) => {
            let span = info_span!("delivery", %topic, event_id = %message.id, key = %message.key);
            dispatch(consumers, message).instrument(span).await
        }
        Err(reason) => {
            warn!(%pubsub, %topic, error = %chain(&reason), "undecodable delivery dropped");
            DeliveryStatus::Drop
        }
    };
    (StatusCode::OK, Json(json!({ "status": status.as_str() })))
}

/// Calls each consumer; the worst outcome is the answer. A panicking handler is contained (its task
/// fails, not the server) and counts as `DROP`: retrying a bug would only loop.
pub(super) async fn dispatch(consumers: &[Subscription], message: Message) -> DeliveryStatus {
    let mut status = DeliveryStatus::Success;
    for consumer in consumers {
        let handler = consumer.handler.clone();
        let delivered = message.clone();
        let outcome = tokio::spawn(async move { handler.handle(&delivered).await }).await;
        let this = match outcome {
            Ok(Ok(())) => DeliveryStatus::Success,
            Ok(Err(error @ HandleError::Retry { .. })) => {
                warn!(consumer = %consumer.consumer, event_id = %message.id, error = %chain(&error), "handler asked for a retry");
                DeliveryStatus::Retry
            }
            Ok(Err(error @ HandleError::Drop { .. })) => {
                warn!(consumer = %consumer.consumer, event_id = %message.id, error = %chain(&error), "handler dropped the message");
                DeliveryStatus::Drop
            }
            Err(failure) => {
                error!(consumer = %consumer.consumer, %failure, "handler failed; message dropped");
                DeliveryStatus::Drop
            }
        };
        status = status.max(this);
    }
    status
}
