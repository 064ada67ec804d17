//! [`SharedStore`]: the seam beneath the in-process cache where a store shared by many
//! processes plugs in (`api-tokens-redis`), with what crosses it: the [`Identity`] a
//! token belongs to, and a token or a failure as bytes ([`encode_token`],
//! [`encode_failure`]), which the store encrypts before they leave the process.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::token::{Expiry, Token};
use crate::error::ErrorKind;
use crate::secret::Secret;

/// What a token is shared by: the vendor and everything that makes two workers' tokens
/// interchangeable (base URL, principal, graph, tenant, scope, lifetime, and for
/// DoCluster the address the server sees). Two workers share a token exactly when their
/// identities are equal.
///
/// A store must not show any part in clear: the Redis store names its keys with a
/// keyed hash of [`Identity::canonical`]. Parts given with [`Identity::with_secret`]
/// (an API key that is the principal) are secrets: [`Identity::parts`] leaves them out,
/// and `Debug` shows the vendor and the parts' names only.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    vendor: &'static str,
    parts: Vec<(&'static str, Part)>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum Part {
    Plain(String),
    Secret(Secret),
}

impl Part {
    fn bytes(&self) -> &str {
        match self {
            Part::Plain(value) => value,
            Part::Secret(secret) => secret.expose(),
        }
    }
}

impl Identity {
    /// The identity of `vendor`'s tokens, with no part yet.
    pub fn new(vendor: &'static str) -> Self {
        Identity {
            vendor,
            parts: Vec::new(),
        }
    }

    /// The same, with the part `name` = `value` (a later part of the same name is kept
    /// beside the earlier one, never in its place).
    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.parts.push((name, Part::Plain(value.into())));
        self
    }

    /// The same, with a part that is a secret (the credential that is the principal,
    /// such as an API key): it tells identities apart in [`Identity::canonical`] only.
    pub fn with_secret(mut self, name: &'static str, secret: &Secret) -> Self {
        self.parts.push((name, Part::Secret(secret.clone())));
        self
    }

    /// The same, with the principal a client's credentials name: each API key, token
    /// or secret as a secret part, each HTTP Basic user by name with its password as a
    /// secret part (a worker given a wrong or old password is not of the fleet: it must
    /// neither take the fleet's token nor fail the fleet with its refusal).
    #[doc(hidden)]
    pub fn with_credentials(mut self, credentials: &crate::credentials::Credentials) -> Self {
        for (name, credential) in credentials.entries() {
            self = match credential {
                crate::credentials::Credential::Token(secret) => self.with_secret(name, secret),
                crate::credentials::Credential::Basic { username, password } => {
                    self.with(name, username.clone()).with_secret(name, password)
                }
            };
        }
        self
    }

    /// The same, with the user name of each HTTP Basic credential (and nothing else of
    /// the credentials): for identities that must not change when a password does.
    #[doc(hidden)]
    pub fn with_usernames(mut self, credentials: &crate::credentials::Credentials) -> Self {
        for (name, credential) in credentials.entries() {
            if let crate::credentials::Credential::Basic { username, .. } = credential {
                self = self.with(name, username.clone());
            }
        }
        self
    }

    /// The vendor.
    pub fn vendor(&self) -> &'static str {
        self.vendor
    }

    /// The parts that are not secrets, in the order they were added.
    pub fn parts(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.parts.iter().filter_map(|(name, value)| match value {
            Part::Plain(value) => Some((*name, value.as_str())),
            Part::Secret(_) => None,
        })
    }

    /// One byte string standing for the identity, and for no other: every field
    /// length-prefixed, so that no two identities give the same bytes. It holds the
    /// secret parts: a store hashes it under a key of its own and never keeps it.
    pub fn canonical(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        let mut field = |text: &str| {
            bytes.extend_from_slice(&(text.len() as u64).to_be_bytes());
            bytes.extend_from_slice(text.as_bytes());
        };
        field("api-tokens identity v1");
        field(self.vendor);
        for (name, value) in &self.parts {
            field(name);
            field(value.bytes());
        }
        bytes
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.parts.iter().map(|(name, _)| *name).collect();
        f.debug_struct("Identity")
            .field("vendor", &self.vendor)
            .field("parts", &names)
            .finish()
    }
}

