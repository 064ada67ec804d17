//! [`Connection`]: what a pyTigerGraph connection does for tokens, on every server
//! generation, detected once from the server's answers.

use std::time::{Duration, SystemTime};

use api_tokens_runtime::{
    BoxedLoader, CachedTokenSource, Category, Error, ErrorKind, Expiry, Identity, RefreshPolicy, Secret, ServerClock,
    SharedCache, Token,
};
use progenitor_client::ClientInfo;
use tokio::sync::Mutex;

use crate::types::RestppTokenResponse;
use crate::{Client, ClientBuilder, Milliseconds, Seconds, TokenList};

/// The token endpoints a TigerGraph server has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Generation {
    /// 3.0–3.4: `/requesttoken` with the secret in the query or as the raw body.
    V3_0,
    /// 3.5–3.x (and 4.x, deprecated): `/requesttoken` with a JSON body.
    V3_5,
    /// 4.x: JWTs at `/gsql/v1/tokens` on the GSQL server; no refresh endpoint.
    V4,
}

/// REST++'s port when the host names none (3.x servers without nginx).
pub const RESTPP_PORT: u16 = 9000;
/// The GSQL server's (and nginx's) port when the host names none.
pub const GSQL_PORT: u16 = 14240;

/// Configures a [`Connection`]: one host, a secret or a user name and password.
///
/// Base URLs are derived as pyTigerGraph derives them: a host with a port serves both
/// APIs behind nginx (`<host>:<port>/restpp` and `<host>:<port>`); a host without one
/// has REST++ on 9000 and the GSQL server on 14240. `restpp_url` and `gsql_url`
/// override either.
pub struct ConnectionBuilder {
    host: String,
    restpp_url: Option<String>,
    gsql_url: Option<String>,
    secret: Option<Secret>,
    basic: Option<(String, Secret)>,
    graph: Option<String>,
    generation: Option<Generation>,
    lifetime: Option<Duration>,
    fleet: Option<SharedCache>,
    configure: Box<dyn Fn(ClientBuilder) -> ClientBuilder + Send + Sync>,
}

impl std::fmt::Debug for ConnectionBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionBuilder")
            .field("restpp_url", &self.restpp_url.as_ref().map(|_| "<set>"))
            .field("gsql_url", &self.gsql_url.as_ref().map(|_| "<set>"))
            .field("secret", &self.secret)
            .field("basic", &self.basic.as_ref().map(|_| "<redacted>"))
            .field("graph", &self.graph)
            .field("generation", &self.generation)
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

impl ConnectionBuilder {
    /// Authenticates with a secret made by `CREATE SECRET`.
    pub fn secret(mut self, secret: impl Into<Secret>) -> Self {
        self.secret = Some(secret.into());
        self
    }

    /// Authenticates with a user name and password (HTTP Basic).
    pub fn basic(mut self, username: impl Into<String>, password: impl Into<Secret>) -> Self {
        self.basic = Some((username.into(), password.into()));
        self
    }

    /// The graph tokens are for (needed with a user name and password on 3.x); without
    /// one, 4.x tokens are global.
    pub fn graph(mut self, graph: impl Into<String>) -> Self {
        self.graph = Some(graph.into());
        self
    }

    /// REST++'s base URL, instead of the derived one.
    pub fn restpp_url(mut self, url: impl Into<String>) -> Self {
        self.restpp_url = Some(url.into());
        self
    }

    /// The GSQL server's base URL, instead of the derived one.
    pub fn gsql_url(mut self, url: impl Into<String>) -> Self {
        self.gsql_url = Some(url.into());
        self
    }

    /// The server's generation, known: no detection.
    pub fn generation(mut self, generation: Generation) -> Self {
        self.generation = Some(generation);
        self
    }

