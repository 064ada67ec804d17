//! Using a token on DoCluster's other endpoints: where it goes, what says it was
//! refused, and (feature `middleware`) a `reqwest-middleware` layer doing both.

use api_tokens_runtime::{Error, Refusal, Token, TokenPlacement};

/// Where DoCluster expects a token on its other endpoints: the form field `access_token` of every POST (vendors.md §3.3: no header).
pub const TOKEN_PLACEMENT: TokenPlacement = TokenPlacement::FormField("access_token");

/// What says DoCluster refused a token there: an HTTP 200 envelope saying the token expired or is unknown (vendors.md §3.3, and `wrong token` on the later server, §3.5); a token bound to another IP address is not a refusal a new token would cure, and is passed through.
pub const TOKEN_REFUSAL: Refusal = Refusal::with_body(
    &[],
    &[
        "Token expired please log in.",
        "Token not found, please log in.",
        "wrong token",
    ],
);

/// Puts `token` in `request` as DoCluster expects it (the form field `access_token`):
/// for a `reqwest` client of your own.
pub fn apply_token(request: &mut reqwest::Request, token: &Token) -> Result<(), Error> {
    TOKEN_PLACEMENT.apply(request, token)
}

/// A `reqwest-middleware` layer (feature `middleware`) that puts `source`'s token on
/// every request ([`TOKEN_PLACEMENT`]) and, when DoCluster refuses it ([`TOKEN_REFUSAL`]),
/// reports the refusal to `source` and sends the request once more with the new token.
///
/// ```no_run
/// # #[cfg(feature = "middleware")]
/// # async fn run(source: std::sync::Arc<impl api_tokens_runtime::TokenSource + 'static>) -> Result<(), Box<dyn std::error::Error>> {
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(docluster_tokens::middleware(source))
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
