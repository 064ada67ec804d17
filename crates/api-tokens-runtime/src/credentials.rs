//! Credentials set once on a client, and the state every generated client carries.

use std::fmt;

use reqwest::header::HeaderValue;

use crate::auth::Prepared;
use crate::error::{Error, ErrorKind};
use crate::secret::Secret;
use crate::wire::{Api, Place};

/// One credential: a single secret, or a user name with a password.
#[derive(Clone)]
pub enum Credential {
    /// An API key, token, JWT, session cookie or TigerGraph secret.
    Token(Secret),
    /// HTTP Basic user name and password.
    Basic {
        /// The user name (sent base64-encoded, never printed by this crate).
        username: String,
        /// The password.
        password: Secret,
    },
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Token(_) => f.write_str("Token(<redacted>)"),
            Credential::Basic { .. } => f.write_str("Basic(<redacted>)"),
        }
    }
}

/// The credentials of a client, by the credential names of its spec's security schemes.
#[derive(Clone, Default)]
pub struct Credentials {
    entries: Vec<(&'static str, Credential)>,
}

impl Credentials {
    /// Sets (or replaces) the credential called `name`.
    pub fn set(&mut self, name: &'static str, credential: Credential) {
        self.entries.retain(|(n, _)| *n != name);
        self.entries.push((name, credential));
    }

    /// Every credential, with its name, in the order set.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&'static str, &Credential)> {
        self.entries.iter().map(|(name, credential)| (*name, credential))
    }

    /// The credential called `name`.
    pub fn get(&self, name: &str) -> Option<&Credential> {
        self.entries.iter().find(|(n, _)| *n == name).map(|(_, c)| c)
    }

    /// The secret values as they may appear on the wire, for scrubbing vendor messages
    /// that might echo them: each secret, and the encoded Basic header.
    pub(crate) fn secrets(&self) -> impl Iterator<Item = String> + '_ {
        self.entries.iter().flat_map(|(_, c)| match c {
            Credential::Token(s) => vec![s.expose().to_owned()],
            Credential::Basic { username, password } => vec![
                password.expose().to_owned(),
                crate::auth::basic_encoded(username, password),
            ],
        })
    }

    /// Every scheme of `api` with its credential ready for requests, once each credential
    /// is known to be sendable (see [`validate`](Self::validate)).
    pub(crate) fn prepare(&self, api: &'static Api) -> Result<std::sync::Arc<[Option<Prepared>]>, Error> {
        self.validate(api)?;
        let prepared =
            crate::auth::prepare(api, self).map_err(|why| Error::new(ErrorKind::InvalidArgument, api.vendor, why))?;
        Ok(prepared.into())
    }

    /// Refuses what could never be sent: empty values, bytes a header cannot hold,
    /// a colon in a Basic user name, a credential of the wrong shape for its scheme.
    fn validate(&self, api: &'static Api) -> Result<(), Error> {
        let invalid = |what: String| Err(Error::new(ErrorKind::InvalidArgument, api.vendor, what));
        for (name, credential) in &self.entries {
            for scheme in api.schemes.iter().filter(|s| s.credential == *name) {
                match (credential, scheme.place) {
                    (Credential::Basic { username, password }, Place::Basic) => {
                        if username.is_empty() || password.is_empty() {
                            return invalid(format!("credential `{name}`: empty user name or password"));
                        }
                        if username.contains(':') {
                            return invalid(format!("credential `{name}`: a Basic user name cannot contain ':'"));
                        }
                        if username.chars().any(char::is_control) {
                            return invalid(format!("credential `{name}`: control character in the user name"));
                        }
                    }
                    (Credential::Token(secret), place) if !place.is_basic() => {
                        if secret.is_empty() {
                            return invalid(format!("credential `{name}` is empty"));
                        }
                        // A server (or a proxy) trims header values: the token it would
                        // judge is not the one given.
                        if secret.expose().trim() != secret.expose() {
                            return invalid(format!("credential `{name}` begins or ends with white space"));
                        }
                        if matches!(place, Place::Header(_) | Place::Bearer)
                            && HeaderValue::from_str(secret.expose()).is_err()
                        {
                            return invalid(format!(
                                "credential `{name}` holds a byte that cannot go in an HTTP header (CR, LF or another control character)"
                            ));
                        }
                    }
                    _ => {
                        return invalid(format!(
                            "credential `{name}` has the wrong shape for scheme `{}`",
                            scheme.name
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.entries.iter().map(|(n, c)| (n, c))).finish()
    }
}

/// The state every generated client carries (progenitor's "inner type").
#[derive(Clone)]
pub struct ClientState {
    pub(crate) api: &'static Api,
    // Shared: cloning a client (to move it into a task) copies no credential.
    pub(crate) credentials: std::sync::Arc<Credentials>,
    /// `api.schemes`, each with its credential ready for requests.
    pub(crate) prepared: std::sync::Arc<[Option<Prepared>]>,
    pub(crate) max_body_bytes: usize,
    pub(crate) operation_timeout: std::time::Duration,
    /// The longest one attempt may take.
    pub(crate) attempt_timeout: std::time::Duration,
    pub(crate) retry: crate::RetryPolicy,
    #[cfg(feature = "test-util")]
    pub(crate) responder: Option<crate::Responder>,
}

impl fmt::Debug for ClientState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientState")
            .field("credentials", &self.credentials)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("operation_timeout", &self.operation_timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl ClientState {
    /// The client's credentials.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The prepared credential of scheme `name`, when it is set.
    pub(crate) fn prepared(&self, scheme: &crate::wire::Scheme) -> Option<&Prepared> {
        let index = self.api.schemes.iter().position(|s| std::ptr::eq(s, scheme))?;
        self.prepared.get(index)?.as_ref()
    }

    /// A copy with the credential `name` replaced, validated against `api`.
    pub fn with_credential(
        &self,
        api: &'static Api,
        name: &'static str,
        credential: Credential,
    ) -> Result<Self, Error> {
        let mut credentials = Credentials::clone(&self.credentials);
        credentials.set(name, credential);
        let prepared = credentials.prepare(api)?;
        Ok(ClientState {
            credentials: credentials.into(),
            prepared,
            ..self.clone()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credential_debugs_as_its_kind_only() {
        let token = Credential::Token(Secret::new("tok-123"));
        let basic = Credential::Basic {
            username: "alice".to_owned(),
            password: Secret::new("pw-456"),
        };
        assert_eq!(format!("{token:?}"), "Token(<redacted>)");
        assert_eq!(format!("{basic:?}"), "Basic(<redacted>)");
    }
}
