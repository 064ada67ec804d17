//! In-process fakes of the vendors' servers: small state machines that answer what
//! `shared/vendors.md` documents (each answer cites its section), not what our code
//! expects. Where that file says an answer is unknown, the fake offers every plausible
//! answer as a switch, so a test can run them all.
//!
//! Every fake is a [`Fake`]; hand it to a client with
//! `ClientBuilder::respond_with(fakes::responder(&fake))` (answers at once), or with
//! `ClientBuilder::respond_with_async(fakes::async_responder(&fake))` when an answer
//! must come after a delay (`tokio::time::sleep`, so a paused clock runs it in no time,
//! in order with the client's own timers).
//!
//! Time: each fake keeps a [`FakeClock`], the wall time when it was made moved on by
//! tokio's clock, so `tokio::time::advance` on a paused runtime moves the server's clock
//! (expiries, `iat`/`exp`, `Date`). `SystemTime::now()` does not move with tokio's paused
//! clock; the fakes never read it after they are made.
//!
//! - [`Ica`]: ICA's `POST /api/tokens` and `/api/tokens:refresh` (vendors.md §2.2).
//! - [`DoCluster`]: the 2022-04-28 DoCluster API (§3.2–3.4), or its later rewrite (§3.5).
//! - [`TigerGraph`]: one server of one generation behind nginx (§1.1–1.3, §6).
//! - [`Fastly`]: one Fastly account's tokens (§4.2–4.4, §6).
//! - [`Insight`]: Insight.io's token endpoints, both generations (§5.2–5.3).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;

// ---------------------------------------------------------------------------------------
// Common parts
// ---------------------------------------------------------------------------------------

/// A server in a test: answers one request at a time.
pub trait Fake: Send + Sync + 'static {
    /// The server's answer to `request`.
    fn answer(&self, request: &reqwest::Request) -> http::Response<Vec<u8>>;

    /// How long the server takes before answering `request` (zero by default). Only
    /// [`async_responder`] can honour it; [`responder`] refuses a request that should be
    /// delayed.
    fn delay(&self, _request: &reqwest::Request) -> Duration {
        Duration::ZERO
    }
}

/// `fake` as a `respond_with` responder.
///
/// # Panics
///
/// On a request the fake is configured to answer after a delay: a synchronous
/// responder cannot wait. Use [`async_responder`] with `respond_with_async` instead.
pub fn responder<F: Fake>(
    fake: &Arc<F>,
) -> impl Fn(&reqwest::Request) -> http::Response<Vec<u8>> + Send + Sync + 'static {
    let fake = fake.clone();
    move |request| {
        let delay = fake.delay(request);
        assert!(
            delay.is_zero(),
            "the fake should answer {} {} after {delay:?}, which `respond_with` cannot do (its \
             responder is synchronous): use `respond_with_async(fakes::async_responder(&fake))`",
            request.method(),
            request.url().path()
        );
        fake.answer(request)
    }
}

/// `fake` as a `respond_with_async` responder: the server takes the request as it
/// arrives (its state changes then) and the answer comes after [`Fake::delay`], slept on
/// tokio's clock.
pub fn async_responder<F: Fake>(
    fake: &Arc<F>,
) -> impl Fn(&reqwest::Request) -> std::pin::Pin<Box<dyn std::future::Future<Output = http::Response<Vec<u8>>> + Send>>
+ Send
+ Sync
+ 'static {
    let fake = fake.clone();
    move |request| {
        let delay = fake.delay(request);
        let response = fake.answer(request);
        Box::pin(async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            response
        })
    }
}

/// A server's clock: the wall time when it was made, moved on by tokio's clock (paused
/// tests move it with `tokio::time::advance`).
#[derive(Clone, Copy, Debug)]
pub struct FakeClock {
    wall: SystemTime,
    start: tokio::time::Instant,
}

impl FakeClock {
    /// A clock reading this machine's wall time now.
    pub fn new() -> Self {
        FakeClock {
            wall: SystemTime::now(),
            start: tokio::time::Instant::now(),
        }
    }

    /// The server's time now.
    pub fn now(&self) -> SystemTime {
        self.wall + self.start.elapsed()
    }
}

impl Default for FakeClock {
    fn default() -> Self {
        FakeClock::new()
    }
}

/// `at` moved by `secs` seconds (negative: back).
fn shifted(at: SystemTime, secs: i64) -> SystemTime {
    let by = Duration::from_secs(secs.unsigned_abs());
    if secs >= 0 { at + by } else { at - by }
}

