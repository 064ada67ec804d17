//! Regressions found by a hostile review of the lifecycle layer (each once failed): a
//! load timeout cancelling a rotation half done, rotations racing each other or a
//! refusal report, a logout racing a re-login, a loader closure that panics, a token of
//! unknown expiry kept while its replacement fails, a `Date` header that contradicts the
//! token, and their neighbours that held.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use api_tokens_runtime::{CachedTokenSource, Error, ErrorKind, Expiry, RefreshPolicy, Token, TokenSource};
use api_tokens_tests::fakes::{Fake, TgServer, TigerGraph};

use api_tokens_tests::{dated_reply as reply, jwt_between as jwt};

const MS: Duration = Duration::from_millis(1);

// ------------------------------------------------------------------ a Fastly account
// Keys `key<n>` / ids `id<n>`; each answer comes `delay` after the request, whose
// effect (create, revoke) happens on arrival.

struct Account {
    live: Mutex<Vec<(String, String)>>,
    creates: AtomicUsize,
    delay: Duration,
    log: Mutex<Vec<String>>,
}

impl Account {
    fn new(delay: Duration) -> Arc<Self> {
        Arc::new(Account {
            live: Mutex::new(vec![("key0".to_owned(), "id0".to_owned())]),
            creates: AtomicUsize::new(0),
            delay,
            log: Mutex::default(),
        })
    }

    fn live_keys(&self) -> Vec<String> {
        self.live.lock().unwrap().iter().map(|(k, _)| k.clone()).collect()
    }

    fn login(self: &Arc<Self>) -> fastly_tokens::Client {
        let account = self.clone();
        fastly_tokens::Client::builder()
            .username_and_password("me@example.com", "pw")
            .respond_with_async(move |request| {
                let response = account.answer(request);
                let delay = account.delay;
                async move {
                    tokio::time::sleep(delay).await;
                    response
                }
            })
            .build()
            .expect("client")
    }

