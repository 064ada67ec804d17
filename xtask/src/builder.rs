//! The vendor's part of `ClientBuilder`: its default server and one typed setter per
//! credential of the spec (with a `with_*` replacer on `Client`). Everything the vendors
//! share (timeouts, retries, TLS, `build`) is the runtime's `client_builder!`, which the
//! generated file invokes.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use crate::model::Lowered;

/// The methods `api_tokens_runtime::client_builder!` defines on `ClientBuilder` and
/// `Client`: a credential of the same name would collide with one of them.
const BUILDER_METHODS: &[&str] = &[
    "new",
    "respond_with",
    "respond_with_async",
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
    "builder",
    "credential",
];

pub fn client_builder(lowered: &Lowered) -> Result<TokenStream, String> {
    let default_base_url = match &lowered.default_base_url {
        Some(url) => quote!(Some(#url)),
        None => quote!(None),
    };
    let default_doc = match &lowered.default_base_url {
        Some(url) => format!("The spec's server, used when [`ClientBuilder::base_url`] is not called: `{url}`."),
        None => "This API has no public server: [`ClientBuilder::base_url`] is required.".to_owned(),
    };
    let mut setters = Vec::new();
    let mut replacers = Vec::new();
    for credential in &lowered.credentials {
        let name = &credential.name;
        if BUILDER_METHODS.contains(&name.as_str()) || syn::parse_str::<Ident>(name).is_err() {
            return Err(format!(
                "credential `{name}` cannot be a builder method name; set x-sdk-credential"
            ));
        }
        let setter = format_ident!("{name}");
        let replacer = format_ident!("with_{name}");
        let doc = format!("Credential `{name}`: {}", credential.description.trim());
        let replacer_doc =
            format!("A copy of this client with credential `{name}` replaced (for example a fresh one-time code).");
        // A Basic credential is a user and a password; any other, one secret.
        let (params, value) = if credential.basic {
            (
                quote!(username: impl Into<String>, password: impl Into<::api_tokens_runtime::Secret>),
                quote!(::api_tokens_runtime::Credential::Basic {
                    username: username.into(),
                    password: password.into()
                }),
            )
        } else {
            (
                quote!(value: impl Into<::api_tokens_runtime::Secret>),
                quote!(::api_tokens_runtime::Credential::Token(value.into())),
            )
        };
        setters.push(quote! {
            #[doc = #doc]
            pub fn #setter(self, #params) -> Self {
                self.credential(#name, #value)
            }
        });
        replacers.push(quote! {
            #[doc = #replacer_doc]
            pub fn #replacer(&self, #params) -> Result<Self, ::api_tokens_runtime::Error> {
                self.with_credential(#name, #value)
            }
        });
    }
    let vendor = &lowered.vendor;
    Ok(quote! {
        // What users of the crate need from the runtime, so that no one adds it as a
        // dependency of their own. (`Error` is re-exported by the crate's `lib.rs`: in
        // this file that name is progenitor's.)
        pub use ::api_tokens_runtime::{
            Category, CreatedToken, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BODY_BYTES, DEFAULT_OPERATION_TIMEOUT,
            DEFAULT_TIMEOUT, ErrorKind, Expiry, RetryPolicy, RotationError, RotationStep, Secret, SharedCache,
            Token, TokenChange, TokenEvent, TokenEvents, TokenSource, http_client_builder,
        };
        /// The `http` crate, whose `Response` a `respond_with` closure returns.
        #[cfg(feature = "test-util")]
        pub use ::api_tokens_runtime::http;

        /// The vendor's name, as this crate's errors and events give it (the spec's
        /// `info.title`).
        pub(crate) const VENDOR: &str = #vendor;

        /// An error this crate makes itself (an argument refused, an answer it cannot
        /// use), never a vendor's answer: `kind`, and why.
        #[allow(dead_code)]
        pub(crate) fn sdk_error(kind: ErrorKind, detail: impl Into<String>) -> ::api_tokens_runtime::Error {
            ::api_tokens_runtime::Error::from_sdk(kind, VENDOR, detail)
        }

        #[doc = #default_doc]
        pub const DEFAULT_BASE_URL: Option<&str> = #default_base_url;

        ::api_tokens_runtime::client_builder!(#vendor);

        impl ClientBuilder {
            #(#setters)*
        }

        impl Client {
            #(#replacers)*
        }
    })
}