/// Unix seconds of `at` (whole seconds, rounded down).
pub fn unix_secs(at: SystemTime) -> i64 {
    at.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Unix milliseconds of `at`.
pub fn unix_millis(at: SystemTime) -> i64 {
    at.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn utc(at: SystemTime) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::<chrono::Utc>::from(at)
}

/// RFC 9110 `Date`: `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn http_date(at: SystemTime) -> String {
    utc(at).format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Java's `Date.toString()` in UTC: `Wed Jul 10 06:12:47 UTC 2024`.
pub fn java_date(at: SystemTime) -> String {
    utc(at).format("%a %b %d %H:%M:%S UTC %Y").to_string()
}

/// Java's `Date.toString()` in a JVM whose default time zone is `zone`, `offset`
/// east of UTC: `Wed Jul 10 08:12:47 CEST 2024`.
pub fn java_date_in(at: SystemTime, zone: &str, offset: chrono::Duration) -> String {
    (utc(at) + offset)
        .format(&format!("%a %b %d %H:%M:%S {zone} %Y"))
        .to_string()
}

/// RFC 3339 to the second, in UTC: `2024-08-23T02:33:25Z`.
pub fn rfc3339(at: SystemTime) -> String {
    utc(at).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Deterministic random-looking text (splitmix64): ids and tokens that look like the
/// vendor's, the same on every run.
struct Ids(u64);

impl Ids {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn pick(&mut self, alphabet: &[u8], length: usize) -> String {
        (0..length)
            .map(|_| alphabet[(self.next() % alphabet.len() as u64) as usize] as char)
            .collect()
    }

    fn alnum(&mut self, length: usize) -> String {
        self.pick(
            b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
            length,
        )
    }

    fn lower_alnum(&mut self, length: usize) -> String {
        self.pick(b"0123456789abcdefghijklmnopqrstuvwxyz", length)
    }

    fn upper(&mut self, length: usize) -> String {
        self.pick(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", length)
    }

    fn hex(&mut self, length: usize) -> String {
        self.pick(b"0123456789abcdef", length)
    }

    fn uuid(&mut self) -> String {
        let h = self.hex(32);
        format!("{}-{}-4{}-a{}-{}", &h[..8], &h[8..12], &h[13..16], &h[17..20], &h[20..])
    }
}

/// An answer with a status, a `Content-Type` (none for an empty body) and a body.
fn reply(status: u16, content_type: Option<&str>, body: impl Into<Vec<u8>>) -> http::Response<Vec<u8>> {
    let mut response = http::Response::new(body.into());
    *response.status_mut() = http::StatusCode::from_u16(status).expect("status");
    if let Some(content_type) = content_type {
        response
            .headers_mut()
            .insert(http::header::CONTENT_TYPE, content_type.parse().expect("content type"));
    }
    response
}

fn json_reply(status: u16, body: &serde_json::Value) -> http::Response<Vec<u8>> {
    reply(status, Some("application/json"), body.to_string())
}

fn set_header(response: &mut http::Response<Vec<u8>>, name: &'static str, value: &str) {
    response
        .headers_mut()
        .insert(name, value.parse().expect("header value"));
}

/// `response` with the `Date` header of a server whose clock reads `now`. Not in
/// vendors.md: every origin server with a clock sends one (RFC 9110 §6.6.1), as nginx,
/// Werkzeug, Play and Fastly do.
fn dated(mut response: http::Response<Vec<u8>>, now: SystemTime) -> http::Response<Vec<u8>> {
    set_header(&mut response, "date", &http_date(now));
    response
}

fn header(request: &reqwest::Request, name: &str) -> Option<String> {
    request
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn body(request: &reqwest::Request) -> &[u8] {
    request.body().and_then(|b| b.as_bytes()).unwrap_or_default()
}

fn form(request: &reqwest::Request) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(body(request)).unwrap_or_default()
}

fn query(request: &reqwest::Request) -> Vec<(String, String)> {
    request.url().query_pairs().into_owned().collect()
}

fn find(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

/// HTTP Basic `(user, password)`.
fn basic_credentials(request: &reqwest::Request) -> Option<(String, String)> {
    let value = header(request, "authorization")?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

fn bearer(request: &reqwest::Request) -> Option<String> {
    header(request, "authorization")?
        .strip_prefix("Bearer ")
        .map(str::to_owned)
}

fn b64url(bytes: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `METHOD path` of a request, for the fakes' logs.
fn line(request: &reqwest::Request) -> String {
    format!("{} {}", request.method(), request.url().path())
}

// ---------------------------------------------------------------------------------------
// ICA
// ---------------------------------------------------------------------------------------

/// ICA's media type: what every request must accept, and what a success answers.
pub const ICA_V3: &str = "application/vnd.illumina.v3+json";

/// How the JWTs an [`Ica`] mints stand on arrival.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IcaArrival {
    /// `iat` now, `exp` after the configured lifetime.
    #[default]
    Fresh,
    /// Already expired: `iat` = now − 90 s, `exp` = now − 30 s.
    AlreadyExpired,
    /// Expiring as it arrives: `iat` = `exp` = now.
    ExpiresNow,
}

/// What an [`Ica`] answers to `POST /api/tokens`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IcaCreate {
    /// Checks the credential and mints a JWT.
    #[default]
    Mint,
    /// Every create answers 503 Service Unavailable after `after` (needs
    /// [`async_responder`] when `after` is not zero).
    Unavailable {
        /// How long the server takes to fail.
        after: Duration,
    },
}

/// What minted a JWT (it decides whether the JWT may be refreshed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum IcaOrigin {
    ApiKey,
    Basic,
    PsToken,
}

struct IcaJwt {
    origin: IcaOrigin,
    exp: i64,
}

struct IcaState {
    api_keys: Vec<String>,
    users: Vec<(String, String)>,
    ps_tokens: Vec<String>,
    lifetime: Duration,
    skew: i64,
    arrival: IcaArrival,
    create: IcaCreate,
    refuse_refreshes: bool,
    issued: HashMap<String, IcaJwt>,
    creates: usize,
    refreshes: usize,
    refresh_bearers: Vec<String>,
    log: Vec<String>,
    ids: Ids,
}

/// An ICA server (vendors.md §2.2): `POST /api/tokens` checks the `Accept` header and
/// the credential (`X-API-Key`, HTTP Basic, or a psToken as Bearer) and mints a JWT
/// with `iat` and `exp`; `POST /api/tokens:refresh` takes a valid JWT as Bearer, unless
/// it was minted from an API key. Every answer carries a `Date` header by the server's
/// clock, which may be skewed.
///
/// Build it with the credentials it accepts, then share it:
/// `Arc::new(Ica::new().api_key("KEY"))`. Switches may be flipped at any time.
pub struct Ica {
    clock: FakeClock,
    state: Mutex<IcaState>,
}

impl Default for Ica {
    fn default() -> Self {
        Ica::new()
    }
}

impl Ica {
    /// A server accepting no credential yet, minting one-hour JWTs.
    pub fn new() -> Self {
        Ica {
            clock: FakeClock::new(),
            state: Mutex::new(IcaState {
                api_keys: Vec::new(),
                users: Vec::new(),
                ps_tokens: Vec::new(),
                // vendors.md §2.2: "a pre-configured period specified by a tenant
                // administrator"; no value is given. An hour here, configurable.
                lifetime: Duration::from_secs(3600),
                skew: 0,
                arrival: IcaArrival::Fresh,
                create: IcaCreate::Mint,
                refuse_refreshes: false,
                issued: HashMap::new(),
                creates: 0,
                refreshes: 0,
                refresh_bearers: Vec::new(),
                log: Vec::new(),
                ids: Ids(0x1CA),
            }),
        }
    }

    /// Also accepts this API key (`X-API-Key`).
    pub fn api_key(self, key: &str) -> Self {
        lock(&self.state).api_keys.push(key.to_owned());
        self
    }

    /// Also accepts this user (HTTP Basic).
    pub fn user(self, user: &str, password: &str) -> Self {
        lock(&self.state).users.push((user.to_owned(), password.to_owned()));
        self
    }

    /// Also accepts this psToken (`Authorization: Bearer`).
    pub fn ps_token(self, token: &str) -> Self {
        lock(&self.state).ps_tokens.push(token.to_owned());
        self
    }

    /// The lifetime of the JWTs it mints from now on.
    pub fn set_jwt_lifetime(&self, lifetime: Duration) {
        lock(&self.state).lifetime = lifetime;
    }

    /// The server's clock runs `seconds` ahead of the fake clock (negative: behind):
    /// `iat`, `exp`, expiry checks and the `Date` header all follow it.
    pub fn set_skew(&self, seconds: i64) {
        lock(&self.state).skew = seconds;
    }

    /// How the JWTs it mints from now on stand on arrival.
    pub fn set_arrival(&self, arrival: IcaArrival) {
        lock(&self.state).arrival = arrival;
    }

    /// What it answers to creates from now on.
    pub fn set_create(&self, create: IcaCreate) {
        lock(&self.state).create = create;
    }

    /// Refuses every refresh (401) while set.
    pub fn refuse_refreshes(&self, refuse: bool) {
        lock(&self.state).refuse_refreshes = refuse;
    }

    /// `POST /api/tokens` requests answered so far (successful or not).
    pub fn creates(&self) -> usize {
        lock(&self.state).creates
    }

    /// `POST /api/tokens:refresh` requests answered so far (successful or not).
    pub fn refreshes(&self) -> usize {
        lock(&self.state).refreshes
    }

    /// The `Authorization` header of every refresh, in order.
    pub fn refresh_bearers(&self) -> Vec<String> {
        lock(&self.state).refresh_bearers.clone()
    }

    /// `METHOD path` of every request.
    pub fn log(&self) -> Vec<String> {
        lock(&self.state).log.clone()
    }

    /// The server's clock now (the fake clock plus the skew).
    pub fn now(&self) -> SystemTime {
        shifted(self.clock.now(), lock(&self.state).skew)
    }

    fn mint(state: &mut IcaState, now: SystemTime, origin: IcaOrigin, tenant: Option<String>) -> String {
        let now = unix_secs(now);
        let lifetime = i64::try_from(state.lifetime.as_secs()).unwrap_or(i64::MAX);
        let (iat, exp) = match state.arrival {
            IcaArrival::Fresh => (now, now.saturating_add(lifetime)),
            IcaArrival::AlreadyExpired => (now - 90, now - 30),
            IcaArrival::ExpiresNow => (now, now),
        };
        let subject = match origin {
            IcaOrigin::ApiKey => "api-key-user",
            IcaOrigin::Basic => "basic-user",
            IcaOrigin::PsToken => "ps-token-user",
        };
        // ICA's claims beyond `iat`/`exp` are not recorded (vendors.md §2.2 names none);
        // `jti` tells two JWTs of the same second apart.
        let mut claims = serde_json::json!({"sub": subject, "iat": iat, "exp": exp, "jti": state.ids.uuid()});
        if let Some(tenant) = tenant {
            claims["tenant"] = tenant.into();
        }
        let jwt = format!(
            "{}.{}.{}",
            b64url(r#"{"alg":"RS256","typ":"JWT"}"#),
            b64url(claims.to_string()),
            b64url(state.ids.hex(64))
        );
        state.issued.insert(jwt.clone(), IcaJwt { origin, exp });
        jwt
    }

    /// An RFC 7807 problem as ICA sends one. vendors.md §2.2: the recorded body has
    /// `id`, `type`, `title` (an error code), `status`, `detail`, `instance`,
    /// `parameters`, `timestamp` and `method` (outside the schema).
    fn problem(
        state: &mut IcaState,
        now: SystemTime,
        request: &reqwest::Request,
        status: u16,
        title: &str,
        detail: Option<&str>,
    ) -> http::Response<Vec<u8>> {
        let mut problem = serde_json::json!({
            "id": state.ids.uuid(), "type": "about:blank", "title": title, "status": status,
            "instance": request.url().as_str(), "parameters": {}, "timestamp": rfc3339(now),
            "method": request.method().as_str(),
        });
        if let Some(detail) = detail {
            problem["detail"] = detail.into();
        }
        reply(status, Some("application/problem+json"), problem.to_string())
    }

    fn answer_at(&self, request: &reqwest::Request, now: SystemTime, state: &mut IcaState) -> http::Response<Vec<u8>> {
        // vendors.md §2.2: "The ICA API versions endpoints by the Accept media type.
        // Without a proper Accept you get 400 ICA_API_004" (the recorded body).
        let accepts_v3 = header(request, "accept").is_some_and(|accept| {
            accept.split(',').any(|range| {
                range
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .eq_ignore_ascii_case(ICA_V3)
            })
        });
        if !accepts_v3 {
            return Ica::problem(state, now, request, 400, "ICA_API_004", Some("Invalid Accept Header"));
        }
        let path = request.url().path().to_owned();
        let ok = |jwt: String| reply(200, Some(ICA_V3), serde_json::json!({"token": jwt}).to_string());
        if request.method() == reqwest::Method::POST && path.ends_with("/api/tokens") {
            state.creates += 1;
            if let IcaCreate::Unavailable { .. } = state.create {
                // vendors.md §2.2: failures are `default` → application/problem+json; a
                // bare RFC 7807 body, as a gateway in front of the API sends it.
                return reply(
                    503,
                    Some("application/problem+json"),
                    r#"{"type":"about:blank","title":"Service Unavailable","status":503}"#,
                );
            }
            // vendors.md §2.2: security alternatives ApiKeyAuth, BasicAuth, PsTokenAuth.
            // Which one ICA honours when several are sent (libica v2 sends all,
            // §2.3) is not recorded: every one sent must be valid here, and an API key
            // among them makes the JWT an API-key JWT (not refreshable).
            let mut origin = None;
            let mut refused = false;
            if let Some(key) = header(request, "x-api-key") {
                refused |= !state.api_keys.contains(&key);
                origin = Some(IcaOrigin::ApiKey);
            }
            if let Some((user, password)) = basic_credentials(request) {
                refused |= !state.users.contains(&(user, password));
                origin.get_or_insert(IcaOrigin::Basic);
            } else if let Some(token) = bearer(request) {
                // PsTokenAuth: a psToken; a JWT is no credential to create one.
                refused |= !state.ps_tokens.contains(&token);
                origin.get_or_insert(IcaOrigin::PsToken);
            }
            return match origin {
                Some(origin) if !refused => {
                    let tenant = find(&query(request), "tenant");
                    ok(Ica::mint(state, now, origin, tenant))
                }
                // vendors.md §2.3: "a 401 application/problem+json raises
                // UnauthorizedException"; its body is modelled on the recorded one.
                _ => Ica::problem(state, now, request, 401, "Unauthorized", None),
            };
        }
        if request.method() == reqwest::Method::POST && path.ends_with("/api/tokens:refresh") {
            state.refreshes += 1;
            let authorization = header(request, "authorization").unwrap_or_default();
            state.refresh_bearers.push(authorization);
            // vendors.md §2.2: "Refresh a JWT using a not yet expired, still valid JWT"
            // (JwtAuth).
            let jwt = bearer(request).and_then(|jwt| state.issued.get(&jwt).map(|j| (j.origin, j.exp)));
            return match jwt {
                Some((_, exp)) if exp <= unix_secs(now) => {
                    Ica::problem(state, now, request, 401, "Unauthorized", Some("The JWT has expired."))
                }
                // vendors.md §2.2: "Refreshing the JWT is not possible if it has been
                // created using an API-key." The status of that refusal is not
                // recorded; 400, as ICA's other request-level refusal (ICA_API_004).
                Some((IcaOrigin::ApiKey, _)) => Ica::problem(
                    state,
                    now,
                    request,
                    400,
                    "Bad Request",
                    Some("Refreshing the JWT is not possible if it has been created using an API-key."),
                ),
                Some(_) if state.refuse_refreshes => Ica::problem(state, now, request, 401, "Unauthorized", None),
                Some((origin, _)) => ok(Ica::mint(state, now, origin, None)),
                None => Ica::problem(state, now, request, 401, "Unauthorized", None),
            };
        }
        Ica::problem(state, now, request, 404, "Not Found", None)
    }
}

impl Fake for Ica {
    fn answer(&self, request: &reqwest::Request) -> http::Response<Vec<u8>> {
        let mut state = lock(&self.state);
        state.log.push(line(request));
        let now = shifted(self.clock.now(), state.skew);
        // The `Date` by the server's own (skewed) clock.
        dated(self.answer_at(request, now, &mut state), now)
    }

    fn delay(&self, request: &reqwest::Request) -> Duration {
        match lock(&self.state).create {
            IcaCreate::Unavailable { after } if request.url().path().ends_with("/api/tokens") => after,
            _ => Duration::ZERO,
        }
    }
}

// ---------------------------------------------------------------------------------------
// DoCluster
// ---------------------------------------------------------------------------------------

/// Which DoCluster server a [`DoCluster`] is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DoClusterWording {
    /// The 2022-04-28 API (vendors.md §3.2–3.4): `/api/tokens`, one message per reason.
    #[default]
    Original,
    /// The later rewrite (vendors.md §3.5): `wrong token` for every bad token, `access
    /// denied` for a failed login, no `/api/tokens`.
    Rewrite,
}

/// A live token in a [`DoCluster`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DoClusterToken {
    /// The token (60 upper-case letters).
    pub token: String,
    /// Who logged in.
    pub username: String,
    /// The address it is bound to.
    pub ip: String,
    /// Unix seconds when it expires unless used again.
    pub expiration: i64,
}

struct DoClusterState {
    users: Vec<(String, String)>,
    window: Duration,
    client_ip: String,
    cluster_created: bool,
    wording: DoClusterWording,
    tokens: Vec<DoClusterToken>,
    listed_once: bool,
    logins: usize,
    log: Vec<String>,
    ids: Ids,
}

/// A DoCluster server (vendors.md §3.2–3.4): logins mint tokens bound to the client's
/// IP address, each use slides the expiry by the window (60 s, §3.1), expired tokens
/// are purged on every request with the §3.3 quirk (the first use after expiry or
/// logout says "expired", later ones "not found"), `/api/tokens` lists every live token.
/// Every answer is HTTP 200 `text/html; charset=utf-8`, a `json.dumps(indent=1)`
/// envelope in the order msg, status, error.
///
/// `POST /api/login` with a dead `access_token` (a check) runs the login itself, so
/// its answer is the login's refusal, `Username not found, please log in.`, never a
/// word about the token (§3.4; the server's `src/api/DoClusterApi_class.py`, which
/// §3.1 names, calls `__login()` whenever CheckToken fails on `login`).
///
/// The fake cannot see a request's source address: [`DoCluster::set_client_ip`] says
/// where requests come from (127.0.0.1 by default).
pub struct DoCluster {
    clock: FakeClock,
    state: Mutex<DoClusterState>,
}

impl Default for DoCluster {
    fn default() -> Self {
        DoCluster::new()
    }
}

/// A value of Python's `json.dumps`, keys in insertion order.
enum Py {
    Str(String),
    Int(i64),
    Obj(Vec<(String, Py)>),
}

impl Py {
    fn str(s: &str) -> Py {
        Py::Str(s.to_owned())
    }

    /// `json.dumps(self, indent=1)`: items separated by `,` and a new line, `: ` after
    /// keys, `{}` for an empty object.
    fn dump(&self, depth: usize, out: &mut String) {
        match self {
            Py::Str(s) => out.push_str(&serde_json::to_string(s).expect("string")),
            Py::Int(n) => out.push_str(&n.to_string()),
            Py::Obj(entries) if entries.is_empty() => out.push_str("{}"),
            Py::Obj(entries) => {
                out.push_str("{\n");
                for (i, (key, value)) in entries.iter().enumerate() {
                    out.push_str(&" ".repeat(depth + 1));
                    out.push_str(&serde_json::to_string(key).expect("key"));
                    out.push_str(": ");
                    value.dump(depth + 1, out);
                    if i + 1 < entries.len() {
                        out.push(',');
                    }
                    out.push('\n');
                }
                out.push_str(&" ".repeat(depth));
                out.push('}');
            }
        }
    }
}

impl DoCluster {
    /// The 2022-04-28 server with its default user admin/admin (vendors.md §3.3), a
    /// 60-second window (§3.1, §6), a created cluster, requests from 127.0.0.1.
    pub fn new() -> Self {
        DoCluster {
            clock: FakeClock::new(),
            state: Mutex::new(DoClusterState {
                users: vec![("admin".to_owned(), "admin".to_owned())],
                window: Duration::from_secs(60),
                client_ip: "127.0.0.1".to_owned(),
                cluster_created: true,
                wording: DoClusterWording::Original,
                tokens: Vec::new(),
                listed_once: false,
                logins: 0,
                log: Vec::new(),
                ids: Ids(0xD0C1),
            }),
        }
    }

    /// The later rewrite (vendors.md §3.5), with its 300-second window.
    pub fn rewrite() -> Self {
        let server = DoCluster::new();
        {
            let mut state = lock(&server.state);
            state.wording = DoClusterWording::Rewrite;
            state.window = Duration::from_secs(300);
        }
        server
    }

    /// Adds a user, or sets an existing user's password.
    pub fn user(self, name: &str, password: &str) -> Self {
        {
            let mut state = lock(&self.state);
            state.users.retain(|(n, _)| n != name);
            state.users.push((name.to_owned(), password.to_owned()));
        }
        self
    }

    /// The sliding window (`config.token_timeout`).
    pub fn set_window(&self, window: Duration) {
        lock(&self.state).window = window;
    }

    /// Where requests come from from now on (`request.remote_addr`).
    pub fn set_client_ip(&self, ip: &str) {
        lock(&self.state).client_ip = ip.to_owned();
    }

    /// Whether a cluster exists; without one, authenticated answers say `Cluster not
    /// created` (vendors.md §3.4).
    pub fn set_cluster_created(&self, created: bool) {
        lock(&self.state).cluster_created = created;
    }

    /// The server restarts: its in-memory tokens are gone (vendors.md §3.3:
    /// `config.access_tokens` is a dict in memory).
    pub fn restart(&self) {
        let mut state = lock(&self.state);
        state.tokens.clear();
        state.listed_once = false;
    }

    /// A token as a login of `username` from the current client address would get it
    /// (a token saved earlier).
    pub fn issue(&self, username: &str) -> String {
        let now = unix_secs(self.clock.now());
        let mut state = lock(&self.state);
        let token = state.ids.upper(60);
        let expiration = now + i64::try_from(state.window.as_secs()).unwrap_or(i64::MAX);
        let ip = state.client_ip.clone();
        state.tokens.push(DoClusterToken {
            token: token.clone(),
            username: username.to_owned(),
            ip,
            expiration,
        });
        token
    }

    /// Makes `token` one the server issued to `username`, from the current client
    /// address, as a login would (a token saved earlier, with a value of the test's).
    pub fn plant(&self, token: &str, username: &str) {
        let now = unix_secs(self.clock.now());
        let mut state = lock(&self.state);
        let expiration = now + i64::try_from(state.window.as_secs()).unwrap_or(i64::MAX);
        let ip = state.client_ip.clone();
        state.tokens.push(DoClusterToken {
            token: token.to_owned(),
            username: username.to_owned(),
            ip,
            expiration,
        });
    }

    /// The tokens the server holds, expired ones not yet purged included.
    pub fn tokens(&self) -> Vec<DoClusterToken> {
        lock(&self.state).tokens.clone()
    }

    /// The tokens that are live now (not expired).
    pub fn live_tokens(&self) -> Vec<DoClusterToken> {
        let now = unix_secs(self.clock.now());
        lock(&self.state)
            .tokens
            .iter()
            .filter(|t| t.expiration >= now)
            .cloned()
            .collect()
    }

    /// Successful logins so far.
    pub fn logins(&self) -> usize {
        lock(&self.state).logins
    }

    /// `METHOD path` of every request, with ` +token` when it carried an
    /// `access_token`.
    pub fn log(&self) -> Vec<String> {
        lock(&self.state).log.clone()
    }

    /// The server's clock now.
    pub fn now(&self) -> SystemTime {
        self.clock.now()
    }

    fn envelope(msg: Py, status: &str, error: &str) -> http::Response<Vec<u8>> {
        let mut text = String::new();
        Py::Obj(vec![
            ("msg".to_owned(), msg),
            ("status".to_owned(), Py::str(status)),
            ("error".to_owned(), Py::str(error)),
        ])
        .dump(0, &mut text);
        // vendors.md §3.2: HTTP 200 always; `Content-Type: text/html; charset=utf-8`
        // (Flask returning a str); json.dumps(indent=1), key order msg, status, error.
        reply(200, Some("text/html; charset=utf-8"), text)
    }

    fn table(tokens: &[DoClusterToken]) -> Py {
        Py::Obj(vec![(
            "tokens".to_owned(),
            Py::Obj(
                tokens
                    .iter()
                    .map(|t| {
                        (
                            t.token.clone(),
                            Py::Obj(vec![
                                ("username".to_owned(), Py::str(&t.username)),
                                ("ip".to_owned(), Py::str(&t.ip)),
                                ("expiration".to_owned(), Py::Int(t.expiration)),
                            ]),
                        )
                    })
                    .collect(),
            ),
        )])
    }
}

impl Fake for DoCluster {
    fn answer(&self, request: &reqwest::Request) -> http::Response<Vec<u8>> {
        let now = self.clock.now();
        dated(self.answer_at(request, unix_secs(now)), now)
    }
}

impl DoCluster {
    fn answer_at(&self, request: &reqwest::Request, now: i64) -> http::Response<Vec<u8>> {
        let mut state = lock(&self.state);
        let state = &mut *state;
        let rewrite = state.wording == DoClusterWording::Rewrite;
        // vendors.md §3.2: `args = request.form.to_dict()` only for POST; GET query
        // strings and JSON bodies are ignored.
        let args = if request.method() == reqwest::Method::POST {
            form(request)
        } else {
            Vec::new()
        };
        let token = find(&args, "access_token");
        state.log.push(format!(
            "{}{}",
            line(request),
            if token.is_some() { " +token" } else { "" }
        ));
        // vendors.md §3.2: routes `/api/` and `/api/<path:path>`, split on `/` with
        // empties dropped.
        let segments: Vec<&str> = request
            .url()
            .path()
            .split('/')
            .filter(|s| !s.is_empty())
            .skip(1)
            .collect();
        let window = i64::try_from(state.window.as_secs()).unwrap_or(i64::MAX);

        // vendors.md §3.3 CheckToken, on every request: the entry is fetched *before*
        // the purge (the quirk), then expired tokens are purged, then: unknown → not
        // found; another IP → not important; expired → expired; else slide. Expired
        // means `expiration < utc_time`, whole seconds (the server's
        // src/api/DoClusterApi_class.py, which §3.1 names).
        let fetched = token
            .as_ref()
            .and_then(|t| state.tokens.iter().find(|e| e.token == *t).cloned());
        state.tokens.retain(|t| t.expiration >= now);
        let check: Result<(), &str> = match &fetched {
            _ if rewrite
                && fetched
                    .as_ref()
                    .is_none_or(|t| t.ip != state.client_ip || t.expiration < now) =>
            {
                // vendors.md §3.5: "wrong token" covers wrong IP, expired and
                // logged-out tokens alike.
                Err("wrong token")
            }
            None => Err("Token not found, please log in."),
            Some(t) if t.ip != state.client_ip => Err("The token is not important for this IP address, please log in."),
            Some(t) if t.expiration < now => Err("Token expired please log in."),
            Some(t) => {
                if let Some(entry) = state.tokens.iter_mut().find(|e| e.token == t.token) {
                    entry.expiration = now + window;
                }
                Ok(())
            }
        };
        let no_cluster = if rewrite {
            "cluster not created"
        } else {
            "Cluster not created"
        };
        let empty = || Py::Obj(Vec::new());
        let first = segments.first().copied().unwrap_or_default();

        if first == "login" && check.is_err() {
            // vendors.md §3.4: login runs only when no valid token is supplied, and its
            // answer replaces CheckToken's: a stale `access_token` alone (a check) gets
            // the login failure of "no fields", `Username not found` (the class's
            // `__init__` calls `__login()` whenever CheckToken fails on `login`).
            let username = find(&args, "username").unwrap_or_default();
            let password = find(&args, "password").unwrap_or_default();
            let user = state.users.iter().find(|(n, _)| *n == username).cloned();
            let refused = |why: &str| {
                if rewrite {
                    // vendors.md §3.5: `{"msg": {}, "status": "error", "error": "access denied"}`.
                    DoCluster::envelope(empty(), "error", "access denied")
                } else {
                    // vendors.md §3.4: status is the string "false" for login failures.
                    DoCluster::envelope(empty(), "false", why)
                }
            };
            return match user {
                None => refused("Username not found, please log in."),
                Some((_, expected)) if expected != password => refused("Wrong password."),
                Some(_) => {
                    state.logins += 1;
                    // vendors.md §3.3: 60 upper-case letters; expiration = now + timeout.
                    let token = state.ids.upper(60);
                    state.tokens.push(DoClusterToken {
                        token: token.clone(),
                        username,
                        ip: state.client_ip.clone(),
                        expiration: now + window,
                    });
                    DoCluster::envelope(
                        Py::Obj(vec![("access_token".to_owned(), Py::Str(token))]),
                        "success",
                        "",
                    )
                }
            };
        }
        let known = ["login", "logout", "tokens"];
        if segments.len() == 1 && !known.contains(&first) && !rewrite {
            // vendors.md §3.4: an unknown single-segment path is `Wrong API path`,
            // whatever the token (the class sets it after CheckToken); with a valid
            // token and no cluster, `Cluster not created` (below).
            if check.is_err() {
                return DoCluster::envelope(empty(), "error", "Wrong API path");
            }
        } else if let Err(why) = check {
            // vendors.md §3.4: auth errors on any path, msg {} and status "error".
            return DoCluster::envelope(empty(), "error", why);
        }
        let token = token.unwrap_or_default();
        let (msg, status, error) = match first {
            "login" => {
                // vendors.md §3.4: a login with a valid token is skipped; the class-level
                // `answer_msg` leaks `{"tokens": …}` once `/api/tokens` has been called.
                let msg = if state.listed_once && !rewrite {
                    DoCluster::table(&state.tokens)
                } else {
                    empty()
                };
                (msg, "success", "")
            }
            "logout" => {
                // vendors.md §3.3 quirk: the next use of a logged-out token still finds
                // its entry (then expired), so logout expires it rather than removing it.
                if let Some(entry) = state.tokens.iter_mut().find(|e| e.token == token) {
                    entry.expiration = 0;
                }
                // vendors.md §3.4: msg is the empty string; §3.5: `{}` after the rewrite.
                let msg = if rewrite { empty() } else { Py::str("") };
                (msg, "success", "")
            }
            "tokens" if !rewrite => {
                // vendors.md §3.4: every user's live tokens, with IPs and expirations.
                state.listed_once = true;
                (DoCluster::table(&state.tokens), "success", "")
            }
            // vendors.md §3.5: `/api/tokens` no longer exists; what the rewrite answers
            // to an unknown path is not recorded: its handlers' `wrong api path` here.
            _ if rewrite => (empty(), "error", "wrong api path"),
            // vendors.md §3.4: unknown path. The per-class endpoints (cluster/...,
            // systems/...) are not modelled.
            _ => (empty(), "error", "Wrong API path"),
        };
        if !state.cluster_created {
            // vendors.md §3.4: with a valid token and no cluster, the answer keeps its
            // msg but says `Cluster not created` (the logout still took effect).
            return DoCluster::envelope(msg, "error", no_cluster);
        }
        DoCluster::envelope(msg, status, error)
    }
}

// ---------------------------------------------------------------------------------------
// TigerGraph
// ---------------------------------------------------------------------------------------

/// The generation of a [`TigerGraph`] server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TgServer {
    /// 3.0–3.4: the query-string API (vendors.md §1.2 A).
    V3_0,
    /// 3.5–3.11: the JSON-body API (§1.2 B).
    V3_5,
    /// 4.1+: JWTs at `/gsql/v1/tokens` (§1.2 C), and the deprecated JSON-body API.
    V4,
}

/// What a 3.x server answers to a wrong or missing secret. No source records it
/// (vendors.md §1.3: "HTTP status codes for token errors are not documented"), so a
/// test can run each. Every variant is illustrative.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TgBadSecret {
    /// HTTP 200, the REST++ envelope with `REST-10016` (§1.3's "access denied" code).
    #[default]
    Rest10016,
    /// HTTP 401 with the same JSON.
    Unauthorized,
    /// HTTP 200, `REST-30000` (§1.3: invalid payload or parameter).
    Rest30000,
    /// HTTP 200, `REST-2001` (§1.3: invalid JSON payload).
    Rest2001,
    /// HTTP 500, a `text/html` error page.
    ServerErrorHtml,
    /// HTTP 400, a `text/plain` line.
    BadRequestText,
}

