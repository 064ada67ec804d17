//! Lifecycle types at the bad moments, through their public API only, on tokio's paused
//! clock: failing and hanging endpoints, callers that give up, tokens expired on
//! arrival, clock skew, concurrent expiry, rotations failing at each step, detection
//! whatever a server answers. Each server here answers as `shared/vendors.md` records
//! (sections cited); where the real answer is unknown, every plausible one is tried.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use api_tokens_tests::{dated_reply as reply, jwt_between as jwt};

const MS: Duration = Duration::from_millis(1);

fn unix(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH).expect("after 1970").as_secs()
}

/// A time `offset` seconds from now (negative: in the past).
fn shifted(offset: i64) -> SystemTime {
    let now = SystemTime::now();
    if offset >= 0 {
        now + Duration::from_secs(offset as u64)
    } else {
        now - Duration::from_secs(offset.unsigned_abs())
    }
}

// ---------------------------------------------------------------------------------
// ICA (vendors.md §2.2): `POST /api/tokens` answers 200 `{"token": <JWT>}` as
// `application/vnd.illumina.v3+json`, failures as `application/problem+json`.

/// What the ICA server does with each create.
#[derive(Clone, Copy)]
enum Ica {
    /// A JWT living this long, its times by a server clock `skew` seconds off ours.
    Mints { life: Duration, skew: i64 },
    /// A JWT issued 90 s ago and expired `ago` seconds ago.
    Expired { ago: u64 },
    /// 503 problem+json.
    Unavailable,
    /// No answer, ever.
    Hangs,
}

struct IcaServer {
    creates: AtomicUsize,
    mode: Mutex<Ica>,
    delay: Duration,
}

impl IcaServer {
    fn new(mode: Ica, delay: Duration) -> Arc<Self> {
        Arc::new(IcaServer {
            creates: AtomicUsize::new(0),
            mode: Mutex::new(mode),
            delay,
        })
    }

    fn creates(&self) -> usize {
        self.creates.load(Ordering::SeqCst)
    }

