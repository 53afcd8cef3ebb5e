//! Poison records and given-up messages go to `<topic>.dlq` with the reason, and the consumer
//! moves on to the next record of the same partition.

mod support;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use todo_core::events::Message;
use todo_core::ports::{EventBus, HandleError, MessageHandler};
use todo_kafka_direct::dead_letter::{
    HEADER_CONSUMER_GROUP, HEADER_ORIGINAL_OFFSET, HEADER_ORIGINAL_PARTITION,
    HEADER_ORIGINAL_TOPIC, HEADER_REASON,
};
use todo_kafka_direct::{ConsumerRunner, KafkaEventBus, RetryPolicy};
use todo_testkit::TestTopic;
use tokio::sync::mpsc;

use support::{header, DeadLetterTopic, Forward, Running};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_record_is_dead_lettered_and_the_consumer_moves_on() -> anyhow::Result<()> {
    let topic = TestTopic::create("poison", 3).await?;
    let dead_letters = DeadLetterTopic::create(&topic).await;
    let config = support::config(&topic, "poison");
    let bus = KafkaEventBus::new(&config)?;
    let group = support::group("poison");

    // Key 77: a good event, a record that is not JSON, one without the ce_id header, a good event.
    let before = support::message(topic.name(), "77", 1);
    bus.publish(&before).await?;
    topic
        .produce_keyed(vec![
            (b"77".to_vec(), b"{\"truncated\": ".to_vec()),
            (b"77".to_vec(), b"{\"event_id\": \"no envelope\"}".to_vec()),
        ])
        .await?;
    let after = support::message(topic.name(), "77", 2);
    bus.publish(&after).await?;

    let (running, mut receiver) = support::forwarding_runner(config.clone(), &group, topic.name());
    let arrived = support::receive_all(
        &mut receiver,
        &[before.id, after.id].into_iter().collect(),
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(
        arrived,
        vec![before, after],
        "the good events arrive, in order, around the poison"
    );

    let records = dead_letters.read(2, Duration::from_secs(30)).await;
    assert_eq!(records[0].value.as_deref(), Some(&b"{\"truncated\": "[..]));
    assert_eq!(records[0].key.as_deref(), Some(&b"77"[..]));
    let reason = header(&records[0], HEADER_REASON).expect("a reason header");
    assert!(reason.contains("not JSON"), "reason: {reason}");
    let reason = header(&records[1], HEADER_REASON).expect("a reason header");
    assert!(reason.contains("ce_id"), "reason: {reason}");
    assert_eq!(
        header(&records[1], HEADER_ORIGINAL_TOPIC).as_deref(),
        Some(topic.name())
    );
    assert_eq!(
        header(&records[1], HEADER_CONSUMER_GROUP),
        Some(group.clone())
    );
    assert!(header(&records[1], HEADER_ORIGINAL_PARTITION).is_some());
    assert!(header(&records[1], HEADER_ORIGINAL_OFFSET).is_some());

    let report = running.stop().await;
    assert_eq!((report.handled, report.dead_lettered), (2, 2));

    // The poison was committed past: the group's next consumer does not see it again.
    let (running, mut receiver) = support::forwarding_runner(config, &group, topic.name());
    let marker = support::message(topic.name(), "77", 3);
    bus.publish(&marker).await?;
    let arrived = support::receive_all(
        &mut receiver,
        &[marker.id].into_iter().collect(),
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(arrived, vec![marker]);
    let report = running.stop().await;
    assert_eq!(report.dead_lettered, 0, "nothing is dead-lettered twice");
    bus.close(Duration::from_secs(10)).await?;
    Ok(())
}

/// Drops messages whose payload says `"drop": true`, forwards the others.
struct DropMarked(mpsc::UnboundedSender<Message>);

#[async_trait]
impl MessageHandler for DropMarked {
    async fn handle(&self, message: &Message) -> Result<(), HandleError> {
        if message.payload["drop"] == true {
            return Err(HandleError::dropped(
                "decoding the event",
                "unsupported schema_version 9",
            ));
        }
        Forward(self.0.clone()).handle(message).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_the_handler_drops_is_dead_lettered_with_its_reason() -> anyhow::Result<()> {
    let topic = TestTopic::create("dropped", 1).await?;
    let dead_letters = DeadLetterTopic::create(&topic).await;
    let config = support::config(&topic, "dropped");
    let bus = KafkaEventBus::new(&config)?;
    let mut dropped = support::message(topic.name(), "5", 1);
    dropped.payload = serde_json::json!({"drop": true});
    let kept = support::message(topic.name(), "5", 2);
    bus.publish_all(&[dropped.clone(), kept.clone()]).await?;

    let (sender, mut receiver) = mpsc::unbounded_channel();
    let runner = ConsumerRunner::new(
        config,
        support::group("dropped"),
        &[topic.name()],
        Arc::new(DropMarked(sender)),
    );
    let running = Running::spawn(runner);
    let arrived = support::receive_all(
        &mut receiver,
        &[kept.id].into_iter().collect(),
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(arrived, vec![kept]);

    let records = dead_letters.read(1, Duration::from_secs(30)).await;
    assert_eq!(
        header(&records[0], HEADER_REASON).as_deref(),
        Some("handler dropped it: decoding the event: unsupported schema_version 9")
    );
    // The dead letter keeps the envelope, so it can be replayed as it was.
    assert_eq!(header(&records[0], "ce_id"), Some(dropped.id.to_string()));
    assert_eq!(
        header(&records[0], "ce_type"),
        Some(dropped.event_type.clone())
    );
    assert_eq!(records[0].value.as_deref(), Some(&br#"{"drop":true}"#[..]));
    let report = running.stop().await;
    assert_eq!((report.handled, report.dead_lettered), (1, 1));
    bus.close(Duration::from_secs(10)).await?;
    Ok(())
}

/// Fails with `Retry` the first `failures` times, then forwards.
struct FlakyThenFine {
    failures: u32,
    calls: AtomicU32,
    sender: mpsc::UnboundedSender<Message>,
}

#[async_trait]
impl MessageHandler for FlakyThenFine {
    async fn handle(&self, message: &Message) -> Result<(), HandleError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) < self.failures {
            return Err(HandleError::retry("storing the task", "connection refused"));
        }
        Forward(self.sender.clone()).handle(message).await
    }
}

fn quick_retries(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
        max_attempts,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_whose_handler_asks_to_retry_is_handled_again_until_it_succeeds(
) -> anyhow::Result<()> {
    let topic = TestTopic::create("retried", 1).await?;
    let dead_letters_expected_empty = DeadLetterTopic::create(&topic).await;
    let config = support::config(&topic, "retried");
    let bus = KafkaEventBus::new(&config)?;
    let first = support::message(topic.name(), "3", 1);
    let second = support::message(topic.name(), "3", 2);
    bus.publish_all(&[first.clone(), second.clone()]).await?;

    let (sender, mut receiver) = mpsc::unbounded_channel();
    let handler = FlakyThenFine {
        failures: 3,
        calls: AtomicU32::new(0),
        sender,
    };
    let runner = ConsumerRunner::new(
        config,
        support::group("retried"),
        &[topic.name()],
        Arc::new(handler),
    )
    .with_retry_policy(quick_retries(5));
    let running = Running::spawn(runner);
    let arrived = support::receive_all(
        &mut receiver,
        &[first.id, second.id].into_iter().collect(),
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(
        arrived,
        vec![first, second],
        "the retried message still comes first"
    );
    let report = running.stop().await;
    assert_eq!(
        (report.handled, report.retries, report.dead_lettered),
        (2, 3, 0)
    );
    drop(dead_letters_expected_empty);
    bus.close(Duration::from_secs(10)).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_still_failing_after_the_last_attempt_is_dead_lettered() -> anyhow::Result<()> {
    let topic = TestTopic::create("exhausted", 1).await?;
    let dead_letters = DeadLetterTopic::create(&topic).await;
    let config = support::config(&topic, "exhausted");
    let bus = KafkaEventBus::new(&config)?;
    let doomed = support::message(topic.name(), "4", 1);
    let next = support::message(topic.name(), "4", 2);
    bus.publish_all(&[doomed.clone(), next.clone()]).await?;

    let (sender, mut receiver) = mpsc::unbounded_channel();
    // Fails 3 times: exactly the policy's 3 attempts for the first message.
    let handler = FlakyThenFine {
        failures: 3,
        calls: AtomicU32::new(0),
        sender,
    };
    let runner = ConsumerRunner::new(
        config,
        support::group("exhausted"),
        &[topic.name()],
        Arc::new(handler),
    )
    .with_retry_policy(quick_retries(3));
    let running = Running::spawn(runner);
    let arrived = support::receive_all(
        &mut receiver,
        &[next.id].into_iter().collect(),
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(arrived, vec![next]);

    let records = dead_letters.read(1, Duration::from_secs(30)).await;
    assert_eq!(header(&records[0], "ce_id"), Some(doomed.id.to_string()));
    assert_eq!(
        header(&records[0], HEADER_REASON).as_deref(),
        Some("still failing after 3 attempts: storing the task: connection refused")
    );
    let report = running.stop().await;
    assert_eq!(
        (report.handled, report.retries, report.dead_lettered),
        (1, 3, 1)
    );
    bus.close(Duration::from_secs(10)).await?;
    Ok(())
}
