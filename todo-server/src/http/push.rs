//! Web Push registration (SPEC §14): the server's VAPID public key, and the browsers a user
//! registers for reminders. Delivery is the notification service's ([`todo_push::PushChannel`]).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Serialize;
use todo_core::model::{PushSubscription, PushSubscriptionInput};
use todo_core::ports::{PushRegistration, PushSubscriptionStore};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, AuthUser};
use crate::app::AppState;

/// What the push routes need.
#[derive(Clone)]
pub struct PushApi {
    /// The registered browsers.
    pub subscriptions: Arc<dyn PushSubscriptionStore>,
    /// The VAPID public key (base64url uncompressed P-256 point); `None` while push is off.
    pub vapid_public_key: Option<Arc<str>>,
    /// **Tests only** (`TODO_PUSH_ALLOW_PRIVATE_ENDPOINTS`): accept endpoints on private addresses.
    pub allow_private_endpoints: bool,
}

/// The application server's key, for `PushManager.subscribe({applicationServerKey})`.
#[derive(Debug, Serialize, ToSchema)]
pub struct VapidKeyDto {
    /// The VAPID public key: an uncompressed P-256 point, unpadded base64url.
    #[schema(
        example = "BLn9b-VR0ca83knDNZ32dCHGyjJp-1riX9ZTN40MqV8K_LpQmLqxC_DoHvqvFXO_nGdAB4W9dogZb_sM-uV4JbY"
    )]
    pub key: String,
}

/// A registered browser.
#[derive(Debug, Serialize, ToSchema)]
pub struct PushSubscriptionDto {
    /// The registration's id (`DELETE /api/v1/push/subscriptions/{id}`).
    pub id: uuid::Uuid,
    /// The push service's URL for the browser.
    pub endpoint: String,
    /// When the push service will stop accepting messages for it, if it said.
    pub expiration_time: Option<DateTime<Utc>>,
    /// When it was first registered.
    pub created_at: DateTime<Utc>,
}

impl From<&PushRegistration> for PushSubscriptionDto {
    fn from(r: &PushRegistration) -> Self {
        Self {
            id: r.id,
            endpoint: r.subscription.endpoint.as_str().to_owned(),
            expiration_time: r.subscription.expiration_time,
            created_at: r.created_at,
        }
    }
}

/// The most browsers one account registers: each reminder goes to every one of them.
pub const MAX_BROWSERS_PER_USER: usize = 20;

fn push_off() -> ApiError {
    ApiError::unavailable(
        "Web Push is not configured on this server (no VAPID key)",
        None,
    )
}

/// The server's VAPID public key; 503 while Web Push is off.
#[utoipa::path(get, path = "/api/v1/push/vapid-key", tag = "push",
    responses((status = 200, body = VapidKeyDto), (status = 503, body = ErrorBody)))]
pub async fn vapid_key(State(state): State<AppState>) -> Result<Json<VapidKeyDto>, ApiError> {
    let key = state
        .push
        .vapid_public_key
        .as_deref()
        .ok_or_else(push_off)?;
    Ok(Json(VapidKeyDto {
        key: key.to_owned(),
    }))
}

/// Registers this browser for reminders by Web Push: the browser's `PushSubscription` JSON.
/// Registering the same endpoint again answers the same id (with the new keys).
#[utoipa::path(post, path = "/api/v1/push/subscriptions", tag = "push",
    request_body = PushSubscriptionInput,
    responses((status = 201, body = PushSubscriptionDto), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 422, body = ErrorBody, description = "an endpoint that is not https on a public host, keys of the wrong length, or a 21st browser; names the field")),
    security(("bearer" = [])))]
pub async fn subscribe(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiJson(input): ApiJson<PushSubscriptionInput>,
) -> Result<(StatusCode, Json<PushSubscriptionDto>), ApiError> {
    if state.push.vapid_public_key.is_none() {
        return Err(push_off());
    }
    let subscription = if state.push.allow_private_endpoints {
        PushSubscription::parse_allowing_private(&input)
    } else {
        PushSubscription::parse(&input)
    }
    .map_err(ApiError::invalid)?;
    let registered = state
        .push
        .subscriptions
        .list(user)
        .await
        .map_err(todo_core::error::TaskError::from)?;
    let known = registered
        .iter()
        .any(|r| r.subscription.endpoint == subscription.endpoint);
    if !known && registered.len() >= MAX_BROWSERS_PER_USER {
        return Err(ApiError::invalid(todo_core::error::ValidationError::new(
            "endpoint",
            format!("at most {MAX_BROWSERS_PER_USER} browsers per account: unregister one first"),
        )));
    }
    let registration = PushRegistration {
        id: uuid::Uuid::now_v7(),
        user_id: user,
        subscription,
        created_at: state.clock.now(),
    };
    let stored = state
        .push
        .subscriptions
        .add(registration)
        .await
        .map_err(todo_core::error::TaskError::from)?;
    tracing::info!(user_id = %user, subscription = %stored.id, "push: a browser registered");
    Ok((
        StatusCode::CREATED,
        Json(PushSubscriptionDto::from(&stored)),
    ))
}

/// Unregisters one of your browsers; another user's id is 404.
#[utoipa::path(delete, path = "/api/v1/push/subscriptions/{id}", tag = "push",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn unsubscribe(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such push subscription",
        )
    };
    let id = uuid::Uuid::parse_str(&id).map_err(|_| not_found())?;
    let removed = state
        .push
        .subscriptions
        .remove(user, id)
        .await
        .map_err(todo_core::error::TaskError::from)?;
    if removed {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found())
    }
}