impl TgBadSecret {
    /// Every variant.
    pub const ALL: [TgBadSecret; 6] = [
        TgBadSecret::Rest10016,
        TgBadSecret::Unauthorized,
        TgBadSecret::Rest30000,
        TgBadSecret::Rest2001,
        TgBadSecret::ServerErrorHtml,
        TgBadSecret::BadRequestText,
    ];
}

/// What a 3.x server answers about a token it does not have (deleted, expired, never
/// issued).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TgMissingToken {
    /// `REST-3300`, the code pyTigerGraph expects (vendors.md §1.3), with the message
    /// seen in §1.4's capture, which is illustrative, not a documented server string.
    #[default]
    Rest3300,
    /// No code; a message containing `doesn't exist`, as TigerGraph's regression script
    /// shows it (§1.2 B; the exact text and code are unknown).
    DoesntExist,
}

/// What a 3.0–3.4 server answers a refresh (`PUT /requesttoken?…`) in `expiration`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TgRefreshExpiration {
    /// The lifetime (vendors.md §1.2 A, the docs' "Known bug"): the one asked for,
    /// else the default.
    #[default]
    Lifetime,
    /// `0`, as in the docs' sample of `POST /requesttoken`, which reads "Refresh token
    /// successfully." (§1.2 A): that sample looks copied from a refresh answer, so a
    /// refresh answering `0` is plausible.
    Zero,
}

