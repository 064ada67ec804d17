#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc = include_str!("../README.md")]

extern crate self as fastly_tokens;

#[rustfmt::skip]
#[allow(clippy::all, clippy::unwrap_used)]
mod generated;

mod error_code;
mod form;
mod rate_limit;
mod rotation;
mod scopes;

pub use api_tokens_runtime::Error;
pub use error_code::CreateErrorCode;
pub use form::TokenCreateForm;
pub use generated::*;
pub use rate_limit::RateLimit;
pub use rotation::{DEFAULT_ROTATE_BEFORE, OneTimeCodeFuture, Rotation};
pub use scopes::{Scope, Scopes};

api_tokens_runtime::impl_client_hooks!(Client);
