//! The one error type of every vendor crate.

use std::any::Any;
use std::error::Error as StdError;
use std::fmt;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

/// What went wrong, recognisable without reading the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An argument or setting was refused before anything was sent (a byte that
    /// cannot go in a header, an empty credential, a malformed base URL).
    InvalidArgument,
    /// No configured credential satisfies the operation's security requirements;
    /// nothing was sent.
    MissingCredentials,
    /// The request could not be sent or its answer not received (connection refused,
    /// TLS failure, connection reset).
    Transport,
    /// The server did not answer within the configured timeout.
    Timeout,
    /// The vendor reported an error, with a documented HTTP status or inside a
    /// successful answer's body (TigerGraph `"error": true`, DoCluster `status`).
    Vendor,
    /// The server answered with an HTTP status the API does not document.
    UnexpectedStatus,
    /// The answer's body does not match the documented format.
    InvalidBody,
    /// The answer's body was larger than the configured limit and was not read.
    BodyTooLarge,
    /// A token source was given a token that had already expired when it arrived (by
    /// the server's own clock where the answer tells it): it was not handed out, and
    /// the source backs off before asking again.
    TokenExpired,
    /// The lifecycle has ended (a DoCluster session after `logout`): nothing is sent.
    Closed,
}

/// What a vendor error means for a program that keeps tokens, told apart by the spec's
/// `x-sdk-error-categories` rather than by matching the vendor's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Category {
    /// The token, credential or other thing named does not exist (Fastly's 404, a
    /// TigerGraph token already deleted).
    NotFound,
    /// The token or session has expired: get a new one (DoCluster's "Token expired").
    Expired,
    /// The credentials were refused (wrong password, invalid or foreign token, a JWT
    /// that may not be refreshed).
    Refused,
    /// The endpoint does not exist on this server: another server generation, or a wrong
    /// base URL (TigerGraph's HTTP 404 or `REST-1000`).
    EndpointAbsent,
    /// The token is bound to another client address (DoCluster binds a token to the IP
    /// address it was created from): this client cannot use it, and waiting does not
    /// help.
    AddressBound,
}

