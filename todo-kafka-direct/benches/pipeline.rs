//! Produce → consume through real Kafka on loopback: throughput and end-to-end latency.
//!
//! `cargo bench -p todo-kafka-direct --bench pipeline` (release build; needs the test stack, which
//! the testkit starts). Two runs on a fresh 3-partition topic, consumed by a [`ConsumerRunner`]:
//!
//! 1. **saturated**: 100 000 `task-events` messages published as fast as the producer takes them
//!    (`publish_all` batches of 1 000, each batch awaited, as the outbox relay does);
//! 2. **paced**: 10 000 messages at 2 000/s, for the latency of an unloaded pipeline;
//! 3. **paced, `linger.ms=0`**: the same with a producer that sends at once instead of waiting up
//!    to 5 ms (the default) to fill a batch.
//!
//! Latency is from just before `publish` to the handler receiving the message (one process, one
//! clock). The output is a Markdown table for `docs/benchmarks.md`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use todo_core::events::{DomainEvent, Message, TaskEvent, TaskEventType};
use todo_core::model::{EventId, NewTask, SeriesId, Task, TaskId, UserId};
use todo_core::ports::{EventBus, HandleError, MessageHandler};
use todo_kafka_direct::{ConsumerRunner, KafkaConfig, KafkaEventBus};
use todo_testkit::TestTopic;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Records the latency of every message it handles; wakes the bench when `expected` arrived.
struct LatencyRecorder {
    base: Instant,
    latencies_us: Mutex<Vec<u64>>,
    received: AtomicUsize,
    expected: AtomicUsize,
    done: Notify,
    last_at: Mutex<Option<Instant>>,
}

#[async_trait]
impl MessageHandler for LatencyRecorder {
    async fn handle(&self, message: &Message) -> Result<(), HandleError> {
        let now = self.base.elapsed().as_nanos() as u64;
        let sent = message.payload["bench_sent_ns"].as_u64().unwrap_or(now);
        self.latencies_us
            .lock()
            .expect("not poisoned")
            .push((now.saturating_sub(sent)) / 1_000);
        let received = self.received.fetch_add(1, Ordering::SeqCst) + 1;
        if received == self.expected.load(Ordering::SeqCst) {
            *self.last_at.lock().expect("not poisoned") = Some(Instant::now());
            self.done.notify_one();
        }
        Ok(())
    }
}

impl LatencyRecorder {
    fn reset(&self, expected: usize) {
        self.latencies_us.lock().expect("not poisoned").clear();
        self.received.store(0, Ordering::SeqCst);
        self.expected.store(expected, Ordering::SeqCst);
        *self.last_at.lock().expect("not poisoned") = None;
    }
}

fn template(topic: &str) -> Message {
    let at = chrono::Utc::now();
    let task = Task::create(
        TaskId(1),
        UserId(uuid::Uuid::now_v7()),
        NewTask::titled("Buy groceries").expect("a valid title"),
        SeriesId(uuid::Uuid::now_v7()),
        at,
    );
    let mut message = DomainEvent::Task(TaskEvent::new(
        EventId(uuid::Uuid::now_v7()),
        TaskEventType::Created,
        &task,
        at,
    ))
    .to_message();
    message.topic = topic.to_owned();
    message
}

fn stamped(template: &Message, seq: usize, base: Instant) -> Message {
    let mut message = template.clone();
    message.id = EventId(uuid::Uuid::now_v7());
    message.key = (seq % 1_000 + 1).to_string();
    message.payload["task_id"] = serde_json::json!(seq % 1_000 + 1);
    message.payload["bench_sent_ns"] = serde_json::json!(base.elapsed().as_nanos() as u64);
    message
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index] as f64 / 1_000.0
}

