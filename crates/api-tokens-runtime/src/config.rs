//! What a `ClientBuilder` collects, and how it becomes a client.

use std::fmt;
use std::time::Duration;

use crate::credentials::{ClientState, Credential, Credentials};
use crate::error::{Error, ErrorKind};
use crate::wire::Api;

/// Default limit on a successful answer's body.
pub const DEFAULT_MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// Default time for one attempt of a request, answer included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default total time for one call: every attempt and every wait between attempts.
pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(60);
/// Default time to establish a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The settings behind every vendor crate's `ClientBuilder`.
pub struct ClientConfig {
    /// Base URL; the spec's default server when `None`.
    pub base_url: Option<String>,
    /// Time for one attempt of a request.
    pub timeout: Duration,
    /// Total time for one call, retries and waits included.
    pub operation_timeout: Duration,
    /// Time to connect.
    pub connect_timeout: Duration,
    /// `User-Agent` header.
    pub user_agent: String,
    /// A ready `reqwest::Client` to use instead of building one (the connect timeout and
    /// user agent above are then its own; the attempt and operation timeouts still apply,
    /// its own `timeout` replaced by the attempt timeout).
    pub http_client: Option<reqwest::Client>,
    /// Limit on a successful answer's body.
    pub max_body_bytes: usize,
    /// Credentials, by name.
    pub credentials: Credentials,
    /// When a request is sent again.
    pub retry: crate::RetryPolicy,
    /// Answers requests instead of the network (tests).
    #[cfg(feature = "test-util")]
    pub responder: Option<crate::Responder>,
}

impl ClientConfig {
    /// Defaults, with the given `User-Agent`.
    pub fn new(user_agent: &str) -> Self {
        ClientConfig {
            base_url: None,
            timeout: DEFAULT_TIMEOUT,
            operation_timeout: DEFAULT_OPERATION_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            user_agent: user_agent.to_owned(),
            http_client: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            credentials: Credentials::default(),
            retry: crate::RetryPolicy::default(),
            #[cfg(feature = "test-util")]
            responder: None,
        }
    }

    /// Sets the credential called `name`.
    pub fn credential(&mut self, name: &'static str, credential: Credential) {
        self.credentials.set(name, credential);
    }

    /// Validates everything and returns the base URL, the HTTP client and the state.
    pub fn build(
        self,
        api: &'static Api,
        default_base_url: Option<&str>,
    ) -> Result<(String, reqwest::Client, ClientState), Error> {
        let raw = self.base_url.as_deref().or(default_base_url).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidArgument,
                api.vendor,
                "this API has no public server: set the base URL of yours",
            )
        })?;
        let base_url = normalize_base_url(api, raw, self.http_client.is_some())?;
        let prepared = self.credentials.prepare(api)?;
        let user_client = self.http_client.is_some();
        let http = match self.http_client {
            Some(client) => client,
            None => http_client_builder()
                .timeout(self.timeout)
                .connect_timeout(self.connect_timeout)
                .user_agent(self.user_agent)
                // A redirect would carry API-key headers to whatever host it names.
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| {
                    Error::new(
                        ErrorKind::InvalidArgument,
                        api.vendor,
                        "the HTTP client could not be built",
                    )
                    .source(e.without_url())
                })?,
        };
        let state = ClientState {
            api,
            prepared,
            credentials: self.credentials.into(),
            max_body_bytes: self.max_body_bytes,
            operation_timeout: self.operation_timeout,
            attempt_timeout: self.timeout,
            user_client,
            retry: self.retry,
            #[cfg(feature = "test-util")]
            responder: self.responder,
        };
        Ok((base_url, http, state))
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &self.base_url.as_ref().map(|_| "<set>"))
            .field("timeout", &self.timeout)
            .field("operation_timeout", &self.operation_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("user_agent", &self.user_agent)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("retry", &self.retry)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

/// Whether this crate was built with a TLS backend for the clients it builds.
const TLS: bool = cfg!(any(
    feature = "rustls-ring",
    feature = "rustls-aws-lc",
    feature = "native-tls"
));

/// A `reqwest` client builder with the TLS backend this crate's features chose, for a
/// client of your own (proxies, extra root certificates) given to
/// `ClientBuilder::http_client`.
///
/// With the default `rustls` feature this is `reqwest::Client::builder()`. With
/// `rustls-ring` alone (reqwest then has no crypto provider of its own), the builder
/// carries a TLS configuration on ring with the platform's certificate verifier, so
/// that the client works without any process-wide provider; nothing is installed.
pub fn http_client_builder() -> reqwest::ClientBuilder {
    #[cfg(all(feature = "rustls-ring", not(feature = "rustls-aws-lc"), not(feature = "native-tls")))]
    if let Some(tls) = ring_tls() {
        return reqwest::Client::builder().tls_backend_preconfigured(tls);
    }
    reqwest::Client::builder()
}

/// rustls on ring with the platform's verifier; `None` when the platform's roots cannot
/// be read (the client then fails to build, saying why, rather than this panicking).
#[cfg(all(feature = "rustls-ring", not(feature = "rustls-aws-lc"), not(feature = "native-tls")))]
fn ring_tls() -> Option<rustls::ClientConfig> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .ok()?
        .with_platform_verifier()
        .ok()?
        .with_no_client_auth();
    Some(config)
}

/// Refuses base URLs that cannot work or would leak: other schemes, user info, a query
/// or fragment, https with a client this crate builds without a TLS backend (a client
/// the user supplied is trusted to have one). Drops a trailing `/`, since generated
/// paths start with one.
fn normalize_base_url(api: &'static Api, raw: &str, user_client: bool) -> Result<String, Error> {
    let invalid = |why: &str| Error::new(ErrorKind::InvalidArgument, api.vendor, format!("base URL: {why}"));
    let url = reqwest::Url::parse(raw).map_err(|_| invalid("not an absolute http(s) URL"))?;
    match url.scheme() {
        "http" => {}
        "https" if TLS || user_client => {}
        "https" => {
            return Err(invalid(
                "https needs a TLS feature (`rustls`, `rustls-aws-lc` or `native-tls`), or a client of yours with `http_client`",
            ));
        }
        _ => return Err(invalid("only http and https are supported")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "credentials in the URL are refused; use the builder's credential setters",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("a query or fragment is refused"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ErrorFields;

    static API: Api = Api {
        vendor: "Test",
        schemes: &[],
        errors: ErrorFields {
            code: &[],
            message: &[],
        },
        vendor_messages: &[],
        operations: &[],
        categories: &[],
    };

    #[test]
    fn https_needs_a_tls_backend() {
        let https = normalize_base_url(&API, "https://api.example.com/", false);
        if TLS {
            assert_eq!(https.expect("TLS is compiled in"), "https://api.example.com");
        } else {
            let err = https.expect_err("no TLS backend");
            assert!(err.to_string().contains("needs a TLS feature"), "{err}");
        }
        // A client the user built is judged by itself: reqwest fails at connect time if
        // it truly has no TLS.
        let theirs = normalize_base_url(&API, "https://api.example.com/", true);
        assert_eq!(theirs.expect("their client"), "https://api.example.com");
    }

    #[test]
    fn base_urls_are_normalized_or_refused() {
        assert_eq!(
            normalize_base_url(&API, "http://h:3033/api/", false).expect("ok"),
            "http://h:3033/api"
        );
        for bad in ["http://u:p@h", "http://h/?q=1", "http://h/#f", "ftp://h", "h:80"] {
            assert!(normalize_base_url(&API, bad, false).is_err(), "{bad}");
        }
    }
}