    fn answer(&self, request: &reqwest::Request) -> http::Response<Vec<u8>> {
        let now = SystemTime::now();
        let json = "application/json";
        let key = request
            .headers()
            .get("fastly-key")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        self.log.lock().unwrap().push(format!(
            "{} {} {key} @{:?}",
            request.method(),
            request.url().path(),
            tokio::time::Instant::now()
        ));
        let mut live = self.live.lock().unwrap();
        let id = live.iter().find(|(k, _)| *k == key).map(|(_, id)| id.clone());
        let meta = |id: &str| {
            serde_json::json!({
                "id": id, "name": "ci", "scope": "global", "services": [],
                "created_at": chrono::DateTime::<chrono::Utc>::from(now - Duration::from_secs(29 * 86_400)).to_rfc3339(),
                "expires_at": chrono::DateTime::<chrono::Utc>::from(now + Duration::from_secs(86_400)).to_rfc3339(),
                "last_used_at": null, "ip": null, "user_id": "u1",
            })
        };
        let unknown = || reply(401, json, r#"{"msg":"Missing or expired token."}"#, now);
        match (request.method().as_str(), request.url().path()) {
            ("POST", "/tokens") => {
                let n = self.creates.fetch_add(1, Ordering::SeqCst) + 1;
                let (key, id) = (format!("key{n}"), format!("id{n}"));
                live.push((key.clone(), id.clone()));
                let mut created = meta(&id);
                created["access_token"] = key.into();
                reply(200, json, created.to_string(), now)
            }
            ("GET", "/tokens/self") => match id {
                None => unknown(),
                Some(id) => reply(200, json, meta(&id).to_string(), now),
            },
            ("DELETE", "/tokens/self") => match id {
                None => unknown(),
                Some(_) => {
                    live.retain(|(k, _)| *k != key);
                    reply(204, json, "", now)
                }
            },
            _ => reply(404, json, r#"{"msg":"Token lookup failed."}"#, now),
        }
    }
}

/// A slow Fastly (8 s an answer): the unattended rotation (read, create, confirm,
/// revoke = 32 s) outlives the cache's 30 s load timeout, which cancels it after the
/// old token's revocation reached the server.
#[tokio::test(start_paused = true)]
async fn a_rotation_outliving_the_load_timeout_still_lands_its_new_token() {
    let account = Account::new(Duration::from_secs(8));
    let rotation = fastly_tokens::Rotation::new(account.login(), "key0")
        .await
        .expect("rotation");
    // 1 day left of 30, a 1-day lead: due now; served, and the rotation starts behind.
    let served = TokenSource::token(&rotation).await.expect("served");
    assert_eq!(served.secret().expose(), "key0");
    tokio::time::sleep(Duration::from_secs(35)).await;
    let after = TokenSource::token(&rotation).await;
    let live = account.live_keys();
    let current = rotation.client().await.expect("client");
    assert!(
        current.get_token_current().send().await.is_ok(),
        "the client sends a live token"
    );
    let after = after.expect("a token");
    assert!(
        live.contains(&after.secret().expose().to_owned()),
        "token() serves {:?}, which the server revoked; live: {live:?}",
        after.secret().expose()
    );
    let known: Vec<String> = rotation
        .unrevoked()
        .iter()
        .map(|c| c.token.secret().expose().to_owned())
        .chain(std::iter::once(after.secret().expose().to_owned()))
        .collect();
    for key in &live {
        assert!(known.contains(key), "live {key} lost track of (known: {known:?})");
    }
}

/// The user's `rotate()` and an unattended rotation (a due token) overlap: the second
/// rotation revokes the token the first stored, and the cache keeps the revoked one.
#[tokio::test(start_paused = true)]
async fn a_users_rotation_and_an_unattended_one_rotate_once() {
    let account = Account::new(Duration::from_secs(1));
    let rotation = Arc::new(
        fastly_tokens::Rotation::new(account.login(), "key0")
            .await
            .expect("rotation"),
    );
    let user = {
        let rotation = rotation.clone();
        tokio::spawn(async move { rotation.rotate().await })
    };
    tokio::time::sleep(10 * MS).await; // the user's rotation holds the current token
    let served = TokenSource::token(&*rotation).await.expect("served"); // due: rotation behind
    assert_eq!(served.secret().expose(), "key0");
    let user = user.await.expect("task").expect("user rotation");
    tokio::time::sleep(Duration::from_secs(30)).await;
    let after = TokenSource::token(&*rotation).await.expect("token");
    let live = account.live_keys();
    let client_key = rotation.client().await.expect("client");
    assert!(
        client_key.get_token_current().send().await.is_ok(),
        "the client sends a live token"
    );
    // One rotation: the one the user asked for; the unattended one found it done.
    assert_eq!(after, user);
    assert_eq!(account.creates.load(Ordering::SeqCst), 1);
    assert!(
        live.contains(&after.secret().expose().to_owned()),
        "token() serves {} (revoked); live {live:?}",
        after.secret().expose()
    );
}

// ------------------------------------------------------------------ Insight.io

struct Insight {
    live: Mutex<Vec<String>>,
    creates: AtomicUsize,
}

impl Insight {
    fn creator(self: &Arc<Self>, delay: Duration) -> insight_tokens::Client {
        let server = self.clone();
        insight_tokens::Client::builder()
            .session_cookie("PLAY_SESSION=abc")
            .respond_with_async(move |request| {
                let now = SystemTime::now();
                let token = request
                    .headers()
                    .get("x-auth-token")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let mut live = server.live.lock().unwrap();
                let response = match request.method().as_str() {
                    "POST" => {
                        let n = server.creates.fetch_add(1, Ordering::SeqCst) + 1;
                        let t = format!("tok{n:0>40}");
                        live.push(t.clone());
                        reply(200, "application/json", format!(r#"{{"token":"{t}"}}"#), now)
                    }
                    "GET" if live.contains(&token) => reply(200, "application/json", "[]", now),
                    "GET" => reply(401, "application/json", r#"{"error":"Credentials required"}"#, now),
                    _ => {
                        live.retain(|t| *t != token);
                        reply(200, "application/json", "", now)
                    }
                };
                async move {
                    tokio::time::sleep(delay).await;
                    response
                }
            })
            .build()
            .expect("client")
    }
}

/// A refusal report during the user's `rotate()`: the load waits for the rotation,
/// then rotates again, revoking the token the user's rotation stored, which the cache
/// keeps (a load in flight does not overwrite a stored token).
#[tokio::test(start_paused = true)]
async fn an_insight_refusal_report_during_a_rotation_rotates_once() {
    let old = format!("tok{:0>40}", 0);
    let server = Arc::new(Insight {
        live: Mutex::new(vec![old.clone()]),
        creates: AtomicUsize::new(0),
    });
    let rotation =
        Arc::new(insight_tokens::Rotation::new(server.creator(Duration::from_secs(1)), old.clone()).expect("r"));
    let user = {
        let rotation = rotation.clone();
        tokio::spawn(async move { rotation.rotate().await })
    };
    tokio::time::sleep(10 * MS).await;
    assert!(rotation.report_refused(&Token::new(old.clone(), None)));
    let waiter = {
        let rotation = rotation.clone();
        tokio::spawn(async move { rotation.token().await })
    };
    let user = user.await.expect("task").expect("rotated");
    let waited = waiter.await.expect("task").expect("token");
    assert_eq!(waited.secret(), user.secret(), "the waiter got the rotation's token");
    tokio::time::sleep(Duration::from_secs(10)).await;
    let after = rotation.token().await.expect("token");
    let live = server.live.lock().unwrap().clone();
    assert!(
        live.contains(&after.secret().expose().to_owned()),
        "token() serves {} (revoked); live {live:?}",
        after.secret().expose()
    );
}

// ------------------------------------------------------------------ TigerGraph 4.x

/// A slow 4.x server (16 s an answer): the refresh (create, then drop the old JWT)
/// outlives the 30 s load timeout after the drop reached the server.
#[tokio::test(start_paused = true)]
async fn a_tigergraph_4x_refresh_outliving_the_load_timeout_keeps_the_new_jwt() {
    let tiger = Arc::new(TigerGraph::new(TgServer::V4).secret("s3cr3t-secret-value"));
    let server = tiger.clone();
    let slow = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let is_slow = slow.clone();
    let tg = tigergraph_tokens::Connection::builder("http://tg.invalid:14240")
        .secret("s3cr3t-secret-value")
        .generation(tigergraph_tokens::Generation::V4)
        .configure(move |b| {
            let server = server.clone();
            let is_slow = is_slow.clone();
            b.respond_with_async(move |request| {
                let response = server.answer(request);
                let slow = is_slow.load(Ordering::SeqCst);
                async move {
                    if slow {
                        tokio::time::sleep(Duration::from_secs(16)).await;
                    }
                    response
                }
            })
        })
        .build()
        .expect("connection");
    let first = tg.get(Some(Duration::from_secs(3600))).await.expect("token");
    slow.store(true, Ordering::SeqCst);
    tokio::time::advance(Duration::from_secs(3100)).await; // due (10 min lead)
    let served = TokenSource::token(&tg).await.expect("served");
    assert_eq!(served, first);
    tokio::time::sleep(Duration::from_secs(31)).await;
    let after = TokenSource::token(&tg).await.expect("token");
    let valid = tiger.jwt_valid(after.secret().expose());
    assert!(valid, "token() serves a JWT the connection itself dropped");
}

// ------------------------------------------------------------------ DoCluster

#[derive(Default)]
struct Cluster {
    logins: AtomicUsize,
    live: Mutex<Vec<String>>,
}

impl Cluster {
    fn client(self: &Arc<Self>, delay: Duration) -> docluster_tokens::Client {
        let cluster = self.clone();
        docluster_tokens::Client::builder()
            .base_url("http://cluster.invalid:3033/api")
            .respond_with_async(move |request| {
                let form: Vec<(String, String)> =
                    serde_urlencoded::from_bytes(request.body().and_then(|b| b.as_bytes()).unwrap_or_default())
                        .unwrap_or_default();
                let path = request.url().path().to_owned();
                let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
                let body = cluster.answer(&path, field("access_token"));
                let text = format!(
                    "{{\n \"msg\": {},\n \"status\": {},\n \"error\": {}\n}}",
                    body["msg"], body["status"], body["error"]
                );
                async move {
                    tokio::time::sleep(delay).await;
                    reply(200, "text/html; charset=utf-8", text, SystemTime::now())
                }
            })
            .build()
            .expect("client")
    }

    fn answer(&self, path: &str, token: Option<String>) -> serde_json::Value {
        let live = token.as_ref().is_some_and(|t| self.live.lock().unwrap().contains(t));
        if path.ends_with("/login") && token.is_none() {
            let n = self.logins.fetch_add(1, Ordering::SeqCst);
            let token: String = std::iter::repeat_n('A', 54)
                .chain(format!("{n:06}").bytes().map(|d| char::from(b'A' + (d - b'0'))))
                .collect();
            self.live.lock().unwrap().push(token.clone());
            return serde_json::json!({"msg": {"access_token": token}, "status": "success", "error": ""});
        }
        if !live {
            return serde_json::json!({"msg": {}, "status": "error", "error": "Token not found, please log in."});
        }
        if path.ends_with("/logout") {
            let token = token.unwrap_or_default();
            self.live.lock().unwrap().retain(|t| *t != token);
            return serde_json::json!({"msg": "", "status": "success", "error": ""});
        }
        serde_json::json!({"msg": {"tokens": {}}, "status": "success", "error": ""})
    }
}

/// `logout` while a re-login is in flight: logout returns Ok without a request, the
/// login lands, the session's call goes on with it, and the server keeps it live.
#[tokio::test(start_paused = true)]
async fn a_logout_racing_a_relogin_ends_the_session_and_its_new_token() {
    let cluster = Arc::new(Cluster::default());
    let session = Arc::new(
        docluster_tokens::Session::login(cluster.client(Duration::from_secs(1)), "admin", "admin")
            .await
            .expect("login"),
    );
    cluster.live.lock().unwrap().clear(); // the server restarted
    let call = {
        let session = session.clone();
        tokio::spawn(async move { session.run(|c| async move { c.list_tokens().send().await }).await })
    };
    tokio::time::sleep(Duration::from_millis(1500)).await; // refused at 1 s, re-login in flight
    session.logout().await.expect("logout");
    let outcome = call.await.expect("task");
    let live = cluster.live.lock().unwrap().clone();
    assert!(
        live.is_empty(),
        "a live session remains after logout returned Ok: {live:?}"
    );
    assert_eq!(
        outcome.as_ref().err().map(|e| e.kind()),
        Some(ErrorKind::Closed),
        "a call completed with a new login after logout"
    );
}

// ------------------------------------------------------------------ the mechanism

/// A loader whose closure (not its future) panics: the caller should see the panic,
/// and the cache should stay usable. Run on a thread of its own with a deadline.
#[test]
fn a_loader_closure_that_panics_leaves_the_cache_usable() {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let source = CachedTokenSource::new(
            "probe",
            RefreshPolicy::default().backoff(MS, MS),
            move |_: Option<Token>| -> std::future::Ready<Result<Token, Error>> {
                if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                    panic!("loader closure panics");
                }
                std::future::ready(Ok(Token::new("t", None)))
            },
        );
        let first = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runtime.block_on(source.token())));
        let _ = tx.send(format!("first call returned: panicked={}", first.is_err()));
        std::thread::sleep(Duration::from_millis(20));
        let second = runtime.block_on(source.token());
        let _ = tx.send(format!("second call: {:?}", second.map(|t| t.expiry())));
    });
    let first = rx.recv_timeout(Duration::from_secs(5));
    let second = rx.recv_timeout(Duration::from_secs(5));
    assert!(first.is_ok(), "the first token() never returned: the cache deadlocked");
    assert!(second.is_ok(), "the second token() never returned");
}