struct Figures {
    name: &'static str,
    events: usize,
    publish_secs: f64,
    end_to_end_secs: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

async fn run(
    name: &'static str,
    bus: &KafkaEventBus,
    recorder: &LatencyRecorder,
    template: &Message,
    events: usize,
    batch: usize,
    pace: Option<Duration>,
) -> Figures {
    recorder.reset(events);
    let done = recorder.done.notified();
    let started = Instant::now();
    let mut next_batch_at = tokio::time::Instant::now();
    for start in (0..events).step_by(batch) {
        if let Some(pace) = pace {
            tokio::time::sleep_until(next_batch_at).await;
            next_batch_at += pace;
        }
        let messages: Vec<Message> = (start..(start + batch).min(events))
            .map(|seq| stamped(template, seq, recorder.base))
            .collect();
        bus.publish_all(&messages).await.expect("publishing");
    }
    let published = started.elapsed();
    tokio::time::timeout(Duration::from_secs(300), done)
        .await
        .expect("every message is consumed within 5 minutes");
    let last = recorder
        .last_at
        .lock()
        .expect("not poisoned")
        .expect("set when done");
    let mut latencies = recorder.latencies_us.lock().expect("not poisoned").clone();
    latencies.sort_unstable();
    Figures {
        name,
        events,
        publish_secs: published.as_secs_f64(),
        end_to_end_secs: (last - started).as_secs_f64(),
        p50_ms: percentile(&latencies, 0.50),
        p99_ms: percentile(&latencies, 0.99),
        max_ms: percentile(&latencies, 1.0),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let topic = TestTopic::create("bench-pipeline", 3).await?;
    let config = KafkaConfig::new(topic.brokers()).with_client_id("bench-pipeline");
    let bus = KafkaEventBus::new(&config)?;
    let eager_bus = KafkaEventBus::new(&config.clone().with_property("linger.ms", "0"))?;
    let recorder = Arc::new(LatencyRecorder {
        base: Instant::now(),
        latencies_us: Mutex::new(Vec::with_capacity(100_000)),
        received: AtomicUsize::new(0),
        expected: AtomicUsize::new(usize::MAX),
        done: Notify::new(),
        last_at: Mutex::new(None),
    });
    let shutdown = CancellationToken::new();
    let runner = ConsumerRunner::new(
        config,
        todo_testkit::unique_name("bench"),
        &[topic.name()],
        recorder.clone(),
    );
    let consuming = tokio::spawn(runner.run(shutdown.clone()));
    let template = template(topic.name());
    let payload_bytes = serde_json::to_vec(&stamped(&template, 0, recorder.base).payload)?.len();

    // Warm up: the consumer joins its group and the producer learns the partition leaders.
    run("warm-up", &bus, &recorder, &template, 1_000, 100, None).await;

    let saturated = run(
        "saturated",
        &bus,
        &recorder,
        &template,
        100_000,
        1_000,
        None,
    )
    .await;
    let paced = run(
        "paced 2 000/s",
        &bus,
        &recorder,
        &template,
        10_000,
        20,
        Some(Duration::from_millis(10)),
    )
    .await;
    run("warm-up", &eager_bus, &recorder, &template, 100, 10, None).await;
    let eager = run(
        "paced 2 000/s, linger.ms=0",
        &eager_bus,
        &recorder,
        &template,
        10_000,
        20,
        Some(Duration::from_millis(10)),
    )
    .await;

    shutdown.cancel();
    let report = consuming.await??;
    bus.close(Duration::from_secs(10)).await?;
    eager_bus.close(Duration::from_secs(10)).await?;

    let (_, librdkafka) = rdkafka::util::get_rdkafka_version();
    println!(
        "librdkafka {librdkafka}, {payload_bytes}-byte task-events payloads, 3 partitions, \
         {} messages handled in total\n",
        report.handled
    );
    println!(
        "| run | events | publish (events/s) | produce → consume (events/s) | p50 | p99 | max |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for f in [saturated, paced, eager] {
        println!(
            "| {} | {} | {:.0} | {:.0} | {:.1} ms | {:.1} ms | {:.1} ms |",
            f.name,
            f.events,
            f.events as f64 / f.publish_secs,
            f.events as f64 / f.end_to_end_secs,
            f.p50_ms,
            f.p99_ms,
            f.max_ms
        );
    }
    Ok(())
}