/// What a store holds for one identity.
#[derive(Default)]
#[non_exhaustive]
pub struct Stored {
    /// The token's write number: 0 before the first; each accepted write adds one. A
    /// write names the number it replaces (fencing), so a slow former lock holder never
    /// overwrites a newer token.
    pub generation: u64,
    /// The token, as [`encode_token`] gave it, decrypted; `None` without one, or when
    /// its value could not be read (wrong format, tampered): a miss, replaced by the
    /// next write.
    pub token: Option<Vec<u8>>,
    /// The value was written under an encryption key this process does not have (one
    /// of the two is configured wrong): this process loads a token of its own and
    /// leaves the value alone, so that the others are not disturbed.
    pub foreign: bool,
    /// How long the store keeps the token still, by the store's own clock: a reader
    /// never serves it longer, whatever the expiry its writer's clock gave it.
    pub ttl: Option<Duration>,
}

impl Stored {
    /// Nothing stored: generation 0, no token.
    pub fn empty() -> Self {
        Stored::default()
    }
}

impl fmt::Debug for Stored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stored")
            .field("generation", &self.generation)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("foreign", &self.foreign)
            .field("ttl", &self.ttl)
            .finish()
    }
}

/// A store operation that failed: the store is unreachable, slow or answered
/// something unusable. The cache then loads on its own (see [`SharedCache`]).
///
/// [`SharedCache`]: crate::SharedCache
#[derive(Clone, Debug)]
pub struct StoreError {
    message: String,
}

impl StoreError {
    /// An error saying `message` (which must hold no secret).
    pub fn new(message: impl Into<String>) -> Self {
        StoreError {
            message: message.into(),
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StoreError {}

/// The future of a [`SharedStore`] operation.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// A store shared by many processes, beneath each process's in-process cache: what
/// `api-tokens-redis` implements. The protocol (who loads, who waits, fencing,
/// fallback) is the runtime's ([`SharedCache`](crate::SharedCache)); a store only keeps
/// three things per identity, atomically: a token with its generation, a lock with its
/// owner, and a failure marker.
///
/// Bytes cross this seam in clear, inside the process; a store that sends them
/// anywhere encrypts them first.
pub trait SharedStore: Send + Sync + fmt::Debug {
    /// What is stored for `identity`: its token (the one read of a hit).
    fn read<'a>(&'a self, identity: &'a Identity) -> StoreFuture<'a, Stored>;

    /// The failure marker of `identity`, while the fleet backs off ([`encode_failure`]):
    /// asked only when the token read is of no use to the caller.
    fn read_failure<'a>(&'a self, identity: &'a Identity) -> StoreFuture<'a, Option<Vec<u8>>>;

    /// Takes the lock of `identity` for `owner` unless someone holds it: `true` if
    /// taken. It ends by itself after `ttl`. A lock that would never end (no expiry, or
    /// not a lock at all) is stale and taken over.
    fn try_lock<'a>(&'a self, identity: &'a Identity, owner: &'a str, ttl: Duration) -> StoreFuture<'a, bool>;

    /// Extends the lock of `identity` to end `ttl` from now, if `owner` still holds it
    /// (compare-and-expire): `true` if it did. A holder calls it while its load runs, so
    /// the lock ends soon after a holder that died and never under one that lives.
    fn extend_lock<'a>(&'a self, identity: &'a Identity, owner: &'a str, ttl: Duration) -> StoreFuture<'a, bool>;

    /// Stores `token` as generation `replaces + 1`, kept for `ttl`, if the generation
    /// stored is still `replaces` (fencing); clears the failure marker and releases the
    /// lock if `owner` holds it. `true` if written.
    fn write<'a>(
        &'a self,
        identity: &'a Identity,
        owner: &'a str,
        replaces: u64,
        token: &'a [u8],
        ttl: Duration,
    ) -> StoreFuture<'a, bool>;