/// What a 3.0–3.4 server answers to `POST /requesttoken` with the secret as the body.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TgRawPost {
    /// As `GET /requesttoken?secret=`: a new token with its expiry.
    #[default]
    Generated,
    /// The docs' sample (vendors.md §1.2 A, likely a copy/paste error): `expiration`
    /// 0 and `Refresh token successfully.`.
    DocSample,
}

struct TgToken {
    token: String,
    user: String,
    expires: i64,
}

struct TgState {
    server: TgServer,
    secrets: Vec<(String, String)>,
    users: Vec<(String, String)>,
    restpp_auth: bool,
    bad_secret: TgBadSecret,
    missing_token: TgMissingToken,
    raw_post: TgRawPost,
    refresh_expiration: TgRefreshExpiration,
    jvm_zone: Option<(String, chrono::Duration)>,
    refuse_refresh: bool,
    gsql_auth_status: u16,
    tokens: Vec<TgToken>,
    jwts: Vec<(String, String)>,
    blocked: Vec<String>,
    log: Vec<String>,
    ids: Ids,
}

/// A TigerGraph server of one generation behind nginx on one port: REST++ under
/// `/restpp`, the GSQL server at `/gsql` (vendors.md §1.1). Paths without the
/// `/restpp` prefix are REST++'s too (REST++ on its own port, 9000).
///
/// Users and secrets: `tigergraph`/`tigergraph` by default; add with
/// [`TigerGraph::secret`] and [`TigerGraph::user`].
pub struct TigerGraph {
    clock: FakeClock,
    state: Mutex<TgState>,
}

/// vendors.md §1.2 A/B: the default lifetime, 2 592 000 s (30 days).
const TG_DEFAULT_LIFETIME: i64 = 2_592_000;
/// vendors.md §1.2 C: the 4.x default, 7 days in milliseconds.
const TG_JWT_DEFAULT_LIFETIME_MS: i64 = 7 * 24 * 3600 * 1000;
/// nginx's own 404 page (vendors.md §6: 3.x behind nginx has no `/gsql/v1/tokens`).
const NGINX_404: &str = "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

impl TigerGraph {
    /// A server of generation `server`, REST++ authentication enabled.
    pub fn new(server: TgServer) -> Self {
        TigerGraph {
            clock: FakeClock::new(),
            state: Mutex::new(TgState {
                server,
                secrets: Vec::new(),
                users: vec![("tigergraph".to_owned(), "tigergraph".to_owned())],
                restpp_auth: true,
                bad_secret: TgBadSecret::default(),
                missing_token: TgMissingToken::default(),
                raw_post: TgRawPost::default(),
                refresh_expiration: TgRefreshExpiration::default(),
                jvm_zone: None,
                refuse_refresh: false,
                // vendors.md §1.3 gives the body of a 4.x auth failure, not its status.
                gsql_auth_status: 401,
                tokens: Vec::new(),
                jwts: Vec::new(),
                blocked: Vec::new(),
                log: Vec::new(),
                ids: Ids(0x716E),
            }),
        }
    }

    /// Accepts `secret`, made by the user `tigergraph` (`CREATE SECRET`).
    pub fn secret(self, secret: &str) -> Self {
        self.secret_of("tigergraph", secret)
    }

    /// Accepts `secret`, made by `user`.
    pub fn secret_of(self, user: &str, secret: &str) -> Self {
        lock(&self.state).secrets.push((secret.to_owned(), user.to_owned()));
        self
    }

    /// Adds a user (HTTP Basic).
    pub fn user(self, user: &str, password: &str) -> Self {
        lock(&self.state).users.push((user.to_owned(), password.to_owned()));
        self
    }

    /// REST++ authentication disabled: `/gsql/v1/tokens` is nginx's 404 page and
    /// `/requesttoken` REST++'s 404 `REST-1000`.
    pub fn restpp_auth(self, enabled: bool) -> Self {
        lock(&self.state).restpp_auth = enabled;
        self
    }

    /// What a wrong or missing secret gets (3.x).
    pub fn set_bad_secret(&self, answer: TgBadSecret) {
        lock(&self.state).bad_secret = answer;
    }

    /// What a missing token gets (3.x).
    pub fn set_missing_token(&self, answer: TgMissingToken) {
        lock(&self.state).missing_token = answer;
    }

    /// What 3.0–3.4 answer to the secret as a raw body.
    pub fn set_raw_post(&self, answer: TgRawPost) {
        lock(&self.state).raw_post = answer;
    }

    /// What 3.0–3.4 answer a refresh in `expiration`.
    pub fn set_refresh_expiration(&self, answer: TgRefreshExpiration) {
        lock(&self.state).refresh_expiration = answer;
    }

    /// 4.x's JVM runs in time zone `zone` (`CEST`), `offset` east of UTC: Java's
    /// `Date.toString()` writes a 4.x `expiration` in the JVM's default zone, UTC
    /// unless the server was set up otherwise.
    pub fn set_jvm_time_zone(&self, zone: &str, offset: Duration) {
        let offset = chrono::Duration::from_std(offset).expect("an offset");
        lock(&self.state).jvm_zone = Some((zone.to_owned(), offset));
    }

    /// Refuses refreshes (3.x) with `Refresh token failed, Permission denied.` while set.
    pub fn refuse_refresh(&self, refuse: bool) {
        lock(&self.state).refuse_refresh = refuse;
    }

