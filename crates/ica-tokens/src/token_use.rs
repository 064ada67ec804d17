//! Using a token on ICA's other endpoints: where it goes, what says it was
//! refused, and (feature `middleware`) a `reqwest-middleware` layer doing both.

use api_tokens_runtime::{Error, Refusal, Token, TokenPlacement};

/// Where ICA expects a token on its other endpoints: `Authorization: Bearer <JWT>` (vendors.md §2.2: `JwtAuth`, a bearer JWT).
pub const TOKEN_PLACEMENT: TokenPlacement = TokenPlacement::Bearer;

/// What says ICA refused a token there: HTTP 401 `application/problem+json` (vendors.md §2.3: `UnauthorizedException (401)`).
pub const TOKEN_REFUSAL: Refusal = Refusal::statuses(&[401]);

/// `token` as the header ICA expects on its other endpoints, the value marked
/// sensitive: for a `reqwest` client of your own. An `InvalidArgument` error when the
/// token cannot go in a header.
pub fn token_header(token: &Token) -> Result<(http::HeaderName, http::HeaderValue), Error> {
    match TOKEN_PLACEMENT.header(token)? {
        Some(header) => Ok(header),
        None => Err(crate::sdk_error(
            api_tokens_runtime::ErrorKind::InvalidArgument,
            "this vendor takes its token in no header",
        )),
    }
}

/// A `reqwest-middleware` layer (feature `middleware`) that puts `source`'s token on
/// every request ([`TOKEN_PLACEMENT`]) and, when ICA refuses it ([`TOKEN_REFUSAL`]),
/// reports the refusal to `source` and sends the request once more with the new token.
///
/// ```no_run
/// # #[cfg(feature = "middleware")]
/// # async fn run(source: std::sync::Arc<impl api_tokens_runtime::TokenSource + 'static>) -> Result<(), Box<dyn std::error::Error>> {
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(ica_tokens::middleware(source))
///     .build();
/// # let _ = client;
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "middleware")]
pub fn middleware<S: api_tokens_runtime::TokenSource + 'static>(
    source: std::sync::Arc<S>,
) -> api_tokens_runtime::TokenMiddleware<S> {
    api_tokens_runtime::TokenMiddleware::new(source, TOKEN_PLACEMENT, TOKEN_REFUSAL)
}
