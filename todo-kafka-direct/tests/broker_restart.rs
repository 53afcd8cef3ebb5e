//! A broker restart in the middle of production loses nothing: `publish` waits out the outage
//! (librdkafka retries with backoff) and every acknowledged event is consumed afterwards.
//!
//! Restarting the shared test broker would break every other test binary running at the same
//! time, so this test starts a broker of its own (`infra/todo-infra --run-dir <own dir> up kafka`),
//! stops and restarts it, and deletes it at the end.

mod support;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use todo_core::events::Message;
use todo_core::ports::EventBus;
use todo_kafka_direct::{KafkaConfig, KafkaEventBus};
use todo_testkit::rskafka::client::ClientBuilder;

use support::DedicatedKafka;

const EVENTS: usize = 3000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_restart_during_production_loses_nothing() -> anyhow::Result<()> {
    let kafka = Arc::new(tokio::task::spawn_blocking(DedicatedKafka::start).await?);
    let topic = todo_testkit::unique_name("broker-restart");
    ClientBuilder::new(vec![kafka.brokers().to_owned()])
        .build()
        .await?
        .controller_client()?
        .create_topic(topic.clone(), 3, 1, 10_000)
        .await?;
    let config = KafkaConfig::new(kafka.brokers())
        .with_client_id("broker-restart")
        .with_delivery_timeout(Duration::from_secs(120));
    let bus = Arc::new(KafkaEventBus::new(&config)?);
    let sent: Vec<Message> = (0..EVENTS as u64)
        .map(|seq| support::message(&topic, &(seq % 30).to_string(), seq))
        .collect();

    // Consume all along, through the outage too.
    let (running, mut receiver) =
        support::forwarding_runner(config.clone(), &support::group("broker-restart"), &topic);

    // Produce at a steady pace, as the outbox relay would: batches of 10, retrying a failed batch.
    let acked = Arc::new(AtomicUsize::new(0));
    let failed_publishes = Arc::new(AtomicUsize::new(0));
    let producing = tokio::spawn({
        let (bus, sent, acked, failed) = (
            bus.clone(),
            sent.clone(),
            acked.clone(),
            failed_publishes.clone(),
        );
        async move {
            for batch in sent.chunks(10) {
                while let Err(error) = bus.publish_all(batch).await {
                    failed.fetch_add(1, Ordering::SeqCst);
                    eprintln!("publish failed, retrying the batch: {error}");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                acked.fetch_add(batch.len(), Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(15)).await;
            }
        }
    });

    while acked.load(Ordering::SeqCst) < EVENTS / 3 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let outage = Instant::now();
    tokio::task::spawn_blocking({
        let kafka = kafka.clone();
        move || kafka.stop()
    })
    .await?;
    let acked_when_down = acked.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        acked.load(Ordering::SeqCst),
        acked_when_down,
        "nothing can be acknowledged while the broker is down"
    );
    tokio::task::spawn_blocking({
        let kafka = kafka.clone();
        move || kafka.restart()
    })
    .await?;
    let downtime = outage.elapsed();

    tokio::time::timeout(Duration::from_secs(180), producing).await??;
    assert!(
        acked_when_down < EVENTS,
        "production must still be under way when the broker stops ({acked_when_down} acked)"
    );

    let wanted: HashSet<_> = sent.iter().map(|m| m.id).collect();
    let arrived = support::receive_all(&mut receiver, &wanted, Duration::from_secs(120)).await;
    running.stop().await;
    let distinct: HashSet<_> = arrived.iter().map(|m| m.id).collect();
    let failed = failed_publishes.load(Ordering::SeqCst);
    eprintln!(
        "broker down for {downtime:?} after {acked_when_down} acks; {} events consumed, {} redelivered, {failed} publish calls failed and were retried",
        distinct.len(),
        arrived.len() - distinct.len(),
    );
    assert_eq!(
        distinct.len(),
        EVENTS,
        "every acknowledged event is consumed"
    );
    let by_key = support::first_arrivals_by_key(&arrived);
    for (key, seqs) in by_key {
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "key {key} out of order"
        );
    }
    bus.close(Duration::from_secs(10)).await?;
    Ok(())
}
