//! Token lifecycles: a token with its expiry ([`Token`]), anything that hands out a
//! token valid now ([`TokenSource`]), and a cache that refreshes ahead of expiry
//! ([`CachedTokenSource`]) on which every vendor's lifecycle type is built.
//!
//! The cache takes the best of the anchors (aws-smithy-runtime's lazy identity cache:
//! a refresh buffer with jitter, a load timeout, one load at a time; Go's oauth2
//! `ReuseTokenSource`) and goes further: a failed refresh keeps serving the old token
//! while it is still valid, retries with exponential backoff, and fails only once the
//! token has expired. Its clock is tokio's, so tests move time instead of sleeping.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use crate::error::{Error, ErrorKind};
use crate::secret::Secret;

/// A token and when it expires (`None`: it does not expire by itself, or the vendor
/// does not say).
///
/// `Debug` shows the expiry, never the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    secret: Secret,
    expires_at: Option<SystemTime>,
}

impl Token {
    /// A token expiring at `expires_at`.
    pub fn new(secret: impl Into<Secret>, expires_at: Option<SystemTime>) -> Self {
        Token {
            secret: secret.into(),
            expires_at,
        }
    }

    /// The token itself.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// When it expires, if it does.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }

    /// The expiry in RFC 3339 (`2026-11-27T10:00:00Z`), if it expires (and falls
    /// within the years RFC 3339 can write).
    pub fn expires_at_rfc3339(&self) -> Option<String> {
        crate::time::rfc3339(self.expires_at?)
    }

    /// Whether it is still valid at `now` (a token without expiry always is).
    pub fn is_valid_at(&self, now: SystemTime) -> bool {
        self.expires_at.is_none_or(|at| now < at)
    }

    /// The token, for building a client with it.
    pub fn into_secret(self) -> Secret {
        self.secret
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("secret", &self.secret)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// The future of [`TokenSource::token`].
pub type TokenFuture<'a> = Pin<Box<dyn Future<Output = Result<Token, Error>> + Send + 'a>>;

/// Anything that hands out a token valid now: every vendor crate's lifecycle type.
///
/// Object-safe, so that an application can hold any vendor's source the same way:
///
/// ```
/// use std::sync::Arc;
/// use api_tokens_runtime::{Token, TokenFuture, TokenSource};
///
/// struct Fixed(Token);
/// impl TokenSource for Fixed {
///     fn token(&self) -> TokenFuture<'_> {
///         Box::pin(async move { Ok(self.0.clone()) })
///     }
/// }
///
/// # async fn run() -> Result<(), api_tokens_runtime::Error> {
/// let sources: Vec<Arc<dyn TokenSource>> = vec![Arc::new(Fixed(Token::new("t", None)))];
/// for source in &sources {
///     let token = source.token().await?;
///     println!("{token:?}");
/// }
/// # Ok(())
/// # }
/// ```
pub trait TokenSource: Send + Sync {
    /// A token valid now: cached, refreshed, or newly created, as the source decides.
    fn token(&self) -> TokenFuture<'_>;
}

impl<S: TokenSource + ?Sized> TokenSource for Arc<S> {
    fn token(&self) -> TokenFuture<'_> {
        (**self).token()
    }
}

/// When and how a [`CachedTokenSource`] refreshes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefreshPolicy {
    /// Refresh this long before expiry.
    pub refresh_before: Duration,
    /// Refresh up to this much earlier still, at random, so that many clients started
    /// together do not refresh together.
    pub jitter: Duration,
    /// The longest one load may take; a slower one fails with `ErrorKind::Timeout`.
    pub load_timeout: Duration,
    /// The wait after a failed refresh, doubling with each failure in a row.
    pub initial_backoff: Duration,
    /// The longest wait between failed refreshes.
    pub max_backoff: Duration,
}

impl RefreshPolicy {
    /// Refresh `refresh_before` ahead of expiry, with a tenth of that as jitter, a
    /// 30-second load timeout and a backoff from 1 s to 30 s.
    pub const fn new(refresh_before: Duration) -> Self {
        RefreshPolicy {
            refresh_before,
            jitter: Duration::from_nanos((refresh_before.as_nanos() / 10) as u64),
            load_timeout: Duration::from_secs(30),
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
        }
    }

    /// The same, with another jitter.
    pub const fn jitter(mut self, jitter: Duration) -> Self {
        self.jitter = jitter;
        self
    }

