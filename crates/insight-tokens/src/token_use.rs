//! Using a token on Insight.io's other endpoints: where it goes, what says it was
//! refused, and (feature `middleware`) a `reqwest-middleware` layer doing both.

use api_tokens_runtime::{Error, Refusal, Token, TokenPlacement};

/// Where Insight.io expects a token on its other endpoints: `X-Auth-Token: <token>` (vendors.md §5.2).
pub const TOKEN_PLACEMENT: TokenPlacement = TokenPlacement::Header("x-auth-token");

/// What says Insight.io refused a token there: HTTP 401 `{"error":"Credentials required"}` (vendors.md §5.2).
pub const TOKEN_REFUSAL: Refusal = Refusal::statuses(&[401]);

/// `token` (a lifecycle's) as the header Insight.io expects, the value marked sensitive:
/// [`auth_header`](crate::auth_header) for a [`Token`].
pub fn token_header(token: &Token) -> Result<(http::HeaderName, http::HeaderValue), Error> {
    crate::auth_header(token.secret())
}

/// A `reqwest-middleware` layer (feature `middleware`) that puts `source`'s token on
/// every request ([`TOKEN_PLACEMENT`]) and, when Insight.io refuses it ([`TOKEN_REFUSAL`]),
/// reports the refusal to `source` and sends the request once more with the new token.
#[cfg(feature = "middleware")]
pub fn middleware<S: api_tokens_runtime::TokenSource + 'static>(
    source: std::sync::Arc<S>,
) -> api_tokens_runtime::TokenMiddleware<S> {
    api_tokens_runtime::TokenMiddleware::new(source, TOKEN_PLACEMENT, TOKEN_REFUSAL)
}
