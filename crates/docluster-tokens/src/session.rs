//! [`Session`]: a DoCluster login kept alive, with its sliding expiry tracked and one new
//! login, shared by every caller, when the server says the token is gone.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use std::net::IpAddr;

use api_tokens_runtime::{
    BoxedLoader, CachedTokenSource, Category, Error, ErrorKind, Identity, RefreshPolicy, Secret, SharedCache, Token,
};
use progenitor_client::ClientInfo;

use crate::Client;

/// How long a token lives after its last use, by the seed docs. The server's own
/// configuration said 60 s (2022-04-28) and 300 s later (vendors.md §3.1, §6): set
/// yours with [`Session::window`]. A session never relies on it alone: it reacts to
/// the server's "expired" and "not found" answers too.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(600);

/// What the loader needs: the login, the window, and whether the session has ended.
struct Shared {
    anonymous: Client,
    login: Option<(String, Secret)>,
    window_ms: AtomicU64,
    closed: AtomicBool,
    /// The session's token is the fleet's ([`Session::login_shared`]).
    fleet: AtomicBool,
    /// The session left its fleet (refused for its address): it logs in on its own.
    left_fleet: AtomicBool,
}

/// A DoCluster session: a token bound to this client's IP address, sliding `window`
/// from each use.
///
/// - [`Session::login`] logs in; [`Session::resume`] and [`Session::resume_or_login`]
///   reuse a saved token after checking it with the server.
/// - [`Session::run`] makes a call with the session's client. When the server answers
///   that the token expired or is unknown, the session logs in again and repeats the
///   call, once. Any number of concurrent calls refused with the same token cause
///   **one** login (a single flight shared by every caller, which a caller giving up
///   does not stop); a failed login is backed off, not repeated per call.
/// - A token refused because it is bound to another IP address is an error with
///   [`Category::AddressBound`]: logging in again from here would give a token bound to
///   whichever address the server sees next, so the session does not loop.
/// - [`Session::logout`] is final: afterwards every call is an [`ErrorKind::Closed`]
///   error, never a silent new login.
///
/// ```no_run
/// # async fn run() -> Result<(), docluster_tokens::Error> {
/// let client = docluster_tokens::Client::builder()
///     .base_url("http://cluster:3033/api")
///     .build()?;
/// let session = docluster_tokens::Session::login(client, "admin", "admin").await?;
/// let live = session.run(|c| async move { c.list_tokens().send().await }).await?;
/// session.logout().await?;
/// # let _ = live;
/// # Ok(())
/// # }
/// ```
pub struct Session {
    shared: Arc<Shared>,
    cache: CachedTokenSource<BoxedLoader>,
}

impl Session {
    /// Logs in with `username` and `password`, kept to log in again when needed.
    pub async fn login(
        client: Client,
        username: impl Into<String>,
        password: impl Into<Secret>,
    ) -> Result<Self, Error> {
        let session = Session::new(client, Some((username.into(), password.into())))?;
        session.cache.token().await?;
        Ok(session)
    }

    /// Logs in as [`Session::login`] does, sharing the session with every process of a
    /// fleet through `fleet` (see [`SharedCache`]) whose base URL, user name, password and
    /// **address** are the same: a DoCluster token is bound to the IP address the server
    /// sees (vendors.md §3.3), so only workers reaching it from one address may share
    /// one. The address is this machine's local address toward the server (the one its
    /// routing table picks; no packet is sent): right for workers on one host or behind
    /// no NAT. Behind a NAT, workers on different hosts appear to the server as the NAT's
    /// one address; give that with [`Session::login_shared_from`] to share across them.
    ///
    /// A worker whose shared token the server refuses for its address leaves the fleet:
    /// it logs in on its own, once, and leaves the others' token alone. [`Session::logout`]
    /// of a shared session ends it for this worker only (the token is the fleet's; it
    /// expires a window after its last use).
    pub async fn login_shared(
        client: Client,
        username: impl Into<String>,
        password: impl Into<Secret>,
        fleet: &SharedCache,
    ) -> Result<Self, Error> {
        let address = local_address(client.baseurl()).await?;
        Session::login_shared_from(client, username, password, fleet, address).await
    }

    /// [`Session::login_shared`], with the address the server sees given: the NAT's
    /// public address for workers behind one.
    pub async fn login_shared_from(
        client: Client,
        username: impl Into<String>,
        password: impl Into<Secret>,
        fleet: &SharedCache,
        address: IpAddr,
    ) -> Result<Self, Error> {
        let (username, password) = (username.into(), password.into());
        // The password too (as a keyed hash in the store): a worker given a wrong or old
        // one neither takes the fleet's session nor fails the fleet with its refusal.
        let identity = Identity::new(crate::VENDOR)
            .with("base_url", client.baseurl().to_owned())
            .with("username", username.clone())
            .with_secret("password", &password)
            .with("address", address.to_string());
        let mut session = Session::new(client, Some((username, password)))?;
        session.cache = session.cache.shared(fleet, identity);
        session.shared.fleet.store(true, Ordering::SeqCst);
        session.cache.token().await?;
        Ok(session)
    }

