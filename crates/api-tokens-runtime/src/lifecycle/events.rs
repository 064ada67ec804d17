//! [`TokenEvent`]: a new token, and why it changed, for watchers of a lifecycle.

/// Why a lifecycle's token changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenChange {
    /// The first token: there was none.
    First,
    /// Refreshed ahead of expiry, while the previous one was still served.
    Ahead,
    /// The previous token had expired.
    Expired,
    /// The previous token was refused by the server (reported with
    /// [`TokenSource::report_refused`](crate::TokenSource::report_refused)) or forgotten.
    Refused,
    /// Given from outside the cache: a login, a rotation asked for, a token stored.
    Stored,
    /// Another process of the fleet replaced it (through a
    /// [`SharedCache`](crate::SharedCache)).
    Shared,
}

/// A new token of a lifecycle, and why it changed: what a service persists (a rotated
/// Fastly token) or hands to other clients (a new ICA JWT).
///
/// `Debug` shows the token's expiry, never its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenEvent {
    /// The new token.
    pub token: super::Token,
    /// Why it changed.
    pub change: TokenChange,
}

/// What a lifecycle's `subscribe()` returns: a `tokio::sync::watch` receiver holding the
/// latest [`TokenEvent`] (`None` before the first); `changed().await` wakes on the next,
/// `borrow()` reads it.
pub type TokenEvents = tokio::sync::watch::Receiver<Option<TokenEvent>>;
