//! A series as an RFC 5545 RRULE that starts at its pending occurrence, for the calendar feed.
//!
//! A calendar client expands `DTSTART` + `RRULE` itself, so the rule written here must give, from the
//! pending occurrence on, exactly the occurrences [`super::Recurrence::occurrences`] gives from the series
//! anchor. Two things differ from the stored rule:
//!
//! - DTSTART is the pending occurrence, not the anchor, so that completed or skipped occurrences do not
//!   come back as instances. The parts RFC 5545 takes from DTSTART (the weekday, the day of month, the
//!   time) are then written out from the anchor, and COUNT, which counts from the anchor, becomes the
//!   UNTIL of the series' last occurrence.
//! - The monthly preset clamps to the month's last day (Jan 31 → Feb 28 → Mar 31) where a plain
//!   `FREQ=MONTHLY` skips short months; on days 29–31 it is written as
//!   `BYMONTHDAY=28,…,d;BYSETPOS=-1`: the latest of those days the month has.

use chrono::{DateTime, Datelike, NaiveDateTime, Utc};
use chrono_tz::Tz;

use super::wall_clock::{to_instant, to_local, whole_seconds};
use super::{Anchor, Recurrence};

/// The local date-time to write as DTSTART for a pending occurrence due at `due`, in a series anchored
/// at `anchor`: the series' wall-clock time on the due date when it stands for `due`, else `due`'s
/// local time.
///
/// They differ when the occurrence fell in a spring-forward gap: a 02:30 series is due at 03:30 on that
/// day, but DTSTART must say 02:30, which RFC 5545 §3.3.5 reads with the offset before the gap, as the
/// engine does; DTSTART 03:30 would move every later occurrence to 03:30.
pub(crate) fn series_start(
    anchor: DateTime<Utc>,
    due: DateTime<Utc>,
    tz: Tz,
) -> Option<NaiveDateTime> {
    let due_local = whole_seconds(to_local(tz, due)?);
    let wall = due_local
        .date()
        .and_time(whole_seconds(to_local(tz, anchor)?).time());
    Some(if to_instant(tz, wall) == Some(due) {
        wall
    } else {
        due_local
    })
}

/// The RRULE value (without the `RRULE:` name) for a series anchored at `anchor` whose pending
/// occurrence is due at `due`, number `occurrence` in the series, in `tz`; `None` when the series has no
/// occurrence left to describe (the pending one is then its own, single event).
pub(crate) fn feed_rule(
    recurrence: &Recurrence,
    anchor: DateTime<Utc>,
    due: DateTime<Utc>,
    occurrence: u32,
    tz: Tz,
) -> Option<String> {
    let anchor_local = whole_seconds(to_local(tz, anchor)?);
    let restarted = anchor != due;
    match recurrence {
        Recurrence::Daily => Some("FREQ=DAILY".to_owned()),
        Recurrence::Weekly => Some("FREQ=WEEKLY".to_owned()),
        Recurrence::Monthly => Some(monthly_preset(anchor_local)),
        Recurrence::Rule(rule) => {
            let mut parts = rule.parts().clone();
            if restarted {
                parts = parts.with_start_defaults(anchor_local);
            }
            if let Some(count) = parts.count {
                match rule.anchor() {
                    Anchor::Due if restarted => {
                        let last_index = usize::try_from(count).ok()?.checked_sub(1)?;
                        let last = recurrence.occurrences(anchor, tz).nth(last_index)?;
                        if last < due {
                            return None;
                        }
                        parts.count = None;
                        parts.until = Some(last);
                    }
                    Anchor::Due => {}
                    Anchor::Completion => {
                        // Each completion restarts the rule; COUNT bounds the occurrences of the series.
                        let left = count.checked_sub(occurrence)?.checked_add(1)?;
                        parts.count = Some(left);
                    }
                }
            }
            Some(parts.to_string())
        }
    }
}