/// An error of an SDK call.
///
/// Its `Debug`, `Display` and `source()` chain never hold a secret: no URL (queries
/// may carry TigerGraph secrets), no request or response body, no header value.
/// The vendor's own code and message are kept, as [`Error::vendor_code`] and
/// [`Error::vendor_message`].
///
/// It is `Clone` (its vendor body and source are shared), so that one failed load of a
/// [`CachedTokenSource`](crate::CachedTokenSource) reaches every caller waiting on it.
#[derive(Clone)]
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Clone)]
struct Inner {
    kind: ErrorKind,
    vendor: &'static str,
    operation: Option<&'static str>,
    status: Option<StatusCode>,
    in_success_body: bool,
    code: Option<String>,
    message: Option<String>,
    detail: String,
    note: Option<&'static str>,
    category: Option<Category>,
    headers: Option<HeaderMap>,
    body: Option<std::sync::Arc<dyn Any + Send + Sync>>,
    source: Option<std::sync::Arc<dyn StdError + Send + Sync>>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, vendor: &'static str, detail: impl Into<String>) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                vendor,
                operation: None,
                status: None,
                in_success_body: false,
                code: None,
                message: None,
                detail: detail.into(),
                note: None,
                category: None,
                headers: None,
                body: None,
                source: None,
            }),
        }
    }

    /// An error raised by a vendor crate's hand-written layer (a lifecycle type), not by
    /// a call: plumbing for the vendor crates, not for users.
    #[doc(hidden)]
    pub fn from_sdk(kind: ErrorKind, vendor: &'static str, detail: impl Into<String>) -> Self {
        Error::new(kind, vendor, detail)
    }

    /// The same error, with `detail` said after the vendor's words (what a lifecycle
    /// type concluded from it): plumbing for the vendor crates, not for users.
    #[doc(hidden)]
    pub fn with_sdk_detail(self, detail: impl Into<String>) -> Self {
        self.with_detail(detail.into())
    }

    pub(crate) fn operation(mut self, id: &'static str) -> Self {
        self.inner.operation = Some(id);
        self
    }

    pub(crate) fn status(mut self, status: StatusCode, headers: Option<HeaderMap>) -> Self {
        self.inner.status = Some(status);
        self.inner.headers = headers;
        self
    }

    /// Sets the category from the first of `rules` this vendor answer matches.
    ///
    /// Only an answer the spec documents has one ([`ErrorKind::Vendor`]: a documented
    /// error status, or an error inside a successful answer's envelope): an undocumented
    /// status (a 500 that happens to carry "Token expired") has none, so that no
    /// lifecycle acts on an answer nobody documented.
    pub(crate) fn categorized(mut self, rules: &[crate::wire::CategoryRule]) -> Self {
        if self.inner.kind != ErrorKind::Vendor {
            return self;
        }
        let status = self.inner.status.map(|s| s.as_u16());
        let (code, message) = (self.inner.code.as_deref(), self.inner.message.as_deref());
        self.inner.category = rules
            .iter()
            .find(|rule| {
                status.is_some_and(|s| rule.statuses.contains(&s))
                    || code.is_some_and(|c| rule.codes.contains(&c))
                    || message.is_some_and(|m| rule.messages.iter().any(|f| m.contains(f)))
            })
            .map(|rule| rule.category);
        self
    }

    pub(crate) fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.inner.kind = kind;
        self
    }

    pub(crate) fn with_detail(mut self, detail: String) -> Self {
        self.inner.detail = detail;
        self
    }

    pub(crate) fn vendor_fields(mut self, code: Option<String>, message: Option<String>) -> Self {
        self.inner.code = code;
        self.inner.message = message;
        self
    }

    pub(crate) fn note(mut self, note: Option<&'static str>) -> Self {
        self.inner.note = note;
        self
    }

    pub(crate) fn in_success_body(mut self) -> Self {
        self.inner.in_success_body = true;
        self
    }

    pub(crate) fn body<T: Any + Send + Sync>(mut self, body: T) -> Self {
        self.inner.body = Some(std::sync::Arc::new(body));
        self
    }

    pub(crate) fn source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.inner.source = Some(std::sync::Arc::new(source));
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// What the vendor's error means (not found, expired, refused, endpoint absent,
    /// bound to another address), when the spec's `x-sdk-error-categories` say, and only
    /// for an answer the spec documents (never for an undocumented status): react to
    /// this, never to the vendor's message text.
    pub fn category(&self) -> Option<Category> {
        self.inner.category
    }

    /// The vendor whose API was called.
    pub fn vendor(&self) -> &'static str {
        self.inner.vendor
    }

    /// The operation (snake_case id, the method's name), when the error belongs to a call.
    pub fn operation_id(&self) -> Option<&'static str> {
        self.inner.operation
    }

    /// The HTTP status of the answer, when there was one.
    pub fn http_status(&self) -> Option<StatusCode> {
        self.inner.status
    }

    /// The headers of the answer, when there was one (Fastly's rate-limit headers live
    /// here). Not part of `Debug` or `Display`.
    pub fn headers(&self) -> Option<&HeaderMap> {
        self.inner.headers.as_ref()
    }

    /// The vendor's error code (`REST-10016`, `ICA_API_004`, `invalid_grant`).
    pub fn vendor_code(&self) -> Option<&str> {
        self.inner.code.as_deref()
    }

    /// The vendor's error message, as the vendor wrote it, less any secret of the
    /// request it repeats.
    ///
    /// Scrubbing rule: every secret the request carried (credentials, secret fields)
    /// of 4 characters or more is cut out in any letter case, form- or
    /// percent-encoded (either hex case), JSON-escaped or base64-encoded (also inside a
    /// longer base64 text); from 12 characters on, any 12-character piece of those
    /// forms is cut too, which catches truncated echoes. A message the spec documents
    /// word for word as the vendor's own (`x-sdk-vendor-messages`) is kept as it is,
    /// so a password that is an ordinary word does not cut "Token lookup failed"
    /// apart; any other coincidental match is cut, as a secret is never shown to find
    /// out.
    pub fn vendor_message(&self) -> Option<&str> {
        self.inner.message.as_deref()
    }

    /// What the spec adds about this vendor message, for example that a failed
    /// DoCluster logout has still invalidated the token.
    pub fn vendor_note(&self) -> Option<&'static str> {
        self.inner.note
    }

    /// Whether the vendor reported this error inside a successful (2xx) HTTP answer.
    pub fn is_in_success_body(&self) -> bool {
        self.inner.in_success_body
    }

    /// The vendor's error body, decoded into the type the spec documents for it
    /// (for example `fastly_tokens::types::ErrorBody` or `ica_tokens::types::Problem`).
    /// `None` when there was no body, it could not be decoded, or `T` is another type.
    ///
    /// Every string in it is scrubbed as [`Error::vendor_message`] is: a secret of the
    /// request echoed by the vendor reads `<redacted>`, and a number that was one
    /// becomes that string (so the body may then not decode, and this is `None`).
    pub fn vendor_body<T: Any>(&self) -> Option<&T> {
        self.inner.body.as_ref()?.downcast_ref::<T>()
    }

    /// Whether sending the same request again may succeed: transport failures,
    /// timeouts, and answers with HTTP 429, 502, 503 or 504 (whatever their body).
    pub fn is_retryable(&self) -> bool {
        match self.inner.kind {
            ErrorKind::Transport | ErrorKind::Timeout => true,
            ErrorKind::InvalidArgument | ErrorKind::MissingCredentials => false,
            _ => matches!(self.inner.status.map(|s| s.as_u16()), Some(429 | 502 | 503 | 504)),
        }
    }

    fn hint(&self) -> Option<&'static str> {
        let status = self.inner.status.map(|s| s.as_u16());
        Some(match (self.inner.kind, status) {
            (ErrorKind::InvalidArgument, _) => "fix the argument or setting and call again",
            (ErrorKind::MissingCredentials, _) => "configure one of these credentials on the ClientBuilder",
            (ErrorKind::Transport, _) => "check the base URL and the network, then retry",
            (ErrorKind::Timeout, _) => {
                "retry, or raise ClientBuilder::timeout (one attempt) or operation_timeout (the whole call)"
            }
            (ErrorKind::TokenExpired, _) => "check this machine's clock; the source backs off before asking again",
            (ErrorKind::Closed, _) => "start a new one",
            (ErrorKind::BodyTooLarge, _) => "raise ClientBuilder::max_body_bytes if such an answer is expected",
            (ErrorKind::InvalidBody, _) => {
                "check that the base URL points at this API and a server version it documents"
            }
            (_, Some(401 | 403)) => "check the credentials and their permissions",
            (_, Some(404)) => "check the identifiers and the base URL",
            (_, Some(429)) => "rate limited: wait, then retry",
            (_, Some(500..=599)) => "the server failed: retry later",
            _ => return None,
        })
    }
}

