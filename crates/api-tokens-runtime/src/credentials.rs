//! Credentials set once on a client, and the state every generated client carries.

use std::fmt;

use base64::Engine;
use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};

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

    /// Every scheme of `api` with its credential ready for requests (`None` where its
    /// credential is not set), in the order of `api.schemes`; or the error saying why
    /// a credential could never be sent: empty values, bytes a header cannot hold, a
    /// colon in a Basic user name, a credential of the wrong shape for its scheme. One
    /// match refuses or prepares each case.
    pub(crate) fn prepare(&self, api: &'static Api) -> Result<std::sync::Arc<[Option<Prepared>]>, Error> {
        let invalid = |what: String| Error::new(ErrorKind::InvalidArgument, api.vendor, what);
        let mut prepared = Vec::with_capacity(api.schemes.len());
        for scheme in api.schemes {
            let name = scheme.credential;
            let Some(credential) = self.get(name) else {
                prepared.push(None);
                continue;
            };
            let wrong_shape = || {
                invalid(format!(
                    "credential `{name}` has the wrong shape for scheme `{}`",
                    scheme.name
                ))
            };
            let ready = match (credential, scheme.place) {
                (Credential::Basic { username, password }, Place::Basic) => {
                    if username.is_empty() || password.is_empty() {
                        return Err(invalid(format!("credential `{name}`: empty user name or password")));
                    }
                    if username.contains(':') {
                        return Err(invalid(format!(
                            "credential `{name}`: a Basic user name cannot contain ':'"
                        )));
                    }
                    if username.chars().any(char::is_control) {
                        return Err(invalid(format!(
                            "credential `{name}`: control character in the user name"
                        )));
                    }
                    let value = format!("Basic {}", basic_encoded(username, password));
                    Prepared::Header(
                        AUTHORIZATION,
                        sensitive(&value).map_err(|why| invalid(format!("credential `{name}`: {why}")))?,
                    )
                }
                (Credential::Token(secret), place) => {
                    if secret.is_empty() {
                        return Err(invalid(format!("credential `{name}` is empty")));
                    }
                    // A server (or a proxy) trims header values: the token it would
                    // judge is not the one given.
                    if secret.expose().trim() != secret.expose() {
                        return Err(invalid(format!("credential `{name}` begins or ends with white space")));
                    }
                    let header = |value: &str| {
                        sensitive(value).map_err(|_| {
                            invalid(format!(
                                "credential `{name}` holds a byte that cannot go in an HTTP header (CR, LF or another control character)"
                            ))
                        })
                    };
                    match place {
                        Place::Header(header_name) => {
                            let header_name = HeaderName::from_bytes(header_name.as_bytes()).map_err(|_| {
                                invalid(format!("scheme `{}`: bad header name `{header_name}`", scheme.name))
                            })?;
                            Prepared::Header(header_name, header(secret.expose())?)
                        }
                        Place::Query(field) => Prepared::Query(field, secret.clone()),
                        Place::FormField(field) => Prepared::FormField(field, secret.clone()),
                        Place::JsonField(field) => Prepared::JsonField(field, secret.clone()),
                        Place::Body => Prepared::Body(secret.clone()),
                        Place::Bearer => {
                            Prepared::Header(AUTHORIZATION, header(&format!("Bearer {}", secret.expose()))?)
                        }
                        Place::Basic => return Err(wrong_shape()),
                    }
                }
                (Credential::Basic { .. }, _) => return Err(wrong_shape()),
            };
            prepared.push(Some(ready));
        }
        Ok(prepared.into())
    }
}

