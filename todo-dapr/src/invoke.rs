//! Service invocation: calling another app's HTTP method through the sidecars
//! (`/v1.0/invoke/{app-id}/method/{path}`), as the api service calls the MCP server.
//!
//! daprd resolves the app id, forwards the call to the target's sidecar and applies the resiliency
//! policy for invocation. Whatever the target app answers is returned as [`Invoked`], errors
//! included; only Dapr's own failures (the target cannot be resolved or reached) are errors here.

use axum::body::Bytes;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::client::{ApiRequest, ApiResponse, DaprClient, Retry};
use crate::error::DaprError;

/// The target app's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoked {
    /// Its HTTP status.
    pub status: u16,
    /// Its body.
    pub body: Bytes,
}

impl Invoked {
    /// Whether the target answered 2xx.
    #[must_use]
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, DaprError> {
        serde_json::from_slice(&self.body).map_err(|e| DaprError::Decode {
            operation: "invoke",
            source: e.into(),
        })
    }
}

/// An answer daprd made itself (`ERR_DIRECT_INVOKE`, ...), as opposed to one of the target app.
fn is_dapr_error(response: &ApiResponse) -> bool {
    response.status.as_u16() >= 500
        && response
            .error_parts()
            .0
            .is_some_and(|code| code.starts_with("ERR_"))
}

/// Calls methods of other apps through the sidecar.
#[derive(Debug, Clone)]
pub struct ServiceInvoker {
    client: DaprClient,
}

impl ServiceInvoker {
    /// An invoker over `client`.
    #[must_use]
    pub fn new(client: DaprClient) -> Self {
        Self { client }
    }

    /// Calls `method path` (such as `POST tools/call`) on the app `app_id`, with `body` as JSON.
    ///
    /// GET, HEAD, PUT, DELETE and OPTIONS are retried when Dapr could not reach the target; POST and
    /// PATCH only when the local sidecar could not be reached at all.
    pub async fn invoke(
        &self,
        app_id: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Invoked, DaprError> {
        self.invoke_with_headers(app_id, method, path, body, &[])
            .await
    }

    /// [`Self::invoke`] with request headers for the target app, such as the caller's
    /// `authorization`, which daprd forwards.
    pub async fn invoke_with_headers(
        &self,
        app_id: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&'static str, &str)],
    ) -> Result<Invoked, DaprError> {
        let mut segments = vec!["v1.0", "invoke", app_id, "method"];
        segments.extend(path.split('/').filter(|s| !s.is_empty()));
        let url = self.client.url(&segments);
        let retry = if method == Method::POST || method == Method::PATCH {
            Retry::ConnectOnly
        } else {
            Retry::Idempotent
        };
        let mut request = ApiRequest::new("invoke", method, url)
            .retry(retry)
            .keep_if(|response| !is_dapr_error(response));
        for (name, value) in headers {
            request = request.header(name, (*value).to_owned());
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = self.client.send(request).await?;
        if is_dapr_error(&response) {
            return Err(self.client.api_error("invoke", &response));
        }
        Ok(Invoked {
            status: response.status.as_u16(),
            body: response.body,
        })
    }

    /// [`Self::invoke`], expecting a 2xx JSON answer; another status is an `Api` error carrying it.
    pub async fn invoke_json<T: DeserializeOwned>(
        &self,
        app_id: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<T, DaprError> {
        let invoked = self.invoke(app_id, method, path, body).await?;
        if !invoked.is_success() {
            return Err(DaprError::Api {
                operation: "invoke",
                status: invoked.status,
                error_code: None,
                message: String::from_utf8_lossy(&invoked.body).into_owned(),
                retry_after: None,
            });
        }
        invoked.json()
    }
}
