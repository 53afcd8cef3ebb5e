//! Repository cases about recurring series: one successor per occurrence, one occurrence per due date.

use chrono::Duration;
use uuid::Uuid;

use super::fixtures::{base_time, fresh_user, inserts, new_task, stored_task, TaskFixture};
use super::repository::{expect_already_exists, ok, TaskRepositorySuite};
use crate::model::{Series, SeriesId, Task};
use crate::recurrence::Recurrence;

impl TaskRepositorySuite {
    /// A completed occurrence gets one successor: a second one, in a later unit or the same one, fails
    /// with `AlreadyExists` and is not stored.
    pub async fn a_task_has_at_most_one_successor(&self) {
        let repo = &*self.repo;
        let (user, other) = (fresh_user(), fresh_user());
        let series = SeriesId(Uuid::new_v4());
        let day = Duration::days(1);
        let first = stored_task(repo, user, "Water plants", |t| {
            occurrence(t, series, 0, None).completed()
        })
        .await;
        let next = stored_task(repo, user, "Water plants", |t| {
            occurrence(t, series, 1, Some(&first))
        })
        .await;

        let rival = occurrence(
            new_task(repo, user, "Water plants").await,
            series,
            2,
            Some(&first),
        );
        expect_already_exists(
            repo.commit(inserts([rival.clone()])).await,
            "a second successor",
        );
        assert_eq!(repo.get(user, rival.id).await.expect("get failed"), None);

        assert_eq!(
            repo.successor(user, first.id)
                .await
                .expect("successor failed"),
            Some(next.clone())
        );
        assert_eq!(
            repo.successor(user, next.id)
                .await
                .expect("successor failed"),
            None
        );
        assert_eq!(
            repo.successor(other, first.id)
                .await
                .expect("successor failed"),
            None,
            "successor must be scoped to the user"
        );
        assert_eq!(
            repo.pending_in_series(user, series)
                .await
                .expect("pending_in_series failed"),
            vec![next.clone()],
            "only the pending occurrence of the series"
        );
        assert!(repo
            .pending_in_series(other, series)
            .await
            .expect("pending_in_series failed")
            .is_empty());

        // Two successors of one task within a single unit: neither is stored.
        let lone_series = SeriesId(Uuid::new_v4());
        let done = stored_task(repo, user, "Stretch", |t| {
            occurrence(t, lone_series, 0, None).completed()
        })
        .await;
        let a = occurrence(
            new_task(repo, user, "Stretch").await,
            lone_series,
            1,
            Some(&done),
        );
        let mut b = occurrence(
            new_task(repo, user, "Stretch").await,
            lone_series,
            2,
            Some(&done),
        );
        b.due_date = b.due_date.map(|d| d + day);
        expect_already_exists(
            repo.commit(inserts([a.clone(), b.clone()])).await,
            "two successors in one unit",
        );
        for id in [a.id, b.id] {
            assert_eq!(
                repo.get(user, id).await.expect("get failed"),
                None,
                "the failed unit stored task {id}"
            );
        }
    }

    /// Two occurrences of one series cannot share a due date; other series can.
    pub async fn a_series_has_one_occurrence_per_due_date(&self) {
        let repo = &*self.repo;
        let user = fresh_user();
        let series = SeriesId(Uuid::new_v4());
        let first = stored_task(repo, user, "Stand-up", |t| occurrence(t, series, 0, None)).await;

        let twin = occurrence(new_task(repo, user, "Stand-up").await, series, 0, None);
        expect_already_exists(
            repo.commit(inserts([twin.clone()])).await,
            "a second occurrence at one due date",
        );
        assert_eq!(repo.get(user, twin.id).await.expect("get failed"), None);

        let elsewhere = occurrence(
            new_task(repo, user, "Stand-up").await,
            SeriesId(Uuid::new_v4()),
            0,
            None,
        );
        ok(
            repo.commit(inserts([elsewhere])).await,
            "the same due date in another series",
        );
        let later = occurrence(new_task(repo, user, "Stand-up").await, series, 1, None);
        ok(
            repo.commit(inserts([later])).await,
            "another due date in the same series",
        );
        assert_eq!(
            repo.get(user, first.id).await.expect("get failed"),
            Some(first)
        );
    }
}

/// `task` as the `n`-th (0-based) daily occurrence of `series`, due `n` days after the base time.
fn occurrence(mut task: Task, series: SeriesId, n: i64, predecessor: Option<&Task>) -> Task {
    let anchor = base_time() + Duration::days(1);
    task.due_date = Some(anchor + Duration::days(n));
    task.recurrence = Some(Recurrence::Daily);
    task.series = Some(Series {
        id: series,
        anchor: Some(anchor),
        occurrence: u32::try_from(n + 1).expect("small occurrence numbers"),
        predecessor: predecessor.map(|p| p.id),
    });
    task
}
