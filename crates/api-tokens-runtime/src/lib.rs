#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc = include_str!("../README.md")]

mod answer;
mod auth;
mod config;
mod credentials;
mod decode;
mod error;
// Plumbing the generated code calls: public for it, hidden from users, no semver promise.
#[doc(hidden)]
pub mod hooks;
mod lifecycle;
mod prepare;
mod record;
mod retry;
mod secret;
mod time;
mod transport;
#[doc(hidden)]
pub mod wire;

#[doc(hidden)]
pub use config::ClientConfig;
pub use config::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BODY_BYTES, DEFAULT_OPERATION_TIMEOUT, DEFAULT_TIMEOUT, http_client_builder,
};
#[doc(hidden)]
pub use credentials::{ClientState, Credential, Credentials};
pub use error::{Category, Error, ErrorKind};
pub use lifecycle::{CachedTokenSource, RefreshPolicy, Token, TokenFuture, TokenSource, jwt_expires_at};
pub use retry::RetryPolicy;
pub use secret::Secret;
pub use time::{Timestamp, UnixMillis, UnixSeconds, rfc3339};

/// Answers a request in place of the network (feature `test-util`).
#[cfg(feature = "test-util")]
pub type Responder = std::sync::Arc<dyn Fn(&reqwest::Request) -> http::Response<Vec<u8>> + Send + Sync>;

/// The `http` crate, whose `Response` a [`Responder`] returns.
#[cfg(feature = "test-util")]
pub use http;

/// Implements progenitor's `ClientHooks` for a generated client, wiring this crate's
/// hooks to it (the client's state knows its `wire::API` table). Generated with
/// `HooksMode::Expected`, a vendor crate that forgets this does not compile.
/// Implements [`TokenSource`] for a type with an inherent
/// `async fn token(&self) -> Result<Token, Error>`, as every vendor's lifecycle type has.
#[macro_export]
macro_rules! impl_token_source {
    ($ty:ty) => {
        impl $crate::TokenSource for $ty {
            fn token(&self) -> $crate::TokenFuture<'_> {
                ::std::boxed::Box::pin(<$ty>::token(self))
            }
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! impl_client_hooks {
    ($client:ty) => {
        impl ::progenitor_client::ClientHooks<$crate::ClientState> for $client {
            async fn pre<E>(
                &self,
                request: &mut ::reqwest::Request,
                _info: &::progenitor_client::OperationInfo,
            ) -> ::std::result::Result<(), ::progenitor_client::Error<E>> {
                let state = ::progenitor_client::ClientInfo::inner(self);
                // The reason stays in the call's record; progenitor needs no text.
                if $crate::hooks::pre(state, request) {
                    Ok(())
                } else {
                    Err(::progenitor_client::Error::Custom(::std::string::String::new()))
                }
            }

            async fn exec(
                &self,
                request: ::reqwest::Request,
                _info: &::progenitor_client::OperationInfo,
            ) -> ::reqwest::Result<::reqwest::Response> {
                let client = ::progenitor_client::ClientInfo::client(self);
                $crate::hooks::exec(client, ::progenitor_client::ClientInfo::inner(self), request).await
            }
        }
    };
}
