//! An in-memory [`SecretStore`] built from a map, in place of Kubernetes secrets or Dapr's local file.

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::error::PortError;
use crate::ports::{PortResult, SecretStore};

/// Fixed secrets: name → key → value.
#[derive(Clone, Default)]
pub struct InMemorySecretStore {
    secrets: BTreeMap<String, BTreeMap<String, String>>,
}

impl std::fmt::Debug for InMemorySecretStore {
    // Names only: secret values never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemorySecretStore")
            .field("names", &self.secrets.keys())
            .finish()
    }
}

impl InMemorySecretStore {
    /// A store holding `secrets`.
    pub fn new(secrets: BTreeMap<String, BTreeMap<String, String>>) -> Self {
        Self { secrets }
    }

    /// Adds (or extends) secret `name` with `key` = `value`; for building a store in one expression.
    #[must_use]
    pub fn with_secret(mut self, name: &str, key: &str, value: &str) -> Self {
        self.secrets
            .entry(name.to_owned())
            .or_default()
            .insert(key.to_owned(), value.to_owned());
        self
    }
}

#[async_trait]
impl SecretStore for InMemorySecretStore {
    async fn get(&self, name: &str) -> PortResult<BTreeMap<String, String>> {
        self.secrets.get(name).cloned().ok_or(PortError::NotFound)
    }
}
