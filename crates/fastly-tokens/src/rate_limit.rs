//! Fastly's rate-limit headers, readable from any answer. Malformed values give `None`
//! (the official Rust client panics on them).

use reqwest::header::HeaderMap;

use crate::types;

/// `Fastly-RateLimit-Remaining` and `Fastly-RateLimit-Reset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

/// The `code` of a failed token creation.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CreateErrorCode {
    /// `invalid_grant`: wrong user name or password.
    InvalidGrant,
    /// `invalid_request`: a malformed form.
    InvalidRequest,
    /// `invalid_scope`: an unknown scope.
    InvalidScope,
    /// `account_locked`.
    AccountLocked,
    /// `2fa.verify`: a one-time code is needed (`Client::with_otp`) or was wrong.
    MfaVerify,
    /// A code this crate does not know yet.
    Other(String),
}

impl types::Error {
    /// The token-creation error code, when the body has one.
    pub fn create_error_code(&self) -> Option<CreateErrorCode> {
        Some(match self.code.as_deref()? {
            "invalid_grant" => CreateErrorCode::InvalidGrant,
            "invalid_request" => CreateErrorCode::InvalidRequest,
            "invalid_scope" => CreateErrorCode::InvalidScope,
            "account_locked" => CreateErrorCode::AccountLocked,
            "2fa.verify" => CreateErrorCode::MfaVerify,
            other => CreateErrorCode::Other(other.to_owned()),
        })
    }
}
