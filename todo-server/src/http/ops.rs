//! Operations routes: liveness, readiness, metrics and the OpenAPI document.

use axum::http::{header, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::PrometheusHandle;

use crate::app::Readiness;

/// `GET /healthz`: the process is alive.
pub async fn healthz() -> &'static str {
    "ok"
}

/// The operations routes every service serves: `GET /healthz` (the process is alive), `GET /readyz`
/// (what `readiness` checks answers) and `GET /metrics` (Prometheus text format).
pub fn routes<S: Clone + Send + Sync + 'static>(
    readiness: Readiness,
    metrics: PrometheusHandle,
) -> Router<S> {
    Router::new()
        .route("/healthz", get(healthz))
        .route(
            "/readyz",
            get(move || {
                let readiness = readiness.clone();
                async move {
                    match readiness.check().await {
                        Ok(()) => (StatusCode::OK, "ready".to_owned()),
                        Err(reason) => {
                            tracing::warn!(error = %todo_core::error::chain(&reason), "not ready");
                            (StatusCode::SERVICE_UNAVAILABLE, reason.to_string())
                        }
                    }
                }
            }),
        )
        .route(
            "/metrics",
            get(move || {
                let metrics = metrics.clone();
                async move {
                    (
                        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                        metrics.render(),
                    )
                }
            }),
        )
}

/// `GET /openapi.json`.
pub async fn openapi() -> Json<&'static serde_json::Value> {
    Json(super::api_doc())
}