    /// Reuses `saved` after checking it with the server (a check also keeps it alive);
    /// a refusal is the error.
    pub async fn resume(client: Client, saved: impl Into<Secret>) -> Result<Self, Error> {
        Session::resume_checked(Session::new(client, None)?, saved.into()).await
    }

    /// Reuses `saved` after checking it with the server; when the server refuses it in
    /// any of the ways it refuses a dead token (expired, not found, bound to another IP
    /// address, or the login's own refusal of a check it did not take), logs in with `username` and `password` instead, which are kept to log
    /// in again when needed.
    pub async fn resume_or_login(
        client: Client,
        saved: impl Into<Secret>,
        username: impl Into<String>,
        password: impl Into<Secret>,
    ) -> Result<Self, Error> {
        let session = Session::new(client, Some((username.into(), password.into())))?;
        Session::resume_checked(session, saved.into()).await
    }

    /// The same session, tracking `window` as the token's sliding lifetime.
    pub fn window(self, window: Duration) -> Self {
        let millis = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
        self.shared.window_ms.store(millis, Ordering::SeqCst);
        if let Some(token) = self.cache.cached() {
            self.slide(&token);
        }
        self
    }

    /// Runs `call` with the session's client. If the server answers that the token has
    /// expired or is unknown, logs in again (one login for all callers refused with the
    /// same token) and runs `call` again, once.
    pub async fn run<T, F, Fut>(&self, call: F) -> Result<T, Error>
    where
        F: Fn(Client) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let mut retried = false;
        loop {
            let token = self.token().await?;
            let client = self.shared.anonymous.with_access_token(token.secret().clone())?;
            match call(client).await {
                Ok(value) => {
                    self.slide(&token);
                    return Ok(value);
                }
                // The fleet's token, refused for this worker's address: this worker
                // leaves the fleet and logs in on its own, once.
                // Calls refused together all retry once: the first leaves the fleet, the
                // others find it left.
                Err(error)
                    if error.category() == Some(Category::AddressBound)
                        && !retried
                        && self.shared.login.is_some()
                        && (self.cache.is_shared() || self.shared.left_fleet.load(Ordering::SeqCst)) =>
                {
                    if !self.shared.left_fleet.swap(true, Ordering::SeqCst) {
                        tracing::warn!(
                            target: "api_tokens::lifecycle",
                            vendor = crate::VENDOR,
                            "the fleet's session is bound to another address than this worker's: logging in on its own"
                        );
                        self.shared.fleet.store(false, Ordering::SeqCst);
                        self.cache.unshare();
                    }
                    self.cache.report_refused(&token);
                    retried = true;
                }
                Err(error) if gone(&error) && !retried && self.shared.login.is_some() => {
                    tracing::debug!(
                        target: "api_tokens::lifecycle",
                        vendor = crate::VENDOR,
                        category = ?error.category(),
                        "the server says the session's token is gone: one login, then the call again"
                    );
                    self.cache.report_refused(&token);
                    retried = true;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// A client with a token that is, as far as the tracked window says, alive; past the
    /// window it logs in again first (given a login).
    pub async fn client(&self) -> Result<Client, Error> {
        let token = self.token().await?;
        self.shared.anonymous.with_access_token(token.into_secret())
    }

    /// The token and when it expires if not used again: last use plus the window.
    pub async fn token(&self) -> Result<Token, Error> {
        self.shared.open()?;
        self.cache.token().await
    }

    /// Every new session token, and why it changed (`tokio::sync::watch`: the receiver holds
    /// the latest, `None` before the first; `changed().await` wakes on the next): to
    /// persist it or hand it to other clients. `Debug` of an event shows no secret.
    pub fn subscribe(&self) -> api_tokens_runtime::TokenEvents {
        self.cache.subscribe()
    }

    /// Reports that the server refused `token` as expired or unknown (for calls made
    /// outside [`Session::run`]): if it is the session's token, the next call logs in
    /// again. Returns whether it was the session's token.
    pub fn report_refused(&self, token: &Token) -> bool {
        self.cache.report_refused(token)
    }

    /// Logs out. The server invalidates the token even when it answers
    /// `Cluster not created` (the error's note says so); the session is over either way,
    /// and every later call is an [`ErrorKind::Closed`] error.
    pub async fn logout(&self) -> Result<(), Error> {
        if self.shared.closed.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let token = self.cache.cached();
        self.cache.invalidate();
        // The fleet's token serves the other workers still.
        if self.shared.fleet.load(Ordering::SeqCst) {
            return Ok(());
        }
        match token {
            Some(token) => self
                .shared
                .anonymous
                .with_access_token(token.into_secret())?
                .logout()
                .send()
                .await
                .map(drop),
            None => Ok(()),
        }
    }

    /// A session not yet live, with the default window.
    fn new(anonymous: Client, login: Option<(String, Secret)>) -> Result<Self, Error> {
        if let Some((username, password)) = &login
            && (username.is_empty() || password.is_empty())
        {
            return Err(crate::sdk_error(
                ErrorKind::InvalidArgument,
                "a login needs a user name and a password, neither empty",
            ));
        }
        let shared = Arc::new(Shared {
            anonymous,
            login,
            window_ms: AtomicU64::new(DEFAULT_WINDOW.as_millis() as u64),
            closed: AtomicBool::new(false),
            fleet: AtomicBool::new(false),
            left_fleet: AtomicBool::new(false),
        });
        let loader = shared.clone();
        let load: BoxedLoader = Box::new(move |_| {
            let shared = loader.clone();
            Box::pin(async move { shared.log_in().await })
        });
        // No refresh ahead: a new login leaves the old token live until it expires, so
        // the session logs in only when its token is gone.
        let policy = RefreshPolicy::new(Duration::ZERO).backoff(Duration::from_secs(1), Duration::from_secs(30));
        Ok(Session {
            cache: CachedTokenSource::new(crate::VENDOR, policy, load),
            shared,
        })
    }

    async fn resume_checked(session: Session, saved: Secret) -> Result<Self, Error> {
        let checked = session.shared.anonymous.with_access_token(saved.clone())?;
        match checked.check_token().send().await {
            Ok(_) => session.cache.store(session.shared.fresh(saved)),
            Err(error) if dead(&error) && session.shared.login.is_some() => {
                session.cache.token().await?;
            }
            Err(error) => return Err(error),
        }
        Ok(session)
    }

    /// Pushes the tracked expiry of `token` back by the window (a use slides it).
    fn slide(&self, token: &Token) {
        if self
            .cache
            .cached()
            .is_some_and(|cached| cached.secret() == token.secret())
        {
            self.cache.store(self.shared.fresh(token.secret().clone()));
        }
    }
}

impl Shared {
    fn open(&self) -> Result<(), Error> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(crate::sdk_error(ErrorKind::Closed, "the session was logged out"));
        }
        Ok(())
    }

    fn window(&self) -> Duration {
        Duration::from_millis(self.window_ms.load(Ordering::SeqCst))
    }

    /// `token`, just used: it expires a window from now.
    fn fresh(&self, token: Secret) -> Token {
        let now = SystemTime::now();
        let token = Token::new(token, now.checked_add(self.window()));
        token.with_issued_at(now)
    }

    async fn log_in(&self) -> Result<Token, Error> {
        self.open()?;
        let Some((username, password)) = &self.login else {
            return Err(crate::sdk_error(
                ErrorKind::MissingCredentials,
                "the session's token is gone and the session was resumed without a login to get another",
            ));
        };
        tracing::debug!(target: "api_tokens::lifecycle", vendor = crate::VENDOR, "logging in");
        let answer = self
            .anonymous
            .login()
            .body_map(|b| b.username(username.clone()).password(password.clone()))
            .send()
            .await?
            .into_inner();
        let token = answer.msg.access_token;
        // Logged out while this login ran: the session is over, and the token just made
        // must not outlive it on the server.
        if self.closed.load(Ordering::SeqCst) {
            if let Ok(client) = self.anonymous.with_access_token(token.clone()) {
                let _ = client.logout().send().await;
            }
            self.open()?;
        }
        Ok(self.fresh(token))
    }
}

/// This machine's local address toward the server at `base_url`: the address the
/// routing table picks for it (a UDP socket connected, which sends nothing).
async fn local_address(base_url: &str) -> Result<IpAddr, Error> {
    let fail = |why: &str| crate::sdk_error(ErrorKind::InvalidArgument, why.to_owned());
    let url = reqwest::Url::parse(base_url).map_err(|_| fail("the base URL is not an absolute URL"))?;
    let host = url.host_str().ok_or_else(|| fail("the base URL names no host"))?;
    let port = url.port_or_known_default().unwrap_or(80);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let server = tokio::net::lookup_host((host, port))
        .await
        .ok()
        .and_then(|mut addresses| addresses.next())
        .ok_or_else(|| fail("the server's host name did not resolve; give the address with `login_shared_from`"))?;
    let unspecified: std::net::SocketAddr = if server.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = std::net::UdpSocket::bind(unspecified)
        .and_then(|socket| socket.connect(server).map(|()| socket))
        .and_then(|socket| socket.local_addr())
        .map_err(|_| {
            fail("no route to the server to read this machine's address from; give it with `login_shared_from`")
        })?;
    Ok(socket.ip())
}

/// Whether the server said the token is no longer good (as opposed to refused).
fn gone(error: &Error) -> bool {
    matches!(error.category(), Some(Category::Expired | Category::NotFound))
}

/// Whether a checked saved token is of no use here: gone, bound to another address, or
/// refused. The check is a login request carrying only the token; a server that does not
/// take the token falls through to the login, which refuses the missing user name
/// ("Username not found", vendors.md §3.4): that too says the token is dead.
fn dead(error: &Error) -> bool {
    gone(error) || matches!(error.category(), Some(Category::AddressBound | Category::Refused))
}

api_tokens_runtime::impl_token_source!(Session);

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("window", &self.shared.window())
            .field("has_login", &self.shared.login.is_some())
            .field("closed", &self.shared.closed.load(Ordering::SeqCst))
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}