    /// The lifetime to ask for when the connection gets or refreshes a token by itself
    /// (as a [`TokenSource`](crate::TokenSource)); without it, the lifetime last given to
    /// [`Connection::get`], else the server's default (30 days on 3.x, 7 days on 4.x).
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = Some(lifetime);
        self
    }

    /// Shares the connection's tokens with every process of a fleet through `fleet`
    /// (see [`SharedCache`]): the processes whose base URLs, credential (user name, or a
    /// keyed hash of the secret), graph and lifetime are the same get one token and one
    /// refresh between them, instead of a token each that lives on the server for its
    /// whole lifetime. On 4.x a replaced JWT is dropped only after the fleet's grace
    /// period ([`SharedCache::grace`]), so that workers finishing requests with it are
    /// not cut off.
    pub fn shared(mut self, fleet: &SharedCache) -> Self {
        self.fleet = Some(fleet.clone());
        self
    }

    /// Applies more settings (timeouts, a test responder) to both underlying clients.
    pub fn configure(mut self, configure: impl Fn(ClientBuilder) -> ClientBuilder + Send + Sync + 'static) -> Self {
        self.configure = Box::new(configure);
        self
    }

    /// Builds the connection; fails on a malformed host or an unusable credential.
    pub fn build(self) -> Result<Connection, Error> {
        let invalid = |why: &str| crate::sdk_error(ErrorKind::InvalidArgument, why.to_owned());
        let host = reqwest::Url::parse(&self.host).map_err(|_| invalid("host: not an absolute http(s) URL"))?;
        // A request goes where the user meant or not at all: what a base URL cannot
        // carry is refused, as every client's base URL refuses it.
        if !matches!(host.scheme(), "http" | "https") {
            return Err(invalid("host: only http and https are supported"));
        }
        if !host.username().is_empty() || host.password().is_some() {
            return Err(invalid(
                "host: credentials in the URL are refused; use `secret` or `basic`",
            ));
        }
        if host.query().is_some() || host.fragment().is_some() {
            return Err(invalid("host: a query or fragment is refused"));
        }
        // IPv6 hosts come bracketed (`[::1]`).
        let name = host.host_str().ok_or_else(|| invalid("host: no host name"))?;
        let origin = format!("{}://{}", host.scheme(), name);
        // A path prefix (a server behind a reverse proxy) is kept, before each API's own.
        let prefix = host.path().trim_end_matches('/');
        let (restpp, gsql) = match host.port() {
            Some(port) => (
                format!("{origin}:{port}{prefix}/restpp"),
                format!("{origin}:{port}{prefix}"),
            ),
            None => (
                format!("{origin}:{RESTPP_PORT}{prefix}"),
                format!("{origin}:{GSQL_PORT}{prefix}"),
            ),
        };
        let client = |base: String| {
            let mut builder = (self.configure)(Client::builder().base_url(base));
            if let Some(secret) = &self.secret {
                builder = builder.secret(secret.clone());
            }
            if let Some((user, password)) = &self.basic {
                builder = builder.basic(user.clone(), password.clone());
            }
            builder.build()
        };
        if self.secret.is_none() && self.basic.is_none() {
            return Err(crate::sdk_error(
                ErrorKind::MissingCredentials,
                "a connection needs a secret or a user name and password",
            ));
        }
        let restpp = client(self.restpp_url.unwrap_or(restpp))?;
        let gsql = client(self.gsql_url.unwrap_or(gsql))?;
        let identity = Identity::new(crate::VENDOR)
            .with("restpp", restpp.baseurl().to_owned())
            .with("gsql", gsql.baseurl().to_owned())
            .with_credentials(restpp.inner.credentials())
            .with("graph", self.graph.clone().unwrap_or_default())
            .with(
                "lifetime_s",
                self.lifetime.map(|l| l.as_secs().to_string()).unwrap_or_default(),
            );
        let state = std::sync::Arc::new(Shared {
            grace: self.fleet.as_ref().map_or(Duration::ZERO, SharedCache::grace_period),
            restpp,
            gsql,
            secret: self.secret.is_some(),
            graph: self.graph,
            generation: Mutex::new(self.generation),
            current: Mutex::new(None),
            lifetime: std::sync::Mutex::new(self.lifetime),
        });
        let loader_state = state.clone();
        let load: BoxedLoader = Box::new(move |current| {
            let state = loader_state.clone();
            Box::pin(async move {
                let lifetime = state.lifetime();
                let valid = current.filter(|t| t.is_valid_at(SystemTime::now()));
                match valid {
                    Some(token) => match state.refresh(Some(token.secret().clone()), lifetime).await {
                        Ok(token) => Ok(token),
                        Err(error) if matches!(error.category(), Some(Category::Refused | Category::NotFound)) => {
                            state.get(lifetime).await
                        }
                        Err(error) => Err(error),
                    },
                    None => state.get(lifetime).await,
                }
            })
        });
        let cache = CachedTokenSource::new(crate::VENDOR, RefreshPolicy::new(DEFAULT_REFRESH_BEFORE), load);
        Ok(Connection {
            cache: match &self.fleet {
                Some(fleet) => cache.shared(fleet, identity),
                None => cache,
            },
            shared: state,
        })
    }
}