    /// Sets the failure marker to `failure` for `ttl`, and releases the lock if `owner`
    /// holds it.
    fn fail<'a>(
        &'a self,
        identity: &'a Identity,
        owner: &'a str,
        failure: &'a [u8],
        ttl: Duration,
    ) -> StoreFuture<'a, ()>;

    /// Releases the lock if `owner` holds it (compare-and-delete).
    fn unlock<'a>(&'a self, identity: &'a Identity, owner: &'a str) -> StoreFuture<'a, ()>;
}

/// `token` as bytes (JSON: its secret, expiry and issue time in Unix nanoseconds), to
/// be encrypted by the store.
pub fn encode_token(token: &Token) -> Vec<u8> {
    let expiry = match token.expiry() {
        Expiry::Never => json!("never"),
        Expiry::Unknown => json!("unknown"),
        Expiry::At(at) => json!(unix_ns(at)),
    };
    let value = json!({
        "secret": token.secret().expose(),
        "expiry": expiry,
        "issued_at": token.issued_at().map(unix_ns),
    });
    serde_json::to_vec(&value).unwrap_or_default()
}

/// The token [`encode_token`] gave `bytes` for; `None` for anything else.
pub fn decode_token(bytes: &[u8]) -> Option<Token> {
    let value: Value = serde_json::from_slice(bytes).ok()?;
    let secret = value.get("secret")?.as_str()?;
    if secret.is_empty() {
        return None;
    }
    let expiry = match value.get("expiry")? {
        Value::String(s) if s == "never" => Expiry::Never,
        Value::String(s) if s == "unknown" => Expiry::Unknown,
        other => Expiry::At(from_unix_ns(other.as_u64()?)?),
    };
    let token = Token::with_expiry(Secret::new(secret), expiry);
    Some(match value.get("issued_at").and_then(Value::as_u64) {
        Some(ns) => token.with_issued_at(from_unix_ns(ns)?),
        None => token,
    })
}

/// A load that failed in some process of the fleet: what the others get while the
/// fleet backs off.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Failure {
    /// The error's kind.
    pub kind: ErrorKind,
    /// Its message (an [`Error`](crate::Error)'s `Display`, which holds no secret).
    pub message: String,
    /// Failed loads in a row, across the fleet: the backoff doubles with each.
    pub failures: u32,
    /// The fleet backs off until then; a marker read later (a copy replayed) is void.
    pub until: SystemTime,
}

impl Failure {
    /// A failure of `kind` saying `message`, the `failures`-th in a row, backing the
    /// fleet off until `until`.
    pub fn new(kind: ErrorKind, message: impl Into<String>, failures: u32, until: SystemTime) -> Self {
        Failure {
            kind,
            message: message.into(),
            failures,
            until,
        }
    }
}

/// `failure` as bytes (JSON), to be encrypted by the store.
pub fn encode_failure(failure: &Failure) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "kind": kind_name(failure.kind),
        "message": failure.message,
        "failures": failure.failures,
        "until": unix_ns(failure.until),
    }))
    .unwrap_or_default()
}

/// The failure [`encode_failure`] gave `bytes` for.
pub fn decode_failure(bytes: &[u8]) -> Option<Failure> {
    let value: Value = serde_json::from_slice(bytes).ok()?;
    Some(Failure {
        kind: kind_from_name(value.get("kind")?.as_str()?)?,
        message: value.get("message")?.as_str()?.to_owned(),
        failures: u32::try_from(value.get("failures")?.as_u64()?).ok()?,
        until: from_unix_ns(value.get("until")?.as_u64()?)?,
    })
}

