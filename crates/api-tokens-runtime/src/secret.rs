//! A string that never prints itself.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A secret string: API key, password, token, JWT, TigerGraph secret, 2FA code.
///
/// `Debug` and `Display` print `<redacted>`; the value is reachable only through
/// [`Secret::expose`]. Serde sees the plain string, so secrets still reach the wire
/// and can be decoded from vendor responses.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
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
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

impl From<&String> for Secret {
    fn from(value: &String) -> Self {
        Secret(value.clone())
    }
}

impl From<&Secret> for Secret {
    fn from(value: &Secret) -> Self {
        value.clone()
    }
}