/// A loader whose future panics: its waiters get an error, the next load works.
#[tokio::test(start_paused = true)]
async fn a_loader_future_that_panics_fails_its_waiters_once() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let source = Arc::new(CachedTokenSource::new(
        "probe",
        RefreshPolicy::default(),
        move |_: Option<Token>| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                tokio::time::sleep(MS).await;
                if n == 0 {
                    panic!("loader future panics");
                }
                Ok(Token::new("t", None))
            }
        },
    ));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let s = source.clone();
        set.spawn(async move { s.token().await });
    }
    let outcomes = set.join_all().await;
    assert!(outcomes.iter().all(|o| o.is_err()), "{outcomes:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    tokio::time::sleep(Duration::from_secs(2)).await;
    source.token().await.expect("the next load works");
}

/// A token of unknown expiry whose replacement keeps failing is served for hours.
#[tokio::test(start_paused = true)]
async fn a_token_of_unknown_expiry_is_not_kept_while_its_replacement_fails() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let source = CachedTokenSource::new("probe", RefreshPolicy::default(), move |_: Option<Token>| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            if n == 0 {
                Ok(Token::with_expiry("unknown-expiry-token", Expiry::Unknown))
            } else {
                Err(Error::from_sdk(ErrorKind::Transport, "probe", "down"))
            }
        }
    });
    source.token().await.expect("first");
    for _ in 0..(6 * 60) {
        tokio::time::advance(Duration::from_secs(60)).await;
        let _ = source.token().await;
        tokio::task::yield_now().await;
    }
    let after = source.token().await;
    assert!(
        after.is_err(),
        "an unknown-expiry token is kept for 6 h (never replaced)"
    );
}

