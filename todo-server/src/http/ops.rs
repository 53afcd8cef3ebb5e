//! Operations routes: liveness, readiness, metrics, the OpenAPI document and its browsable page.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect};
use axum::Json;

use crate::app::AppState;

/// `GET /healthz`: the process is alive.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: storage answers (and, in Dapr mode, the sidecar is healthy).
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    readiness(&state.readiness).await
}

/// The answer of `/readyz` for `readiness`.
pub async fn readiness(readiness: &crate::app::Readiness) -> (StatusCode, String) {
    match readiness.check().await {
        Ok(()) => (StatusCode::OK, "ready".to_owned()),
        Err(reason) => (StatusCode::SERVICE_UNAVAILABLE, reason),
    }
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

/// `GET /openapi.json`.
pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(super::api_doc())
}

/// `GET /docs`: a browsable API reference over `/openapi.json`.
pub async fn docs() -> Html<&'static str> {
    Html(
        r#"<!doctype html>
<html><head><meta charset="utf-8"><title>todo API</title></head>
<body>
<script id="api-reference" data-url="/openapi.json"></script>
<script src="https://cdn.jsdelivr.net/npm/@scalar/api-reference"></script>
<noscript><p>The API is described at <a href="/openapi.json">/openapi.json</a>.</p></noscript>
</body></html>"#,
    )
}

/// `GET /`: until the web UI lands, the API docs.
pub async fn root() -> Redirect {
    Redirect::temporary("/docs")
}