/// Refresh (or, on 4.x, replace) the token this long before it expires.
pub const DEFAULT_REFRESH_BEFORE: Duration = Duration::from_secs(600);

struct Shared {
    /// How long a replaced 4.x JWT stays before it is dropped: the fleet's grace period
    /// when shared, none otherwise.
    grace: Duration,
    restpp: Client,
    gsql: Client,
    secret: bool,
    graph: Option<String>,
    generation: Mutex<Option<Generation>>,
    current: Mutex<Option<Secret>>,
    /// The lifetime automatic gets and refreshes ask for.
    lifetime: std::sync::Mutex<Option<Duration>>,
}

/// A TigerGraph server's tokens, as a pyTigerGraph connection handles them, on any
/// generation: [`get`](Connection::get), [`refresh`](Connection::refresh),
/// [`delete`](Connection::delete), and [`TokenSource`](crate::TokenSource).
///
/// The generation is detected on the first call and remembered;
/// [`ConnectionBuilder::generation`] skips detection. Detection decides on what the
/// servers' docs guarantee, never on one guessed error code:
/// 1. 4.x: `/gsql/v1/tokens` answers; a 3.x server answers HTTP 404 there (nginx's page,
///    vendors.md §6) or REST-1000.
/// 2. 3.5+: `/requesttoken` takes the JSON form. When it is refused, whatever the
///    answer, one probe without any credential, `GET /requesttoken`, which 3.5 dropped
///    (§1.2 B), tells a 3.5+ server that refused the secret (its refusal is the error,
///    `Category::Refused`) from a 3.0–3.4 server that read the JSON as a wrong secret
///    (the 3.0 form is sent next).
/// 3. Neither token endpoint: REST++ authentication is not enabled; the error keeps
///    REST++'s REST-1000 and message, `Category::EndpointAbsent`.
///
/// At most one probe is sent; transport failures, timeouts, a proxy's 502–504 and a 405
/// end detection at once (a probe's is then the error), and nothing is remembered: the
/// next call detects again.
///
/// Lifetimes are `Duration`s, sent in seconds to 3.x and in milliseconds to 4.x
/// (pyTigerGraph sends seconds to 4.x, which reads milliseconds). Expiries are read on
/// the server's terms (its `Date`, a JWT's `iat`); an `expiration` that is no time (`0`,
/// `-1`) is the lifetime asked for from now, or unknown when none was asked for (then
/// refreshed after [`RefreshPolicy::unknown_expiry_refresh`]), never "forever".
///
/// As a [`TokenSource`](crate::TokenSource) it gets a token, then refreshes it
/// [`DEFAULT_REFRESH_BEFORE`] ahead of expiry (3.x extends the same token; 4.x has no
/// refresh, so a new JWT is created and the one it replaces is dropped, unless the two
/// are identical, which happens within one second since 4.x JWTs carry no unique claim,
/// §6). Automatic gets and refreshes ask for [`ConnectionBuilder::lifetime`], else the
/// lifetime last given to [`Connection::get`].
///
/// ```no_run
/// use std::time::Duration;
///
/// # async fn run() -> Result<(), tigergraph_tokens::Error> {
/// let tg = tigergraph_tokens::Connection::builder("https://tg.example.com")
///     .secret("s3cr3t")
///     .build()?;
/// let token = tg.get(Some(Duration::from_secs(3600))).await?;
/// println!("expires {:?}", token.expires_at());
/// tg.refresh(None, Some(Duration::from_secs(7200))).await?;
/// tg.delete(None, true).await?;
/// # Ok(())
/// # }
/// ```
pub struct Connection {
    shared: std::sync::Arc<Shared>,
    cache: CachedTokenSource<BoxedLoader>,
}

