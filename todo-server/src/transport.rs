//! The distributed event bus: Dapr pub/sub through the sidecar, or Apache Kafka directly.
