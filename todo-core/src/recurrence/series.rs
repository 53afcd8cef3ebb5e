//! Walking a series: the occurrences of a recurrence from its start, and the first one after an instant.
//!
//! Occurrences are computed as local wall-clock date-times and only then turned into instants (see
//! [`super::wall_clock`]). Presets are calendar arithmetic from the anchor; custom rules run through the
//! `rrule` crate on "floating" date-times. To find the first occurrence after an instant without walking a
//! long series from its start, a rule without COUNT is restarted at the latest period that begins before
//! the instant and is aligned with the original start ([`fast_forward`]); that restart yields exactly the
//! same occurrences from there on because the parts RFC 5545 takes from DTSTART are written out first.

use chrono::{
    DateTime, Datelike, Days, Months, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Timelike, Utc,
};
use chrono_tz::Tz;

use super::engine::crate_iter;
use super::rule::{Freq, RuleParts};
use super::wall_clock::{to_instant, to_local, YEARS};
use super::{Anchor, Recurrence};

/// Most occurrences [`first_after`] walks before giving up. A search walks at most COUNT (≤ 10 000)
/// occurrences, or a few periods' worth after a fast-forward; this is a guard, not a limit in use.
const MAX_WALK: usize = 1_000_000;

/// Slack between an instant and the period a search restarts at. A local date-time can stand for an
/// instant later than its face value by the size of a DST gap; the longest gap on record is a day.
const SEARCH_SLACK: TimeDelta = TimeDelta::days(3);

/// The preset's calendar step.
#[derive(Debug, Clone, Copy)]
enum Step {
    Days(u64),
    Months,
}

/// The occurrences of a series in order, as instants: see [`Recurrence::occurrences`].
#[derive(Debug, Clone)]
pub struct Occurrences {
    inner: Inner,
}

#[derive(Debug, Clone)]
enum Inner {
    Preset {
        step: Step,
        anchor: NaiveDateTime,
        next: u32,
        tz: Tz,
    },
    Rule {
        iter: Box<rrule::RRuleSetIter>,
        until: Option<DateTime<Utc>>,
        tz: Tz,
    },
    Done,
}

impl Occurrences {
    /// The occurrences of `recurrence` with DTSTART = the local date-time `start` in `tz`.
    pub(crate) fn new(recurrence: &Recurrence, start: NaiveDateTime, tz: Tz) -> Self {
        match recurrence {
            Recurrence::Daily => Self::preset(Step::Days(1), start, tz),
            Recurrence::Weekly => Self::preset(Step::Days(7), start, tz),
            Recurrence::Monthly => Self::preset(Step::Months, start, tz),
            Recurrence::Rule(rule) => Self::rule(rule.parts(), start, tz, true),
        }
    }

    /// A series without occurrences.
    pub(crate) fn none() -> Self {
        Self { inner: Inner::Done }
    }

    fn preset(step: Step, anchor: NaiveDateTime, tz: Tz) -> Self {
        Self::guarded(
            anchor,
            Inner::Preset {
                step,
                anchor,
                next: 0,
                tz,
            },
        )
    }

    fn rule(parts: &RuleParts, start: NaiveDateTime, tz: Tz, with_count: bool) -> Self {
        let inner = match parts.validated(start, with_count) {
            Ok(rule) => Inner::Rule {
                iter: Box::new(crate_iter(start, rule)),
                until: parts.until,
                tz,
            },
            // Parsing validated the rule against a reference start; a start-dependent refusal ends the series.
            Err(_) => Inner::Done,
        };
        Self::guarded(start, inner)
    }

    fn guarded(start: NaiveDateTime, inner: Inner) -> Self {
        let inner = if YEARS.contains(&start.year()) {
            inner
        } else {
            Inner::Done
        };
        Self { inner }
    }
}

impl Iterator for Occurrences {
    type Item = DateTime<Utc>;

    fn next(&mut self) -> Option<DateTime<Utc>> {
        loop {
            let local = match &mut self.inner {
                Inner::Done => return None,
                Inner::Preset {
                    step,
                    anchor,
                    next,
                    tz,
                } => {
                    let k = *next;
                    *next = k.checked_add(1)?;
                    let local = preset_at(*step, *anchor, k).filter(|l| YEARS.contains(&l.year()));
                    local.map(|l| (l, *tz, None))
                }
                Inner::Rule { iter, until, tz } => {
                    let local = iter.next().map(|at| at.naive_utc());
                    local
                        .filter(|l| YEARS.contains(&l.year()))
                        .map(|l| (l, *tz, *until))
                }
            };
            let Some((local, tz, until)) = local else {
                self.inner = Inner::Done;
                return None;
            };
            let Some(at) = to_instant(tz, local) else {
                continue;
            };
            if until.is_some_and(|until| at > until) {
                self.inner = Inner::Done;
                return None;
            }
            return Some(at);
        }
    }
}

/// The `k`-th preset occurrence after `anchor` (k = 0 is the anchor). Months are added to the anchor, not
/// to the previous occurrence, so that Jan 31 → Feb 28 → Mar 31.
fn preset_at(step: Step, anchor: NaiveDateTime, k: u32) -> Option<NaiveDateTime> {
    let date = match step {
        Step::Days(days) => anchor
            .date()
            .checked_add_days(Days::new(days.checked_mul(u64::from(k))?))?,
        Step::Months => anchor.date().checked_add_months(Months::new(k))?,
    };
    Some(date.and_time(anchor.time()))
}

