//! [`Session`]: a DoCluster login kept alive, with its sliding expiry tracked and a new
//! login, once, when the server says the token is gone.

use std::future::Future;
use std::time::{Duration, SystemTime};

use api_tokens_runtime::{Category, Error, ErrorKind, Secret, Token};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::Client;

/// How long a token lives after its last use, by the seed docs. The server's own
/// configuration said 60 s (2022-04-28) and 300 s later: set yours with
/// [`Session::window`]. A session never relies on it alone: it reacts to the server's
/// "expired" answer too.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(600);

struct Live {
    client: Client,
    token: Secret,
    last_use: Instant,
}

/// A DoCluster session: a token bound to this client's IP address, sliding `window`
/// from each use.
///
/// - [`Session::login`] logs in; [`Session::resume`] reuses a saved token after checking
///   it with the server (and logs in when it is refused, given a login).
/// - [`Session::run`] makes a call with the session's client; when the server answers
///   that the token expired or is unknown, the session logs in again, once, and repeats
///   the call. Each success pushes the tracked expiry back.
/// - A token refused because it is bound to another IP address is an error with
///   `Category::Refused` and a note that says so: logging in again would not help.
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
    anonymous: Client,
    login: Option<(String, Secret)>,
    window: Duration,
    live: Mutex<Option<Live>>,
}

impl Session {
    /// Logs in with `username` and `password`, kept to log in again when needed.
    pub async fn login(
        client: Client,
        username: impl Into<String>,
        password: impl Into<Secret>,
    ) -> Result<Self, Error> {
        let session = Session::new(client, Some((username.into(), password.into())));
        let live = session.log_in().await?;
        *session.live.lock().await = Some(live);
        Ok(session)
    }

    /// Reuses `saved` after checking it with the server (a check also keeps it alive).
    /// When the server refuses it as expired or unknown, logs in with `login` if given;
    /// otherwise that refusal is the error.
    pub async fn resume(
        client: Client,
        saved: impl Into<Secret>,
        login: Option<(String, Secret)>,
    ) -> Result<Self, Error> {
        let session = Session::new(client, login);
        let saved = saved.into();
        let checked = session.anonymous.with_access_token(saved.clone())?;
        let live = match checked.check_token().send().await {
            Ok(_) => Live {
                client: checked,
                token: saved,
                last_use: Instant::now(),
            },
            Err(error) if gone(&error) && session.login.is_some() => session.log_in().await?,
            Err(error) => return Err(error),
        };
        *session.live.lock().await = Some(live);
        Ok(session)
    }

    /// The same session, tracking `window` as the token's sliding lifetime.
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// Runs `call` with the session's client. If the server answers that the token has
    /// expired or is unknown, logs in again (once) and runs `call` again.
    pub async fn run<T, F, Fut>(&self, call: F) -> Result<T, Error>
    where
        F: Fn(Client) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let client = self.client().await?;
        match call(client).await {
            Ok(value) => {
                self.used().await;
                Ok(value)
            }
            Err(error) if gone(&error) && self.login.is_some() => {
                let live = self.log_in().await?;
                let client = live.client.clone();
                *self.live.lock().await = Some(live);
                let value = call(client).await?;
                self.used().await;
                Ok(value)
            }
            Err(error) => Err(error),
        }
    }

    /// A client with a token that is, as far as the tracked window says, alive; past the
    /// window it logs in again first (given a login).
    pub async fn client(&self) -> Result<Client, Error> {
        let mut live = self.live.lock().await;
        let expired = live.as_ref().is_none_or(|l| {
            l.last_use
                .checked_add(self.window)
                .is_some_and(|end| Instant::now() >= end)
        });
        if expired {
            if self.login.is_none() {
                return Err(Error::from_sdk(
                    ErrorKind::MissingCredentials,
                    crate::wire::API.vendor,
                    "the session's token outlived its window and the session has no login to get another",
                ));
            }
            *live = Some(self.log_in().await?);
        }
        live.as_ref().map(|l| l.client.clone()).ok_or_else(no_session)
    }

    /// The token and when it expires if not used again: last use plus the window.
    pub async fn token(&self) -> Result<Token, Error> {
        self.client().await?;
        let live = self.live.lock().await;
        let live = live.as_ref().ok_or_else(no_session)?;
        let left = live
            .last_use
            .checked_add(self.window)
            .map(|end| end.saturating_duration_since(Instant::now()));
        let expires_at = left.and_then(|left| SystemTime::now().checked_add(left));
        Ok(Token::new(live.token.clone(), expires_at))
    }

    /// Logs out. The server invalidates the token even when it answers
    /// `Cluster not created` (the error's note says so); the session is over either way.
    pub async fn logout(&self) -> Result<(), Error> {
        let live = self.live.lock().await.take();
        match live {
            Some(live) => live.client.logout().send().await.map(drop),
            None => Ok(()),
        }
    }

    /// A session not yet live, with the default window.
    fn new(anonymous: Client, login: Option<(String, Secret)>) -> Self {
        Session {
            anonymous,
            login,
            window: DEFAULT_WINDOW,
            live: Mutex::new(None),
        }
    }

    async fn log_in(&self) -> Result<Live, Error> {
        let Some((username, password)) = &self.login else {
            return Err(Error::from_sdk(
                ErrorKind::MissingCredentials,
                crate::wire::API.vendor,
                "the session has no login",
            ));
        };
        let answer = self
            .anonymous
            .login()
            .body_map(|b| b.username(username.clone()).password(password.clone()))
            .send()
            .await?
            .into_inner();
        let token = answer.msg.access_token;
        Ok(Live {
            client: self.anonymous.with_access_token(token.clone())?,
            token,
            last_use: Instant::now(),
        })
    }

    async fn used(&self) {
        if let Some(live) = self.live.lock().await.as_mut() {
            live.last_use = Instant::now();
        }
    }
}

fn no_session() -> Error {
    Error::from_sdk(ErrorKind::MissingCredentials, crate::wire::API.vendor, "no session")
}

/// Whether the server said the token is no longer good (as opposed to refused).
fn gone(error: &Error) -> bool {
    matches!(error.category(), Some(Category::Expired | Category::NotFound))
}

api_tokens_runtime::impl_token_source!(Session);

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("window", &self.window)
            .field("has_login", &self.login.is_some())
            .finish_non_exhaustive()
    }
}
