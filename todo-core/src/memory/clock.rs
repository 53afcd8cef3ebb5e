//! A clock the test moves by hand and an id generator that counts: the two sources of non-determinism,
//! fixed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use uuid::Uuid;

use super::lock;
use crate::ports::{Clock, IdGenerator};

/// A [`Clock`] that stands still until it is set or advanced.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    /// A clock showing `start` (truncated to microseconds, like every [`Clock`]).
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(start.trunc_subsecs(6)),
        }
    }

    /// Sets the time (backwards too).
    pub fn set(&self, now: DateTime<Utc>) {
        *lock(&self.now) = now.trunc_subsecs(6);
    }

    /// Moves the time forward by `by` (backwards if negative) and returns the new time.
    pub fn advance(&self, by: Duration) -> DateTime<Utc> {
        let mut now = lock(&self.now);
        *now = (*now + by).trunc_subsecs(6);
        *now
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *lock(&self.now)
    }
}

/// An [`IdGenerator`] producing UUID v7s from a counter: `1`, `2`, … as the millisecond timestamp, so
/// ids are valid, unique, ordered and the same on every run.
#[derive(Debug, Default)]
pub struct SequentialIds {
    issued: AtomicU64,
}

impl SequentialIds {
    /// Starts counting at 1.
    pub fn new() -> Self {
        Self::default()
    }

    /// The id the `n`-th call (1-based) returns, for asserting on ids without holding the generator.
    pub fn nth(n: u64) -> Uuid {
        uuid::Builder::from_unix_timestamp_millis(n, &[0; 10]).into_uuid()
    }

    /// How many ids were handed out so far.
    pub fn issued(&self) -> u64 {
        self.issued.load(Ordering::SeqCst)
    }
}

impl IdGenerator for SequentialIds {
    fn new_uuid(&self) -> Uuid {
        Self::nth(self.issued.fetch_add(1, Ordering::SeqCst) + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start = DateTime::parse_from_rfc3339("2026-03-08T09:00:00.123456789Z")
            .unwrap()
            .to_utc();
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), start.trunc_subsecs(6));
        assert_eq!(clock.now(), clock.now());
        let later = clock.advance(Duration::minutes(90));
        assert_eq!(later, start.trunc_subsecs(6) + Duration::minutes(90));
        assert_eq!(clock.now(), later);
        clock.set(start - Duration::days(1));
        assert_eq!(clock.now(), (start - Duration::days(1)).trunc_subsecs(6));
    }

    #[test]
    fn sequential_ids_are_ordered_v7_uuids_that_repeat_across_runs() {
        let ids = SequentialIds::new();
        let first: Vec<Uuid> = (0..3).map(|_| ids.new_uuid()).collect();
        assert_eq!(
            first,
            vec![
                SequentialIds::nth(1),
                SequentialIds::nth(2),
                SequentialIds::nth(3)
            ]
        );
        assert!(first.windows(2).all(|w| w[0] < w[1]));
        assert!(first.iter().all(|id| id.get_version_num() == 7));
        assert_eq!(ids.issued(), 3);
        assert_eq!(SequentialIds::new().new_uuid(), first[0]);
    }
}
