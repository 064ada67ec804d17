//! Token lifecycles: a token with its expiry ([`Token`]), anything that hands out a
//! token valid now ([`TokenSource`]), and the cache every vendor's lifecycle type is
//! built on ([`CachedTokenSource`]).
//!
//! The cache is split as smithy-rs splits its identity cache: a **mechanism**
//! (`cache`: one load at a time, detached from the callers, its outcome shared with all
//! of them) and a **policy** (`policy`: when a token is due, how long to back off).
//! Expiries are read on the server's terms (`server_time`: a JWT's `iat`/`exp`, the
//! answer's `Date`) and kept on the local clock. Its clock is tokio's, so tests move
//! time instead of sleeping. Beneath it, a fleet of processes may share tokens
//! (`shared`: the protocol; `store`: the seam a shared store implements).

mod cache;
mod events;
#[cfg(any(test, feature = "test-util"))]
mod memory_store;
mod policy;
mod rotation;
mod server_time;
mod shared;
mod source;
mod store;
mod token;

pub use cache::CachedTokenSource;
pub use events::{TokenChange, TokenEvent, TokenEvents};
#[cfg(any(test, feature = "test-util"))]
pub use memory_store::MemoryStore;
pub use policy::RefreshPolicy;
pub use rotation::{CreatedToken, RotationError, RotationLog, RotationStep};
pub use server_time::{ServerClock, jwt_expires_at};
pub use shared::SharedCache;
pub use source::{BoxedLoader, TokenFuture, TokenSource};
pub use store::{
    Failure, Identity, SharedStore, StoreError, StoreFuture, Stored, decode_failure, decode_token, encode_failure,
    encode_token,
};
pub use token::{Expiry, Token};