impl Connection {
    /// Starts configuring a connection to `host` (`https://tg.example.com`, or with a
    /// port: `http://localhost:14240`).
    pub fn builder(host: impl Into<String>) -> ConnectionBuilder {
        ConnectionBuilder {
            host: host.into(),
            restpp_url: None,
            gsql_url: None,
            secret: None,
            basic: None,
            graph: None,
            generation: None,
            lifetime: None,
            fleet: None,
            configure: Box::new(|builder| builder),
        }
    }

    /// The server's generation: set, or detected by the first call; `None` before.
    pub async fn generation(&self) -> Option<Generation> {
        *self.shared.generation.lock().await
    }

    /// Requests a token (`lifetime`: the server's default when `None`), keeps it as the
    /// current token and returns it with its expiry. A lifetime given here is also what
    /// automatic refreshes ask for (unless [`ConnectionBuilder::lifetime`] is set).
    pub async fn get(&self, lifetime: Option<Duration>) -> Result<Token, Error> {
        if lifetime.is_some() {
            self.shared.remember(lifetime);
        }
        let token = self.shared.get(lifetime).await?;
        self.cache.store(token.clone());
        Ok(token)
    }

    /// Extends `token` (the current token when `None`) to `lifetime`. 4.x has no refresh
    /// endpoint: there a new token is created, becomes the current one, and the one it
    /// replaces is dropped.
    pub async fn refresh(&self, token: Option<Secret>, lifetime: Option<Duration>) -> Result<Token, Error> {
        // The current token is the cache's (in a fleet, maybe another worker's).
        let token = token.or_else(|| self.cache.cached().map(Token::into_secret));
        let token = self.shared.refresh(token, lifetime).await?;
        self.cache.store(token.clone());
        Ok(token)
    }

    /// Deletes `token` (the current token when `None`). With `skip_missing`, a token
    /// that does not exist counts as deleted (pyTigerGraph's `skipNA`). On 4.x a delete
    /// adds the JWT to a block list, which never reports it missing. Deleting the
    /// current token forgets it: the next [`Connection::token`] gets a new one.
    pub async fn delete(&self, token: Option<Secret>, skip_missing: bool) -> Result<(), Error> {
        // "The current token" is the cache's (in a fleet, maybe another worker's), else
        // the one this connection last got.
        let cached = self.cache.cached().map(Token::into_secret);
        let last = self.shared.current.lock().await.clone();
        let Some(target) = token.or_else(|| cached.clone()).or(last) else {
            return self.shared.delete(None, skip_missing).await;
        };
        let deleted = self.shared.delete(Some(target.clone()), skip_missing).await;
        if deleted.is_ok() {
            let mut current = self.shared.current.lock().await;
            if current.as_ref() == Some(&target) {
                *current = None;
            }
            drop(current);
            // Only the token deleted is forgotten: deleting another keeps the cache.
            if cached.as_ref() == Some(&target) {
                self.cache.invalidate();
            }
        }
        deleted
    }

    /// A token valid now: the current one, refreshed (or replaced on 4.x)
    /// [`DEFAULT_REFRESH_BEFORE`] ahead of expiry.
    pub async fn token(&self) -> Result<Token, Error> {
        self.cache.token().await
    }

