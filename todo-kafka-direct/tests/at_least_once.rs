//! At-least-once delivery across consumer restarts: nothing is lost when a consumer stops, is
//! killed mid-message, or shuts down while waiting to retry; duplicates are possible and an
//! idempotent handler absorbs them.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use todo_core::events::Message;
use todo_core::model::EventId;
use todo_core::ports::{EventBus, HandleError, MessageHandler};
use todo_kafka_direct::{ConsumerRunner, KafkaConfig, KafkaEventBus, RetryPolicy};
use todo_testkit::TestTopic;
use tokio::sync::Notify;

use support::{IdempotentRecorder, Running};

/// Records every message (idempotently, by event id); once `pause_after` messages were handled
/// it wakes the test, and if `hang` is set it never finishes the next one.
struct Recording {
    recorder: Arc<IdempotentRecorder>,
    order: Arc<Mutex<Vec<Message>>>,
    handled: AtomicUsize,
    pause_after: usize,
    hang: bool,
    reached: Arc<Notify>,
    hung_on: Arc<Mutex<Option<EventId>>>,
}

impl Recording {
    fn new(recorder: Arc<IdempotentRecorder>, order: Arc<Mutex<Vec<Message>>>) -> Self {
        Self {
            recorder,
            order,
            handled: AtomicUsize::new(0),
            pause_after: usize::MAX,
            hang: false,
            reached: Arc::new(Notify::new()),
            hung_on: Arc::default(),
        }
    }
}

