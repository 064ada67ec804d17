//! The cache's policy: when a token is due for refresh, and how long to wait after a
//! failed load. The mechanism (`cache.rs`) asks; nothing here runs a load.

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::token::{Expiry, Token};

/// When and how a [`CachedTokenSource`](crate::CachedTokenSource) refreshes.
///
/// A token is due for refresh `refresh_before` (less up to `jitter`) ahead of its
/// expiry; a token whose whole life is shorter than that is due at half its life. A
/// token just loaded is never due before half of what it has left, so that a server
/// handing out short or old tokens causes no load per call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefreshPolicy {
    /// Refresh this long before expiry (the lead).
    pub refresh_before: Duration,
    /// Refresh up to this much earlier still, at random, so that many clients started
    /// together do not refresh together.
    pub jitter: Duration,
    /// The longest one load may take; a slower one fails with `ErrorKind::Timeout` for
    /// every caller waiting on it.
    pub load_timeout: Duration,
    /// The wait after a failed load, doubling with each failure in a row.
    pub initial_backoff: Duration,
    /// The longest wait between failed loads.
    pub max_backoff: Duration,
    /// When to replace a token whose expiry is unknown ([`Expiry::Unknown`]); such a
    /// token is served for at most twice this, also while its replacement fails.
    pub unknown_expiry_refresh: Duration,
    /// While loads keep failing, a `WARN` event once the cached token expires within
    /// this (`DEBUG` before).
    pub warn_before: Duration,
}

impl RefreshPolicy {
    /// Refresh `refresh_before` ahead of expiry, with a tenth of that as jitter, a
    /// 30-second load timeout, a backoff from 1 s to 30 s, tokens of unknown expiry
    /// replaced after 5 minutes, and a warning while loads fail within 5 minutes of
    /// expiry.
    pub const fn new(refresh_before: Duration) -> Self {
        RefreshPolicy {
            refresh_before,
            jitter: Duration::from_nanos((refresh_before.as_nanos() / 10) as u64),
            load_timeout: Duration::from_secs(30),
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            unknown_expiry_refresh: Duration::from_secs(300),
            warn_before: Duration::from_secs(300),
        }
    }

    /// The same, warning once the token expires within `before` while loads fail.
    pub const fn warn_before(mut self, before: Duration) -> Self {
        self.warn_before = before;
        self
    }

    /// The same, with another jitter.
    pub const fn jitter(mut self, jitter: Duration) -> Self {
        self.jitter = jitter;
        self
    }

    /// The same, with another load timeout.
    pub const fn load_timeout(mut self, timeout: Duration) -> Self {
        self.load_timeout = timeout;
        self
    }

    /// The same, with other backoff bounds.
    pub const fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max;
        self
    }

    /// The same, replacing tokens of unknown expiry after `after`.
    pub const fn unknown_expiry_refresh(mut self, after: Duration) -> Self {
        self.unknown_expiry_refresh = after;
        self
    }

    /// The wait after `failures` failed loads in a row (1 for the first).
    pub(super) fn backoff_after(&self, failures: u32) -> Duration {
        crate::retry::exponential_backoff(self.initial_backoff, failures.saturating_sub(1), self.max_backoff)
    }

    /// When `token` expires and when it is due, on tokio's clock, as of `now` (and
    /// `wall`, the same instant on the system clock). `loaded`: it has just arrived
    /// from a load (see the type's documentation).
    pub(super) fn schedule(&self, token: &Token, now: Instant, wall: SystemTime, loaded: bool) -> Schedule {
        let expires_at = match token.expiry() {
            Expiry::Never => return Schedule::default(),
            // Replaced after `unknown_expiry_refresh`, and served no longer than twice
            // that: while replacements fail, a token whose end nobody knows is not kept.
            // An interval beyond what the clock can hold is "never" (as an expiry is,
            // below), not "now": the token is not expired on arrival.
            Expiry::Unknown => {
                return Schedule {
                    expires_at: now.checked_add(self.unknown_expiry_refresh.saturating_mul(2)),
                    refresh_at: now.checked_add(self.unknown_expiry_refresh),
                };
            }
            Expiry::At(at) => at,
        };
        let left = expires_at.duration_since(wall).unwrap_or(Duration::ZERO);
        // An expiry beyond what the clock can hold (a hostile or odd answer) is none.
        let Some(expires) = now.checked_add(left) else {
            return Schedule::default();
        };
        let life = token.lifetime().unwrap_or(left);
        let lead = self.refresh_before.saturating_add(jitter(self.jitter));
        let before_expiry = if life <= lead { life / 2 } else { lead };
        let mut refresh = expires.checked_sub(before_expiry).unwrap_or(now).max(now);
        if loaded {
            refresh = refresh.max(now + left / 2);
        }
        Schedule {
            expires_at: Some(expires),
            refresh_at: Some(refresh),
        }
    }
}

