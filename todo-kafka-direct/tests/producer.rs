//! The producer's promises to the outbox relay: `Ok` means Kafka holds the message, an
//! unreachable broker is reported as a transient failure, and closing delivers what is queued.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use todo_core::ports::EventBus;
use todo_kafka_direct::{KafkaConfig, KafkaEventBus};
use todo_testkit::TestTopic;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_to_an_unreachable_broker_fails_as_unavailable_after_the_delivery_timeout(
) -> anyhow::Result<()> {
    let nobody = format!("127.0.0.1:{}", todo_testkit::free_port()?);
    let config = KafkaConfig::new(nobody).with_delivery_timeout(Duration::from_secs(2));
    let bus = KafkaEventBus::new(&config)?;
    let started = Instant::now();
    let error = bus
        .publish(&support::message("task-events", "1", 1))
        .await
        .expect_err("nothing can acknowledge it");
    assert!(
        error.is_transient(),
        "the outbox relay must retry it later: {error}"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(2) && started.elapsed() < Duration::from_secs(10),
        "it fails after the delivery timeout, not before nor much later ({:?})",
        started.elapsed()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_bus_delivers_every_message_still_queued() -> anyhow::Result<()> {
    let topic = TestTopic::create("close", 3).await?;
    let config = support::config(&topic, "close").with_property("linger.ms", "200");
    let bus = Arc::new(KafkaEventBus::new(&config)?);
    let publishing: Vec<_> = (0..500)
        .map(|seq| {
            let (bus, message) = (
                bus.clone(),
                support::message(topic.name(), &(seq % 7).to_string(), seq),
            );
            tokio::spawn(async move { bus.publish(&message).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(20)).await;
    bus.close(Duration::from_secs(10)).await?;
    for publish in publishing {
        publish.await??;
    }
    let records = topic.consume_all(500, Duration::from_secs(30)).await?;
    assert_eq!(records.len(), 500);
    Ok(())
}
