//! `Fastly-Key` for requests this crate does not make: Fastly's other endpoints, called
//! with your own HTTP client.

use api_tokens_runtime::{Error, ErrorKind, Secret};
use reqwest::header::{HeaderName, HeaderValue};

/// The header a Fastly API token goes in.
pub const AUTH_HEADER: &str = "Fastly-Key";

/// `Fastly-Key: <token>` as a header name and value, the value marked sensitive (HTTP/2
/// never indexes it, and its `Debug` prints `Sensitive`), to call Fastly's other
/// endpoints with your own client. For a lifecycle [`Token`](crate::Token), pass
/// `token.secret()`.
///
/// An empty token, or one that cannot be a header value (a line break or another
/// control character), is an `InvalidArgument` error that does not repeat it.
///
/// ```
/// # fn run() -> Result<(), fastly_tokens::Error> {
/// let (name, value) = fastly_tokens::auth_header(&fastly_tokens::Secret::new("YOUR_FASTLY_TOKEN"))?;
/// let request = reqwest::Client::new()
///     .get("https://api.fastly.com/service")
///     .header(name, value);
/// # let _ = request;
/// # Ok(())
/// # }
/// ```
pub fn auth_header(token: &Secret) -> Result<(HeaderName, HeaderValue), Error> {
    let invalid = |why: &str| crate::sdk_error(ErrorKind::InvalidArgument, why);
    if token.is_empty() {
        return Err(invalid("the token for `Fastly-Key` is empty"));
    }
    let mut value = HeaderValue::from_str(token.expose())
        .map_err(|_| invalid("the token cannot be an HTTP header value (a line break or another control character)"))?;
    value.set_sensitive(true);
    Ok((HeaderName::from_static("fastly-key"), value))
}
