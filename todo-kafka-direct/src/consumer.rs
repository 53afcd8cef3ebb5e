//! [`ConsumerRunner`]: feeds one consumer group's records to a [`MessageHandler`], at least once.
//!
//! The runner reads the group's partitions in one loop and hands each record to the handler in
//! order, so one task's events are handled in the order they were published. Per record:
//!
//! - **decodes** it ([`envelope::decode`]); a record that cannot be decoded is poison: it is
//!   dead-lettered with the reason and skipped, so it never blocks its partition;
//! - **handles** it: `Ok` → the offset is stored; [`HandleError::Retry`] → the same record is
//!   handed over again after a backoff ([`RetryPolicy`]) with nothing committed, and after the last
//!   attempt it is dead-lettered; [`HandleError::Drop`] → dead-lettered;
//! - **commits** stored offsets (only ever of handled or dead-lettered records) every
//!   `commit_interval` or `max_uncommitted` records, before partitions are taken away in a
//!   rebalance, and on shutdown.
//!
//! Shutdown ([`CancellationToken`]) lets the handler finish the record in hand, commits, and leaves
//! the group; a record waiting for a retry is left uncommitted and will be redelivered.
//! A crash between handling and committing redelivers at most the uncommitted records: handlers
//! are idempotent (SPEC §4), so that is safe.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::message::{Message as _, OwnedMessage};
use rdkafka::{ClientContext, TopicPartitionList};
use todo_core::error::chain;
use todo_core::events::{consumers, topics};
use todo_core::ports::{HandleError, MessageHandler};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, info_span, warn, Instrument};

use crate::dead_letter::{dead_letter_topic, DeadLetters};
use crate::envelope;
use crate::error::KafkaBusError;
use crate::{KafkaConfig, RetryPolicy};

/// A consumer group and the topic it reads, as SPEC §4 names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subscription {
    /// The consumer group.
    pub group: &'static str,
    /// The topic.
    pub topic: &'static str,
}

impl Subscription {
    /// The recurring-task service reads `task-events`.
    pub const RECURRING: Self = Self {
        group: consumers::RECURRING,
        topic: topics::TASK_EVENTS,
    };
    /// The audit service reads `task-events`.
    pub const AUDIT: Self = Self {
        group: consumers::AUDIT,
        topic: topics::TASK_EVENTS,
    };
    /// The notification service reads `reminders`.
    pub const NOTIFICATION: Self = Self {
        group: consumers::NOTIFICATION,
        topic: topics::REMINDERS,
    };
}

/// What a runner did before it stopped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunReport {
    /// Records the handler accepted.
    pub handled: u64,
    /// Records sent to a dead-letter topic.
    pub dead_lettered: u64,
    /// Handler attempts answered with `Retry`.
    pub retries: u64,
}

/// Consumes some topics as one consumer group and hands every record to a handler.
pub struct ConsumerRunner {
    config: KafkaConfig,
    group: String,
    topics: Vec<String>,
    handler: Arc<dyn MessageHandler>,
    retry: RetryPolicy,
    commit_interval: Duration,
    max_uncommitted: u64,
}

impl std::fmt::Debug for ConsumerRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsumerRunner")
            .field("group", &self.group)
            .field("topics", &self.topics)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// What became of one record.
enum Outcome {
    /// Handled or dead-lettered: its offset may be committed.
    Done,
    /// Shutdown came while it waited for a retry: leave it uncommitted.
    Interrupted,
}

/// Where a shutdown may interrupt: only while waiting, never while the handler runs.
async fn wait_or_shutdown(delay: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        () = shutdown.cancelled() => false,
        () = tokio::time::sleep(delay) => true,
    }
}

impl ConsumerRunner {
    /// A runner for consumer group `group` over `topics`.
    pub fn new(
        config: KafkaConfig,
        group: impl Into<String>,
        topics: &[&str],
        handler: Arc<dyn MessageHandler>,
    ) -> Self {
        Self {
            config,
            group: group.into(),
            topics: topics.iter().map(|t| (*t).to_owned()).collect(),
            handler,
            retry: RetryPolicy::default(),
            commit_interval: Duration::from_millis(500),
            max_uncommitted: 1_000,
        }
    }

    /// A runner for one of the SPEC §4 subscriptions, e.g. [`Subscription::RECURRING`].
    pub fn for_subscription(
        config: KafkaConfig,
        subscription: Subscription,
        handler: Arc<dyn MessageHandler>,
    ) -> Self {
        Self::new(config, subscription.group, &[subscription.topic], handler)
    }

