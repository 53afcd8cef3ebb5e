//! Shared pieces of the integration tests: messages, handlers that record what they see, runners
//! started and stopped by the test, dead-letter topics, and a dedicated broker that a test may
//! stop and start without disturbing the shared one.
#![allow(dead_code, missing_docs)] // each test binary uses a different part

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use todo_core::events::Message;
use todo_core::model::EventId;
use todo_core::ports::{HandleError, MessageHandler};
use todo_kafka_direct::{ConsumerRunner, KafkaBusError, KafkaConfig, RunReport};
use todo_testkit::rskafka::client::partition::UnknownTopicHandling;
use todo_testkit::rskafka::client::{Client, ClientBuilder};
use todo_testkit::rskafka::record::Record;
use todo_testkit::TestTopic;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Settings for the shared test broker, with a client id naming the test.
pub fn config(topic: &TestTopic, client_id: &str) -> KafkaConfig {
    KafkaConfig::new(topic.brokers()).with_client_id(client_id)
}

/// A fresh consumer group name.
pub fn group(prefix: &str) -> String {
    todo_testkit::unique_name(prefix)
}

/// A message on `topic` with key `key` and `{"seq": seq}` as payload.
pub fn message(topic: &str, key: &str, seq: u64) -> Message {
    Message {
        id: EventId(uuid::Uuid::now_v7()),
        topic: topic.to_owned(),
        key: key.to_owned(),
        event_type: "com.todo.test.sequenced".to_owned(),
        payload: serde_json::json!({ "seq": seq }),
    }
}

/// The `seq` of a message built by [`message`].
pub fn seq(message: &Message) -> u64 {
    message.payload["seq"]
        .as_u64()
        .expect("test messages carry a seq")
}

/// Forwards every message it handles to a channel; answers `Retry` once nobody listens, so a
/// runner being shut down never commits a message the test did not see.
pub struct Forward(pub mpsc::UnboundedSender<Message>);

#[async_trait]
impl MessageHandler for Forward {
    async fn handle(&self, message: &Message) -> Result<(), HandleError> {
        self.0
            .send(message.clone())
            .map_err(|e| HandleError::retry("the test stopped listening", e))
    }
}

/// A runner spawned on the test's runtime, and the token that stops it.
pub struct Running {
    pub shutdown: CancellationToken,
    pub task: JoinHandle<Result<RunReport, KafkaBusError>>,
}

impl Running {
    pub fn spawn(runner: ConsumerRunner) -> Self {
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(runner.run(shutdown.clone()));
        Self { shutdown, task }
    }

    /// Shuts the runner down gracefully and returns its report.
    pub async fn stop(self) -> RunReport {
        self.shutdown.cancel();
        match tokio::time::timeout(Duration::from_secs(60), self.task).await {
            Ok(Ok(Ok(report))) => report,
            Ok(Ok(Err(error))) => panic!("the consumer runner failed: {error}"),
            Ok(Err(join)) => panic!("the consumer runner panicked: {join}"),
            Err(_) => panic!("the consumer runner did not stop within 60 s of shutdown"),
        }
    }
}

/// A runner of group `group` on `topic` forwarding to the returned receiver.
pub fn forwarding_runner(
    config: KafkaConfig,
    group: &str,
    topic: &str,
) -> (Running, mpsc::UnboundedReceiver<Message>) {
    let (sender, receiver) = mpsc::unbounded_channel();
    let runner = ConsumerRunner::new(config, group, &[topic], Arc::new(Forward(sender)))
        .with_commit_interval(Duration::from_millis(100), 100);
    (Running::spawn(runner), receiver)
}

/// Receives until every id of `wanted` arrived (or panics after `timeout`); returns every
/// arrival in order, redeliveries included.
pub async fn receive_all(
    receiver: &mut mpsc::UnboundedReceiver<Message>,
    wanted: &HashSet<EventId>,
    timeout: Duration,
) -> Vec<Message> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut seen = HashSet::new();
    let mut arrived = Vec::new();
    while !wanted.is_subset(&seen) {
        match tokio::time::timeout_at(deadline, receiver.recv()).await {
            Ok(Some(message)) => {
                seen.insert(message.id);
                arrived.push(message);
            }
            Ok(None) => panic!(
                "the consumer stopped after {} of {} messages",
                seen.intersection(wanted).count(),
                wanted.len()
            ),
            Err(_) => panic!(
                "only {} of {} messages arrived within {timeout:?}",
                seen.intersection(wanted).count(),
                wanted.len()
            ),
        }
    }
    arrived
}

/// `<topic>.dlq` created up front with one partition (so it can be read in order), deleted on
/// drop.
pub struct DeadLetterTopic {
    name: String,
    brokers: String,
    client: Client,
}

