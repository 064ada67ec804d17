//! The bodies of token creation: the form of `POST /tokens`, which repeats array keys
//! (`services[]=a&services[]=b`; progenitor's own form encoding, serde_urlencoded over a
//! struct, cannot send arrays), and the JSON of `POST /automation-tokens`. Both take
//! their expiry as a typed time and write it as RFC 3339 to the second.

use std::time::SystemTime;

use api_tokens_runtime::Timestamp;
use chrono::Datelike;
use serde::ser::{Error as _, Serialize, SerializeMap, SerializeSeq, Serializer};

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
    /// When the token expires, sent as RFC 3339 to the second (`2016-07-28T19:24:50Z`;
    /// a fraction of a second is dropped). A time RFC 3339 cannot write (past
    /// 9999-12-31T23:59:59Z) is refused: the call fails with
    /// `ErrorKind::InvalidArgument` before anything is sent.
    pub expires_at: Option<Timestamp>,
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

    /// Sets when the token expires (see [`TokenCreateForm::expires_at`](Self#structfield.expires_at)
    /// for the years that can be sent).
    pub fn expires_at(mut self, expires_at: Timestamp) -> Self {
        self.expires_at = Some(expires_at);
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
        let expires_at = self
            .expires_at
            .as_ref()
            .map(rfc3339)
            .transpose()
            .map_err(S::Error::custom)?;
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        let single = [
            ("username", self.username.as_deref()),
            ("password", self.password.as_ref().map(Secret::expose)),
            ("name", self.name.as_deref()),
            ("scope", scope.as_deref()),
        ];
        pairs.extend(single.into_iter().filter_map(|(k, v)| Some((k, v?))));
        pairs.extend(self.services.iter().map(|s| ("services[]", s.as_str())));
        pairs.extend(expires_at.as_deref().map(|v| ("expires_at", v)));
        let mut seq = serializer.serialize_seq(Some(pairs.len()))?;
        for pair in pairs {
            seq.serialize_element(&pair)?;
        }
        seq.end()
    }
}

/// The JSON body of [`Client::create_automation_token`](crate::Client::create_automation_token):
/// `{"name", "role", "services", "scope", "expires_at", "tls_access"}`, each but the name
/// sent only when set.
///
/// ```
/// # use fastly_tokens::{AutomationTokenCreateRequest, Scope};
/// let body = AutomationTokenCreateRequest::new("deploy")
///     .role("engineer")
///     .scope(Scope::Global)
///     .service("SU1Z0isxPaozGVKXdv0eY");
/// # let _ = body;
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct AutomationTokenCreateRequest {
    /// A name for the token; an empty one is refused before sending
    /// (`ErrorKind::InvalidArgument`).
    pub name: String,
    /// The token's role, such as `engineer`, `billing` or `user`.
    pub role: Option<String>,
    /// The token's scopes; the server defaults to `global`.
    pub scope: Option<Scopes>,
    /// Service ids the token is limited to; all services when empty.
    pub services: Vec<String>,
    /// When the token expires, sent as RFC 3339 to the second; a time past
    /// 9999-12-31T23:59:59Z is refused before sending (`ErrorKind::InvalidArgument`).
    pub expires_at: Option<Timestamp>,
    /// Whether the token may manage TLS.
    pub tls_access: Option<bool>,
}

impl AutomationTokenCreateRequest {
    /// A request for a token called `name`, everything else left to the server.
    pub fn new(name: impl Into<String>) -> Self {
        AutomationTokenCreateRequest {
            name: name.into(),
            role: None,
            scope: None,
            services: Vec::new(),
            expires_at: None,
            tls_access: None,
        }
    }

    /// Sets the role (`engineer`, `billing`, `user`).
    pub fn role(mut self, role: impl Into<String>) -> Self {
        self.role = Some(role.into());
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

    /// Sets when the token expires.
    pub fn expires_at(mut self, expires_at: Timestamp) -> Self {
        self.expires_at = Some(expires_at);
        self
    }

    /// Sets whether the token may manage TLS.
    pub fn tls_access(mut self, tls_access: bool) -> Self {
        self.tls_access = Some(tls_access);
        self
    }
}

impl Serialize for AutomationTokenCreateRequest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.name.trim().is_empty() {
            return Err(S::Error::custom("the automation token's `name` is empty"));
        }
        let expires_at = self
            .expires_at
            .as_ref()
            .map(rfc3339)
            .transpose()
            .map_err(S::Error::custom)?;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("name", &self.name)?;
        if let Some(role) = &self.role {
            map.serialize_entry("role", role)?;
        }
        if !self.services.is_empty() {
            map.serialize_entry("services", &self.services)?;
        }
        if let Some(scope) = &self.scope {
            map.serialize_entry("scope", scope)?;
        }
        if let Some(expires_at) = &expires_at {
            map.serialize_entry("expires_at", expires_at)?;
        }
        if let Some(tls_access) = self.tls_access {
            map.serialize_entry("tls_access", &tls_access)?;
        }
        map.end()
    }
}

/// `at` as RFC 3339 to the second (`2016-07-28T19:24:50Z`), or why it cannot be sent:
/// RFC 3339 writes four-digit years only.
fn rfc3339(at: &Timestamp) -> Result<String, &'static str> {
    if !(0..=9999).contains(&at.year()) {
        return Err("`expires_at` is outside the years 0000-9999 that RFC 3339 can write");
    }
    Ok(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// `at` as a [`Timestamp`] to the second, when it is one RFC 3339 can write (1970 to
/// 9999); `None` otherwise, never a panic.
pub(crate) fn timestamp(at: SystemTime) -> Option<Timestamp> {
    let since = at.duration_since(SystemTime::UNIX_EPOCH).ok()?;
    let at = chrono::DateTime::from_timestamp(i64::try_from(since.as_secs()).ok()?, 0)?;
    (at.year() <= 9999).then_some(at)
}
