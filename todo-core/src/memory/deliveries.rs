//! An in-memory [`DeliveryStore`].

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::lock;
use crate::model::EventId;
use crate::ports::{
    ChannelKind, Delivery, DeliveryOutcome, DeliveryState, DeliveryStore, PortResult,
};

/// Delivery records in a map.
#[derive(Debug, Default)]
pub struct InMemoryDeliveryStore {
    records: Mutex<BTreeMap<(EventId, ChannelKind), Record>>,
}

#[derive(Debug, Clone)]
struct Record {
    delivery: Delivery,
    next_attempt_at: DateTime<Utc>,
    state: DeliveryState,
}

impl InMemoryDeliveryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl DeliveryStore for InMemoryDeliveryStore {
    async fn enqueue(&self, delivery: &Delivery, due: DateTime<Utc>) -> PortResult<bool> {
        let mut records = lock(&self.records);
        let key = (delivery.event_id, delivery.channel);
        if records.contains_key(&key) {
            return Ok(false);
        }
        let mut delivery = delivery.clone();
        delivery.attempts = 0;
        records.insert(
            key,
            Record {
                delivery,
                next_attempt_at: due,
                state: DeliveryState::Pending {
                    attempts: 0,
                    last_error: None,
                },
            },
        );
        Ok(true)
    }

    async fn claim_due(
        &self,
        channel: ChannelKind,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> PortResult<Vec<Delivery>> {
        let mut records = lock(&self.records);
        let mut due: Vec<&mut Record> = records
            .values_mut()
            .filter(|r| r.delivery.channel == channel && r.next_attempt_at <= now)
            .filter(|r| matches!(r.state, DeliveryState::Pending { .. }))
            .collect();
        due.sort_by_key(|r| (r.next_attempt_at, r.delivery.event_id));
        let mut claimed: Vec<Delivery> = due
            .into_iter()
            .take(limit)
            .map(|record| {
                record.delivery.attempts += 1;
                record.next_attempt_at = lease_until;
                if let DeliveryState::Pending { attempts, .. } = &mut record.state {
                    *attempts = record.delivery.attempts;
                }
                record.delivery.clone()
            })
            .collect();
        claimed.sort_by_key(|d| (d.remind_at, d.event_id));
        Ok(claimed)
    }

    async fn finish(
        &self,
        event_id: EventId,
        channel: ChannelKind,
        outcome: &DeliveryOutcome,
    ) -> PortResult<()> {
        let mut records = lock(&self.records);
        let Some(record) = records.get_mut(&(event_id, channel)) else {
            return Ok(());
        };
        let attempts = record.delivery.attempts;
        record.state = match outcome {
            DeliveryOutcome::Sent { .. } => DeliveryState::Sent { attempts },
            DeliveryOutcome::Skipped { reason, .. } => DeliveryState::Skipped {
                reason: reason.clone(),
            },
            DeliveryOutcome::Retry { at, error } => {
                record.next_attempt_at = *at;
                DeliveryState::Pending {
                    attempts,
                    last_error: Some(error.clone()),
                }
            }
            DeliveryOutcome::Dead { reason, .. } => DeliveryState::Dead {
                attempts,
                reason: reason.clone(),
            },
        };
        Ok(())
    }

    async fn state(
        &self,
        event_id: EventId,
        channel: ChannelKind,
    ) -> PortResult<Option<DeliveryState>> {
        Ok(lock(&self.records)
            .get(&(event_id, channel))
            .map(|r| r.state.clone()))
    }
}
