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
    Failure, Identity, SharedStore, StoreError, Stored, decode_failure, decode_token, encode_failure, encode_token,
};
use super::token::{Expiry, Token};
use crate::error::{Error, ErrorKind};
use crate::secret::Secret;

/// The `tracing` target of the shared cache's events.
const TARGET: &str = "api_tokens::shared";

/// A cache shared by the processes of a fleet, through a [`SharedStore`] (such as
/// `api_tokens_redis::RedisStore`): give it to a lifecycle type (`.shared(&cache)`) and
/// the workers whose token [`Identity`] is the same share one token and one refresh.
///
/// Each process keeps its own in-process cache in front; the shared cache is asked when
/// that one needs a token (the first, a due one, an expired or refused one), and, so
/// that a token another worker replaced is picked up, every
/// [`SharedCache::recheck_every`] behind a hit:
/// - **a fresh token in the store** (one newer than this process's) is taken, with no
///   request to the vendor; a reader never keeps it longer than the store does, so a
///   writer's clock running ahead cannot stretch it. The same secret counts as newer
///   when it was written again: another generation, or, for a due token's refresh,
///   kept by the store more than a second longer (a store such as Redis starts
///   generations again once it has dropped a token). A token this process reported
///   refused is never taken back for how long it is kept;
/// - otherwise one process takes the store's **lock** (with an owner name of its own
///   per load, ending by itself after [`SharedCache::lock_ttl`], extended while the
///   load runs) and loads; the others wait for its token, reading the store with a
///   growing pause (20 ms to 250 ms). A lock holder that dies is replaced once its lock
///   ends; a lock that never ends (forged, or of another type) is taken over; a load
///   that hangs lets its lock go after twice the load timeout;
/// - **writes are fenced**: a token is written only over the generation its loader
///   read, so a slow former holder never overwrites a newer token (it keeps its own);
/// - **a failed load backs the fleet off**: the failure is stored, sealed with its end,
///   for the refresh policy's backoff (doubling with each failure in a row across the
///   fleet), and the others get the error without a request;
/// - **store trouble never fails a call**: every store operation is bounded by
///   [`SharedCache::operation_timeout`]; when one fails, the process loads on its own
///   (its in-process single flight still holds: one request per process), warns, and
///   asks the store again after [`SharedCache::retry_after`]. Rotations are the
///   exception ([`SharedCache::load_alone_on_trouble`]): each process rotating alone
///   would mint a token per process.
///
/// The load timeout ([`RefreshPolicy::load_timeout`]) bounds what callers wait, shared
/// or not; a load that outlives it goes on, and its token is shared when it lands.
/// Rotations revoke a replaced token only after [`SharedCache::grace`], longer than
/// the recheck interval, so that workers finishing requests with it are not cut off.
#[derive(Clone)]
pub struct SharedCache {
    store: Arc<dyn SharedStore>,
    operation_timeout: Duration,
    lock_ttl: Duration,
    retry_after: Duration,
    grace: Duration,
    recheck: Option<Duration>,
    alone_on_trouble: bool,
}

impl SharedCache {
    /// A cache on `store`: store operations bounded by 500 ms, a 5-second lock
    /// (extended while its load runs), the store asked again 5 s after trouble, a
    /// 60-second grace for replaced tokens, the store rechecked every 20 s behind hits.
    pub fn new(store: impl SharedStore + 'static) -> Self {
        SharedCache::from_arc(Arc::new(store))
    }

    /// The same, from a store already shared.
    pub fn from_arc(store: Arc<dyn SharedStore>) -> Self {
        SharedCache {
            store,
            operation_timeout: Duration::from_millis(500),
            lock_ttl: Duration::from_secs(5),
            retry_after: Duration::from_secs(5),
            grace: Duration::from_secs(60),
            recheck: None,
            alone_on_trouble: true,
        }
    }

