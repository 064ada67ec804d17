//! Bounded retries of answers that say "try again", only where that is safe.
//!
//! A request is sent again when the connection could not be made (nothing was sent),
//! or when an idempotent request (GET, PUT, DELETE, HEAD) got 429, 502, 503 or 504.
//! Token creation is a POST: sending it twice could mint two tokens, so it is not
//! retried on an answer.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};

/// How many times, and how long apart, a request is sent again.
///
/// ```
/// # use api_tokens_runtime::RetryPolicy;
/// # use std::time::Duration;
/// let policy = RetryPolicy::new().max_retries(4).max_wait(Duration::from_secs(2));
/// assert_eq!(policy.max_retries, 4);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Retries after the first attempt (default 2).
    pub max_retries: u32,
    /// The first wait; each next one doubles (default 100 ms).
    pub initial_backoff: Duration,
    /// The longest wait; a `Retry-After` beyond it returns the answer instead (default 10 s).
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::new()
    }
}

impl RetryPolicy {
    /// The defaults: 2 retries, waits from 100 ms doubling, none longer than 10 s.
    pub const fn new() -> Self {
        RetryPolicy {
            max_retries: 2,
            initial_backoff: Duration::from_millis(100),
            max_wait: Duration::from_secs(10),
        }
    }

    /// The same, with another number of retries (0 turns retries off).
    pub const fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// The same, with another first wait.
    pub const fn initial_backoff(mut self, wait: Duration) -> Self {
        self.initial_backoff = wait;
        self
    }

    /// The same, with another longest wait.
    pub const fn max_wait(mut self, wait: Duration) -> Self {
        self.max_wait = wait;
        self
    }

    /// Whether a `method` request may be sent again after an answer: sending it twice
    /// has the effect of sending it once.
    pub(crate) fn is_idempotent(&self, method: &Method) -> bool {
        matches!(*method, Method::GET | Method::PUT | Method::DELETE | Method::HEAD)
    }

    /// Whether an answer with `status` says "try again".
    pub(crate) fn retries_status(&self, status: StatusCode) -> bool {
        matches!(status.as_u16(), 429 | 502 | 503 | 504)
    }

    /// Whether an answer with `status` to a `method` request may be sent again.
    #[cfg(test)]
    pub(crate) fn retries_answer(&self, method: &Method, status: StatusCode) -> bool {
        self.is_idempotent(method) && self.retries_status(status)
    }

    /// How long to wait before retry number `attempt` (0-based): the server's
    /// `Retry-After` when it gives one (seconds, or an HTTP date as RFC 9110 §10.2.3
    /// allows), else exponential backoff. `None` when the server asks for longer than
    /// `max_wait`.
    pub(crate) fn wait(&self, attempt: u32, headers: Option<&HeaderMap>) -> Option<Duration> {
        let asked = headers
            .and_then(|h| h.get(RETRY_AFTER))
            .and_then(|v| v.to_str().ok())
            .and_then(retry_after);
        match asked {
            Some(wait) if wait > self.max_wait => None,
            Some(wait) => Some(wait),
            None => Some(exponential_backoff(self.initial_backoff, attempt, self.max_wait)),
        }
    }
}

/// `initial` doubled `attempt` times (0-based), and never more than `max`: the wait
/// between retries of a request, and between failed refreshes of a token.
pub(crate) fn exponential_backoff(initial: Duration, attempt: u32, max: Duration) -> Duration {
    initial.saturating_mul(1 << attempt.min(16)).min(max)
}

/// A `Retry-After` value: delay seconds, or a date (IMF-fixdate, RFC 850 or asctime)
/// from which the wait is counted; a date already past means now.
fn retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(
        date.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_idempotent_requests_retry_answers() {
        let policy = RetryPolicy::default();
        assert!(policy.retries_answer(&Method::GET, StatusCode::SERVICE_UNAVAILABLE));
        assert!(policy.retries_answer(&Method::DELETE, StatusCode::TOO_MANY_REQUESTS));
        assert!(!policy.retries_answer(&Method::POST, StatusCode::SERVICE_UNAVAILABLE));
        assert!(!policy.retries_answer(&Method::GET, StatusCode::INTERNAL_SERVER_ERROR));
    }

    #[test]
    fn waits_back_off_and_honour_retry_after() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.wait(0, None), Some(Duration::from_millis(100)));
        assert_eq!(policy.wait(2, None), Some(Duration::from_millis(400)));
        assert_eq!(policy.wait(40, None), Some(Duration::from_secs(10)));
        // Exactly the longest wait is still honoured; a second more is not.
        let asked = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(RETRY_AFTER, value.parse().expect("value"));
            policy.wait(0, Some(&headers))
        };
        assert_eq!(asked("10"), Some(Duration::from_secs(10)));
        assert_eq!(asked("11"), None);
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "3".parse().expect("value"));
        assert_eq!(policy.wait(0, Some(&headers)), Some(Duration::from_secs(3)));
        headers.insert(RETRY_AFTER, "3600".parse().expect("value"));
        assert_eq!(policy.wait(0, Some(&headers)), None);
        headers.insert(RETRY_AFTER, "soon".parse().expect("value"));
        assert_eq!(policy.wait(0, Some(&headers)), Some(Duration::from_millis(100)));
    }

    #[test]
    fn retry_after_takes_http_dates() {
        let policy = RetryPolicy::default();
        let mut headers = HeaderMap::new();
        let in_5s = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(5));
        headers.insert(RETRY_AFTER, in_5s.parse().expect("value"));
        let wait = policy.wait(0, Some(&headers)).expect("within max_wait");
        assert!(
            wait > Duration::from_secs(3) && wait <= Duration::from_secs(5),
            "{wait:?}"
        );
        // A date in the past: retry now. The obsolete forms are accepted too.
        for past in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            headers.insert(RETRY_AFTER, past.parse().expect("value"));
            assert_eq!(policy.wait(0, Some(&headers)), Some(Duration::ZERO), "{past}");
        }
        let in_1h = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(3600));
        headers.insert(RETRY_AFTER, in_1h.parse().expect("value"));
        assert_eq!(policy.wait(0, Some(&headers)), None);
    }
}