    /// The same, with another load timeout.
    pub const fn load_timeout(mut self, timeout: Duration) -> Self {
        self.load_timeout = timeout;
        self
    }

    /// The same, with other backoff bounds.
    pub const fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max;
        self
    }
}

impl Default for RefreshPolicy {
    /// Five minutes ahead, as aws-sdk refreshes credentials.
    fn default() -> Self {
        RefreshPolicy::new(Duration::from_secs(300))
    }
}

/// A cached token, with its times on tokio's clock.
#[derive(Clone)]
struct Entry {
    token: Token,
    refresh_at: Option<Instant>,
    expires_at: Option<Instant>,
}

impl Entry {
    fn fresh(&self, now: Instant) -> bool {
        self.refresh_at.is_none_or(|at| now < at)
    }

    fn valid(&self, now: Instant) -> bool {
        self.expires_at.is_none_or(|at| now < at)
    }
}

/// Failures in a row, and when the next refresh may be tried.
#[derive(Default)]
struct Flight {
    failures: u32,
    next_try: Option<Instant>,
}

/// A loader wrapped in a cache that refreshes ahead of expiry.
///
/// - A cache hit takes a read lock and clones the token (see the `token_cache`
///   benchmark).
/// - One load at a time: any number of concurrent callers on a stale cache wait for the
///   same load, which runs once.
/// - A failed refresh keeps serving the old token while it is valid, and is tried again
///   after a backoff; once the old token has expired, a failed load is the caller's
///   error.
/// - [`CachedTokenSource::invalidate`] forgets the token, for when the server says it
///   is no longer good.
pub struct CachedTokenSource<L> {
    name: &'static str,
    policy: RefreshPolicy,
    load: L,
    cache: RwLock<Option<Entry>>,
    flight: tokio::sync::Mutex<Flight>,
}

impl<L, F> CachedTokenSource<L>
where
    L: Fn(Option<Token>) -> F + Send + Sync,
    F: Future<Output = Result<Token, Error>> + Send,
{
    /// A cache around `load`, which gets the token it replaces (expired or not; `None`
    /// the first time or after [`invalidate`](Self::invalidate)) so that it can refresh
    /// rather than create; `name` (the vendor's) is used in its errors.
    pub fn new(name: &'static str, policy: RefreshPolicy, load: L) -> Self {
        CachedTokenSource {
            name,
            policy,
            load,
            cache: RwLock::new(None),
            flight: tokio::sync::Mutex::new(Flight::default()),
        }
    }

    /// The refresh policy.
    pub fn policy(&self) -> &RefreshPolicy {
        &self.policy
    }

    /// A token valid now; see the type's documentation for when it loads.
    pub async fn token(&self) -> Result<Token, Error> {
        if let Some(token) = self.cached(|entry, now| entry.fresh(now)) {
            return Ok(token);
        }
        let mut flight = self.flight.lock().await;
        // Whoever held the flight before may have refreshed already.
        if let Some(token) = self.cached(|entry, now| entry.fresh(now)) {
            return Ok(token);
        }
        let now = Instant::now();
        if flight.next_try.is_some_and(|at| now < at)
            && let Some(token) = self.cached(|entry, now| entry.valid(now))
        {
            return Ok(token);
        }
        let current = self.cached(|_, _| true);
        let loaded = match tokio::time::timeout(self.policy.load_timeout, (self.load)(current)).await {
            Ok(loaded) => loaded,
            Err(_) => Err(Error::new(
                ErrorKind::Timeout,
                self.name,
                format!("loading a token took longer than {:?}", self.policy.load_timeout),
            )),
        };
        match loaded {
            Ok(token) => {
                *flight = Flight::default();
                self.store(token.clone());
                Ok(token)
            }
            Err(error) => {
                let backoff = crate::retry::exponential_backoff(
                    self.policy.initial_backoff,
                    flight.failures,
                    self.policy.max_backoff,
                );
                flight.failures = flight.failures.saturating_add(1);
                flight.next_try = Instant::now().checked_add(backoff);
                self.cached(|entry, now| entry.valid(now)).ok_or(error)
            }
        }
    }

    /// Forgets the cached token: the next call loads a new one.
    pub fn invalidate(&self) {
        if let Ok(mut cache) = self.cache.write() {
            *cache = None;
        }
    }

    /// Puts `token` in the cache (a token obtained elsewhere, for example at login).
    pub fn store(&self, token: Token) {
        let now = Instant::now();
        let wall = SystemTime::now();
        let expires_at = token
            .expires_at
            // An expiry beyond what the clock can hold (a hostile or odd answer) is none.
            .and_then(|at| now.checked_add(at.duration_since(wall).unwrap_or(Duration::ZERO)));
        // Never earlier than half the token's life: a short-lived token is not refreshed
        // on every call.
        let early = self.policy.refresh_before + jitter(self.policy.jitter);
        let refresh_at = expires_at.map(|at| {
            let early = early.min(at.saturating_duration_since(now) / 2);
            at.checked_sub(early).unwrap_or(now)
        });
        if let Ok(mut cache) = self.cache.write() {
            *cache = Some(Entry {
                token,
                refresh_at,
                expires_at,
            });
        }
    }

    /// The cached token, when `keep` says it will do.
    fn cached(&self, keep: impl Fn(&Entry, Instant) -> bool) -> Option<Token> {
        let cache = self.cache.read().ok()?;
        let entry = cache.as_ref()?;
        keep(entry, Instant::now()).then(|| entry.token.clone())
    }
}