    /// Sets how `Retry` answers are retried.
    #[must_use]
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets how often handled offsets are committed (default 500 ms, or every 1 000 records):
    /// a crash redelivers at most what was handled since the last commit.
    #[must_use]
    pub fn with_commit_interval(mut self, interval: Duration, max_uncommitted: u64) -> Self {
        self.commit_interval = interval;
        self.max_uncommitted = max_uncommitted.max(1);
        self
    }

    /// The consumer group.
    #[must_use]
    pub fn group(&self) -> &str {
        &self.group
    }

    /// Consumes until `shutdown` is cancelled, then finishes the record in hand, commits and
    /// leaves the group. Fails only on a fatal client error or an unusable configuration.
    pub async fn run(self, shutdown: CancellationToken) -> Result<RunReport, KafkaBusError> {
        let span = info_span!("kafka.consumer", group = %self.group, topics = ?self.topics);
        self.run_inner(shutdown).instrument(span).await
    }

    async fn run_inner(self, shutdown: CancellationToken) -> Result<RunReport, KafkaBusError> {
        let config = self.config.consumer(&self.group);
        let max_poll_interval = config
            .get("max.poll.interval.ms")
            .and_then(|ms| ms.parse().ok())
            .map_or(Duration::from_secs(300), Duration::from_millis);
        self.retry
            .validate(max_poll_interval)
            .map_err(KafkaBusError::RetryPolicy)?;
        let consumer: StreamConsumer<CommitBeforeRevoke> = config
            .create_with_context(CommitBeforeRevoke)
            .map_err(KafkaBusError::Config)?;
        let topics: Vec<&str> = self.topics.iter().map(String::as_str).collect();
        consumer
            .subscribe(&topics)
            .map_err(|source| KafkaBusError::Subscribe {
                topics: self.topics.clone(),
                source,
            })?;
        let dead_letters = DeadLetters::new(&self.config, &self.group)?;
        info!("consuming");

        let mut report = RunReport::default();
        let mut uncommitted: u64 = 0;
        let mut last_commit = Instant::now();
        let result = loop {
            let received = tokio::select! {
                biased;
                () = shutdown.cancelled() => break Ok(()),
                received = consumer.recv() => received,
                () = tokio::time::sleep(self.commit_interval), if uncommitted > 0 => {
                    commit(&consumer, CommitMode::Async);
                    (uncommitted, last_commit) = (0, Instant::now());
                    continue;
                }
            };
            let record = match received {
                Ok(record) => record.detach(),
                Err(KafkaError::MessageConsumptionFatal(code)) => {
                    break Err(KafkaBusError::Fatal(KafkaError::MessageConsumptionFatal(
                        code,
                    )))
                }
                Err(error) => {
                    // Transient: unknown topic (not created yet), broker down, rebalance noise.
                    warn!(error = %error, "consumer error; continuing");
                    if !wait_or_shutdown(Duration::from_millis(200), &shutdown).await {
                        break Ok(());
                    }
                    continue;
                }
            };
            match self
                .process(&record, &dead_letters, &shutdown, &mut report)
                .await
            {
                Outcome::Done => {}
                Outcome::Interrupted => break Ok(()),
            }
            // Stores offset + 1: the next record to read. Fails only if the partition was
            // revoked meanwhile; the new owner then redelivers it (at least once).
            if let Err(error) =
                consumer.store_offset(record.topic(), record.partition(), record.offset())
            {
                warn!(error = %error, partition = record.partition(), offset = record.offset(), "could not store offset");
            }
            uncommitted += 1;
            if uncommitted >= self.max_uncommitted || last_commit.elapsed() >= self.commit_interval
            {
                commit(&consumer, CommitMode::Async);
                (uncommitted, last_commit) = (0, Instant::now());
            }
        };

        if uncommitted > 0 {
            if let Err(error) = consumer.commit_consumer_state(CommitMode::Sync) {
                if !is_nothing_to_commit(&error) {
                    warn!(error = %error, "final commit failed; uncommitted records will be redelivered");
                }
            }
        }
        // Closing leaves the group (a blocking exchange with the coordinator): off the runtime.
        let _ = tokio::task::spawn_blocking(move || drop(consumer)).await;
        dead_letters.close().await;
        info!(
            handled = report.handled,
            dead_lettered = report.dead_lettered,
            retries = report.retries,
            "stopped"
        );
        result.map(|()| report)
    }

