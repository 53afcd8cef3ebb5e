//! The producer's promises to the outbox relay: `Ok` means Kafka holds the message, an
//! unreachable broker is reported as a transient failure, and closing delivers what is queued.

mod support;

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
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
    // A publish puts its message on the producer's queue when first polled, then waits for the
    // delivery report. Polling each once queues all 500 before the bus closes (linger.ms holds
    // them there), with no guess at how long spawned publishes would take to get that far.
    let mut publishing: Vec<_> = (0..500)
        .map(|seq| {
            let message = support::message(topic.name(), &(seq % 7).to_string(), seq);
            let bus = bus.clone();
            Box::pin(async move { bus.publish(&message).await })
        })
        .collect();
    let mut queued = Context::from_waker(Waker::noop());
    let mut reported = Vec::new();
    publishing.retain_mut(|publish| match publish.as_mut().poll(&mut queued) {
        Poll::Ready(result) => {
            reported.push(result);
            false
        }
        Poll::Pending => true,
    });
    bus.close(Duration::from_secs(10)).await?;
    for publish in publishing {
        reported.push(publish.await);
    }
    for result in reported {
        result?;
    }
    let records = topic.consume_all(500, Duration::from_secs(30)).await?;
    assert_eq!(records.len(), 500);
    Ok(())
}
