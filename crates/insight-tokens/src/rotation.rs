//! [`Rotation`]: an Insight.io API token replaced safely.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use api_tokens_runtime::{
    BoxedLoader, CachedTokenSource, CreatedToken, Error, Identity, RefreshPolicy, RotationError, RotationStep, Secret,
    SharedCache, Token,
};
use progenitor_client::ClientInfo;
use tokio::sync::Mutex;

use crate::Client;

/// An Insight.io API token, rotated: a new token is created (with the session cookie or
/// the login token `creator` holds), confirmed to work (it lists the user's tokens),
/// and only then is the old one revoked.
///
/// Whatever step fails, no live token is lost track of ([`RotationError`]): before the
/// new token exists nothing changes; a new token that cannot be confirmed is revoked,
/// or, if that fails too, handed back in the error and kept in [`Rotation::unrevoked`]
/// (the old token stays current); when only the old token's revocation fails, the new
/// token is current and the error says so (Insight.io tokens have no id: revoke the old
/// one, which you gave, with `delete_token` yourself).
///
/// Insight.io tokens live until revoked (vendors.md §5.2), so as a
/// [`TokenSource`](crate::TokenSource) this hands out the current token with no expiry;
/// rotate on your own schedule. When Insight.io refuses it,
/// [`Rotation::report_refused`] makes the next call create a new one.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let creator = insight_tokens::Client::builder()
///     .session_cookie("PLAY_SESSION=...")
///     .build()?;
/// let rotation = insight_tokens::Rotation::new(creator, "CURRENT-TOKEN")?;
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
    creator: Client,
    current: Mutex<Secret>,
    /// Rotations completed: a rotation asked for before another completed does not
    /// rotate again.
    log: api_tokens_runtime::RotationLog,
    unrevoked: std::sync::Mutex<Vec<CreatedToken>>,
    /// How long a replaced token stays live, in milliseconds: the fleet's grace period
    /// when shared ([`Rotation::shared`]), none otherwise.
    grace_ms: AtomicU64,
}