impl Default for RefreshPolicy {
    /// Five minutes ahead, as aws-sdk refreshes credentials.
    fn default() -> Self {
        RefreshPolicy::new(Duration::from_secs(300))
    }
}

/// A token's times on tokio's clock: `None` for never.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Schedule {
    pub expires_at: Option<Instant>,
    pub refresh_at: Option<Instant>,
}

/// A random duration up to `max`, from std's randomly keyed hasher (no `rand` needed for
/// spreading refreshes).
fn jitter(max: Duration) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    if max.is_zero() {
        return Duration::ZERO;
    }
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0);
    let fraction = (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64;
    max.mul_f64(fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    fn policy(lead: Duration) -> RefreshPolicy {
        RefreshPolicy::new(lead).jitter(Duration::ZERO)
    }

    fn due_in(schedule: Schedule, now: Instant) -> Duration {
        schedule.refresh_at.expect("due some time") - now
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_lived_token_is_due_the_lead_before_expiry() {
        let (now, wall) = (Instant::now(), SystemTime::now());
        let token = Token::new("t", Some(wall + 10 * HOUR));
        let schedule = policy(HOUR).schedule(&token, now, wall, true);
        assert_eq!(due_in(schedule, now), 9 * HOUR);
        assert_eq!(schedule.expires_at, Some(now + 10 * HOUR));
    }

    #[tokio::test(start_paused = true)]
    async fn a_token_living_less_than_the_lead_is_due_at_half_its_life() {
        let (now, wall) = (Instant::now(), SystemTime::now());
        let token = Token::new("t", Some(wall + Duration::from_secs(120)));
        assert_eq!(
            due_in(policy(HOUR).schedule(&token, now, wall, true), now),
            Duration::from_secs(60)
        );
        // Also when it is not just loaded: its whole life is what it has left.
        assert_eq!(
            due_in(policy(HOUR).schedule(&token, now, wall, false), now),
            Duration::from_secs(60)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_lived_token_near_its_end_is_due_now() {
        // A Fastly token made for 30 days with 6 h left, and a 1-day lead.
        let (now, wall) = (Instant::now(), SystemTime::now());
        let token = Token::new("t", Some(wall + 6 * HOUR)).with_issued_at(wall - 30 * 24 * HOUR + 6 * HOUR);
        let schedule = policy(24 * HOUR).schedule(&token, now, wall, false);
        assert_eq!(due_in(schedule, now), Duration::ZERO);
        // The same token arriving from a load is kept for half of what it has left,
        // so that a server handing it out again causes no load per call.
        let schedule = policy(24 * HOUR).schedule(&token, now, wall, true);
        assert_eq!(due_in(schedule, now), 3 * HOUR);
    }

    #[tokio::test(start_paused = true)]
    async fn unknown_expiries_are_replaced_and_never_ones_are_not() {
        let (now, wall) = (Instant::now(), SystemTime::now());
        let unknown = Token::with_expiry("t", Expiry::Unknown);
        let schedule = policy(HOUR)
            .unknown_expiry_refresh(Duration::from_secs(90))
            .schedule(&unknown, now, wall, true);
        assert_eq!(due_in(schedule, now), Duration::from_secs(90));
        assert_eq!(schedule.expires_at, Some(now + Duration::from_secs(180)));
        let never = Token::new("t", None);
        assert_eq!(policy(HOUR).schedule(&never, now, wall, true), Schedule::default());
    }

    #[tokio::test(start_paused = true)]
    async fn jitter_only_brings_the_refresh_earlier() {
        let (now, wall) = (Instant::now(), SystemTime::now());
        let token = Token::new("t", Some(wall + 10 * HOUR));
        let mut earlier = 0;
        for _ in 0..50 {
            let due = due_in(
                RefreshPolicy::new(HOUR).jitter(HOUR).schedule(&token, now, wall, true),
                now,
            );
            assert!((8 * HOUR..=9 * HOUR).contains(&due), "{due:?}");
            earlier += usize::from(due < 9 * HOUR);
        }
        // It does spread them: (almost) every draw is earlier than the lead alone.
        assert!(earlier >= 45, "{earlier} of 50");
    }

    #[test]
    fn backoff_doubles_up_to_its_bound() {
        let policy = policy(HOUR).backoff(Duration::from_secs(1), Duration::from_secs(5));
        let waits: Vec<u64> = (1..=5).map(|n| policy.backoff_after(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 5, 5]);
    }
}
