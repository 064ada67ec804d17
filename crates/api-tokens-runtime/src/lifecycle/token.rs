//! [`Token`]: a token's secret and what is known of its expiry.

use std::fmt;
use std::time::{Duration, SystemTime};

use crate::secret::Secret;

/// What is known of when a token expires, on this machine's clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Expiry {
    /// The vendor documents that it does not expire by itself (an Insight.io token, a
    /// Fastly token created without `expires_at`).
    Never,
    /// It expires at this time.
    At(SystemTime),
    /// The answer said nothing readable about it (a JWT whose `exp` is missing, negative
    /// or not a number). A [`CachedTokenSource`](crate::CachedTokenSource) replaces such
    /// a token after [`RefreshPolicy::unknown_expiry_refresh`](crate::RefreshPolicy) and
    /// serves it for at most twice that, never treating it as everlasting.
    Unknown,
}

/// A token and what is known of its expiry, on this machine's clock (an expiry the
/// server gave by its own clock is converted when the token is made; see
/// [`ServerClock`](crate::ServerClock)).
///
/// `Debug` shows the expiry, never the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    secret: Secret,
    expiry: Expiry,
    issued_at: Option<SystemTime>,
}

impl Token {
    /// A token expiring at `expires_at`; `None` means it does not expire by itself (for a
    /// token whose expiry could not be read, use [`Token::with_expiry`] and
    /// [`Expiry::Unknown`]).
    pub fn new(secret: impl Into<Secret>, expires_at: Option<SystemTime>) -> Self {
        let expiry = match expires_at {
            Some(at) => Expiry::At(at),
            None => Expiry::Never,
        };
        Token::with_expiry(secret, expiry)
    }

    /// A token with `expiry`.
    pub fn with_expiry(secret: impl Into<Secret>, expiry: Expiry) -> Self {
        Token {
            secret: secret.into(),
            expiry,
            issued_at: None,
        }
    }

    /// The same token, known to have been issued at `issued_at` (this machine's clock).
    /// With it, a refresh policy can tell a short-lived token (refreshed at half its
    /// life) from a long-lived one close to its end (refreshed at once).
    pub fn with_issued_at(mut self, issued_at: SystemTime) -> Self {
        self.issued_at = Some(issued_at);
        self
    }

    /// The token itself.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// When it expires: `None` when it does not, or when that is unknown (see
    /// [`Token::expiry`]).
    pub fn expires_at(&self) -> Option<SystemTime> {
        match self.expiry {
            Expiry::At(at) => Some(at),
            Expiry::Never | Expiry::Unknown => None,
        }
    }

    /// What is known of its expiry.
    pub fn expiry(&self) -> Expiry {
        self.expiry
    }

    /// When it was issued, if known.
    pub fn issued_at(&self) -> Option<SystemTime> {
        self.issued_at
    }

    /// Its whole life, issue to expiry, when both are known.
    pub fn lifetime(&self) -> Option<Duration> {
        self.expires_at()?.duration_since(self.issued_at?).ok()
    }

    /// The expiry in RFC 3339 (`2026-11-27T10:00:00Z`), if it expires (and falls
    /// within the years RFC 3339 can write).
    pub fn expires_at_rfc3339(&self) -> Option<String> {
        crate::time::rfc3339(self.expires_at()?)
    }

    /// Whether it is still valid at `now`, as far as is known (a token that does not
    /// expire, or whose expiry is unknown, is).
    pub fn is_valid_at(&self, now: SystemTime) -> bool {
        self.expires_at().is_none_or(|at| now < at)
    }

    /// The token, for building a client with it.
    pub fn into_secret(self) -> Secret {
        self.secret
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("secret", &self.secret)
            .field("expiry", &self.expiry)
            .field("issued_at", &self.issued_at)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiries_print_as_rfc3339() {
        let token = Token::new("t", Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_720_591_967)));
        assert_eq!(token.expires_at_rfc3339().as_deref(), Some("2024-07-10T06:12:47Z"));
        assert_eq!(Token::new("t", None).expires_at_rfc3339(), None);
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let token = Token::new("s3cr3t-value", Some(SystemTime::UNIX_EPOCH));
        let text = format!("{token:?}");
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(text.contains("expiry"), "{text}");
    }

    #[test]
    fn a_lifetime_needs_both_ends() {
        let issued = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let token = Token::new("t", Some(issued + Duration::from_secs(60)));
        assert_eq!(token.lifetime(), None);
        assert_eq!(token.issued_at(), None);
        assert_eq!(token.clone().with_issued_at(issued).issued_at(), Some(issued));
        assert_eq!(
            token.clone().with_issued_at(issued).lifetime(),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            Token::with_expiry("t", Expiry::Unknown)
                .with_issued_at(issued)
                .lifetime(),
            None
        );
        assert!(Token::with_expiry("t", Expiry::Unknown).is_valid_at(SystemTime::now()));
        assert!(!token.is_valid_at(issued + Duration::from_secs(60)));
        assert!(token.is_valid_at(issued + Duration::from_secs(59)));
    }
}
