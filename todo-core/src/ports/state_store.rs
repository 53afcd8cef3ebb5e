//! The state store: keyed JSON values with ETags (Dapr state API in production).

use async_trait::async_trait;

use super::PortResult;

/// An opaque version tag of a stored value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ETag(pub String);

/// A stored value and its ETag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateItem {
    /// The value.
    pub value: serde_json::Value,
    /// Its current version.
    pub etag: ETag,
}

/// How a save treats an existing value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Concurrency {
    /// Last write wins.
    Overwrite,
    /// Only if the stored ETag still matches; otherwise `Conflict`.
    IfMatch(ETag),
    /// First write wins: only if the key does not exist; otherwise `Conflict`.
    IfAbsent,
}

/// Keyed state with optimistic concurrency.
#[async_trait]
pub trait StateStore: Send + Sync {
    /// The value under `key`, if any.
    async fn get(&self, key: &str) -> PortResult<Option<StateItem>>;

    /// Saves `value` under `key` under the given concurrency rule.
    async fn save(
        &self,
        key: &str,
        value: serde_json::Value,
        concurrency: Concurrency,
    ) -> PortResult<()>;

    /// Deletes `key` (if `etag` is given, only while it matches); deleting a missing key succeeds.
    async fn delete(&self, key: &str, etag: Option<ETag>) -> PortResult<()>;
}
