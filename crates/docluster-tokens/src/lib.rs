#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc = include_str!("../README.md")]

extern crate self as docluster_tokens;

#[rustfmt::skip]
#[allow(clippy::all, clippy::unwrap_used)]
mod generated;

mod session;
mod table;

pub use api_tokens_runtime::Error;
pub use generated::*;
pub use session::{DEFAULT_WINDOW, Session};
pub use table::TokenTable;

api_tokens_runtime::impl_client_hooks!(Client);
