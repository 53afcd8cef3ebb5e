//! Proof that daprd publishes onto the real broker and delivers CloudEvents to an app, and
//! that swapping Kafka for Redis is only a matter of the component file.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::App;
use serde_json::{json, Value};
use todo_testkit::{unique_name, PubSubBroker, Sidecar, Stack, TestTopic};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const EVENTS: usize = 5;

/// Publishes through daprd's pub/sub API and checks every CloudEvent the app receives.
async fn published_events_reach_the_subscriber(
    broker: PubSubBroker,
    topic: &str,
) -> anyhow::Result<()> {
    let mut app = App::start(topic).await?;
    let sidecar = Sidecar::builder("subscriber")
        .app_port(app.port)
        .pubsub(broker)
        .start()
        .await?;
    let http = reqwest::Client::new();

    let mut sent = BTreeSet::new();
    for n in 0..EVENTS {
        let event_id = unique_name("event");
        let response = http
            .post(format!(
                "{}/v1.0/publish/kafka-pubsub/{topic}?metadata.partitionKey=task-{n}",
                sidecar.http_url()
            ))
            .json(&json!({ "event_id": event_id, "schema_version": 1, "task_id": n }))
            .send()
            .await?;
        assert_eq!(
            response.status(),
            204,
            "publish failed: {}",
            response.text().await?
        );
        sent.insert(event_id);
    }

    let mut received = BTreeSet::new();
    while received.len() < EVENTS {
        let event = app.next_event(Duration::from_secs(30)).await.map_err(|e| {
            anyhow::anyhow!(
                "{e}; got {} of {EVENTS}\ndaprd log:\n{}",
                received.len(),
                sidecar.log_tail(30)
            )
        })?;
        assert_eq!(event["specversion"], "1.0", "{event}");
        assert_eq!(event["type"], "com.dapr.event.sent", "{event}");
        assert_eq!(event["pubsubname"], "kafka-pubsub", "{event}");
        assert_eq!(event["topic"], topic, "{event}");
        assert_eq!(event["source"], sidecar.app_id(), "{event}");
        assert_eq!(event["datacontenttype"], "application/json", "{event}");
        assert_eq!(event["data"]["schema_version"], 1, "{event}");
        let event_id = event["data"]["event_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            sent.contains(&event_id),
            "received an event that was never sent: {event}"
        );
        assert!(received.insert(event_id), "duplicate delivery: {event}");
    }
    assert_eq!(received, sent);
    Ok(())
}

#[tokio::test]
async fn kafka_pubsub_delivers_cloudevents_through_the_real_broker() -> anyhow::Result<()> {
    let topic = TestTopic::create("dapr-events", 3).await?;
    published_events_reach_the_subscriber(PubSubBroker::Kafka, topic.name()).await?;

    // The events really went through Kafka: they are in the topic.
    let records = topic.consume_all(EVENTS, Duration::from_secs(10)).await?;
    assert_eq!(records.len(), EVENTS);
    let first: Value = serde_json::from_slice(records[0].value.as_deref().unwrap_or_default())?;
    assert_eq!(first["specversion"], "1.0");
    Ok(())
}

#[tokio::test]
async fn redis_pubsub_passes_the_same_test_with_only_the_component_file_changed(
) -> anyhow::Result<()> {
    let topic = unique_name("dapr-events");
    published_events_reach_the_subscriber(PubSubBroker::Redis, &topic).await?;

    // The events really went through Redis: pubsub.redis keeps each topic as a stream.
    let redis = Stack::get()?.redis_addr()?;
    assert_eq!(redis_stream_length(redis, &topic).await?, EVENTS as i64);
    Ok(())
}

/// `XLEN stream`, spoken in RESP over a plain socket (no Redis client needed for one call).
async fn redis_stream_length(addr: &str, stream: &str) -> anyhow::Result<i64> {
    let mut conn = tokio::net::TcpStream::connect(addr).await?;
    let command = format!("*2\r\n$4\r\nXLEN\r\n${}\r\n{stream}\r\n", stream.len());
    conn.write_all(command.as_bytes()).await?;
    let mut reply = Vec::new();
    let mut buf = [0_u8; 64];
    while !reply.ends_with(b"\r\n") {
        let n = conn.read(&mut buf).await?;
        anyhow::ensure!(n > 0, "redis closed the connection");
        reply.extend_from_slice(&buf[..n]);
    }
    let reply = String::from_utf8(reply)?;
    let count = reply
        .strip_prefix(':')
        .ok_or_else(|| anyhow::anyhow!("unexpected reply {reply:?}"))?;
    Ok(count.trim_end().parse()?)
}
