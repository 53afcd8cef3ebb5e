//! The conformance suite of [`StateStore`]: values round-trip, and ETags guard concurrent writers.

use std::sync::Arc;

use uuid::Uuid;

use crate::error::PortError;
use crate::ports::{Concurrency, PortResult, StateItem, StateStore};

/// Checks a [`StateStore`] adapter. Keys are fresh per case, so a shared store can be reused and the
/// cases may run concurrently.
pub struct StateStoreSuite {
    store: Arc<dyn StateStore>,
}

fn key(case: &str) -> String {
    format!("conformance-{case}-{}", Uuid::new_v4().simple())
}

fn expect_conflict(result: PortResult<()>, what: &str) {
    assert!(
        matches!(result, Err(PortError::Conflict { .. })),
        "{what}: expected Conflict, got {result:?}"
    );
}

impl StateStoreSuite {
    /// A suite over `store`.
    pub fn new(store: Arc<dyn StateStore>) -> Self {
        Self { store }
    }

    /// Runs every case, one after the other.
    pub async fn run_all(&self) {
        self.a_missing_key_reads_as_none().await;
        self.a_saved_value_reads_back_with_an_etag().await;
        self.if_match_saves_only_over_the_current_etag().await;
        self.if_absent_saves_only_a_new_key().await;
        self.delete_honours_the_etag().await;
        self.overwrite_replaces_the_value_and_its_etag().await;
    }

    async fn get(&self, key: &str) -> Option<StateItem> {
        self.store
            .get(key)
            .await
            .unwrap_or_else(|e| panic!("get {key} failed: {e}"))
    }

    async fn save(&self, key: &str, value: serde_json::Value, concurrency: Concurrency) {
        if let Err(error) = self.store.save(key, value, concurrency.clone()).await {
            panic!("save {key} with {concurrency:?} failed: {error}");
        }
    }

    async fn current(&self, key: &str) -> StateItem {
        self.get(key)
            .await
            .unwrap_or_else(|| panic!("{key} must exist after a save"))
    }

    /// A key never saved reads as `None`.
    pub async fn a_missing_key_reads_as_none(&self) {
        assert_eq!(self.get(&key("missing")).await, None);
    }

    /// A saved JSON value reads back unchanged, with an ETag.
    pub async fn a_saved_value_reads_back_with_an_etag(&self) {
        let key = key("round-trip");
        let value = serde_json::json!({ "series": Uuid::new_v4(), "occurrences": [1, 2], "done": false, "note": "é" });
        self.save(&key, value.clone(), Concurrency::Overwrite).await;
        let item = self.current(&key).await;
        assert_eq!(item.value, value, "a saved value must read back unchanged");
        assert!(
            !item.etag.0.is_empty(),
            "a stored value must have a non-empty ETag"
        );
    }

    /// `IfMatch` with the current ETag saves (and changes the ETag); with a stale one it conflicts and
    /// changes nothing; on a missing key it conflicts.
    pub async fn if_match_saves_only_over_the_current_etag(&self) {
        let key = key("if-match");
        self.save(&key, serde_json::json!(1), Concurrency::Overwrite)
            .await;
        let first = self.current(&key).await;
        self.save(
            &key,
            serde_json::json!(2),
            Concurrency::IfMatch(first.etag.clone()),
        )
        .await;
        let second = self.current(&key).await;
        assert_eq!(second.value, serde_json::json!(2));
        assert_ne!(second.etag, first.etag, "a save must change the ETag");

        let stale = self
            .store
            .save(&key, serde_json::json!(3), Concurrency::IfMatch(first.etag))
            .await;
        expect_conflict(stale, "saving with a stale ETag");
        assert_eq!(
            self.current(&key).await,
            second,
            "a conflicting save must change nothing"
        );

        let missing = self
            .store
            .save(
                &self::key("if-match-missing"),
                serde_json::json!(1),
                Concurrency::IfMatch(second.etag),
            )
            .await;
        expect_conflict(missing, "saving a missing key with IfMatch");
    }

    /// `IfAbsent` saves a new key and conflicts on an existing one, which keeps its value.
    pub async fn if_absent_saves_only_a_new_key(&self) {
        let key = key("if-absent");
        self.save(&key, serde_json::json!("first"), Concurrency::IfAbsent)
            .await;
        let stored = self.current(&key).await;
        assert_eq!(stored.value, serde_json::json!("first"));
        let again = self
            .store
            .save(&key, serde_json::json!("second"), Concurrency::IfAbsent)
            .await;
        expect_conflict(again, "saving an existing key with IfAbsent");
        assert_eq!(
            self.current(&key).await,
            stored,
            "a conflicting save must change nothing"
        );
    }

    /// Deleting with a stale ETag conflicts and keeps the value; with the current one, or none, it
    /// deletes; deleting a missing key succeeds.
    pub async fn delete_honours_the_etag(&self) {
        let key = key("delete");
        self.save(&key, serde_json::json!(1), Concurrency::Overwrite)
            .await;
        let first = self.current(&key).await;
        self.save(&key, serde_json::json!(2), Concurrency::Overwrite)
            .await;
        let second = self.current(&key).await;
        expect_conflict(
            self.store.delete(&key, Some(first.etag)).await,
            "deleting with a stale ETag",
        );
        assert_eq!(
            self.current(&key).await,
            second,
            "a conflicting delete must keep the value"
        );
        if let Err(error) = self.store.delete(&key, Some(second.etag)).await {
            panic!("deleting with the current ETag failed: {error}");
        }
        assert_eq!(
            self.get(&key).await,
            None,
            "a deleted key must read as None"
        );

        let unguarded = self::key("delete-unguarded");
        self.save(&unguarded, serde_json::json!(1), Concurrency::Overwrite)
            .await;
        if let Err(error) = self.store.delete(&unguarded, None).await {
            panic!("deleting without an ETag failed: {error}");
        }
        assert_eq!(self.get(&unguarded).await, None);
        if let Err(error) = self.store.delete(&self::key("delete-missing"), None).await {
            panic!("deleting a missing key must succeed, got {error:?}");
        }
    }

    /// `Overwrite` replaces whatever is stored and changes the ETag.
    pub async fn overwrite_replaces_the_value_and_its_etag(&self) {
        let key = key("overwrite");
        self.save(&key, serde_json::json!({ "v": 1 }), Concurrency::Overwrite)
            .await;
        let first = self.current(&key).await;
        self.save(&key, serde_json::json!({ "v": 2 }), Concurrency::Overwrite)
            .await;
        let second = self.current(&key).await;
        assert_eq!(second.value, serde_json::json!({ "v": 2 }));
        assert_ne!(second.etag, first.etag, "an overwrite must change the ETag");
    }
}
