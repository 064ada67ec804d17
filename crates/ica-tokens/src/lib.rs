#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc = include_str!("../README.md")]

#[rustfmt::skip]
#[allow(clippy::all, clippy::unwrap_used)]
mod generated;

mod token_use;

mod jwt_source;

// The runtime's error, not progenitor's (which the generated module imports as `Error`).
pub use api_tokens_runtime::Error;
pub use generated::*;
pub use jwt_source::{DEFAULT_REFRESH_BEFORE, JwtSource};

#[cfg(feature = "middleware")]
pub use token_use::middleware;
pub use token_use::{TOKEN_PLACEMENT, TOKEN_REFUSAL, token_header};
