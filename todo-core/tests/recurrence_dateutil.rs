//! Differential test: custom RRULEs against python-dateutil, the reference implementation of RFC 5545
//! recurrence that the SPEC names.
//!
//! A few hundred random but valid rules (FREQ DAILY/WEEKLY/MONTHLY/YEARLY/HOURLY with INTERVAL, BYDAY with
//! ordinals, BYMONTHDAY with 29–31 and negatives, BYMONTH, BYYEARDAY, BYWEEKNO, BYSETPOS, BYHOUR/BYMINUTE,
//! WKST, COUNT, UNTIL) with series starts in several zones are run through [`Recurrence::occurrences`] and
//! through `tests/dateutil/rrule_oracle.py`, and their first occurrences compared as UTC instants. For
//! each, [`next_occurrence`] (whose search restarts near the completion rather than at the series start)
//! is checked against the first of dateutil's occurrences after a random completion.
//!
//! Needs `python3` with `pip install python-dateutil tzdata`; without them the test fails and says so.
//!
//! Known and deliberate limits of the comparison:
//! - Series starts are instants, as in the product, so a start never falls in a DST gap; rule-generated
//!   times do (BYHOUR=2 on a spring-forward day), and both sides read them with the pre-transition offset.
//! - Occurrences from 2090 on are not compared: chrono-tz tabulates DST transitions only up to about 2100
//!   while Python's zoneinfo extends the rules indefinitely, and the two would differ there for tz data,
//!   not for recurrence reasons.
//! - Rules that occur more rarely than once in 100 000 periods are not generated: the `rrule` crate stops
//!   searching there, dateutil searches up to year 9999.

use std::io::Write as _;
use std::process::{Command, Stdio};

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use todo_core::recurrence::{next_occurrence, Anchor, CompletedOccurrence, CustomRule, Recurrence};

const RULES: usize = 400;
const OCCURRENCES: usize = 16;
const ZONES: [Tz; 10] = [
    Tz::America__New_York,
    Tz::America__Havana, // DST changes at midnight
    Tz::Europe__London,
    Tz::Europe__Berlin,
    Tz::Australia__Lord_Howe,
    Tz::Australia__Sydney,
    Tz::Pacific__Chatham,
    Tz::America__St_Johns,
    Tz::Asia__Kolkata,
    Tz::UTC,
];

/// One generated case: the rule, its series start and what completing one of its occurrences looks like.
struct Case {
    /// The rule as generated: what dateutil parses (not our normalised form, so a part our parser
    /// dropped or misread shows up as a difference).
    text: String,
    rule: CustomRule,
    tz: Tz,
    start: DateTime<Utc>,
    /// Which occurrence (0-based) is completed, and how long after its due date.
    completed_index: usize,
    completion_delay: TimeDelta,
}

fn pick<T: Copy>(rng: &mut StdRng, items: &[T]) -> T {
    *items.choose(rng).expect("a non-empty list")
}

fn some<T: Copy + Ord>(rng: &mut StdRng, items: &[T], max: usize) -> Vec<T> {
    let n = rng.gen_range(1..=max);
    let mut chosen: Vec<T> = items.choose_multiple(rng, n).copied().collect();
    chosen.sort_unstable();
    chosen
}

fn list<T: ToString>(values: &[T]) -> String {
    values
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

const DAYS: [&str; 7] = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];