    /// Every new token, and why it changed (`tokio::sync::watch`: the receiver holds
    /// the latest, `None` before the first; `changed().await` wakes on the next): to
    /// persist it or hand it to other clients. `Debug` of an event shows no secret.
    pub fn subscribe(&self) -> api_tokens_runtime::TokenEvents {
        self.cache.subscribe()
    }

    /// Reports that the server refused `token` (REST-10016, HTTP 401): if it is the
    /// current token, the next call gets a new one. Returns whether it was.
    pub fn report_refused(&self, token: &Token) -> bool {
        self.cache.report_refused(token)
    }
}

/// Whether a server said it has no such endpoint.
fn absent(error: &Error) -> bool {
    error.category() == Some(Category::EndpointAbsent)
}

/// Whether the server answered at all (as opposed to a transport failure, a timeout, or
/// a request refused before sending).
fn answered(error: &Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::Vendor | ErrorKind::UnexpectedStatus | ErrorKind::InvalidBody
    )
}

/// Whether a failure says nothing about the server's generation: no answer, a proxy's
/// or an overloaded server's (502, 503, 504: nginx routes `/requesttoken` to the GSQL
/// server, vendors.md §1.1), or a method refused (405, which no generation documents).
fn inconclusive(error: &Error) -> bool {
    !answered(error) || matches!(error.http_status().map(|s| s.as_u16()), Some(405 | 502..=504))
}

