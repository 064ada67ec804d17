//! One token for a whole fleet: the api-tokens lifecycles' shared token cache on
//! **Redis** (or Valkey, which speaks the same protocol).
//!
//! Thirty workers, each with its own lifecycle, otherwise make thirty logins and keep
//! thirty tokens. Given a [`RedisStore`] through the runtime's
//! [`SharedCache`](api_tokens_runtime::SharedCache), the workers whose token identity is
//! the same (vendor, base URL, principal, graph or tenant, lifetime; for DoCluster the
//! address the server sees) share one token and one refresh: one worker loads while the
//! others wait for its token; a worker that dies holding the lock is replaced once the
//! lock ends; writes are fenced; a failing vendor is backed off fleet-wide; and when
//! Redis is down or slow each worker loads on its own until it is back. The protocol is
//! the runtime's (`SharedCache`); this crate stores, seals and names.
//!
//! **Nothing readable in Redis**: values are sealed with XChaCha20-Poly1305 (RustCrypto's
//! `chacha20poly1305`) under the user's [`EncryptionKey`], bound to their key name and
//! header; key names are keyed hashes (HMAC-SHA-256) of the identity. A value that does
//! not open is a miss, replaced, with a warning event; one sealed under a key this worker
//! lacks is left alone while the worker gets a token of its own.
//!
//! Connection: redis-rs's `ConnectionManager` (AUTH and ACL users through the URL,
//! `rediss://` with feature `tls`); Redis Cluster with feature `cluster` and
//! [`RedisStore::with_connection`].

mod keys;
mod seal;
mod store;

use std::fmt;

pub use keys::EncryptionKey;
pub use store::{DEFAULT_PREFIX, RedisStore};

/// A store that could not be set up (a bad URL, a bad key); never holds a secret.
#[derive(Clone, Debug)]
pub struct Error {
    message: String,
}

impl Error {
    fn new(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
