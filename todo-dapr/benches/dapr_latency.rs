//! Latency through real daprd 1.18.2: publish → subscriber-received through `pubsub.kafka`, and the Jobs
//! API's firing delay (callback time − due time).
//!
//! ```sh
//! cargo bench -p todo-dapr --bench dapr_latency            # release build; starts the test stack
//! DAPR_BENCH_EVENTS=20000 DAPR_BENCH_RATE=1000 DAPR_BENCH_JOBS=500 cargo bench -p todo-dapr --bench dapr_latency
//! ```
//!
//! Pub/sub: one app (its routes from `DaprApp`) behind one sidecar, a fresh 3-partition topic, real
//! `task-events` payloads keyed by 1 000 task ids. Latency runs from just before `publish` to the
//! handler receiving the message, on one clock (same process).
//!
//! - **paced**: `DAPR_BENCH_EVENTS` (10 000) single publishes at `DAPR_BENCH_RATE` (2 000/s), up to
//!   64 in flight: the latency of a pipeline that is not queueing.
//! - **bulk**: the same number through `publish_all` (bulk API, batches of 100, each acknowledged
//!   before the next), as fast as it goes: what the outbox relay does under backlog.
//!
//! Jobs: `DAPR_BENCH_JOBS` (200) one-shot jobs due 20 ms apart, all scheduled before the first is due;
//! the delay is the callback's arrival minus the due time.
#![allow(missing_docs)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{SubsecRound, Utc};
use serde_json::json;
use todo_core::events::{DomainEvent, Message, TaskEvent, TaskEventType};
use todo_core::model::{EventId, NewTask, SeriesId, Task, TaskId, TaskInput, UserId};
use todo_core::ports::{EventBus, HandleError, Job, MessageHandler, Scheduler};
use todo_dapr::{job_fn, DaprApp, DaprEventBus, DaprScheduler, Subscription, DEFAULT_PUBSUB};
use todo_testkit::{PubSubBroker, TestTopic};
use tokio::sync::{mpsc, Semaphore};
use uuid::Uuid;

use support::{client, sidecar_for, Served};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Records when each message arrived.
struct Arrivals(mpsc::UnboundedSender<(EventId, Instant)>);

#[async_trait]
impl MessageHandler for Arrivals {
    async fn handle(&self, message: &Message) -> Result<(), HandleError> {
        let _ = self.0.send((message.id, Instant::now()));
        Ok(())
    }
}

/// `count` task events on `topic`, keyed by 1 000 task ids.
fn events(topic: &str, count: usize) -> Vec<Message> {
    let now = Utc::now().trunc_subsecs(6);
    let user = UserId(Uuid::new_v4());
    (0..count)
        .map(|n| {
            let input = TaskInput {
                title: format!("Benchmark task {n}"),
                description: Some("Measured through daprd and Kafka".into()),
                tags: Some(vec!["bench".into(), "dapr".into()]),
                due_date: Some("2030-01-06T09:00:00Z".into()),
                recurrence: Some(json!("weekly")),
                ..TaskInput::default()
            };
            let task = Task::create(
                TaskId(1 + (n % 1000) as i64),
                user,
                NewTask::parse(input).expect("valid input"),
                SeriesId(Uuid::new_v4()),
                now,
            );
            let event = TaskEvent::new(EventId(Uuid::now_v7()), TaskEventType::Updated, &task, now);
            let mut message = DomainEvent::Task(event).to_message();
            message.topic = topic.to_owned();
            message
        })
        .collect()
}

