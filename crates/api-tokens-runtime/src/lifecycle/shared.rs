//! One token for a fleet: the protocol by which the processes sharing a
//! [`SharedStore`] load one token per refresh between them. The store keeps state;
//! every decision (who loads, who waits, what counts as fresh, when to go it alone) is
//! made here, so that each store is a thin adapter.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::policy::RefreshPolicy;
use super::store::{
    Identity, SharedStore, StoreError, Stored, decode_failure, decode_token, encode_failure, encode_token,
};
use super::token::{Expiry, Token};
use crate::error::Error;

/// The `tracing` target of the shared cache's events.
const TARGET: &str = "api_tokens::shared";

/// A cache shared by the processes of a fleet, through a [`SharedStore`] (such as
/// `api_tokens_redis::RedisStore`): give it to a lifecycle type (`.shared(&cache)`) and
/// the workers whose token [`Identity`] is the same share one token and one refresh.
///
/// Each process keeps its own in-process cache in front; the shared cache is asked only
/// when that one needs a token (the first, a due one, an expired or refused one):
/// - **a fresh token in the store** (one this process has not had yet) is taken, with
///   no request to the vendor;
/// - otherwise one process takes the store's **lock** (with an owner, ending by itself
///   after [`SharedCache::lock_ttl`]) and loads; the others wait for its token, reading
///   the store with a growing pause (20 ms to 250 ms). A lock holder that dies is
///   replaced once its lock ends;
/// - **writes are fenced**: a token is written only over the generation its loader
///   read, so a slow former holder never overwrites a newer token (it keeps its own);
/// - **a failed load backs the fleet off**: the failure is stored for the refresh
///   policy's first backoff, and the others get the error without a request;
/// - **store trouble never fails a call**: every store operation is bounded by
///   [`SharedCache::operation_timeout`]; when one fails, the process loads on its own
///   (its in-process single flight still holds: one request per process), warns, and
///   asks the store again after [`SharedCache::retry_after`].
///
/// Rotations revoke a replaced token only after [`SharedCache::grace`], so that workers
/// finishing requests with it are not cut off.
#[derive(Clone)]
pub struct SharedCache {
    store: Arc<dyn SharedStore>,
    operation_timeout: Duration,
    lock_ttl: Option<Duration>,
    retry_after: Duration,
    grace: Duration,
}

impl SharedCache {
    /// A cache on `store`: store operations bounded by 500 ms, the lock ending after
    /// twice the load timeout plus 5 s, the store asked again 5 s after trouble, a
    /// 60-second grace for replaced tokens.
    pub fn new(store: impl SharedStore + 'static) -> Self {
        SharedCache::from_arc(Arc::new(store))
    }

    /// The same, from a store already shared.
    pub fn from_arc(store: Arc<dyn SharedStore>) -> Self {
        SharedCache {
            store,
            operation_timeout: Duration::from_millis(500),
            lock_ttl: None,
            retry_after: Duration::from_secs(5),
            grace: Duration::from_secs(60),
        }
    }

    /// The same, bounding each store operation by `timeout`.
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        self
    }

    /// The same, with a lock that ends by itself after `ttl` (it should exceed the
    /// longest load: a shorter one lets a second process load while the first still
    /// does; its write is then fenced out).
    pub fn lock_ttl(mut self, ttl: Duration) -> Self {
        self.lock_ttl = Some(ttl);
        self
    }

    /// The same, asking the store again `after` this once it has failed.
    pub fn retry_after(mut self, after: Duration) -> Self {
        self.retry_after = after;
        self
    }

    /// The same, with another grace period before a rotation revokes the token it
    /// replaced.
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// The grace period before a replaced token is revoked.
    pub fn grace_period(&self) -> Duration {
        self.grace
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn SharedStore> {
        &self.store
    }

    fn lock_ttl_for(&self, policy: &RefreshPolicy) -> Duration {
        self.lock_ttl.unwrap_or_else(|| {
            policy
                .load_timeout
                .saturating_mul(2)
                .saturating_add(Duration::from_secs(5))
        })
    }
}

impl fmt::Debug for SharedCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedCache")
            .field("store", &self.store)
            .field("operation_timeout", &self.operation_timeout)
            .field("lock_ttl", &self.lock_ttl)
            .field("retry_after", &self.retry_after)
            .field("grace", &self.grace)
            .finish()
    }
}

