//! A string that never prints itself.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A secret string: API key, password, token, JWT, TigerGraph secret, 2FA code.
///
/// `Debug` and `Display` print `<redacted>`; the value is reachable only through
/// [`Secret::expose`]. Cloning shares the value rather than copying it.
///
/// # Serializing writes the secret in plain text
///
/// Serde sees the plain string: that is how a secret reaches the wire, how a fresh
/// token is decoded from a vendor's answer, and how a program stores a token it must
/// keep (in a vault, a keyring, a file readable only by it). It also means that
/// `serde_json::to_string(&answer)` of an answer that holds a `Secret` (a created
/// token's `access_token`, a login's `token`) **contains the secret**. To log an answer,
/// print it with `{:?}`, which redacts every `Secret`; never log its serialized form.
///
/// ```
/// # use api_tokens_runtime::Secret;
/// let token = Secret::new("s3cr3t-t0ken");
/// assert_eq!(format!("{token:?} {token}"), "Secret(<redacted>) <redacted>");
/// assert_eq!(serde_json::to_string(&token).unwrap(), r#""s3cr3t-t0ken""#);
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(Arc::from(value.into()))
    }

    /// The secret value itself. Every call site is a place where the secret can leak:
    /// keep it out of logs and error messages.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret::new)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(Arc::from(value))
    }
}

impl From<&String> for Secret {
    fn from(value: &String) -> Self {
        Secret(Arc::from(value.as_str()))
    }
}

impl From<&Secret> for Secret {
    fn from(value: &Secret) -> Self {
        value.clone()
    }
}
