//! The cache's mechanism: one load at a time, run apart from the callers that wait on
//! it, its outcome (token or error) shared with all of them. When a token is due and
//! how long to back off is the policy's (`policy.rs`).

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::SystemTime;

use tokio::sync::watch;
use tokio::time::Instant;

use super::events::{TokenChange, TokenEvent};
use super::policy::{RefreshPolicy, Schedule};
use super::shared::{SharedCache, SharedLoad};
use super::source::{TokenFuture, TokenSource};
use super::store::Identity;
use super::token::Token;
use crate::error::{Error, ErrorKind};

/// The `tracing` target of every lifecycle event.
const TARGET: &str = "api_tokens::lifecycle";

/// What a load ends with, shared by every caller waiting on it.
type Outcome = Result<Token, Error>;

/// A loader wrapped in a cache that refreshes ahead of expiry, built for the bad
/// moments.
///
/// - **A cache hit** takes a read lock and clones the token (see the `token_cache`
///   benchmark).
/// - **Single flight, apart from the callers.** A load runs as a task of its own: any
///   number of concurrent callers without a valid token wait for the same load, which
///   runs once, and each gets its outcome, success or error. A caller that gives up
///   (a timeout, a dropped future) does not stop the load: it finishes for whoever
///   still waits, and its token is cached, so that a token the server created is
///   never lost. Needs a tokio runtime (an error otherwise, never a panic).
/// - **Refresh ahead without waiting** (stale-while-revalidate): while the cached token
///   is valid but due ([`RefreshPolicy`]), callers get it at once and one refresh runs
///   behind them.
/// - **Failures back off**, whether or not a token is cached: after a failed load, no
///   other starts before the backoff ([`RefreshPolicy::backoff`], doubling) has passed.
///   Meanwhile callers get the still-valid token, or, without one, the last error at
///   once, without a request. A load slower than [`RefreshPolicy::load_timeout`] fails
///   with [`ErrorKind::Timeout`].
/// - **Never an expired token.** A loaded token that had already expired when it
///   arrived (by the server's clock, see [`ServerClock`](crate::ServerClock)) is not
///   handed out: the load fails with [`ErrorKind::TokenExpired`] and backs off like any
///   failure. A token just loaded is never due before half of what it has left, so a
///   server handing out short-lived tokens causes no load per call.
/// - **Refusal reports** ([`CachedTokenSource::report_refused`]) forget only the token
///   refused: N reports of one token cause one load; a report of a replaced token
///   does nothing.
/// - **Watched**: [`CachedTokenSource::subscribe`] tells of every new token and why it
///   changed; every decision is a `tracing` event (target `api_tokens::lifecycle`): a
///   hit at `TRACE`, loads, refreshes and backoffs at `DEBUG`, a `WARN` while loads keep
///   failing and the token expires within [`RefreshPolicy::warn_before`], an `ERROR`
///   once it has expired with no replacement. No event holds a secret.
pub struct CachedTokenSource<L> {
    inner: Arc<Inner<L>>,
}

struct Inner<L> {
    name: &'static str,
    policy: RefreshPolicy,
    load: L,
    /// The fleet's cache beneath this one, if shared ([`CachedTokenSource::shared`]).
    shared: RwLock<Option<Arc<SharedLoad>>>,
    /// When shared: when (nanoseconds after `born`) a hit next reads the store behind
    /// the caller, for a token another process replaced; 0 when not shared.
    next_recheck: AtomicU64,
    born: Instant,
    entry: RwLock<Option<Entry>>,
    state: Mutex<State>,
    events: watch::Sender<Option<TokenEvent>>,
}

/// The cached token and its times on tokio's clock.
struct Entry {
    token: Token,
    schedule: Schedule,
}

impl Entry {
    fn valid(&self, now: Instant) -> bool {
        self.schedule.expires_at.is_none_or(|at| now < at)
    }

    fn due(&self, now: Instant) -> bool {
        self.schedule.refresh_at.is_some_and(|at| now >= at)
    }
}