/// One lifecycle's use of a [`SharedCache`]: its identity, its lock owner name, and
/// what this process has been handed.
pub(super) struct SharedLoad {
    cache: SharedCache,
    identity: Identity,
    owner: String,
    vendor: &'static str,
    policy: RefreshPolicy,
    /// The token this process was last handed: a token it already has is no fresh
    /// token for it (it asks because that one is due, expired or refused).
    handed: Mutex<Option<Token>>,
    /// Store trouble: until then, this process loads on its own without asking.
    alone_until: Mutex<Option<Instant>>,
}

impl fmt::Debug for SharedLoad {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedLoad")
            .field("identity", &self.identity)
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

impl SharedLoad {
    pub(super) fn new(cache: SharedCache, identity: Identity, vendor: &'static str, policy: RefreshPolicy) -> Self {
        SharedLoad {
            cache,
            identity,
            owner: owner_name(),
            vendor,
            policy,
            handed: Mutex::new(None),
            alone_until: Mutex::new(None),
        }
    }

    /// How long a load through the store may take in all: waiting for a holder that
    /// died, then a load of its own.
    pub(super) fn timeout(&self) -> Duration {
        self.cache
            .lock_ttl_for(&self.policy)
            .saturating_add(self.policy.load_timeout)
    }

    /// A token for this process: a fresh one from the store, or the outcome of `load`
    /// run here while the fleet waits, or of `load` run alone when the store fails.
    pub(super) async fn load<F>(self: Arc<Self>, current: Option<Token>, load: F) -> Result<Token, Error>
    where
        F: Future<Output = Result<Token, Error>> + Send,
    {
        if self.alone(Instant::now()) {
            return self.hand(load.await);
        }
        let mut pause = Duration::from_millis(20);
        loop {
            let stored = match self.ask(self.cache.store.read(&self.identity)).await {
                Ok(stored) => stored,
                Err(error) => return self.go_alone(error, load).await,
            };
            if stored.foreign {
                tracing::warn!(
                    target: TARGET,
                    vendor = self.vendor,
                    "the shared token was written under an encryption key this process lacks: loading a token of its own, the shared one left alone"
                );
                return self.hand(load.await);
            }
            if let Some(token) = self.fresh(&stored, current.as_ref()) {
                tracing::debug!(target: TARGET, vendor = self.vendor, "token taken from the shared cache");
                return self.hand(Ok(token));
            }
            let failure = match self.ask(self.cache.store.read_failure(&self.identity)).await {
                Ok(failure) => failure,
                Err(error) => return self.go_alone(error, load).await,
            };
            if let Some(error) = self.failure(failure.as_deref()) {
                tracing::debug!(target: TARGET, vendor = self.vendor, "another process's load failed: backing off with the fleet, without a request");
                return Err(error);
            }
            let ttl = self.cache.lock_ttl_for(&self.policy);
            match self
                .ask(self.cache.store.try_lock(&self.identity, &self.owner, ttl))
                .await
            {
                Ok(true) => return self.hold(current, load).await,
                Ok(false) => {}
                Err(error) => return self.go_alone(error, load).await,
            }
            tracing::trace!(target: TARGET, vendor = self.vendor, "another process is loading: waiting for its token");
            tokio::time::sleep(pause).await;
            pause = pause.saturating_mul(2).min(Duration::from_millis(250));
        }
    }

    /// Loads as the lock holder, and shares the outcome.
    async fn hold<F>(&self, current: Option<Token>, load: F) -> Result<Token, Error>
    where
        F: Future<Output = Result<Token, Error>> + Send,
    {
        // A holder that finished between this process's read and its lock.
        let replaces = match self.ask(self.cache.store.read(&self.identity)).await {
            Ok(stored) => {
                if let Some(token) = self.fresh(&stored, current.as_ref()) {
                    self.release().await;
                    return self.hand(Ok(token));
                }
                stored.generation
            }
            Err(error) => {
                self.release().await;
                return self.go_alone(error, load).await;
            }
        };
        tracing::debug!(target: TARGET, vendor = self.vendor, "loading the fleet's token");
        let outcome = load.await;
        match &outcome {
            Ok(token) if token.is_valid_at(SystemTime::now()) => {
                let bytes = encode_token(token);
                let ttl = self.keep_for(token);
                let write = self
                    .cache
                    .store
                    .write(&self.identity, &self.owner, replaces, &bytes, ttl);
                match self.ask(write).await {
                    Ok(true) => tracing::debug!(target: TARGET, vendor = self.vendor, "token shared with the fleet"),
                    Ok(false) => {
                        tracing::debug!(target: TARGET, vendor = self.vendor, "a newer token was shared meanwhile: this one is kept by this process only")
                    }
                    Err(error) => self.store_failed(&error),
                }
            }
            // A token that arrived expired is the cache's error to give; nobody gets it.
            Ok(_) => self.release().await,
            Err(error) => {
                let bytes = encode_failure(error.kind(), &error.to_string());
                let fail = self
                    .cache
                    .store
                    .fail(&self.identity, &self.owner, &bytes, self.policy.initial_backoff);
                if let Err(error) = self.ask(fail).await {
                    self.store_failed(&error);
                }
            }
        }
        self.hand(outcome)
    }

