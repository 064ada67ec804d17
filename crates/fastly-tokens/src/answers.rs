//! Fastly's token answers, with the fields `specs/fastly-tokens.yaml` lists for them.
//!
//! Fastly leaves a field empty in more than one way: `null` or `""` for a time it does
//! not have (`last_used_at` of a token never used, `expires_at` of one that never
//! expires), `null` for a list (`services`), as its recorded answers show (vendors.md
//! §6). typify, which generates the other types, can only read `null` as `None`: an
//! `Option` field cannot read `""` as `None`. These types are the spec's schemas
//! written out (`x-sdk-rust-type`) with each field read leniently: an empty time,
//! id or text reads as `None`, an empty list as empty, and one odd field never fails
//! the whole answer. A malformed value (a time that is not RFC 3339, a number where
//! a list goes) still fails it, as a typed `InvalidBody` error.

use api_tokens_runtime::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{Scopes, Secret};

/// A token, without its secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TokenResponse {
    /// Alphanumeric string identifying the token.
    pub id: String,
    /// The user the token belongs to.
    #[serde(default, deserialize_with = "lenient::text", skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The customer (account) the token belongs to: the id to list its tokens with
    /// [`Client::list_tokens_customer`](crate::Client::list_tokens_customer).
    #[serde(default, deserialize_with = "lenient::text", skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// The service of a token limited to one service.
    #[serde(default, deserialize_with = "lenient::text", skip_serializing_if = "Option::is_none")]
    pub service_id: Option<String>,
    /// The token's name.
    #[serde(default, deserialize_with = "lenient::text", skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The token's scopes, as Fastly's space-separated `scope` gives them.
    #[serde(
        default,
        deserialize_with = "lenient::scopes",
        skip_serializing_if = "Option::is_none"
    )]
    pub scope: Option<Scopes>,
    /// The token's scopes, as Fastly's `scopes` list gives them; empty when not sent.
    #[serde(default, skip_serializing_if = "Scopes::is_empty")]
    pub scopes: Scopes,
    /// The service ids the token is limited to; empty for all services (also when
    /// Fastly sends `null`).
    #[serde(default, deserialize_with = "lenient::list", skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    /// When the token was created.
    #[serde(default, deserialize_with = "lenient::time", skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
    /// When the token was last updated.
    #[serde(default, deserialize_with = "lenient::time", skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Timestamp>,
    /// When the token was deleted.
    #[serde(default, deserialize_with = "lenient::time", skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<Timestamp>,
    /// When the token was last used; `None` for a token never used.
    #[serde(default, deserialize_with = "lenient::time", skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<Timestamp>,
    /// When the token expires; `None` for a token that does not. Expired tokens get
    /// HTTP 401.
    #[serde(default, deserialize_with = "lenient::time", skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// When the token's sudo mode (re-authenticated with the password) ends; `None`
    /// outside sudo mode.
    #[serde(default, deserialize_with = "lenient::time", skip_serializing_if = "Option::is_none")]
    pub sudo_expires_at: Option<Timestamp>,
    /// The IP address of the token's last use.
    #[serde(default, deserialize_with = "lenient::text", skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// The user agent of the token's last use.
    #[serde(default, deserialize_with = "lenient::text", skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

