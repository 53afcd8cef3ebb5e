//! [`EventBus`] on Dapr pub/sub: `POST /v1.0/publish/{pubsub}/{topic}`, one CloudEvent per message,
//! keyed by task id; `publish_all` through the bulk API.

use async_trait::async_trait;
use reqwest::Method;
use serde_json::{json, Value};
use todo_core::events::Message;
use todo_core::ports::{EventBus, PortResult};
use tracing::debug;

use crate::client::{ApiRequest, DaprClient, Retry};
use crate::cloudevent::{to_cloud_event, CLOUDEVENTS_CONTENT_TYPE};
use crate::error::DaprError;

/// The pub/sub component name the application uses (SPEC §8), whatever the broker behind it.
pub const DEFAULT_PUBSUB: &str = "kafka-pubsub";

/// Publishes through the sidecar's pub/sub API. `Ok` means daprd answered 204, which it does only
/// after the component's publish returned: for `pubsub.kafka`, after the broker acknowledged (the
/// component's default `producerRequiredAcks` is `all`).
///
/// A failed publish is retried with backoff ([`crate::RetryPolicy`]); a publish that timed out may
/// have gone through, so a retry can duplicate a message (delivery is at-least-once anyway).
#[derive(Debug, Clone)]
pub struct DaprEventBus {
    client: DaprClient,
    pubsub: String,
    source: String,
    bulk_size: usize,
}

impl DaprEventBus {
    /// Publishes on the pub/sub component `pubsub` (normally [`DEFAULT_PUBSUB`]).
    #[must_use]
    pub fn new(client: DaprClient, pubsub: impl Into<String>) -> Self {
        Self {
            client,
            pubsub: pubsub.into(),
            source: "todo".to_owned(),
            bulk_size: 100,
        }
    }

    /// The CloudEvents `source` of published events (default `todo`), such as the service's name.
    #[must_use]
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = source.into();
        self
    }

    /// How many messages one bulk request carries at most (default 100); 0 or 1 turns the bulk API
    /// off, so `publish_all` publishes one by one.
    ///
    /// Dapr's bulk publish is native for Kafka (one producer batch, order kept per key). For a broker
    /// without native bulk support daprd publishes the entries concurrently, so per-key order within a
    /// batch is not kept there; turn bulk off for such a broker if order matters. daprd also decodes
    /// bulk entries as plain JSON, so integers beyond 2^53 in a payload lose precision there, where
    /// single publishes keep every number exactly.
    #[must_use]
    pub fn with_bulk_size(mut self, bulk_size: usize) -> Self {
        self.bulk_size = bulk_size;
        self
    }

    /// The pub/sub component this bus publishes on.
    #[must_use]
    pub fn pubsub(&self) -> &str {
        &self.pubsub
    }

    /// Publishes one message; the error says what failed.
    pub async fn try_publish(&self, message: &Message) -> Result<(), DaprError> {
        let mut url = self
            .client
            .url(&["v1.0", "publish", &self.pubsub, &message.topic]);
        url.query_pairs_mut()
            .append_pair("metadata.partitionKey", &message.key);
        let body = serde_json::to_vec(&to_cloud_event(message, &self.source))
            .expect("a JSON value always serialises");
        let request = ApiRequest::new("publish", Method::POST, url)
            .body(body, CLOUDEVENTS_CONTENT_TYPE)
            .retry(Retry::Idempotent);
        let response = self.client.send(request).await?;
        if response.status.is_success() {
            debug!(event_id = %message.id, topic = %message.topic, key = %message.key, "published");
            Ok(())
        } else {
            Err(self.client.api_error("publish", &response))
        }
    }

    /// Publishes messages of one topic in one bulk request (`/v1.0/publish/bulk/{pubsub}/{topic}`); `Ok` only
    /// when every entry was published.
    pub async fn try_publish_bulk(
        &self,
        topic: &str,
        messages: &[Message],
    ) -> Result<(), DaprError> {
        let entries: Vec<Value> = messages
            .iter()
            .enumerate()
            .map(|(index, message)| {
                json!({
                    "entryId": index.to_string(),
                    "event": to_cloud_event(message, &self.source),
                    "contentType": CLOUDEVENTS_CONTENT_TYPE,
                    "metadata": { "partitionKey": message.key },
                })
            })
            .collect();
        let url = self
            .client
            .url(&["v1.0", "publish", "bulk", &self.pubsub, topic]);
        let request = ApiRequest::new("bulk publish", Method::POST, url)
            .json(&Value::Array(entries))
            .retry(Retry::Idempotent);
        let response = self.client.send(request).await?;
        if response.status.is_success() {
            debug!(topic, count = messages.len(), "published in bulk");
            Ok(())
        } else {
            Err(self.client.api_error("bulk publish", &response))
        }
    }
}

#[async_trait]
impl EventBus for DaprEventBus {
    async fn publish(&self, message: &Message) -> PortResult<()> {
        Ok(self.try_publish(message).await?)
    }

    /// Consecutive messages of one topic go out in bulk requests of at most the bulk size, in order;
    /// a failed request is retried as a whole (at-least-once), and the first failure ends the call.
    async fn publish_all(&self, messages: &[Message]) -> PortResult<()> {
        if self.bulk_size <= 1 {
            for message in messages {
                self.publish(message).await?;
            }
            return Ok(());
        }
        for run in messages.chunk_by(|a, b| a.topic == b.topic) {
            for batch in run.chunks(self.bulk_size) {
                match batch {
                    [one] => self.try_publish(one).await?,
                    _ => self.try_publish_bulk(&batch[0].topic, batch).await?,
                }
            }
        }
        Ok(())
    }
}
