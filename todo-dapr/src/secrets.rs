//! [`SecretStore`] on Dapr's secrets API (`GET /v1.0/secrets/{store}/{name}`): `secretstores.local.file`
//! locally, `secretstores.kubernetes` in a cluster, under the same component name.

use std::collections::BTreeMap;

use async_trait::async_trait;
use reqwest::Method;
use todo_core::error::PortError;
use todo_core::ports::{PortResult, SecretStore};

use crate::client::{ApiRequest, ApiResponse, DaprClient};

/// The secret store component name the application uses (SPEC §8).
pub const DEFAULT_SECRET_STORE: &str = "secretstore";

/// daprd reports a missing secret as a 500 `ERR_SECRET_GET` whose message ends in the store's own
/// "not found" (`secret x not found` from local.file, `secrets "x" not found` from Kubernetes).
fn is_missing_secret(response: &ApiResponse) -> bool {
    if response.status.as_u16() == 404 {
        return true;
    }
    let (code, message) = response.error_parts();
    response.status.as_u16() == 500
        && code.as_deref() == Some("ERR_SECRET_GET")
        && message.contains("not found")
}

/// Reads secrets through the sidecar. Each secret is a map of keys to values (a Kubernetes Secret's
/// keys; a nested object in a multi-valued local file).
#[derive(Debug, Clone)]
pub struct DaprSecretStore {
    client: DaprClient,
    store: String,
}

impl DaprSecretStore {
    /// Secrets of the component `store` (normally [`DEFAULT_SECRET_STORE`]).
    #[must_use]
    pub fn new(client: DaprClient, store: impl Into<String>) -> Self {
        Self {
            client,
            store: store.into(),
        }
    }
}

#[async_trait]
impl SecretStore for DaprSecretStore {
    async fn get(&self, name: &str) -> PortResult<BTreeMap<String, String>> {
        let url = self.client.url(&["v1.0", "secrets", &self.store, name]);
        let request = ApiRequest::new("get secret", Method::GET, url).keep_if(is_missing_secret);
        let response = self.client.send(request).await?;
        if response.status.is_success() {
            Ok(response.json("get secret")?)
        } else if is_missing_secret(&response) {
            Err(PortError::NotFound)
        } else {
            Err(self.client.api_error("get secret", &response).into())
        }
    }
}
