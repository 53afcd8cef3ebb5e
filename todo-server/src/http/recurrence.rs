//! `GET /api/v1/recurrence/preview`: the first occurrences of a rule, computed by the same engine that
//! rolls tasks forward, so a form can show what a rule means before the task is saved.
//!
//! It accepts what the task input accepts (the presets in lower case, or an RFC 5545 RRULE with or
//! without `RRULE:`) and refuses it with the same messages, naming the query parameter instead.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use todo_core::error::ValidationError;
use todo_core::model::{parse_due_date, TimeZone};
use todo_core::recurrence::{Anchor, CustomRule, Recurrence};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::extract::{ApiQuery, AuthUser};
use crate::app::AppState;

/// Most occurrences one preview lists.
const MAX_COUNT: usize = 20;
/// Occurrences listed when `count` is left out.
const DEFAULT_COUNT: usize = 5;

/// The first occurrences of a series.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecurrencePreviewDto {
    /// Up to `count` instants in order (fewer when the rule ends by COUNT or UNTIL).
    #[schema(example = json!(["2026-03-23T09:00:00Z", "2026-03-30T08:00:00Z"]))]
    pub occurrences: Vec<DateTime<Utc>>,
}

/// The query string as sent; [`PreviewParams::parse`] reads each value so an error names its parameter.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviewParams {
    rrule: Option<String>,
    due: Option<String>,
    timezone: Option<String>,
    count: Option<String>,
}

/// What to preview.
#[derive(Debug, PartialEq)]
struct Preview {
    recurrence: Recurrence,
    start: DateTime<Utc>,
    timezone: TimeZone,
    count: usize,
}

impl PreviewParams {
    /// Reads the parameters; `now` is the default series start (truncated to the minute).
    fn parse(self, now: DateTime<Utc>) -> Result<Preview, ValidationError> {
        let rrule = self.rrule.ok_or_else(|| {
            ValidationError::new(
                "rrule",
                "required: daily, weekly, monthly or an RFC 5545 RRULE such as FREQ=WEEKLY;BYDAY=MO",
            )
        })?;
        let start = match self.due.as_deref() {
            Some(raw) => parse_due_date(raw, "due")?,
            None => now.duration_trunc(TimeDelta::minutes(1)).unwrap_or(now),
        };
        let timezone = self
            .timezone
            .as_deref()
            .map(TimeZone::parse)
            .transpose()?
            .unwrap_or_default();
        let count = match self.count.as_deref() {
            None => DEFAULT_COUNT,
            Some(raw) => raw
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_COUNT).contains(n))
                .ok_or_else(|| {
                    ValidationError::new(
                        "count",
                        format!("expected a whole number from 1 to {MAX_COUNT}"),
                    )
                })?,
        };
        Ok(Preview {
            recurrence: parse_rule(&rrule)?,
            start,
            timezone,
            count,
        })
    }
}

/// A preset (`daily`, `weekly`, `monthly`, as the task input spells them) or a custom rule.
fn parse_rule(raw: &str) -> Result<Recurrence, ValidationError> {
    match raw {
        "daily" => Ok(Recurrence::Daily),
        "weekly" => Ok(Recurrence::Weekly),
        "monthly" => Ok(Recurrence::Monthly),
        // The anchor only matters after a completion; a preview runs the rule from its start.
        rule => CustomRule::parse(rule, Anchor::Due)
            .map(Recurrence::Rule)
            .map_err(|e| ValidationError::new("rrule", e.message)),
    }
}

/// Previews the first occurrences of a recurrence.
///
/// The series starts at `due` (its DTSTART) and runs on the wall clock of `timezone`, as a task's
/// series does: a 09:00 weekly series stays at 09:00 local across DST changes. A custom rule lists
/// `due` itself only when `due` matches the rule, as RFC 5545 does. The rule is checked as the task
/// input checks `recurrence`, with the same messages.
#[utoipa::path(get, path = "/api/v1/recurrence/preview", tag = "recurrence",
    params(
        ("rrule" = String, Query, description = "`daily`, `weekly`, `monthly`, or an RFC 5545 RRULE with or without the `RRULE:` prefix", example = "FREQ=WEEKLY;BYDAY=MO,WE"),
        ("due" = Option<String>, Query, description = "RFC 3339 instant of the first occurrence (the series start; percent-encode a `+` offset as `%2B`); default: now, truncated to the minute", example = "2026-03-23T09:00:00Z"),
        ("timezone" = Option<String>, Query, description = "IANA time zone the rule runs in; default `UTC`", example = "Europe/London"),
        ("count" = Option<u32>, Query, description = "how many occurrences to list: 1..=20, default 5", minimum = 1, maximum = 20),
    ),
    responses(
        (status = 200, body = RecurrencePreviewDto, description = "the first `count` occurrences; fewer when the rule ends"),
        (status = 400, body = ErrorBody, description = "a missing, invalid or unknown parameter, named in `details.field`"),
        (status = 401, body = ErrorBody, description = "no valid bearer token"),
    ),
    security(("bearer" = [])))]
