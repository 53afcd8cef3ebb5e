//! The crate's error type, and how Kafka failures map onto the port's [`PortError`].

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use todo_core::error::PortError;

/// Why a Kafka client could not be built or a consumer runner stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KafkaBusError {
    /// The configuration was rejected by librdkafka (unknown property, invalid value).
    #[error("invalid Kafka configuration: {0}")]
    Config(#[source] KafkaError),
    /// Subscribing to the topics failed.
    #[error("subscribing to {topics:?}: {source}")]
    Subscribe {
        /// The topics.
        topics: Vec<String>,
        /// librdkafka's error.
        source: KafkaError,
    },
    /// The client hit an error it cannot recover from (e.g. a fatal idempotence error).
    #[error("fatal Kafka error: {0}")]
    Fatal(#[source] KafkaError),
    /// The final offset commit on shutdown failed; the uncommitted messages will be redelivered.
    #[error("committing offsets on shutdown: {0}")]
    Commit(#[source] KafkaError),
    /// The retry policy is unusable.
    #[error("invalid retry policy")]
    RetryPolicy(#[from] crate::retry::RetryPolicyError),
}

/// Whether a produce error may go away by itself (broker restart, leader election, full queue).
pub(crate) fn is_transient(code: RDKafkaErrorCode) -> bool {
    use RDKafkaErrorCode as C;
    matches!(
        code,
        C::QueueFull
            | C::MessageTimedOut
            | C::AllBrokersDown
            | C::BrokerTransportFailure
            | C::Resolve
            | C::RequestTimedOut
            | C::NetworkException
            | C::LeaderNotAvailable
            | C::NotLeaderForPartition
            | C::NotEnoughReplicas
            | C::NotEnoughReplicasAfterAppend
            | C::UnknownTopicOrPartition
            | C::UnknownPartition
            | C::UnknownTopic
            | C::BrokerNotAvailable
            | C::ReplicaNotAvailable
            | C::CoordinatorLoadInProgress
            | C::NotCoordinator
            | C::CoordinatorNotAvailable
            | C::PurgeQueue
            | C::PurgeInflight
            | C::OperationTimedOut
            | C::KafkaStorageError
            | C::NotController
            | C::ThrottlingQuotaExceeded
    )
}

/// Maps a failed publish onto the port's error: transient failures become
/// [`PortError::Unavailable`], so the outbox relay retries them with backoff.
pub(crate) fn publish_error(topic: &str, error: KafkaError) -> PortError {
    let context = format!("kafka: publishing to {topic}");
    match error.rdkafka_error_code() {
        Some(code) if is_transient(code) => PortError::unavailable(context).caused_by(error),
        // Canceled: the producer was dropped while the message was queued.
        None if matches!(error, KafkaError::Canceled) => {
            PortError::unavailable(context).caused_by(error)
        }
        _ => PortError::other(context, error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_outages_are_transient_and_oversized_messages_are_not() {
        let timed_out = KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut);
        assert!(publish_error("t", timed_out).is_transient());
        let too_large = KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge);
        assert!(!publish_error("t", too_large).is_transient());
        assert!(publish_error("t", KafkaError::Canceled).is_transient());
    }
}
