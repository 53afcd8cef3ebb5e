//! [`StateStore`] on Dapr's state API (`/v1.0/state/{store}`), with ETags and first-write-wins
//! concurrency, plus multi-key transactions (`/v1.0/state/{store}/transaction`).
//!
//! | port | Dapr request |
//! |---|---|
//! | `Concurrency::Overwrite` | save without ETag, `concurrency: last-write` |
//! | `Concurrency::IfMatch(etag)` | save with `etag`, `concurrency: first-write` |
//! | `Concurrency::IfAbsent` | save without ETag, `concurrency: first-write` |
//! | `delete(key, Some(etag))` | `DELETE` with `If-Match` |
//!
//! Dapr answers a stale ETag with 409 (mapped to `PortError::Conflict`). Two refusals arrive as a 500
//! instead, and this adapter recognises them and answers `Conflict` too, so the port means the same on
//! every store: `state.postgresql` reports an `IfAbsent` save over an existing key as
//! `ERR_STATE_SAVE … no item was updated`, and daprd reports any ETag failure inside a transaction as
//! `ERR_STATE_TRANSACTION … possible etag mismatch`.

use async_trait::async_trait;
use reqwest::Method;
use serde_json::{json, Value};
use todo_core::error::PortError;
use todo_core::ports::{Concurrency, ETag, PortResult, StateItem, StateStore};

use crate::client::{ApiRequest, ApiResponse, DaprClient, Retry};
use crate::error::DaprError;

/// The state store component name the application uses (SPEC §8).
pub const DEFAULT_STATE_STORE: &str = "statestore";

/// One operation of a [`DaprStateStore::transaction`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StateOperation {
    /// Save `value` under `key` under the given concurrency rule.
    Upsert {
        /// The key.
        key: String,
        /// The value.
        value: Value,
        /// Overwrite, if-match or if-absent.
        concurrency: Concurrency,
    },
    /// Delete `key`, if `etag` is given only while it matches.
    Delete {
        /// The key.
        key: String,
        /// The expected ETag, if any.
        etag: Option<ETag>,
    },
}

impl StateOperation {
    /// An upsert.
    pub fn upsert(key: impl Into<String>, value: Value, concurrency: Concurrency) -> Self {
        Self::Upsert {
            key: key.into(),
            value,
            concurrency,
        }
    }

    /// A delete.
    pub fn delete(key: impl Into<String>, etag: Option<ETag>) -> Self {
        Self::Delete {
            key: key.into(),
            etag,
        }
    }

    fn to_json(&self) -> Value {
        match self {
            StateOperation::Upsert {
                key,
                value,
                concurrency,
            } => json!({ "operation": "upsert", "request": save_item(key, value, concurrency) }),
            StateOperation::Delete { key, etag } => {
                let mut request = json!({ "key": key });
                if let Some(etag) = etag {
                    request["etag"] = json!(etag.0);
                    request["options"] = json!({ "concurrency": "first-write" });
                }
                json!({ "operation": "delete", "request": request })
            }
        }
    }
}

fn save_item(key: &str, value: &Value, concurrency: &Concurrency) -> Value {
    match concurrency {
        Concurrency::Overwrite => {
            json!({ "key": key, "value": value, "options": { "concurrency": "last-write" } })
        }
        Concurrency::IfMatch(etag) => json!({
            "key": key, "value": value, "etag": etag.0,
            "options": { "concurrency": "first-write" }
        }),
        Concurrency::IfAbsent => {
            json!({ "key": key, "value": value, "options": { "concurrency": "first-write" } })
        }
    }
}

/// A conditional write the store refused, reported as a 500 rather than a 409: `state.postgresql`
/// answers a first-write over an existing key with "no item was updated", and daprd reports any ETag
/// failure inside a transaction as `ERR_STATE_TRANSACTION … possible etag mismatch`.
fn is_refused_write(response: &ApiResponse) -> bool {
    let body = response.body_text();
    response.status.as_u16() == 500
        && (body.contains("no item was updated") || body.contains("etag mismatch"))
}

/// Keyed JSON state in a Dapr state store.
#[derive(Debug, Clone)]
pub struct DaprStateStore {
    client: DaprClient,
    store: String,
}

impl DaprStateStore {
    /// State in the component `store` (normally [`DEFAULT_STATE_STORE`]).
    #[must_use]
    pub fn new(client: DaprClient, store: impl Into<String>) -> Self {
        Self {
            client,
            store: store.into(),
        }
    }

