//! The code every vendor crate needs from its generated client, written once: the
//! generated file invokes these, and keeps only what differs per vendor (its spec's
//! tables, default server and credentials).

/// Implements [`TokenSource`](crate::TokenSource) for a type with an inherent
/// `async fn token(&self) -> Result<Token, Error>` and
/// `fn report_refused(&self, token: &Token) -> bool`, as every vendor's lifecycle type has.
///
/// With `debug: [field, …]` it also implements `Debug`, showing those fields only: a
/// lifecycle type holds clients and credentials, whose `Debug` would say more than a
/// log needs (a [`CachedTokenSource`](crate::CachedTokenSource) shows no secret).
#[macro_export]
macro_rules! impl_token_source {
    ($ty:ident) => {
        impl $crate::TokenSource for $ty {
            fn token(&self) -> $crate::TokenFuture<'_> {
                ::std::boxed::Box::pin(<$ty>::token(self))
            }

            fn report_refused(&self, token: &$crate::Token) -> bool {
                <$ty>::report_refused(self, token)
            }
        }
    };
    ($ty:ident, debug: [$($field:ident),* $(,)?]) => {
        $crate::impl_token_source!($ty);

        impl ::std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($field), &self.$field))*
                    .finish_non_exhaustive()
            }
        }
    };
}

/// A vendor crate's `ClientBuilder` with every setting the vendors share, and
/// `Client::builder`: impls only. Expanded in the generated file, beside the vendor's
/// `wire::API`, `DEFAULT_BASE_URL`, `Client` and the runtime re-exports its users need
/// (written there as plain `pub use` lines); the generated file adds one setter per
/// credential. `cfg(feature = "test-util")` is the vendor crate's feature.
///
/// The names of the methods below are listed in the xtask (`builder::BUILDER_METHODS`),
/// which refuses a credential of the same name.
#[doc(hidden)]
#[macro_export]
macro_rules! client_builder {
    ($vendor:literal) => {
        #[doc = concat!(
                                            "Configures a [`Client`] for ", $vendor,
                                            ": base URL, timeouts, credentials. Nothing it holds is printed by `Debug`."
                                        )]
        ///
        /// Defaults: 30 s per attempt ([`DEFAULT_TIMEOUT`]), 60 s per
        /// call with its retries, 10 s to connect, 8 MiB per successful answer, 2 retries
        /// of idempotent requests answered 429/502/503/504, `User-Agent: <crate>/<version>`.
        #[derive(Debug)]
        pub struct ClientBuilder {
            config: $crate::ClientConfig,
        }

        impl Default for ClientBuilder {
            fn default() -> Self {
                Self::new()
            }
        }

        impl ClientBuilder {
            /// A builder with the defaults.
            pub fn new() -> Self {
                Self {
                    config: $crate::ClientConfig::new(concat!(env!("CARGO_PKG_NAME"), "/", env!("CARGO_PKG_VERSION"))),
                }
            }

            /// The base URL, for example a mock server or an on-premise host.
            pub fn base_url(mut self, url: impl Into<String>) -> Self {
                self.config.base_url = Some(url.into());
                self
            }

            /// Time for one attempt of a request, answer included (default 30 s).
            pub fn timeout(mut self, timeout: ::std::time::Duration) -> Self {
                self.config.timeout = timeout;
                self
            }

            /// Total time for one call: every attempt and every wait between them
            /// (default 60 s, [`DEFAULT_OPERATION_TIMEOUT`]). No retry
            /// starts a wait that would end past it.
            pub fn operation_timeout(mut self, timeout: ::std::time::Duration) -> Self {
                self.config.operation_timeout = timeout;
                self
            }

            /// Time to establish a connection.
            pub fn connect_timeout(mut self, timeout: ::std::time::Duration) -> Self {
                self.config.connect_timeout = timeout;
                self
            }

            /// The `User-Agent` header.
            pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
                self.config.user_agent = user_agent.into();
                self
            }

            /// A ready `reqwest::Client` (proxies, TLS roots). Its own connect timeout
            /// and user agent apply; this builder's attempt and operation timeouts still do,
            /// and its own `timeout` is replaced by the attempt timeout on every attempt.
            pub fn http_client(mut self, client: ::reqwest::Client) -> Self {
                self.config.http_client = Some(client);
                self
            }

            /// Retries of a request that could not connect, or of an idempotent request
            /// answered 429, 502, 503 or 504 (default 2; 0 turns retries off). See
            /// [`RetryPolicy`] for the waits.
            pub fn max_retries(mut self, retries: u32) -> Self {
                self.config.retry.max_retries = retries;
                self
            }

            /// The whole retry policy.
            pub fn retry_policy(mut self, policy: $crate::RetryPolicy) -> Self {
                self.config.retry = policy;
                self
            }

            /// The largest successful answer read, in bytes; error answers are capped
            /// at 64 KiB.
            pub fn max_body_bytes(mut self, limit: usize) -> Self {
                self.config.max_body_bytes = limit;
                self
            }

            /// Answers every request with `respond` instead of sending it, through the
            /// same decoding and checks as a real answer (feature `test-util`).
            #[cfg(feature = "test-util")]
            pub fn respond_with(
                mut self,
                respond: impl Fn(&::reqwest::Request) -> $crate::http::Response<Vec<u8>> + Send + Sync + 'static,
            ) -> Self {
                self.config.responder = Some(::std::sync::Arc::new(move |request: &::reqwest::Request| {
                    let response = respond(request);
                    ::std::boxed::Box::pin(async move { response }) as $crate::ResponseFuture
                }));
                self
            }

            /// Answers every request with the future `respond` returns instead of sending
            /// it (feature `test-util`): an answer that takes its time, on tokio's clock
            /// (a slow or hanging server in a test with paused time). The client's
            /// timeouts apply as to a real request: an answer later than the attempt
            /// timeout, or the operation timeout, is an [`ErrorKind::Timeout`]($crate::ErrorKind::Timeout).
            /// `respond` sees the request; the future it returns owns what it needs.
            #[cfg(feature = "test-util")]
            pub fn respond_with_async<F>(
                mut self,
                respond: impl Fn(&::reqwest::Request) -> F + Send + Sync + 'static,
            ) -> Self
            where
                F: ::std::future::Future<Output = $crate::http::Response<Vec<u8>>> + Send + 'static,
            {
                self.config.responder = Some(::std::sync::Arc::new(move |request: &::reqwest::Request| {
                    ::std::boxed::Box::pin(respond(request)) as $crate::ResponseFuture
                }));
                self
            }

            /// Validates the settings and builds the client. Fails, before anything is
            /// sent, on a malformed base URL or a credential that could never be sent.
            pub fn build(self) -> Result<Client, $crate::Error> {
                let (base_url, http, state) = self.config.build(&wire::API, DEFAULT_BASE_URL)?;
                Ok(Client::new_with_client(&base_url, http, state))
            }

            /// Sets credential `name`; the generated setters call it.
            fn credential(mut self, name: &'static str, credential: $crate::Credential) -> Self {
                self.config.credential(name, credential);
                self
            }
        }

        impl Client {
            /// Starts configuring a client.
            pub fn builder() -> ClientBuilder {
                ClientBuilder::new()
            }

            /// A copy of this client with credential `name` replaced; the generated
            /// `with_*` methods call it.
            fn with_credential(
                &self,
                name: &'static str,
                credential: $crate::Credential,
            ) -> Result<Self, $crate::Error> {
                Ok(Self {
                    inner: self.inner.with_credential(&wire::API, name, credential)?,
                    ..self.clone()
                })
            }
        }
    };
}
