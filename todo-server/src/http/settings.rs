//! Your settings (SPEC §14): the time zone that quick-add, chat and reminders read dates in, and which
//! reminder channels are on.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use todo_core::model::TimeZone;
use todo_core::ports::UserSettings;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, AuthUser};
use crate::app::AppState;

/// The signed-in user's settings.
#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsDto {
    /// IANA time zone in which quick-add and chat read dates (default `UTC`).
    #[schema(example = "Europe/Paris")]
    pub timezone: String,
    /// Reminders by email to the account's address.
    pub email_notifications: bool,
    /// Reminders by Web Push to the browsers you registered.
    pub push_notifications: bool,
}

impl From<&UserSettings> for SettingsDto {
    fn from(settings: &UserSettings) -> Self {
        Self {
            timezone: settings.timezone.name().to_owned(),
            email_notifications: settings.email_notifications,
            push_notifications: settings.push_notifications,
        }
    }
}

/// The settings to change; a field left out stays as it is.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatchInput {
    /// IANA time zone, e.g. `Europe/Paris`.
    #[serde(default)]
    pub timezone: Option<String>,
    /// Reminders by email on or off.
    #[serde(default)]
    pub email_notifications: Option<bool>,
    /// Reminders by Web Push on or off.
    #[serde(default)]
    pub push_notifications: Option<bool>,
}

/// Your settings.
#[utoipa::path(
    get, path = "/api/v1/me/settings", tag = "settings",
    security(("bearer" = [])),
    responses(
        (status = 200, body = SettingsDto),
        (status = 401, description = "Not signed in", body = ErrorBody),
    )
)]
pub async fn get_settings(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> Result<Json<SettingsDto>, ApiError> {
    let settings = state.accounts.settings(user).await?;
    Ok(Json(SettingsDto::from(&settings)))
}

/// Changes your settings.
#[utoipa::path(
    patch, path = "/api/v1/me/settings", tag = "settings",
    security(("bearer" = [])),
    request_body = SettingsPatchInput,
    responses(
        (status = 200, body = SettingsDto),
        (status = 400, description = "Malformed body or unknown field", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 422, description = "Not an IANA time zone; nothing changed", body = ErrorBody),
    )
)]
pub async fn update_settings(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiJson(input): ApiJson<SettingsPatchInput>,
) -> Result<Json<SettingsDto>, ApiError> {
    let mut settings = state.accounts.settings(user).await?;
    if let Some(zone) = input.timezone.as_deref() {
        settings.timezone = TimeZone::parse(zone).map_err(ApiError::invalid)?;
    }
    if let Some(on) = input.email_notifications {
        settings.email_notifications = on;
    }
    if let Some(on) = input.push_notifications {
        settings.push_notifications = on;
    }
    state.accounts.update_settings(user, &settings).await?;
    Ok(Json(SettingsDto::from(&settings)))
}