/// The first occurrence of `recurrence` (DTSTART = `start` in `tz`) strictly after `after`. COUNT applies
/// only when `with_count`; otherwise the search starts near `after` instead of at `start`.
pub(crate) fn first_after(
    recurrence: &Recurrence,
    start: NaiveDateTime,
    tz: Tz,
    after: DateTime<Utc>,
    with_count: bool,
) -> Option<DateTime<Utc>> {
    let near = to_local(tz, after)?.checked_sub_signed(SEARCH_SLACK)?;
    let occurrences = match recurrence {
        Recurrence::Daily => preset_from(Step::Days(1), start, near, tz),
        Recurrence::Weekly => preset_from(Step::Days(7), start, near, tz),
        Recurrence::Monthly => preset_from(Step::Months, start, near, tz),
        Recurrence::Rule(rule) => {
            let parts = rule.parts();
            if with_count && parts.count.is_some() {
                Occurrences::rule(parts, start, tz, true)
            } else {
                match fast_forward(parts, start, near) {
                    Some((restarted, period_start)) => {
                        Occurrences::rule(&restarted, period_start, tz, false)
                    }
                    None => Occurrences::rule(parts, start, tz, false),
                }
            }
        }
    };
    let found = occurrences.take(MAX_WALK).find(|at| *at > after);
    if found.is_none() {
        tracing::debug!(%after, "the series has no occurrence after this instant");
    }
    found
}

/// Preset occurrences from the last whole step before `near` (or the anchor, if later).
fn preset_from(step: Step, anchor: NaiveDateTime, near: NaiveDateTime, tz: Tz) -> Occurrences {
    let skipped = if near <= anchor {
        0
    } else {
        match step {
            Step::Days(days) => {
                let elapsed = (near.date() - anchor.date()).num_days();
                u32::try_from(elapsed / i64::try_from(days).unwrap_or(1)).unwrap_or(u32::MAX)
            }
            Step::Months => {
                let months = (near.year() - anchor.year()) * 12 + near.month0() as i32
                    - anchor.month0() as i32;
                u32::try_from(months - 1).unwrap_or(0)
            }
        }
    };
    let mut occurrences = Occurrences::preset(step, anchor, tz);
    if let Inner::Preset { next, .. } = &mut occurrences.inner {
        *next = skipped;
    }
    occurrences
}

/// Restarts a rule without COUNT at the latest period that is aligned with `start` (same phase of
/// INTERVAL), begins after `start`'s period, and begins no later than `near`. Returns the rule with its
/// DTSTART-derived parts written out and the period's first instant, or `None` when `near` is still in
/// the first aligned period.
///
/// This is sound because an occurrence always falls inside the period that produced it (its year, month,
/// week from WKST, day or hour), the `rrule` crate (like python-dateutil) steps from period to period by
/// INTERVAL, and with BYxxx defaults written out, nothing else depends on DTSTART but the lower bound.
pub(crate) fn fast_forward(
    parts: &RuleParts,
    start: NaiveDateTime,
    near: NaiveDateTime,
) -> Option<(RuleParts, NaiveDateTime)> {
    let n = i64::from(parts.interval);
    let midnight = |date: NaiveDate| date.and_time(NaiveTime::MIN);
    let period_start = match parts.freq {
        Freq::Yearly => {
            let k = i64::from(near.year() - start.year()).div_euclid(n);
            let year = i64::from(start.year()).checked_add(k.checked_mul(n)?)?;
            (k >= 1).then_some(())?;
            midnight(NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, 1, 1)?)
        }
        Freq::Monthly => {
            let index = |at: NaiveDateTime| i64::from(at.year()) * 12 + i64::from(at.month0());
            let k = (index(near) - index(start)).div_euclid(n);
            (k >= 1).then_some(())?;
            let month = index(start) + k * n;
            let year = i32::try_from(month.div_euclid(12)).ok()?;
            let month0 = u32::try_from(month.rem_euclid(12)).ok()?;
            midnight(NaiveDate::from_ymd_opt(year, month0 + 1, 1)?)
        }
        Freq::Weekly => {
            let week_start = |date: NaiveDate| {
                let back =
                    (date.weekday().num_days_from_monday() + 7 - u32::from(parts.week_start())) % 7;
                date.checked_sub_days(Days::new(u64::from(back)))
            };
            let first = week_start(start.date())?;
            let weeks = (week_start(near.date())? - first).num_days() / 7;
            let k = weeks.div_euclid(n);
            (k >= 1).then_some(())?;
            midnight(first.checked_add_days(Days::new(u64::try_from(k * n * 7).ok()?))?)
        }
        Freq::Daily => {
            let k = (near.date() - start.date()).num_days().div_euclid(n);
            (k >= 1).then_some(())?;
            midnight(
                start
                    .date()
                    .checked_add_days(Days::new(u64::try_from(k * n).ok()?))?,
            )
        }
        Freq::Hourly => {
            let first_hour = start.date().and_hms_opt(start.time().hour(), 0, 0)?;
            let k = (near - first_hour).num_hours().div_euclid(n);
            (k >= 1).then_some(())?;
            first_hour.checked_add_signed(TimeDelta::hours(k.checked_mul(n)?))?
        }
    };
    Some((parts.with_start_defaults(start), period_start))
}

/// What a recurrence follows after a completion: its own anchor for a custom rule, the due date for presets.
pub(crate) fn anchor_of(recurrence: &Recurrence) -> Anchor {
    match recurrence {
        Recurrence::Rule(rule) => rule.anchor(),
        Recurrence::Daily | Recurrence::Weekly | Recurrence::Monthly => Anchor::Due,
    }
}