/// A newly created token, with its secret (returned only once).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TokenCreatedResponse {
    /// The token itself; send it as `Fastly-Key`. An answer with an empty one is an
    /// `InvalidBody` error.
    #[serde(deserialize_with = "lenient::secret")]
    pub access_token: Secret,
    /// Alphanumeric string identifying the token; revoke it by this id.
    pub id: String,
    /// The user the token belongs to.
    #[serde(default, deserialize_with = "lenient::text", skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The customer (account) the token belongs to: the id to list its tokens with
    /// [`Client::list_tokens_customer`](crate::Client::list_tokens_customer).
    #[serde(default, deserialize_with = "lenient::text", skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// The service of a token limited to one service.
    #[serde(default, deserialize_with = "lenient::text", skip_serializing_if = "Option::is_none")]
    pub service_id: Option<String>,
    /// The token's name.
    #[serde(default, deserialize_with = "lenient::text", skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The token's scopes, as Fastly's space-separated `scope` gives them.
    #[serde(
        default,
        deserialize_with = "lenient::scopes",
        skip_serializing_if = "Option::is_none"
    )]
    pub scope: Option<Scopes>,
    /// The token's scopes, as Fastly's `scopes` list gives them; empty when not sent.
    #[serde(default, skip_serializing_if = "Scopes::is_empty")]
    pub scopes: Scopes,
    /// The service ids the token is limited to; empty for all services (also when
    /// Fastly sends `null`).
    #[serde(default, deserialize_with = "lenient::list", skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    /// When the token was created.
    #[serde(default, deserialize_with = "lenient::time", skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
    /// When the token was last updated.
    #[serde(default, deserialize_with = "lenient::time", skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Timestamp>,
    /// When the token was deleted (`None` for a new token).
    #[serde(default, deserialize_with = "lenient::time", skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<Timestamp>,
    /// When the token was last used (`None` for a new token).
    #[serde(default, deserialize_with = "lenient::time", skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<Timestamp>,
    /// When the token expires; `None` for a token that does not.
    #[serde(default, deserialize_with = "lenient::time", skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// When the token's sudo mode ends; `None` outside sudo mode.
    #[serde(default, deserialize_with = "lenient::time", skip_serializing_if = "Option::is_none")]
    pub sudo_expires_at: Option<Timestamp>,
    /// The IP address the token was created from.
    #[serde(default, deserialize_with = "lenient::text", skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// The user agent the token was created with.
    #[serde(default, deserialize_with = "lenient::text", skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

/// An automation token (a token tied to no person), without its secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AutomationTokenResponse {
    /// Alphanumeric string identifying the automation token.
    pub id: String,
    /// The token's name.
    #[serde(default, deserialize_with = "lenient::text", skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The token's role, such as `engineer`.
    #[serde(default, deserialize_with = "lenient::text", skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The customer (account) the token belongs to.
    #[serde(default, deserialize_with = "lenient::text", skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// The user the token is assigned to, when Fastly says.
    #[serde(default, deserialize_with = "lenient::text", skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The user who created the token.
    #[serde(default, deserialize_with = "lenient::text", skip_serializing_if = "Option::is_none")]
    pub creator_id: Option<String>,
    /// The service of a token limited to one service.
    #[serde(default, deserialize_with = "lenient::text", skip_serializing_if = "Option::is_none")]
    pub service_id: Option<String>,
    /// The token's scopes, as Fastly's `scope` gives them.
    #[serde(
        default,
        deserialize_with = "lenient::scopes",
        skip_serializing_if = "Option::is_none"
    )]
    pub scope: Option<Scopes>,
    /// The token's scopes, as Fastly's `scopes` gives them (a space-separated string in
    /// list answers); empty when not sent.
    #[serde(default, skip_serializing_if = "Scopes::is_empty")]
    pub scopes: Scopes,
    /// The service ids the token is limited to; empty for all services (also when
    /// Fastly sends `null`).
    #[serde(default, deserialize_with = "lenient::list", skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    /// Whether the token may manage TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_access: Option<bool>,
    /// When the token was created.
    #[serde(default, deserialize_with = "lenient::time", skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
    /// When the token was last updated.
    #[serde(default, deserialize_with = "lenient::time", skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Timestamp>,
    /// When the token was deleted.
    #[serde(default, deserialize_with = "lenient::time", skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<Timestamp>,
    /// When the token was last used; `None` for a token never used.
    #[serde(default, deserialize_with = "lenient::time", skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<Timestamp>,
    /// When the token expires; `None` for a token that does not.
    #[serde(default, deserialize_with = "lenient::time", skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// When the token's sudo mode ends; `None` outside sudo mode.
    #[serde(default, deserialize_with = "lenient::time", skip_serializing_if = "Option::is_none")]
    pub sudo_expires_at: Option<Timestamp>,
    /// The IP address of the token's last use.
    #[serde(default, deserialize_with = "lenient::text", skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// The user agent of the token's last use.
    #[serde(default, deserialize_with = "lenient::text", skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

