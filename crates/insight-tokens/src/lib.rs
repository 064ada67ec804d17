#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc = include_str!("../README.md")]

extern crate self as insight_tokens;

#[rustfmt::skip]
#[allow(clippy::all, clippy::unwrap_used)]
mod generated;

mod rotation;

pub use api_tokens_runtime::Error;
pub use generated::*;
pub use rotation::Rotation;

api_tokens_runtime::impl_client_hooks!(Client);
