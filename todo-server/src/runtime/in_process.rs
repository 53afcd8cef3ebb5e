//! The in-process bus of `todo-server all`, assembled for a long-running process: real pauses between
//! redeliveries (tokio's timer), dead letters kept in the database's state table and counted, and a
//! close at the shutdown signal so that no wait holds the process up.
//!
//! How delivery, acknowledgement and back-pressure work is told in
//! [`todo_core::memory::InMemoryEventBus`]: an outbox row is marked sent only once every consumer has
//! handled its event (or stored it as a dead letter); while a consumer waits out an outage, the relay
//! claims nothing more and the backlog stays in the outbox.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use todo_core::memory::{InMemoryEventBus, StateDeadLetters};
use todo_core::ports::{DeadLetter, DeadLetterStore, PortResult, StateStore, Timer};
use tokio_util::sync::CancellationToken;

/// Pauses on tokio's timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioTimer;

#[async_trait]
impl Timer for TokioTimer {
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// Counts each stored dead letter in `todo_events_dead_lettered_total` by topic and group.
pub struct MeteredDeadLetters(pub Arc<dyn DeadLetterStore>);

#[async_trait]
impl DeadLetterStore for MeteredDeadLetters {
    async fn record(&self, letter: &DeadLetter) -> PortResult<()> {
        self.0.record(letter).await?;
        metrics::counter!(
            "todo_events_dead_lettered_total",
            "topic" => letter.message.topic.clone(),
            "group" => letter.group.clone()
        )
        .increment(1);
        Ok(())
    }
}

/// The bus of `todo-server all`: default redelivery on tokio's timer, dead letters in `state` (the
/// database's state table), no history.
pub fn bus(state: Arc<dyn StateStore>) -> Arc<InMemoryEventBus> {
    Arc::new(
        InMemoryEventBus::new()
            .with_timer(Arc::new(TokioTimer))
            .with_dead_letters(Arc::new(MeteredDeadLetters(Arc::new(
                StateDeadLetters::new(state),
            ))))
            .without_history(),
    )
}

/// Closes `bus` as soon as either token is cancelled (the shutdown signal, or the service's own
/// shutdown), so that requests and the final relay pass stop waiting out failures.
pub async fn close_on_shutdown(
    bus: Arc<InMemoryEventBus>,
    signalled: CancellationToken,
    shutdown: CancellationToken,
) {
    tokio::select! {
        () = signalled.cancelled() => {}
        () = shutdown.cancelled() => {}
    }
    tracing::info!("in-process bus closing: failures are no longer waited out");
    bus.close();
}
