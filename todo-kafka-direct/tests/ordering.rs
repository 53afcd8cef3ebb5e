//! Events of one task keep their order across a 3-partition topic, and land on the partition
//! Kafka's Java clients would pick for their key.

mod support;

use std::collections::HashSet;
use std::time::Duration;

use todo_core::ports::EventBus;
use todo_kafka_direct::KafkaEventBus;
use todo_testkit::{partition_for_key, TestTopic};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_of_one_key_arrive_in_publish_order_across_three_partitions() -> anyhow::Result<()> {
    let topic = TestTopic::create("ordering", 3).await?;
    let config = support::config(&topic, "ordering");
    let bus = KafkaEventBus::new(&config)?;
    let (running, mut receiver) =
        support::forwarding_runner(config, &support::group("ordering"), topic.name());

    // 30 keys, 100 events each, published in pipelined batches of 150 (several in flight at once).
    let keys: Vec<String> = (1..=30).map(|k| (1000 + k).to_string()).collect();
    let sent: Vec<_> = (0..3000_u64)
        .map(|seq| support::message(topic.name(), &keys[(seq % 30) as usize], seq))
        .collect();
    for batch in sent.chunks(150) {
        bus.publish_all(batch).await?;
    }

    let wanted = sent.iter().map(|m| m.id).collect();
    let arrived = support::receive_all(&mut receiver, &wanted, Duration::from_secs(60)).await;
    let by_key = support::first_arrivals_by_key(&arrived);
    for key in &keys {
        let published: Vec<u64> = sent
            .iter()
            .filter(|m| &m.key == key)
            .map(support::seq)
            .collect();
        assert_eq!(
            by_key[key], published,
            "events of key {key} arrived out of order"
        );
    }
    running.stop().await;

    // Where they landed: every key on one partition, the one murmur2 picks; all 3 partitions used.
    let records = topic
        .consume_all(sent.len(), Duration::from_secs(30))
        .await?;
    let mut partitions = HashSet::new();
    for record in &records {
        let key = record.key.as_deref().expect("every record is keyed");
        assert_eq!(
            record.partition,
            partition_for_key(key, 3),
            "key {:?}",
            String::from_utf8_lossy(key)
        );
        partitions.insert(record.partition);
    }
    assert_eq!(
        partitions.len(),
        3,
        "30 keys should spread over all 3 partitions"
    );
    bus.close(Duration::from_secs(10)).await?;
    Ok(())
}