/// The load in flight, if any, and the failures behind it.
#[derive(Default)]
struct State {
    /// Where the load in flight will put its outcome.
    flight: Option<watch::Receiver<Option<Outcome>>>,
    /// Failed loads in a row.
    failures: u32,
    /// No load starts before this, after a failure.
    retry_at: Option<Instant>,
    /// The last failure, for callers inside the backoff.
    last_error: Option<Error>,
    /// Counts tokens stored from outside ([`CachedTokenSource::store`]): a load that
    /// started before one does not overwrite it.
    stored: u64,
    /// The cached token was reported refused or invalidated: the next load replaces it.
    forgotten: bool,
    /// Loads started so far: each load's number.
    loads: u64,
    /// The number of the load whose token is cached (a late load never overwrites a
    /// newer one's).
    cached_load: u64,
}

impl<L, F> CachedTokenSource<L>
where
    L: Fn(Option<Token>) -> F + Send + Sync + 'static,
    F: Future<Output = Result<Token, Error>> + Send + 'static,
{
    /// A cache around `load`, which gets the token it replaces (valid or not; `None`
    /// the first time, and after the token was refused or invalidated) so that it can
    /// refresh rather than create; `name` (the vendor's) is used in its errors.
    pub fn new(name: &'static str, policy: RefreshPolicy, load: L) -> Self {
        CachedTokenSource {
            inner: Arc::new(Inner {
                name,
                policy,
                load,
                shared: RwLock::new(None),
                next_recheck: AtomicU64::new(0),
                born: Instant::now(),
                entry: RwLock::new(None),
                state: Mutex::new(State::default()),
                events: watch::Sender::new(None),
            }),
        }
    }

    /// A token valid now; see the type's documentation for when it loads.
    pub async fn token(&self) -> Result<Token, Error> {
        let now = Instant::now();
        if let Some((token, due)) = self.inner.valid(now) {
            if due {
                self.inner.refresh_behind(now);
            } else {
                tracing::trace!(target: TARGET, vendor = self.inner.name, "token served from the cache");
                self.inner.recheck_behind(now, &token);
            }
            return Ok(token);
        }
        let flight = match self.inner.join_or_start(now) {
            Ok(Joined::Flight(flight)) => flight,
            Ok(Joined::Token(token)) => return Ok(token),
            Err(error) => return Err(error),
        };
        wait(flight, self.inner.name).await
    }
}

