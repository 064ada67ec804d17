#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc = include_str!("../README.md")]

mod answer;
mod auth;
mod body;
mod config;
mod credentials;
mod decode;
mod error;
// Plumbing the generated code calls: public for it, hidden from users, no semver promise.
#[doc(hidden)]
pub mod hooks;
mod lifecycle;
mod macros;
mod prepare;
mod record;
mod retry;
mod scrub;
mod secret;
mod time;
mod token_use;
mod trace;
mod transport;
mod value;
#[doc(hidden)]
pub mod wire;

#[doc(hidden)]
pub use config::ClientConfig;
pub use config::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BODY_BYTES, DEFAULT_OPERATION_TIMEOUT, DEFAULT_TIMEOUT, http_client_builder,
};
#[doc(hidden)]
pub use credentials::{ClientState, Credential, Credentials};
pub use error::{Category, Error, ErrorKind};
#[doc(hidden)]
pub use lifecycle::RotationLog;
pub use lifecycle::{
    BoxedLoader, CachedTokenSource, CreatedToken, Expiry, Identity, RefreshPolicy, RotationError, RotationStep,
    ServerClock, SharedCache, Token, TokenChange, TokenEvent, TokenEvents, TokenFuture, TokenSource, jwt_expires_at,
};
pub use retry::RetryPolicy;

/// The seam beneath [`SharedCache`]: what a store shared by a fleet of processes
/// implements (`api-tokens-redis` is one), and the bytes that cross it.
pub mod shared {
    #[cfg(feature = "test-util")]
    pub use crate::lifecycle::MemoryStore;
    pub use crate::lifecycle::{
        Failure, SharedStore, StoreError, StoreFuture, Stored, decode_failure, decode_token, encode_failure,
        encode_token,
    };
}
pub use secret::Secret;
pub use time::{OptionalUnixSeconds, Timestamp, UnixMillis, UnixSeconds, rfc3339, rfc3339_max};
#[cfg(feature = "middleware")]
pub use token_use::TokenMiddleware;
pub use token_use::{Refusal, TokenPlacement};

/// Answers a request in place of the network (feature `test-util`): the answer may take
/// its time (on tokio's clock, which a test can pause and move).
#[cfg(feature = "test-util")]
pub type Responder = std::sync::Arc<dyn Fn(&reqwest::Request) -> ResponseFuture + Send + Sync>;

/// The answer of a [`Responder`] (feature `test-util`).
#[cfg(feature = "test-util")]
pub type ResponseFuture = std::pin::Pin<Box<dyn std::future::Future<Output = http::Response<Vec<u8>>> + Send>>;

/// The `http` crate, whose `Response` a [`Responder`] returns.
#[cfg(feature = "test-util")]
pub use http;
