//! [`JwtSource`]: an ICA JWT kept valid, the way ICA allows for each credential.

use std::time::{Duration, SystemTime};

use api_tokens_runtime::{
    BoxedLoader, CachedTokenSource, Category, Error, ErrorKind, Identity, RefreshPolicy, ServerClock, SharedCache,
    Token,
};
use progenitor_client::ClientInfo;

use crate::Client;

/// Refresh this long before a JWT's `exp`; at most half its life (the lifetime is the
/// tenant administrator's choice).
pub const DEFAULT_REFRESH_BEFORE: Duration = Duration::from_secs(300);

/// An ICA JWT, valid whenever asked for.
///
/// Built from a [`Client`] holding one credential:
/// - an API key: a new JWT is created before the current one's `exp` (ICA refuses to
///   refresh JWTs made from an API key);
/// - HTTP Basic (with [`JwtSource::tenant`] for users of several tenants) or a psToken:
///   the JWT is refreshed while it is valid, and created anew when a refresh is refused
///   or it has expired.
///
/// The expiry is the JWT's `exp` claim, read without checking the signature (ICA judges
/// the token on every use), on ICA's terms: converted to this machine's clock with the
/// answer's `Date` (or the JWT's `iat`, when it lies ahead of this clock; see
/// [`ServerClock`]). Everything [`CachedTokenSource`] promises holds: concurrent callers
/// share one request, also when it fails or hangs; a caller that gives up does not stop
/// it; failures back off; a JWT that arrives expired is an
/// [`ErrorKind::TokenExpired`] error, never handed out; a due JWT is served while
/// one refresh runs behind. When ICA refuses a JWT elsewhere, say so with
/// [`JwtSource::report_refused`].
///
/// ```no_run
/// # async fn run() -> Result<(), ica_tokens::Error> {
/// let client = ica_tokens::Client::builder().api_key("ICA-API-KEY").build()?;
/// let jwt = ica_tokens::JwtSource::new(client);
/// let token = jwt.token().await?; // cached, and replaced before it expires
/// # let _ = token;
/// # Ok(())
/// # }
/// ```
pub struct JwtSource {
    client: Client,
    tenant: Option<String>,
    fleet: Option<SharedCache>,
    cache: CachedTokenSource<BoxedLoader>,
}

impl JwtSource {
    /// A source for the credential `client` holds, refreshing
    /// [`DEFAULT_REFRESH_BEFORE`] ahead of expiry.
    pub fn new(client: Client) -> Self {
        JwtSource::with_policy(client, None, RefreshPolicy::new(DEFAULT_REFRESH_BEFORE))
    }

    /// The same, creating JWTs for `tenant` (for users of several tenants).
    pub fn tenant(self, tenant: impl Into<String>) -> Self {
        let source = JwtSource::with_policy(self.client, Some(tenant.into()), *self.cache.policy());
        match &self.fleet {
            Some(fleet) => source.shared(fleet),
            None => source,
        }
    }

    /// A source with its own refresh policy.
    pub fn with_policy(client: Client, tenant: Option<String>, policy: RefreshPolicy) -> Self {
        // A JWT made from an API key cannot be refreshed, and the API key is what
        // `create_jwt_token` uses when the client holds one.
        let refreshable = client.inner.credentials().get("api_key").is_none();
        let loader_client = client.clone();
        let loader_tenant = tenant.clone();
        let load: BoxedLoader = Box::new(move |current| {
            let (client, tenant) = (loader_client.clone(), loader_tenant.clone());
            Box::pin(async move {
                let valid = current.filter(|t| t.is_valid_at(SystemTime::now()));
                if let (true, Some(current)) = (refreshable, valid) {
                    let answer = client.with_jwt(current.into_secret())?.refresh_jwt_token().send().await;
                    match answer {
                        Ok(answer) => {
                            let clock = ServerClock::from_headers(answer.headers());
                            return jwt(answer.into_inner().token, clock);
                        }
                        // Refused (a psToken JWT past its refresh limit): create one.
                        Err(error) if error.category() == Some(Category::Refused) => {}
                        Err(error) => return Err(error),
                    }
                }
                let mut create = client.create_jwt_token();
                if let Some(tenant) = tenant {
                    // Refused before anything is sent: an empty tenant or one with a
                    // control character names no tenant.
                    if tenant.trim().is_empty() || tenant.chars().any(char::is_control) {
                        return Err(crate::sdk_error(
                            ErrorKind::InvalidArgument,
                            "tenant: empty, blank or holding a control character",
                        ));
                    }
                    create = create.tenant(tenant);
                }
                let answer = create.send().await?;
                let clock = ServerClock::from_headers(answer.headers());
                jwt(answer.into_inner().token, clock)
            })
        });
        JwtSource {
            cache: CachedTokenSource::new(crate::VENDOR, policy, load),
            client,
            tenant,
            fleet: None,
        }
    }

    /// The same source, sharing its JWTs with every process of a fleet through `fleet`
    /// (see [`SharedCache`]): the processes whose base URL, credential (its user name,
    /// or a keyed hash of its API key or psToken) and tenant are the same get one JWT
    /// and one refresh between them.
    pub fn shared(mut self, fleet: &SharedCache) -> Self {
        let mut identity = Identity::new(crate::VENDOR)
            .with("base_url", self.client.baseurl().to_owned())
            .with_credentials(self.client.inner.credentials());
        if let Some(tenant) = &self.tenant {
            identity = identity.with("tenant", tenant.clone());
        }
        self.cache = self.cache.shared(fleet, identity);
        self.fleet = Some(fleet.clone());
        self
    }

    /// A JWT valid now.
    pub async fn token(&self) -> Result<Token, Error> {
        self.cache.token().await
    }

    /// Every new JWT, and why it changed (`tokio::sync::watch`: the receiver holds
    /// the latest, `None` before the first; `changed().await` wakes on the next): to
    /// persist it or hand it to other clients. `Debug` of an event shows no secret.
    pub fn subscribe(&self) -> api_tokens_runtime::TokenEvents {
        self.cache.subscribe()
    }

    /// Forgets the JWT, whichever it is: the next call gets a new one.
    pub fn invalidate(&self) {
        self.cache.invalidate();
    }

    /// Reports that ICA refused `token` (HTTP 401 on another endpoint): if it is the
    /// current JWT it is forgotten and the next call gets a new one; a report of an
    /// older JWT does nothing (compare-and-invalidate), so many callers reporting one
    /// refusal cause one request. Returns whether it was forgotten.
    pub fn report_refused(&self, token: &Token) -> bool {
        self.cache.report_refused(token)
    }
}

fn jwt(token: api_tokens_runtime::Secret, clock: ServerClock) -> Result<Token, Error> {
    if token.is_empty() {
        return Err(crate::sdk_error(
            ErrorKind::InvalidBody,
            "the answer holds an empty JWT",
        ));
    }
    Ok(Token::from_jwt(token, clock))
}

api_tokens_runtime::impl_token_source!(JwtSource, debug: [cache]);