    /// The same, bounding each store operation by `timeout`.
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        self
    }

    /// The same, with a lock that ends `ttl` after its holder last extended it (a third
    /// of it apart, while the load runs): how long the fleet waits for a holder that
    /// died. From 30 ms to 10 minutes (a lock ending later is taken as forged).
    pub fn lock_ttl(mut self, ttl: Duration) -> Self {
        self.lock_ttl = ttl.clamp(Duration::from_millis(30), Duration::from_secs(600));
        self
    }

    /// The same, asking the store again `after` this once it has failed.
    pub fn retry_after(mut self, after: Duration) -> Self {
        self.retry_after = after;
        self
    }

    /// The same, with another grace period before a rotation revokes the token it
    /// replaced (and the recheck interval a third of it, unless set).
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// The same, reading the store behind an in-process hit at most this often, to
    /// pick up a token another worker replaced (a third of the grace period unless set).
    pub fn recheck_every(mut self, every: Duration) -> Self {
        self.recheck = Some(every);
        self
    }

    /// The same, saying whether a process loads on its own while the store is in
    /// trouble (`true`, the default) or fails the load and keeps serving a still-valid
    /// token (what rotations use: each process rotating alone would mint a token each).
    pub fn load_alone_on_trouble(mut self, alone: bool) -> Self {
        self.alone_on_trouble = alone;
        self
    }

    /// The grace period before a replaced token is revoked.
    pub fn grace_period(&self) -> Duration {
        self.grace
    }

    /// How often the store is read behind in-process hits.
    pub fn recheck_interval(&self) -> Duration {
        self.recheck.unwrap_or(self.grace / 3).max(Duration::from_secs(1))
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn SharedStore> {
        &self.store
    }

    /// The token the store holds for `identity` now, valid, if any: to start a
    /// lifecycle from the fleet's token rather than from a configured one the fleet
    /// has since replaced. `None` also when the store cannot be read.
    pub async fn current(&self, identity: &Identity) -> Option<Token> {
        let stored = tokio::time::timeout(self.operation_timeout, self.store.read(identity))
            .await
            .ok()?
            .ok()?;
        usable(&stored)
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
            .field("recheck", &self.recheck_interval())
            .field("alone_on_trouble", &self.alone_on_trouble)
            .finish()
    }
}

/// The token in `stored`, its expiry capped by how long the store keeps it, if valid.
fn usable(stored: &Stored) -> Option<Token> {
    let token = decode_token(stored.token.as_deref()?)?;
    let now = SystemTime::now();
    let token = match (stored.ttl.and_then(|ttl| now.checked_add(ttl)), token.expiry()) {
        (Some(cap), Expiry::At(at)) if at > cap => capped(&token, cap),
        (Some(cap), Expiry::Unknown) => capped(&token, cap),
        _ => token,
    };
    token.is_valid_at(now).then_some(token)
}

fn capped(token: &Token, at: SystemTime) -> Token {
    let capped = Token::with_expiry(token.secret().clone(), Expiry::At(at));
    match token.issued_at() {
        Some(issued) => capped.with_issued_at(issued),
        None => capped,
    }
}

/// The token this process last got through the store, the generation it had there
/// (`None` for a token that is not the store's: loaded alone, or fenced out), and until
/// when the store was to keep it (on tokio's clock).
struct Handed {
    token: Token,
    generation: Option<u64>,
    kept_until: Option<Instant>,
}

/// Where a token handed out stands in the store: its generation, and how long the store
/// keeps it from now.
#[derive(Clone, Copy)]
struct Place {
    generation: u64,
    kept_for: Option<Duration>,
}

impl Place {
    fn of(stored: &Stored) -> Self {
        Place {
            generation: stored.generation,
            kept_for: stored.ttl,
        }
    }
}