/// `Fastly get_token: refused with HTTP 404 Not Found: "Token lookup failed"; check the
/// identifiers and the base URL`: who, what happened, the vendor's own words, what to do.
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        write!(f, "{}", i.vendor)?;
        if let Some(op) = i.operation {
            write!(f, " {op}")?;
        }
        match (i.kind, i.status) {
            (ErrorKind::Vendor, Some(status)) if i.in_success_body => {
                write!(f, ": error reported inside an HTTP {status} answer")?
            }
            (ErrorKind::Vendor, Some(status)) => write!(f, ": refused with HTTP {status}")?,
            (ErrorKind::UnexpectedStatus, Some(status)) => write!(f, ": undocumented answer HTTP {status}")?,
            (ErrorKind::InvalidBody, Some(status)) => {
                write!(f, ": the HTTP {status} answer does not match the documented format")?
            }
            (ErrorKind::BodyTooLarge, Some(status)) => write!(f, ": the HTTP {status} answer is too large")?,
            (ErrorKind::InvalidArgument, _) => f.write_str(": invalid argument")?,
            (ErrorKind::MissingCredentials, _) => f.write_str(": no usable credentials")?,
            (ErrorKind::Transport, _) => f.write_str(": the request failed in transport")?,
            (ErrorKind::Timeout, _) => f.write_str(": timed out")?,
            (ErrorKind::TokenExpired, _) => f.write_str(": the token had expired on arrival")?,
            (ErrorKind::Closed, _) => f.write_str(": the lifecycle has ended")?,
            (kind, _) => write!(f, ": {kind:?}")?,
        }
        if i.code.is_some() || i.message.is_some() {
            f.write_str(":")?;
        }
        if let Some(code) = &i.code {
            write!(f, " {code}")?;
        }
        // A message that only repeats the code (a Problem without `detail`) is said once.
        if let Some(message) = i.message.as_ref().filter(|m| Some(*m) != i.code.as_ref()) {
            write!(f, " {message:?}")?;
        }
        if !i.detail.is_empty() {
            write!(f, " ({})", i.detail)?;
        }
        if let Some(note) = i.note {
            write!(f, "; note: {note}")?;
        }
        if let Some(hint) = self.hint() {
            write!(f, "; {hint}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("Error")
            .field("kind", &i.kind)
            .field("vendor", &i.vendor)
            .field("operation", &i.operation)
            .field("status", &i.status)
            .field("code", &i.code)
            .field("message", &i.message)
            .field("detail", &i.detail)
            .field("note", &i.note)
            .field("category", &i.category)
            .finish_non_exhaustive()
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner.source.as_deref().map(|s| s as &(dyn StdError + 'static))
    }
}