    /// The HTTP status of a 4.x `Authentication failed.` (not recorded; 401 by default).
    pub fn set_gsql_auth_status(&self, status: u16) {
        lock(&self.state).gsql_auth_status = status;
    }

    /// Every 3.x token is dropped, as by an administrator (or `DELETE /expiredtoken`).
    pub fn drop_all_tokens(&self) {
        lock(&self.state).tokens.clear();
    }

    /// The 3.x tokens the server holds and has not seen expire, with their expiry
    /// (unix seconds).
    pub fn tokens(&self) -> Vec<(String, i64)> {
        let now = unix_secs(self.clock.now());
        lock(&self.state)
            .tokens
            .iter()
            .filter(|t| t.expires > now)
            .map(|t| (t.token.clone(), t.expires))
            .collect()
    }

    /// Whether a 4.x JWT passes `/gsql/v1/tokens/check` now.
    pub fn jwt_valid(&self, jwt: &str) -> bool {
        let now = unix_secs(self.clock.now());
        let state = lock(&self.state);
        TigerGraph::jwt_ok(&state, jwt, now)
    }

    /// `METHOD path` of every request.
    pub fn log(&self) -> Vec<String> {
        lock(&self.state).log.clone()
    }

    /// The server's clock now.
    pub fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// The REST++ envelope of an error (vendors.md §1.3, with `version`).
    fn restpp_error(status: u16, code: Option<&str>, message: &str) -> http::Response<Vec<u8>> {
        let mut body = serde_json::json!({
            "version": {"edition": "enterprise", "api": "v2", "schema": 0},
            "error": true, "message": message,
        });
        if let Some(code) = code {
            body["code"] = code.into();
        }
        json_reply(status, &body)
    }

    fn endpoint_not_found(path: &str) -> http::Response<Vec<u8>> {
        // vendors.md §1.3: REST-1000, message as in pyTigerGraph PR #87; HTTP 404 from
        // REST++ (pyTigerGraph handles 404 and a 2xx REST-1000 alike, §1.3).
        TigerGraph::restpp_error(
            404,
            Some("REST-1000"),
            &format!("Endpoint is not found from url = {path}, please use GET /endpoints to list all valid endpoints."),
        )
    }

    fn bad_secret(answer: TgBadSecret) -> http::Response<Vec<u8>> {
        // vendors.md §1.3: no source documents a 3.x answer to a wrong secret; every
        // variant below is illustrative (codes from the return-codes page).
        let message = "Access Denied because the input secret is invalid.";
        match answer {
            TgBadSecret::Rest10016 => TigerGraph::restpp_error(200, Some("REST-10016"), message),
            TgBadSecret::Unauthorized => TigerGraph::restpp_error(401, Some("REST-10016"), message),
            TgBadSecret::Rest30000 => TigerGraph::restpp_error(200, Some("REST-30000"), "Invalid parameter: secret."),
            TgBadSecret::Rest2001 => TigerGraph::restpp_error(200, Some("REST-2001"), "Invalid payload."),
            TgBadSecret::ServerErrorHtml => reply(
                500,
                Some("text/html"),
                "<html><head><title>500 Internal Server Error</title></head><body><h1>Internal Server Error</h1></body></html>",
            ),
            TgBadSecret::BadRequestText => reply(400, Some("text/plain"), "Bad Request: invalid secret\n"),
        }
    }

    fn missing_token(answer: TgMissingToken) -> http::Response<Vec<u8>> {
        match answer {
            // vendors.md §1.3/§1.4: REST-3300 is what pyTigerGraph expects; the message
            // is the one seen in §1.4's capture, illustrative.
            TgMissingToken::Rest3300 => json_reply(
                200,
                &serde_json::json!({"code": "REST-3300", "error": true, "message": "The token doesn't exist."}),
            ),
            // vendors.md §1.2 B: "a message containing `doesn't exist` when dropping an
            // already-dropped token" (regression script); no code is recorded.
            TgMissingToken::DoesntExist => {
                TigerGraph::restpp_error(200, None, "Drop token failed, the token doesn't exist.")
            }
        }
    }

    fn mint(state: &mut TgState, user: &str, lifetime: i64, now: i64) -> (String, i64) {
        // vendors.md §1.2 B: plaintext tokens are 32 chars of [0-9a-z];
        // `expiration` = now + lifetime, unix seconds.
        let token = state.ids.lower_alnum(32);
        let expires = now.saturating_add(lifetime);
        state.tokens.push(TgToken {
            token: token.clone(),
            user: user.to_owned(),
            expires,
        });
        (token, expires)
    }

    /// The user a secret or HTTP Basic stands for.
    fn user_of(state: &TgState, secret: Option<&str>, basic: Option<&(String, String)>) -> Option<String> {
        match (secret, basic) {
            (Some(secret), _) => state.secrets.iter().find(|(s, _)| s == secret).map(|(_, u)| u.clone()),
            (None, Some(credentials)) => state.users.contains(credentials).then(|| credentials.0.clone()),
            (None, None) => None,
        }
    }

    /// Refresh of a 3.x token: `Ok(new expiry)` or the error answer.
    fn refresh_token(
        state: &mut TgState,
        user: &str,
        token: &str,
        lifetime: i64,
        now: i64,
    ) -> Result<i64, Box<http::Response<Vec<u8>>>> {
        let missing = state.missing_token;
        let Some(entry) = state.tokens.iter_mut().find(|t| t.token == token) else {
            return Err(Box::new(TigerGraph::missing_token(missing)));
        };
        if state.refuse_refresh || entry.user != user {
            // vendors.md §1.2 B: the regression script's message; no code recorded.
            return Err(Box::new(TigerGraph::restpp_error(
                200,
                None,
                "Refresh token failed, Permission denied.",
            )));
        }
        entry.expires = now.saturating_add(lifetime);
        Ok(entry.expires)
    }

    /// Drop of a 3.x token.
    fn drop_token(state: &mut TgState, user: &str, token: &str) -> Result<(), Box<http::Response<Vec<u8>>>> {
        let Some(position) = state.tokens.iter().position(|t| t.token == token) else {
            // vendors.md §6: on 3.x a second drop is an error.
            return Err(Box::new(TigerGraph::missing_token(state.missing_token)));
        };
        if state.tokens[position].user != user {
            // vendors.md §1.2 B: another user's token, without superuser.
            return Err(Box::new(TigerGraph::restpp_error(
                200,
                None,
                "Drop token failed, Permission denied.",
            )));
        }
        state.tokens.remove(position);
        Ok(())
    }