impl<L> CachedTokenSource<L> {
    /// The same cache, sharing its tokens with every process whose `identity` is the
    /// same through `cache` (see [`SharedCache`]): each load asks the fleet first. The
    /// in-process cache stays in front, so a hit never reaches the store.
    pub fn shared(self, cache: &SharedCache, identity: Identity) -> Self {
        let shared = SharedLoad::new(cache.clone(), identity, self.inner.name, self.inner.policy);
        let first = Instant::now().saturating_duration_since(self.inner.born) + shared.recheck_interval();
        self.inner.next_recheck.store(nanos(first).max(1), Ordering::Relaxed);
        *self.inner.shared.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(shared));
        self
    }

    /// Stops sharing: from now on this process loads its own tokens and keeps them to
    /// itself (a worker the server refuses the fleet's token to, for its address).
    /// Nothing in the store changes, nor the cached token: report the refused one with
    /// [`CachedTokenSource::report_refused`].
    pub fn unshare(&self) {
        self.inner.next_recheck.store(0, Ordering::Relaxed);
        *self.inner.shared.write().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// The token the fleet's store holds for this source now, if shared and valid: what
    /// an operation asked for outside a load (a rotation) starts from. Never loads.
    pub async fn fleet_token(&self) -> Option<Token> {
        let shared = self
            .inner
            .shared
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()?;
        shared.stored_token().await
    }

    /// Whether tokens are shared through a [`SharedCache`].
    pub fn is_shared(&self) -> bool {
        self.inner
            .shared
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    /// The refresh policy.
    pub fn policy(&self) -> &RefreshPolicy {
        &self.inner.policy
    }

    /// The cached token, if it is valid now; never loads.
    pub fn cached(&self) -> Option<Token> {
        self.inner.valid(Instant::now()).map(|(token, _)| token)
    }

    /// Forgets the cached token, whichever it is: the next call loads a new one.
    pub fn invalidate(&self) {
        let mut state = lock(&self.inner.state);
        state.forgotten = true;
        *write(&self.inner.entry) = None;
        tracing::debug!(target: TARGET, vendor = self.inner.name, "token forgotten");
    }

    /// Reports that the server refused `token`: it is forgotten if it is the cached one
    /// (compare-and-invalidate), so the next call loads another. Returns whether it was.
    pub fn report_refused(&self, token: &Token) -> bool {
        let mut state = lock(&self.inner.state);
        let mut entry = write(&self.inner.entry);
        let refused = entry.as_ref().is_some_and(|e| e.token.secret() == token.secret());
        if refused {
            *entry = None;
            state.forgotten = true;
        }
        tracing::debug!(
            target: TARGET,
            vendor = self.inner.name,
            forgotten = refused,
            "the server refused a token{}",
            if refused { "" } else { " already replaced" }
        );
        refused
    }

    /// Every new token, with why it changed, as it happens: the receiver holds the
    /// latest (`None` until the first), and `changed().await` wakes on the next.
    ///
    /// A `tokio::sync::watch` channel rather than a callback or a queue: a watcher that
    /// falls behind sees the newest token (the only one worth using or storing) instead
    /// of a backlog, and nothing a watcher does can slow or block a load.
    pub fn subscribe(&self) -> super::TokenEvents {
        self.inner.events.subscribe()
    }

    /// Puts `token`, obtained elsewhere (a login, a rotation the user asked for), in the
    /// cache, and ends any backoff. A load already in flight does not overwrite it.
    pub fn store(&self, token: Token) {
        if self.inner.put(token.clone(), TokenChange::Stored) {
            self.inner.publish(token);
        }
    }

    /// [`CachedTokenSource::store`], and when shared, waits until the token is shared
    /// with the fleet (or could not be): what a rotation asked for uses, so that the
    /// next rotation, on any worker, starts from it.
    pub async fn store_shared(&self, token: Token) {
        if !self.inner.put(token.clone(), TokenChange::Stored) {
            return;
        }
        let shared = self.inner.shared.read().unwrap_or_else(PoisonError::into_inner).clone();
        if let Some(shared) = shared {
            shared.publish(token).await;
        }
    }
}

impl<L> Inner<L> {
    /// Caches `token`, obtained outside a load (stored, or another process's), ends any
    /// backoff, and tells watchers why it changed; whether it is another secret than
    /// the one cached.
    fn put(&self, token: Token, change: TokenChange) -> bool {
        let now = Instant::now();
        let schedule = self.policy.schedule(&token, now, SystemTime::now(), false);
        let mut state = lock(&self.state);
        state.stored = state.stored.wrapping_add(1);
        state.cached_load = state.loads;
        state.failures = 0;
        state.retry_at = None;
        state.last_error = None;
        state.forgotten = false;
        let mut entry = write(&self.entry);
        let new = entry.as_ref().is_none_or(|e| e.token.secret() != token.secret());
        *entry = Some(Entry {
            token: token.clone(),
            schedule,
        });
        drop(entry);
        // The same token with a new expiry (a sliding window pushed back) is no news.
        if new {
            tracing::debug!(
                target: TARGET,
                vendor = self.name,
                change = ?change,
                expires_in_s = schedule.expires_at.map(|at| at.saturating_duration_since(now).as_secs()),
                "token stored"
            );
            self.events.send_replace(Some(TokenEvent { token, change }));
        }
        new
    }

    /// Shares `token` with the fleet, if shared, in a task of its own.
    fn publish(&self, token: Token) {
        let shared = self.shared.read().unwrap_or_else(PoisonError::into_inner).clone();
        if let (Some(shared), Ok(runtime)) = (shared, tokio::runtime::Handle::try_current()) {
            drop(runtime.spawn(async move { shared.publish(token).await }));
        }
    }
}

impl<L: Send + Sync + 'static> Inner<L> {
    /// When shared and the recheck interval has passed, reads the store behind this
    /// hit, in a task of its own, and takes a token another process replaced.
    fn recheck_behind(self: &Arc<Self>, now: Instant, token: &Token) {
        // Not shared: one relaxed load, nothing more on the hit path.
        let next = self.next_recheck.load(Ordering::Relaxed);
        if next == 0 {
            return;
        }
        let at = nanos(now.saturating_duration_since(self.born));
        if at < next {
            return;
        }
        let Some(shared) = self.shared.read().unwrap_or_else(PoisonError::into_inner).clone() else {
            return;
        };
        let then = at.saturating_add(nanos(shared.recheck_interval()));
        // One caller of many claims the recheck.
        if self
            .next_recheck
            .compare_exchange(next, then, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (inner, token) = (Arc::clone(self), token.clone());
        drop(runtime.spawn(async move {
            if let Some(newer) = shared.recheck(&token).await {
                // Only over the token the recheck started from: a load that landed
                // meanwhile holds something newer.
                let still = inner.valid(Instant::now()).is_some_and(|(cached, _)| cached == token);
                if still {
                    inner.put(newer, TokenChange::Shared);
                }
            }
        }));
    }
}

fn nanos(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// What a caller without a valid token waits on.
enum Joined {
    /// A token cached while the caller looked.
    Token(Token),
    /// The load in flight.
    Flight(watch::Receiver<Option<Outcome>>),
}

impl<L> Inner<L> {
    /// The cached token if valid at `now`, and whether it is due.
    fn valid(&self, now: Instant) -> Option<(Token, bool)> {
        let entry = self.entry.read().unwrap_or_else(PoisonError::into_inner);
        let entry = entry.as_ref()?;
        entry.valid(now).then(|| (entry.token.clone(), entry.due(now)))
    }

    /// Records a load's outcome, and returns what its waiters get.
    fn land(&self, load: u64, stored: u64, change: TokenChange, outcome: Outcome) -> Outcome {
        let (now, wall) = (Instant::now(), SystemTime::now());
        let mut state = lock(&self.state);
        state.flight = None;
        let outcome = outcome.and_then(|token| {
            let schedule = self.policy.schedule(&token, now, wall, true);
            match schedule.expires_at {
                Some(at) if at <= now => Err(self.expired_on_arrival(&token, wall)),
                _ => Ok((token, schedule)),
            }
        });
        match outcome {
            Ok((token, schedule)) => {
                state.failures = 0;
                state.retry_at = None;
                state.last_error = None;
                tracing::debug!(
                    target: TARGET,
                    vendor = self.name,
                    change = ?change,
                    expires_in_s = schedule.expires_at.map(|at| at.saturating_duration_since(now).as_secs()),
                    "token loaded"
                );
                if state.stored == stored {
                    state.cached_load = load;
                    *write(&self.entry) = Some(Entry {
                        token: token.clone(),
                        schedule,
                    });
                    self.events.send_replace(Some(TokenEvent {
                        token: token.clone(),
                        change,
                    }));
                }
                Ok(token)
            }
            Err(error) => {
                state.failures = state.failures.saturating_add(1);
                let backoff = self.policy.backoff_after(state.failures);
                state.retry_at = now.checked_add(backoff);
                state.last_error = Some(error.clone());
                self.report_failure(&error, state.failures, backoff, now);
                // A token stored while the load ran serves its waiters better.
                self.valid(now).map(|(token, _)| token).ok_or(error)
            }
        }
    }

    /// Keeps the token of a load that finished after its waiters were told it timed out,
    /// unless something newer is cached (a token stored, or a later load's).
    fn land_late(&self, load: u64, stored: u64, change: TokenChange, outcome: Outcome) {
        let (now, wall) = (Instant::now(), SystemTime::now());
        let Ok(token) = outcome else {
            tracing::debug!(target: TARGET, vendor = self.name, "a load that had timed out failed in the end");
            return;
        };
        let schedule = self.policy.schedule(&token, now, wall, true);
        if schedule.expires_at.is_some_and(|at| at <= now) {
            return;
        }
        let mut state = lock(&self.state);
        if state.stored != stored || state.cached_load > load {
            return;
        }
        state.cached_load = load;
        state.failures = 0;
        state.retry_at = None;
        state.last_error = None;
        *write(&self.entry) = Some(Entry {
            token: token.clone(),
            schedule,
        });
        tracing::debug!(target: TARGET, vendor = self.name, "a load that had timed out finished: its token is kept");
        self.events.send_replace(Some(TokenEvent { token, change }));
    }

    /// The event for a failed load, at the level its consequence deserves: `DEBUG`
    /// while the cached token has time left, `WARN` once it expires within
    /// [`RefreshPolicy::warn_before`] (or there was none yet), `ERROR` once it has
    /// expired with no replacement.
    fn report_failure(&self, error: &Error, failures: u32, backoff: std::time::Duration, now: Instant) {
        let entry = self.entry.read().unwrap_or_else(PoisonError::into_inner);
        let left = entry
            .as_ref()
            .map(|e| e.schedule.expires_at.map(|at| at.saturating_duration_since(now)));
        let retry_in_ms = u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX);
        let vendor = self.name;
        match left {
            Some(Some(left)) if left.is_zero() => tracing::error!(
                target: TARGET, vendor, failures, retry_in_ms, error = %error,
                "the token has expired and no replacement could be loaded"
            ),
            Some(Some(left)) if left <= self.policy.warn_before => tracing::warn!(
                target: TARGET, vendor, failures, retry_in_ms, expires_in_s = left.as_secs(), error = %error,
                "refreshing the token keeps failing and it expires soon"
            ),
            Some(_) => tracing::debug!(
                target: TARGET, vendor, failures, retry_in_ms, error = %error,
                "refreshing the token failed; the current one is still served"
            ),
            None => tracing::warn!(
                target: TARGET, vendor, failures, retry_in_ms, error = %error,
                "loading a token failed"
            ),
        }
    }

    fn expired_on_arrival(&self, token: &Token, wall: SystemTime) -> Error {
        let ago = token
            .expires_at()
            .and_then(|at| wall.duration_since(at).ok())
            .unwrap_or_default();
        tracing::warn!(
            target: TARGET,
            vendor = self.name,
            expired_s_ago = ago.as_secs(),
            "a loaded token had already expired on arrival; not handed out"
        );
        Error::new(
            ErrorKind::TokenExpired,
            self.name,
            format!(
                "the token loaded had expired {} s before it arrived (its expiry on this machine's clock); it was not handed out",
                ago.as_secs()
            ),
        )
    }
}

impl<L, F> Inner<L>
where
    L: Fn(Option<Token>) -> F + Send + Sync + 'static,
    F: Future<Output = Result<Token, Error>> + Send + 'static,
{
    /// Starts a refresh nobody waits for, unless one is in flight or backing off.
    fn refresh_behind(self: &Arc<Self>, now: Instant) {
        let mut state = lock(&self.state);
        if state.flight.is_some() || state.retry_at.is_some_and(|at| now < at) {
            return;
        }
        // Without a runtime there is no refresh ahead; the token is still valid.
        if let Ok((_, launch)) = self.start(&mut state, TokenChange::Ahead) {
            drop(state);
            tracing::debug!(target: TARGET, vendor = self.name, "token due: refreshing ahead of expiry, serving the current one meanwhile");
            launch.spawn();
        }
    }

    /// The load a caller without a valid token waits on: the one in flight, or a new
    /// one; inside a backoff, the last error.
    fn join_or_start(self: &Arc<Self>, now: Instant) -> Result<Joined, Error> {
        let mut state = lock(&self.state);
        // A load may have landed since the caller looked.
        if let Some((token, _)) = self.valid(now) {
            return Ok(Joined::Token(token));
        }
        if let Some(flight) = &state.flight {
            return Ok(Joined::Flight(flight.clone()));
        }
        if state.retry_at.is_some_and(|at| now < at) {
            tracing::debug!(target: TARGET, vendor = self.name, "backing off after a failed load: the last error, without a request");
            return Err(state.last_error.clone().unwrap_or_else(|| self.abandoned()));
        }
        let had_one = self.entry.read().unwrap_or_else(PoisonError::into_inner).is_some();
        let change = match (had_one, state.forgotten) {
            (true, _) => TokenChange::Expired,
            (false, true) => TokenChange::Refused,
            (false, false) => TokenChange::First,
        };
        let (flight, launch) = self.start(&mut state, change)?;
        tracing::debug!(target: TARGET, vendor = self.name, change = ?change, "loading a token");
        // Spawned with the state unlocked: a task dropped at once (a runtime shutting
        // down) lands its outcome, which takes the lock.
        drop(state);
        launch.spawn();
        Ok(Joined::Flight(flight))
    }

    /// Prepares a load: its outcome will land in the cache and in the returned channel
    /// once the [`Launch`] is spawned.
    fn start(
        self: &Arc<Self>,
        state: &mut State,
        change: TokenChange,
    ) -> Result<(watch::Receiver<Option<Outcome>>, Launch), Error> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::new(
                ErrorKind::InvalidArgument,
                self.name,
                "a token source loads on a tokio runtime, and none is running",
            )
        })?;
        let current = self
            .entry
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|e| e.token.clone());
        // The loader runs before any flight exists: should it panic, nothing is left
        // half-started (a flight dropped here would land under the lock held).
        let shared = self.shared.read().unwrap_or_else(PoisonError::into_inner).clone();
        let load = (self.load)(current.clone());
        let load: std::pin::Pin<Box<dyn Future<Output = Outcome> + Send>> = match shared {
            Some(shared) => Box::pin(shared.load(current, load)),
            None => Box::pin(load),
        };
        let timeout = self.policy.load_timeout;
        state.loads = state.loads.wrapping_add(1);
        let (sender, receiver) = watch::channel(None);
        let mut flight = Flight {
            inner: Arc::clone(self),
            load: state.loads,
            stored: state.stored,
            change,
            sender,
            landed: false,
        };
        state.forgotten = false;
        state.flight = Some(receiver.clone());
        let task = Box::pin(async move {
            let mut load = load;
            match tokio::time::timeout(timeout, &mut load).await {
                Ok(outcome) => flight.land(outcome),
                Err(_) => {
                    let error = Error::new(
                        ErrorKind::Timeout,
                        flight.inner.name,
                        format!("loading a token took longer than {timeout:?}"),
                    );
                    flight.land(Err(error));
                    // The waiters have their answer, and the next load may start after
                    // the backoff; this one goes on to its end, so that a token it makes
                    // the server create (a rotation half done) is not lost.
                    let late = load.await;
                    flight.inner.land_late(flight.load, flight.stored, flight.change, late);
                }
            }
        });
        Ok((receiver, Launch { runtime, task }))
    }
}