struct Stats {
    count: usize,
    p50: Duration,
    p99: Duration,
    max: Duration,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let at =
        |q: f64| samples[((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1];
    Stats {
        count: samples.len(),
        p50: at(0.50),
        p99: at(0.99),
        max: *samples.last().expect("samples"),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Waits until every sent id arrived; returns the latencies.
async fn collect(
    arrivals: &mut mpsc::UnboundedReceiver<(EventId, Instant)>,
    sent: &Mutex<HashMap<EventId, Instant>>,
    count: usize,
) -> Vec<Duration> {
    let mut latencies = Vec::with_capacity(count);
    let mut seen = std::collections::HashSet::new();
    while seen.len() < count {
        let (id, at) = tokio::time::timeout(Duration::from_secs(120), arrivals.recv())
            .await
            .expect("every event arrives within 2 minutes")
            .expect("the handler is alive");
        if !seen.insert(id) {
            continue;
        }
        // The publisher records the send time before publishing; wait for it if the arrival won.
        let started = loop {
            if let Some(started) = sent.lock().expect("not poisoned").get(&id).copied() {
                break started;
            }
            tokio::task::yield_now().await;
        };
        latencies.push(at.saturating_duration_since(started));
    }
    latencies
}

async fn pubsub(count: usize, rate: usize) -> Vec<(String, usize, f64, Stats)> {
    let topic = TestTopic::create("dapr-bench", 3).await.expect("a topic");
    let (sender, mut arrivals) = mpsc::unbounded_channel();
    let router = DaprApp::new()
        .subscribe(Subscription::new(
            DEFAULT_PUBSUB,
            topic.name(),
            "bench",
            Arc::new(Arrivals(sender)),
        ))
        .router();
    let app = Served::start(router).await;
    let sidecar = sidecar_for("bench", app.port, PubSubBroker::Kafka).await;
    let bus = Arc::new(DaprEventBus::new(client(&sidecar), DEFAULT_PUBSUB));

    // Warm up: connections, the consumer group's assignment.
    let warm = events(topic.name(), 200);
    let sent = Arc::new(Mutex::new(HashMap::new()));
    for message in &warm {
        sent.lock()
            .expect("not poisoned")
            .insert(message.id, Instant::now());
        bus.publish(message).await.expect("publish");
    }
    collect(&mut arrivals, &sent, warm.len()).await;
    sent.lock().expect("not poisoned").clear();

    let mut rows = Vec::new();

    // Paced single publishes.
    let messages = events(topic.name(), count);
    let in_flight = Arc::new(Semaphore::new(64));
    let per_tick = (rate / 100).max(1);
    let started = Instant::now();
    let publishing = tokio::spawn({
        let (bus, sent) = (bus.clone(), sent.clone());
        async move {
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            let mut tasks = Vec::with_capacity(messages.len());
            for batch in messages.chunks(per_tick) {
                tick.tick().await;
                for message in batch {
                    let permit = in_flight.clone().acquire_owned().await.expect("open");
                    let (bus, sent, message) = (bus.clone(), sent.clone(), message.clone());
                    tasks.push(tokio::spawn(async move {
                        sent.lock()
                            .expect("not poisoned")
                            .insert(message.id, Instant::now());
                        bus.publish(&message).await.expect("publish");
                        drop(permit);
                    }));
                }
            }
            for task in tasks {
                task.await.expect("publish task");
            }
        }
    });
    let latencies = collect(&mut arrivals, &sent, count).await;
    publishing.await.expect("publisher");
    let throughput = count as f64 / started.elapsed().as_secs_f64();
    rows.push((
        format!("paced {rate}/s, single publishes"),
        count,
        throughput,
        stats(latencies),
    ));
    sent.lock().expect("not poisoned").clear();

    // Bulk, as fast as it goes.
    let messages = events(topic.name(), count);
    let started = Instant::now();
    let publishing = tokio::spawn({
        let (bus, sent) = (bus.clone(), sent.clone());
        async move {
            for batch in messages.chunks(100) {
                let now = Instant::now();
                {
                    let mut sent = sent.lock().expect("not poisoned");
                    for message in batch {
                        sent.insert(message.id, now);
                    }
                }
                bus.publish_all(batch).await.expect("bulk publish");
            }
        }
    });
    let latencies = collect(&mut arrivals, &sent, count).await;
    publishing.await.expect("publisher");
    let throughput = count as f64 / started.elapsed().as_secs_f64();
    rows.push((
        "bulk, batches of 100".to_owned(),
        count,
        throughput,
        stats(latencies),
    ));
    rows
}

async fn jobs(count: usize) -> Stats {
    let (sender, mut fired) = mpsc::unbounded_channel();
    let router = DaprApp::new()
        .on_jobs(
            "",
            job_fn(move |name, _| {
                let _ = sender.send((name, Utc::now()));
                async { Ok(()) }
            }),
        )
        .router();
    let app = Served::start(router).await;
    let sidecar = sidecar_for("bench-jobs", app.port, PubSubBroker::Kafka).await;
    let scheduler = DaprScheduler::new(client(&sidecar));
    let first_due = Utc::now() + chrono::Duration::seconds(5);
    let mut due = HashMap::new();
    for n in 0..count {
        let job = Job {
            name: format!("bench-{}-{n}", Uuid::new_v4().simple()),
            due: first_due + chrono::Duration::milliseconds(20 * n as i64),
            payload: json!({ "n": n }),
        };
        due.insert(job.name.clone(), job.due);
        scheduler.schedule(job).await.expect("schedule");
    }
    assert!(
        Utc::now() < first_due,
        "scheduling took longer than the lead time"
    );
    let mut delays = Vec::with_capacity(count);
    while delays.len() < count {
        let (name, at) = tokio::time::timeout(Duration::from_secs(60), fired.recv())
            .await
            .expect("every job fires within a minute")
            .expect("the app is alive");
        if let Some(due) = due.remove(&name) {
            delays.push((at - due).to_std().unwrap_or_default());
        }
    }
    stats(delays)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let count = env_or("DAPR_BENCH_EVENTS", 10_000);
    let rate = env_or("DAPR_BENCH_RATE", 2_000);
    let job_count = env_or("DAPR_BENCH_JOBS", 200);
    runtime.block_on(async {
        let rows = pubsub(count, rate).await;
        println!("\ndaprd 1.18.2 + pubsub.kafka, task-events payloads, 3 partitions\n");
        println!("| run | events | publish → receive (events/s) | p50 | p99 | max |");
        println!("|---|---:|---:|---:|---:|---:|");
        for (run, events, throughput, s) in rows {
            println!(
                "| {run} | {events} | {throughput:.0} | {} | {} | {} |",
                ms(s.p50),
                ms(s.p99),
                ms(s.max)
            );
        }
        let s = jobs(job_count).await;
        println!(
            "\nJobs API (daprd 1.18.2 + scheduler): firing delay = callback arrival − dueTime\n"
        );
        println!("| jobs | p50 | p99 | max |");
        println!("|---:|---:|---:|---:|");
        println!(
            "| {} | {} | {} | {} |",
            s.count,
            ms(s.p50),
            ms(s.p99),
            ms(s.max)
        );
    });
}
