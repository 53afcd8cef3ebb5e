//! Extractors that answer bad input with our error body: JSON bodies, query strings, the caller.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use todo_core::model::UserId;

use super::error::ApiError;
use crate::app::AppState;

/// A JSON object body; malformed JSON, a body that is not an object, or a wrong type is 400, an
/// oversized body 413.
///
/// Numbers are read as JSON Schema reads them: `5.0` is the integer 5, so a client that writes every
/// number as a float (JavaScript, a fuzzer) is understood.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let mut body = axum::Json::<serde_json::Value>::from_request(req, state)
            .await
            .map_err(rejected)?
            .0;
        if !body.is_object() {
            // Serde would read a struct from an array of its fields in order: `[null, null]` is not
            // a body anyone means.
            return Err(ApiError::bad_request(
                "body",
                "expected a JSON object as the body",
            ));
        }
        integral_floats_as_integers(&mut body);
        // Through bytes again, so a wrong type is reported with its path (`remind_before: ...`).
        let bytes = serde_json::to_vec(&body).map_err(ApiError::internal)?;
        axum::Json::<T>::from_bytes(&bytes)
            .map(|axum::Json(value)| ApiJson(value))
            .map_err(rejected)
    }
}

fn rejected(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::JsonDataError(e) => {
            ApiError::bad_request("body", format!("invalid JSON body: {}", e.body_text()))
        }
        JsonRejection::JsonSyntaxError(e) => {
            ApiError::bad_request("body", format!("malformed JSON: {}", e.body_text()))
        }
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::bad_request("content-type", "expected `Content-Type: application/json`")
        }
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "request body too large",
            )
        }
        other => ApiError::bad_request("body", other.body_text()),
    }
}

/// Rewrites every float without a fractional part that fits an `i64` (`5.0`) as that integer.
fn integral_floats_as_integers(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64() {
                // The range check is on floats: i64::MAX as f64 rounds up to 2^63, which is excluded.
                if f.fract() == 0.0 && f >= -(2f64.powi(63)) && f < 2f64.powi(63) {
                    #[allow(clippy::cast_possible_truncation)]
                    let integer = f as i64;
                    *value = serde_json::Value::from(integer);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(integral_floats_as_integers),
        serde_json::Value::Object(fields) => {
            fields.values_mut().for_each(integral_floats_as_integers);
        }
        _ => {}
    }
}

/// A query string parsed strictly; an unknown, malformed or blank parameter is 400 (a parameter
/// that does not apply is left out, not sent empty).
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let pairs = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map(|Query(pairs)| pairs)
            .unwrap_or_default();
        if let Some((name, _)) = pairs.iter().find(|(_, value)| value.trim().is_empty()) {
            return Err(ApiError::bad_request(
                name,
                format!("query parameter `{name}` is empty: leave it out instead"),
            ));
        }
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| ApiQuery(v))
            .map_err(|e: QueryRejection| {
                ApiError::bad_request("query", format!("invalid query string: {}", e.body_text()))
            })
    }
}

/// The signed-in user, from `Authorization: Bearer <jwt>`.
pub struct AuthUser(pub UserId);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        verified(state, bearer(parts)).map(AuthUser)
    }
}

/// The signed-in user of the live stream: the bearer header, or `?access_token=` for the browser's
/// `EventSource`, which cannot set headers. Only the stream takes a token in its URL (the request log
/// records paths, never query strings); the web UI sends the header.
pub struct StreamUser(pub UserId);

impl FromRequestParts<AppState> for StreamUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).or_else(|| {
            parts.uri.query().and_then(|q| {
                q.split('&')
                    .find_map(|pair| pair.strip_prefix("access_token=").map(str::to_owned))
            })
        });
        verified(state, token).map(StreamUser)
    }
}

/// The token of `Authorization: Bearer <token>`, if the request has one.
pub(crate) fn bearer(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .map(str::to_owned)
}

fn verified(state: &AppState, token: Option<String>) -> Result<UserId, ApiError> {
    let token = token
        .ok_or_else(|| ApiError::unauthorized("sign in: send `Authorization: Bearer <token>`"))?;
    let user = state.accounts.verify(&token)?;
    tracing::Span::current().record("user_id", tracing::field::display(user));
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integral_floats_become_integers_and_other_numbers_stay() {
        let mut value = serde_json::json!({"a": 5.0, "b": [1.5, -3.0, 1e300], "c": "5.0", "d": 7});
        integral_floats_as_integers(&mut value);
        assert_eq!(
            value,
            serde_json::json!({"a": 5, "b": [1.5, -3, 1e300], "c": "5.0", "d": 7})
        );
        assert!(value["a"].is_i64());
    }
}
