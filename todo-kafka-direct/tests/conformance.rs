//! The `todo-core` EventBus conformance suite, run against the real Kafka broker of the test stack.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use todo_core::events::Message;
use todo_core::ports::EventBus;
use todo_core::testkit::{BusHarness, EventBusSuite};
use todo_kafka_direct::{ConsumerRunner, KafkaConfig, KafkaEventBus};
use todo_testkit::TestTopic;
use tokio::sync::mpsc;

use support::{Forward, Running};

/// The suite's view of Kafka: a fresh 3-partition topic, fresh consumer groups, and one
/// [`ConsumerRunner`] per subscription, stopped when the suite drops its receiver.
struct KafkaHarness {
    config: KafkaConfig,
    bus: Arc<KafkaEventBus>,
    topic: TestTopic,
    groups: (String, String),
    running: Arc<Mutex<HashMap<String, Running>>>,
}

#[async_trait]
impl BusHarness for KafkaHarness {
    fn bus(&self) -> Arc<dyn EventBus> {
        self.bus.clone()
    }

    async fn subscribe(&self, topic: &str, group: &str) -> mpsc::UnboundedReceiver<Message> {
        // A group's previous subscription must be gone first, or it could take the partitions.
        let previous = self.running.lock().expect("not poisoned").remove(group);
        if let Some(previous) = previous {
            previous.stop().await;
        }
        let (sender, receiver) = mpsc::unbounded_channel();
        let runner = ConsumerRunner::new(
            self.config.clone(),
            group,
            &[topic],
            Arc::new(Forward(sender.clone())),
        );
        let running = Running::spawn(runner);
        let shutdown = running.shutdown.clone();
        self.running
            .lock()
            .expect("not poisoned")
            .insert(group.to_owned(), running);
        tokio::spawn(async move {
            sender.closed().await;
            shutdown.cancel();
        });
        receiver
    }

    fn topic(&self) -> String {
        self.topic.name().to_owned()
    }

    fn groups(&self) -> (String, String) {
        self.groups.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_event_bus_passes_the_event_bus_conformance_suite() -> anyhow::Result<()> {
    let topic = TestTopic::create("conformance", 3).await?;
    let config = support::config(&topic, "conformance");
    let harness = KafkaHarness {
        bus: Arc::new(KafkaEventBus::new(&config)?),
        config,
        groups: (
            support::group("conformance-a"),
            support::group("conformance-b"),
        ),
        topic,
        running: Arc::default(),
    };
    let running = harness.running.clone();
    let bus = harness.bus.clone();
    EventBusSuite::new(harness).run_all().await;

    let runners: Vec<Running> = running
        .lock()
        .expect("not poisoned")
        .drain()
        .map(|(_, r)| r)
        .collect();
    for runner in runners {
        runner.stop().await;
    }
    bus.flush(std::time::Duration::from_secs(10)).await?;
    Ok(())
}
