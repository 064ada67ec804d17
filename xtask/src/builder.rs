//! `ClientBuilder`: the settings every vendor shares, and one typed setter per
//! credential of the spec.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use crate::lower::Lowered;

const BUILDER_METHODS: &[&str] = &[
    "new",
    "respond_with",
    "max_retries",
    "retry_policy",
    "base_url",
    "timeout",
    "operation_timeout",
    "connect_timeout",
    "user_agent",
    "http_client",
    "max_body_bytes",
    "build",
];

pub fn client_builder(l: &Lowered) -> Result<TokenStream, String> {
    let default_base_url = match &l.default_base_url {
        Some(url) => quote!(Some(#url)),
        None => quote!(None),
    };
    let default_doc = match &l.default_base_url {
        Some(url) => format!("The spec's server, used when [`ClientBuilder::base_url`] is not called: `{url}`."),
        None => "This API has no public server: [`ClientBuilder::base_url`] is required.".to_owned(),
    };
    let mut setters = Vec::new();
    let mut switches = Vec::new();
    for credential in &l.credentials {
        let name = &credential.name;
        if BUILDER_METHODS.contains(&name.as_str()) || syn::parse_str::<Ident>(name).is_err() {
            return Err(format!(
                "credential `{name}` cannot be a builder method name; set x-sdk-credential"
            ));
        }
        let setter = format_ident!("{name}");
        let switch = format_ident!("with_{name}");
        let doc = format!("Credential `{name}`: {}", credential.description.trim());
        let switch_doc =
            format!("A copy of this client with credential `{name}` replaced (for example a fresh one-time code).");
        if credential.basic {
            setters.push(quote! {
                #[doc = #doc]
                pub fn #setter(mut self, username: impl Into<String>, password: impl Into<::api_tokens_runtime::Secret>) -> Self {
                    self.config.credential(#name, ::api_tokens_runtime::Credential::Basic { username: username.into(), password: password.into() });
                    self
                }
            });
            switches.push(quote! {
                #[doc = #switch_doc]
                pub fn #switch(&self, username: impl Into<String>, password: impl Into<::api_tokens_runtime::Secret>) -> Result<Self, ::api_tokens_runtime::Error> {
                    let credential = ::api_tokens_runtime::Credential::Basic { username: username.into(), password: password.into() };
                    Ok(Self { inner: self.inner.with_credential(&wire::API, #name, credential)?, ..self.clone() })
                }
            });
        } else {
            setters.push(quote! {
                #[doc = #doc]
                pub fn #setter(mut self, value: impl Into<::api_tokens_runtime::Secret>) -> Self {
                    self.config.credential(#name, ::api_tokens_runtime::Credential::Token(value.into()));
                    self
                }
            });
            switches.push(quote! {
                #[doc = #switch_doc]
                pub fn #switch(&self, value: impl Into<::api_tokens_runtime::Secret>) -> Result<Self, ::api_tokens_runtime::Error> {
                    let credential = ::api_tokens_runtime::Credential::Token(value.into());
                    Ok(Self { inner: self.inner.with_credential(&wire::API, #name, credential)?, ..self.clone() })
                }
            });
        }
    }
    let builder_doc = format!(
        "Configures a [`Client`] for {}: base URL, timeouts, credentials. Nothing it holds is printed by `Debug`.",
        l.vendor
    );
    Ok(quote! {
        // What users of the crate need from the runtime, so that no one adds it as a
        // dependency of their own (the crate's `Error` is re-exported beside this file).
        pub use ::api_tokens_runtime::{
            Category, ErrorKind, RetryPolicy, Secret, Token, TokenSource, DEFAULT_CONNECT_TIMEOUT,
            DEFAULT_MAX_BODY_BYTES, DEFAULT_OPERATION_TIMEOUT, DEFAULT_TIMEOUT, http_client_builder,
        };
        /// The `http` crate, whose `Response` a `respond_with` closure returns.
        #[cfg(feature = "test-util")]
        pub use ::api_tokens_runtime::http;

        #[doc = #default_doc]
        pub const DEFAULT_BASE_URL: Option<&str> = #default_base_url;

        #[doc = #builder_doc]
        ///
        /// Defaults: 30 s per attempt ([`DEFAULT_TIMEOUT`]), 60 s per
        /// call with its retries, 10 s to connect, 8 MiB per successful answer, 2 retries
        /// of idempotent requests answered 429/502/503/504, `User-Agent: <crate>/<version>`.
        #[derive(Debug)]
        pub struct ClientBuilder {
            config: ::api_tokens_runtime::ClientConfig,
        }

        impl Default for ClientBuilder {
            fn default() -> Self {
                Self::new()
            }
        }

        impl ClientBuilder {
            /// A builder with the defaults.
            pub fn new() -> Self {
                Self { config: ::api_tokens_runtime::ClientConfig::new(concat!(env!("CARGO_PKG_NAME"), "/", env!("CARGO_PKG_VERSION"))) }
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
            /// and user agent apply; this builder's attempt and operation timeouts still do.
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
            pub fn retry_policy(mut self, policy: ::api_tokens_runtime::RetryPolicy) -> Self {
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
                respond: impl Fn(&::reqwest::Request) -> ::api_tokens_runtime::http::Response<Vec<u8>> + Send + Sync + 'static,
            ) -> Self {
                self.config.responder = Some(::std::sync::Arc::new(respond));
                self
            }

            #(#setters)*

            /// Validates the settings and builds the client. Fails, before anything is
            /// sent, on a malformed base URL or a credential that could never be sent.
            pub fn build(self) -> Result<Client, ::api_tokens_runtime::Error> {
                let (base_url, http, state) = self.config.build(&wire::API, DEFAULT_BASE_URL)?;
                Ok(Client::new_with_client(&base_url, http, state))
            }
        }

        impl Client {
            /// Starts configuring a client.
            pub fn builder() -> ClientBuilder {
                ClientBuilder::new()
            }

            #(#switches)*
        }
    })
}
