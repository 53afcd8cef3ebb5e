//! Prometheus metrics through the `metrics` facade, and decorators that meter the event pipeline.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use todo_core::events::Message;
use todo_core::ports::{EventBus, HandleError, MessageHandler, PortResult};

/// How often histogram observations are folded into their buckets.
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Installs the Prometheus recorder once per process and returns its handle.
///
/// The recorder keeps every histogram observation until its upkeep folds them into the buckets
/// (8 bytes each: about 1 MiB per 35 000 requests, measured); a thread of its own runs the upkeep
/// every five seconds, whether or not anyone scrapes `/metrics`.
pub fn install() -> PrometheusHandle {
    static HANDLE: std::sync::OnceLock<PrometheusHandle> = std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let seconds = &[
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ];
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), seconds)
                .expect("bucket list is not empty")
                .install_recorder()
                .expect("the only recorder of this process");
            let upkeep = handle.clone();
            // Without the thread the metrics still work; they only hold more memory.
            let _ = std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || loop {
                    std::thread::sleep(UPKEEP_EVERY);
                    upkeep.run_upkeep();
                });
            handle
        })
        .clone()
}

/// Counts publishes and failures per topic.
pub struct MeteredBus(pub Arc<dyn EventBus>);

#[async_trait]
impl EventBus for MeteredBus {
    async fn publish(&self, message: &Message) -> PortResult<()> {
        let result = self.0.publish(message).await;
        let topic = message.topic.clone();
        match &result {
            Ok(()) => {
                metrics::counter!("todo_events_published_total", "topic" => topic).increment(1)
            }
            Err(_) => {
                metrics::counter!("todo_events_publish_failed_total", "topic" => topic).increment(1)
            }
        }
        result
    }
}

/// Counts consumed and failed messages and times their handling, per topic and consumer group.
pub struct MeteredHandler {
    /// Consumer group name.
    pub group: String,
    /// The handler measured.
    pub inner: Arc<dyn MessageHandler>,
}

#[async_trait]
impl MessageHandler for MeteredHandler {
    #[tracing::instrument(name = "consume", skip_all, fields(topic = %message.topic, group = %self.group, event_id = %message.id, task_id = %message.key))]
    async fn handle(&self, message: &Message) -> Result<(), HandleError> {
        let started = Instant::now();
        let result = self.inner.handle(message).await;
        let labels = [
            ("topic", message.topic.clone()),
            ("group", self.group.clone()),
        ];
        metrics::histogram!("todo_consumer_handling_seconds", &labels)
            .record(started.elapsed().as_secs_f64());
        let outcome = match &result {
            Ok(()) => "ok",
            Err(HandleError::Retry { .. }) => "retry",
            Err(HandleError::Drop { .. }) => "dropped",
        };
        metrics::counter!("todo_events_consumed_total", "topic" => message.topic.clone(), "group" => self.group.clone(), "outcome" => outcome)
            .increment(1);
        result
    }
}