    /// Decodes and handles one record, retrying and dead-lettering as the module docs describe.
    async fn process(
        &self,
        record: &OwnedMessage,
        dead_letters: &DeadLetters,
        shutdown: &CancellationToken,
        report: &mut RunReport,
    ) -> Outcome {
        let message = match envelope::decode(
            record.topic(),
            record.key(),
            record.payload(),
            record.headers(),
        ) {
            Ok(message) => message,
            Err(poison) => {
                let reason = format!("undecodable record: {}", chain(&poison));
                return self
                    .dead_letter(record, &reason, dead_letters, shutdown, report)
                    .await;
            }
        };
        let span = info_span!(
            "kafka.handle",
            event_id = %message.id,
            event_type = %message.event_type,
            key = %message.key,
            partition = record.partition(),
            offset = record.offset(),
        );
        async {
            let mut attempt: u32 = 0;
            loop {
                attempt += 1;
                match self.handler.handle(&message).await {
                    Ok(()) => {
                        report.handled += 1;
                        return Outcome::Done;
                    }
                    Err(error @ HandleError::Drop { .. }) => {
                        let reason = format!("handler dropped it: {}", chain(&error));
                        return self
                            .dead_letter(record, &reason, dead_letters, shutdown, report)
                            .await;
                    }
                    Err(error @ HandleError::Retry { .. })
                        if attempt >= self.retry.max_attempts =>
                    {
                        report.retries += 1;
                        let reason =
                            format!("still failing after {attempt} attempts: {}", chain(&error));
                        return self
                            .dead_letter(record, &reason, dead_letters, shutdown, report)
                            .await;
                    }
                    Err(error @ HandleError::Retry { .. }) => {
                        report.retries += 1;
                        let delay = self.retry.delay(attempt, rand::random::<f64>());
                        debug!(attempt, error = %chain(&error), ?delay, "handler asked to retry");
                        if !wait_or_shutdown(delay, shutdown).await {
                            return Outcome::Interrupted;
                        }
                    }
                }
            }
        }
        .instrument(span)
        .await
    }

    /// Publishes `record` to its dead-letter topic, retrying until Kafka acknowledges it (its
    /// offset must not be committed before) or shutdown.
    async fn dead_letter(
        &self,
        record: &OwnedMessage,
        reason: &str,
        dead_letters: &DeadLetters,
        shutdown: &CancellationToken,
        report: &mut RunReport,
    ) -> Outcome {
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            match dead_letters.send(record, reason).await {
                Ok(()) => {
                    warn!(
                        dead_letter_topic = %dead_letter_topic(record.topic()),
                        partition = record.partition(),
                        offset = record.offset(),
                        %reason,
                        "dead-lettered"
                    );
                    report.dead_lettered += 1;
                    return Outcome::Done;
                }
                Err(error) => {
                    warn!(error = %error, attempt, "could not publish a dead letter; retrying");
                    let delay = self.retry.delay(attempt, rand::random::<f64>());
                    if !wait_or_shutdown(delay, shutdown).await {
                        return Outcome::Interrupted;
                    }
                }
            }
        }
    }
}

/// Commits the stored offsets; an asynchronous commit's failure is reported by the context.
fn commit<C: ConsumerContext>(consumer: &StreamConsumer<C>, mode: CommitMode) {
    if let Err(error) = consumer.commit_consumer_state(mode) {
        if !is_nothing_to_commit(&error) {
            warn!(error = %error, "commit failed; will retry with the next commit");
        }
    }
}

fn is_nothing_to_commit(error: &KafkaError) -> bool {
    error.rdkafka_error_code() == Some(RDKafkaErrorCode::NoOffset)
}

/// Commits the handled records' offsets before a rebalance takes partitions away, so the next
/// owner does not handle them again; logs failed asynchronous commits.
struct CommitBeforeRevoke;

impl ClientContext for CommitBeforeRevoke {}

impl ConsumerContext for CommitBeforeRevoke {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(partitions) => {
                debug!(count = partitions.count(), "partitions revoked; committing");
                if let Err(error) = consumer.commit_consumer_state(CommitMode::Sync) {
                    if !is_nothing_to_commit(&error) {
                        warn!(error = %error, "commit before revoke failed");
                    }
                }
            }
            Rebalance::Assign(partitions) => {
                info!(partitions = ?partition_names(partitions), "partitions assigned");
            }
            Rebalance::Error(error) => warn!(error = %error, "rebalance error"),
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, offsets: &TopicPartitionList) {
        match result {
            Ok(()) => debug!(partitions = offsets.count(), "offsets committed"),
            Err(error) if is_nothing_to_commit(&error) => {}
            Err(error) => warn!(error = %error, "offset commit failed"),
        }
    }
}

fn partition_names(partitions: &TopicPartitionList) -> Vec<String> {
    partitions
        .elements()
        .iter()
        .map(|p| format!("{}/{}", p.topic(), p.partition()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_subscriptions_name_their_groups_and_topics() {
        assert_eq!(
            Subscription::RECURRING,
            Subscription {
                group: "recurring-task-service",
                topic: "task-events"
            }
        );
        assert_eq!(Subscription::AUDIT.group, "audit-service");
        assert_eq!(Subscription::NOTIFICATION.topic, "reminders");
    }
}
