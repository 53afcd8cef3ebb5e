//! Proof that the testkit's topics live on a real Kafka broker that keeps per-key order.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use todo_testkit::{partition_for_key, TestTopic};

const MESSAGES: usize = 1_000;
const KEYS: usize = 37;

#[tokio::test]
async fn a_thousand_keyed_messages_come_back_in_per_key_order() -> anyhow::Result<()> {
    let topic = TestTopic::create("order", 3).await?;
    assert!(topic.partitions() >= 3);

    // Sequence numbers per key; produced in 10 batches so order must hold across requests.
    let mut next_seq = vec![0_usize; KEYS];
    let mut produced = Vec::with_capacity(MESSAGES);
    for i in 0..MESSAGES {
        let key = i * 7 % KEYS;
        produced.push((
            format!("task-{key}").into_bytes(),
            format!("{key}:{}", next_seq[key]).into_bytes(),
        ));
        next_seq[key] += 1;
    }
    for batch in produced.chunks(MESSAGES / 10) {
        topic.produce_keyed(batch.to_vec()).await?;
    }

    let records = topic.consume_all(MESSAGES, Duration::from_secs(30)).await?;
    assert_eq!(
        records.len(),
        MESSAGES,
        "every message is read back exactly once"
    );

    let used: BTreeSet<i32> = records.iter().map(|r| r.partition).collect();
    assert_eq!(
        used.len(),
        3,
        "keys spread over all partitions, got {used:?}"
    );

    let mut seen: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for r in &records {
        let key = String::from_utf8(r.key.clone().unwrap_or_default())?;
        assert_eq!(
            r.partition,
            partition_for_key(key.as_bytes(), 3),
            "{key} is on its hashed partition"
        );
        let value = String::from_utf8(r.value.clone().unwrap_or_default())?;
        let (value_key, seq) = value
            .split_once(':')
            .ok_or_else(|| anyhow::anyhow!("bad value {value}"))?;
        assert_eq!(format!("task-{value_key}"), key);
        seen.entry(key).or_default().push(seq.parse()?);
    }
    assert_eq!(seen.len(), KEYS);
    for (key, seqs) in &seen {
        let expected: Vec<usize> = (0..seqs.len()).collect();
        assert_eq!(seqs, &expected, "messages of {key} out of order");
    }
    Ok(())
}

#[tokio::test]
async fn topics_are_unique_per_test() -> anyhow::Result<()> {
    let a = TestTopic::create("same-prefix", 3).await?;
    let b = TestTopic::create("same-prefix", 3).await?;
    assert_ne!(a.name(), b.name());
    a.produce_keyed(vec![(b"k".to_vec(), b"only in a".to_vec())])
        .await?;
    let partition = partition_for_key(b"k", 3);
    let (in_b, _) = b
        .partition_client(partition)
        .await?
        .fetch_records(0, 1..100_000, 100)
        .await?;
    assert!(
        in_b.is_empty(),
        "a record produced to {} showed up in {}",
        a.name(),
        b.name()
    );
    Ok(())
}
