//! The user's encryption keys, and the Redis key names derived from them: a keyed hash
//! of the token's identity, so that no name shows a vendor host, username or tenant.

use std::fmt;

use base64::Engine;
use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::KeyInit;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::Error;

/// A 256-bit key encrypting the values in Redis (XChaCha20-Poly1305), with its id.
///
/// The id is stored in clear beside each value, so that after a key rotation the old
/// values can still be read ([`RedisStore::decrypt_with`](crate::RedisStore::decrypt_with));
/// beside it a check (8 bytes of HMAC-SHA-256 under the key) tells a value written
/// under another key from a tampered one. `Debug` shows the id only.
#[derive(Clone)]
pub struct EncryptionKey {
    id: String,
    bytes: [u8; 32],
    check: [u8; 8],
}

impl EncryptionKey {
    /// The key `bytes` with the id `id` (1 to 32 of `A-Z a-z 0-9 _ -`).
    ///
    /// # Errors
    ///
    /// [`Error`] naming the id's fault.
    pub fn new(id: impl Into<String>, bytes: [u8; 32]) -> Result<Self, Error> {
        let id = id.into();
        let valid =
            (1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !valid {
            return Err(Error::new("an encryption key id has 1 to 32 of A-Z a-z 0-9 _ -"));
        }
        let digest = hmac_sha256(&bytes, b"api-tokens-redis key check v1");
        let mut check = [0; 8];
        check.copy_from_slice(&digest[..8]);
        Ok(EncryptionKey { id, bytes, check })
    }

    /// The key from 32 bytes in standard base64 (as `openssl rand -base64 32` prints).
    ///
    /// # Errors
    ///
    /// [`Error`] if `base64` is not 32 bytes in base64, or the id is invalid; the error
    /// never shows the key.
    pub fn from_base64(id: impl Into<String>, base64: &str) -> Result<Self, Error> {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(base64.trim())
            .map_err(|_| Error::new("the encryption key is not base64"))?;
        let bytes: [u8; 32] = decoded
            .try_into()
            .map_err(|_| Error::new("the encryption key is not 32 bytes"))?;
        EncryptionKey::new(id, bytes)
    }

    /// Its id.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn check(&self) -> [u8; 8] {
        self.check
    }

    pub(crate) fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.bytes.into())
    }

    /// The key naming Redis keys, derived from this one: a fleet whose keys differ
    /// uses different names, so a worker given a wrong key never meets the others'
    /// values.
    pub(crate) fn naming_key(&self) -> [u8; 32] {
        hmac_sha256(&self.bytes, b"api-tokens-redis key names v1")
    }
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptionKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// HMAC-SHA-256 of `message` under `key`.
pub(crate) fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    // Any key length is valid for HMAC.
    let Ok(mut mac) = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(key) else {
        return [0; 32];
    };
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// The three Redis keys of one identity. They share one hash tag (`{…}`), so that in a
/// Redis Cluster they live in one hash slot and one script can touch them together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Names {
    pub(crate) token: String,
    pub(crate) lock: String,
    pub(crate) failure: String,
}

impl Names {
    /// `{prefix}:{<32 hex digits>}:token` (and `:lock`, `:failure`): the digits are the
    /// first 128 bits of HMAC-SHA-256 of the identity under `naming_key`.
    pub(crate) fn new(prefix: &str, naming_key: &[u8; 32], identity: &[u8]) -> Self {
        let digest = hmac_sha256(naming_key, identity);
        let tag: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        Names {
            token: format!("{prefix}:{{{tag}}}:token"),
            lock: format!("{prefix}:{{{tag}}}:lock"),
            failure: format!("{prefix}:{{{tag}}}:failure"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_share_a_hash_tag_and_show_nothing_of_the_identity() {
        let names = Names::new("api-tokens", &[7; 32], b"tigergraph graph.example.com alice");
        let tag = |name: &str| name[name.find('{').unwrap_or(0)..=name.find('}').unwrap_or(0)].to_owned();
        assert_eq!(tag(&names.token), tag(&names.lock));
        assert_eq!(tag(&names.token), tag(&names.failure));
        assert_eq!(tag(&names.token).len(), 34);
        for name in [&names.token, &names.lock, &names.failure] {
            assert!(!name.contains("alice") && !name.contains("example"), "{name}");
        }
        assert_ne!(
            names,
            Names::new("api-tokens", &[8; 32], b"tigergraph graph.example.com alice")
        );
        assert_ne!(
            names,
            Names::new("api-tokens", &[7; 32], b"tigergraph graph.example.com bob")
        );
    }

    #[test]
    fn key_ids_and_lengths_are_checked() {
        for id in ["", "a b", "é", &"x".repeat(33)] {
            assert!(EncryptionKey::new(id, [0; 32]).is_err(), "{id:?}");
        }
        assert!(EncryptionKey::new("k-1_A", [0; 32]).is_ok());
        assert!(EncryptionKey::from_base64("k", "c2hvcnQ=").is_err());
        let key = EncryptionKey::from_base64("k", &base64::engine::general_purpose::STANDARD.encode([9; 32]));
        let key = key.expect("32 bytes");
        assert_eq!(format!("{key:?}"), "EncryptionKey { id: \"k\", .. }");
        assert_ne!(key.check(), EncryptionKey::new("k", [8; 32]).expect("key").check());
    }
}