impl Shared {
    /// The generation, detected by trying `attempt` on each in turn (see
    /// [`Connection`]).
    async fn with_generation<T, F, Fut>(&self, attempt: F) -> Result<T, Error>
    where
        F: Fn(Generation) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let mut known = self.generation.lock().await;
        if let Some(generation) = *known {
            return attempt(generation).await;
        }
        let detected = |generation: Generation| {
            tracing::debug!(
                target: "api_tokens::lifecycle",
                vendor = crate::VENDOR,
                generation = ?generation,
                "detected the server's generation"
            );
            Some(generation)
        };
        match attempt(Generation::V4).await {
            Ok(value) => {
                *known = detected(Generation::V4);
                return Ok(value);
            }
            Err(error) if absent(&error) => {}
            Err(error) => return Err(error),
        }
        let refused = match attempt(Generation::V3_5).await {
            Ok(value) => {
                *known = detected(Generation::V3_5);
                return Ok(value);
            }
            Err(error) if absent(&error) => {
                return Err(error.with_sdk_detail(
                    "no server generation's token endpoint answered (neither /gsql/v1/tokens nor REST++'s /requesttoken): \
                     REST++ authentication is probably not enabled",
                ));
            }
            Err(error) if inconclusive(&error) => return Err(error),
            Err(error) => error,
        };
        // Refused: a 3.5+ server refusing the secret, or a 3.0–3.4 server reading the
        // JSON body as one. 3.5 dropped `GET /requesttoken`: ask it, with no credential.
        match self.restpp.request_token_probe().send().await {
            Err(probe) if absent(&probe) => {
                *known = detected(Generation::V3_5);
                return Err(refused);
            }
            // Without the probe's word the refusal proves nothing (a 3.0–3.4 server
            // refuses the JSON form whatever the secret): the probe's failure is the
            // error, and the next call detects again.
            Err(probe) if inconclusive(&probe) => {
                return Err(probe.with_sdk_detail(
                    "while telling a 3.5+ server that refused the secret from a 3.0–3.4 server that cannot read it",
                ));
            }
            _ => {}
        }
        *known = detected(Generation::V3_0);
        attempt(Generation::V3_0).await
    }

    /// The lifetime automatic gets and refreshes ask for.
    fn lifetime(&self) -> Option<Duration> {
        *self.lifetime.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Remembers `lifetime` for automatic refreshes, unless the builder set one.
    fn remember(&self, lifetime: Option<Duration>) {
        let mut kept = self.lifetime.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if kept.is_none() {
            *kept = lifetime;
        }
    }

    async fn get(&self, lifetime: Option<Duration>) -> Result<Token, Error> {
        let token = self
            .with_generation(|generation| async move {
                match generation {
                    Generation::V4 => self.create_jwt(lifetime).await,
                    Generation::V3_5 => {
                        let answer = self
                            .restpp
                            .request_token()
                            .body_map(|b| b.graph(self.graph.clone()).lifetime(lifetime.map(Seconds::from)))
                            .send()
                            .await?;
                        let clock = ServerClock::from_headers(answer.headers());
                        restpp_token(&answer.into_inner(), None, lifetime, clock)
                    }
                    Generation::V3_0 => {
                        let seconds = lifetime.map(|l| l.as_secs());
                        let answer = if self.secret {
                            // The secret as the body: out of URLs and access logs.
                            let call = self.restpp.request_token_raw();
                            let call = match seconds {
                                Some(s) => call.lifetime(s),
                                None => call,
                            };
                            call.send().await?
                        } else {
                            let call = self.restpp.request_token_query();
                            let call = match &self.graph {
                                Some(graph) => call.graph(graph.clone()),
                                None => call,
                            };
                            let call = match seconds {
                                Some(s) => call.lifetime(s),
                                None => call,
                            };
                            call.send().await?
                        };
                        let clock = ServerClock::from_headers(answer.headers());
                        restpp_token(&answer.into_inner(), None, lifetime, clock)
                    }
                }
            })
            .await?;
        *self.current.lock().await = Some(token.secret().clone());
        Ok(token)
    }

    async fn refresh(&self, token: Option<Secret>, lifetime: Option<Duration>) -> Result<Token, Error> {
        let token = self.given_or_current(token).await?;
        let refreshed = self
            .with_generation(|generation| {
                let token = token.clone();
                async move {
                    match generation {
                        // No refresh endpoint on 4.x: a new token instead.
                        Generation::V4 => {
                            let new = self.create_jwt(lifetime).await?;
                            // Identical JWTs (same second, no unique claim: vendors.md
                            // §6) are one token: dropping the old would drop the new.
                            if *new.secret() != token {
                                // Dropped in a task of its own, so that the new JWT is
                                // handed out without waiting on the drop; best effort
                                // (a caller may still get the old one in between, and
                                // it expires by itself).
                                let gsql = self.gsql.clone();
                                let grace = self.grace;
                                let drop_old = async move {
                                    if !grace.is_zero() {
                                        tokio::time::sleep(grace).await;
                                    }
                                    let dropped = gsql
                                        .drop_jwts()
                                        .body_map(|b| b.tokens(TokenList(vec![token])))
                                        .send()
                                        .await;
                                    if let Err(error) = dropped {
                                        tracing::debug!(
                                            target: "api_tokens::lifecycle",
                                            vendor = crate::VENDOR,
                                            error = %error,
                                            "dropping the replaced JWT failed; it expires by itself"
                                        );
                                    }
                                };
                                match tokio::runtime::Handle::try_current() {
                                    Ok(runtime) => drop(runtime.spawn(drop_old)),
                                    Err(_) => drop_old.await,
                                }
                            }
                            Ok(new)
                        }
                        Generation::V3_5 => {
                            let answer = self
                                .restpp
                                .refresh_token()
                                .body_map(|b| b.token(token.clone()).lifetime(lifetime.map(Seconds::from)))
                                .send()
                                .await?;
                            let clock = ServerClock::from_headers(answer.headers());
                            restpp_token(&answer.into_inner(), Some(&token), lifetime, clock)
                        }
                        Generation::V3_0 => {
                            let call = self.restpp.refresh_token_query().token(token.clone());
                            let call = match lifetime {
                                Some(l) => call.lifetime(l.as_secs()),
                                None => call,
                            };
                            let answer = call.send().await?.into_inner();
                            // 3.0–3.4 answer the lifetime, not the expiry (a known bug):
                            // a lifetime counts from now, on this machine's clock.
                            let answered = answer
                                .expiration
                                .and_then(|s| u64::try_from(s).ok())
                                .filter(|s| *s > 0)
                                .map(Duration::from_secs);
                            let life = shortest(answered, lifetime);
                            let now = SystemTime::now();
                            let expiry = life
                                .and_then(|l| now.checked_add(l))
                                .map_or(Expiry::Unknown, Expiry::At);
                            let secret = answer.token().cloned().unwrap_or(token);
                            Ok(Token::with_expiry(secret, expiry).with_issued_at(now))
                        }
                    }
                }
            })
            .await?;
        *self.current.lock().await = Some(refreshed.secret().clone());
        Ok(refreshed)
    }

    async fn delete(&self, token: Option<Secret>, skip_missing: bool) -> Result<(), Error> {
        let token = self.given_or_current(token).await?;
        let deleted = self
            .with_generation(|generation| {
                let token = token.clone();
                async move {
                    match generation {
                        Generation::V4 => {
                            let tokens = TokenList(vec![token]);
                            self.gsql
                                .drop_jwts()
                                .body_map(|b| b.tokens(tokens))
                                .send()
                                .await
                                .map(drop)
                        }
                        Generation::V3_5 => self
                            .restpp
                            .delete_token()
                            .body_map(|b| b.token(token))
                            .send()
                            .await
                            .map(drop),
                        Generation::V3_0 => self.restpp.delete_token_query().token(token).send().await.map(drop),
                    }
                }
            })
            .await;
        match deleted {
            Err(error) if skip_missing && error.category() == Some(Category::NotFound) => Ok(()),
            other => other,
        }
    }

    /// `token`, or the current token when `None`.
    async fn given_or_current(&self, token: Option<Secret>) -> Result<Secret, Error> {
        match token {
            Some(token) => Ok(token),
            None => self.current.lock().await.clone().ok_or_else(no_current),
        }
    }

    async fn create_jwt(&self, lifetime: Option<Duration>) -> Result<Token, Error> {
        let answer = self
            .gsql
            .create_jwt()
            .body_map(|b| b.graph(self.graph.clone()).lifetime(lifetime.map(Milliseconds::from)))
            .send()
            .await?;
        let clock = ServerClock::from_headers(answer.headers());
        let answer = answer.into_inner();
        let secret = answer.token.clone().ok_or_else(no_token)?;
        let token = Token::from_jwt(secret, clock);
        if token.expiry() != Expiry::Unknown {
            return Ok(token);
        }
        // No readable `exp`: the Java date beside it, then the lifetime asked for.
        let expiry = answer
            .expires_at()
            .and_then(|at| clock.to_local(at))
            .or_else(|| lifetime.and_then(|l| SystemTime::now().checked_add(l)))
            .map_or(Expiry::Unknown, Expiry::At);
        Ok(Token::with_expiry(token.into_secret(), expiry))
    }
}