    fn source(self: &Arc<Self>) -> ica_tokens::JwtSource {
        let server = self.clone();
        let client = ica_tokens::Client::builder()
            .api_key("ica-api-key-123")
            .respond_with_async(move |_request| {
                let server = server.clone();
                async move {
                    let n = server.creates.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(server.delay).await;
                    let mode = *server.mode.lock().expect("lock");
                    let v3 = "application/vnd.illumina.v3+json";
                    match mode {
                        Ica::Mints { life, skew } => {
                            let server_now = shifted(skew);
                            let token = jwt(server_now, server_now + life, n);
                            reply(200, v3, format!(r#"{{"token": "{token}"}}"#), server_now)
                        }
                        Ica::Expired { ago } => {
                            let now = SystemTime::now();
                            let token = jwt(shifted(-90), shifted(-(ago as i64)), n);
                            reply(200, v3, format!(r#"{{"token": "{token}"}}"#), now)
                        }
                        Ica::Unavailable => reply(
                            503,
                            "application/problem+json",
                            r#"{"type":"about:blank","title":"Service Unavailable","status":503}"#,
                            SystemTime::now(),
                        ),
                        Ica::Hangs => std::future::pending().await,
                    }
                }
            })
            .build()
            .expect("client");
        ica_tokens::JwtSource::new(client)
    }
}

/// `n` concurrent callers of `source.token()`, the `i`-th starting `stagger * i` later.
async fn concurrently<S: api_tokens_runtime::TokenSource + 'static>(
    source: &Arc<S>,
    n: usize,
    stagger: Duration,
) -> Vec<Result<api_tokens_runtime::Token, api_tokens_runtime::Error>> {
    let mut set = tokio::task::JoinSet::new();
    for i in 0..n {
        let source = source.clone();
        set.spawn(async move {
            tokio::time::sleep(stagger * i as u32).await;
            source.token().await
        });
    }
    set.join_all().await
}

#[tokio::test(start_paused = true)]
async fn a_failing_create_is_one_request_for_all_waiters_then_backed_off() {
    // Issue 16, input 1.
    let server = IcaServer::new(Ica::Unavailable, 200 * MS);
    let source = Arc::new(server.source());
    let started = tokio::time::Instant::now();
    for outcome in concurrently(&source, 10, Duration::ZERO).await {
        let error = outcome.expect_err("unavailable");
        assert_eq!(error.http_status().map(|s| s.as_u16()), Some(503), "{error}");
    }
    assert_eq!(server.creates(), 1);
    assert_eq!(
        started.elapsed(),
        200 * MS,
        "the last caller waited for one request only"
    );
    for _ in 0..5 {
        assert!(source.token().await.is_err());
    }
    assert_eq!(server.creates(), 1, "calls inside the backoff send nothing");
    // The backoff ends; ICA is back.
    *server.mode.lock().expect("lock") = Ica::Mints {
        life: Duration::from_secs(3600),
        skew: 0,
    };
    tokio::time::advance(Duration::from_secs(2)).await;
    source.token().await.expect("recovered");
    assert_eq!(server.creates(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_thousand_callers_on_a_failing_or_hanging_endpoint_send_one_request() {
    for mode in [Ica::Unavailable, Ica::Hangs] {
        let server = IcaServer::new(mode, 50 * MS);
        let source = Arc::new(server.source());
        for outcome in concurrently(&source, 1000, Duration::from_micros(100)).await {
            assert!(outcome.is_err());
        }
        assert_eq!(server.creates(), 1);
    }
}

#[tokio::test(start_paused = true)]
async fn a_hanging_create_fails_every_waiter_once_with_a_timeout() {
    let server = IcaServer::new(Ica::Hangs, Duration::ZERO);
    let source = Arc::new(server.source());
    let started = tokio::time::Instant::now();
    for outcome in concurrently(&source, 10, 100 * MS).await {
        assert_eq!(
            outcome.expect_err("hangs").kind(),
            api_tokens_runtime::ErrorKind::Timeout
        );
    }
    assert_eq!(server.creates(), 1);
    // The client's attempt timeout (30 s) ends the one request; nobody waited twice.
    assert!(started.elapsed() <= Duration::from_secs(31), "{:?}", started.elapsed());
}

#[tokio::test(start_paused = true)]
async fn an_expired_jwt_is_never_handed_out() {
    // Issue 16, input 2: exp = now − 30 s, and exp = now.
    for ago in [30, 0] {
        let server = IcaServer::new(Ica::Expired { ago }, Duration::ZERO);
        let source = server.source();
        for _ in 0..5 {
            let error = source.token().await.expect_err("expired on arrival");
            assert_eq!(error.kind(), api_tokens_runtime::ErrorKind::TokenExpired, "{error}");
            assert!(error.to_string().contains("expired"), "{error}");
        }
        assert_eq!(server.creates(), 1, "backoff, not a create per call");
    }
}

#[tokio::test(start_paused = true)]
async fn a_caller_that_gives_up_does_not_cost_a_second_jwt() {
    // Issue 16, input 4: A gives up at 100 ms, B asks at 10 ms, ICA answers at 300 ms.
    let server = IcaServer::new(
        Ica::Mints {
            life: Duration::from_secs(3600),
            skew: 0,
        },
        300 * MS,
    );
    let source = Arc::new(server.source());
    let a = {
        let source = source.clone();
        tokio::spawn(async move { tokio::time::timeout(100 * MS, source.token()).await })
    };
    tokio::time::sleep(10 * MS).await;
    let b = source.token().await.expect("B");
    assert!(a.await.expect("no panic").is_err());
    assert_eq!(server.creates(), 1);
    assert_eq!(source.token().await.expect("cached"), b);
    assert_eq!(server.creates(), 1);
}

#[tokio::test(start_paused = true)]
async fn clock_skew_either_way_neither_serves_a_dead_jwt_nor_refreshes_in_a_loop() {
    // The server's clock 30 min ahead or behind ours; its JWTs live an hour by its clock.
    for skew in [-1800i64, -300, 300, 1800] {
        let server = IcaServer::new(
            Ica::Mints {
                life: Duration::from_secs(3600),
                skew,
            },
            Duration::ZERO,
        );
        let source = server.source();
        let token = source.token().await.expect("jwt");
        let left = token
            .expires_at()
            .expect("expiry")
            .duration_since(SystemTime::now())
            .expect("future");
        assert!(
            (3590..=3601).contains(&left.as_secs()),
            "skew {skew}: {left:?} left on our clock"
        );
        for _ in 0..50 {
            source.token().await.expect("cached");
        }
        assert_eq!(server.creates(), 1, "skew {skew}: no refresh loop");
        // Due five minutes (less up to 30 s of jitter) before the expiry on the
        // server's terms: created again then.
        tokio::time::advance(Duration::from_secs(3260)).await;
        source.token().await.expect("cached");
        tokio::task::yield_now().await;
        assert_eq!(server.creates(), 1, "skew {skew}: not due yet");
        tokio::time::advance(Duration::from_secs(50)).await;
        source.token().await.expect("served while replaced");
        tokio::task::yield_now().await;
        assert_eq!(server.creates(), 2, "skew {skew}: replaced once due");
    }
}

#[tokio::test(start_paused = true)]
async fn a_refused_jwt_reported_by_many_callers_is_replaced_once() {
    let server = IcaServer::new(
        Ica::Mints {
            life: Duration::from_secs(3600),
            skew: 0,
        },
        10 * MS,
    );
    let source = Arc::new(server.source());
    let first = source.token().await.expect("jwt");
    let reports: usize = (0..20).map(|_| usize::from(source.report_refused(&first))).sum();
    assert_eq!(reports, 1);
    let tokens = concurrently(&source, 20, Duration::ZERO).await;
    assert!(tokens.iter().all(|t| t.as_ref().is_ok_and(|t| *t != first)));
    assert_eq!(server.creates(), 2);
    assert!(!source.report_refused(&first), "a replaced JWT's report does nothing");
}

#[tokio::test(start_paused = true)]
async fn tenant_is_sent_on_every_create() {
    let tenants = Arc::new(Mutex::new(Vec::new()));
    let seen = tenants.clone();
    let client = ica_tokens::Client::builder()
        .basic("me@example.com", "pw")
        .respond_with(move |request| {
            seen.lock()
                .expect("lock")
                .push(request.url().query().map(str::to_owned));
            let now = SystemTime::now();
            let token = jwt(now, now + Duration::from_secs(3600), 0);
            reply(
                200,
                "application/vnd.illumina.v3+json",
                format!(r#"{{"token": "{token}"}}"#),
                now,
            )
        })
        .build()
        .expect("client");
    let source = ica_tokens::JwtSource::new(client).tenant("my-tenant");
    source.token().await.expect("jwt");
    assert_eq!(*tenants.lock().expect("lock"), [Some("tenant=my-tenant".to_owned())]);
}

// ---------------------------------------------------------------------------------
// DoCluster (vendors.md §3.2–3.4): HTTP 200 `text/html` for everything; a token the
// server no longer knows is "Token not found, please log in." (its first use after
// expiry: "Token expired please log in."); logins mint 60 upper-case letters.

/// What the DoCluster server answers a token it does not know with.
#[derive(Clone, Copy, PartialEq)]
enum Unknown {
    /// The 2022-04-28 server (§3.3): "Token not found, please log in.".
    NotFound,
    /// The same server's first answer after expiry (§3.3): "Token expired please log in.".
    Expired,
    /// The later rewrite (§3.5): "wrong token".
    Wrong,
    /// The token is bound to another IP address (§3.3).
    OtherAddress,
    /// A check (a login carrying only the token) the server does not take falls through
    /// to the login, which refuses the missing user (§3.4: "only runs when no valid token
    /// is supplied"); the order of the two is not documented.
    LoginRefusal,
}

#[derive(Default)]
struct Cluster {
    logins: AtomicUsize,
    live: Mutex<Vec<String>>,
    unknown: Mutex<Option<Unknown>>,
    wrong_password: AtomicBool,
}

impl Cluster {
    fn client(self: &Arc<Self>, delay: Duration) -> docluster_tokens::Client {
        let cluster = self.clone();
        docluster_tokens::Client::builder()
            .base_url("http://cluster.invalid:3033/api")
            .respond_with_async(move |request| {
                let cluster = cluster.clone();
                let form: Vec<(String, String)> =
                    serde_urlencoded::from_bytes(request.body().and_then(|b| b.as_bytes()).unwrap_or_default())
                        .unwrap_or_default();
                let path = request.url().path().to_owned();
                async move {
                    tokio::time::sleep(delay).await;
                    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
                    let body = cluster.answer(&path, field("access_token"), field("password"));
                    // json.dumps(..., indent=1), key order msg, status, error (§3.2).
                    let text = format!(
                        "{{\n \"msg\": {},\n \"status\": {},\n \"error\": {}\n}}",
                        body["msg"], body["status"], body["error"]
                    );
                    reply(200, "text/html; charset=utf-8", text, SystemTime::now())
                }
            })
            .build()
            .expect("client")
    }

    fn answer(&self, path: &str, token: Option<String>, password: Option<String>) -> serde_json::Value {
        let fail = |error: &str| serde_json::json!({"msg": {}, "status": "error", "error": error});
        let live = token
            .as_ref()
            .is_some_and(|t| self.live.lock().expect("lock").contains(t));
        let login_refusal = *self.unknown.lock().expect("lock") == Some(Unknown::LoginRefusal);
        if path.ends_with("/login") && !live && token.is_some() && login_refusal {
            return serde_json::json!({"msg": {}, "status": "false", "error": "Username not found, please log in."});
        }
        // A login without a token logs in; with one, the token is checked first (§3.3:
        // CheckToken runs on every request).
        if path.ends_with("/login") && token.is_none() {
            if self.wrong_password.load(Ordering::SeqCst) || password.is_none() {
                return serde_json::json!({"msg": {}, "status": "false", "error": "Wrong password."});
            }
            let n = self.logins.fetch_add(1, Ordering::SeqCst);
            // 60 upper-case letters (§3.3), distinct per login.
            let token: String = std::iter::repeat_n('A', 54)
                .chain(format!("{n:06}").bytes().map(|d| char::from(b'A' + (d - b'0'))))
                .collect();
            self.live.lock().expect("lock").push(token.clone());
            return serde_json::json!({"msg": {"access_token": token}, "status": "success", "error": ""});
        }
        if !live {
            return fail(match *self.unknown.lock().expect("lock") {
                None | Some(Unknown::NotFound) => "Token not found, please log in.",
                Some(Unknown::Expired) => "Token expired please log in.",
                Some(Unknown::Wrong) => "wrong token",
                Some(Unknown::OtherAddress) => "The token is not important for this IP address, please log in.",
                Some(Unknown::LoginRefusal) => "Token not found, please log in.",
            });
        }
        if path.ends_with("/logout") {
            let token = token.unwrap_or_default();
            self.live.lock().expect("lock").retain(|t| *t != token);
            return serde_json::json!({"msg": "", "status": "success", "error": ""});
        }
        serde_json::json!({"msg": {"tokens": {}}, "status": "success", "error": ""})
    }

    /// The server restarts: every token is gone (§3.3 keeps them in memory).
    fn forget(&self) {
        self.live.lock().expect("lock").clear();
    }
}

#[tokio::test(start_paused = true)]
async fn concurrent_expired_answers_log_in_once() {
    // Issue 16, input 3, with each way the server says a token is gone.
    for unknown in [Unknown::NotFound, Unknown::Expired, Unknown::Wrong] {
        let cluster = Arc::new(Cluster::default());
        *cluster.unknown.lock().expect("lock") = Some(unknown);
        let session = Arc::new(
            docluster_tokens::Session::login(cluster.client(20 * MS), "admin", "admin")
                .await
                .expect("login"),
        );
        cluster.forget();
        let mut calls = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let session = session.clone();
            calls.spawn(async move { session.run(|c| async move { c.list_tokens().send().await }).await });
        }
        for outcome in calls.join_all().await {
            outcome.expect("repeated with the new token");
        }
        assert_eq!(cluster.logins.load(Ordering::SeqCst), 2, "one login, then one more");
        assert_eq!(cluster.live.lock().expect("lock").len(), 1, "no orphaned token");
    }
}

#[tokio::test(start_paused = true)]
async fn a_token_bound_to_another_address_is_its_own_category_and_never_loops() {
    let cluster = Arc::new(Cluster::default());
    *cluster.unknown.lock().expect("lock") = Some(Unknown::OtherAddress);
    let session = docluster_tokens::Session::login(cluster.client(MS), "admin", "admin")
        .await
        .expect("login");
    cluster.forget();
    let error = session
        .run(|c| async move { c.list_tokens().send().await })
        .await
        .expect_err("bound elsewhere");
    assert_eq!(error.category(), Some(api_tokens_runtime::Category::AddressBound));
    assert_eq!(cluster.logins.load(Ordering::SeqCst), 1, "no new login");
}

#[tokio::test(start_paused = true)]
async fn logout_is_final() {
    let cluster = Arc::new(Cluster::default());
    let session = docluster_tokens::Session::login(cluster.client(MS), "admin", "admin")
        .await
        .expect("login");
    session.logout().await.expect("logout");
    assert!(cluster.live.lock().expect("lock").is_empty());
    for error in [
        session.token().await.expect_err("after logout"),
        session.client().await.expect_err("after logout"),
        session
            .run(|c| async move { c.list_tokens().send().await })
            .await
            .expect_err("after logout"),
    ] {
        assert_eq!(error.kind(), api_tokens_runtime::ErrorKind::Closed, "{error}");
    }
    assert_eq!(cluster.logins.load(Ordering::SeqCst), 1, "never a silent login");
    session.logout().await.expect("a second logout does nothing");
}

#[tokio::test(start_paused = true)]
async fn a_refused_saved_token_leads_to_a_login_when_one_was_given() {
    for unknown in [
        Unknown::NotFound,
        Unknown::Expired,
        Unknown::Wrong,
        Unknown::OtherAddress,
    ] {
        let cluster = Arc::new(Cluster::default());
        *cluster.unknown.lock().expect("lock") = Some(unknown);
        let session = docluster_tokens::Session::resume_or_login(cluster.client(MS), "SAVEDTOKEN", "admin", "admin")
            .await
            .expect("logged in instead");
        assert_eq!(cluster.logins.load(Ordering::SeqCst), 1);
        let token = session.token().await.expect("token");
        assert_ne!(token.secret().expose(), "SAVEDTOKEN");
        // Without a login, the refusal is the error.
        let error = docluster_tokens::Session::resume(cluster.client(MS), "SAVEDTOKEN")
            .await
            .expect_err("refused");
        assert!(error.category().is_some(), "{error}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_failing_login_is_backed_off_not_repeated_per_call() {
    let cluster = Arc::new(Cluster::default());
    let session = Arc::new(
        docluster_tokens::Session::login(cluster.client(MS), "admin", "admin")
            .await
            .expect("login"),
    );
    cluster.forget();
    cluster.wrong_password.store(true, Ordering::SeqCst);
    for _ in 0..10 {
        let error = session
            .run(|c| async move { c.list_tokens().send().await })
            .await
            .expect_err("login refused");
        assert_eq!(error.category(), Some(api_tokens_runtime::Category::Refused), "{error}");
    }
    assert_eq!(
        cluster.logins.load(Ordering::SeqCst),
        1,
        "the refused logins are not counted as minted"
    );
}

#[tokio::test(start_paused = true)]
async fn the_window_slides_with_each_use_and_a_login_follows_it() {
    let cluster = Arc::new(Cluster::default());
    let session = docluster_tokens::Session::login(cluster.client(MS), "admin", "admin")
        .await
        .expect("login")
        .window(Duration::from_secs(60));
    for _ in 0..5 {
        tokio::time::advance(Duration::from_secs(50)).await;
        session
            .run(|c| async move { c.list_tokens().send().await })
            .await
            .expect("alive");
    }
    assert_eq!(cluster.logins.load(Ordering::SeqCst), 1, "each use slid the window");
    tokio::time::advance(Duration::from_secs(61)).await;
    session.token().await.expect("logged in again");
    assert_eq!(cluster.logins.load(Ordering::SeqCst), 2);
}

// ---------------------------------------------------------------------------------
// TigerGraph (vendors.md §1.2, §1.3, §6), behind nginx on one port.

/// What a 3.0–3.4 server answers the 3.5 JSON form with: no source documents it, so
/// every plausible answer is tried.
const V3_0_TO_JSON: &[(u16, &str, &str)] = &[
    (
        200,
        "application/json",
        r#"{"code":"REST-10016","error":true,"message":"Access Denied because the input secret is invalid."}"#,
    ),
    (
        200,
        "application/json",
        r#"{"code":"REST-30000","error":true,"message":"Invalid parameter."}"#,
    ),
    (
        200,
        "application/json",
        r#"{"code":"REST-2001","error":true,"message":"Invalid JSON payload."}"#,
    ),
    (401, "application/json", r#"{"error":true,"message":"Unauthorized"}"#),
    (400, "text/plain", "Bad Request"),
    (500, "text/html", "<html><body>Internal Server Error</body></html>"),
    (
        200,
        "application/json",
        r#"{"error":"true","message":"secret is not valid"}"#,
    ),
];

struct Tiger {
    requests: Mutex<Vec<String>>,
}

/// A 3.0–3.4 server answering the JSON form with `to_json`; expirations as `expiration`.
type Respond = Arc<dyn Fn(&reqwest::Request) -> http::Response<Vec<u8>> + Send + Sync>;

fn tiger_v3_0(tiger: Arc<Tiger>, to_json: (u16, &'static str, &'static str), expiration: i64) -> Respond {
    Arc::new(move |request: &reqwest::Request| {
        let path = request.url().path().to_owned();
        let query = request.url().query().unwrap_or_default().to_owned();
        let body = request.body().and_then(|b| b.as_bytes()).unwrap_or_default().to_vec();
        tiger
            .requests
            .lock()
            .expect("lock")
            .push(format!("{} {path}", request.method()));
        let now = SystemTime::now();
        match (request.method().as_str(), path.as_str()) {
            // No 4.x route behind nginx on 3.x: nginx's own page (§6).
            (_, "/gsql/v1/tokens") => reply(404, "text/html", "<html><body>404 Not Found</body></html>", now),
            // The raw secret as the body (§1.2 A).
            ("POST", "/restpp/requesttoken") if body == b"s3cr3t" => reply(
                200,
                "application/json",
                format!(
                    r#"{{"code":"REST-0000","expiration":{expiration},"error":false,"message":"Generate new token successfully.","token":"tohvf6khjqju8jf0r0l1cohhlm8gi5fq"}}"#
                ),
                now,
            ),
            ("POST", "/restpp/requesttoken") => reply(to_json.0, to_json.1, to_json.2, now),
            // GET /requesttoken exists on 3.0–3.4; without a secret it is refused.
            ("GET", "/restpp/requesttoken") if !query.contains("secret=") => reply(
                200,
                "application/json",
                r#"{"code":"REST-10016","error":true,"message":"Access Denied because the input secret is empty."}"#,
                now,
            ),
            _ => reply(404, "text/html", "<html>404</html>", now),
        }
    })
}

/// A connection with the secret `s3cr3t`, answered by `respond`, of `generation` if given.
fn tiger_connection(
    respond: Respond,
    generation: Option<tigergraph_tokens::Generation>,
) -> tigergraph_tokens::Connection {
    let mut builder = tigergraph_tokens::Connection::builder("http://tg.invalid:14240")
        .secret("s3cr3t")
        .configure(move |b| {
            let respond = respond.clone();
            b.respond_with(move |request| respond(request))
        });
    if let Some(generation) = generation {
        builder = builder.generation(generation);
    }
    builder.build().expect("connection")
}

#[tokio::test(start_paused = true)]
async fn a_3_0_server_is_detected_whatever_it_answers_to_the_json_form() {
    for answer in V3_0_TO_JSON {
        let tiger = Arc::new(Tiger {
            requests: Mutex::default(),
        });
        let connection = tiger_connection(tiger_v3_0(tiger.clone(), *answer, 1_900_000_000), None);
        let token = connection
            .get(Some(Duration::from_secs(3600)))
            .await
            .unwrap_or_else(|e| panic!("{answer:?}: {e}"));
        assert_eq!(token.secret().expose(), "tohvf6khjqju8jf0r0l1cohhlm8gi5fq");
        assert_eq!(
            connection.generation().await,
            Some(tigergraph_tokens::Generation::V3_0),
            "{answer:?}"
        );
        let requests = tiger.requests.lock().expect("lock").clone();
        assert_eq!(
            requests,
            [
                "POST /gsql/v1/tokens",
                "POST /restpp/requesttoken",
                "GET /restpp/requesttoken",
                "POST /restpp/requesttoken"
            ],
            "{answer:?}: at most one probe"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn an_expiration_of_zero_is_the_lifetime_asked_for() {
    // Issue 16, input 5: a 3.0–3.4 `get(Some(1 h))` answered `"expiration": 0`.
    for expiration in [0, -1] {
        let tiger = Arc::new(Tiger {
            requests: Mutex::default(),
        });
        let connection = tiger_connection(
            tiger_v3_0(tiger, V3_0_TO_JSON[0], expiration),
            Some(tigergraph_tokens::Generation::V3_0),
        );
        let before = SystemTime::now();
        let token = connection.get(Some(Duration::from_secs(3600))).await.expect("token");
        let expires = token.expires_at().expect("an expiry, never forever");
        assert!(expires <= before + Duration::from_secs(3601), "{expiration}");
        assert!(expires >= before + Duration::from_secs(3599), "{expiration}");
    }
}

#[tokio::test(start_paused = true)]
async fn restpp_authentication_disabled_is_endpoint_absent_with_rest_1000() {
    // Issue 16, input 6.
    let respond: Respond = Arc::new(|request: &reqwest::Request| {
        let now = SystemTime::now();
        if request.url().path().starts_with("/gsql/") {
            reply(404, "text/html", "<html><body>404 Not Found</body></html>", now)
        } else {
            reply(
                404,
                "application/json",
                r#"{"error":true,"code":"REST-1000","message":"Endpoint is not found from url = /requesttoken, please use GET /endpoints to list all valid endpoints."}"#,
                now,
            )
        }
    });
    let connection = tiger_connection(respond, None);
    let error = connection.get(None).await.expect_err("no token endpoint");
    assert_eq!(error.category(), Some(api_tokens_runtime::Category::EndpointAbsent));
    assert_eq!(error.vendor_code(), Some("REST-1000"));
    assert!(
        error
            .vendor_message()
            .is_some_and(|m| m.contains("Endpoint is not found")),
        "{error}"
    );
    assert!(error.to_string().contains("REST++ authentication"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn a_wrong_secret_on_3_5_is_that_servers_refusal() {
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = requests.clone();
    let respond: Respond = Arc::new(move |request: &reqwest::Request| {
        seen.lock()
            .expect("lock")
            .push(format!("{} {}", request.method(), request.url().path()));
        let now = SystemTime::now();
        match (request.method().as_str(), request.url().path()) {
            (_, "/gsql/v1/tokens") => reply(404, "text/html", "<html>404</html>", now),
            // 3.5 dropped GET /requesttoken (§1.2 B): REST++ answers REST-1000.
            ("GET", _) => reply(
                404,
                "application/json",
                r#"{"error":true,"code":"REST-1000","message":"Endpoint is not found from url = /requesttoken, please use GET /endpoints to list all valid endpoints."}"#,
                now,
            ),
            _ => reply(
                200,
                "application/json",
                r#"{"code":"REST-10016","error":true,"message":"Access Denied because the input secret is invalid."}"#,
                now,
            ),
        }
    });
    let connection = tiger_connection(respond, None);
    let error = connection.get(None).await.expect_err("wrong secret");
    assert_eq!(error.category(), Some(api_tokens_runtime::Category::Refused), "{error}");
    assert_eq!(error.operation_id(), Some("request_token"), "{error}");
    assert_eq!(connection.generation().await, Some(tigergraph_tokens::Generation::V3_5));
    assert_eq!(requests.lock().expect("lock").len(), 3, "one probe, no 3.0 request");
    // The generation is remembered: the next call sends no probe.
    connection.get(None).await.expect_err("still wrong");
    assert_eq!(requests.lock().expect("lock").len(), 4);
}

#[tokio::test(start_paused = true)]
async fn automatic_refreshes_ask_for_the_lifetime_the_user_asked_for() {
    // A 3.5+ server (§1.2 B): create and refresh answer an absolute expiry.
    let lifetimes = Arc::new(Mutex::new(Vec::new()));
    let seen = lifetimes.clone();
    let respond: Respond = Arc::new(move |request: &reqwest::Request| {
        let body: serde_json::Value =
            serde_json::from_slice(request.body().and_then(|b| b.as_bytes()).unwrap_or_default()).unwrap_or_default();
        let lifetime: u64 = body["lifetime"]
            .as_str()
            .and_then(|l| l.parse().ok())
            .unwrap_or(2_592_000);
        seen.lock()
            .expect("lock")
            .push((request.method().to_string(), body["lifetime"].clone()));
        let now = SystemTime::now();
        reply(
            200,
            "application/json",
            format!(
                r#"{{"code":"REST-0000","expiration":{},"error":false,"message":"ok","token":"tok{}"}}"#,
                unix(now) + lifetime,
                request.method()
            ),
            now,
        )
    });
    let connection = tiger_connection(respond, Some(tigergraph_tokens::Generation::V3_5));
    connection.get(Some(Duration::from_secs(3600))).await.expect("token");
    use api_tokens_runtime::TokenSource;
    // Past the refresh lead (10 min before the hour): one refresh, asking for an hour.
    tokio::time::advance(Duration::from_secs(3000)).await;
    let _ = TokenSource::token(&connection).await.expect("served");
    tokio::time::advance(Duration::from_secs(1)).await;
    let lifetimes = lifetimes.lock().expect("lock").clone();
    assert_eq!(lifetimes.len(), 2, "{lifetimes:?}");
    assert_eq!(
        lifetimes[1],
        ("PUT".to_owned(), serde_json::json!("3600")),
        "a refresh, never a create"
    );
}

// ---------------------------------------------------------------------------------
// Fastly rotations (vendors.md §4.3, §6): a rotation failing at each step.

/// Which step of the rotation the Fastly account breaks.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Breaks {
    Nothing,
    Create,
    /// The new token cannot read itself (401), and can be revoked.
    Confirm,
    /// The new token reads itself back under another id.
    ConfirmOtherId,
    /// The new token can neither read itself nor be revoked.
    ConfirmAndUndo,
    RevokeOld,
}

struct Fastly {
    breaks: Breaks,
    /// Keys and their ids, live.
    live: Mutex<Vec<(String, String)>>,
    creates: AtomicUsize,
    otps: Mutex<Vec<Option<String>>>,
}

fn fastly_account(breaks: Breaks) -> Arc<Fastly> {
    Arc::new(Fastly {
        breaks,
        live: Mutex::new(vec![("key0".to_owned(), "id0".to_owned())]),
        creates: AtomicUsize::new(0),
        otps: Mutex::default(),
    })
}

fn fastly_login(account: &Arc<Fastly>) -> fastly_tokens::Client {
    let account = account.clone();
    fastly_tokens::Client::builder()
        .username_and_password("me@example.com", "pw")
        .respond_with(move |request| account.answer(request))
        .build()
        .expect("client")
}

impl Fastly {
    fn answer(&self, request: &reqwest::Request) -> http::Response<Vec<u8>> {
        let now = SystemTime::now();
        let json = "application/json";
        let key = request
            .headers()
            .get("fastly-key")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let mut live = self.live.lock().expect("lock");
        let id = live.iter().find(|(k, _)| *k == key).map(|(_, id)| id.clone());
        let meta = |id: &str| {
            serde_json::json!({
                "id": id, "name": "ci", "scope": "global", "services": [],
                "created_at": chrono::DateTime::<chrono::Utc>::from(now - Duration::from_secs(29 * 86_400)).to_rfc3339(),
                "expires_at": chrono::DateTime::<chrono::Utc>::from(now + Duration::from_secs(86_400)).to_rfc3339(),
                "last_used_at": null, "ip": null, "user_id": "u1",
            })
        };
        // §4.3: 401 "Missing or expired token." for a key Fastly does not know.
        let unknown = || reply(401, json, r#"{"msg":"Missing or expired token."}"#, now);
        let is_new = key != "key0";
        match (request.method().as_str(), request.url().path()) {
            ("POST", "/tokens") => {
                self.otps.lock().expect("lock").push(
                    request
                        .headers()
                        .get("fastly-otp")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned),
                );
                if self.breaks == Breaks::Create {
                    return reply(400, json, r#"{"code":"invalid_grant"}"#, now);
                }
                let n = self.creates.fetch_add(1, Ordering::SeqCst) + 1;
                let (key, id) = (format!("key{n}"), format!("id{n}"));
                live.push((key.clone(), id.clone()));
                let mut created = meta(&id);
                created["access_token"] = key.into();
                reply(200, json, created.to_string(), now)
            }
            ("GET", "/tokens/self") => match id {
                None => unknown(),
                Some(_) if is_new && matches!(self.breaks, Breaks::Confirm | Breaks::ConfirmAndUndo) => unknown(),
                Some(_) if is_new && self.breaks == Breaks::ConfirmOtherId => {
                    reply(200, json, meta("someone-else").to_string(), now)
                }
                Some(id) => reply(200, json, meta(&id).to_string(), now),
            },
            ("DELETE", "/tokens/self") => match id {
                None => unknown(),
                Some(_) if !is_new && self.breaks == Breaks::RevokeOld => {
                    reply(400, json, r#"{"msg":"Token revocation error."}"#, now)
                }
                Some(_) if is_new && self.breaks == Breaks::ConfirmAndUndo => unknown(),
                Some(_) => {
                    live.retain(|(k, _)| *k != key);
                    // §4.3: 204, empty.
                    reply(204, json, "", now)
                }
            },
            _ => reply(404, json, r#"{"msg":"Token lookup failed."}"#, now),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_fastly_rotation_failing_at_each_step_loses_no_live_token() {
    use api_tokens_runtime::RotationStep;
    for breaks in [
        Breaks::Create,
        Breaks::Confirm,
        Breaks::ConfirmOtherId,
        Breaks::ConfirmAndUndo,
        Breaks::RevokeOld,
        Breaks::Nothing,
    ] {
        let account = fastly_account(breaks);
        let rotation = fastly_tokens::Rotation::new(fastly_login(&account), "key0")
            .await
            .expect("rotation");
        let outcome = rotation.rotate().await;
        let live: Vec<String> = account
            .live
            .lock()
            .expect("lock")
            .iter()
            .map(|(k, _)| k.clone())
            .collect();
        let current = rotation.client().await.expect("client");
        let current_key = current.get_token_current().send().await.map(|t| t.into_inner().id);
        match breaks {
            Breaks::Nothing => {
                assert_eq!(outcome.clone().expect("rotated").secret().expose(), "key1");
                assert_eq!(live, ["key1"]);
            }
            Breaks::Create => {
                assert_eq!(outcome.clone().expect_err("fails").step(), RotationStep::Create);
                assert_eq!(live, ["key0"]);
                assert_eq!(current_key.expect("old still current"), "id0");
            }
            Breaks::Confirm | Breaks::ConfirmOtherId => {
                let error = outcome.clone().expect_err("fails");
                assert_eq!(error.step(), RotationStep::Confirm, "{breaks:?}");
                assert!(error.unrevoked_new().is_none(), "{breaks:?}: revoked");
                assert_eq!(live, ["key0"], "{breaks:?}: the new token was revoked");
                assert_eq!(current_key.expect("old still current"), "id0");
            }
            Breaks::ConfirmAndUndo => {
                let error = outcome.clone().expect_err("fails");
                assert_eq!(error.step(), RotationStep::Confirm);
                let left = error.unrevoked_new().expect("handed back");
                assert_eq!(left.id.as_deref(), Some("id1"));
                assert_eq!(left.token.secret().expose(), "key1");
                assert!(error.to_string().contains("id1"), "{error}");
                assert_eq!(rotation.unrevoked().len(), 1);
                assert_eq!(live, ["key0", "key1"]);
            }
            Breaks::RevokeOld => {
                let error = outcome.clone().expect_err("half done");
                assert_eq!(error.step(), RotationStep::RevokeOld);
                assert_eq!(error.unrevoked_old_id(), Some("id0"));
                assert_eq!(error.current().expect("new is current").secret().expose(), "key1");
                assert_eq!(current_key.expect("new is current"), "id1");
                assert_eq!(rotation.unrevoked_old_ids(), ["id0"]);
            }
        }
        let text = match &outcome {
            Ok(token) => format!("{token:?}"),
            Err(error) => format!("{error} {error:?}"),
        };
        for key in ["key0", "key1"] {
            assert!(!text.contains(key), "{breaks:?}: a token printed in {text}");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_fastly_token_near_its_end_rotates_unattended_with_one_time_codes() {
    // The token was made for 30 days and has one left; the lead is a day: due now.
    let account = fastly_account(Breaks::Nothing);
    let codes = Arc::new(AtomicUsize::new(0));
    let counter = codes.clone();
    let rotation = fastly_tokens::Rotation::new(fastly_login(&account), "key0")
        .await
        .expect("rotation")
        .one_time_codes(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move { Ok(api_tokens_runtime::Secret::new(format!("{:06}", 100_000 + n))) }
        });
    use api_tokens_runtime::TokenSource;
    let served = TokenSource::token(&rotation).await.expect("served");
    assert_eq!(served.secret().expose(), "key0", "served while the rotation runs");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        TokenSource::token(&rotation).await.expect("rotated").secret().expose(),
        "key1"
    );
    assert_eq!(*account.otps.lock().expect("lock"), [Some("100000".to_owned())]);
    assert_eq!(account.creates.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_rotating_source_mints_at_most_one_token_per_backoff_step() {
    let account = fastly_account(Breaks::ConfirmAndUndo);
    let rotation = Arc::new(
        fastly_tokens::Rotation::new(fastly_login(&account), "key0")
            .await
            .expect("rotation"),
    );
    for _ in 0..50 {
        let _ = concurrently(&rotation, 10, Duration::ZERO).await;
        tokio::time::advance(100 * MS).await;
    }
    // 5 s of calls: backoff 1 s, 2 s, (4 s): at most three rotations.
    assert!(
        account.creates.load(Ordering::SeqCst) <= 3,
        "{}",
        account.creates.load(Ordering::SeqCst)
    );
}

// ---------------------------------------------------------------------------------
// Insight.io (vendors.md §5.2, §5.3).

#[tokio::test(start_paused = true)]
async fn an_insight_rotation_whose_confirmation_fails_revokes_nothing_old() {
    let revoked = Arc::new(Mutex::new(Vec::new()));
    let seen = revoked.clone();
    let creator = insight_tokens::Client::builder()
        .session_cookie("PLAY_SESSION=abc")
        .respond_with(move |request| {
            let now = SystemTime::now();
            let token = request
                .headers()
                .get("x-auth-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            match request.method().as_str() {
                "POST" => reply(
                    200,
                    "application/json",
                    format!(r#"{{"token":"{}"}}"#, "a".repeat(256)),
                    now,
                ),
                // The new token is refused (§5.2: 401 Credentials required).
                "GET" => reply(401, "application/json", r#"{"error":"Credentials required"}"#, now),
                _ => {
                    seen.lock().expect("lock").push(token);
                    reply(200, "application/json", "", now)
                }
            }
        })
        .build()
        .expect("client");
    let rotation = insight_tokens::Rotation::new(creator, "old-token").expect("rotation");
    let error = rotation.rotate().await.expect_err("confirmation fails");
    assert_eq!(error.step(), api_tokens_runtime::RotationStep::Confirm);
    assert_eq!(
        *revoked.lock().expect("lock"),
        ["a".repeat(256)],
        "only the new token was revoked"
    );
    assert_eq!(rotation.token().await.expect("current").secret().expose(), "old-token");
}

#[tokio::test(start_paused = true)]
async fn lifecycle_constructors_refuse_what_could_never_be_sent() {
    for bad in ["bad\r\n", "bad\n", "bad\r", "bad\0", "", " ", " padded "] {
        let creator = insight_tokens::Client::builder()
            .session_cookie("PLAY_SESSION=abc")
            .respond_with(|_| panic!("nothing may be sent"))
            .build()
            .expect("client");
        let error = insight_tokens::Rotation::new(creator, bad).expect_err("refused");
        assert_eq!(error.kind(), api_tokens_runtime::ErrorKind::InvalidArgument, "{bad:?}");
        let login = fastly_tokens::Client::builder()
            .username_and_password("me@example.com", "pw")
            .respond_with(|_| panic!("nothing may be sent"))
            .build()
            .expect("client");
        let error = fastly_tokens::Rotation::new(login, bad).await.expect_err("refused");
        assert_eq!(error.kind(), api_tokens_runtime::ErrorKind::InvalidArgument, "{bad:?}");
    }
    let client = docluster_tokens::Client::builder()
        .base_url("http://cluster.invalid/api")
        .respond_with(|_| panic!("nothing may be sent"))
        .build()
        .expect("client");
    let error = docluster_tokens::Session::login(client, "", "pw")
        .await
        .expect_err("refused");
    assert_eq!(error.kind(), api_tokens_runtime::ErrorKind::InvalidArgument);
}

#[tokio::test(start_paused = true)]
async fn an_unusable_tenant_is_refused_before_any_request() {
    for tenant in ["", " ", "a\r\nb", "t\0"] {
        let client = ica_tokens::Client::builder()
            .basic("me@example.com", "pw")
            .respond_with(|_| panic!("nothing may be sent"))
            .build()
            .expect("client");
        let error = ica_tokens::JwtSource::new(client)
            .tenant(tenant)
            .token()
            .await
            .expect_err("refused");
        assert_eq!(
            error.kind(),
            api_tokens_runtime::ErrorKind::InvalidArgument,
            "{tenant:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_refresh_that_fails_without_a_refusal_creates_nothing() {
    // A psToken source (vendors.md §2.2): refreshed ahead of `exp`. ICA answers the
    // refresh 503: that is no refusal, so no new JWT is created in its place; the
    // current one is served and the refresh is tried again after the backoff.
    let (creates, refreshes) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (c, r) = (creates.clone(), refreshes.clone());
    let client = ica_tokens::Client::builder()
        .ps_token("ps-token-123456")
        .respond_with(move |request| {
            let now = SystemTime::now();
            if request.url().path().ends_with(":refresh") {
                r.fetch_add(1, Ordering::SeqCst);
                return reply(
                    503,
                    "application/problem+json",
                    r#"{"type":"about:blank","title":"Service Unavailable","status":503}"#,
                    now,
                );
            }
            let n = c.fetch_add(1, Ordering::SeqCst);
            let token = jwt(now, now + Duration::from_secs(3600), n);
            reply(
                200,
                "application/vnd.illumina.v3+json",
                format!(r#"{{"token": "{token}"}}"#),
                now,
            )
        })
        .build()
        .expect("client");
    let source = ica_tokens::JwtSource::new(client);
    let first = source.token().await.expect("jwt");
    tokio::time::advance(Duration::from_secs(3301)).await;
    assert_eq!(source.token().await.expect("served"), first);
    tokio::task::yield_now().await;
    assert_eq!(
        (creates.load(Ordering::SeqCst), refreshes.load(Ordering::SeqCst)),
        (1, 1)
    );
    // Forgotten on request: once the refresh's backoff is over, the next call creates one.
    source.invalidate();
    tokio::time::advance(Duration::from_secs(2)).await;
    let next = source.token().await.expect("created");
    assert_ne!(next, first);
    assert_eq!(creates.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn an_insight_token_neither_confirmed_nor_revoked_is_handed_back() {
    let creator = insight_tokens::Client::builder()
        .session_cookie("PLAY_SESSION=abc")
        .respond_with(move |request| {
            let now = SystemTime::now();
            match request.method().as_str() {
                "POST" => reply(
                    200,
                    "application/json",
                    format!(r#"{{"token":"{}"}}"#, "b".repeat(256)),
                    now,
                ),
                // The new token is refused, and cannot be revoked either (a 503 in front).
                "GET" => reply(401, "application/json", r#"{"error":"Credentials required"}"#, now),
                _ => reply(503, "text/html", "<html>busy</html>", now),
            }
        })
        .build()
        .expect("client");
    let rotation = insight_tokens::Rotation::new(creator, "old-token").expect("rotation");
    let error = rotation.rotate().await.expect_err("confirmation fails");
    assert_eq!(error.step(), api_tokens_runtime::RotationStep::Confirm);
    let left = error.unrevoked_new().expect("handed back");
    assert_eq!(left.token.secret().expose(), "b".repeat(256));
    let kept: Vec<String> = rotation
        .unrevoked()
        .iter()
        .map(|c| c.token.secret().expose().to_owned())
        .collect();
    assert_eq!(kept, ["b".repeat(256)]);
    assert_eq!(rotation.token().await.expect("current").secret().expose(), "old-token");
}

#[tokio::test(start_paused = true)]
async fn a_session_forgets_only_its_own_token_when_told_it_was_refused() {
    let cluster = Arc::new(Cluster::default());
    let session = docluster_tokens::Session::login(cluster.client(MS), "admin", "admin")
        .await
        .expect("login");
    let token = session.token().await.expect("token");
    assert!(!session.report_refused(&api_tokens_runtime::Token::new("SOMEOTHERTOKEN", None)));
    assert!(session.report_refused(&token));
    assert!(!session.report_refused(&token), "already forgotten");
    let next = session.token().await.expect("logged in again");
    assert_ne!(next.secret(), token.secret());
    assert_eq!(cluster.logins.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn a_saved_token_check_that_fails_otherwise_is_the_error_not_a_login() {
    // The check is answered with something that says nothing of the token ("Wrong API
    // path", §3.4): no login in its place; the answer is the error.
    let logins = Arc::new(AtomicUsize::new(0));
    let counter = logins.clone();
    let client = docluster_tokens::Client::builder()
        .base_url("http://cluster.invalid:3033/api")
        .respond_with(move |request| {
            let form = String::from_utf8_lossy(request.body().and_then(|b| b.as_bytes()).unwrap_or_default()).into_owned();
            let body = if form.contains("access_token") {
                "{\n \"msg\": {},\n \"status\": \"error\",\n \"error\": \"Wrong API path\"\n}"
            } else {
                counter.fetch_add(1, Ordering::SeqCst);
                "{\n \"msg\": {\"access_token\": \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"},\n \"status\": \"success\",\n \"error\": \"\"\n}"
            };
            reply(200, "text/html; charset=utf-8", body, SystemTime::now())
        })
        .build()
        .expect("client");
    let error = docluster_tokens::Session::resume_or_login(client, "SAVEDTOKEN", "admin", "admin")
        .await
        .expect_err("the check's answer");
    assert_eq!(
        error.category(),
        Some(api_tokens_runtime::Category::EndpointAbsent),
        "{error}"
    );
    assert_eq!(logins.load(Ordering::SeqCst), 0);
}
