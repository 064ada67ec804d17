//! Fastly's rate-limit headers, readable from any answer. Malformed values give `None`
//! (the official Rust client panics on them).

use reqwest::header::HeaderMap;

/// `Fastly-RateLimit-Remaining` and `Fastly-RateLimit-Reset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimit {
    /// Non-read requests left in the current hour.
    pub remaining: Option<u64>,
    /// When the window resets, in UTC epoch seconds.
    pub reset: Option<u64>,
}

impl RateLimit {
    /// The headers of an answer (`ResponseValue::headers`, `Error::headers`); `None`
    /// when neither is present and valid.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let number = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<u64>().ok();
        let limit = RateLimit {
            remaining: number("fastly-ratelimit-remaining"),
            reset: number("fastly-ratelimit-reset"),
        };
        (limit.remaining.is_some() || limit.reset.is_some()).then_some(limit)
    }
}
