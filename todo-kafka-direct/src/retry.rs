//! How long the consumer runner waits before handing a message to the handler again.

use std::time::Duration;

/// Exponential backoff with jitter for [`HandleError::Retry`](todo_core::ports::HandleError),
/// bounded in attempts so that one failing message cannot hold its partition forever.
///
/// While the runner retries it does not poll Kafka, so the worst-case total wait must stay well
/// under the consumer's `max.poll.interval.ms` (300 s by default), or the broker would consider
/// the consumer dead and hand its partitions to another member; [`RetryPolicy::validate`] checks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay before the second attempt.
    pub initial_backoff: Duration,
    /// Longest delay between two attempts.
    pub max_backoff: Duration,
    /// Attempts in total (the first included); after the last the message is dead-lettered.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    /// 8 attempts, at most 22.6 s of waiting: 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 10 s (each −0..50 %).
    fn default() -> Self {
        Self {
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            max_attempts: 8,
        }
    }
}

impl RetryPolicy {
    /// The delay after failed attempt number `attempt` (1-based): doubling from
    /// `initial_backoff`, capped at `max_backoff`, scaled by `jitter` in `[0, 1]` to between half
    /// and all of it (so consumers that failed together do not retry together).
    #[must_use]
    pub fn delay(&self, attempt: u32, jitter: f64) -> Duration {
        let exponent = attempt.saturating_sub(1).min(31);
        let full = self
            .initial_backoff
            .saturating_mul(1u32 << exponent)
            .min(self.max_backoff);
        full.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
    }

    /// The longest the runner can spend retrying one message (sum of the full delays).
    #[must_use]
    pub fn worst_case_wait(&self) -> Duration {
        (1..self.max_attempts.max(1))
            .map(|attempt| self.delay(attempt, 1.0))
            .sum()
    }

    /// Checks the policy can work: at least one attempt, and retries of one message finish
    /// within `max_poll_interval`.
    pub fn validate(&self, max_poll_interval: Duration) -> Result<(), RetryPolicyError> {
        if self.max_attempts == 0 {
            return Err(RetryPolicyError::NoAttempts);
        }
        let wait = self.worst_case_wait();
        if wait >= max_poll_interval {
            return Err(RetryPolicyError::OutlastsPollInterval {
                wait,
                max_poll_interval,
            });
        }
        Ok(())
    }
}

/// Why a [`RetryPolicy`] cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RetryPolicyError {
    /// `max_attempts` is 0.
    #[error("max_attempts must be at least 1")]
    NoAttempts,
    /// Retrying one message could keep the consumer from polling long enough to be evicted.
    #[error(
        "retrying one message may take {wait:?}, not less than max.poll.interval.ms \
         ({max_poll_interval:?}): the consumer would be evicted from its group"
    )]
    OutlastsPollInterval {
        /// The longest the retries of one message may take.
        wait: Duration,
        /// The consumer's `max.poll.interval.ms`.
        max_poll_interval: Duration,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_are_capped_and_jittered_down_to_half() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay(1, 1.0), Duration::from_millis(200));
        assert_eq!(policy.delay(2, 1.0), Duration::from_millis(400));
        assert_eq!(policy.delay(1, 0.0), Duration::from_millis(100));
        assert_eq!(policy.delay(7, 1.0), Duration::from_secs(10));
        assert_eq!(policy.delay(u32::MAX, 1.0), Duration::from_secs(10));
    }

    #[test]
    fn the_default_policy_fits_in_the_default_poll_interval() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.worst_case_wait(), Duration::from_millis(22_600));
        assert!(policy.validate(Duration::from_secs(300)).is_ok());
    }

    #[test]
    fn a_policy_that_outlasts_the_poll_interval_is_rejected() {
        let policy = RetryPolicy {
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            max_attempts: 20,
        };
        assert!(policy.validate(Duration::from_secs(300)).is_err());
        let none = RetryPolicy {
            max_attempts: 0,
            ..RetryPolicy::default()
        };
        assert!(none.validate(Duration::from_secs(300)).is_err());
    }
}
