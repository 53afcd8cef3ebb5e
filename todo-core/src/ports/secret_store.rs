//! The secret store: named secrets such as the JWT signing key or SMTP credentials.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::PortResult;

/// Reads secrets. A secret is a map of keys to values (Dapr's shape); most have one key.
#[async_trait]
pub trait SecretStore: Send + Sync {
    /// The secret called `name`; `NotFound` if there is none.
    async fn get(&self, name: &str) -> PortResult<BTreeMap<String, String>>;

    /// One value of a secret; `NotFound` if the secret or the key is missing.
    async fn value(&self, name: &str, key: &str) -> PortResult<String> {
        self.get(name)
            .await?
            .remove(key)
            .ok_or(crate::error::PortError::NotFound)
    }
}
