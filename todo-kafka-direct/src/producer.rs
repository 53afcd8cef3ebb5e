//! [`KafkaEventBus`]: the [`EventBus`] port on an idempotent Kafka producer.
//!
//! `publish` returns `Ok` only once the partition leader acknowledged the message with
//! `acks=all`, so the outbox relay marks an event sent only when Kafka holds it. While a broker is
//! unreachable librdkafka keeps the message queued and retries with backoff (the idempotent
//! producer's sequence numbers keep those retries from duplicating or reordering messages); only
//! after [`KafkaConfig::delivery_timeout`] does `publish` fail with
//! [`PortError::Unavailable`], and the relay tries again later.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;
use todo_core::error::PortError;
use todo_core::events::Message;
use todo_core::ports::{EventBus, PortResult};
use tracing::{debug, warn};

use crate::envelope;
use crate::error::{publish_error, KafkaBusError};
use crate::KafkaConfig;

/// Publishes [`Message`]s to Kafka: keyed by task id, CloudEvents headers, JSON value.
///
/// Cheap to clone (the producer is shared). Call [`KafkaEventBus::close`] on shutdown so that
/// queued messages are delivered before the process exits.
#[derive(Clone)]
pub struct KafkaEventBus {
    producer: FutureProducer,
    source: String,
    delivery_timeout: Duration,
}

impl std::fmt::Debug for KafkaEventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaEventBus")
            .field("source", &self.source)
            .field("delivery_timeout", &self.delivery_timeout)
            .finish_non_exhaustive()
    }
}

impl KafkaEventBus {
    /// Creates the producer. It connects lazily: a broker that is down now is not an error.
    pub fn new(config: &KafkaConfig) -> Result<Self, KafkaBusError> {
        let producer: FutureProducer = config.producer().create().map_err(KafkaBusError::Config)?;
        Ok(Self {
            producer,
            source: config.source.clone(),
            delivery_timeout: config.delivery_timeout,
        })
    }

    /// Puts `message` on the producer's queue, waiting for room while the queue is full (the
    /// bound on messages in memory), and returns the future of its delivery report.
    async fn enqueue(&self, message: &Message) -> PortResult<DeliveryFuture> {
        let payload = envelope::payload(message);
        let mut record = FutureRecord::to(&message.topic)
            .key(&message.key)
            .payload(&payload)
            .headers(envelope::headers(message, &self.source));
        let started = Instant::now();
        loop {
            match self.producer.send_result(record) {
                Ok(delivery) => return Ok(delivery),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned))
                    if started.elapsed() < self.delivery_timeout =>
                {
                    record = returned;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err((error, _)) => return Err(publish_error(&message.topic, error)),
            }
        }
    }

    /// Waits for one delivery report.
    async fn delivered(topic: &str, delivery: DeliveryFuture) -> PortResult<()> {
        match delivery.await {
            Ok(Ok(delivery)) => {
                debug!(
                    partition = delivery.partition,
                    offset = delivery.offset,
                    "delivered"
                );
                Ok(())
            }
            Ok(Err((error, _))) => Err(publish_error(topic, error)),
            Err(_canceled) => Err(publish_error(topic, KafkaError::Canceled)),
        }
    }

    /// Waits until every queued message is delivered (or failed), for at most `timeout`.
    pub async fn flush(&self, timeout: Duration) -> Result<(), PortError> {
        let producer = self.producer.clone();
        tokio::task::spawn_blocking(move || producer.flush(Timeout::After(timeout)))
            .await
            .map_err(|e| PortError::other("kafka: the flush task failed", e))?
            .map_err(|e| PortError::unavailable("kafka: flushing the producer").caused_by(e))
    }

    /// Delivers what is still queued (waiting at most `timeout`), for a clean shutdown. Messages
    /// still undelivered then stay queued until the last clone of the bus is dropped, which fails
    /// their `publish` calls with [`PortError::Unavailable`]: the outbox keeps them for later.
    pub async fn close(&self, timeout: Duration) -> Result<(), PortError> {
        let result = self.flush(timeout).await;
        if let Err(error) = &result {
            warn!(%error, in_flight = self.producer.in_flight_count(), "closing with undelivered messages");
        }
        result
    }
}

#[async_trait]
impl EventBus for KafkaEventBus {
    #[tracing::instrument(
        name = "kafka.publish",
        skip_all,
        fields(event_id = %message.id, topic = %message.topic, key = %message.key)
    )]
    async fn publish(&self, message: &Message) -> PortResult<()> {
        let delivery = self.enqueue(message).await?;
        Self::delivered(&message.topic, delivery).await
    }

    /// Queues the whole batch first and then awaits every delivery report, so the batch costs
    /// about one round trip. Order per key is kept (one partition, idempotent producer).
    #[tracing::instrument(name = "kafka.publish_all", skip_all, fields(count = messages.len()))]
    async fn publish_all(&self, messages: &[Message]) -> PortResult<()> {
        let mut deliveries = Vec::with_capacity(messages.len());
        for message in messages {
            deliveries.push((&message.topic, self.enqueue(message).await?));
        }
        let mut first_error = None;
        for (topic, delivery) in deliveries {
            if let Err(error) = Self::delivered(topic, delivery).await {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}
