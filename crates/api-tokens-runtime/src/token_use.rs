//! Using a token on a vendor's *other* endpoints: where the vendor expects it
//! ([`TokenPlacement`]), what says it was refused ([`Refusal`]), and, with feature
//! `middleware`, a `reqwest-middleware` layer ([`TokenMiddleware`]) that puts a
//! [`TokenSource`]'s token there and, when the answer is a refusal, reports it to the
//! source and sends the request once more with the new token.

use http::{HeaderName, HeaderValue};

use crate::error::{Error, ErrorKind};
use crate::lifecycle::Token;

/// Where a vendor expects its token on its other endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenPlacement {
    /// A header holding the token itself (`Fastly-Key: <token>`).
    Header(&'static str),
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// A field of an `application/x-www-form-urlencoded` request body (DoCluster's
    /// `access_token`).
    FormField(&'static str),
}

impl TokenPlacement {
    /// The header name and value carrying `token`, the value marked sensitive (HTTP/2
    /// never indexes it, and `Debug` shows `Sensitive`); `None` for a form field.
    /// An `InvalidArgument` error when the token is empty or cannot go in a header (a
    /// line break or another control character), or the name is no header name.
    pub fn header(&self, token: &Token) -> Result<Option<(HeaderName, HeaderValue)>, Error> {
        let (name, value) = match self {
            TokenPlacement::Header(name) => (*name, token.secret().expose().to_owned()),
            TokenPlacement::Bearer => ("authorization", format!("Bearer {}", token.secret().expose())),
            TokenPlacement::FormField(_) => return Ok(None),
        };
        let invalid = || {
            Error::new(
                ErrorKind::InvalidArgument,
                "api-tokens",
                "the token is empty or holds a byte that cannot go in an HTTP header",
            )
        };
        if token.secret().is_empty() {
            return Err(invalid());
        }
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
        let mut value = HeaderValue::from_str(&value).map_err(|_| invalid())?;
        value.set_sensitive(true);
        Ok(Some((name, value)))
    }

    /// Puts `token` in `request`: sets the header (replacing one already there), or
    /// adds the form field to the body (replacing one already there).
    pub fn apply(&self, request: &mut reqwest::Request, token: &Token) -> Result<(), Error> {
        if let Some((name, value)) = self.header(token)? {
            request.headers_mut().insert(name, value);
            return Ok(());
        }
        let TokenPlacement::FormField(field) = self else {
            return Ok(());
        };
        let body = match request.body() {
            Some(body) => body.as_bytes().ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidArgument,
                    "api-tokens",
                    "a streamed body cannot take the token's form field",
                )
            })?,
            None => &[],
        };
        let mut form: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|_| {
            Error::new(
                ErrorKind::InvalidArgument,
                "api-tokens",
                "the request body is not a form the token can be added to",
            )
        })?;
        form.retain(|(name, _)| name != field);
        form.push(((*field).to_owned(), token.secret().expose().to_owned()));
        let encoded = serde_urlencoded::to_string(&form).map_err(|_| {
            Error::new(
                ErrorKind::InvalidArgument,
                "api-tokens",
                "the form could not be encoded",
            )
        })?;
        request.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        *request.body_mut() = Some(reqwest::Body::from(encoded));
        Ok(())
    }
}

/// What says a vendor refused the token on its other endpoints: any of these statuses,
/// or any of these fragments in the first 64 KiB of the body (an answer that announces
/// a longer body is not read).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Refusal {
    /// HTTP statuses that mean the token was refused (401).
    pub statuses: &'static [u16],
    /// Text in the body that means it (TigerGraph's `REST-10016` inside an HTTP 200,
    /// DoCluster's "Token expired please log in."). Empty: the body is never read.
    pub body_fragments: &'static [&'static str],
}

impl Refusal {
    /// A refusal told by `statuses` alone.
    pub const fn statuses(statuses: &'static [u16]) -> Self {
        Refusal {
            statuses,
            body_fragments: &[],
        }
    }

    /// A refusal told by `statuses` or by `body_fragments` in the body.
    pub const fn with_body(statuses: &'static [u16], body_fragments: &'static [&'static str]) -> Self {
        Refusal {
            statuses,
            body_fragments,
        }
    }
}

#[cfg(feature = "middleware")]
pub use layer::TokenMiddleware;

#[cfg(feature = "middleware")]
mod layer {
    use std::sync::Arc;

