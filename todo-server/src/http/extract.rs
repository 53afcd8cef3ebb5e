//! Extractors that answer bad input with our error body: JSON bodies, query strings, the caller.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use todo_core::model::UserId;

use super::error::ApiError;
use crate::app::AppState;

/// A JSON body; malformed JSON or a wrong type is 400, an oversized body 413.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(match rejection {
                JsonRejection::JsonDataError(e) => {
                    ApiError::bad_request("body", format!("invalid JSON body: {}", e.body_text()))
                }
                JsonRejection::JsonSyntaxError(e) => {
                    ApiError::bad_request("body", format!("malformed JSON: {}", e.body_text()))
                }
                JsonRejection::MissingJsonContentType(_) => ApiError::bad_request(
                    "content-type",
                    "expected `Content-Type: application/json`",
                ),
                JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "payload_too_large",
                        "request body too large",
                    )
                }
                other => ApiError::bad_request("body", other.body_text()),
            }),
        }
    }
}

/// A query string parsed strictly; an unknown or malformed parameter is 400.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
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