/// A load ready to run as a task of its own.
struct Launch {
    runtime: tokio::runtime::Handle,
    task: std::pin::Pin<Box<dyn Future<Output = ()> + Send>>,
}

impl Launch {
    fn spawn(self) {
        // The handle is not needed: the load lands its outcome itself.
        drop(self.runtime.spawn(self.task));
    }
}

impl<L> Inner<L> {
    fn abandoned(&self) -> Error {
        Error::new(
            ErrorKind::Transport,
            self.name,
            "the token load ended without an outcome (its task was stopped)",
        )
    }
}

/// A load in flight: lands its outcome once, also when its task is dropped or its
/// loader panics, so that no caller waits forever and the next call may load again.
struct Flight<L> {
    inner: Arc<Inner<L>>,
    /// Its number among the loads.
    load: u64,
    stored: u64,
    change: TokenChange,
    sender: watch::Sender<Option<Outcome>>,
    landed: bool,
}

impl<L> Flight<L> {
    fn land(&mut self, outcome: Outcome) {
        self.landed = true;
        let outcome = self.inner.land(self.load, self.stored, self.change, outcome);
        self.sender.send_replace(Some(outcome));
    }
}

impl<L> Drop for Flight<L> {
    fn drop(&mut self) {
        if !self.landed {
            let error = self.inner.abandoned();
            self.land(Err(error));
        }
    }
}