/// A random rule text; it may still be refused by `CustomRule::parse` (then another is drawn).
fn rule_text(rng: &mut StdRng, start: DateTime<Utc>) -> String {
    let freq = pick(
        rng,
        &[
            "DAILY", "WEEKLY", "MONTHLY", "MONTHLY", "YEARLY", "YEARLY", "HOURLY",
        ],
    );
    let mut parts = vec![format!("FREQ={freq}")];
    if rng.gen_bool(0.4) {
        let max = if freq == "YEARLY" { 3 } else { 4 };
        parts.push(format!("INTERVAL={}", rng.gen_range(2..=max)));
    }
    match rng.gen_range(0..4) {
        0 => parts.push(format!("COUNT={}", rng.gen_range(1..=20))),
        1 => {
            let until = start + TimeDelta::minutes(rng.gen_range(0..=60 * 24 * 600));
            parts.push(format!("UNTIL={}", until.format("%Y%m%dT%H%M%SZ")));
        }
        _ => {}
    }
    let mut by_day_or_month_day = false;
    if matches!(freq, "MONTHLY" | "YEARLY") && rng.gen_bool(0.4) {
        // Plain and ordinal weekdays are not mixed: `CustomRule::parse` refuses that (see its docs).
        let ordinals = [1, 2, 3, 4, -1, -2, 5];
        let with_ordinals = rng.gen_bool(0.7);
        let days: Vec<String> = (0..rng.gen_range(1..=2))
            .map(|_| {
                let day = pick(rng, &DAYS);
                if with_ordinals {
                    format!("{}{day}", pick(rng, &ordinals))
                } else {
                    day.to_owned()
                }
            })
            .collect();
        parts.push(format!("BYDAY={}", days.join(",")));
        by_day_or_month_day = true;
    } else if freq != "YEARLY" && rng.gen_bool(0.4) {
        parts.push(format!("BYDAY={}", some(rng, &DAYS, 3).join(",")));
        by_day_or_month_day = true;
    }
    if freq != "WEEKLY" && rng.gen_bool(0.35) {
        let days = [1, 2, 10, 15, 28, 29, 30, 31, -1, -2, -3, -31];
        parts.push(format!("BYMONTHDAY={}", list(&some(rng, &days, 3))));
        by_day_or_month_day = true;
    }
    if rng.gen_bool(0.3) {
        parts.push(format!(
            "BYMONTH={}",
            list(&some(rng, &(1..=12).collect::<Vec<_>>(), 3))
        ));
    }
    if freq == "YEARLY" && !by_day_or_month_day {
        match rng.gen_range(0..6) {
            0 => parts.push(format!(
                "BYYEARDAY={}",
                list(&some(rng, &[1, 59, 60, 100, 365, 366, -1], 2))
            )),
            1 => parts.push(format!(
                "BYWEEKNO={};BYDAY={}",
                list(&some(rng, &[1, 2, 20, 52, 53, -1], 2)),
                pick(rng, &DAYS)
            )),
            _ => {}
        }
    }
    if by_day_or_month_day && rng.gen_bool(0.3) {
        parts.push(format!("BYSETPOS={}", list(&some(rng, &[1, 2, -1, -2], 2))));
    }
    if freq != "HOURLY" && rng.gen_bool(0.3) {
        // Hours around DST transitions (0–3) are over-represented on purpose.
        parts.push(format!(
            "BYHOUR={}",
            list(&some(rng, &[0, 1, 2, 3, 9, 17, 23], 2))
        ));
    }
    if rng.gen_bool(0.25) {
        parts.push(format!(
            "BYMINUTE={}",
            list(&some(rng, &[0, 15, 30, 45], 2))
        ));
    }
    if rng.gen_bool(0.15) {
        parts.push(format!("WKST={}", pick(rng, &DAYS)));
    }
    parts.shuffle(rng);
    parts.join(";")
}

/// A series start: an instant in 2024–2030, its local time biased towards DST transitions.
fn series_start(rng: &mut StdRng, tz: Tz) -> DateTime<Utc> {
    loop {
        let year = rng.gen_range(2024..=2030);
        let month = pick(rng, &[1, 2, 3, 3, 4, 5, 9, 10, 10, 11, 12]);
        let day = rng.gen_range(1..=31);
        let hour = pick(rng, &[0, 1, 2, 2, 3, 9, 12, 23]);
        let minute = pick(rng, &[0, 0, 17, 30, 45]);
        let second = pick(rng, &[0, 0, 0, 59]);
        let local = NaiveDate::from_ymd_opt(year, month, day)
            .and_then(|d| d.and_hms_opt(hour, minute, second));
        // A start is an instant, so its local time exists: skip dates that do not and times in a gap.
        if let Some(at) = local.and_then(|l| tz.from_local_datetime(&l).earliest()) {
            return at.with_timezone(&Utc);
        }
    }
}

/// `RULES` cases, and the generated rules our parser refused on the way (with its reasons).
fn generate(seed: u64) -> (Vec<Case>, Vec<String>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut cases = Vec::with_capacity(RULES);
    let mut refused = Vec::new();
    while cases.len() < RULES {
        let tz = pick(&mut rng, &ZONES);
        let start = series_start(&mut rng, tz);
        let text = rule_text(&mut rng, start);
        let rule = match CustomRule::parse(&text, Anchor::Due) {
            Ok(rule) => rule,
            Err(error) => {
                refused.push(format!("{text}: {error}"));
                continue;
            }
        };
        let completion_delay = match rng.gen_range(0..4) {
            0 => TimeDelta::zero(),
            1 => TimeDelta::minutes(1),
            2 => TimeDelta::minutes(rng.gen_range(1..=60 * 24 * 3)),
            _ => TimeDelta::minutes(rng.gen_range(1..=60 * 24 * 400)),
        };
        cases.push(Case {
            text,
            rule,
            tz,
            start,
            completed_index: rng.gen_range(0..OCCURRENCES),
            completion_delay,
        });
    }
    (cases, refused)
}

/// Runs the oracle script on the cases; fails the test (never skips it) when Python or dateutil is missing.
fn dateutil(cases: &[Case]) -> Vec<Value> {
    let input: Vec<Value> = cases
        .iter()
        .map(|case| {
            json!({
                "rule": case.text,
                "dtstart": case.start.with_timezone(&case.tz).naive_local().format("%Y-%m-%dT%H:%M:%S").to_string(),
                "tz": case.tz.name(),
                "n": OCCURRENCES,
            })
        })
        .collect();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/dateutil/rrule_oracle.py"
    );
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run python3 ({e}): install Python 3, then `pip install python-dateutil tzdata`")
        });
    let mut stdin = child.stdin.take().expect("stdin is piped");
    stdin
        .write_all(Value::Array(input).to_string().as_bytes())
        .expect("the oracle reads its input");
    drop(stdin);
    let output = child.wait_with_output().expect("the oracle runs");
    assert!(
        output.status.success(),
        "the dateutil oracle failed ({}); `pip install python-dateutil tzdata` if it is missing:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    match serde_json::from_slice(&output.stdout).expect("the oracle writes JSON") {
        Value::Array(results) => results,
        other => panic!("the oracle wrote {other}"),
    }
}