#[async_trait]
impl MessageHandler for Recording {
    async fn handle(&self, message: &Message) -> Result<(), HandleError> {
        let count = self.handled.load(Ordering::SeqCst);
        if count == self.pause_after {
            self.reached.notify_one();
            if self.hang {
                *self.hung_on.lock().expect("not poisoned") = Some(message.id);
                std::future::pending::<()>().await;
            }
        }
        // A little work per message, so the test can stop the consumer mid-stream.
        tokio::time::sleep(Duration::from_micros(500)).await;
        *self
            .recorder
            .seen
            .lock()
            .expect("not poisoned")
            .entry(message.id)
            .or_default() += 1;
        self.order
            .lock()
            .expect("not poisoned")
            .push(message.clone());
        self.handled.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

async fn publish_sequence(bus: &KafkaEventBus, topic: &str, count: u64) -> Vec<Message> {
    let sent: Vec<Message> = (0..count)
        .map(|seq| support::message(topic, &(500 + seq % 20).to_string(), seq))
        .collect();
    for batch in sent.chunks(200) {
        bus.publish_all(batch)
            .await
            .expect("publishing the test sequence");
    }
    sent
}

async fn wait_for_distinct(recorder: &IdempotentRecorder, count: usize, timeout: Duration) {
    let what = format!("{count} distinct messages handled");
    todo_testkit::wait_until(&what, timeout, || async {
        match recorder.distinct() {
            distinct if distinct >= count => Ok(()),
            distinct => Err(format!("{distinct} distinct handled")),
        }
    })
    .await;
}

fn runner(
    config: &KafkaConfig,
    group: &str,
    topic: &str,
    handler: Arc<Recording>,
) -> ConsumerRunner {
    ConsumerRunner::new(config.clone(), group, &[topic], handler)
        .with_commit_interval(Duration::from_millis(200), 50)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_restarted_mid_stream_loses_nothing_and_repeats_nothing() -> anyhow::Result<()> {
    let topic = TestTopic::create("restart", 3).await?;
    let config = support::config(&topic, "restart");
    let bus = KafkaEventBus::new(&config)?;
    let group = support::group("restart");
    let sent = publish_sequence(&bus, topic.name(), 1000).await;

    let recorder = Arc::new(IdempotentRecorder::default());
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut first = Recording::new(recorder.clone(), order.clone());
    first.pause_after = 300;
    let first = Arc::new(first);
    let reached = first.reached.clone();
    let running = Running::spawn(runner(&config, &group, topic.name(), first.clone()));
    tokio::time::timeout(Duration::from_secs(60), reached.notified()).await?;
    let report = running.stop().await;
    let handled_by_first = recorder.distinct();
    assert!(
        (300..1000).contains(&handled_by_first),
        "the first consumer should stop mid-stream, handled {handled_by_first}"
    );
    assert_eq!(report.handled as usize, handled_by_first);

    let second = Arc::new(Recording::new(recorder.clone(), order.clone()));
    let running = Running::spawn(runner(&config, &group, topic.name(), second));
    wait_for_distinct(&recorder, sent.len(), Duration::from_secs(60)).await;
    running.stop().await;

    assert_eq!(recorder.distinct(), sent.len(), "every message was handled");
    assert_eq!(
        recorder.duplicates(),
        0,
        "a graceful stop commits what it handled, so nothing is handled twice"
    );
    let by_key = support::first_arrivals_by_key(&order.lock().expect("not poisoned"));
    for (key, seqs) in by_key {
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "key {key} out of order: {seqs:?}"
        );
    }
    bus.close(Duration::from_secs(10)).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_killed_mid_message_has_that_message_redelivered() -> anyhow::Result<()> {
    let topic = TestTopic::create("killed", 3).await?;
    let config = support::config(&topic, "killed");
    let bus = KafkaEventBus::new(&config)?;
    let group = support::group("killed");
    let sent = publish_sequence(&bus, topic.name(), 500).await;

    let recorder = Arc::new(IdempotentRecorder::default());
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut first = Recording::new(recorder.clone(), order.clone());
    first.pause_after = 200;
    first.hang = true;
    let first = Arc::new(first);
    let (reached, hung_on) = (first.reached.clone(), first.hung_on.clone());
    let running = Running::spawn(runner(&config, &group, topic.name(), first));
    tokio::time::timeout(Duration::from_secs(60), reached.notified()).await?;
    // Kill it while the handler is in the middle of a message: no drain, no final commit.
    running.task.abort();
    let _ = running.task.await;
    let lost_in_flight = hung_on
        .lock()
        .expect("not poisoned")
        .expect("the handler hung on a message");
    assert_eq!(recorder.distinct(), 200);

    let second = Arc::new(Recording::new(recorder.clone(), order.clone()));
    let running = Running::spawn(runner(&config, &group, topic.name(), second));
    wait_for_distinct(&recorder, sent.len(), Duration::from_secs(60)).await;
    running.stop().await;

    assert_eq!(recorder.distinct(), sent.len(), "every message was handled");
    assert_eq!(
        recorder
            .seen
            .lock()
            .expect("not poisoned")
            .get(&lost_in_flight),
        Some(&1),
        "the message the killed consumer was handling is handled (once) by the next one"
    );
    bus.close(Duration::from_secs(10)).await?;
    Ok(())
}

/// Answers `Retry` for every message, counting the calls.
#[derive(Default)]
struct AlwaysRetry {
    calls: AtomicUsize,
}

#[async_trait]
impl MessageHandler for AlwaysRetry {
    async fn handle(&self, _message: &Message) -> Result<(), HandleError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Err(HandleError::retry("test", "the database is down"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_while_waiting_to_retry_leaves_the_message_to_the_next_consumer(
) -> anyhow::Result<()> {
    let topic = TestTopic::create("retry-shutdown", 1).await?;
    let config = support::config(&topic, "retry-shutdown");
    let bus = KafkaEventBus::new(&config)?;
    let group = support::group("retry-shutdown");
    let stuck = support::message(topic.name(), "9", 0);
    bus.publish(&stuck).await?;

    let patient = RetryPolicy {
        initial_backoff: Duration::from_secs(20),
        max_backoff: Duration::from_secs(20),
        max_attempts: 5,
    };
    let handler = Arc::new(AlwaysRetry::default());
    let runner = ConsumerRunner::new(
        config.clone(),
        group.clone(),
        &[topic.name()],
        handler.clone(),
    )
    .with_retry_policy(patient);
    let running = Running::spawn(runner);
    // Once the handler has answered `Retry`, the runner waits 20 s before asking again: stop it
    // then. (A stop during that first call lets the call finish first, and still finds the wait.)
    todo_testkit::wait_until(
        "the handler asked once",
        Duration::from_secs(30),
        || async {
            match handler.calls.load(Ordering::SeqCst) {
                0 => Err("no call yet"),
                calls => Ok(calls),
            }
        },
    )
    .await;
    let stopping = Instant::now();
    let report = running.stop().await;
    assert!(
        stopping.elapsed() < Duration::from_secs(10),
        "shutdown must not wait out the retry backoff (took {:?})",
        stopping.elapsed()
    );
    assert!(
        report.retries >= 1,
        "the handler was asked at least once: {report:?}"
    );
    assert_eq!((report.handled, report.dead_lettered), (0, 0));

    let (running, mut receiver) = support::forwarding_runner(config, &group, topic.name());
    let arrived = support::receive_all(
        &mut receiver,
        &[stuck.id].into_iter().collect(),
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(arrived[0], stuck);
    running.stop().await;
    bus.close(Duration::from_secs(10)).await?;
    Ok(())
}

/// Takes its time over the first message, telling the test when it started.
struct Slow {
    started: Arc<Notify>,
    finished: Arc<Mutex<Vec<EventId>>>,
}

#[async_trait]
impl MessageHandler for Slow {
    async fn handle(&self, message: &Message) -> Result<(), HandleError> {
        self.started.notify_one();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        self.finished.lock().expect("not poisoned").push(message.id);
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_the_message_in_hand_finish_and_commits_it() -> anyhow::Result<()> {
    let topic = TestTopic::create("drain", 1).await?;
    let config = support::config(&topic, "drain");
    let bus = KafkaEventBus::new(&config)?;
    let group = support::group("drain");
    let in_hand = support::message(topic.name(), "8", 1);
    bus.publish(&in_hand).await?;

    let slow = Slow {
        started: Arc::new(Notify::new()),
        finished: Arc::default(),
    };
    let (started, finished) = (slow.started.clone(), slow.finished.clone());
    let running = Running::spawn(ConsumerRunner::new(
        config.clone(),
        group.clone(),
        &[topic.name()],
        Arc::new(slow),
    ));
    tokio::time::timeout(Duration::from_secs(30), started.notified()).await?;
    let report = running.stop().await;
    assert_eq!(
        *finished.lock().expect("not poisoned"),
        vec![in_hand.id],
        "the handler finished"
    );
    assert_eq!(report.handled, 1);

    // Committed: the group's next consumer starts after it.
    let (running, mut receiver) = support::forwarding_runner(config, &group, topic.name());
    let marker = support::message(topic.name(), "8", 2);
    bus.publish(&marker).await?;
    let arrived = support::receive_all(
        &mut receiver,
        &[marker.id].into_iter().collect(),
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(
        arrived,
        vec![marker],
        "the drained message is not delivered again"
    );
    running.stop().await;
    bus.close(Duration::from_secs(10)).await?;
    Ok(())
}

/// Set for the child process of [`a_consumer_process_killed_mid_stream_loses_nothing`]:
/// `brokers|topic|group`.
const CRASH_CHILD: &str = "TODO_KAFKA_DIRECT_CRASH_CHILD";

/// Prints `handled <event id>` for every message, slowly, and never commits on its own.
struct PrintHandled;

#[async_trait]
impl MessageHandler for PrintHandled {
    async fn handle(&self, message: &Message) -> Result<(), HandleError> {
        tokio::time::sleep(Duration::from_millis(2)).await;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "handled {}", message.id);
        let _ = out.flush();
        Ok(())
    }
}

/// The consumer that gets SIGKILLed: run only as a child process of the test below.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the child process of a_consumer_process_killed_mid_stream_loses_nothing"]
async fn crash_child_consumer() {
    let Ok(spec) = std::env::var(CRASH_CHILD) else {
        return;
    };
    let mut parts = spec.split('|');
    let (brokers, topic, group) = (
        parts.next().expect("brokers"),
        parts.next().expect("topic"),
        parts.next().expect("group"),
    );
    let config = KafkaConfig::new(brokers).with_property("session.timeout.ms", "6000");
    // Commits only every hour: everything it handles is still uncommitted when it is killed.
    let runner = ConsumerRunner::new(config, group, &[topic], Arc::new(PrintHandled))
        .with_commit_interval(Duration::from_secs(3600), u64::MAX);
    // Should the parent die before killing it, it stops by itself.
    let _ = tokio::time::timeout(
        Duration::from_secs(120),
        runner.run(tokio_util::sync::CancellationToken::new()),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_process_killed_mid_stream_loses_nothing() -> anyhow::Result<()> {
    let topic = TestTopic::create("sigkill", 3).await?;
    let config = support::config(&topic, "sigkill").with_property("session.timeout.ms", "6000");
    let bus = KafkaEventBus::new(&config)?;
    let group = support::group("sigkill");
    let sent = publish_sequence(&bus, topic.name(), 1000).await;

    // A consumer in another process handles a few hundred messages and is SIGKILLed: no drain,
    // no commit, no leaving the group.
    let mut child = Command::new(std::env::current_exe()?)
        .args([
            "crash_child_consumer",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env(
            CRASH_CHILD,
            format!("{}|{}|{group}", topic.brokers(), topic.name()),
        )
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().expect("piped");
    let handled_by_child = tokio::task::spawn_blocking(move || {
        let mut ids = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(id) = line.strip_prefix("handled ") {
                ids.push(EventId(id.parse().expect("an event id")));
                if ids.len() == 300 {
                    child.kill().expect("killing the child consumer");
                    let _ = child.wait();
                    break;
                }
            }
        }
        ids
    })
    .await?;
    assert_eq!(
        handled_by_child.len(),
        300,
        "the child consumer handled 300 messages before it was killed"
    );

    // Its effects were recorded (as a consumer's processed-event table would hold them).
    let recorder = Arc::new(IdempotentRecorder::default());
    for id in &handled_by_child {
        recorder.seen.lock().expect("not poisoned").insert(*id, 1);
    }
    let order = Arc::new(Mutex::new(Vec::new()));
    let next = Arc::new(Recording::new(recorder.clone(), order));
    let running = Running::spawn(runner(&config, &group, topic.name(), next));
    // The dead member's partitions come back after its 6 s session timeout.
    wait_for_distinct(&recorder, sent.len(), Duration::from_secs(90)).await;
    running.stop().await;

    assert_eq!(recorder.distinct(), sent.len(), "every message was handled");
    assert!(
        recorder.duplicates() >= 300,
        "the killed consumer's uncommitted messages are delivered again ({} duplicates)",
        recorder.duplicates()
    );
    bus.close(Duration::from_secs(10)).await?;
    Ok(())
}
