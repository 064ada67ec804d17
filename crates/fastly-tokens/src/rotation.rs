//! [`Rotation`]: a Fastly API token replaced before it expires, safely.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use api_tokens_runtime::{
    BoxedLoader, CachedTokenSource, CreatedToken, Error, Identity, RefreshPolicy, RotationError, RotationStep, Secret,
    ServerClock, SharedCache, Token,
};
use progenitor_client::ClientInfo;
use tokio::sync::Mutex;

use crate::types::TokenResponse;
use crate::{Client, TokenCreateForm};

/// Rotate this long before `expires_at`.
pub const DEFAULT_ROTATE_BEFORE: Duration = Duration::from_secs(24 * 3600);

/// The future of a one-time code provider.
pub type OneTimeCodeFuture = Pin<Box<dyn Future<Output = Result<Secret, Error>> + Send>>;

/// Gives a fresh one-time code (`Fastly-OTP`) for each token creation on an account with
/// two-factor authentication.
type OneTimeCodes = Arc<dyn Fn() -> OneTimeCodeFuture + Send + Sync>;

/// A Fastly API token, rotated: a replacement is created with the same name, scope and
/// services (and, for an expiring token, the same lifetime), confirmed to work (the
/// replacement reads itself back with `get_token_current`, and must name the id Fastly
/// gave it), and only then is the old token revoked.
///
/// Whatever step fails, no live token is lost track of ([`RotationError`]):
/// - before the new token exists, nothing changes;
/// - when the new token cannot be confirmed, it is revoked; if that fails too, the
///   error hands it back with its id ([`RotationError::unrevoked_new`]), and
///   [`Rotation::unrevoked`] keeps it; the old token stays current;
/// - when only the old token's revocation fails, the new token is current, the error
///   names the old one's id, and the next rotation tries that revocation again.
///
/// As a [`TokenSource`](crate::TokenSource) it rotates [`DEFAULT_ROTATE_BEFORE`] ahead of
/// `expires_at` (at half its life for a token made to live less than that; tokens
/// without an expiry are only rotated by [`Rotation::rotate`]), with every guarantee
/// of [`CachedTokenSource`]: one rotation for any number of callers, failures backed
/// off, so at most one token is minted per backoff step.
///
/// Creating a token takes the account's login (vendors.md §6: no recording shows an API
/// key alone creating one): `login` is a client with `username_and_password`. On an
/// account with two-factor authentication, give a one-time code provider with
/// [`Rotation::one_time_codes`], so that rotations run unattended.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
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
    shared: Arc<Shared>,
    cache: CachedTokenSource<BoxedLoader>,
}

struct Shared {
    login: Client,
    current: Mutex<Secret>,
    /// Rotations completed: a rotation asked for before another completed does not
    /// rotate again.
    log: api_tokens_runtime::RotationLog,
    codes: std::sync::Mutex<Option<OneTimeCodes>>,
    /// Tokens created and neither confirmed nor revoked.
    unrevoked_new: std::sync::Mutex<Vec<CreatedToken>>,
    /// Ids of old tokens whose revocation failed, tried again by the next rotation.
    unrevoked_old: Arc<std::sync::Mutex<Vec<String>>>,
    /// How long a replaced token stays live, in milliseconds: the fleet's grace period
    /// when shared ([`Rotation::shared`]), none otherwise.
    grace_ms: AtomicU64,
}

impl Rotation {
    /// Starts from `token`, reading its expiry and creation time from Fastly (the token
    /// is checked as a header value before anything is sent).
    pub async fn new(login: Client, token: impl Into<Secret>) -> Result<Self, Error> {
        let token = token.into();
        let answer = login.with_token(token.clone())?.get_token_current().send().await?;
        // Fastly's times are by its clock: its `Date` converts them to ours.
        let clock = ServerClock::from_headers(answer.headers());
        let meta = answer.into_inner();
        let shared = Arc::new(Shared {
            login,
            current: Mutex::new(token.clone()),
            log: api_tokens_runtime::RotationLog::default(),
            codes: std::sync::Mutex::new(None),
            unrevoked_new: std::sync::Mutex::default(),
            unrevoked_old: Arc::default(),
            grace_ms: AtomicU64::new(0),
        });
        let loader_shared = shared.clone();
        let load: BoxedLoader = Box::new(move |current| {
            let shared = loader_shared.clone();
            // A rotation the user asked for, completed while this one waited, is enough.
            let seen = shared.log.seen();
            Box::pin(async move {
                shared.adopt(current).await;
                match shared.rotate(Some(seen)).await {
                    Ok(token) => Ok(token),
                    // Rotated when the error has a current token: only the old token's
                    // revocation is left, for the next rotation.
                    Err(error) => error.into_current(),
                }
            })
        });
        let cache = CachedTokenSource::new(crate::VENDOR, RefreshPolicy::new(DEFAULT_ROTATE_BEFORE), load);
        cache.store(token_of(token, &meta, clock));
        Ok(Rotation { shared, cache })
    }

