//! The form of `POST /tokens`, which repeats array keys: `services[]=a&services[]=b`.
//! progenitor's own form encoding (serde_urlencoded over a struct) cannot send arrays.

use serde::ser::{Serialize, SerializeSeq, Serializer};

use crate::{Scopes, Secret};

/// The form of [`Client::create_token`](crate::Client::create_token).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TokenCreateForm {
    /// The account's login (email); an alternative to HTTP Basic.
    pub username: Option<String>,
    /// The account's password; an alternative to HTTP Basic.
    pub password: Option<Secret>,
    /// A name for the token.
    pub name: Option<String>,
    /// The token's scopes; the server defaults to `global`.
    pub scope: Option<Scopes>,
    /// Service ids the token is limited to, sent as repeated `services[]`.
    pub services: Vec<String>,
    /// Expiry, ISO 8601 (`2016-07-28T19:24:50+00:00`).
    pub expires_at: Option<String>,
}

impl TokenCreateForm {
    /// An empty form.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the token's name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the scopes.
    pub fn scope(mut self, scope: impl Into<Scopes>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// Adds a service the token is limited to.
    pub fn service(mut self, service_id: impl Into<String>) -> Self {
        self.services.push(service_id.into());
        self
    }

    /// Sets the expiry (ISO 8601).
    pub fn expires_at(mut self, expires_at: impl Into<String>) -> Self {
        self.expires_at = Some(expires_at.into());
        self
    }

    /// Sends the login in the form rather than as HTTP Basic.
    pub fn login(mut self, username: impl Into<String>, password: impl Into<Secret>) -> Self {
        self.username = Some(username.into());
        self.password = Some(password.into());
        self
    }
}

/// Serialises as a sequence of `(key, value)` pairs, which form encoding accepts and
/// which lets `services[]` repeat.
impl Serialize for TokenCreateForm {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let scope = self.scope.as_ref().map(Scopes::to_wire);
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        let single = [
            ("username", self.username.as_deref()),
            ("password", self.password.as_ref().map(Secret::expose)),
            ("name", self.name.as_deref()),
            ("scope", scope.as_deref()),
        ];
        pairs.extend(single.into_iter().filter_map(|(k, v)| Some((k, v?))));
        pairs.extend(self.services.iter().map(|s| ("services[]", s.as_str())));
        pairs.extend(self.expires_at.as_deref().map(|v| ("expires_at", v)));
        let mut seq = serializer.serialize_seq(Some(pairs.len()))?;
        for pair in pairs {
            seq.serialize_element(&pair)?;
        }
        seq.end()
    }
}
