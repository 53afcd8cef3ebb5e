//! The web UI (`/`) and the API reference (`/docs`): hand-written files under `todo-server/web/`,
//! compiled into release builds. Every file is revalidated by its content hash (`ETag`), compressed
//! when the browser accepts it, and served under a Content-Security-Policy that allows scripts,
//! styles and connections from this origin only (no inline script, no CDN).

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rust_embed::Embed;
use tower_http::compression::CompressionLayer;

/// The files of `todo-server/web/` (browser tests and JavaScript unit tests excluded).
#[derive(Embed)]
#[folder = "web/"]
#[exclude = "*.test.js"]
struct Web;

/// The policy of every page: this origin only; no inline script or style, no framing, no plugins.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
    object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// `GET /` (the app), `GET /docs` (the API reference) and `GET /assets/{path}` (their files).
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(
            "/",
            get(|headers: HeaderMap| async move { file("index.html", &headers) }),
        )
        .route(
            "/docs",
            get(|headers: HeaderMap| async move { file("docs.html", &headers) }),
        )
        .route(
            "/assets/{*path}",
            get(
                |Path(path): Path<String>, headers: HeaderMap| async move { file(&path, &headers) },
            ),
        )
        .layer(CompressionLayer::new())
}

/// The file at `path`, or 304 when the browser's copy is current, or 404.
fn file(path: &str, headers: &HeaderMap) -> Response {
    let Some(found) = Web::get(path) else {
        return super::ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such file")
            .into_response();
    };
    let hash = found.metadata.sha256_hash();
    let etag = format!(
        "\"{}\"",
        hash[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let etag = HeaderValue::from_str(&etag).expect("hex is a valid header value");
    let cached = [
        (header::ETAG, etag.clone()),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ];
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|sent| sent.as_bytes() == etag.as_bytes())
    {
        return (StatusCode::NOT_MODIFIED, cached).into_response();
    }
    let content_type = HeaderValue::from_str(&with_charset(found.metadata.mimetype()))
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    (
        cached,
        [(header::CONTENT_TYPE, content_type)],
        found.data.into_owned(),
    )
        .into_response()
}

/// Text types are UTF-8.
fn with_charset(mime: &str) -> String {
    if mime.starts_with("text/") || mime == "application/javascript" || mime.ends_with("+xml") {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    }
}