impl<L, F> TokenSource for CachedTokenSource<L>
where
    L: Fn(Option<Token>) -> F + Send + Sync,
    F: Future<Output = Result<Token, Error>> + Send + 'static,
{
    fn token(&self) -> TokenFuture<'_> {
        Box::pin(CachedTokenSource::token(self))
    }
}

impl<L> fmt::Debug for CachedTokenSource<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let expires_at = self
            .cache
            .read()
            .ok()
            .and_then(|c| c.as_ref().map(|e| e.token.expires_at));
        f.debug_struct("CachedTokenSource")
            .field("name", &self.name)
            .field("policy", &self.policy)
            .field("cached_expiry", &expires_at)
            .finish_non_exhaustive()
    }
}

/// The expiry (`exp`, unix seconds) of a JWT, read from its payload.
///
/// The signature is **not** checked: the expiry only decides when to get a new token,
/// and the server that issued the token judges it on every use.
pub fn jwt_expires_at(jwt: &str) -> Option<SystemTime> {
    use base64::Engine;
    let payload = jwt.split('.').nth(1)?;
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let bytes = engine.decode(payload).ok()?;
    #[derive(serde::Deserialize)]
    struct Claims {
        exp: Option<f64>,
    }
    let exp = serde_json::from_slice::<Claims>(&bytes).ok()?.exp?;
    (exp.is_finite() && exp >= 0.0).then(|| SystemTime::UNIX_EPOCH + Duration::from_secs_f64(exp.min(1e11)))
}

