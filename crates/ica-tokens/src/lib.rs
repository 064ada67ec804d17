#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc = include_str!("../README.md")]

#[rustfmt::skip]
#[allow(clippy::all, clippy::unwrap_used)]
mod generated;

mod token_use;

mod jwt_source;

pub use api_tokens_runtime::Error;
pub use generated::*;
pub use jwt_source::{DEFAULT_REFRESH_BEFORE, JwtSource};

api_tokens_runtime::impl_client_hooks!(Client);

#[cfg(feature = "middleware")]
pub use token_use::middleware;
pub use token_use::{TOKEN_PLACEMENT, TOKEN_REFUSAL, token_header};
