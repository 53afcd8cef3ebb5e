//! The private calendar feed (SPEC §14): issuing its secret URL, and serving it to calendar apps,
//! which cannot send a bearer token, so the unguessable URL is the credential.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use todo_core::calendar::entity_tag;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::extract::AuthUser;
use crate::app::AppState;

/// How long a calendar app or proxy may reuse the feed before asking again (with `If-None-Match`).
const CACHE_CONTROL: &str = "private, max-age=300";

/// A new feed URL.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedUrlDto {
    /// Subscribe to this URL in a calendar app; whoever has it can read your dated tasks.
    #[schema(
        example = "https://todo.example.com/ical/3q2-7wEjRk7lUu1sYh2mZbq9n3Qm0mJ4KQbq9f1xX0o.ics"
    )]
    pub url: String,
}

/// Issues a new secret calendar feed URL; the previous one stops working.
#[utoipa::path(
    post, path = "/api/v1/calendar/feed", tag = "calendar",
    security(("bearer" = [])),
    responses(
        (status = 201, body = FeedUrlDto),
        (status = 400, description = "No usable Host header and no TODO_PUBLIC_URL", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
    )
)]
pub async fn create_feed(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<FeedUrlDto>), ApiError> {
    let base = match &state.config.http.public_url {
        Some(url) => url.clone(),
        None => base_from_request(&headers)?,
    };
    let secret = state.calendar.issue_feed(user).await?;
    let url = format!("{base}/ical/{}.ics", secret.as_str());
    Ok((StatusCode::CREATED, Json(FeedUrlDto { url })))
}

/// The feed: your pending tasks with a due date as an iCalendar (RFC 5545) document.
#[utoipa::path(
    get, path = "/ical/{secret}.ics", tag = "calendar",
    params(("secret" = String, Path, description = "The secret from the feed URL")),
    responses(
        (status = 200, description = "The calendar", content_type = "text/calendar", body = String),
        (status = 304, description = "Unchanged since the `If-None-Match` ETag"),
        (status = 404, description = "No such feed (never issued, or replaced by a newer one)", body = ErrorBody),
    )
)]
pub async fn feed(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let secret = file.strip_suffix(".ics").ok_or_else(no_such_feed)?;
    let document = state
        .calendar
        .render(secret)
        .await?
        .ok_or_else(no_such_feed)?;
    let etag = entity_tag(&document);
    let cached = [
        (header::ETAG, header_value(&etag)),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static(CACHE_CONTROL),
        ),
    ];
    if if_none_match(&headers, &etag) {
        return Ok((StatusCode::NOT_MODIFIED, cached).into_response());
    }
    let content_type = (
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/calendar; charset=utf-8"),
    );
    Ok((cached, [content_type], document).into_response())
}

fn no_such_feed() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such calendar feed")
}

fn header_value(etag: &str) -> HeaderValue {
    HeaderValue::from_str(etag).unwrap_or_else(|_| HeaderValue::from_static("\"\""))
}

/// Whether `If-None-Match` lists `etag` (weakly compared, RFC 9110 §13.1.2) or is `*`.
fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

/// `http(s)://host` from the request: the `Host` header, and `https` when a proxy says so with
/// `X-Forwarded-Proto`.
fn base_from_request(headers: &HeaderMap) -> Result<String, ApiError> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        })
        .ok_or_else(|| {
            ApiError::bad_request(
                "Host",
                "the request has no usable Host header to build the feed URL from; set TODO_PUBLIC_URL",
            )
        })?;
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|p| p.to_str().ok())
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
    let scheme = if https { "https" } else { "http" };
    Ok(format!("{scheme}://{host}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn if_none_match_matches_a_listed_weak_or_any_tag() {
        let etag = "\"abc\"";
        assert!(if_none_match(
            &headers(&[("if-none-match", "\"abc\"")]),
            etag
        ));
        assert!(if_none_match(
            &headers(&[("if-none-match", "\"x\", W/\"abc\"")]),
            etag
        ));
        assert!(if_none_match(&headers(&[("if-none-match", "*")]), etag));
        assert!(!if_none_match(
            &headers(&[("if-none-match", "\"x\"")]),
            etag
        ));
        assert!(!if_none_match(&headers(&[]), etag));
    }

    #[test]
    fn the_base_url_comes_from_the_host_and_the_forwarded_scheme() {
        let base = base_from_request(&headers(&[("host", "todo.example.com:8443")]));
        assert_eq!(base.ok().as_deref(), Some("http://todo.example.com:8443"));
        let base = base_from_request(&headers(&[
            ("host", "todo.example.com"),
            ("x-forwarded-proto", "https"),
        ]));
        assert_eq!(base.ok().as_deref(), Some("https://todo.example.com"));
        assert!(base_from_request(&headers(&[("host", "evil.com/x?")])).is_err());
        assert!(base_from_request(&headers(&[])).is_err());
    }
}
