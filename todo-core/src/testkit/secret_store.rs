//! The conformance suite of [`SecretStore`]: a seeded secret reads back; missing ones are `NotFound`.

use std::sync::Arc;

use uuid::Uuid;

use crate::error::PortError;
use crate::ports::SecretStore;

/// A secret the adapter's test put into the store before running the suite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeededSecret {
    /// The secret's name.
    pub name: String,
    /// One of its keys.
    pub key: String,
    /// The value under that key.
    pub value: String,
}

/// Checks a [`SecretStore`] adapter against one seeded secret.
pub struct SecretStoreSuite {
    store: Arc<dyn SecretStore>,
    seeded: SeededSecret,
}

impl SecretStoreSuite {
    /// A suite over `store`, which must hold `seeded`.
    pub fn new(store: Arc<dyn SecretStore>, seeded: SeededSecret) -> Self {
        Self { store, seeded }
    }

    /// Runs every case, one after the other.
    pub async fn run_all(&self) {
        self.a_seeded_secret_reads_back().await;
        self.one_value_of_a_secret_reads_back().await;
        self.a_missing_secret_is_not_found().await;
        self.a_missing_key_is_not_found().await;
    }

    /// `get` returns the seeded secret's map, holding its key and value.
    pub async fn a_seeded_secret_reads_back(&self) {
        let SeededSecret { name, key, value } = &self.seeded;
        let secret = self
            .store
            .get(name)
            .await
            .unwrap_or_else(|e| panic!("get {name} failed: {e}"));
        assert_eq!(
            secret.get(key),
            Some(value),
            "secret {name} must hold key {key} with its value"
        );
    }

    /// `value` returns one value of the seeded secret.
    pub async fn one_value_of_a_secret_reads_back(&self) {
        let SeededSecret { name, key, value } = &self.seeded;
        let read = self.store.value(name, key).await;
        assert_eq!(
            read.as_ref().ok(),
            Some(value),
            "value({name}, {key}): {read:?}"
        );
    }

    /// A secret that does not exist is `NotFound`, through `get` and `value`.
    pub async fn a_missing_secret_is_not_found(&self) {
        let name = format!("conformance-missing-{}", Uuid::new_v4().simple());
        let got = self.store.get(&name).await;
        assert!(
            matches!(got, Err(PortError::NotFound)),
            "get of a missing secret: expected NotFound, got {got:?}"
        );
        let value = self.store.value(&name, &self.seeded.key).await;
        assert!(
            matches!(value, Err(PortError::NotFound)),
            "value of a missing secret: {value:?}"
        );
    }

    /// A key the secret does not have is `NotFound`.
    pub async fn a_missing_key_is_not_found(&self) {
        let key = format!("missing-{}", Uuid::new_v4().simple());
        let value = self.store.value(&self.seeded.name, &key).await;
        assert!(
            matches!(value, Err(PortError::NotFound)),
            "value of a missing key of {}: {value:?}",
            self.seeded.name
        );
    }
}