/// The shorter of two lifetimes, either of which may be unknown.
fn shortest(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// A REST++ token answer as a token: its expiry converted with `clock`, and never later
/// than the lifetime asked for; an `expiration` that is no time (`0`, `-1`) is that
/// lifetime from now, or unknown.
fn restpp_token(
    answer: &RestppTokenResponse,
    sent: Option<&Secret>,
    lifetime: Option<Duration>,
    clock: ServerClock,
) -> Result<Token, Error> {
    let secret = answer.token().or(sent).cloned().ok_or_else(no_token)?;
    let now = SystemTime::now();
    let asked = lifetime.and_then(|l| now.checked_add(l));
    let stated = answer.expires_at().and_then(|at| clock.to_local(at));
    let expiry = match (stated, asked) {
        (Some(stated), Some(asked)) => Expiry::At(stated.min(asked)),
        (Some(at), None) | (None, Some(at)) => Expiry::At(at),
        (None, None) => Expiry::Unknown,
    };
    Ok(Token::with_expiry(secret, expiry).with_issued_at(now))
}

fn no_token() -> Error {
    crate::sdk_error(ErrorKind::InvalidBody, "the answer holds no token")
}

fn no_current() -> Error {
    crate::sdk_error(
        ErrorKind::InvalidArgument,
        "no token given, and the connection has no current token: call `get` first, or pass the token",
    )
}

api_tokens_runtime::impl_token_source!(Connection, debug: [cache]);
