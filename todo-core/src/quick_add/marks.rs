//! The marks of a task that are not about time: priority (`!high`, `p1`), tags (`#home`) and the
//! reminder's lead time (`remind 30m before`).

use crate::model::Priority;

use super::words::number;

/// `!high`, `!medium`, `!low`, `!1`, `!2`, `!3`, `p1`, `p2`, `p3`.
pub(crate) fn priority(keys: &[&str]) -> Option<(usize, Priority)> {
    let priority = match *keys.first()? {
        "!high" | "!1" | "p1" => Priority::High,
        "!medium" | "!2" | "p2" => Priority::Medium,
        "!low" | "!3" | "p3" => Priority::Low,
        _ => return None,
    };
    Some((1, priority))
}

/// `#home` → `home` (lower case; the task's own rules validate it).
pub(crate) fn tag(word: &str) -> Option<String> {
    word.strip_prefix('#')
        .filter(|tag| !tag.is_empty())
        .map(str::to_lowercase)
}

/// `remind 30m before`, `remind me 2h before`, `remind 1 day before`: minutes, saturating when huge.
pub(crate) fn reminder(keys: &[&str]) -> Option<(usize, u64)> {
    let rest = match keys {
        ["remind", "me", rest @ ..] => rest,
        ["remind", rest @ ..] => rest,
        _ => return None,
    };
    let (minutes, amount_words) = match rest {
        [amount, unit, "before", ..] => (number(amount)?.saturating_mul(unit_minutes(unit)?), 2),
        [amount, "before", ..] => (glued_amount(amount)?, 1),
        _ => return None,
    };
    Some((keys.len() - rest.len() + amount_words + 1, minutes))
}

/// `30m`, `2h`, `1d`, `90min`.
fn glued_amount(word: &str) -> Option<u64> {
    let digits = word.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &word[digits.len()..];
    Some(number(digits)?.saturating_mul(unit_minutes(unit)?))
}

fn unit_minutes(unit: &str) -> Option<u64> {
    Some(match unit {
        "m" | "min" | "mins" | "minute" | "minutes" => 1,
        "h" | "hr" | "hrs" | "hour" | "hours" => 60,
        "d" | "day" | "days" => 24 * 60,
        "w" | "week" | "weeks" => 7 * 24 * 60,
        _ => return None,
    })
}

/// The reminder phrase for `minutes`, in the largest unit that divides it exactly.
pub(crate) fn reminder_text(minutes: i64) -> String {
    let (amount, unit) = match minutes {
        0 => (0, "m"),
        m if m % (24 * 60) == 0 => (m / (24 * 60), "d"),
        m if m % 60 == 0 => (m / 60, "h"),
        m => (m, "m"),
    };
    format!("remind {amount}{unit} before")
}
