//! Dead letters: records a consumer group can never handle, parked on `<topic>.dlq`.
//!
//! A record is dead-lettered when it cannot be decoded into a [`Message`](todo_core::events::Message)
//! (poison), when its handler answers [`HandleError::Drop`](todo_core::ports::HandleError), or when
//! its handler still answers `Retry` after the last attempt of the
//! [`RetryPolicy`](crate::RetryPolicy). The dead letter keeps the original key, value and headers
//! byte for byte, and adds the headers below, so an operator can inspect it and replay it to the
//! original topic once the cause is fixed. The original offset is committed only after Kafka
//! acknowledged the dead letter, so nothing is lost between the two.
//!
//! The dead-letter topic is created on first use when the cluster auto-creates topics (the local
//! stack does); otherwise create `<topic>.dlq` next to each topic (the Strimzi manifests do).

use rdkafka::message::{Header, Headers, Message as _, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;

use crate::error::KafkaBusError;
use crate::KafkaConfig;

/// Suffix of dead-letter topics: `task-events` → `task-events.dlq`.
pub const DEAD_LETTER_SUFFIX: &str = ".dlq";

/// Header: why the record was dead-lettered (a sentence).
pub const HEADER_REASON: &str = "dlq_reason";
/// Header: the topic the record was read from.
pub const HEADER_ORIGINAL_TOPIC: &str = "dlq_original_topic";
/// Header: its partition there.
pub const HEADER_ORIGINAL_PARTITION: &str = "dlq_original_partition";
/// Header: its offset there.
pub const HEADER_ORIGINAL_OFFSET: &str = "dlq_original_offset";
/// Header: the consumer group that gave up on it.
pub const HEADER_CONSUMER_GROUP: &str = "dlq_consumer_group";

/// The dead-letter topic of `topic`.
#[must_use]
pub fn dead_letter_topic(topic: &str) -> String {
    format!("{topic}{DEAD_LETTER_SUFFIX}")
}

/// Publishes dead letters for one consumer group (its own idempotent producer).
pub(crate) struct DeadLetters {
    producer: FutureProducer,
    group: String,
}

impl DeadLetters {
    pub(crate) fn new(config: &KafkaConfig, group: &str) -> Result<Self, KafkaBusError> {
        Ok(Self {
            producer: config.producer().create().map_err(KafkaBusError::Config)?,
            group: group.to_owned(),
        })
    }

    /// Publishes `record` to its dead-letter topic and waits for the acknowledgement.
    pub(crate) async fn send(
        &self,
        record: &OwnedMessage,
        reason: &str,
    ) -> Result<(), rdkafka::error::KafkaError> {
        let topic = dead_letter_topic(record.topic());
        let mut headers = OwnedHeaders::new();
        if let Some(original) = record.headers() {
            for header in original.iter() {
                headers = headers.insert(header);
            }
        }
        let partition = record.partition().to_string();
        let offset = record.offset().to_string();
        for (key, value) in [
            (HEADER_REASON, reason),
            (HEADER_ORIGINAL_TOPIC, record.topic()),
            (HEADER_ORIGINAL_PARTITION, partition.as_str()),
            (HEADER_ORIGINAL_OFFSET, offset.as_str()),
            (HEADER_CONSUMER_GROUP, self.group.as_str()),
        ] {
            headers = headers.insert(Header {
                key,
                value: Some(value.as_bytes()),
            });
        }
        let mut dead_letter: FutureRecord<'_, [u8], [u8]> =
            FutureRecord::to(&topic).headers(headers);
        if let Some(key) = record.key() {
            dead_letter = dead_letter.key(key);
        }
        if let Some(value) = record.payload() {
            dead_letter = dead_letter.payload(value);
        }
        self.producer
            .send(dead_letter, Timeout::Never)
            .await
            .map(|_| ())
            .map_err(|(error, _)| error)
    }

    /// Delivers what is still queued, on shutdown.
    pub(crate) async fn close(self) {
        let producer = self.producer;
        let _ = tokio::task::spawn_blocking(move || {
            rdkafka::producer::Producer::flush(
                &producer,
                Timeout::After(std::time::Duration::from_secs(5)),
            )
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_letter_topics_are_the_topic_with_a_dlq_suffix() {
        assert_eq!(dead_letter_topic("task-events"), "task-events.dlq");
    }
}