fn cutoff() -> i64 {
    Utc.with_ymd_and_hms(2090, 1, 1, 0, 0, 0)
        .unwrap()
        .timestamp()
}

#[test]
fn custom_rules_match_python_dateutil() {
    let seed = std::env::var("RECURRENCE_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5545);
    let (cases, refused) = generate(seed);
    // The generator writes valid RFC 5545 rules. Our parser may refuse one only as a rule that never
    // occurs (an impossible combination such as BYDAY=1SA with BYMONTHDAY=31, or BYSETPOS=2 in a
    // daily set of one): a refusal for any other reason means it cannot read what users write.
    let misread: Vec<&String> = refused
        .iter()
        .filter(|r| !r.contains("never produces an occurrence"))
        .collect();
    assert!(
        misread.is_empty(),
        "our parser refused valid generated rules (seed {seed}):\n{misread:#?}"
    );
    assert!(
        refused.len() * 10 < RULES,
        "our parser refused {} generated rules for {RULES} accepted (seed {seed}):\n{}",
        refused.len(),
        refused.join("\n")
    );
    let expected = dateutil(&cases);
    assert_eq!(expected.len(), cases.len());
    let mut failures = Vec::new();
    let mut next_checks = 0;
    for (case, oracle) in cases.iter().zip(&expected) {
        let describe = || {
            format!(
                "{} (ours: {}) from {} ({}, local {})",
                case.text,
                case.rule.rrule(),
                case.start,
                case.tz,
                case.start.with_timezone(&case.tz).naive_local()
            )
        };
        let Some(utc) = oracle.get("utc").and_then(Value::as_array) else {
            failures.push(format!("{}: dateutil refused it: {}", describe(), oracle));
            continue;
        };
        let theirs: Vec<i64> = utc.iter().filter_map(Value::as_i64).collect();
        let recurrence = Recurrence::Rule(case.rule.clone());
        let ours: Vec<i64> = recurrence
            .occurrences(case.start, case.tz)
            .take(OCCURRENCES)
            .map(|at| at.timestamp())
            .collect();
        let comparable = |all: &[i64]| {
            all.iter()
                .copied()
                .filter(|t| *t < cutoff())
                .collect::<Vec<_>>()
        };
        if comparable(&ours) != comparable(&theirs) {
            failures.push(format!(
                "{}:\n  ours     {:?}\n  dateutil {:?} (local {})",
                describe(),
                ours.iter()
                    .map(|t| DateTime::from_timestamp(*t, 0).unwrap_or_default())
                    .collect::<Vec<_>>(),
                theirs
                    .iter()
                    .map(|t| DateTime::from_timestamp(*t, 0).unwrap_or_default())
                    .collect::<Vec<_>>(),
                oracle.get("local").unwrap_or(&Value::Null)
            ));
            continue;
        }

        // next_occurrence after completing one of them, against the first later one in dateutil's list.
        let Some(&due) = theirs.get(case.completed_index) else {
            continue;
        };
        let due = DateTime::from_timestamp(due, 0).expect("a valid instant");
        let completed_at = due + case.completion_delay;
        let after = due.max(completed_at).timestamp();
        let expected_next = match theirs.iter().find(|t| **t > after) {
            Some(t) if *t < cutoff() => Some(*t),
            Some(_) => continue,
            None if theirs.len() < OCCURRENCES => None, // the series ended (COUNT, UNTIL)
            None => continue,                           // beyond what the oracle computed
        };
        let completed = CompletedOccurrence {
            due: Some(due),
            completed_at,
            series_anchor: Some(case.start),
            occurrence: u32::try_from(case.completed_index + 1).expect("small"),
            timezone: case.tz,
        };
        let next = next_occurrence(&recurrence, &completed);
        next_checks += 1;
        if next.map(|n| n.due.timestamp()) != expected_next {
            failures.push(format!(
                "{}: completing occurrence {} (due {due}) at {completed_at}: ours {:?}, dateutil {:?}",
                describe(),
                case.completed_index + 1,
                next.map(|n| n.due),
                expected_next.and_then(|t| DateTime::from_timestamp(t, 0))
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rules differ from python-dateutil (seed {seed}):\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert!(
        next_checks > RULES / 2,
        "only {next_checks} next_occurrence checks ran"
    );
    println!(
        "{} rules and {next_checks} next occurrences match python-dateutil (seed {seed}); \
         {} generated rules refused",
        cases.len(),
        refused.len()
    );
}