    /// Applies every operation atomically, or none (the store must support transactions, as
    /// `state.postgresql` does). A stale ETag or an `IfAbsent` over an existing key fails the whole
    /// transaction with `Conflict`.
    pub async fn transaction(&self, operations: &[StateOperation]) -> PortResult<()> {
        let body = json!({
            "operations": operations.iter().map(StateOperation::to_json).collect::<Vec<_>>(),
        });
        let url = self
            .client
            .url(&["v1.0", "state", &self.store, "transaction"]);
        let conditional = operations.iter().any(|op| match op {
            StateOperation::Upsert { concurrency, .. } => *concurrency != Concurrency::Overwrite,
            StateOperation::Delete { etag, .. } => etag.is_some(),
        });
        let request = ApiRequest::new("state transaction", Method::POST, url)
            .json(&body)
            .retry(if conditional {
                Retry::ConnectOnly
            } else {
                Retry::Idempotent
            })
            .keep_if(is_refused_write);
        let response = self.client.send(request).await?;
        if response.status.is_success() {
            Ok(())
        } else if is_refused_write(&response) {
            Err(PortError::conflict("state transaction refused")
                .caused_by(self.client.api_error("state transaction", &response)))
        } else {
            Err(self.client.api_error("state transaction", &response).into())
        }
    }

    async fn try_get(&self, key: &str) -> Result<Option<StateItem>, DaprError> {
        let url = self.client.url(&["v1.0", "state", &self.store, key]);
        let response = self
            .client
            .send(ApiRequest::new("get state", Method::GET, url))
            .await?;
        match response.status.as_u16() {
            204 | 404 => Ok(None),
            200 => {
                let etag = response
                    .headers
                    .get("etag")
                    .and_then(|v| v.to_str().ok())
                    .map(|v| ETag(v.to_owned()))
                    .ok_or_else(|| DaprError::Decode {
                        operation: "get state",
                        source: format!("no ETag header for key {key}").into(),
                    })?;
                let value = response.json("get state")?;
                Ok(Some(StateItem { value, etag }))
            }
            _ => Err(self.client.api_error("get state", &response)),
        }
    }
}

#[async_trait]
impl StateStore for DaprStateStore {
    async fn get(&self, key: &str) -> PortResult<Option<StateItem>> {
        Ok(self.try_get(key).await?)
    }

    /// A conditional save is retried only when it surely never reached the sidecar: repeating one
    /// that succeeded would report a conflict with itself.
    async fn save(&self, key: &str, value: Value, concurrency: Concurrency) -> PortResult<()> {
        let retry = match concurrency {
            Concurrency::Overwrite => Retry::Idempotent,
            Concurrency::IfMatch(_) | Concurrency::IfAbsent => Retry::ConnectOnly,
        };
        let url = self.client.url(&["v1.0", "state", &self.store]);
        let body = json!([save_item(key, &value, &concurrency)]);
        let request = ApiRequest::new("save state", Method::POST, url)
            .json(&body)
            .retry(retry)
            .keep_if(is_refused_write);
        let response = self.client.send(request).await?;
        if response.status.is_success() {
            Ok(())
        } else if concurrency == Concurrency::IfAbsent && is_refused_write(&response) {
            Err(PortError::conflict(format!("key {key} already exists")))
        } else {
            Err(self.client.api_error("save state", &response).into())
        }
    }

    async fn delete(&self, key: &str, etag: Option<ETag>) -> PortResult<()> {
        let url = self.client.url(&["v1.0", "state", &self.store, key]);
        let mut request = ApiRequest::new("delete state", Method::DELETE, url);
        if let Some(etag) = &etag {
            request = request
                .header("if-match", etag.0.clone())
                .retry(Retry::ConnectOnly);
        }
        let response = self.client.send(request).await?;
        if response.status.is_success() {
            Ok(())
        } else {
            Err(self.client.api_error("delete state", &response).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrency_rules_become_dapr_options() {
        let etag = ETag("7".into());
        assert_eq!(
            save_item("k", &json!(1), &Concurrency::IfMatch(etag.clone())),
            json!({ "key": "k", "value": 1, "etag": "7", "options": { "concurrency": "first-write" } })
        );
        assert_eq!(
            save_item("k", &json!(1), &Concurrency::IfAbsent),
            json!({ "key": "k", "value": 1, "options": { "concurrency": "first-write" } })
        );
        assert_eq!(
            save_item("k", &json!(1), &Concurrency::Overwrite)["options"]["concurrency"],
            "last-write"
        );
        assert_eq!(
            StateOperation::delete("k", Some(etag)).to_json(),
            json!({ "operation": "delete", "request": { "key": "k", "etag": "7",
                    "options": { "concurrency": "first-write" } } })
        );
    }
}
