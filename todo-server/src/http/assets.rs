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
    worker-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// `GET /` (the app), `GET /docs` (the API reference), `GET /sw.js` (the service worker, at the root
/// so its scope is the whole app) and `GET /assets/{path}` (their files).
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
            "/sw.js",
            get(|headers: HeaderMap| async move { file("sw.js", &headers) }),
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

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{header, Request, StatusCode};
    use tower::ServiceExt;

    use super::{routes, Web};

    async fn get(path: &str, headers: &[(header::HeaderName, &str)]) -> axum::response::Response {
        let mut request = Request::get(path);
        for (name, value) in headers {
            request = request.header(name, *value);
        }
        routes::<()>()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn pages_are_revalidated_by_their_etag_and_compressed_when_accepted() {
        let page = get("/", &[]).await;
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(
            page.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        assert_eq!(page.headers()[header::CACHE_CONTROL], "no-cache");
        let etag = page.headers()[header::ETAG].to_str().unwrap().to_owned();

        let again = get("/", &[(header::IF_NONE_MATCH, &etag)]).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        let body = axum::body::to_bytes(again.into_body(), 1024).await.unwrap();
        assert!(body.is_empty());

        let script = get("/assets/js/main.js", &[(header::ACCEPT_ENCODING, "gzip")]).await;
        assert_eq!(script.status(), StatusCode::OK);
        assert!(script.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .contains("javascript"));
        assert_eq!(script.headers()[header::CONTENT_ENCODING], "gzip");
        assert_ne!(script.headers()[header::ETAG], etag.as_str());
    }

    #[tokio::test]
    async fn unknown_files_and_the_unit_tests_are_not_served() {
        for path in [
            "/assets/nope.js",
            "/assets/js/time.test.js",
            "/assets/../Cargo.toml",
        ] {
            assert_eq!(
                get(path, &[]).await.status(),
                StatusCode::NOT_FOUND,
                "{path}"
            );
        }
    }

    /// Every `import … from "./x.js"` and every `/assets/…` reference in the pages names a file
    /// that ships, so a renamed module cannot break the app unnoticed.
    #[test]
    fn every_referenced_file_ships() {
        let mut missing = Vec::new();
        for name in Web::iter() {
            let text = String::from_utf8_lossy(&Web::get(&name).unwrap().data).into_owned();
            let dir = name.rsplit_once('/').map_or("", |(dir, _)| dir);
            for (quote, _) in text.match_indices("from \"./") {
                let target = &text[quote + 8..];
                let target = &target[..target.find('"').unwrap()];
                let path = if dir.is_empty() {
                    target.to_owned()
                } else {
                    format!("{dir}/{target}")
                };
                if Web::get(&path).is_none() {
                    missing.push(format!("{name} imports {path}"));
                }
            }
            for (at, _) in text.match_indices("\"/assets/") {
                let target = &text[at + 9..];
                let path = &target[..target.find('"').unwrap()];
                if Web::get(path).is_none() {
                    missing.push(format!("{name} links /assets/{path}"));
                }
            }
        }
        assert!(missing.is_empty(), "{missing:#?}");
        assert!(Web::get("index.html").is_some() && Web::get("docs.html").is_some());
    }
}

#[cfg(test)]
mod service_worker_tests {
    use axum::body::Body;
    use axum::http::{header, Request, StatusCode};
    use tower::ServiceExt;

    #[tokio::test]
    async fn the_service_worker_is_served_at_the_root_as_javascript() {
        let response = super::routes::<()>()
            .oneshot(Request::get("/sw.js").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-cache");
    }
}