    /// A token in `stored` that this process may take: valid now, and newer than the
    /// one it has (or was last handed), which it asks to replace: another secret, or
    /// the same secret with a later expiry (a refresh that extends a token).
    fn fresh(&self, stored: &Stored, current: Option<&Token>) -> Option<Token> {
        let token = decode_token(stored.token.as_deref()?)?;
        if !token.is_valid_at(SystemTime::now()) {
            return None;
        }
        let handed = self.handed.lock().unwrap_or_else(PoisonError::into_inner);
        let newer = |had: &Token| had.secret() != token.secret() || extends(&token, had);
        if current.is_some_and(|c| !newer(c)) || handed.as_ref().is_some_and(|h| !newer(h)) {
            return None;
        }
        Some(token)
    }

    /// The error of another process's failed load, while the fleet backs off.
    fn failure(&self, failure: Option<&[u8]>) -> Option<Error> {
        let (kind, message) = decode_failure(failure?)?;
        Some(Error::from_sdk(
            kind,
            self.vendor,
            format!("another process sharing this token failed to load one, and the fleet backs off: {message}"),
        ))
    }

    /// How long the store keeps `token`: until it expires.
    fn keep_for(&self, token: &Token) -> Duration {
        const LONGEST: Duration = Duration::from_secs(30 * 24 * 3600);
        match token.expiry() {
            Expiry::At(at) => at
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO)
                .clamp(Duration::from_millis(1), LONGEST),
            Expiry::Unknown => self.policy.unknown_expiry_refresh,
            Expiry::Never => LONGEST,
        }
    }

    fn hand(&self, outcome: Result<Token, Error>) -> Result<Token, Error> {
        if let Ok(token) = &outcome {
            *self.handed.lock().unwrap_or_else(PoisonError::into_inner) = Some(token.clone());
        }
        outcome
    }

    async fn release(&self) {
        if let Err(error) = self.ask(self.cache.store.unlock(&self.identity, &self.owner)).await {
            self.store_failed(&error);
        }
    }

    /// Runs a store operation within the operation timeout.
    async fn ask<T>(&self, operation: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
        let timeout = self.cache.operation_timeout;
        match tokio::time::timeout(timeout, operation).await {
            Ok(outcome) => outcome,
            Err(_) => Err(StoreError::new(format!("no answer within {timeout:?}"))),
        }
    }

    fn alone(&self, now: Instant) -> bool {
        let mut until = self.alone_until.lock().unwrap_or_else(PoisonError::into_inner);
        match *until {
            Some(at) if now < at => true,
            Some(_) => {
                *until = None;
                tracing::info!(target: TARGET, vendor = self.vendor, "asking the shared token cache again");
                false
            }
            None => false,
        }
    }

    async fn go_alone<F>(&self, error: StoreError, load: F) -> Result<Token, Error>
    where
        F: Future<Output = Result<Token, Error>> + Send,
    {
        self.store_failed(&error);
        let retry = Instant::now().checked_add(self.cache.retry_after);
        *self.alone_until.lock().unwrap_or_else(PoisonError::into_inner) = retry;
        self.hand(load.await)
    }

    fn store_failed(&self, error: &StoreError) {
        tracing::warn!(
            target: TARGET,
            vendor = self.vendor,
            error = %error,
            retry_in_s = self.cache.retry_after.as_secs(),
            "the shared token cache failed: this process loads on its own meanwhile"
        );
    }
}

/// Whether `token` expires later than `had` (both known).
fn extends(token: &Token, had: &Token) -> bool {
    matches!((token.expiry(), had.expiry()), (Expiry::At(new), Expiry::At(old)) if new > old)
}

/// A lock owner name unique to this lifecycle in this process: the process id, the
/// time, a counter, and the standard library's per-process random hash keys.
fn owner_name() -> String {
    use std::hash::{BuildHasher, RandomState};
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let count = COUNT.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let random = RandomState::new().hash_one((count, nanos));
    format!("{}-{nanos:x}-{count}-{random:016x}", std::process::id())
}

#[cfg(test)]
mod tests;
