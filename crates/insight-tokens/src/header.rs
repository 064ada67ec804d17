//! `X-Auth-Token` for requests this crate does not make: Insight.io's other endpoints,
//! called with your own HTTP client.

use api_tokens_runtime::{Error, ErrorKind, Secret};
use reqwest::header::{HeaderName, HeaderValue};

/// The header an Insight.io API token goes in.
pub const AUTH_HEADER: &str = "X-Auth-Token";

/// The query parameter Insight.io also reads a token from (`?token=…`, vendors.md §5.3);
/// prefer the header, which proxies and servers do not log with the URL.
pub const AUTH_QUERY_PARAMETER: &str = "token";

/// `X-Auth-Token: <token>` as a header name and value, the value marked sensitive
/// (HTTP/2 never indexes it, and its `Debug` prints `Sensitive`), to call Insight.io's
/// other endpoints with your own client (for example `GET /api/user/recentFiles`). For
/// a lifecycle [`Token`](crate::Token), pass `token.secret()`.
///
/// An empty token, or one that cannot be a header value (a line break or another
/// control character), is an `InvalidArgument` error that does not repeat it.
///
/// ```
/// # fn run() -> Result<(), insight_tokens::Error> {
/// let (name, value) = insight_tokens::auth_header(&insight_tokens::Secret::new("9102896162300872"))?;
/// let request = reqwest::Client::new()
///     .get("https://insight.io/api/user/recentFiles")
///     .header(name, value);
/// # let _ = request;
/// # Ok(())
/// # }
/// ```
pub fn auth_header(token: &Secret) -> Result<(HeaderName, HeaderValue), Error> {
    let invalid = |why: &str| crate::sdk_error(ErrorKind::InvalidArgument, why);
    if token.is_empty() {
        return Err(invalid("the token for `X-Auth-Token` is empty"));
    }
    let mut value = HeaderValue::from_str(token.expose())
        .map_err(|_| invalid("the token cannot be an HTTP header value (a line break or another control character)"))?;
    value.set_sensitive(true);
    Ok((HeaderName::from_static("x-auth-token"), value))
}
