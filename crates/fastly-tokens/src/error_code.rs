//! The `code` Fastly answers a failed token creation with, typed.

use crate::types;

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

impl types::ErrorBody {
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