/// The outcome of the load `flight` leads to.
async fn wait(mut flight: watch::Receiver<Option<Outcome>>, name: &'static str) -> Outcome {
    loop {
        if let Some(outcome) = flight.borrow_and_update().as_ref() {
            return outcome.clone();
        }
        if flight.changed().await.is_err() {
            return flight.borrow().clone().unwrap_or_else(|| {
                Err(Error::new(
                    ErrorKind::Transport,
                    name,
                    "the token load ended without an outcome",
                ))
            });
        }
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

fn write(entry: &RwLock<Option<Entry>>) -> std::sync::RwLockWriteGuard<'_, Option<Entry>> {
    entry.write().unwrap_or_else(PoisonError::into_inner)
}

impl<L, F> TokenSource for CachedTokenSource<L>
where
    L: Fn(Option<Token>) -> F + Send + Sync + 'static,
    F: Future<Output = Result<Token, Error>> + Send + 'static,
{
    fn token(&self) -> TokenFuture<'_> {
        Box::pin(CachedTokenSource::token(self))
    }

    fn report_refused(&self, token: &Token) -> bool {
        CachedTokenSource::report_refused(self, token)
    }
}

impl<L> fmt::Debug for CachedTokenSource<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let expiry = self
            .inner
            .entry
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|e| e.token.expiry());
        let failures = lock(&self.inner.state).failures;
        f.debug_struct("CachedTokenSource")
            .field("name", &self.inner.name)
            .field("policy", &self.inner.policy)
            .field("cached_expiry", &expiry)
            .field("failures", &failures)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
