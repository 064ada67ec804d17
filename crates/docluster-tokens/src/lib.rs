#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc = include_str!("../README.md")]

// The generated code names this crate's own hand-written types (the spec's
// `x-rust-type`) by absolute path, as typify writes them (`::docluster_tokens::...`): this
// makes that path resolve inside the crate too.
extern crate self as docluster_tokens;

#[rustfmt::skip]
#[allow(clippy::all, clippy::unwrap_used)]
mod generated;

mod token_use;

mod session;
mod table;

// The runtime's error, not progenitor's (which the generated module imports as `Error`).
pub use api_tokens_runtime::Error;
pub use generated::*;
pub use session::{DEFAULT_WINDOW, Session};
pub use table::TokenTable;

#[cfg(feature = "middleware")]
pub use token_use::middleware;
pub use token_use::{TOKEN_PLACEMENT, TOKEN_REFUSAL, apply_token};
