//! The conformance suite of [`Locks`]: one holder at a time per name, refused at once to everyone
//! else, taken again after a release or after the holder dropped it.

use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use crate::ports::{HeldLock, Locks};

/// How long a lock dropped without a release may take to be given up (a store may need to notice
/// the holder's connection closing).
const GIVEN_UP_WITHIN: Duration = Duration::from_secs(10);

/// Checks a [`Locks`] adapter through two handles that stand for two replicas sharing one store.
pub struct LocksSuite {
    one: Arc<dyn Locks>,
    other: Arc<dyn Locks>,
}

impl LocksSuite {
    /// A suite over two handles on the same locks (for a database: two connection pools).
    pub fn new(one: Arc<dyn Locks>, other: Arc<dyn Locks>) -> Self {
        Self { one, other }
    }

    /// Runs every case, one after the other.
    pub async fn run_all(&self) {
        self.a_held_lock_is_refused_until_released().await;
        self.locks_of_other_names_are_independent().await;
        self.a_dropped_lock_is_given_up().await;
    }

    /// While one replica holds a lock, a second try (from the other replica or the same one) gets
    /// nothing; after the release the other replica gets it.
    pub async fn a_held_lock_is_refused_until_released(&self) {
        let name = lock_name("held");
        let held = take(&*self.one, &name).await.expect("a free lock is taken");
        assert!(
            take(&*self.other, &name).await.is_none(),
            "lock {name} was taken by a second replica while held"
        );
        assert!(
            take(&*self.one, &name).await.is_none(),
            "lock {name} was taken twice by the same replica while held"
        );
        held.release()
            .await
            .unwrap_or_else(|e| panic!("releasing lock {name} failed: {e}"));
        let again = take(&*self.other, &name)
            .await
            .unwrap_or_else(|| panic!("lock {name} was not free after its release"));
        again
            .release()
            .await
            .unwrap_or_else(|e| panic!("releasing lock {name} failed: {e}"));
    }

    /// Holding one name does not hold another.
    pub async fn locks_of_other_names_are_independent(&self) {
        let (first, second) = (lock_name("first"), lock_name("second"));
        let one = take(&*self.one, &first)
            .await
            .expect("a free lock is taken");
        let other = take(&*self.other, &second)
            .await
            .unwrap_or_else(|| panic!("lock {second} was refused while only {first} was held"));
        for held in [one, other] {
            held.release().await.expect("releasing a held lock");
        }
    }

    /// A lock dropped without a release (a holder that failed or was cancelled) is given up, within
    /// 10 s.
    pub async fn a_dropped_lock_is_given_up(&self) {
        let name = lock_name("dropped");
        drop(take(&*self.one, &name).await.expect("a free lock is taken"));
        let deadline = tokio::time::Instant::now() + GIVEN_UP_WITHIN;
        loop {
            if let Some(held) = take(&*self.other, &name).await {
                held.release().await.expect("releasing a held lock");
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "lock {name} was still held {GIVEN_UP_WITHIN:?} after its holder dropped it"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A fresh lock name, so that runs sharing a store never meet.
fn lock_name(what: &str) -> String {
    format!("conformance-{what}-{}", Uuid::new_v4())
}

async fn take(locks: &dyn Locks, name: &str) -> Option<Box<dyn HeldLock>> {
    locks
        .try_lock(name)
        .await
        .unwrap_or_else(|e| panic!("try_lock({name}) failed: {e}"))
}