/// No tokio runtime: a manual poll with a no-op waker.
#[test]
fn without_a_tokio_runtime_token_answers_at_once() {
    use std::future::Future;
    let source = CachedTokenSource::new("probe", RefreshPolicy::default(), |_: Option<Token>| async {
        Ok(Token::new("t", None))
    });
    let mut future = std::pin::pin!(source.token());
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(Err(error)) => assert_eq!(error.kind(), ErrorKind::InvalidArgument),
        std::task::Poll::Ready(Ok(_)) => panic!("loaded without a runtime"),
        std::task::Poll::Pending => panic!("pending forever without a runtime"),
    }
}

// ------------------------------------------------------------------ clock skew (ICA)

fn ica(date: SystemTime, iat: SystemTime, exp: SystemTime, creates: Arc<AtomicUsize>) -> ica_tokens::JwtSource {
    let client = ica_tokens::Client::builder()
        .api_key("ica-api-key-123")
        .respond_with(move |_request| {
            let n = creates.fetch_add(1, Ordering::SeqCst);
            let token = jwt(iat, exp, n);
            reply(
                200,
                "application/vnd.illumina.v3+json",
                format!(r#"{{"token": "{token}"}}"#),
                date,
            )
        })
        .build()
        .expect("client");
    ica_tokens::JwtSource::new(client)
}

#[tokio::test(start_paused = true)]
async fn a_date_header_from_1970_does_not_stretch_a_jwt() {
    let now = SystemTime::now();
    let creates = Arc::new(AtomicUsize::new(0));
    let source = ica(
        SystemTime::UNIX_EPOCH + Duration::from_secs(1),
        now,
        now + Duration::from_secs(3600),
        creates.clone(),
    );
    let token = source.token().await.expect("token");
    let left = token
        .expires_at()
        .map(|at| at.duration_since(now).unwrap_or_default().as_secs());
    tokio::time::advance(Duration::from_secs(2 * 3600)).await;
    let later = source.token().await.expect("token");
    assert!(left.is_some_and(|l| l <= 3600), "a 1 h JWT kept for {left:?} s");
    assert_ne!(later, token, "replaced once its hour was over");
}

#[tokio::test(start_paused = true)]
async fn a_date_contradicting_the_jwt_is_not_believed() {
    let now = SystemTime::now();
    let creates = Arc::new(AtomicUsize::new(0));
    // Date: server 2 h behind; JWT iat: server 1 h ahead.
    let source = ica(
        now - Duration::from_secs(7200),
        now + Duration::from_secs(3600),
        now + Duration::from_secs(7200),
        creates.clone(),
    );
    let token = source.token().await.expect("token");
    let left = token
        .expires_at()
        .map(|at| at.duration_since(now).unwrap_or_default().as_secs());
    assert!(
        left.is_some_and(|l| (3590..=3601).contains(&l)),
        "{left:?}: the JWT's own hour"
    );
    let issued = token.issued_at().map(|at| {
        at.duration_since(now)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_else(|e| -(e.duration().as_secs() as i64))
    });
    assert!(
        issued.is_none_or(|i| i <= 2),
        "a token issued {issued:?} s in our future"
    );
}

// ------------------------------------------------------------------ secrets in Debug

#[tokio::test(start_paused = true)]
async fn lifecycle_types_print_no_secret() {
    let cluster = Arc::new(Cluster::default());
    let session = docluster_tokens::Session::login(cluster.client(MS), "admin", "admin-password-123456")
        .await
        .expect("login");
    let token = session.token().await.expect("token");
    let account = Account::new(MS);
    let rotation = fastly_tokens::Rotation::new(account.login(), "key0-abcdefghijklmnopqrstuvwxyz")
        .await
        .err();
    let text = format!("{session:?} {session:#?} {rotation:?}");
    // What they do print: their state, without its secrets.
    assert!(
        text.starts_with("Session {") && text.contains("has_login: true"),
        "{text}"
    );
    for secret in [token.secret().expose(), "admin-password-123456"] {
        for i in 0..=secret.len().saturating_sub(12) {
            assert!(!text.contains(&secret[i..i + 12]), "{text}");
        }
    }
}

// ------------------------------------------------------------------ more neighbours

fn tg_async<F>(respond: F) -> tigergraph_tokens::Connection
where
    F: Fn(&reqwest::Request) -> std::pin::Pin<Box<dyn std::future::Future<Output = http::Response<Vec<u8>>> + Send>>
        + Send
        + Sync
        + 'static,
{
    let respond = Arc::new(respond);
    tigergraph_tokens::Connection::builder("http://tg.invalid:14240")
        .secret("s3cr3t-secret-value")
        .configure(move |b| {
            let respond = respond.clone();
            b.respond_with_async(move |r| respond(r))
        })
        .build()
        .expect("connection")
}

#[tokio::test(start_paused = true)]
async fn a_tigergraph_server_answering_404_to_everything_is_endpoint_absent() {
    let tg = tg_async(|_request| {
        let now = SystemTime::now();
        Box::pin(async move { reply(404, "text/html", "<html>404 Not Found</html>", now) })
    });
    let error = tg.get(None).await.expect_err("nothing");
    assert_eq!(
        error.category(),
        Some(api_tokens_runtime::Category::EndpointAbsent),
        "{error}"
    );
    assert!(error.to_string().contains("REST++ authentication"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn a_created_fastly_token_that_is_empty_changes_nothing() {
    let now = SystemTime::now();
    let creates = Arc::new(AtomicUsize::new(0));
    let seen = creates.clone();
    let login = fastly_tokens::Client::builder()
        .username_and_password("me@example.com", "pw")
        .respond_with(move |request| {
            let json = "application/json";
            let meta = |id: &str| {
                serde_json::json!({
                    "id": id, "name": "ci", "scope": "global", "services": [],
                    "created_at": chrono::DateTime::<chrono::Utc>::from(now - Duration::from_secs(29 * 86_400)).to_rfc3339(),
                    "expires_at": chrono::DateTime::<chrono::Utc>::from(now + Duration::from_secs(86_400)).to_rfc3339(),
                    "last_used_at": null, "ip": null, "user_id": "u1",
                })
            };
            match (request.method().as_str(), request.url().path()) {
                ("POST", "/tokens") => {
                    seen.fetch_add(1, Ordering::SeqCst);
                    let mut created = meta("id1");
                    created["access_token"] = "".into();
                    reply(200, json, created.to_string(), now)
                }
                ("GET", "/tokens/self") => reply(200, json, meta("id0").to_string(), now),
                _ => reply(204, json, "", now),
            }
        })
        .build()
        .expect("client");
    let rotation = fastly_tokens::Rotation::new(login, "key0").await.expect("rotation");
    let outcome = rotation.rotate().await;
    let error = outcome.expect_err("an empty token is no token");
    assert_eq!(error.step(), api_tokens_runtime::RotationStep::Create);
    assert!(error.unrevoked_new().is_none());
    assert_eq!(creates.load(Ordering::SeqCst), 1);
    let token = TokenSource::token(&rotation).await.expect("the old one");
    assert_eq!(token.secret().expose(), "key0");
}

/// What the mutation run of transport.rs left alive: a body without Content-Length is
/// read chunk by chunk, within the limit from its first chunk on; an error answer keeps
/// its headers.
#[tokio::test]
async fn bodies_without_a_length_are_read_within_the_limit_and_error_answers_keep_their_headers() {
    use api_tokens_tests::{RawServer, Reply};
    let body = br#"{"token": "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"}"#.to_vec();
    let server = RawServer::start(Reply::Streamed {
        status: 200,
        body: body.clone(),
        split: true,
    });
    let client = |limit: usize| {
        ica_tokens::Client::builder()
            .base_url(server.url())
            .api_key("ica-api-key-123")
            .max_body_bytes(limit)
            .max_retries(0)
            .build()
            .expect("client")
    };
    // Two chunks within the limit, also when they fill it exactly.
    let length = br#"{"token": "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"}"#.len();
    for limit in [1024, length] {
        let answer = client(limit)
            .create_jwt_token()
            .send()
            .await
            .expect("a small streamed answer");
        assert_eq!(answer.into_inner().token.expose(), "eyJhbGciOiJSUzI1NiJ9.e30.c2ln");
    }
    // A byte over the limit, and a first chunk alone over it: too large.
    for limit in [length - 1, 16] {
        let error = client(limit).create_jwt_token().send().await.expect_err("too large");
        assert_eq!(
            error.kind(),
            api_tokens_runtime::ErrorKind::BodyTooLarge,
            "limit {limit}"
        );
    }
    // One chunk exactly at the limit is read; one a byte over is not.
    server.set(Reply::Streamed {
        status: 200,
        body,
        split: false,
    });
    client(length)
        .create_jwt_token()
        .send()
        .await
        .expect("one chunk at the limit");
    let error = client(length - 1)
        .create_jwt_token()
        .send()
        .await
        .expect_err("too large");
    assert_eq!(error.kind(), api_tokens_runtime::ErrorKind::BodyTooLarge);
    // An error answer's headers reach the error.
    let mock_server = httpmock::MockServer::start_async().await;
    mock_server
        .mock_async(|when, then| {
            when.any_request();
            then.status(503).header("x-request-id", "req-77").body("busy");
        })
        .await;
    let error = ica_tokens::Client::builder()
        .base_url(mock_server.base_url())
        .api_key("ica-api-key-123")
        .max_retries(0)
        .build()
        .expect("client")
        .create_jwt_token()
        .send()
        .await
        .expect_err("503");
    let headers = error.headers().expect("the answer's headers");
    assert_eq!(
        headers.get("x-request-id").and_then(|v| v.to_str().ok()),
        Some("req-77")
    );
}

#[test]
fn a_calls_future_is_no_larger_than_the_same_call_written_with_reqwest() {
    // A task spawned per call allocates and moves the call's future. It was 13 KB: each
    // layer around a generated call held the call again (an `async fn` keeps its
    // argument beside the future it awaits), progenitor's hooks kept the request and its
    // result across their awaits, and `ResponseValue::from_response` added 944 bytes.
    let client = fastly_tokens::Client::builder().token("k").build().expect("client");
    let call = client.get_token().token_id("t1").send();
    let raw = reqwest::Client::new();
    let hand_written = async {
        let response = raw
            .get("http://127.0.0.1/tokens/t1")
            .header("fastly-key", "k")
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await?;
        let body = response.bytes().await?;
        Ok::<_, reqwest::Error>(serde_json::from_slice::<fastly_tokens::types::TokenResponse>(&body).is_ok())
    };
    // What a call adds (its record, its span) stays within the 15% the benchmark allows
    // the bytes a call allocates.
    let (call, hand_written) = (std::mem::size_of_val(&call), std::mem::size_of_val(&hand_written));
    assert!(
        call * 100 <= hand_written * 115,
        "a call's future is {call} bytes, the hand-written call's {hand_written}"
    );
}

#[tokio::test]
async fn an_answer_announcing_more_than_the_limit_is_refused_before_its_body() {
    // The body never comes: only its announced length can refuse it, at once.
    use api_tokens_tests::{RawServer, Reply};
    for (status, length) in [(200, 100 * 1024 * 1024), (500, 1024 * 1024)] {
        let server = RawServer::start(Reply::Announced { status, length });
        let client = ica_tokens::Client::builder()
            .base_url(server.url())
            .api_key("ica-api-key-123")
            .operation_timeout(Duration::from_secs(5))
            .max_retries(0)
            .build()
            .expect("client");
        let error = client.create_jwt_token().send().await.expect_err("too large");
        assert_eq!(
            error.kind(),
            api_tokens_runtime::ErrorKind::BodyTooLarge,
            "{status}: {error}"
        );
    }
}

/// A Fastly client of `server` whose every call has `timeout` in all.
fn fastly_with_timeout(server: &httpmock::MockServer, timeout: Duration) -> fastly_tokens::Client {
    fastly_tokens::Client::builder()
        .base_url(server.base_url())
        .token("FastlyKey-q7Wm2xR9vL4t")
        .operation_timeout(timeout)
        .build()
        .expect("client")
}

/// `GET /tokens/t1` answered with a token after `delay`.
fn token_after(server: &httpmock::MockServer, delay: Duration) -> httpmock::Mock<'_> {
    server.mock(|when, then| {
        when.method("GET").path("/tokens/t1");
        then.status(200)
            .header("content-type", "application/json")
            .body(r#"{"id": "t1", "services": [], "name": "n", "scope": "global"}"#)
            .delay(delay);
    })
}

#[tokio::test]
async fn a_call_built_ahead_has_its_whole_operation_timeout_from_its_first_poll() {
    // An `async fn` starts nothing before it is polled: neither may a call. Its clock
    // once started when it was built, so calls built together and awaited one after
    // another timed out, the later ones without sending anything.
    let server = httpmock::MockServer::start_async().await;
    let answered = token_after(&server, Duration::from_millis(300));
    let client = fastly_with_timeout(&server, Duration::from_millis(800));
    let later = client.get_token().token_id("t1").send();
    tokio::time::sleep(Duration::from_millis(900)).await;
    later
        .await
        .expect("built before its timeout would have run out, polled after");
    let calls: Vec<_> = (0..4).map(|_| client.get_token().token_id("t1").send()).collect();
    for call in calls {
        call.await.expect("each has its own 800 ms from its first poll");
    }
    assert_eq!(answered.calls(), 5);
}

#[tokio::test]
async fn a_calls_span_is_a_child_of_the_span_it_is_awaited_in() {
    use tracing::Instrument;
    let server = httpmock::MockServer::start_async().await;
    token_after(&server, Duration::ZERO);
    let client = fastly_with_timeout(&server, Duration::from_secs(5));
    let capture = api_tokens_tests::capture_tracing();
    let call = client.get_token().token_id("t1").send();
    call.instrument(tracing::info_span!("caller_request"))
        .await
        .expect("token");
    let text = capture.text();
    assert!(text.contains("caller_request:call{"), "{text}");
    // Built and dropped unpolled: nothing starts, nothing is traced.
    drop(client.get_token().token_id("t2").send());
    assert_eq!(capture.text().matches("call{").count(), text.matches("call{").count());
}

#[tokio::test]
async fn a_refused_call_polled_again_stays_refused_and_sends_nothing() {
    // A `select!` loop that does not stop at the first result polls it again: the
    // refused request (to `/`, with the key) must not go then either.
    let server = httpmock::MockServer::start_async().await;
    let any = server.mock(|when, then| {
        when.any_request();
        then.status(200).body("{}");
    });
    let client = fastly_with_timeout(&server, Duration::from_secs(5));
    for id in ["", ".", ".."] {
        let mut call = Box::pin(client.get_token().token_id(id).send());
        for _ in 0..3 {
            let refused = (&mut call).await.expect_err("refused");
            assert_eq!(refused.kind(), ErrorKind::InvalidArgument, "{refused}");
        }
    }
    assert_eq!(any.calls(), 0);
}

#[tokio::test]
async fn a_success_announced_huge_and_sent_in_a_trickle_pins_no_room_for_it() {
    // The room for a body grows with what has come, never to what is announced before
    // it comes: a terabyte announced once aborted the process, allocating it.
    use api_tokens_tests::{RawServer, Reply};
    for length in [8_000_000_u64, 1 << 40] {
        let server = RawServer::start(Reply::Trickle {
            status: 200,
            length,
            chunks: vec![b"{\"".to_vec(), b"id".to_vec(), b"\": ".to_vec()],
        });
        let client = fastly_tokens::Client::builder()
            .base_url(server.url())
            .token("FastlyKey-q7Wm2xR9vL4t")
            .max_body_bytes(usize::MAX)
            .operation_timeout(Duration::from_millis(600))
            .build()
            .expect("client");
        let error = client.get_token().token_id("t1").send().await.expect_err("stalls");
        assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
    }
}

#[tokio::test]
async fn a_success_in_several_chunks_decodes_whole() {
    use api_tokens_tests::{RawServer, Reply};
    let parts: [&[u8]; 4] = [
        br#"{"id": "t"#,
        br#"1", "name": "#,
        br#""deploy", "#,
        br#""services": [], "scope": "global"}"#,
    ];
    let server = RawServer::start(Reply::Trickle {
        status: 200,
        length: parts.iter().map(|p| p.len() as u64).sum(),
        chunks: parts.iter().map(|p| p.to_vec()).collect(),
    });
    let client = fastly_tokens::Client::builder()
        .base_url(server.url())
        .token("FastlyKey-q7Wm2xR9vL4t")
        .build()
        .expect("client");
    let token = client
        .get_token()
        .token_id("t1")
        .send()
        .await
        .expect("whole")
        .into_inner();
    assert_eq!((token.id.as_str(), token.name.as_deref()), ("t1", Some("deploy")));
}

#[tokio::test]
async fn a_call_cancelled_mid_way_is_dropped_in_its_span() {
    // What a call's parts log as they are dropped (hyper's pool, a responder here) is
    // the call's, as when `tracing`'s `Instrumented` wrapped it.
    struct LogsOnDrop;
    impl Drop for LogsOnDrop {
        fn drop(&mut self) {
            tracing::info!("answer abandoned");
        }
    }
    let client = fastly_tokens::Client::builder()
        .token("FastlyKey-q7Wm2xR9vL4t")
        .respond_with_async(|_| {
            let guard = LogsOnDrop;
            async move {
                let _guard = guard;
                std::future::pending::<http::Response<Vec<u8>>>().await
            }
        })
        .build()
        .expect("client");
    let capture = api_tokens_tests::capture_tracing();
    let call = client.get_token().token_id("t1").send();
    tokio::time::timeout(Duration::from_millis(50), call)
        .await
        .expect_err("cancelled");
    let text = capture.text();
    let line = text
        .lines()
        .find(|l| l.contains("answer abandoned"))
        .unwrap_or_default();
    assert!(line.contains("call{"), "{text}");
}

#[tokio::test]
async fn a_finished_call_polled_again_sends_nothing_more() {
    use std::future::Future;
    let server = httpmock::MockServer::start_async().await;
    let answered = token_after(&server, Duration::ZERO);
    let client = fastly_with_timeout(&server, Duration::from_secs(5));
    let mut call = Box::pin(client.get_token().token_id("t1").send());
    (&mut call).await.expect("token");
    let again = std::future::poll_fn(|cx| std::task::Poll::Ready(call.as_mut().poll(cx).is_pending())).await;
    assert!(again, "a finished call finishes no more");
    assert_eq!(answered.calls(), 1);
}
