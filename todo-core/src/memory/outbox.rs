//! The outbox half of [`InMemoryTaskRepository`]: messages committed with their change, leased to one
//! relay at a time, retried after failures, and forgotten once sent.

use std::collections::{BTreeMap, HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::lock;
use super::repository::InMemoryTaskRepository;
use crate::events::Message;
use crate::model::EventId;
use crate::ports::{OutboxEntry, OutboxStore, PortResult};

/// An unsent message and its delivery bookkeeping.
#[derive(Debug, Clone)]
struct OutboxRow {
    message: Message,
    created_at: DateTime<Utc>,
    attempts: u32,
    /// `None` until an attempt fails: a new message is due at once, whatever clock the relay runs on.
    next_attempt_at: Option<DateTime<Utc>>,
    leased_until: Option<DateTime<Utc>>,
    last_error: Option<String>,
}

impl OutboxRow {
    fn entry(&self) -> OutboxEntry {
        OutboxEntry {
            message: self.message.clone(),
            attempts: self.attempts,
            created_at: self.created_at,
        }
    }
}

/// Unsent rows in commit order. Sent rows are dropped, so memory follows the backlog, not history.
#[derive(Debug, Default)]
pub(super) struct OutboxRows {
    next_seq: u64,
    rows: BTreeMap<u64, OutboxRow>,
    by_id: HashMap<EventId, u64>,
    /// Creation times never go backwards, so commit order is also age order.
    newest: Option<DateTime<Utc>>,
}

impl OutboxRows {
    pub(super) fn contains(&self, id: EventId) -> bool {
        self.by_id.contains_key(&id)
    }

    pub(super) fn len(&self) -> usize {
        self.rows.len()
    }

    pub(super) fn push(&mut self, message: Message, now: DateTime<Utc>) {
        let created_at = self.newest.map_or(now, |newest| newest.max(now));
        self.newest = Some(created_at);
        self.next_seq += 1;
        self.by_id.insert(message.id, self.next_seq);
        self.rows.insert(
            self.next_seq,
            OutboxRow {
                message,
                created_at,
                attempts: 0,
                next_attempt_at: None,
                leased_until: None,
                last_error: None,
            },
        );
    }

    pub(super) fn unsent(&self) -> Vec<OutboxEntry> {
        self.rows.values().map(OutboxRow::entry).collect()
    }

    fn row_mut(&mut self, id: EventId) -> Option<&mut OutboxRow> {
        let seq = self.by_id.get(&id)?;
        self.rows.get_mut(seq)
    }
}

#[async_trait]
impl OutboxStore for InMemoryTaskRepository {
    async fn claim(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> PortResult<Vec<OutboxEntry>> {
        let mut state = lock(&self.state);
        // In commit order; a task (topic and key) whose earlier message is leased or waiting for
        // its retry is held back, so its events are published in order.
        let mut held_back: HashSet<(String, String)> = HashSet::new();
        let mut claimed = Vec::new();
        for row in state.outbox.rows.values_mut() {
            if claimed.len() == limit {
                break;
            }
            let task = (row.message.topic.clone(), row.message.key.clone());
            let due = row.next_attempt_at.is_none_or(|at| at <= now)
                && row.leased_until.is_none_or(|until| until <= now);
            if !due || held_back.contains(&task) {
                held_back.insert(task);
                continue;
            }
            row.leased_until = Some(lease_until);
            claimed.push(row.entry());
        }
        Ok(claimed)
    }

    async fn mark_sent(&self, ids: &[EventId], _at: DateTime<Utc>) -> PortResult<()> {
        let mut state = lock(&self.state);
        for id in ids {
            if let Some(seq) = state.outbox.by_id.remove(id) {
                state.outbox.rows.remove(&seq);
            }
        }
        Ok(())
    }

    async fn mark_failed(
        &self,
        id: EventId,
        next_attempt_at: DateTime<Utc>,
        error: &str,
    ) -> PortResult<()> {
        // A row already sent (by a relay whose lease outlived ours) has nothing left to record.
        if let Some(row) = lock(&self.state).outbox.row_mut(id) {
            row.attempts += 1;
            row.next_attempt_at = Some(next_attempt_at);
            row.leased_until = None;
            row.last_error = Some(error.to_owned());
        }
        Ok(())
    }

    async fn backlog(&self) -> PortResult<(u64, Option<DateTime<Utc>>)> {
        let state = lock(&self.state);
        let oldest = state.outbox.rows.values().next().map(|row| row.created_at);
        Ok((state.outbox.rows.len() as u64, oldest))
    }

    async fn purge_sent(&self, _before: DateTime<Utc>) -> PortResult<u64> {
        // Sent messages are dropped when they are marked sent: there is nothing to purge.
        Ok(0)
    }
}

impl InMemoryTaskRepository {
    /// The error of a message's last failed attempt, while it is unsent (for tests of the relay).
    pub fn outbox_last_error(&self, id: EventId) -> Option<String> {
        lock(&self.state)
            .outbox
            .row_mut(id)
            .and_then(|row| row.last_error.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::ManualClock;
    use crate::ports::{Changes, TaskRepository};
    use chrono::Duration;
    use std::sync::Arc;
    use uuid::Uuid;

    fn message(n: u8) -> Message {
        Message {
            id: EventId(Uuid::from_u128(u128::from(n))),
            topic: "task-events".into(),
            key: n.to_string(),
            event_type: "com.todo.task.created".into(),
            payload: serde_json::json!({ "n": n }),
        }
    }

    #[tokio::test]
    async fn outbox_rows_keep_commit_order_even_if_the_clock_goes_back() {
        let start = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .to_utc();
        let clock = Arc::new(ManualClock::new(start));
        let repo = InMemoryTaskRepository::with_clock(clock.clone());
        repo.commit(Changes {
            outbox: vec![message(1)],
            ..Changes::default()
        })
        .await
        .unwrap();
        clock.set(start - Duration::hours(1));
        repo.commit(Changes {
            outbox: vec![message(2)],
            ..Changes::default()
        })
        .await
        .unwrap();

        let claimed = repo
            .claim(start, start + Duration::seconds(30), 10)
            .await
            .unwrap();
        assert_eq!(
            claimed
                .iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>(),
            [message(1), message(2)]
        );
        assert!(claimed.iter().all(|e| e.created_at == start));
        assert_eq!(repo.backlog().await.unwrap(), (2, Some(start)));

        repo.mark_failed(message(2).id, start + Duration::minutes(1), "broker down")
            .await
            .unwrap();
        assert_eq!(
            repo.outbox_last_error(message(2).id).as_deref(),
            Some("broker down")
        );
        repo.mark_sent(&[message(1).id, message(2).id], start)
            .await
            .unwrap();
        assert_eq!(repo.backlog().await.unwrap(), (0, None));
        assert!(repo.outbox().is_empty());
    }

    #[tokio::test]
    async fn an_outbox_message_id_is_committed_once() {
        let repo = InMemoryTaskRepository::new();
        repo.commit(Changes {
            outbox: vec![message(1)],
            ..Changes::default()
        })
        .await
        .unwrap();
        let again = repo
            .commit(Changes {
                outbox: vec![message(1)],
                ..Changes::default()
            })
            .await;
        assert!(matches!(
            again,
            Err(crate::error::PortError::AlreadyExists { .. })
        ));
        let twice = Changes {
            outbox: vec![message(2), message(2)],
            ..Changes::default()
        };
        assert!(repo.commit(twice).await.is_err());
        assert_eq!(repo.outbox().len(), 1);
    }
}