    fn lifetime_of(value: Option<&serde_json::Value>) -> Option<i64> {
        match value? {
            serde_json::Value::String(s) => s.parse().ok(),
            serde_json::Value::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    /// 3.0–3.4 (vendors.md §1.2 A): the query-string API.
    fn restpp_v3_0(state: &mut TgState, request: &reqwest::Request, now: i64) -> http::Response<Vec<u8>> {
        let query = query(request);
        let lifetime = find(&query, "lifetime").and_then(|l| l.parse().ok());
        let basic = basic_credentials(request);
        let ok = |message: &str, expiration: i64, token: &str| {
            json_reply(
                200,
                &serde_json::json!({"code": "REST-0000", "expiration": expiration, "error": false, "message": message, "token": token}),
            )
        };
        let method = request.method().as_str();
        if method == "POST" {
            // vendors.md §1.2 A: `POST /requesttoken?lifetime=N`, the raw secret as
            // the body (`curl -d`: one line).
            let secret = String::from_utf8_lossy(body(request)).trim().to_owned();
            let Some(user) = TigerGraph::user_of(state, Some(&secret), None) else {
                return TigerGraph::bad_secret(state.bad_secret);
            };
            let (token, expires) = TigerGraph::mint(state, &user, lifetime.unwrap_or(TG_DEFAULT_LIFETIME), now);
            return match state.raw_post {
                TgRawPost::Generated => ok("Generate new token successfully.", expires, &token),
                TgRawPost::DocSample => ok("Refresh token successfully.", 0, &token),
            };
        }
        let secret = find(&query, "secret");
        let user = match (&secret, method, find(&query, "graph")) {
            (Some(secret), _, _) => TigerGraph::user_of(state, Some(secret), None),
            // vendors.md §1.2 A: `GET /requesttoken?graph=G` with HTTP Basic.
            (None, "GET", Some(_)) => TigerGraph::user_of(state, None, basic.as_ref()),
            _ => None,
        };
        let Some(user) = user else {
            return TigerGraph::bad_secret(state.bad_secret);
        };
        let token = find(&query, "token").unwrap_or_default();
        match method {
            "GET" => {
                // vendors.md §1.2 A: the documented success.
                let (token, expires) = TigerGraph::mint(state, &user, lifetime.unwrap_or(TG_DEFAULT_LIFETIME), now);
                ok("Generate new token successfully.", expires, &token)
            }
            "PUT" => {
                let lifetime = lifetime.unwrap_or(TG_DEFAULT_LIFETIME);
                match TigerGraph::refresh_token(state, &user, &token, lifetime, now) {
                    // vendors.md §1.2 A "Known bug": the answer shows the lifetime
                    // instead of the expiration time; the token stays unchanged.
                    Ok(_) => match state.refresh_expiration {
                        TgRefreshExpiration::Lifetime => ok("Refresh token successfully.", lifetime, &token),
                        TgRefreshExpiration::Zero => ok("Refresh token successfully.", 0, &token),
                    },
                    Err(answer) => *answer,
                }
            }
            "DELETE" => match TigerGraph::drop_token(state, &user, &token) {
                // vendors.md §1.2 A: no sample response; 3.5's (§1.2 B) here.
                Ok(()) => ok("Drop token successfully.", -1, &token),
                Err(answer) => *answer,
            },
            _ => TigerGraph::endpoint_not_found("/requesttoken"),
        }
    }

    /// 3.5+ (vendors.md §1.2 B): the JSON-body API.
    fn restpp_v3_5(state: &mut TgState, request: &reqwest::Request, now: i64) -> http::Response<Vec<u8>> {
        let method = request.method().as_str();
        if method == "GET" {
            // vendors.md §1.2 B: "`GET /requesttoken` endpoint is dropped".
            return TigerGraph::endpoint_not_found("/requesttoken");
        }
        if query(request).iter().any(|(k, _)| k != "allowExisting") {
            // vendors.md §1.2 B: query-string parameters on 3.5+ (issue #61). The
            // status is not recorded (pyTigerGraph raised it from the JSON).
            return TigerGraph::restpp_error(
                200,
                Some("REST-1101"),
                "The request cannot be processed: expected a JSON payload, but a query string was given.\nPlease visit https://docs.tigergraph.com/tigergraph-server/current/api/built-in-endpoints#_authentication for more information.",
            );
        }
        let Ok(json) = serde_json::from_slice::<serde_json::Value>(body(request)) else {
            // vendors.md §1.3: REST-2001 invalid JSON payload (message illustrative).
            return TigerGraph::restpp_error(200, Some("REST-2001"), "Invalid JSON payload.");
        };
        let field = |name: &str| json.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        let secret = field("secret");
        let basic = basic_credentials(request);
        let graph = field("graph");
        let lifetime = TigerGraph::lifetime_of(json.get("lifetime")).unwrap_or(TG_DEFAULT_LIFETIME);
        // vendors.md §1.2 B: `secret` is required unless Basic user:pass **and** (for
        // create) `graph` are sent.
        let user = match (&secret, method, &graph) {
            (Some(secret), _, _) => TigerGraph::user_of(state, Some(secret), None),
            (None, "POST", None) => None,
            (None, _, _) => TigerGraph::user_of(state, None, basic.as_ref()),
        };
        let Some(user) = user else {
            return TigerGraph::bad_secret(state.bad_secret);
        };
        let token = field("token").unwrap_or_default();
        match method {
            "POST" => {
                let (token, expires) = TigerGraph::mint(state, &user, lifetime, now);
                let message = "Generate new token successfully.\nWarning: Tigergraph Support cannot restore access to secrets/tokens for security reasons. Please save your secret/token and keep it safe and accessible.";
                let body = if secret.is_some() {
                    serde_json::json!({"code": "REST-0000", "expiration": expires, "error": false, "message": message, "token": token})
                } else {
                    // vendors.md §1.2 B: "With user/pass the token is nested".
                    serde_json::json!({"code": "REST-0000", "expiration": expires, "error": false, "message": message, "results": {"token": token}})
                };
                json_reply(200, &body)
            }
            "PUT" => match TigerGraph::refresh_token(state, &user, &token, lifetime, now) {
                // vendors.md §1.2 B: absolute unix seconds.
                Ok(expires) => json_reply(
                    200,
                    &serde_json::json!({"code": "REST-0000", "expiration": expires, "error": false, "message": "Refresh token successfully.", "token": token}),
                ),
                Err(answer) => *answer,
            },
            "DELETE" => match TigerGraph::drop_token(state, &user, &token) {
                Ok(()) => json_reply(
                    200,
                    &serde_json::json!({"code": "REST-0000", "expiration": -1, "error": false, "message": "Drop token successfully.", "token": token}),
                ),
                Err(answer) => *answer,
            },
            _ => TigerGraph::endpoint_not_found("/requesttoken"),
        }
    }

    fn jwt_signature(header_and_payload: &str) -> String {
        // A fake HS256: deterministic, so that two JWTs with the same claims are
        // byte-identical (vendors.md §6).
        let mut ids = Ids(0x5157);
        for byte in header_and_payload.bytes() {
            ids.0 = ids.0.rotate_left(5) ^ u64::from(byte);
            ids.next();
        }
        b64url((0..4).flat_map(|_| ids.next().to_be_bytes()).collect::<Vec<u8>>())
    }

    fn jwt_ok(state: &TgState, jwt: &str, now: i64) -> bool {
        let mut parts = jwt.rsplitn(2, '.');
        let (Some(signature), Some(signed)) = (parts.next(), parts.next()) else {
            return false;
        };
        let exp = signed
            .split('.')
            .nth(1)
            .and_then(|p| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p).ok())
            .and_then(|p| serde_json::from_slice::<serde_json::Value>(&p).ok())
            .and_then(|claims| claims.get("exp").and_then(|e| e.as_i64()));
        TigerGraph::jwt_signature(signed) == signature
            && exp.is_some_and(|exp| exp > now)
            && !state.blocked.iter().any(|b| b == jwt)
    }

    /// 4.x (vendors.md §1.2 C): the GSQL server's JWT endpoints.
    fn gsql(state: &mut TgState, request: &reqwest::Request, now: SystemTime) -> http::Response<Vec<u8>> {
        let path = request.url().path();
        let json: serde_json::Value = serde_json::from_slice(body(request)).unwrap_or_default();
        let field = |name: &str| json.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        let user = TigerGraph::user_of(state, field("secret").as_deref(), basic_credentials(request).as_ref());
        let method = request.method().as_str();
        let auth_failed = |state: &TgState| {
            // vendors.md §1.3: "GSQL (4.x) auth failure comes without a code field".
            json_reply(
                state.gsql_auth_status,
                &serde_json::json!({"error": true, "message": "Authentication failed."}),
            )
        };
        match (method, path) {
            ("POST", "/gsql/v1/tokens") => {
                let Some(user) = user else {
                    return auth_failed(state);
                };
                // vendors.md §1.2 C: lifetime in MILLISECONDS, 7 days by default.
                let lifetime = TigerGraph::lifetime_of(json.get("lifetime")).unwrap_or(TG_JWT_DEFAULT_LIFETIME_MS);
                let iat = unix_secs(now);
                let exp = unix_millis(now).saturating_add(lifetime) / 1000;
                // vendors.md §1.2 C / §6: claims sub, iat, exp, iss, graph; no jti.
                let mut claims = format!(
                    r#"{{"sub":{},"iat":{iat},"exp":{exp},"iss":"TigerGraph""#,
                    serde_json::to_string(&user).expect("string")
                );
                if let Some(graph) = field("graph") {
                    claims.push_str(&format!(
                        r#","graph":{}"#,
                        serde_json::to_string(&graph).expect("string")
                    ));
                }
                claims.push('}');
                let signed = format!("{}.{}", b64url(r#"{"alg":"HS256"}"#), b64url(claims));
                let jwt = format!("{signed}.{}", TigerGraph::jwt_signature(&signed));
                state.jwts.push((jwt.clone(), user));
                let expiration = UNIX_EPOCH + Duration::from_secs(u64::try_from(exp).unwrap_or(0));
                // vendors.md §1.2 C: `expiration` is Java's `Date.toString()`; no `code`.
                json_reply(
                    200,
                    &serde_json::json!({"expiration": match &state.jvm_zone {
                            Some((zone, offset)) => java_date_in(expiration, zone, *offset),
                            None => java_date(expiration),
                        }, "error": false,
                        "message": "Generate new JWT token successfully.", "token": jwt}),
                )
            }
            ("DELETE", "/gsql/v1/tokens") => {
                let Some(user) = user else {
                    return auth_failed(state);
                };
                // vendors.md §1.2 C: a block list; `{"tokens": "t1,t2"}` or `?clear=true`.
                // §6: dropping the same token twice succeeds.
                if find(&query(request), "clear").as_deref() == Some("true") {
                    let mine: Vec<String> = state
                        .jwts
                        .iter()
                        .filter(|(_, u)| *u == user)
                        .map(|(j, _)| j.clone())
                        .collect();
                    state.blocked.extend(mine);
                } else {
                    let tokens = field("tokens").unwrap_or_default();
                    state
                        .blocked
                        .extend(tokens.split(',').filter(|t| !t.is_empty()).map(str::to_owned));
                }
                json_reply(
                    200,
                    &serde_json::json!({"error": false, "message": "Successfully dropped the specified JWT tokens"}),
                )
            }
            ("POST", "/gsql/v1/tokens/check") => {
                let token = field("token").unwrap_or_default();
                if TigerGraph::jwt_ok(state, &token, unix_secs(now)) {
                    // vendors.md §1.2 C: the documented success.
                    json_reply(
                        200,
                        &serde_json::json!({"error": false, "message": format!("The token {token} verification succeed.")}),
                    )
                } else {
                    // The failure's text is not recorded: illustrative.
                    json_reply(
                        200,
                        &serde_json::json!({"error": true, "message": "The token verification failed."}),
                    )
                }
            }
            // vendors.md §1.2 C: "There is no refresh endpoint in 4.x"; what the GSQL
            // server answers to an unknown route is not recorded: nginx-style 404.
            _ => reply(404, Some("text/html"), NGINX_404),
        }
    }
}

impl Fake for TigerGraph {
    fn answer(&self, request: &reqwest::Request) -> http::Response<Vec<u8>> {
        let now = self.clock.now();
        dated(self.answer_at(request, now), now)
    }
}

impl TigerGraph {
    fn answer_at(&self, request: &reqwest::Request, now: SystemTime) -> http::Response<Vec<u8>> {
        let mut state = lock(&self.state);
        let state = &mut *state;
        state.log.push(line(request));
        let secs = unix_secs(now);
        // The server forgets what has expired.
        state.tokens.retain(|t| t.expires > secs);
        let path = request.url().path().to_owned();
        let restpp = path.strip_prefix("/restpp").unwrap_or(&path).to_owned();
        if path.starts_with("/gsql/") {
            if !state.restpp_auth || state.server != TgServer::V4 {
                // vendors.md §6: 3.x behind nginx has no `/gsql/v1/tokens` route; nginx
                // answers its own HTML 404.
                return reply(404, Some("text/html"), NGINX_404);
            }
            return TigerGraph::gsql(state, request, now);
        }
        if restpp != "/requesttoken" || !state.restpp_auth {
            // vendors.md §1.3: REST++ says REST-1000 for an endpoint it lacks (also
            // `/requesttoken` when its authentication is off, §1.4).
            return TigerGraph::endpoint_not_found(&restpp);
        }
        match state.server {
            TgServer::V3_0 => TigerGraph::restpp_v3_0(state, request, secs),
            TgServer::V3_5 | TgServer::V4 => TigerGraph::restpp_v3_5(state, request, secs),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Fastly
// ---------------------------------------------------------------------------------------

/// What reading a token back with `GET /tokens/self` gives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FastlySelfRead {
    /// The token.
    #[default]
    Honest,
    /// 401 `Missing or expired token.`, as for a token the API does not know (yet).
    Refused,
    /// The metadata of another token (a different id).
    OtherId,
}

/// Faults of one Fastly token, for rotation tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FastlyFaults {
    /// What `GET /tokens/self` with this token gives.
    pub self_read: FastlySelfRead,
    /// Revoking this token fails with 400 `Token revocation error.`.
    pub revoke_fails: bool,
}

/// A token an account starts with.
#[derive(Clone, Debug, Default)]
pub struct FastlySeed {
    /// Its name.
    pub name: Option<String>,
    /// Its scopes, space-separated (`global` when `None`).
    pub scope: Option<String>,
    /// The services it is limited to.
    pub services: Vec<String>,
    /// How long ago it was created.
    pub created_ago: Duration,
    /// How long it has left (never expires when `None`).
    pub expires_in: Option<Duration>,
}

/// A token a [`Fastly`] account holds.
#[derive(Clone, Debug)]
pub struct FastlyToken {
    /// The secret (`Fastly-Key`).
    pub key: String,
    /// Its id (22 alphanumeric characters).
    pub id: String,
    /// Its name.
    pub name: Option<String>,
    /// Its scopes, space-separated.
    pub scope: String,
    /// The services it is limited to.
    pub services: Vec<String>,
    /// When it was created.
    pub created_at: SystemTime,
    /// When it expires.
    pub expires_at: Option<SystemTime>,
    /// When it was last used.
    pub last_used_at: Option<SystemTime>,
    /// The user agent that created it.
    pub user_agent: Option<String>,
    /// Its faults.
    pub faults: FastlyFaults,
    /// Whether it was revoked.
    pub revoked: bool,
}

struct FastlyState {
    username: String,
    password: String,
    otp: Option<String>,
    key_alone_creates: bool,
    user_id: String,
    customer_id: String,
    tokens: Vec<FastlyToken>,
    fail_create: bool,
    next_faults: FastlyFaults,
    remaining: u32,
    log: Vec<String>,
    ids: Ids,
}

/// One Fastly account (vendors.md §4.2–4.4, §6): tokens are created with the
/// account's login (Basic or form fields; plus `Fastly-OTP` on 2FA accounts), used as
/// `Fastly-Key`, expire, and are revoked with 204 and an empty body. Non-GET answers
/// carry the rate-limit headers.
pub struct Fastly {
    clock: FakeClock,
    state: Mutex<FastlyState>,
}

impl Fastly {
    /// An account whose login is `username`/`password`, without 2FA.
    pub fn new(username: &str, password: &str) -> Self {
        let mut ids = Ids(0xFA57);
        Fastly {
            clock: FakeClock::new(),
            state: Mutex::new(FastlyState {
                username: username.to_owned(),
                password: password.to_owned(),
                otp: None,
                key_alone_creates: false,
                user_id: ids.alnum(22),
                customer_id: ids.alnum(22),
                tokens: Vec::new(),
                fail_create: false,
                next_faults: FastlyFaults::default(),
                // vendors.md §4.2: 1,000 non-read requests per hour.
                remaining: 1000,
                log: Vec::new(),
                ids,
            }),
        }
    }

    /// The account has 2FA: creating a token takes `Fastly-OTP: <code>`.
    pub fn otp(self, code: &str) -> Self {
        lock(&self.state).otp = Some(code.to_owned());
        self
    }

    /// A valid `Fastly-Key` alone may create tokens (vendors.md §6: the generated
    /// clients list it; no recording shows it).
    pub fn key_alone_creates(self) -> Self {
        lock(&self.state).key_alone_creates = true;
        self
    }

    /// Adds a token to the account; returns it.
    pub fn seed(&self, seed: FastlySeed) -> FastlyToken {
        let now = self.clock.now();
        let mut state = lock(&self.state);
        let token = FastlyToken {
            key: state.ids.alnum(32),
            id: state.ids.alnum(22),
            name: seed.name,
            scope: seed.scope.unwrap_or_else(|| "global".to_owned()),
            services: seed.services,
            created_at: now - seed.created_ago,
            expires_at: seed.expires_in.map(|left| now + left),
            last_used_at: None,
            user_agent: None,
            faults: FastlyFaults::default(),
            revoked: false,
        };
        state.tokens.push(token.clone());
        token
    }

    /// Creating tokens fails (400 `invalid_request`) while set.
    pub fn fail_create(&self, fail: bool) {
        lock(&self.state).fail_create = fail;
    }

    /// The faults of every token created from now on.
    pub fn faults_for_new_tokens(&self, faults: FastlyFaults) {
        lock(&self.state).next_faults = faults;
    }

    /// The faults of the token whose secret is `key`.
    pub fn set_faults(&self, key: &str, faults: FastlyFaults) {
        if let Some(token) = lock(&self.state).tokens.iter_mut().find(|t| t.key == key) {
            token.faults = faults;
        }
    }

    /// Non-read requests left this hour (429 at zero).
    pub fn set_rate_limit_remaining(&self, remaining: u32) {
        lock(&self.state).remaining = remaining;
    }

    /// Every token, revoked ones included.
    pub fn tokens(&self) -> Vec<FastlyToken> {
        lock(&self.state).tokens.clone()
    }

    /// The tokens not revoked.
    pub fn live(&self) -> Vec<FastlyToken> {
        lock(&self.state)
            .tokens
            .iter()
            .filter(|t| !t.revoked)
            .cloned()
            .collect()
    }

    /// `METHOD path` of every request.
    pub fn log(&self) -> Vec<String> {
        lock(&self.state).log.clone()
    }

    /// The server's clock now.
    pub fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// A `TokenResponse` (vendors.md §4.4), `null` where unset (§6).
    fn token_json(state: &FastlyState, token: &FastlyToken) -> serde_json::Value {
        let time = |t: Option<SystemTime>| t.map(rfc3339).map_or(serde_json::Value::Null, Into::into);
        serde_json::json!({
            "id": token.id, "user_id": state.user_id, "customer_id": state.customer_id,
            "name": token.name, "scope": token.scope, "services": token.services,
            "created_at": rfc3339(token.created_at), "updated_at": null, "deleted_at": null,
            "last_used_at": time(token.last_used_at), "expires_at": time(token.expires_at),
            // vendors.md §6: `ip` is null in the recordings (the fake cannot see one).
            "ip": null, "user_agent": token.user_agent,
        })
    }

    fn msg(status: u16, msg: &str) -> http::Response<Vec<u8>> {
        // vendors.md §4.4: GenericTokenError = {msg}.
        json_reply(status, &serde_json::json!({"msg": msg}))
    }

    fn code(code: &str) -> http::Response<Vec<u8>> {
        // vendors.md §4.4: InlineResponse400 = {code}.
        json_reply(400, &serde_json::json!({"code": code}))
    }

    fn answer_at(
        &self,
        request: &reqwest::Request,
        state: &mut FastlyState,
        now: SystemTime,
    ) -> http::Response<Vec<u8>> {
        let method = request.method().as_str();
        let path = request.url().path().to_owned();
        // The token sent as `Fastly-Key`, if it is live: vendors.md §4.3 "expired tokens
        // get HTTP 401".
        let key = header(request, "fastly-key").unwrap_or_default();
        let caller = state
            .tokens
            .iter()
            .position(|t| !key.is_empty() && t.key == key && !t.revoked && t.expires_at.is_none_or(|at| at > now));
        if let Some(i) = caller {
            state.tokens[i].last_used_at = Some(now);
        }
        // vendors.md §4.3: 401 "Missing or expired token."
        let missing = || Fastly::msg(401, "Missing or expired token.");
        if method == "POST" && path == "/tokens" {
            return self.create(request, state, caller, now);
        }
        let Some(caller) = caller else {
            return missing();
        };
        let revoke = |state: &mut FastlyState, i: usize| {
            if state.tokens[i].faults.revoke_fails {
                // vendors.md §4.3: 400 "Token revocation error."
                return Fastly::msg(400, "Token revocation error.");
            }
            state.tokens[i].revoked = true;
            // vendors.md §4.3: 204, empty body.
            reply(204, None, Vec::new())
        };
        let by_id = |state: &FastlyState, id: &str| state.tokens.iter().position(|t| t.id == id && !t.revoked);
        match (method, path.as_str()) {
            ("GET", "/tokens/self") => match state.tokens[caller].faults.self_read {
                FastlySelfRead::Honest => json_reply(200, &Fastly::token_json(state, &state.tokens[caller])),
                FastlySelfRead::Refused => missing(),
                FastlySelfRead::OtherId => {
                    let mut other = Fastly::token_json(state, &state.tokens[caller]);
                    other["id"] = state.ids.alnum(22).into();
                    json_reply(200, &other)
                }
            },
            ("DELETE", "/tokens/self") => revoke(state, caller),
            ("GET", "/tokens") => {
                let list: Vec<serde_json::Value> = state
                    .tokens
                    .iter()
                    .filter(|t| !t.revoked)
                    .map(|t| Fastly::token_json(state, t))
                    .collect();
                json_reply(200, &serde_json::Value::Array(list))
            }
            ("DELETE", "/tokens") => {
                // vendors.md §4.3: bulk revoke, JSON:API identifiers; 204.
                let json: serde_json::Value = serde_json::from_slice(body(request)).unwrap_or_default();
                let ids: Vec<String> = json["data"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|d| d["id"].as_str().map(str::to_owned))
                    .collect();
                for id in ids {
                    if let Some(i) = by_id(state, &id) {
                        state.tokens[i].revoked = true;
                    }
                }
                reply(204, None, Vec::new())
            }
            (_, p) if p.starts_with("/customer/") && p.ends_with("/tokens") && method == "GET" => {
                if p != format!("/customer/{}/tokens", state.customer_id) {
                    // vendors.md §4.3 gives only 200 for this call; a foreign customer's
                    // answer is not recorded (the spec says 403).
                    return Fastly::msg(403, "Invalid token.");
                }
                let list: Vec<serde_json::Value> = state
                    .tokens
                    .iter()
                    .filter(|t| !t.revoked)
                    .map(|t| Fastly::token_json(state, t))
                    .collect();
                json_reply(200, &serde_json::Value::Array(list))
            }
            (_, p) if p.starts_with("/tokens/") => {
                let id = p.trim_start_matches("/tokens/");
                let Some(i) = by_id(state, id) else {
                    // vendors.md §4.3: 404 "Token lookup failed."
                    return Fastly::msg(404, "Token lookup failed.");
                };
                match method {
                    "GET" => json_reply(200, &Fastly::token_json(state, &state.tokens[i])),
                    "DELETE" => revoke(state, i),
                    _ => Fastly::msg(404, "Token lookup failed."),
                }
            }
            _ => Fastly::msg(404, "Token lookup failed."),
        }
    }

    fn create(
        &self,
        request: &reqwest::Request,
        state: &mut FastlyState,
        caller: Option<usize>,
        now: SystemTime,
    ) -> http::Response<Vec<u8>> {
        if state.fail_create {
            return Fastly::code("invalid_request");
        }
        let form = form(request);
        // vendors.md §4.3 / §6: the login as HTTP Basic or the form's username and
        // password. fastly-py sends an empty `Basic Og==` with a key (§4.5): no login.
        let login = basic_credentials(request)
            .filter(|(user, _)| !user.is_empty())
            .or_else(|| find(&form, "username").zip(find(&form, "password")));
        match login {
            Some((user, password)) => {
                if user != state.username || password != state.password {
                    // vendors.md §4.4: InlineResponse400 `invalid_grant` (which code a
                    // wrong password gets is not recorded; this is OAuth's).
                    return Fastly::code("invalid_grant");
                }
                // vendors.md §4.2/§6: `Fastly-OTP` on 2FA accounts; §4.4 `2fa.verify`.
                if let Some(expected) = &state.otp
                    && header(request, "fastly-otp").as_deref() != Some(expected.as_str())
                {
                    return Fastly::code("2fa.verify");
                }
            }
            None if state.key_alone_creates && caller.is_some() => {}
            // vendors.md §6: "no recording shows an API key alone creating one"; the
            // refusal's body is not recorded either (InlineResponse400's code here).
            None if state.key_alone_creates => return Fastly::msg(401, "Missing or expired token."),
            None => return Fastly::code("invalid_grant"),
        }
        let expires_at = match find(&form, "expires_at") {
            None => None,
            Some(text) => match chrono::DateTime::parse_from_rfc3339(&text) {
                Ok(at) => Some(SystemTime::from(at.with_timezone(&chrono::Utc))),
                // vendors.md §4.3: 422 with this message.
                Err(_) => {
                    return Fastly::msg(
                        422,
                        "The format of the date and time supplied to the `expires_at` parameter is invalid.",
                    );
                }
            },
        };
        let token = FastlyToken {
            key: state.ids.alnum(32),
            id: state.ids.alnum(22),
            name: find(&form, "name"),
            // vendors.md §4.4: "if omitted the server will use the default value of global".
            scope: find(&form, "scope").unwrap_or_else(|| "global".to_owned()),
            // vendors.md §4.3: `services[]=<id>`, repeated with brackets.
            services: form
                .iter()
                .filter(|(k, _)| k == "services[]")
                .map(|(_, v)| v.clone())
                .collect(),
            created_at: now,
            expires_at,
            last_used_at: None,
            user_agent: header(request, "user-agent"),
            faults: state.next_faults,
            revoked: false,
        };
        state.tokens.push(token.clone());
        // vendors.md §4.4: TokenCreatedResponse = TokenResponse + access_token.
        let mut created = Fastly::token_json(state, &token);
        created["access_token"] = token.key.into();
        json_reply(200, &created)
    }
}

impl Fake for Fastly {
    fn answer(&self, request: &reqwest::Request) -> http::Response<Vec<u8>> {
        let now = self.clock.now();
        let mut state = lock(&self.state);
        state.log.push(line(request));
        let read = matches!(request.method().as_str(), "GET" | "HEAD");
        if !read && state.remaining == 0 {
            // vendors.md §4.2: over the limit, 429 (its body is not recorded).
            let mut response = Fastly::msg(429, "Too many requests");
            set_header(&mut response, "fastly-ratelimit-remaining", "0");
            let reset = (unix_secs(now) / 3600 + 1) * 3600;
            set_header(&mut response, "fastly-ratelimit-reset", &reset.to_string());
            return dated(response, now);
        }
        let mut response = self.answer_at(request, &mut state, now);
        if !read {
            // vendors.md §4.2 / §6: rate-limit headers on non-GET answers only.
            state.remaining = state.remaining.saturating_sub(1);
            let reset = (unix_secs(now) / 3600 + 1) * 3600;
            set_header(
                &mut response,
                "fastly-ratelimit-remaining",
                &state.remaining.to_string(),
            );
            set_header(&mut response, "fastly-ratelimit-reset", &reset.to_string());
        }
        dated(response, now)
    }
}

// ---------------------------------------------------------------------------------------
// Insight.io
// ---------------------------------------------------------------------------------------

/// An API token an [`Insight`] server holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InsightToken {
    /// The token (256 lower-case hex characters).
    pub token: String,
    /// Its user, `<provider>@<user>`.
    pub uid: String,
    /// Unix milliseconds of its creation.
    pub created: i64,
    /// Unix milliseconds of its last use.
    pub last_used: i64,
    /// Whether a list with it fails (the confirmation switch).
    pub unconfirmable: bool,
}

struct InsightState {
    sessions: Vec<(String, String)>,
    users: Vec<(String, String, String)>,
    tokens: Vec<InsightToken>,
    logins: Vec<(String, String)>,
    fail_create: bool,
    fail_confirm: bool,
    fail_revoke: bool,
    log: Vec<String>,
    ids: Ids,
}

/// An Insight.io server (vendors.md §5.2–5.3): a logged-in session (its cookie)
/// creates tokens of 256 hex characters that work until revoked; any of the user's
/// tokens lists them all (`uid`, `apiToken`, `created`, `lastUsed` in ms); revoking
/// always answers 200. Both the enterprise paths (`/api/createApiToken`, …) and the
/// public ones (`/api/token`) are served.
pub struct Insight {
    clock: FakeClock,
    state: Mutex<InsightState>,
}

impl Default for Insight {
    fn default() -> Self {
        Insight::new()
    }
}

impl Insight {
    /// A server with no session and no user yet.
    pub fn new() -> Self {
        Insight {
            clock: FakeClock::new(),
            state: Mutex::new(InsightState {
                sessions: Vec::new(),
                users: Vec::new(),
                tokens: Vec::new(),
                logins: Vec::new(),
                fail_create: false,
                fail_confirm: false,
                fail_revoke: false,
                log: Vec::new(),
                ids: Ids(0x1A51),
            }),
        }
    }

    /// A logged-in browser session: requests whose `Cookie` holds `cookie` (`NAME=value`)
    /// are `uid`'s.
    pub fn session(self, cookie: &str, uid: &str) -> Self {
        lock(&self.state).sessions.push((cookie.to_owned(), uid.to_owned()));
        self
    }

    /// A user for `/api/authenticate/userpass` and `/ldap`.
    pub fn user(self, username: &str, password: &str) -> Self {
        let uid = format!("ldap@{username}");
        lock(&self.state)
            .users
            .push((username.to_owned(), password.to_owned(), uid));
        self
    }

    /// A token `uid` already holds (created `ago` before now); returns it.
    pub fn seed(&self, uid: &str, ago: Duration) -> String {
        let created = unix_millis(self.clock.now() - ago);
        let mut state = lock(&self.state);
        let token = state.ids.hex(256);
        state.tokens.push(InsightToken {
            token: token.clone(),
            uid: uid.to_owned(),
            created,
            last_used: created,
            unconfirmable: false,
        });
        token
    }

    /// Creating tokens fails (401, as for a session that has ended) while set.
    pub fn fail_create(&self, fail: bool) {
        lock(&self.state).fail_create = fail;
    }

    /// Tokens created while set are refused (401) when they list tokens: the
    /// confirmation of a rotation fails.
    pub fn fail_confirm(&self, fail: bool) {
        lock(&self.state).fail_confirm = fail;
    }

    /// Revoking fails (500) while set.
    pub fn fail_revoke(&self, fail: bool) {
        lock(&self.state).fail_revoke = fail;
    }

    /// The live tokens.
    pub fn tokens(&self) -> Vec<InsightToken> {
        lock(&self.state).tokens.clone()
    }

    /// `METHOD path token` of every request (`-` without `X-Auth-Token`).
    pub fn log(&self) -> Vec<String> {
        lock(&self.state).log.clone()
    }

    fn credentials_required() -> http::Response<Vec<u8>> {
        // vendors.md §5.2/§5.3: 401 `{"error":"Credentials required"}`.
        json_reply(401, &serde_json::json!({"error": "Credentials required"}))
    }

    fn create(state: &mut InsightState, request: &reqwest::Request, now: i64) -> http::Response<Vec<u8>> {
        let cookie = header(request, "cookie").unwrap_or_default();
        let uid = state
            .sessions
            .iter()
            .find(|(c, _)| cookie.split(';').any(|pair| pair.trim() == c))
            .map(|(_, uid)| uid.clone());
        let (Some(uid), false) = (uid, state.fail_create) else {
            return Insight::credentials_required();
        };
        // vendors.md §5.2: 256 lower-case hex characters; created = lastUsed at first.
        let token = state.ids.hex(256);
        state.tokens.push(InsightToken {
            token: token.clone(),
            uid,
            created: now,
            last_used: now,
            unconfirmable: state.fail_confirm,
        });
        // vendors.md §5.2/§5.3: `{"token": "<256 hex>"}`, JSON.
        json_reply(200, &serde_json::json!({"token": token}))
    }
}

impl Fake for Insight {
    fn answer(&self, request: &reqwest::Request) -> http::Response<Vec<u8>> {
        let now = self.clock.now();
        dated(self.answer_at(request, unix_millis(now)), now)
    }
}

impl Insight {
    fn answer_at(&self, request: &reqwest::Request, now: i64) -> http::Response<Vec<u8>> {
        let mut state = lock(&self.state);
        let state = &mut *state;
        // vendors.md §5.3: `X-Auth-Token`, or the query parameter `?token=`.
        let token = header(request, "x-auth-token").or_else(|| find(&query(request), "token"));
        state.log.push(format!(
            "{} {}",
            line(request),
            header(request, "x-auth-token").as_deref().unwrap_or("-")
        ));
        let method = request.method().as_str();
        let path = request.url().path().to_owned();
        match (method, path.as_str()) {
            // vendors.md §5.3 `POST /api/token`; §5.2 `GET /api/createApiToken`.
            ("POST", "/api/token") | ("GET", "/api/createApiToken") => Insight::create(state, request, now),
            // vendors.md §5.3 `GET /api/token`; §5.2 `GET /api/getApiTokens`.
            ("GET", "/api/token") | ("GET", "/api/getApiTokens") => {
                let caller = token.as_ref().and_then(|t| {
                    if let Some(entry) = state.tokens.iter_mut().find(|e| e.token == *t) {
                        entry.last_used = now;
                        return Some((entry.uid.clone(), entry.unconfirmable));
                    }
                    state
                        .logins
                        .iter()
                        .find(|(l, _)| l == t)
                        .map(|(_, uid)| (uid.clone(), false))
                });
                let Some((uid, false)) = caller else {
                    return Insight::credentials_required();
                };
                // vendors.md §5.2: `[{"uid","apiToken","created","lastUsed"}]`, ms.
                let list: Vec<serde_json::Value> = state
                    .tokens
                    .iter()
                    .filter(|t| t.uid == uid)
                    .map(|t| serde_json::json!({"uid": t.uid, "apiToken": t.token, "created": t.created, "lastUsed": t.last_used}))
                    .collect();
                json_reply(200, &serde_json::Value::Array(list))
            }
            // vendors.md §5.3 `DELETE /api/token`; §5.2 `GET /api/revokeApiToken`.
            ("DELETE", "/api/token") | ("GET", "/api/revokeApiToken") => {
                if state.fail_revoke {
                    // Beyond the docs ("always 200"): a server error, as Play's page.
                    return reply(
                        500,
                        Some("text/html; charset=utf-8"),
                        "<!DOCTYPE html><html><head><title>Internal Server Error</title></head><body><h1>Internal Server Error</h1></body></html>",
                    );
                }
                if let Some(token) = token {
                    state.tokens.retain(|t| t.token != token);
                }
                // vendors.md §5.2: "always get an HTTP/1.1 200 OK"; the body is
                // unspecified: empty.
                reply(200, None, Vec::new())
            }
            ("POST", "/api/authenticate/userpass") | ("POST", "/api/authenticate/ldap") => {
                let form = form(request);
                let username = find(&form, "username").unwrap_or_default();
                let password = find(&form, "password").unwrap_or_default();
                let uid = state
                    .users
                    .iter()
                    .find(|(u, p, _)| *u == username && *p == password)
                    .map(|(_, _, uid)| uid.clone());
                let Some(uid) = uid else {
                    return Insight::credentials_required();
                };
                let token = state.ids.hex(256);
                state.logins.push((token.clone(), uid));
                // vendors.md §5.3: `expiresOn` is Java's Long.MAX_VALUE as a date.
                json_reply(
                    200,
                    &serde_json::json!({"token": token, "expiresOn": "292278994-08-17T07:12:55.807Z"}),
                )
            }
            // No route: what the server answers is not recorded (Play's 404 page).
            _ => reply(
                404,
                Some("text/html; charset=utf-8"),
                "<!DOCTYPE html><html><head><title>Action Not Found</title></head><body><h1>Action Not Found</h1></body></html>",
            ),
        }
    }
}
