#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc = include_str!("../README.md")]

// The generated code names this crate's own hand-written types (the spec's
// `x-rust-type`) by absolute path, as typify writes them (`::insight_tokens::...`): this
// makes that path resolve inside the crate too.
extern crate self as insight_tokens;

#[rustfmt::skip]
#[allow(clippy::all, clippy::unwrap_used)]
mod generated;

mod token_use;

mod answers;
mod header;
mod rotation;

// The runtime's error, not progenitor's (which the generated module imports as `Error`).
pub use api_tokens_runtime::Error;
pub use generated::*;
pub use header::{AUTH_HEADER, AUTH_QUERY_PARAMETER, auth_header};
pub use rotation::Rotation;

/// The types of requests and answers: the generated ones, and the token list entry
/// written out by hand so that a time Insight.io leaves empty (`null`, `""`) reads as
/// none instead of failing the list (see `specs/insight-tokens.yaml`).
pub mod types {
    pub use crate::answers::ApiTokenInfo;
    pub use crate::generated::types::*;
}

#[cfg(feature = "middleware")]
pub use token_use::middleware;
pub use token_use::{TOKEN_PLACEMENT, TOKEN_REFUSAL, token_header};
