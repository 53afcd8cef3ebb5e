//! Connection and client settings shared by the producer and the consumer runner.
//!
//! The defaults are the production choices (idempotent producer, `acks=all`, bounded in-flight
//! requests, manual commits); [`KafkaConfig::with_property`] passes any other librdkafka property
//! through, e.g. `security.protocol` when the build enables TLS.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::ClientConfig;

/// Where the brokers are and how the clients behave. Built once at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KafkaConfig {
    /// Bootstrap servers, `host:port[,host:port...]`.
    pub brokers: String,
    /// `client.id` reported to the brokers (visible in broker logs and quotas).
    pub client_id: String,
    /// CloudEvents `source` written in the `ce_source` header of every published message.
    pub source: String,
    /// How long the producer keeps retrying one message (through broker outages, with backoff)
    /// before `publish` gives up with [`PortError::Unavailable`](todo_core::error::PortError).
    pub delivery_timeout: Duration,
    /// Upper bound of the producer's reconnect backoff: how soon a restarted broker is noticed.
    pub reconnect_backoff_max: Duration,
    /// Longest time a producer waits to fill a batch (`linger.ms`).
    pub linger: Duration,
    /// Most messages the producer holds in memory awaiting delivery; `publish` waits for room.
    pub max_queued_messages: u32,
    /// Extra librdkafka properties, applied last (they win over the settings above).
    pub properties: BTreeMap<String, String>,
}

impl KafkaConfig {
    /// Settings for `brokers` with the defaults documented on each field.
    pub fn new(brokers: impl Into<String>) -> Self {
        Self {
            brokers: brokers.into(),
            client_id: "todo".to_owned(),
            source: "todo".to_owned(),
            delivery_timeout: Duration::from_secs(60),
            reconnect_backoff_max: Duration::from_secs(2),
            linger: Duration::from_millis(5),
            max_queued_messages: 100_000,
            properties: BTreeMap::new(),
        }
    }

    /// Sets the `client.id`.
    #[must_use]
    pub fn with_client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = client_id.into();
        self
    }

    /// Sets the CloudEvents `source` of published messages.
    #[must_use]
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = source.into();
        self
    }

    /// Sets how long one message may take to be acknowledged, retries included.
    #[must_use]
    pub fn with_delivery_timeout(mut self, timeout: Duration) -> Self {
        self.delivery_timeout = timeout;
        self
    }

    /// Sets any librdkafka property (see librdkafka's CONFIGURATION.md).
    #[must_use]
    pub fn with_property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(key.into(), value.into());
        self
    }

    /// The producer's configuration: idempotent, `acks=all`, at most 5 requests in flight per
    /// broker (the most idempotence allows while keeping order), Java-compatible key hashing.
    pub(crate) fn producer(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.brokers)
            .set("client.id", &self.client_id)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("max.in.flight.requests.per.connection", "5")
            // Same partition for a key as Kafka's Java clients and Kafka Streams (murmur2).
            .set("partitioner", "murmur2_random")
            .set("message.timeout.ms", millis(self.delivery_timeout))
            .set("linger.ms", millis(self.linger))
            .set(
                "queue.buffering.max.messages",
                self.max_queued_messages.to_string(),
            )
            .set("retry.backoff.ms", "100")
            .set("retry.backoff.max.ms", "1000")
            .set("reconnect.backoff.ms", "100")
            .set(
                "reconnect.backoff.max.ms",
                millis(self.reconnect_backoff_max),
            );
        self.apply_properties(&mut config);
        config
    }

    /// A consumer's configuration for `group`: offsets are stored and committed only by the
    /// runner, after the handler succeeded; a new group starts from the earliest offset.
    pub(crate) fn consumer(&self, group: &str) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.brokers)
            .set("client.id", &self.client_id)
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("reconnect.backoff.ms", "100")
            .set(
                "reconnect.backoff.max.ms",
                millis(self.reconnect_backoff_max),
            );
        self.apply_properties(&mut config);
        config
    }

    fn apply_properties(&self, config: &mut ClientConfig) {
        for (key, value) in &self.properties {
            config.set(key, value);
        }
    }
}

fn millis(duration: Duration) -> String {
    duration.as_millis().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_producer_is_idempotent_and_waits_for_all_replicas() {
        let config = KafkaConfig::new("127.0.0.1:9092").producer();
        assert_eq!(config.get("enable.idempotence"), Some("true"));
        assert_eq!(config.get("acks"), Some("all"));
        assert_eq!(
            config.get("max.in.flight.requests.per.connection"),
            Some("5")
        );
        assert_eq!(config.get("message.timeout.ms"), Some("60000"));
    }

    #[test]
    fn consumers_never_commit_on_their_own() {
        let config = KafkaConfig::new("b:1").consumer("audit-service");
        assert_eq!(config.get("group.id"), Some("audit-service"));
        assert_eq!(config.get("enable.auto.commit"), Some("false"));
        assert_eq!(config.get("enable.auto.offset.store"), Some("false"));
    }

    #[test]
    fn extra_properties_win_over_the_defaults() {
        let config = KafkaConfig::new("b:1")
            .with_property("linger.ms", "50")
            .with_property("auto.offset.reset", "latest");
        assert_eq!(config.producer().get("linger.ms"), Some("50"));
        assert_eq!(
            config.consumer("g").get("auto.offset.reset"),
            Some("latest")
        );
    }
}