    /// Gets a one-time code from `codes` for each token creation (accounts with
    /// two-factor authentication): an async callback, for example reading a TOTP
    /// generator.
    pub fn one_time_codes<F, Fut>(self, codes: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Secret, Error>> + Send + 'static,
    {
        let codes: OneTimeCodes = Arc::new(move || Box::pin(codes()));
        *lock(&self.shared.codes) = Some(codes);
        self
    }

    /// Starts a rotation shared with a fleet (see [`Rotation::shared`]) as line `line`,
    /// from the fleet's current token of that line when the store holds one, else from
    /// `token`: a worker started (or restarted) with the configured token after the
    /// fleet rotated it away starts from the fleet's, instead of failing on the revoked
    /// one.
    pub async fn new_shared(
        login: Client,
        token: impl Into<Secret>,
        line: &str,
        fleet: &SharedCache,
    ) -> Result<Self, Error> {
        let configured = token.into();
        let current = fleet.current(&line_identity(&login, line)).await;
        let start = current.map_or(configured, |token| token.secret().clone());
        Ok(Rotation::new(login, start).await?.shared(fleet, line))
    }

    /// The same rotation, shared with every process of a fleet through `fleet` (see
    /// [`SharedCache`]) as the line of tokens `line` (a name the operator gives it,
    /// such as `"deploy"`: it stays the same while its tokens, and the login's
    /// password, change). The processes of one base URL, login user name and line
    /// rotate once between them, the others take the new token from the store (when
    /// theirs is due, when they ask for a client, and at the fleet's recheck
    /// interval), and the replaced token is revoked only after the fleet's grace period
    /// ([`SharedCache::grace`]), so that workers finishing requests with it are not cut
    /// off. A revocation that fails then is retried by the next rotation
    /// ([`Rotation::unrevoked_old_ids`]); one cut short by the process ending is not
    /// (the token expires at its `expires_at`). A rotation asked for
    /// ([`Rotation::rotate`]) starts from the fleet's token and is shared too. While the
    /// store cannot be used, no worker rotates (each would mint a token): the current
    /// token is served while valid. Start workers with [`Rotation::new_shared`].
    pub fn shared(mut self, fleet: &SharedCache, line: &str) -> Self {
        let identity = line_identity(&self.shared.login, line);
        let grace = u64::try_from(fleet.grace_period().as_millis()).unwrap_or(u64::MAX);
        self.shared.grace_ms.store(grace, Ordering::SeqCst);
        // Rotating alone while the store is down would mint a token per process.
        self.cache = self.cache.shared(&fleet.clone().load_alone_on_trouble(false), identity);
        self
    }

    /// Replaces the current token now; returns the new one.
    pub async fn rotate(&self) -> Result<Token, RotationError> {
        tracing::debug!(target: "api_tokens::lifecycle", vendor = crate::VENDOR, "rotating the token");
        // In a fleet, the token to replace is the fleet's (another worker may have
        // rotated since this one last looked).
        if let Some(token) = self.cache.fleet_token().await.or_else(|| self.cache.cached()) {
            self.shared.adopt(Some(token)).await;
        }
        let rotated = self.shared.rotate(None).await;
        self.cache.settle_rotation(crate::VENDOR, &rotated).await;
        rotated
    }

    /// The current token, rotated first when it is due.
    pub async fn token(&self) -> Result<Token, Error> {
        self.cache.token().await
    }

    /// Every new token, and why it changed (`tokio::sync::watch`: the receiver holds
    /// the latest, `None` before the first; `changed().await` wakes on the next): to
    /// persist it or hand it to other clients. `Debug` of an event shows no secret.
    pub fn subscribe(&self) -> api_tokens_runtime::TokenEvents {
        self.cache.subscribe()
    }

    /// Reports that Fastly refused `token`: if it is the current token, the next call
    /// rotates (which needs the old token to read its details: a revoked token cannot
    /// be rotated, and the error says so). Returns whether it was the current token.
    pub fn report_refused(&self, token: &Token) -> bool {
        self.cache.report_refused(token)
    }

    /// A client sending the current token.
    pub async fn client(&self) -> Result<Client, Error> {
        // Through the cache: rotated when due, and in a fleet the newest token.
        let current = match self.cache.token().await {
            Ok(token) => token.into_secret(),
            Err(_) => self.shared.current.lock().await.clone(),
        };
        self.shared.login.with_token(current)
    }

    /// Tokens rotations created and could neither confirm nor revoke: revoke them
    /// yourself (by id), or use them.
    pub fn unrevoked(&self) -> Vec<CreatedToken> {
        lock(&self.shared.unrevoked_new).clone()
    }

    /// Ids of replaced tokens whose revocation failed; the next rotation tries again.
    pub fn unrevoked_old_ids(&self) -> Vec<String> {
        lock(&self.shared.unrevoked_old).clone()
    }
}

impl Shared {
    /// Takes `current`, the cache's token, as the one to rotate from: in a fleet it may
    /// be newer than the last this process rotated to (another worker rotated).
    async fn adopt(&self, current: Option<Token>) {
        if let Some(token) = current {
            let mut mine = self.current.lock().await;
            if *mine != *token.secret() {
                *mine = token.into_secret();
            }
        }
    }