/// A newly created automation token, with its secret (returned only once).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AutomationTokenCreatedResponse {
    /// The token itself; send it as `Fastly-Key`. An answer with an empty one is an
    /// `InvalidBody` error.
    #[serde(deserialize_with = "lenient::secret")]
    pub access_token: Secret,
    /// Alphanumeric string identifying the token; revoke it by this id.
    pub id: String,
    /// The token's name.
    #[serde(default, deserialize_with = "lenient::text", skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The token's role, such as `engineer`.
    #[serde(default, deserialize_with = "lenient::text", skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The customer (account) the token belongs to.
    #[serde(default, deserialize_with = "lenient::text", skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// The user the token is assigned to, when Fastly says.
    #[serde(default, deserialize_with = "lenient::text", skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The token's scopes.
    #[serde(
        default,
        deserialize_with = "lenient::scopes",
        skip_serializing_if = "Option::is_none"
    )]
    pub scope: Option<Scopes>,
    /// The service ids the token is limited to; empty for all services (also when
    /// Fastly sends `null`).
    #[serde(default, deserialize_with = "lenient::list", skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    /// Whether the token may manage TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_access: Option<bool>,
    /// When the token was created.
    #[serde(default, deserialize_with = "lenient::time", skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
    /// When the token was last used (`None` for a new token).
    #[serde(default, deserialize_with = "lenient::time", skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<Timestamp>,
    /// When the token expires; `None` for a token that does not.
    #[serde(default, deserialize_with = "lenient::time", skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// The IP address of the token's last use (`None` for a new token).
    #[serde(default, deserialize_with = "lenient::text", skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// The user agent of the token's last use (`None` for a new token).
    #[serde(default, deserialize_with = "lenient::text", skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

/// Reading a field Fastly may leave empty: each function reads `null` and `""` (and,
/// for lists, `null`) as the field's "none", and anything else as strictly as before.
mod lenient {
    use std::fmt;

    use api_tokens_runtime::Timestamp;
    use serde::Deserialize;
    use serde::de::{self, Deserializer, Visitor};

    use crate::{Scopes, Secret};

    /// A text: `null` and `""` are `None`.
    pub(super) fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
        Ok(Option::<String>::deserialize(deserializer)?.filter(|text| !text.is_empty()))
    }

    /// A list: `null` is empty.
    pub(super) fn list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
        Ok(Option::<Vec<String>>::deserialize(deserializer)?.unwrap_or_default())
    }

    /// Scopes: `null`, `""` and `[]` are `None`.
    pub(super) fn scopes<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Scopes>, D::Error> {
        Ok(Option::<Scopes>::deserialize(deserializer)?.filter(|scopes| !scopes.is_empty()))
    }

    /// A secret that must be there: `""` is an error rather than a token that cannot
    /// work.
    pub(super) fn secret<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Secret, D::Error> {
        let secret = Secret::deserialize(deserializer)?;
        if secret.is_empty() {
            return Err(de::Error::custom("the new token (`access_token`) is empty"));
        }
        Ok(secret)
    }

    /// An RFC 3339 time: `null`, `""` (or blanks) are `None`; any other text that is
    /// not a time is an error.
    pub(super) fn time<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Timestamp>, D::Error> {
        deserializer.deserialize_option(TimeVisitor)
    }

    struct TimeVisitor;

    impl<'de> Visitor<'de> for TimeVisitor {
        type Value = Option<Timestamp>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an RFC 3339 date and time, \"\" or null")
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
            deserializer.deserialize_str(self)
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
            if text.trim().is_empty() {
                return Ok(None);
            }
            text.parse::<chrono::DateTime<chrono::FixedOffset>>()
                .map(|at| Some(at.to_utc()))
                .map_err(|_| E::custom("a time that is not RFC 3339"))
        }
    }
}