const KINDS: [(ErrorKind, &str); 10] = [
    (ErrorKind::InvalidArgument, "invalid_argument"),
    (ErrorKind::MissingCredentials, "missing_credentials"),
    (ErrorKind::Transport, "transport"),
    (ErrorKind::Timeout, "timeout"),
    (ErrorKind::Vendor, "vendor"),
    (ErrorKind::UnexpectedStatus, "unexpected_status"),
    (ErrorKind::InvalidBody, "invalid_body"),
    (ErrorKind::BodyTooLarge, "body_too_large"),
    (ErrorKind::TokenExpired, "token_expired"),
    (ErrorKind::Closed, "closed"),
];

fn kind_name(kind: ErrorKind) -> &'static str {
    KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or("transport", |(_, name)| name)
}

fn kind_from_name(name: &str) -> Option<ErrorKind> {
    KINDS.iter().find(|(_, n)| *n == name).map(|(kind, _)| *kind)
}

/// Nanoseconds since the Unix epoch, so that a token survives its encoding exactly
/// (a `u64` holds them until 2554).
fn unix_ns(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn from_unix_ns(ns: u64) -> Option<SystemTime> {
    UNIX_EPOCH.checked_add(Duration::from_nanos(ns))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_survives_its_encoding() {
        let at = UNIX_EPOCH + Duration::from_nanos(1_800_000_000_123_456_789);
        for expiry in [Expiry::Never, Expiry::Unknown, Expiry::At(at)] {
            let token = Token::with_expiry("s\"ecret", expiry);
            assert_eq!(decode_token(&encode_token(&token)), Some(token.clone()));
            let issued = token.with_issued_at(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
            assert_eq!(decode_token(&encode_token(&issued)), Some(issued));
        }
    }

    #[test]
    fn anything_else_is_no_token() {
        for bytes in [
            &b""[..],
            b"null",
            b"{}",
            br#"{"secret":"","expiry":"never"}"#,
            br#"{"secret":"s"}"#,
            br#"{"secret":"s","expiry":"soon"}"#,
            br#"{"secret":"s","expiry":-1}"#,
        ] {
            assert_eq!(decode_token(bytes), None, "{}", String::from_utf8_lossy(bytes));
        }
    }

    #[test]
    fn a_failure_survives_its_encoding() {
        let until = UNIX_EPOCH + Duration::from_nanos(1_800_000_000_123_456_789);
        for (kind, _) in KINDS {
            let failure = Failure::new(kind, "m", 3, until);
            assert_eq!(decode_failure(&encode_failure(&failure)), Some(failure));
        }
        assert_eq!(
            decode_failure(br#"{"kind":"nonsense","message":"m","failures":1,"until":1}"#),
            None
        );
        assert_eq!(decode_failure(br#"{"kind":"vendor","message":"m"}"#), None);
    }

    #[test]
    fn identities_differ_by_every_field() {
        let base = Identity::new("v").with("a", "bc");
        let others = [
            Identity::new("w").with("a", "bc"),
            Identity::new("v").with("ab", "c"),
            Identity::new("v").with("a", "b").with("c", ""),
            Identity::new("v"),
        ];
        for other in others {
            assert_ne!(base.canonical(), other.canonical(), "{other:?}");
        }
        assert_eq!(base.canonical(), Identity::new("v").with("a", "bc").canonical());
        assert!(!format!("{base:?}").contains("bc"));
        assert_eq!(format!("{base:?}"), "Identity { vendor: \"v\", parts: [\"a\"] }");
        assert_eq!(base.vendor(), "v");
        assert_eq!(base.parts().collect::<Vec<_>>(), [("a", "bc")]);
        let mut stored = Stored::empty();
        stored.token = Some(b"secret-bytes".to_vec());
        let shown = format!("{stored:?}");
        assert!(
            shown.contains("<redacted>") && shown.contains("generation: 0") && !shown.contains("secret-bytes"),
            "{shown}"
        );
        let secret = Identity::new("v").with_secret("key", &Secret::new("k-1"));
        assert_ne!(
            secret.canonical(),
            Identity::new("v").with_secret("key", &Secret::new("k-2")).canonical()
        );
        assert_eq!(secret.parts().count(), 0);
        assert!(!format!("{secret:?}").contains("k-1"));
    }
}