/// The monthly preset from `anchor`: its day of month, clamped to the month's last day.
fn monthly_preset(anchor: NaiveDateTime) -> String {
    let day = anchor.day();
    if day <= 28 {
        format!("FREQ=MONTHLY;BYMONTHDAY={day}")
    } else {
        let days: Vec<String> = (28..=day).map(|d| d.to_string()).collect();
        format!("FREQ=MONTHLY;BYMONTHDAY={};BYSETPOS=-1", days.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recurrence::{CustomRule, Occurrences};
    use chrono::TimeZone;
    use chrono_tz::Europe::Paris;

    fn paris(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Paris
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .expect("an unambiguous test time")
            .with_timezone(&Utc)
    }

    fn rule(text: &str, anchor: Anchor) -> Recurrence {
        Recurrence::Rule(CustomRule::parse(text, anchor).expect("a valid test rule"))
    }

    #[test]
    fn presets_are_plain_frequencies() {
        let at = paris(2027, 3, 21, 9, 0);
        assert_eq!(
            feed_rule(&Recurrence::Daily, at, at, 1, Paris).as_deref(),
            Some("FREQ=DAILY")
        );
        assert_eq!(
            feed_rule(&Recurrence::Weekly, at, at, 1, Paris).as_deref(),
            Some("FREQ=WEEKLY")
        );
        assert_eq!(
            feed_rule(&Recurrence::Monthly, at, at, 1, Paris).as_deref(),
            Some("FREQ=MONTHLY;BYMONTHDAY=21")
        );
    }

    #[test]
    fn the_monthly_preset_on_the_31st_takes_the_last_day_of_short_months() {
        let at = paris(2027, 1, 31, 9, 0);
        assert_eq!(
            feed_rule(&Recurrence::Monthly, at, at, 1, Paris).as_deref(),
            Some("FREQ=MONTHLY;BYMONTHDAY=28,29,30,31;BYSETPOS=-1")
        );
        // Restarted at the clamped Feb 28, the rule still returns to the 31st.
        let feb = paris(2027, 2, 28, 9, 0);
        assert_eq!(
            feed_rule(&Recurrence::Monthly, at, feb, 2, Paris).as_deref(),
            Some("FREQ=MONTHLY;BYMONTHDAY=28,29,30,31;BYSETPOS=-1")
        );
    }

    #[test]
    fn a_fresh_custom_rule_is_written_as_stored() {
        let at = paris(2027, 3, 1, 9, 0);
        let r = rule("FREQ=WEEKLY;BYDAY=MO,WE;INTERVAL=2;COUNT=5", Anchor::Due);
        assert_eq!(
            feed_rule(&r, at, at, 1, Paris).as_deref(),
            Some("FREQ=WEEKLY;INTERVAL=2;COUNT=5;BYDAY=MO,WE")
        );
    }

    #[test]
    fn a_later_occurrence_writes_out_the_anchor_parts_and_turns_count_into_until() {
        let anchor = paris(2027, 3, 1, 9, 0); // Monday
        let due = paris(2027, 3, 8, 9, 0);
        let r = rule("FREQ=WEEKLY;COUNT=3", Anchor::Due);
        // The third occurrence is Mar 15, 09:00 CET = 08:00Z.
        assert_eq!(
            feed_rule(&r, anchor, due, 2, Paris).as_deref(),
            Some("FREQ=WEEKLY;UNTIL=20270315T080000Z;BYDAY=MO;BYHOUR=9;BYMINUTE=0;BYSECOND=0")
        );
    }

    #[test]
    fn a_series_past_its_count_has_no_rule() {
        let anchor = paris(2027, 3, 1, 9, 0);
        let due = paris(2027, 3, 22, 9, 0);
        let r = rule("FREQ=WEEKLY;COUNT=3", Anchor::Due);
        assert_eq!(feed_rule(&r, anchor, due, 4, Paris), None);
    }

    #[test]
    fn a_completion_anchored_count_keeps_the_occurrences_left() {
        let anchor = paris(2027, 3, 1, 9, 0);
        let due = paris(2027, 3, 4, 9, 0);
        let r = rule("FREQ=DAILY;INTERVAL=3;COUNT=5", Anchor::Completion);
        assert_eq!(
            feed_rule(&r, anchor, due, 2, Paris).as_deref(),
            Some("FREQ=DAILY;INTERVAL=3;COUNT=4;BYHOUR=9;BYMINUTE=0;BYSECOND=0")
        );
    }

    /// What a calendar client computes: the feed rule expanded from DTSTART = the pending occurrence
    /// (by our engine, which follows RFC 5545 as python-dateutil does).
    fn client_expansion(
        rule: &str,
        anchor: DateTime<Utc>,
        due: DateTime<Utc>,
        n: usize,
    ) -> Vec<DateTime<Utc>> {
        let parsed = CustomRule::parse(rule, Anchor::Due).expect("the feed writes a valid rule");
        let start = series_start(anchor, due, Paris).expect("a start");
        Occurrences::new(&Recurrence::Rule(parsed), start, Paris)
            .take(n)
            .collect()
    }

    #[test]
    fn from_any_pending_occurrence_the_feed_rule_gives_the_series_rest() {
        let rules = [
            Recurrence::Daily,
            Recurrence::Weekly,
            Recurrence::Monthly,
            rule("FREQ=MONTHLY;BYMONTHDAY=-1", Anchor::Due),
            rule("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;COUNT=7", Anchor::Due),
            rule("FREQ=MONTHLY;BYDAY=-1FR", Anchor::Due),
            rule("FREQ=YEARLY;COUNT=4", Anchor::Due),
            rule("FREQ=DAILY;INTERVAL=3;BYHOUR=9,17", Anchor::Due),
        ];
        for anchor in [
            paris(2027, 1, 31, 9, 0),
            paris(2027, 3, 26, 2, 30),
            paris(2027, 10, 29, 2, 30),
        ] {
            for recurrence in &rules {
                let series: Vec<_> = recurrence.occurrences(anchor, Paris).take(40).collect();
                for (k, due) in series.iter().enumerate().take(8) {
                    let occurrence = u32::try_from(k + 1).expect("small");
                    let rest = &series[k..];
                    match feed_rule(recurrence, anchor, *due, occurrence, Paris) {
                        Some(text) => assert_eq!(
                            client_expansion(&text, anchor, *due, rest.len()),
                            rest,
                            "{recurrence:?} from {anchor} at occurrence {occurrence}: {text}"
                        ),
                        None => assert_eq!(rest.len(), 1, "{recurrence:?} lost occurrences"),
                    }
                }
            }
        }
    }
}