/// A scheme's credential, ready for requests.
#[derive(Clone)]
pub(crate) enum Prepared {
    /// A header, its value marked sensitive (HTTP/2 never indexes it).
    Header(HeaderName, HeaderValue),
    /// A query parameter.
    Query(&'static str, Secret),
    /// A field of a form body.
    FormField(&'static str, Secret),
    /// A top-level field of a JSON object body.
    JsonField(&'static str, Secret),
    /// The whole body.
    Body(Secret),
}

/// `value` as a header value marked sensitive.
fn sensitive(value: &str) -> Result<HeaderValue, &'static str> {
    let mut value = HeaderValue::from_str(value).map_err(|_| "a credential cannot go in an HTTP header")?;
    value.set_sensitive(true);
    Ok(value)
}

/// The base64 of `user:password`, as HTTP Basic sends it.
pub(crate) fn basic_encoded(username: &str, password: &Secret) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{username}:{}", password.expose()))
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
    /// The `reqwest::Client` is the user's (`http_client`): its timeout, if it has one, is
    /// not the attempt timeout, so every attempt is given its own.
    pub(crate) user_client: bool,
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
    use crate::wire::{ErrorFields, Scheme};

    static API: Api = Api {
        vendor: "Test",
        schemes: &[
            Scheme {
                name: "basicAuth",
                credential: "basic",
                place: Place::Basic,
                body_fields: &[],
            },
            Scheme {
                name: "apiKey",
                credential: "api_key",
                place: Place::Header("x-api-key"),
                body_fields: &[],
            },
            Scheme {
                name: "querySecret",
                credential: "secret",
                place: Place::Query("secret"),
                body_fields: &[],
            },
        ],
        errors: ErrorFields {
            code: &[],
            message: &[],
        },
        vendor_messages: &[],
        operations: &[],
        categories: &[],
    };

    fn with(name: &'static str, credential: Credential) -> Result<std::sync::Arc<[Option<Prepared>]>, Error> {
        let mut credentials = Credentials::default();
        credentials.set(name, credential);
        credentials.prepare(&API)
    }

    fn basic(username: &str, password: &str) -> Credential {
        Credential::Basic {
            username: username.to_owned(),
            password: Secret::new(password),
        }
    }

    #[test]
    fn each_credential_is_refused_or_prepared() {
        for (username, password) in [("", "pw"), ("u", ""), ("a:b", "pw"), ("a\nb", "pw")] {
            let error = with("basic", basic(username, password)).err().expect(username);
            assert_eq!(error.kind(), ErrorKind::InvalidArgument);
        }
        for token in ["", " t", "t ", "a\rb"] {
            let error = with("api_key", Credential::Token(Secret::new(token)))
                .err()
                .expect(token);
            assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{token:?}");
        }
        // A control character cannot go in a header, but can in a query.
        assert!(with("secret", Credential::Token(Secret::new("a\u{1}b"))).is_ok());
        // The wrong shape for the scheme, either way.
        assert!(with("basic", Credential::Token(Secret::new("t"))).is_err());
        assert!(with("api_key", basic("u", "p")).is_err());
        let prepared = with("basic", basic("u", "p")).expect("prepared");
        assert!(
            matches!(&prepared[..], [Some(Prepared::Header(name, value)), None, None]
            if name == AUTHORIZATION && value.to_str().ok() == Some("Basic dTpw") && value.is_sensitive())
        );
        let prepared = with("api_key", Credential::Token(Secret::new("k"))).expect("prepared");
        assert!(
            matches!(&prepared[..], [None, Some(Prepared::Header(name, value)), None]
            if name == "x-api-key" && value.to_str().ok() == Some("k"))
        );
    }

    #[test]
    fn credentials_and_client_state_debug_as_names_and_kinds() {
        let mut credentials = Credentials::default();
        credentials.set("api_key", Credential::Token(Secret::new("k-123")));
        credentials.set("basic", basic("alice", "pw-456"));
        let shown = format!("{credentials:?}");
        assert_eq!(shown, r#"{"api_key": Token(<redacted>), "basic": Basic(<redacted>)}"#);
        let state = ClientState {
            api: &API,
            prepared: credentials.prepare(&API).expect("prepared"),
            credentials: credentials.into(),
            max_body_bytes: 1,
            operation_timeout: std::time::Duration::from_secs(1),
            attempt_timeout: std::time::Duration::from_secs(1),
            user_client: false,
            retry: crate::RetryPolicy::default(),
            #[cfg(feature = "test-util")]
            responder: None,
        };
        let shown = format!("{state:?}");
        assert!(
            shown.starts_with("ClientState { credentials: {\"api_key\": Token(<redacted>)"),
            "{shown}"
        );
        assert!(!shown.contains("k-123") && !shown.contains("pw-456") && !shown.contains("alice"));
    }

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