impl Rotation {
    /// Starts from `token`; `creator` is a client that may create tokens. The token is
    /// checked as a header value here, before anything is sent (an empty token, or one
    /// with a line break or another control character, is an `InvalidArgument` error).
    pub fn new(creator: Client, token: impl Into<Secret>) -> Result<Self, Error> {
        let token = token.into();
        creator.with_api_token(token.clone())?;
        let shared = Arc::new(Shared {
            creator,
            current: Mutex::new(token.clone()),
            log: api_tokens_runtime::RotationLog::default(),
            unrevoked: std::sync::Mutex::default(),
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
                    // Rotated; only the old token's revocation failed.
                    Err(error) => error.into_current(),
                }
            })
        });
        let policy = RefreshPolicy::new(Duration::ZERO);
        let cache = CachedTokenSource::new(crate::VENDOR, policy, load);
        cache.store(Token::new(token, None));
        Ok(Rotation { shared, cache })
    }

    /// Starts a rotation shared with a fleet (see [`Rotation::shared`]) as line `line`,
    /// from the fleet's current token of that line when the store holds one, else from
    /// `token`: a worker started (or restarted) with the configured token after the
    /// fleet rotated it away starts from the fleet's.
    pub async fn new_shared(
        creator: Client,
        token: impl Into<Secret>,
        line: &str,
        fleet: &SharedCache,
    ) -> Result<Self, Error> {
        let configured = token.into();
        let current = fleet.current(&line_identity(&creator, line)).await;
        let start = current.map_or(configured, |token| token.secret().clone());
        Ok(Rotation::new(creator, start)?.shared(fleet, line))
    }

    /// The same rotation, shared with every process of a fleet through `fleet` (see
    /// [`SharedCache`]) as the line of tokens `line` (a name the operator gives it: it
    /// stays the same while its tokens, and the creator's session cookie, change). The
    /// processes of one base URL and line create one new token between them when the
    /// current one is refused, the others take it from the store (when theirs is
    /// refused, when they ask for a client, and at the fleet's recheck interval), and a
    /// replaced token is deleted only after the fleet's grace period
    /// ([`SharedCache::grace`]), so that workers finishing requests with it are not cut
    /// off (a deletion that fails then is a `WARN` event; Insight.io tokens do not
    /// expire, so delete it yourself). A rotation asked for ([`Rotation::rotate`])
    /// starts from the fleet's token and is shared too. While the store cannot be used,
    /// no worker rotates. Start workers with [`Rotation::new_shared`].
    pub fn shared(mut self, fleet: &SharedCache, line: &str) -> Self {
        let identity = line_identity(&self.shared.creator, line);
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

    /// The current token (Insight.io tokens do not expire); a new one when the current
    /// one was reported refused.
    pub async fn token(&self) -> Result<Token, Error> {
        self.cache.token().await
    }

    /// Every new token, and why it changed (`tokio::sync::watch`: the receiver holds
    /// the latest, `None` before the first; `changed().await` wakes on the next): to
    /// persist it or hand it to other clients. `Debug` of an event shows no secret.
    pub fn subscribe(&self) -> api_tokens_runtime::TokenEvents {
        self.cache.subscribe()
    }

    /// Reports that Insight.io refused `token`: if it is the current one, the next call
    /// to [`Rotation::token`] creates a new one. Returns whether it was.
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
        self.shared.creator.with_api_token(current)
    }

    /// Tokens rotations created and could neither confirm nor revoke.
    pub fn unrevoked(&self) -> Vec<CreatedToken> {
        lock(&self.shared.unrevoked).clone()
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
            .creator
            .with_api_token(current.clone())
            .map_err(|e| RotationError::new(RotationStep::ReadCurrent, e))?;
        RotationStep::Create.begin(vendor);
        let created = self
            .creator
            .create_token()
            .send()
            .await
            .map_err(|e| RotationError::new(RotationStep::Create, e))?
            .into_inner()
            .token;
        let new_token = Token::new(created.clone(), None);
        // Confirm before revoking anything: the new token must be accepted.
        RotationStep::Confirm.begin(vendor);
        let new = match self.creator.with_api_token(created.clone()) {
            Ok(new) => new,
            Err(error) => return Err(self.undo(error, None, new_token).await),
        };
        if let Err(error) = new.list_tokens().send().await {
            return Err(self.undo(error, Some(new), new_token).await);
        }
        RotationStep::RevokeOld.begin(vendor);
        let grace = self.grace();
        if !grace.is_zero() {
            *current = created;
            let delete = async move {
                tokio::time::sleep(grace).await;
                if let Err(error) = old.delete_token().send().await {
                    tracing::warn!(
                        target: "api_tokens::lifecycle",
                        vendor = crate::VENDOR,
                        error = %error,
                        "deleting the replaced token after the grace period failed; it stays live"
                    );
                }
            };
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                drop(runtime.spawn(delete));
            }
            return Ok(new_token);
        }
        let revoked = old.delete_token().send().await;
        *current = created;
        match revoked {
            Ok(_) => Ok(new_token),
            Err(error) => Err(RotationError::new(RotationStep::RevokeOld, error).with_unrevoked_old(None, new_token)),
        }
    }

    /// Revokes a new token that failed confirmation, or keeps it to hand back.
    async fn undo(&self, error: Error, new: Option<Client>, token: Token) -> RotationError {
        let failed = RotationError::new(RotationStep::Confirm, error);
        if let Some(new) = new
            && new.delete_token().send().await.is_ok()
        {
            return failed;
        }
        let created = CreatedToken { id: None, token };
        lock(&self.unrevoked).push(created.clone());
        failed.with_unrevoked_new(created)
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

api_tokens_runtime::impl_token_source!(Rotation, debug: [cache]);
