//! Insight.io's token list entry, with the fields `specs/insight-tokens.yaml` lists for
//! it, and a typed reading of a login's expiry.
//!
//! An `Option` field typify generates reads `null` as `None` but fails the whole list
//! on `""`: here a time Insight.io leaves empty (`null`, `""`, or absent) reads as
//! `None`, and only a malformed one (text that is not a number, a number out of range)
//! fails the answer, as a typed `InvalidBody` error.

use api_tokens_runtime::{Timestamp, UnixMillis};
use serde::{Deserialize, Serialize};

use crate::Secret;
use crate::generated::types::Login;

/// One of the user's API access tokens, as the list gives it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ApiTokenInfo {
    /// `<provider>@<user>`.
    pub uid: String,
    /// The token itself.
    #[serde(rename = "apiToken")]
    pub api_token: Secret,
    /// When the token was created.
    #[serde(default, deserialize_with = "millis", skip_serializing_if = "Option::is_none")]
    pub created: Option<UnixMillis>,
    /// When the token was last used; `None` for a token never used.
    #[serde(
        rename = "lastUsed",
        default,
        deserialize_with = "millis",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_used: Option<UnixMillis>,
}

impl Login {
    /// `expiresOn` as a time: `None` when it is absent or empty, and for Insight.io's
    /// "never" (`292278994-08-17T07:12:55.807Z`, Java's largest date, past any date
    /// type's range) or any text that is not an RFC 3339 time.
    pub fn expires_at(&self) -> Option<Timestamp> {
        self.expires_on.as_deref()?.trim().parse::<Timestamp>().ok()
    }
}

/// Unix milliseconds: `null`, `""` (or blanks) and absence are `None`.
fn millis<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<UnixMillis>, D::Error> {
    deserializer.deserialize_option(MillisVisitor)
}

struct MillisVisitor;

impl<'de> serde::de::Visitor<'de> for MillisVisitor {
    type Value = Option<UnixMillis>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("unix milliseconds, \"\" or null")
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<Self::Value, E> {
        UnixMillis::deserialize(serde::de::IntoDeserializer::<E>::into_deserializer(value)).map(Some)
    }

    fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<Self::Value, E> {
        let value = i64::try_from(value).map_err(|_| E::custom("unix milliseconds out of range"))?;
        self.visit_i64(value)
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
        if text.trim().is_empty() {
            return Ok(None);
        }
        Err(E::custom("a time that is not unix milliseconds"))
    }
}
