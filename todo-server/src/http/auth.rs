//! `POST /api/v1/auth/signup` and `POST /api/v1/auth/login`, rate-limited per client address.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;

use super::dto::{AuthResponse, LoginRequest, SignupRequest};
use super::error::{ApiError, ErrorBody};
use super::extract::ApiJson;
use crate::app::AppState;

/// The client's address, when the server was started with connection info.
pub struct ClientIp(Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

fn check_rate(state: &AppState, client: &ClientIp) -> Result<(), ApiError> {
    let ip = client.0.unwrap_or(IpAddr::from([0, 0, 0, 0]));
    state.auth_limiter.check_key(&ip).map_err(|_| {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many attempts; wait a minute",
        )
        .with_retry_after(std::time::Duration::from_secs(60))
    })
}

/// Creates an account.
#[utoipa::path(post, path = "/api/v1/auth/signup", tag = "auth", request_body = SignupRequest,
    responses((status = 201, body = AuthResponse), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn signup(
    State(state): State<AppState>,
    client: ClientIp,
    ApiJson(body): ApiJson<SignupRequest>,
) -> Result<(StatusCode, Json<AuthResponse>), ApiError> {
    check_rate(&state, &client)?;
    let (user, token) = state
        .accounts
        .sign_up(&body.email, &body.password, body.name.as_deref())
        .await?;
    Ok((StatusCode::CREATED, Json(AuthResponse::new(&user, token))))
}

/// Signs in.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = AuthResponse), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    client: ClientIp,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Json<AuthResponse>, ApiError> {
    check_rate(&state, &client)?;
    let (user, token) = state.accounts.log_in(&body.email, &body.password).await?;
    Ok(Json(AuthResponse::new(&user, token)))
}