/// A random duration up to `max`, from std's randomly keyed hasher (no `rand` needed for
/// spreading refreshes).
fn jitter(max: Duration) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    if max.is_zero() {
        return Duration::ZERO;
    }
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0);
    let fraction = (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64;
    max.mul_f64(fraction)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A loader that counts its loads and fails while `fail` is set.
    fn counting(
        lifetime: Duration,
        fail: Arc<std::sync::atomic::AtomicBool>,
    ) -> (
        Arc<AtomicUsize>,
        impl Fn(Option<Token>) -> TokenFuture<'static> + Send + Sync,
    ) {
        let loads = Arc::new(AtomicUsize::new(0));
        let counter = loads.clone();
        let load = move |_| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let fail = fail.load(Ordering::SeqCst);
            Box::pin(async move {
                // A load takes a moment, so that concurrent callers pile up behind it.
                tokio::time::sleep(Duration::from_millis(50)).await;
                if fail {
                    Err(Error::new(ErrorKind::Transport, "Test", "refused"))
                } else {
                    Ok(Token::new(format!("token-{n}"), Some(SystemTime::now() + lifetime)))
                }
            }) as TokenFuture<'static>
        };
        (loads, load)
    }

    fn policy() -> RefreshPolicy {
        RefreshPolicy::new(Duration::from_secs(60)).jitter(Duration::ZERO)
    }

    #[tokio::test(start_paused = true)]
    async fn a_thousand_callers_on_a_stale_cache_load_once() {
        let (loads, load) = counting(Duration::from_secs(600), Arc::default());
        let source = Arc::new(CachedTokenSource::new("Test", policy(), load));
        let callers: Vec<_> = (0..1000)
            .map(|_| {
                let source = source.clone();
                tokio::spawn(async move { source.token().await })
            })
            .collect();
        for caller in callers {
            let token = caller.await.expect("no panic").expect("token");
            assert_eq!(token.secret().expose(), "token-0");
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        // Hits until the refresh buffer, one refresh after.
        tokio::time::advance(Duration::from_secs(539)).await;
        source.token().await.expect("hit");
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(source.token().await.expect("refreshed").secret().expose(), "token-1");
        assert_eq!(loads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_refresh_serves_the_old_token_until_it_expires() {
        let fail = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (loads, load) = counting(Duration::from_secs(600), fail.clone());
        let source = CachedTokenSource::new(
            "Test",
            policy().backoff(Duration::from_secs(10), Duration::from_secs(20)),
            load,
        );
        source.token().await.expect("first");
        fail.store(true, Ordering::SeqCst);
        // Inside the refresh buffer: the refresh fails, the old token is served.
        tokio::time::advance(Duration::from_secs(550)).await;
        assert_eq!(source.token().await.expect("old").secret().expose(), "token-0");
        assert_eq!(loads.load(Ordering::SeqCst), 2);
        // Within the backoff, no new attempt.
        tokio::time::advance(Duration::from_secs(5)).await;
        source.token().await.expect("old");
        assert_eq!(loads.load(Ordering::SeqCst), 2);
        // After it, another attempt.
        tokio::time::advance(Duration::from_secs(10)).await;
        source.token().await.expect("old");
        assert_eq!(loads.load(Ordering::SeqCst), 3);
        // Past the expiry, the failure is the caller's, typed.
        tokio::time::advance(Duration::from_secs(60)).await;
        let error = source.token().await.expect_err("expired");
        assert_eq!(error.kind(), ErrorKind::Transport);
        // And it recovers when the loader does.
        fail.store(false, Ordering::SeqCst);
        assert!(source.token().await.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_load_times_out_and_invalidate_forces_a_load() {
        let load = |_| async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(Token::new("late", None))
        };
        let source = CachedTokenSource::new("Test", policy().load_timeout(Duration::from_secs(5)), load);
        let error = source.token().await.expect_err("too slow");
        assert_eq!(error.kind(), ErrorKind::Timeout);
        let loads = Arc::new(AtomicUsize::new(0));
        let counter = loads.clone();
        let source = CachedTokenSource::new("Test", policy(), move |current: Option<Token>| {
            counter.fetch_add(1, Ordering::SeqCst);
            // After `invalidate` the loader starts from nothing.
            assert!(current.is_none());
            async { Ok(Token::new("forever", None)) }
        });
        source.token().await.expect("first");
        tokio::time::advance(Duration::from_secs(10 * 365 * 86_400)).await;
        source.token().await.expect("no expiry: still cached");
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        source.invalidate();
        source.token().await.expect("reloaded");
        assert_eq!(loads.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn jwt_expiry_is_read_without_the_signature() {
        use base64::Engine;
        let encode = |json: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json);
        let jwt = format!(
            "{}.{}.sig",
            encode(r#"{"alg":"HS256"}"#),
            encode(r#"{"sub":"u","exp":1720591967}"#)
        );
        assert_eq!(
            jwt_expires_at(&jwt),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_720_591_967))
        );
        for bad in [
            "",
            "a.b.c",
            "x.e30.y",
            &format!("h.{}.s", encode(r#"{"exp":"soon"}"#)),
            &format!("h.{}.s", encode(r#"{"exp":-5}"#)),
        ] {
            assert_eq!(jwt_expires_at(bad), None, "{bad}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_expiry_beyond_any_clock_is_no_panic() {
        let far = SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(1 << 62));
        let source = CachedTokenSource::new("Test", policy(), move |_| async move { Ok(Token::new("t", far)) });
        let token = source.token().await.expect("token");
        assert_eq!(token.expires_at_rfc3339(), None);
        tokio::time::advance(Duration::from_secs(86_400)).await;
        source.token().await.expect("still cached");
    }

    #[test]
    fn expiries_print_as_rfc3339() {
        let token = Token::new("t", Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_720_591_967)));
        assert_eq!(token.expires_at_rfc3339().as_deref(), Some("2024-07-10T06:12:47Z"));
        assert_eq!(Token::new("t", None).expires_at_rfc3339(), None);
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let token = Token::new("s3cr3t-value", Some(SystemTime::UNIX_EPOCH));
        let text = format!("{token:?}");
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(text.contains("expires_at"), "{text}");
    }
}
