#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc = include_str!("../README.md")]

extern crate self as ica_tokens;

#[rustfmt::skip]
#[allow(clippy::all, clippy::unwrap_used)]
mod generated;

mod jwt_source;

pub use api_tokens_runtime::Error;
pub use generated::*;
pub use jwt_source::{DEFAULT_REFRESH_BEFORE, JwtSource};

api_tokens_runtime::impl_client_hooks!(Client);
