//! Repository cases about what a unit of work carries besides tasks: its outbox messages, audit
//! entries and processed mark, committed with the writes or not at all.

use chrono::{DateTime, Duration, Utc};

use super::fixtures::{audit_entry, fresh_user, inserts, message, new_task, stored_task};
use super::repository::{ok, TaskRepositorySuite};
use crate::events::TaskEventType;
use crate::model::{EventId, Title};
use crate::ports::{Changes, OutboxEntry, OutboxStore, ProcessedEvent, TaskWrite};

/// Claims at `now` until nothing more is claimable, leasing until `lease_until`; every entry, in order.
///
/// Each batch must be oldest first. Rows of other users and runs are claimed too (and so leased
/// briefly); callers look only at their own ids.
async fn claim_all(
    outbox: &dyn OutboxStore,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Vec<OutboxEntry> {
    let mut claimed = Vec::new();
    for _ in 0..1_000 {
        let batch = outbox
            .claim(now, lease_until, 500)
            .await
            .expect("claim failed");
        if batch.is_empty() {
            return claimed;
        }
        assert!(
            batch.len() <= 500,
            "claim returned {} entries for limit 500",
            batch.len()
        );
        assert!(
            batch.windows(2).all(|w| w[0].created_at <= w[1].created_at),
            "claim must return the oldest messages first"
        );
        claimed.extend(batch);
    }
    panic!("claim kept returning entries at the same instant: are leases ignored?");
}

/// The claimed entries with one of `ids`, in claim order.
fn ours(claimed: &[OutboxEntry], ids: &[EventId]) -> Vec<OutboxEntry> {
    claimed
        .iter()
        .filter(|e| ids.contains(&e.message.id))
        .cloned()
        .collect()
}

fn ids_of(entries: &[OutboxEntry]) -> Vec<EventId> {
    entries.iter().map(|e| e.message.id).collect()
}

impl TaskRepositorySuite {
    /// A unit whose last write conflicts stores none of its writes, outbox messages, audit entries or
    /// processed mark; the same unit without that write stores all of them, each once.
    pub async fn a_failed_write_leaves_the_whole_unit_unstored(&self) {
        let repo = &*self.repo;
        let user = fresh_user();
        let existing = stored_task(repo, user, "Existing", |t| t).await;
        let stale = stored_task(repo, user, "Edited elsewhere", |t| t).await;
        let created = new_task(repo, user, "Created with its events").await;
        let mut edited = existing.clone();
        edited.title = Title::parse("Existing, edited").expect("a valid title");
        edited.version = 2;
        let event = message(
            &created.id.to_string(),
            serde_json::json!({ "task_id": created.id.0 }),
        );
        let entry = audit_entry(&created, TaskEventType::Created, created.created_at);
        let mark = ProcessedEvent {
            consumer: "conformance-atomicity".to_owned(),
            event_id: EventId(uuid::Uuid::now_v7()),
        };
        let unit = |with_stale_write: bool| {
            let mut writes = vec![
                TaskWrite::Insert(created.clone()),
                TaskWrite::Update {
                    task: edited.clone(),
                    expected_version: 1,
                },
            ];
            if with_stale_write {
                let mut stale_edit = stale.clone();
                stale_edit.version = 8;
                writes.push(TaskWrite::Update {
                    task: stale_edit,
                    expected_version: 7,
                });
            }
            Changes {
                writes,
                outbox: vec![event.clone()],
                audit: vec![entry.clone()],
                processed: Some(mark.clone()),
            }
        };

        let failed = repo.commit(unit(true)).await;
        assert!(
            failed.is_err(),
            "a unit with a stale write must fail, got {failed:?}"
        );
        let nothing = "a failed unit of work must store nothing";
        assert_eq!(
            repo.get(user, created.id).await.expect("get failed"),
            None,
            "{nothing}: insert"
        );
        assert_eq!(
            repo.get(user, existing.id).await.expect("get failed"),
            Some(existing),
            "{nothing}: update"
        );
        assert!(
            repo.history(user, created.id)
                .await
                .expect("history failed")
                .is_empty(),
            "{nothing}: audit"
        );
        assert!(
            !repo
                .is_processed(&mark.consumer, mark.event_id)
                .await
                .expect("is_processed failed"),
            "{nothing}: processed mark"
        );

        ok(
            repo.commit(unit(false)).await,
            "the same unit without its stale write",
        );
        assert_eq!(
            repo.get(user, created.id).await.expect("get failed"),
            Some(created.clone())
        );
        assert_eq!(
            repo.get(user, edited.id).await.expect("get failed"),
            Some(edited)
        );
        assert_eq!(
            repo.history(user, created.id)
                .await
                .expect("history failed"),
            vec![entry]
        );
        assert!(repo
            .is_processed(&mark.consumer, mark.event_id)
            .await
            .expect("is_processed failed"));
        let now = Utc::now();
        let claimed = claim_all(&*self.outbox, now, now + Duration::seconds(1)).await;
        assert_eq!(
            ids_of(&ours(&claimed, &[event.id])),
            vec![event.id],
            "{nothing}: the outbox must hold the committed message exactly once"
        );
        self.outbox
            .mark_sent(&[event.id], now)
            .await
            .expect("mark_sent failed");
    }

    /// A task's history is its entries ordered by time, from the repository and the audit log alike;
    /// an event already recorded is not appended again; another user sees none of it.
    pub async fn history_is_oldest_first_and_records_each_event_once(&self) {
        let (repo, audit) = (&*self.repo, &*self.audit);
        let user = fresh_user();
        let created = new_task(repo, user, "Audited").await;
        let t0 = created.created_at;
        let e_created = audit_entry(&created, TaskEventType::Created, t0);
        ok(
            repo.commit(Changes {
                audit: vec![e_created.clone()],
                ..inserts([created.clone()])
            })
            .await,
            "inserting with an audit entry",
        );
        let e_updated = audit_entry(&created, TaskEventType::Updated, t0 + Duration::minutes(1));
        ok(
            repo.commit(Changes {
                audit: vec![e_updated.clone()],
                ..Changes::default()
            })
            .await,
            "committing an audit entry",
        );
        let e_completed = audit_entry(
            &created,
            TaskEventType::Completed,
            t0 + Duration::minutes(2),
        );
        assert!(
            audit
                .append(e_completed.clone())
                .await
                .expect("append failed"),
            "a new entry is appended"
        );
        assert!(
            !audit
                .append(e_completed.clone())
                .await
                .expect("append failed"),
            "append must return false for an event already recorded"
        );
        ok(
            repo.commit(Changes {
                audit: vec![e_updated.clone()],
                ..Changes::default()
            })
            .await,
            "committing an audit entry already recorded (it is skipped, not an error)",
        );
        // Appended last but earlier in time: history is ordered by time, not by arrival.
        let e_late = audit_entry(&created, TaskEventType::Updated, t0 + Duration::seconds(30));
        assert!(audit.append(e_late.clone()).await.expect("append failed"));

        let expected = vec![e_created, e_late, e_updated, e_completed];
        assert_eq!(
            repo.history(user, created.id)
                .await
                .expect("history failed"),
            expected,
            "repository history"
        );
        assert_eq!(
            audit
                .history(user, created.id)
                .await
                .expect("history failed"),
            expected,
            "audit log history"
        );
        assert!(
            repo.history(fresh_user(), created.id)
                .await
                .expect("history failed")
                .is_empty(),
            "history must be scoped to the user"
        );
    }

    /// The outbox hands out committed messages oldest first, leases them, forgets sent ones, retries
    /// failed ones from their next attempt time with the attempt counted, reports its backlog, and
    /// purges only sent messages.
    pub async fn the_outbox_leases_retries_and_settles_messages(&self) {
        let outbox = &*self.outbox;
        let sent: Vec<_> = (1..=3)
            .map(|n| {
                message(
                    &n.to_string(),
                    serde_json::json!({ "n": n, "nested": { "list": [1, "two", null] } }),
                )
            })
            .collect();
        for m in &sent {
            ok(
                self.repo
                    .commit(Changes {
                        outbox: vec![m.clone()],
                        ..Changes::default()
                    })
                    .await,
                "committing an outbox message",
            );
        }
        let ids: Vec<EventId> = sent.iter().map(|m| m.id).collect();
        let (m1, m2, m3) = (ids[0], ids[1], ids[2]);
        let t0 = Utc::now();
        let ms = Duration::milliseconds;

        let first = ours(&claim_all(outbox, t0, t0 + ms(1000)).await, &ids);
        assert_eq!(
            ids_of(&first),
            ids,
            "committed messages must be claimable, oldest first"
        );
        for (entry, m) in first.iter().zip(&sent) {
            assert_eq!(
                &entry.message, m,
                "an outbox message must round-trip exactly"
            );
            assert_eq!(entry.attempts, 0, "a new message has no failed attempts");
            assert!(
                entry.created_at <= t0,
                "created_at {} is after the claim at {t0}",
                entry.created_at
            );
        }
        assert!(first.windows(2).all(|w| w[0].created_at <= w[1].created_at));

        let leased = ours(&claim_all(outbox, t0 + ms(200), t0 + ms(1200)).await, &ids);
        assert!(
            leased.is_empty(),
            "leased messages must not be claimed again: {:?}",
            ids_of(&leased)
        );

        outbox.mark_sent(&[m1], t0).await.expect("mark_sent failed");
        outbox
            .mark_failed(m2, t0 + ms(2000), "broker unreachable")
            .await
            .expect("mark_failed failed");
        // Retention: purging sent messages (even with a cut-off in the future) keeps every unsent,
        // leased or failed one.
        outbox
            .purge_sent(t0 + ms(10_000))
            .await
            .expect("purge_sent failed");

        let after_lease = ours(&claim_all(outbox, t0 + ms(1500), t0 + ms(1600)).await, &ids);
        assert_eq!(
            ids_of(&after_lease),
            vec![m3],
            "after the lease: the sent message is gone and the failed one waits for its next attempt"
        );

        let retried = ours(&claim_all(outbox, t0 + ms(2500), t0 + ms(2600)).await, &ids);
        assert_eq!(
            ids_of(&retried),
            vec![m2, m3],
            "a failed message is retried from its next attempt time"
        );
        assert_eq!(retried[0].attempts, 1, "a failed attempt is counted");

        let (count, oldest) = outbox.backlog().await.expect("backlog failed");
        assert!(
            count >= 2,
            "the backlog must count the 2 unsent messages (got {count})"
        );
        assert!(
            oldest.is_some_and(|o| o <= retried[0].created_at),
            "the backlog's oldest message ({oldest:?}) cannot be newer than an unsent one ({})",
            retried[0].created_at
        );

        outbox
            .mark_sent(&[m2, m3], t0)
            .await
            .expect("mark_sent failed");
        let settled = ours(&claim_all(outbox, t0 + ms(3000), t0 + ms(3000)).await, &ids);
        assert!(
            settled.is_empty(),
            "sent messages must never be claimed again: {:?}",
            ids_of(&settled)
        );
    }
}