pub async fn preview(
    State(state): State<AppState>,
    AuthUser(_): AuthUser,
    ApiQuery(params): ApiQuery<PreviewParams>,
) -> Result<Json<RecurrencePreviewDto>, ApiError> {
    let preview = params
        .parse(state.clock.now())
        .map_err(ApiError::bad_parameter)?;
    // A sparse rule can walk many periods before its next occurrence (the engine bounds it): keep that
    // off the request threads.
    let occurrences = tokio::task::spawn_blocking(move || {
        preview
            .recurrence
            .occurrences(preview.start, preview.timezone.tz())
            .take(preview.count)
            .collect()
    })
    .await
    .map_err(ApiError::internal)?;
    Ok(Json(RecurrencePreviewDto { occurrences }))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 20, 14, 37, 42).unwrap()
    }

    fn params(pairs: &[(&str, &str)]) -> PreviewParams {
        let mut params = PreviewParams::default();
        for (key, value) in pairs {
            let value = Some((*value).to_owned());
            match *key {
                "rrule" => params.rrule = value,
                "due" => params.due = value,
                "timezone" => params.timezone = value,
                "count" => params.count = value,
                other => panic!("no parameter {other}"),
            }
        }
        params
    }

    fn refused(pairs: &[(&str, &str)]) -> ValidationError {
        params(pairs).parse(now()).unwrap_err()
    }

    #[test]
    fn only_the_rule_is_required_and_the_rest_has_defaults() {
        let preview = params(&[("rrule", "weekly")]).parse(now()).unwrap();
        assert_eq!(
            preview,
            Preview {
                recurrence: Recurrence::Weekly,
                start: Utc.with_ymd_and_hms(2026, 3, 20, 14, 37, 0).unwrap(),
                timezone: TimeZone::default(),
                count: 5,
            }
        );
        assert_eq!(refused(&[]).field, "rrule");
    }

    #[test]
    fn a_rule_may_carry_the_rrule_prefix() {
        let bare = params(&[("rrule", "FREQ=DAILY;COUNT=3")])
            .parse(now())
            .unwrap();
        let prefixed = params(&[("rrule", "RRULE:FREQ=DAILY;COUNT=3")])
            .parse(now())
            .unwrap();
        assert_eq!(bare.recurrence, prefixed.recurrence);
        assert!(matches!(bare.recurrence, Recurrence::Rule(_)));
    }

    #[test]
    fn an_invalid_rule_is_refused_with_the_task_inputs_message_under_its_parameter_name() {
        let error = refused(&[("rrule", "FREQ=SOMETIMES")]);
        let from_task_input = CustomRule::parse("FREQ=SOMETIMES", Anchor::Due).unwrap_err();
        assert_eq!(error.field, "rrule");
        assert_eq!(error.message, from_task_input.message);
        // Presets are spelled as the task input spells them.
        assert_eq!(refused(&[("rrule", "Weekly")]).field, "rrule");
    }

    #[test]
    fn due_timezone_and_count_are_checked() {
        let preview = params(&[
            ("rrule", "daily"),
            ("due", "2026-03-23T09:00:00+00:00"),
            ("timezone", "Europe/London"),
            ("count", "20"),
        ])
        .parse(now())
        .unwrap();
        assert_eq!(
            preview.start,
            Utc.with_ymd_and_hms(2026, 3, 23, 9, 0, 0).unwrap()
        );
        assert_eq!(preview.timezone.name(), "Europe/London");
        assert_eq!(preview.count, 20);
        for (pairs, field) in [
            (&[("rrule", "daily"), ("due", "tomorrow")][..], "due"),
            (
                &[("rrule", "daily"), ("timezone", "Mars/Base")][..],
                "timezone",
            ),
            (&[("rrule", "daily"), ("count", "0")][..], "count"),
            (&[("rrule", "daily"), ("count", "21")][..], "count"),
            (&[("rrule", "daily"), ("count", "five")][..], "count"),
        ] {
            assert_eq!(refused(pairs).field, field, "{pairs:?}");
        }
        assert_eq!(
            refused(&[("rrule", "daily"), ("timezone", "Mars/Base")]),
            TimeZone::parse("Mars/Base").unwrap_err(),
            "the task input's message"
        );
    }
}
