//! Per-test Kafka topics on the shared broker, through the pure-Rust `rskafka` client.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rskafka::client::partition::{Compression, PartitionClient, UnknownTopicHandling};
use rskafka::client::{Client, ClientBuilder};
use rskafka::record::Record;

use crate::{unique_name, Stack, TestkitError};

/// A uniquely named topic, created with the requested partition count and deleted on drop.
pub struct TestTopic {
    name: String,
    partitions: i32,
    brokers: String,
    client: Arc<Client>,
}

/// One record read back from a [`TestTopic`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumedRecord {
    /// Partition it was read from.
    pub partition: i32,
    /// Its offset in that partition.
    pub offset: i64,
    /// Its key, if any.
    pub key: Option<Vec<u8>>,
    /// Its value, if any.
    pub value: Option<Vec<u8>>,
}

impl std::fmt::Debug for TestTopic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestTopic")
            .field("name", &self.name)
            .field("partitions", &self.partitions)
            .field("brokers", &self.brokers)
            .finish_non_exhaustive()
    }
}

impl TestTopic {
    /// Creates topic `<prefix>-<random>` with `partitions` partitions (replication 1).
    pub async fn create(prefix: &str, partitions: i32) -> Result<Self, TestkitError> {
        let brokers = Stack::get()?.kafka_brokers()?.to_owned();
        let client = ClientBuilder::new(vec![brokers.clone()]).build().await?;
        let name = unique_name(prefix);
        client
            .controller_client()?
            .create_topic(name.clone(), partitions, 1, 10_000)
            .await?;
        Ok(Self {
            name,
            partitions,
            brokers,
            client: Arc::new(client),
        })
    }

    /// The topic's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its partition count.
    #[must_use]
    pub fn partitions(&self) -> i32 {
        self.partitions
    }

    /// Bootstrap servers of the broker that holds it.
    #[must_use]
    pub fn brokers(&self) -> &str {
        &self.brokers
    }

    /// The connected client, for anything the helpers below do not cover.
    #[must_use]
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// A client for one partition (waits for its leader).
    pub async fn partition_client(&self, partition: i32) -> Result<PartitionClient, TestkitError> {
        Ok(self
            .client
            .partition_client(self.name.clone(), partition, UnknownTopicHandling::Retry)
            .await?)
    }

    /// Produces keyed records, each to the partition Kafka's default partitioner would pick
    /// ([`partition_for_key`]), keeping their order within each partition.
    pub async fn produce_keyed(
        &self,
        records: impl IntoIterator<Item = (Vec<u8>, Vec<u8>)>,
    ) -> Result<(), TestkitError> {
        let mut by_partition: BTreeMap<i32, Vec<Record>> = BTreeMap::new();
        for (key, value) in records {
            by_partition
                .entry(partition_for_key(&key, self.partitions))
                .or_default()
                .push(Record {
                    key: Some(key),
                    value: Some(value),
                    headers: BTreeMap::new(),
                    timestamp: rskafka::chrono::Utc::now(),
                });
        }
        for (partition, batch) in by_partition {
            self.partition_client(partition)
                .await?
                .produce(batch, Compression::NoCompression)
                .await?;
        }
        Ok(())
    }

    /// Reads every partition from its start until `expected` records are in hand, or fails
    /// after `timeout`. Records come back per partition in offset order.
    pub async fn consume_all(
        &self,
        expected: usize,
        timeout: Duration,
    ) -> Result<Vec<ConsumedRecord>, TestkitError> {
        let deadline = Instant::now() + timeout;
        let mut clients = Vec::new();
        for partition in 0..self.partitions {
            clients.push((partition, self.partition_client(partition).await?, 0_i64));
        }
        let mut out = Vec::new();
        while out.len() < expected {
            if Instant::now() > deadline {
                return Err(TestkitError::KafkaTimeout {
                    topic: self.name.clone(),
                    read: out.len(),
                    expected,
                    timeout,
                });
            }
            for (partition, client, next) in &mut clients {
                let (records, _high_watermark) =
                    client.fetch_records(*next, 1..1_000_000, 200).await?;
                for r in records {
                    *next = r.offset + 1;
                    out.push(ConsumedRecord {
                        partition: *partition,
                        offset: r.offset,
                        key: r.record.key,
                        value: r.record.value,
                    });
                }
            }
        }
        Ok(out)
    }
}

impl Drop for TestTopic {
    fn drop(&mut self) {
        delete_topic(&self.brokers, &self.name);
    }
}

/// Deletes topic `name`, best effort, on a helper thread with its own runtime, so it can be called from
/// `Drop` (which cannot await).
pub fn delete_topic(brokers: &str, name: &str) {
    let (brokers, name) = (brokers.to_owned(), name.to_owned());
    let _ = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        runtime.block_on(async {
            let client = ClientBuilder::new(vec![brokers]).build().await.ok()?;
            client
                .controller_client()
                .ok()?
                .delete_topic(name, 5_000)
                .await
                .ok()
        })
    })
    .join();
}

/// The partition Kafka's default partitioner (Java client, murmur2) picks for `key`.
#[must_use]
pub fn partition_for_key(key: &[u8], partitions: i32) -> i32 {
    let positive = murmur2(key) & 0x7fff_ffff;
    (positive % partitions.max(1) as u32) as i32
}

/// Kafka's `Utils.murmur2`.
fn murmur2(data: &[u8]) -> u32 {
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h: u32 = 0x9747_b28c ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        if rest.len() >= 3 {
            h ^= u32::from(rest[2]) << 16;
        }
        if rest.len() >= 2 {
            h ^= u32::from(rest[1]) << 8;
        }
        h ^= u32::from(rest[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_kafkas_own_test_vectors() {
        // From Kafka's UtilsTest.testMurmur2.
        let cases: [(&str, i32); 6] = [
            ("21", -973_932_308),
            ("foobar", -790_332_482),
            ("a-little-bit-long-string", -985_981_536),
            ("a-little-bit-longer-string", -1_486_304_829),
            (
                "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
            ("abc", 479_470_107),
        ];
        for (input, expected) in cases {
            assert_eq!(
                murmur2(input.as_bytes()) as i32,
                expected,
                "murmur2({input:?})"
            );
        }
    }

    #[test]
    fn every_key_maps_into_the_partition_range() {
        for i in 0..1000 {
            let p = partition_for_key(format!("key-{i}").as_bytes(), 3);
            assert!((0..3).contains(&p));
        }
    }
}