/// One lifecycle's use of a [`SharedCache`]: its identity, its lock owner names, and
/// what this process has been handed.
pub(super) struct SharedLoad {
    cache: SharedCache,
    identity: Identity,
    owner: String,
    /// Loads so far: each has an owner name of its own, so that a late load's release
    /// never frees a later load's lock.
    loads: AtomicU64,
    vendor: &'static str,
    policy: RefreshPolicy,
    handed: Mutex<Option<Handed>>,
    /// Tokens this process replaced in the store (or tried to): never taken back, so
    /// that a write that failed cannot make it return to a token it is revoking.
    replaced: Mutex<Vec<Secret>>,
    /// Store trouble: until then, this process does not ask the store.
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
            loads: AtomicU64::new(0),
            vendor,
            policy,
            handed: Mutex::new(None),
            replaced: Mutex::new(Vec::new()),
            alone_until: Mutex::new(None),
        }
    }

    /// How often the store is read behind in-process hits.
    pub(super) fn recheck_interval(&self) -> Duration {
        self.cache.recheck_interval()
    }

    /// A token for this process: a fresh one from the store, or the outcome of `load`
    /// run here while the fleet waits, or of `load` run alone when the store fails or
    /// another process's lock is held too long.
    pub(super) async fn load<F>(self: Arc<Self>, current: Option<Token>, load: F) -> Result<Token, Error>
    where
        F: Future<Output = Result<Token, Error>> + Send,
    {
        if self.in_trouble(Instant::now()) {
            return self.alone(load).await;
        }
        let owner = format!("{}-{}", self.owner, self.loads.fetch_add(1, Ordering::Relaxed));
        let mut pause = Duration::from_millis(20);
        loop {
            let stored = match self.ask(self.cache.store.read(&self.identity)).await {
                Ok(stored) => stored,
                Err(error) => return self.go_alone(error, load).await,
            };
            // Sealed under a key this process lacks: another worker's (left alone, this
            // one loads its own), unless it never expires (none of ours does: forged) or
            // this lifecycle must not load alone (a rotation): then it is replaced.
            if stored.foreign && self.cache.alone_on_trouble && stored.ttl.is_some() {
                tracing::warn!(
                    target: TARGET,
                    vendor = self.vendor,
                    "the shared token was written under an encryption key this process lacks: loading a token of its own, the shared one left alone"
                );
                return self.alone(load).await;
            }
            if let Some(token) = self.fresh(&stored, current.as_ref()) {
                tracing::debug!(target: TARGET, vendor = self.vendor, "token taken from the shared cache");
                return self.hand(Ok(token), Some(Place::of(&stored)));
            }
            let failure = match self.ask(self.cache.store.read_failure(&self.identity)).await {
                Ok(failure) => failure.as_deref().and_then(decode_failure),
                Err(error) => return self.go_alone(error, load).await,
            };
            let failure = failure.filter(|f| f.until > SystemTime::now());
            if let Some(failure) = &failure {
                tracing::debug!(target: TARGET, vendor = self.vendor, "another process's load failed: backing off with the fleet, without a request");
                return Err(Error::from_sdk(
                    failure.kind,
                    self.vendor,
                    format!(
                        "another process sharing this token failed to load one, and the fleet backs off: {}",
                        failure.message
                    ),
                ));
            }
            let ttl = self.cache.lock_ttl;
            match self.ask(self.cache.store.try_lock(&self.identity, &owner, ttl)).await {
                Ok(true) => return self.hold(&owner, stored.generation, current, load).await,
                Ok(false) => {}
                Err(error) => {
                    // The lock may have been taken though its answer was lost.
                    self.release(&owner).await;
                    return self.go_alone(error, load).await;
                }
            }
            tracing::trace!(target: TARGET, vendor = self.vendor, "another process is loading: waiting for its token");
            tokio::time::sleep(pause).await;
            pause = pause.saturating_mul(2).min(Duration::from_millis(250));
        }
    }

    /// Loads as the lock holder, keeping the lock while the load runs, and shares the
    /// outcome.
    async fn hold<F>(&self, owner: &str, generation: u64, current: Option<Token>, load: F) -> Result<Token, Error>
    where
        F: Future<Output = Result<Token, Error>> + Send,
    {
        // A holder that finished between this process's read and its lock.
        let replaces = match self.ask(self.cache.store.read(&self.identity)).await {
            Ok(stored) => {
                if let Some(token) = self.fresh(&stored, current.as_ref()) {
                    self.release(owner).await;
                    return self.hand(Ok(token), Some(Place::of(&stored)));
                }
                self.remember_replaced(&stored);
                stored.generation
            }
            Err(_) => generation,
        };
        tracing::debug!(target: TARGET, vendor = self.vendor, "loading the fleet's token");
        let outcome = self.keeping_lock(owner, load).await;
        let now = SystemTime::now();
        match &outcome {
            Ok(token) if token.is_valid_at(now) => {
                let bytes = encode_token(token);
                let write = self
                    .cache
                    .store
                    .write(&self.identity, owner, replaces, &bytes, self.keep_for(token));
                match self.ask(write).await {
                    Ok(true) => {
                        tracing::debug!(target: TARGET, vendor = self.vendor, "token shared with the fleet");
                        let kept_for = Some(self.keep_for(token));
                        let generation = replaces.saturating_add(1);
                        return self.hand(outcome, Some(Place { generation, kept_for }));
                    }
                    Ok(false) => tracing::warn!(
                        target: TARGET,
                        vendor = self.vendor,
                        "the store holds another token than the one this load replaced (a newer one, or one written meanwhile): this token is kept by this process only"
                    ),
                    Err(error) => {
                        self.trouble(&error);
                        self.release(owner).await;
                    }
                }
            }
            // A token that arrived expired: the cache's error to give, and the fleet's
            // to back off from.
            Ok(_) => {
                self.mark_failed(
                    owner,
                    ErrorKind::TokenExpired,
                    "the token loaded had expired on arrival",
                )
                .await;
            }
            Err(error) => self.mark_failed(owner, error.kind(), &error.to_string()).await,
        }
        self.hand(outcome, None)
    }

    /// Runs `load`, extending `owner`'s lock every third of its time to live meanwhile.
    async fn keeping_lock<F>(&self, owner: &str, load: F) -> Result<Token, Error>
    where
        F: Future<Output = Result<Token, Error>> + Send,
    {
        let ttl = self.cache.lock_ttl;
        // A load that hangs does not hold the fleet for ever: past twice the load
        // timeout its lock is let go, and another process may load.
        let keep_until = Instant::now() + self.policy.load_timeout.saturating_mul(2);
        let mut load = std::pin::pin!(load);
        loop {
            match tokio::time::timeout(ttl / 3, &mut load).await {
                Ok(outcome) => return outcome,
                Err(_) if Instant::now() >= keep_until => return load.await,
                Err(_) => {
                    let extended = self.ask(self.cache.store.extend_lock(&self.identity, owner, ttl)).await;
                    if !matches!(extended, Ok(true)) {
                        tracing::warn!(target: TARGET, vendor = self.vendor, "the shared lock could not be kept while loading: another process may load too (its write or this one's is fenced out)");
                    }
                }
            }
        }
    }

    /// Stores the fleet's backoff after a failed load (doubling with the failures in a
    /// row the marker counted) and releases the lock.
    async fn mark_failed(&self, owner: &str, kind: ErrorKind, message: &str) {
        let previous = match self.ask(self.cache.store.read_failure(&self.identity)).await {
            Ok(failure) => failure.as_deref().and_then(decode_failure).map_or(0, |f| f.failures),
            Err(_) => 0,
        };
        let failures = previous.saturating_add(1);
        let backoff = self.policy.backoff_after(failures);
        let until = SystemTime::now().checked_add(backoff).unwrap_or_else(SystemTime::now);
        let bytes = encode_failure(&Failure::new(kind, message, failures, until));
        // Kept twice as long as it counts, so the next failure still finds the count.
        let keep = backoff.saturating_mul(2);
        if let Err(error) = self
            .ask(self.cache.store.fail(&self.identity, owner, &bytes, keep))
            .await
        {
            self.trouble(&error);
            self.release(owner).await;
        }
    }

    /// The valid token the store holds now, if any (a token this process replaced
    /// excepted).
    pub(super) async fn stored_token(&self) -> Option<Token> {
        let stored = self.ask(self.cache.store.read(&self.identity)).await.ok()?;
        let token = usable(&stored)?;
        let replaced = self.replaced.lock().unwrap_or_else(PoisonError::into_inner);
        (!replaced.contains(token.secret())).then_some(token)
    }

    /// Checks the store behind a hit: a token newer than `current`, if another process
    /// replaced it; never loads.
    pub(super) async fn recheck(&self, current: &Token) -> Option<Token> {
        if self.in_trouble(Instant::now()) {
            return None;
        }
        match self.ask(self.cache.store.read(&self.identity)).await {
            // The store lost the fleet's token (a restart, an eviction): put this
            // process's back, so that workers starting now find it.
            Ok(stored) if stored.token.is_none() && !stored.foreign => {
                tracing::info!(target: TARGET, vendor = self.vendor, "the shared cache holds no token: sharing this process's again");
                self.publish(current.clone()).await;
                None
            }
            Ok(stored) => {
                let token = self.fresh(&stored, Some(current))?;
                tracing::debug!(target: TARGET, vendor = self.vendor, "another process replaced the token: taken from the shared cache");
                self.hand(Ok(token), Some(Place::of(&stored))).ok()
            }
            Err(error) => {
                self.trouble(&error);
                None
            }
        }
    }

    /// Shares `token`, obtained outside a load (a rotation or login asked for), over
    /// whatever the store holds (fenced by the generation read just before).
    pub(super) async fn publish(&self, token: Token) {
        if !token.is_valid_at(SystemTime::now()) {
            return;
        }
        if self.in_trouble(Instant::now()) {
            tracing::warn!(target: TARGET, vendor = self.vendor, "the shared cache is in trouble: a token obtained outside a load is not shared now (it is when the cache reads as empty again)");
            return;
        }
        let owner = format!("{}-{}", self.owner, self.loads.fetch_add(1, Ordering::Relaxed));
        let replaces = match self.ask(self.cache.store.read(&self.identity)).await {
            Ok(stored) => {
                if stored
                    .token
                    .as_deref()
                    .and_then(decode_token)
                    .is_some_and(|t| t.secret() == token.secret())
                {
                    return;
                }
                self.remember_replaced(&stored);
                stored.generation
            }
            Err(error) => return self.trouble(&error),
        };
        let bytes = encode_token(&token);
        let write = self
            .cache
            .store
            .write(&self.identity, &owner, replaces, &bytes, self.keep_for(&token));
        match self.ask(write).await {
            Ok(true) => {
                tracing::debug!(target: TARGET, vendor = self.vendor, "a token obtained outside a load was shared with the fleet");
                let place = Place {
                    generation: replaces.saturating_add(1),
                    kept_for: Some(self.keep_for(&token)),
                };
                let _ = self.hand(Ok(token), Some(place));
            }
            Ok(false) => {
                tracing::debug!(target: TARGET, vendor = self.vendor, "the store changed while sharing a token: not shared")
            }
            Err(error) => self.trouble(&error),
        }
    }

    /// A token in `stored` that this process may take: valid now (and never beyond
    /// what the store keeps it for), and not the one it has already (which it asks to
    /// replace): another secret, the same secret written again (a refresh that keeps
    /// the secret), or the same secret expiring later.
    fn fresh(&self, stored: &Stored, current: Option<&Token>) -> Option<Token> {
        let token = usable(stored)?;
        if self
            .replaced
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(token.secret())
        {
            return None;
        }
        let handed = self.handed.lock().unwrap_or_else(PoisonError::into_inner);
        let handed = handed.as_ref();
        // Written again since it was handed: another generation, or, for a due token's
        // refresh, kept by the store more than a second longer (a generation starts
        // again at 1 once the store has dropped the token, as Redis drops a value whose
        // time is up). A refused token is never taken back for how long it is kept: a
        // read answered late, or a time to live pushed back, moves that too.
        let kept_until = stored.ttl.and_then(|ttl| Instant::now().checked_add(ttl));
        let refreshing = current.is_some();
        let rewritten = handed.is_some_and(|h| {
            h.generation.is_some_and(|g| g != stored.generation)
                || (refreshing && kept_longer(kept_until, h.kept_until))
        });
        let had = |old: &Token| old.secret() == token.secret() && !extends(&token, old) && !rewritten;
        if current.is_some_and(had) || handed.is_some_and(|h| had(&h.token)) {
            return None;
        }
        Some(token)
    }

    /// How long the store keeps `token`: until it expires.
    fn keep_for(&self, token: &Token) -> Duration {
        const LONGEST: Duration = Duration::from_secs(30 * 24 * 3600);
        match token.expiry() {
            Expiry::At(at) => at
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO)
                .clamp(Duration::from_millis(1), LONGEST),
            Expiry::Unknown => self
                .policy
                .unknown_expiry_refresh
                .clamp(Duration::from_millis(1), LONGEST),
            Expiry::Never => LONGEST,
        }
    }

    /// Remembers the token `stored` holds as one this process replaces.
    fn remember_replaced(&self, stored: &Stored) {
        if let Some(token) = stored.token.as_deref().and_then(decode_token) {
            let mut replaced = self.replaced.lock().unwrap_or_else(PoisonError::into_inner);
            if !replaced.contains(token.secret()) {
                // A few are enough: only the latest can come back.
                if replaced.len() >= 4 {
                    replaced.remove(0);
                }
                replaced.push(token.secret().clone());
            }
        }
    }

    fn hand(&self, outcome: Result<Token, Error>, place: Option<Place>) -> Result<Token, Error> {
        if let Ok(token) = &outcome {
            *self.handed.lock().unwrap_or_else(PoisonError::into_inner) = Some(Handed {
                token: token.clone(),
                generation: place.map(|p| p.generation),
                kept_until: place
                    .and_then(|p| p.kept_for)
                    .and_then(|d| Instant::now().checked_add(d)),
            });
        }
        outcome
    }

    async fn release(&self, owner: &str) {
        if let Err(error) = self.ask(self.cache.store.unlock(&self.identity, owner)).await {
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

    fn in_trouble(&self, now: Instant) -> bool {
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

    /// Loads on this process's own, unless this lifecycle must not (a rotation).
    async fn alone<F>(&self, load: F) -> Result<Token, Error>
    where
        F: Future<Output = Result<Token, Error>> + Send,
    {
        if !self.cache.alone_on_trouble {
            return Err(Error::from_sdk(
                ErrorKind::Transport,
                self.vendor,
                "the shared token cache cannot be used now, and this lifecycle does not load on its own meanwhile (each process rotating alone would mint a token each); the current token is served while valid",
            ));
        }
        self.hand(load.await, None)
    }

    async fn go_alone<F>(&self, error: StoreError, load: F) -> Result<Token, Error>
    where
        F: Future<Output = Result<Token, Error>> + Send,
    {
        self.trouble(&error);
        self.alone(load).await
    }

    /// Store trouble: a warning, and no asking the store for `retry_after`.
    fn trouble(&self, error: &StoreError) {
        self.store_failed(error);
        let retry = Instant::now().checked_add(self.cache.retry_after);
        *self.alone_until.lock().unwrap_or_else(PoisonError::into_inner) = retry;
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
/// Whether the store keeps a token more than a second beyond `had` (the time a read
/// takes moves a time to live read twice).
fn kept_longer(now: Option<Instant>, had: Option<Instant>) -> bool {
    matches!((now, had), (Some(now), Some(had)) if now.saturating_duration_since(had) > Duration::from_secs(1))
}

fn extends(token: &Token, had: &Token) -> bool {
    // More than a second later: expiries capped by the store's TTL move with the time
    // a read takes.
    matches!((token.expiry(), had.expiry()), (Expiry::At(new), Expiry::At(old))
        if new.duration_since(old).is_ok_and(|later| later > Duration::from_secs(1)))
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