impl DeadLetterTopic {
    pub async fn create(topic: &TestTopic) -> Self {
        let name = todo_kafka_direct::dead_letter::dead_letter_topic(topic.name());
        let client = ClientBuilder::new(vec![topic.brokers().to_owned()])
            .build()
            .await
            .expect("connecting to the test broker");
        client
            .controller_client()
            .expect("a controller")
            .create_topic(name.clone(), 1, 1, 10_000)
            .await
            .expect("creating the dead-letter topic");
        Self {
            name,
            brokers: topic.brokers().to_owned(),
            client,
        }
    }

    /// Reads records from the start until `expected` are in hand.
    pub async fn read(&self, expected: usize, timeout: Duration) -> Vec<Record> {
        let partition = self
            .client
            .partition_client(self.name.clone(), 0, UnknownTopicHandling::Retry)
            .await
            .expect("a client for the dead-letter partition");
        let deadline = Instant::now() + timeout;
        let mut records = Vec::new();
        let mut next = 0;
        while records.len() < expected {
            assert!(
                Instant::now() < deadline,
                "only {} of {expected} dead letters arrived within {timeout:?}",
                records.len()
            );
            let (batch, _) = partition
                .fetch_records(next, 1..1_000_000, 200)
                .await
                .expect("fetching dead letters");
            for record in batch {
                next = record.offset + 1;
                records.push(record.record);
            }
        }
        records
    }
}

impl Drop for DeadLetterTopic {
    fn drop(&mut self) {
        todo_testkit::delete_topic(&self.brokers, &self.name);
    }
}

/// A header of a dead letter, as text.
pub fn header(record: &Record, name: &str) -> Option<String> {
    record
        .headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// A Kafka broker of its own, in its own run dir of `infra/todo-infra`, for the one test that
/// stops and restarts Kafka: the shared broker stays untouched for every other test binary.
/// Stopped and its run dir deleted on drop.
pub struct DedicatedKafka {
    script: PathBuf,
    run_dir: PathBuf,
    brokers: String,
}

impl DedicatedKafka {
    /// Starts a single-node KRaft broker (fails loudly, with the script's output, if it cannot).
    pub fn start() -> Self {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("the crate lives in the workspace")
            .to_path_buf();
        let run_dir = root
            .join(".run")
            .join(todo_testkit::unique_name("kafka-direct-restart"));
        let mut kafka = Self {
            script: root.join("infra").join("todo-infra"),
            run_dir,
            brokers: String::new(),
        };
        kafka.infra(&["up", "kafka"]);
        let env = kafka.infra(&["env"]);
        kafka.brokers = env
            .lines()
            .find_map(|line| line.strip_prefix("export TODO_KAFKA_BROKERS="))
            .map(|v| v.trim_matches('\'').to_owned())
            .expect("todo-infra env prints TODO_KAFKA_BROKERS");
        kafka
    }

    pub fn brokers(&self) -> &str {
        &self.brokers
    }

    /// Stops the broker (SIGTERM, then SIGKILL after 15 s), keeping its data.
    pub fn stop(&self) {
        self.infra(&["down"]);
    }

    /// Starts it again on the same port with the same data.
    pub fn restart(&self) {
        self.infra(&["up", "kafka"]);
    }

    fn infra(&self, args: &[&str]) -> String {
        let mut command = Command::new("bash");
        command
            .arg(&self.script)
            .arg("--run-dir")
            .arg(&self.run_dir)
            .args(args);
        // Ports come from this run dir's ports.env, never from the caller's environment.
        for var in [
            "TODO_INFRA_RUN_DIR",
            "TODO_PG_PORT",
            "TODO_KAFKA_PORT",
            "TODO_KAFKA_CONTROLLER_PORT",
        ] {
            command.env_remove(var);
        }
        let output = command
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", self.script.display()));
        assert!(
            output.status.success(),
            "`todo-infra --run-dir {} {}` failed ({}); provision with `infra/todo-infra install`:\n{}",
            self.run_dir.display(),
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

impl Drop for DedicatedKafka {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(&self.script)
            .arg("--run-dir")
            .arg(&self.run_dir)
            .args(["down", "--purge"])
            .output();
    }
}

/// Keeps, per key, the order in which sequence numbers first arrived.
pub fn first_arrivals_by_key(arrived: &[Message]) -> BTreeMap<String, Vec<u64>> {
    let mut seen = HashSet::new();
    let mut by_key: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for message in arrived {
        if seen.insert(message.id) {
            by_key
                .entry(message.key.clone())
                .or_default()
                .push(seq(message));
        }
    }
    by_key
}

/// A handler that records each event id once (idempotent, as SPEC §4 requires of consumers)
/// and counts how often it saw each.
#[derive(Default)]
pub struct IdempotentRecorder {
    pub seen: Mutex<BTreeMap<EventId, u32>>,
}

impl IdempotentRecorder {
    pub fn distinct(&self) -> usize {
        self.seen.lock().expect("not poisoned").len()
    }

    pub fn duplicates(&self) -> u32 {
        self.seen
            .lock()
            .expect("not poisoned")
            .values()
            .map(|n| n - 1)
            .sum()
    }
}
