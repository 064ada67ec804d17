//! [`Rotation`]: a Fastly API token replaced before it expires, safely.

use std::time::{Duration, SystemTime};

use api_tokens_runtime::{CachedTokenSource, Error, ErrorKind, RefreshPolicy, Secret, Token, TokenFuture};
use tokio::sync::Mutex;

use crate::types::TokenResponse;
use crate::{Client, TokenCreateForm};

/// Rotate this long before `expires_at`.
pub const DEFAULT_ROTATE_BEFORE: Duration = Duration::from_secs(24 * 3600);

type Loader = Box<dyn Fn(Option<Token>) -> TokenFuture<'static> + Send + Sync>;

/// A Fastly API token, rotated: a replacement is created with the same name, scope and
/// services (and, for an expiring token, the same lifetime), confirmed to work (the
/// replacement reads itself back with `get_token_current`), and only then is the old
/// token revoked. If creation or confirmation fails, nothing is revoked and the old token
/// stays current.
///
/// As a [`TokenSource`](crate::TokenSource) it rotates [`DEFAULT_ROTATE_BEFORE`] ahead of `expires_at`
/// (tokens without one are only rotated by [`Rotation::rotate`]).
///
/// Creating a token takes the account's login (Fastly's API key alone cannot, per its
/// recordings): `login` is a client with `username_and_password` (and a fresh one-time
/// code with `with_otp` on accounts with two-factor authentication).
///
/// ```no_run
/// # async fn run() -> Result<(), fastly_tokens::Error> {
/// let login = fastly_tokens::Client::builder()
///     .username_and_password("me@example.com", "pw")
///     .build()?;
/// let rotation = fastly_tokens::Rotation::new(login, "CURRENT-TOKEN").await?;
/// let fresh = rotation.rotate().await?;
/// # let _ = fresh;
/// # Ok(())
/// # }
/// ```
pub struct Rotation {
    shared: std::sync::Arc<Shared>,
    cache: CachedTokenSource<Loader>,
}

struct Shared {
    login: Client,
    current: Mutex<Secret>,
}

impl Rotation {
    /// Starts from `token`, reading its expiry from Fastly.
    pub async fn new(login: Client, token: impl Into<Secret>) -> Result<Self, Error> {
        let token = token.into();
        let meta = login
            .with_token(token.clone())?
            .get_token_current()
            .send()
            .await?
            .into_inner();
        let shared = std::sync::Arc::new(Shared {
            login,
            current: Mutex::new(token.clone()),
        });
        let loader_shared = shared.clone();
        let load: Loader = Box::new(move |_| {
            let shared = loader_shared.clone();
            Box::pin(async move { shared.rotate().await })
        });
        let cache = CachedTokenSource::new(crate::wire::API.vendor, RefreshPolicy::new(DEFAULT_ROTATE_BEFORE), load);
        cache.store(Token::new(token, meta.expires_at.map(SystemTime::from)));
        Ok(Rotation { shared, cache })
    }

    /// Replaces the current token now; returns the new one.
    pub async fn rotate(&self) -> Result<Token, Error> {
        let token = self.shared.rotate().await?;
        self.cache.store(token.clone());
        Ok(token)
    }

    /// The current token, rotated first when it is due.
    pub async fn token(&self) -> Result<Token, Error> {
        self.cache.token().await
    }

    /// A client sending the current token.
    pub async fn client(&self) -> Result<Client, Error> {
        let current = self.shared.current.lock().await.clone();
        self.shared.login.with_token(current)
    }
}

impl Shared {
    async fn rotate(&self) -> Result<Token, Error> {
        let mut current = self.current.lock().await;
        let old = self.login.with_token(current.clone())?;
        let meta = old.get_token_current().send().await?.into_inner();
        let mut form = TokenCreateForm::new();
        form.name = meta.name.clone();
        form.scope = meta.scope.clone();
        form.services = meta.services.clone();
        form.expires_at = lifetime(&meta)
            .and_then(|lifetime| SystemTime::now().checked_add(lifetime))
            .and_then(api_tokens_runtime::rfc3339);
        let created = self.login.create_token().body(form).send().await?.into_inner();
        // Confirm before revoking anything: the new token must read itself back.
        let new = self.login.with_token(created.access_token.clone())?;
        let confirmed = new.get_token_current().send().await?.into_inner();
        if confirmed.id != created.id {
            return Err(Error::from_sdk(
                ErrorKind::InvalidBody,
                crate::wire::API.vendor,
                "the new token did not read itself back; the old one was not revoked",
            ));
        }
        old.revoke_token_current().send().await?;
        *current = created.access_token.clone();
        Ok(Token::new(
            created.access_token,
            created.expires_at.map(SystemTime::from),
        ))
    }
}

/// How long the token was made to live: from `created_at` to `expires_at`.
fn lifetime(meta: &TokenResponse) -> Option<Duration> {
    (meta.expires_at? - meta.created_at?).to_std().ok()
}

api_tokens_runtime::impl_token_source!(Rotation, debug: [cache]);
