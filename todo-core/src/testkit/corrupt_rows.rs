//! Repository cases about rows damaged behind the adapter's back: reading them must answer
//! [`PortError::Corrupt`], never panic or return a task the domain would reject. What damage is
//! possible depends on the schema, so the adapter test supplies it.

use chrono::Utc;

use super::fixtures::{fresh_user, stored_task};
use super::repository::TaskRepositorySuite;
use crate::error::PortError;
use crate::model::TaskId;
use crate::query::TaskQuery;

impl TaskRepositorySuite {
    /// For each of `damages`, stores a task for a fresh user and lets `damage` apply it to the task's
    /// row; reading the task by id and in a query then answers `Corrupt`, naming the damage on
    /// failure.
    pub async fn damaged_rows_read_as_corrupt(
        &self,
        damages: &[&str],
        damage: impl AsyncFn(&str, TaskId),
    ) {
        let repo = &*self.repo;
        for what in damages {
            let user = fresh_user();
            let task = stored_task(repo, user, "Buy milk", |t| t).await;
            damage(what, task.id).await;
            let read = repo.get(user, task.id).await;
            assert!(
                matches!(read, Err(PortError::Corrupt { .. })),
                "{what}: {read:?}"
            );
            let listed = repo.query(user, &TaskQuery::default(), Utc::now()).await;
            assert!(
                matches!(listed, Err(PortError::Corrupt { .. })),
                "{what}: {listed:?}"
            );
        }
    }
}