    use http::Extensions;
    use reqwest::{Request, Response};
    use reqwest_middleware::{Middleware, Next};

    use super::{Refusal, TokenPlacement};
    use crate::lifecycle::{Token, TokenSource};

    /// The most of a body read to look for a refusal in it.
    const BODY_LIMIT: usize = 64 * 1024;

    /// A `reqwest-middleware` layer (feature `middleware`) that puts a
    /// [`TokenSource`]'s token where the vendor expects it. When the answer is a
    /// refusal ([`Refusal`]), the token is reported refused to the source
    /// ([`TokenSource::report_refused`]: compare-and-invalidate, so many requests refused
    /// with one token cause one refresh) and the request is sent once more with the
    /// source's new token; a request whose body cannot be sent twice (a stream) is not.
    /// Any other answer is passed through: as it came when its body need not be read,
    /// else rebuilt with the same status, version, headers and body.
    ///
    /// Each vendor crate builds one with its placement and refusal
    /// (`fastly_tokens::middleware(source)`, …).
    pub struct TokenMiddleware<S> {
        source: Arc<S>,
        placement: TokenPlacement,
        refusal: Refusal,
    }

    impl<S> TokenMiddleware<S> {
        /// A layer putting `source`'s token at `placement`, and retrying once on `refusal`.
        pub fn new(source: Arc<S>, placement: TokenPlacement, refusal: Refusal) -> Self {
            TokenMiddleware {
                source,
                placement,
                refusal,
            }
        }
    }

    impl<S> std::fmt::Debug for TokenMiddleware<S> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("TokenMiddleware")
                .field("placement", &self.placement)
                .field("refusal", &self.refusal)
                .finish_non_exhaustive()
        }
    }

    impl<S: TokenSource + 'static> TokenMiddleware<S> {
        async fn send(
            &self,
            mut request: Request,
            extensions: &mut Extensions,
            next: Next<'_>,
        ) -> reqwest_middleware::Result<(Token, Response)> {
            let token = self
                .source
                .token()
                .await
                .map_err(reqwest_middleware::Error::middleware)?;
            self.placement
                .apply(&mut request, &token)
                .map_err(reqwest_middleware::Error::middleware)?;
            let response = next.run(request, extensions).await?;
            Ok((token, response))
        }

        /// Whether `response` is a refusal, and the response to hand on.
        async fn refused(&self, response: Response) -> reqwest_middleware::Result<(bool, Response)> {
            if self.refusal.statuses.contains(&response.status().as_u16()) {
                return Ok((true, response));
            }
            if self.refusal.body_fragments.is_empty()
                || response.content_length().is_some_and(|l| l > BODY_LIMIT as u64)
            {
                return Ok((false, response));
            }
            let status = response.status();
            let version = response.version();
            let headers = response.headers().clone();
            let body = response.bytes().await?;
            let text = String::from_utf8_lossy(&body[..body.len().min(BODY_LIMIT)]);
            let refused = self.refusal.body_fragments.iter().any(|f| text.contains(f));
            let mut rebuilt = http::Response::new(body);
            *rebuilt.status_mut() = status;
            *rebuilt.version_mut() = version;
            *rebuilt.headers_mut() = headers;
            Ok((refused, Response::from(rebuilt)))
        }
    }

    #[async_trait::async_trait]
    impl<S: TokenSource + 'static> Middleware for TokenMiddleware<S> {
        async fn handle(
            &self,
            request: Request,
            extensions: &mut Extensions,
            next: Next<'_>,
        ) -> reqwest_middleware::Result<Response> {
            let again = request.try_clone();
            let (token, response) = self.send(request, extensions, next.clone()).await?;
            let (refused, response) = self.refused(response).await?;
            if !refused {
                return Ok(response);
            }
            // Reported whether or not the request can be sent again.
            self.source.report_refused(&token);
            let Some(again) = again else {
                return Ok(response);
            };
            tracing::debug!(
                target: "api_tokens::lifecycle",
                status = response.status().as_u16(),
                "the server refused the token: reported, and the request sent once more"
            );
            let (_, response) = self.send(again, extensions, next).await?;
            Ok(response)
        }
    }
}