    fn grace(&self) -> Duration {
        Duration::from_millis(self.grace_ms.load(Ordering::SeqCst))
    }

    /// Revokes the replaced token `old` (id `id`) after `grace`, in a task of its own;
    /// a failure leaves its id for the next rotation to retry.
    fn revoke_after(&self, old: Client, id: String, grace: Duration) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            lock(&self.unrevoked_old).push(id);
            return;
        };
        let unrevoked = Arc::clone(&self.unrevoked_old);
        let revoke = async move {
            tokio::time::sleep(grace).await;
            if let Err(error) = old.revoke_token_current().send().await {
                tracing::warn!(
                    target: "api_tokens::lifecycle",
                    vendor = crate::VENDOR,
                    error = %error,
                    "revoking the replaced token after the grace period failed; the next rotation tries again"
                );
                lock(&unrevoked).push(id);
            }
        };
        drop(runtime.spawn(revoke));
    }

    /// Rotates, unless `since` is given and a rotation completed after it was read: then
    /// the token that rotation made current.
    async fn rotate(&self, since: Option<u64>) -> Result<Token, RotationError> {
        let mut current = self.current.lock().await;
        if let Some(rotated) = self.log.completed_since(since) {
            return Ok(rotated);
        }
        let outcome = self.rotate_now(&mut current).await;
        self.log.record(&outcome);
        outcome
    }

    async fn rotate_now(&self, current: &mut Secret) -> Result<Token, RotationError> {
        let vendor = crate::VENDOR;
        RotationStep::ReadCurrent.begin(vendor);
        let old = self
            .login
            .with_token(current.clone())
            .map_err(|e| RotationError::new(RotationStep::ReadCurrent, e))?;
        self.retry_revocations(&old).await;
        let answer = old
            .get_token_current()
            .send()
            .await
            .map_err(|e| RotationError::new(RotationStep::ReadCurrent, e))?;
        // Fastly reads `expires_at` by its own clock: the lifetime counts from its now.
        let clock = ServerClock::from_headers(answer.headers());
        let meta = answer.into_inner();
        let mut form = TokenCreateForm::new();
        form.name = meta.name.clone();
        form.scope = meta.scope.clone();
        form.services = meta.services.clone();
        // The same lifetime from Fastly's now, never past what RFC 3339 (and Fastly)
        // can read.
        form.expires_at = lifetime(&meta)
            .map(|lifetime| {
                clock
                    .to_server(SystemTime::now())
                    .and_then(|now| now.checked_add(lifetime))
                    .map_or(api_tokens_runtime::rfc3339_max(), |at| {
                        at.min(api_tokens_runtime::rfc3339_max())
                    })
            })
            .and_then(crate::form::timestamp);
        RotationStep::Create.begin(vendor);
        let login = self.login_with_code().await?;
        let answer = login
            .create_token()
            .body(form)
            .send()
            .await
            .map_err(|e| RotationError::new(RotationStep::Create, e))?;
        let clock = ServerClock::from_headers(answer.headers());
        let created = answer.into_inner();
        let expires_at = created.expires_at.and_then(|at| clock.to_local(at.into()));
        let new_token = Token::new(created.access_token.clone(), expires_at);
        // Confirm before revoking anything: the new token must read itself back.
        RotationStep::Confirm.begin(vendor);
        let confirmed = self.confirm(&created.id, &created.access_token).await;
        if let Err(error) = confirmed {
            return Err(self.undo(error, created.id, new_token).await);
        }
        RotationStep::RevokeOld.begin(vendor);
        let grace = self.grace();
        if !grace.is_zero() {
            *current = created.access_token.clone();
            self.revoke_after(old, meta.id, grace);
            return Ok(new_token);
        }
        let revoked = old.revoke_token_current().send().await;
        *current = created.access_token.clone();
        match revoked {
            Ok(_) => Ok(new_token),
            Err(error) => {
                lock(&self.unrevoked_old).push(meta.id.clone());
                Err(RotationError::new(RotationStep::RevokeOld, error).with_unrevoked_old(Some(meta.id), new_token))
            }
        }
    }

    /// The login client, with a fresh one-time code when a provider is set.
    async fn login_with_code(&self) -> Result<Client, RotationError> {
        let codes = lock(&self.codes).clone();
        let Some(codes) = codes else {
            return Ok(self.login.clone());
        };
        let code = codes()
            .await
            .map_err(|e| RotationError::new(RotationStep::OneTimeCode, e))?;
        self.login
            .with_otp(code)
            .map_err(|e| RotationError::new(RotationStep::OneTimeCode, e))
    }

    /// Whether the new token reads itself back under the id it was created with.
    async fn confirm(&self, id: &str, token: &Secret) -> Result<(), Error> {
        let new = self.login.with_token(token.clone())?;
        let confirmed = new.get_token_current().send().await?.into_inner();
        if confirmed.id != id {
            return Err(crate::sdk_error(
                api_tokens_runtime::ErrorKind::InvalidBody,
                "the new token read itself back under another id than the one it was created with",
            ));
        }
        Ok(())
    }

    /// Revokes a new token that failed confirmation, or keeps it to hand back.
    async fn undo(&self, error: Error, id: String, token: Token) -> RotationError {
        let failed = RotationError::new(RotationStep::Confirm, error);
        let revoked = match self.login.with_token(token.secret().clone()) {
            Ok(new) => new.revoke_token_current().send().await.is_ok(),
            Err(_) => false,
        };
        if revoked {
            return failed;
        }
        let created = CreatedToken { id: Some(id), token };
        lock(&self.unrevoked_new).push(created.clone());
        failed.with_unrevoked_new(created)
    }

    /// Tries again to revoke old tokens whose revocation failed, with `client`.
    async fn retry_revocations(&self, client: &Client) {
        let pending = std::mem::take(&mut *lock(&self.unrevoked_old));
        for id in pending {
            let revoked = client.revoke_token().token_id(id.clone()).send().await;
            // Gone already (404) counts as revoked.
            if revoked.is_err_and(|e| e.category() != Some(api_tokens_runtime::Category::NotFound)) {
                lock(&self.unrevoked_old).push(id);
            }
        }
    }
}

/// The identity of the line of tokens named `line`, rotated at `client`'s base URL
/// (with its user names: not its passwords or session cookies, which change while the
/// line lasts).
fn line_identity(client: &Client, line: &str) -> Identity {
    Identity::new(crate::VENDOR)
        .with("base_url", client.baseurl().to_owned())
        .with_usernames(client.inner.credentials())
        .with("line", line.to_owned())
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The token with its expiry, and its creation time so that a long-lived token near its
/// end rotates at once.
fn token_of(secret: Secret, meta: &TokenResponse, clock: ServerClock) -> Token {
    let token = Token::new(secret, meta.expires_at.and_then(|at| clock.to_local(at.into())));
    match meta.created_at.and_then(|at| clock.to_local(at.into())) {
        Some(created) => token.with_issued_at(created),
        None => token,
    }
}

/// How long the token was made to live: from `created_at` to `expires_at`.
fn lifetime(meta: &TokenResponse) -> Option<Duration> {
    (meta.expires_at? - meta.created_at?).to_std().ok()
}

api_tokens_runtime::impl_token_source!(Rotation, debug: [cache]);
