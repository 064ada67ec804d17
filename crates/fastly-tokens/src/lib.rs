#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc = include_str!("../README.md")]

// The generated code names this crate's own hand-written types (the spec's
// `x-rust-type`) by absolute path, as typify writes them (`::fastly_tokens::...`): this
// makes that path resolve inside the crate too.
extern crate self as fastly_tokens;

#[rustfmt::skip]
#[allow(clippy::all, clippy::unwrap_used)]
mod generated;

mod token_use;

mod answers;
mod bulk;
mod error_code;
mod form;
mod header;
mod rate_limit;
mod rotation;
mod scopes;

// The runtime's error, not progenitor's (which the generated module imports as `Error`).
pub use api_tokens_runtime::{Error, Timestamp};
pub use error_code::CreateErrorCode;
pub use form::{AutomationTokenCreateRequest, TokenCreateForm};
pub use generated::*;
pub use header::{AUTH_HEADER, auth_header};
pub use rate_limit::RateLimit;
pub use rotation::{DEFAULT_ROTATE_BEFORE, OneTimeCodeFuture, Rotation};
pub use scopes::{Scope, Scopes};

/// The types of requests and answers: the generated ones, and the token answers written
/// out by hand so that a field Fastly leaves empty (`null`, `""`) reads as none instead
/// of failing the answer (see `specs/fastly-tokens.yaml`).
pub mod types {
    pub use crate::answers::{
        AutomationTokenCreatedResponse, AutomationTokenResponse, TokenCreatedResponse, TokenResponse,
    };
    pub use crate::generated::types::*;
}

#[cfg(feature = "middleware")]
pub use token_use::middleware;
pub use token_use::{TOKEN_PLACEMENT, TOKEN_REFUSAL, token_header};
