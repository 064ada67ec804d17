//! Token lifecycles against in-process servers, on tokio's paused clock: no test sleeps.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use base64::Engine;

/// A JWT expiring `after` from now (the payload is all that matters here).
fn jwt(after: Duration, n: usize) -> String {
    let exp = (SystemTime::now() + after)
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let encode = |json: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json);
    format!(
        "{}.{}.sig{n}",
        encode(r#"{"alg":"HS256"}"#.to_owned()),
        encode(format!(r#"{{"sub":"u","exp":{exp}}}"#))
    )
}

/// What an in-process server saw: paths, and the bearer tokens of refreshes.
#[derive(Default)]
struct Seen {
    creates: AtomicUsize,
    refreshes: AtomicUsize,
    refused: AtomicBool,
    bearers: Mutex<Vec<String>>,
}

/// An ICA server minting one-hour JWTs; refreshes are refused while `seen.refused`.
fn ica(seen: Arc<Seen>) -> impl Fn(&reqwest::Request) -> http::Response<Vec<u8>> + Send + Sync + 'static {
    move |request| {
        let v3 = "application/vnd.illumina.v3+json";
        let (status, body) = if request.url().path().ends_with(":refresh") {
            let n = seen.refreshes.fetch_add(1, Ordering::SeqCst);
            if let Some(bearer) = request.headers().get("authorization").and_then(|v| v.to_str().ok()) {
                seen.bearers.lock().expect("lock").push(bearer.to_owned());
            }
            if seen.refused.load(Ordering::SeqCst) {
                (401, r#"{"type": "about:blank", "title": "Unauthorized", "status": 401, "parameters": {}, "timestamp": "2024-08-23T02:33:25Z"}"#.to_owned())
            } else {
                (
                    200,
                    format!(r#"{{"token": "{}"}}"#, jwt(Duration::from_secs(3600), 100 + n)),
                )
            }
        } else {
            let n = seen.creates.fetch_add(1, Ordering::SeqCst);
            (200, format!(r#"{{"token": "{}"}}"#, jwt(Duration::from_secs(3600), n)))
        };
        let mut response = http::Response::new(body.into_bytes());
        *response.status_mut() = http::StatusCode::from_u16(status).expect("status");
        let media = if status == 200 { v3 } else { "application/problem+json" };
        response
            .headers_mut()
            .insert("content-type", media.parse().expect("value"));
        response
    }
}

#[tokio::test(start_paused = true)]
async fn ica_jwt_from_an_api_key_is_created_again_before_exp() {
    let seen = Arc::new(Seen::default());
    let client = ica_tokens::Client::builder()
        .api_key("ica-api-key-123")
        .respond_with(ica(seen.clone()))
        .build()
        .expect("client");
    let source = ica_tokens::JwtSource::new(client);
    let first = source.token().await.expect("jwt");
    assert!(first.expires_at().is_some(), "the exp claim is read");
    source.token().await.expect("cached");
    assert_eq!(seen.creates.load(Ordering::SeqCst), 1);
    // Five minutes before exp: created again, never refreshed.
    tokio::time::advance(Duration::from_secs(3301)).await;
    let second = source.token().await.expect("jwt");
    assert_ne!(first, second);
    assert_eq!(
        (
            seen.creates.load(Ordering::SeqCst),
            seen.refreshes.load(Ordering::SeqCst)
        ),
        (2, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn ica_jwt_from_a_ps_token_is_refreshed_then_created_when_refused() {
    let seen = Arc::new(Seen::default());
    let client = ica_tokens::Client::builder()
        .ps_token("ps-token-123456")
        .respond_with(ica(seen.clone()))
        .build()
        .expect("client");
    let source = ica_tokens::JwtSource::new(client);
    let first = source.token().await.expect("jwt");
    tokio::time::advance(Duration::from_secs(3301)).await;
    let refreshed = source.token().await.expect("refreshed");
    assert_eq!(seen.refreshes.load(Ordering::SeqCst), 1);
    // The refresh sent the JWT it replaces.
    let bearers = seen.bearers.lock().expect("lock").clone();
    assert_eq!(bearers, [format!("Bearer {}", first.secret().expose())]);
    // ICA refuses the next refresh: a new JWT is created instead.
    seen.refused.store(true, Ordering::SeqCst);
    tokio::time::advance(Duration::from_secs(3301)).await;
    let created = source.token().await.expect("created");
    assert_ne!(created, refreshed);
    assert_eq!(
        (
            seen.creates.load(Ordering::SeqCst),
            seen.refreshes.load(Ordering::SeqCst)
        ),
        (2, 2)
    );
}

/// A DoCluster server: logins mint tokens; a token the test marks `expired` is
/// answered as the server does; `foreign` answers every token as bound to another IP.
#[derive(Default)]
struct Cluster {
    logins: AtomicUsize,
    calls: AtomicUsize,
    valid: Mutex<Vec<String>>,
    foreign: AtomicBool,
    logged_out: Mutex<Vec<String>>,
}

fn docluster(cluster: Arc<Cluster>) -> impl Fn(&reqwest::Request) -> http::Response<Vec<u8>> + Send + Sync + 'static {
    move |request| {
        let form: Vec<(String, String)> =
            serde_urlencoded::from_bytes(request.body().and_then(|b| b.as_bytes()).unwrap_or_default())
                .unwrap_or_default();
        let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let path = request.url().path().to_owned();
        let fail = |message: &str| serde_json::json!({"msg": {}, "status": "error", "error": message});
        let body = if path.ends_with("/login") && field("access_token").is_none() {
            let n = cluster.logins.fetch_add(1, Ordering::SeqCst);
            let token = format!("TOKEN{n:0>55}");
            cluster.valid.lock().expect("lock").push(token.clone());
            serde_json::json!({"msg": {"access_token": token}, "status": "success", "error": ""})
        } else {
            cluster.calls.fetch_add(1, Ordering::SeqCst);
            let token = field("access_token").unwrap_or_default();
            if cluster.foreign.load(Ordering::SeqCst) {
                fail("The token is not important for this IP address, please log in.")
            } else if !cluster.valid.lock().expect("lock").contains(&token) {
                fail("Token expired please log in.")
            } else if path.ends_with("/logout") {
                cluster.logged_out.lock().expect("lock").push(token);
                serde_json::json!({"msg": "", "status": "success", "error": ""})
            } else if path.ends_with("/tokens") {
                serde_json::json!({"msg": {"tokens": {}}, "status": "success", "error": ""})
            } else {
                serde_json::json!({"msg": {}, "status": "success", "error": ""})
            }
        };
        let mut response = http::Response::new(serde_json::to_vec_pretty(&body).expect("json"));
        response
            .headers_mut()
            .insert("content-type", "text/html; charset=utf-8".parse().expect("value"));
        response
    }
}

fn cluster_client(cluster: &Arc<Cluster>) -> docluster_tokens::Client {
    docluster_tokens::Client::builder()
        .base_url("http://cluster.invalid:3033/api")
        .respond_with(docluster(cluster.clone()))
        .build()
        .expect("client")
}

#[tokio::test(start_paused = true)]
async fn docluster_session_logs_in_again_once_when_the_token_expired() {
    let cluster = Arc::new(Cluster::default());
    let session = docluster_tokens::Session::login(cluster_client(&cluster), "admin", "admin")
        .await
        .expect("login");
    let list = |c: docluster_tokens::Client| async move { c.list_tokens().send().await };
    session.run(list).await.expect("listed");
    assert_eq!(cluster.logins.load(Ordering::SeqCst), 1);
    // The server forgets the token (its own, shorter window): one transparent login.
    cluster.valid.lock().expect("lock").clear();
    session.run(list).await.expect("listed after a new login");
    assert_eq!(cluster.logins.load(Ordering::SeqCst), 2);
    // Past the tracked window, the session logs in before the call.
    tokio::time::advance(docluster_tokens::DEFAULT_WINDOW + Duration::from_secs(1)).await;
    let token = session.token().await.expect("token");
    assert_eq!(cluster.logins.load(Ordering::SeqCst), 3);
    assert!(token.expires_at().is_some_and(|at| at > SystemTime::now()));
    // A token bound to another IP is refused, and logging in again would not help.
    cluster.foreign.store(true, Ordering::SeqCst);
    let error = session.run(list).await.expect_err("foreign IP");
    assert_eq!(error.category(), Some(docluster_tokens::Category::Refused));
    assert!(error.vendor_note().is_some());
    assert_eq!(cluster.logins.load(Ordering::SeqCst), 3);
    cluster.foreign.store(false, Ordering::SeqCst);
    session.logout().await.expect("logged out");
    assert_eq!(cluster.logged_out.lock().expect("lock").len(), 1);
}

#[tokio::test(start_paused = true)]
async fn docluster_session_resumes_a_saved_token_after_checking_it() {
    let cluster = Arc::new(Cluster::default());
    let saved = format!("TOKEN{:0>55}", 0);
    cluster.valid.lock().expect("lock").push(saved.clone());
    let session = docluster_tokens::Session::resume(cluster_client(&cluster), saved.as_str(), None)
        .await
        .expect("saved token is good");
    assert_eq!(
        (
            cluster.logins.load(Ordering::SeqCst),
            cluster.calls.load(Ordering::SeqCst)
        ),
        (0, 1)
    );
    assert_eq!(session.token().await.expect("token").secret().expose(), saved);
    // A stale saved token with a login: logs in.
    let login = Some(("admin".to_owned(), docluster_tokens::Secret::new("admin")));
    docluster_tokens::Session::resume(cluster_client(&cluster), "STALE", login)
        .await
        .expect("logged in instead");
    assert_eq!(cluster.logins.load(Ordering::SeqCst), 1);
    // Without a login, the refusal is the answer, typed.
    let error = docluster_tokens::Session::resume(cluster_client(&cluster), "STALE", None)
        .await
        .expect_err("stale");
    assert_eq!(error.category(), Some(docluster_tokens::Category::Expired));
}

/// A TigerGraph server of one generation, behind nginx on one port (`/restpp` for
/// REST++): what it saw, and the tokens it holds.
struct Tiger {
    generation: tigergraph_tokens::Generation,
    secret: &'static str,
    live: Mutex<Vec<String>>,
    requests: Mutex<Vec<String>>,
}

fn tigergraph(tiger: Arc<Tiger>) -> impl Fn(&reqwest::Request) -> http::Response<Vec<u8>> + Send + Sync + 'static {
    use tigergraph_tokens::Generation;
    move |request| {
        let path = request.url().path().to_owned();
        let query: Vec<(String, String)> = request.url().query_pairs().into_owned().collect();
        let param = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let body = request.body().and_then(|b| b.as_bytes()).unwrap_or_default().to_vec();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let field = |name: &str| json.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        tiger
            .requests
            .lock()
            .expect("lock")
            .push(format!("{} {path}", request.method()));
        let reply = |status: u16, body: String| {
            let mut response = http::Response::new(body.into_bytes());
            *response.status_mut() = http::StatusCode::from_u16(status).expect("status");
            response
        };
        let ok = |token: &str, expiration: serde_json::Value| {
            reply(
                200,
                serde_json::json!({"code": "REST-0000", "error": false, "message": "ok", "expiration": expiration, "token": token})
                    .to_string(),
            )
        };
        let fail = |code: &str, message: &str| {
            reply(
                200,
                serde_json::json!({"code": code, "error": true, "message": message}).to_string(),
            )
        };
        let mint = |live: &Mutex<Vec<String>>| {
            let mut live = live.lock().expect("lock");
            let token = format!("tok{:0>29}", live.len());
            live.push(token.clone());
            token
        };
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs();
        match (tiger.generation, request.method().as_str(), path.as_str()) {
            (Generation::V4, "POST", "/gsql/v1/tokens") => {
                let lifetime_ms = json.get("lifetime").and_then(|v| v.as_u64()).unwrap_or(604_800_000);
                let jwt = jwt(
                    Duration::from_millis(lifetime_ms),
                    tiger.live.lock().expect("lock").len(),
                );
                tiger.live.lock().expect("lock").push(jwt.clone());
                reply(
                    200,
                    serde_json::json!({"error": false, "message": "ok", "token": jwt}).to_string(),
                )
            }
            (Generation::V4, "DELETE", "/gsql/v1/tokens") => reply(
                200,
                r#"{"error": false, "message": "Successfully dropped the specified JWT tokens"}"#.to_owned(),
            ),
            (_, _, "/gsql/v1/tokens") => reply(404, "<html><body>404 Not Found</body></html>".to_owned()),
            (Generation::V3_5, "POST", "/restpp/requesttoken") if field("secret").as_deref() == Some(tiger.secret) => {
                let lifetime: u64 = field("lifetime").and_then(|l| l.parse().ok()).unwrap_or(2_592_000);
                ok(&mint(&tiger.live), (now + lifetime).into())
            }
            (Generation::V3_5, "PUT", "/restpp/requesttoken") => {
                let token = field("token").unwrap_or_default();
                let lifetime: u64 = field("lifetime").and_then(|l| l.parse().ok()).unwrap_or(2_592_000);
                ok(&token, (now + lifetime).into())
            }
            (Generation::V3_5 | Generation::V3_0, "DELETE", "/restpp/requesttoken") => {
                let token = field("token").or(param("token")).unwrap_or_default();
                let mut live = tiger.live.lock().expect("lock");
                match live.iter().position(|t| *t == token) {
                    Some(i) => {
                        live.remove(i);
                        ok(&token, (-1).into())
                    }
                    None => fail("REST-3300", "The token doesn't exist."),
                }
            }
            (Generation::V3_0, "POST", "/restpp/requesttoken") if body == tiger.secret.as_bytes() => {
                let lifetime: u64 = param("lifetime").and_then(|l| l.parse().ok()).unwrap_or(2_592_000);
                ok(&mint(&tiger.live), (now + lifetime).into())
            }
            (Generation::V3_0, "PUT", "/restpp/requesttoken") => {
                // The 3.0–3.4 bug: the lifetime where the expiry should be.
                let lifetime: u64 = param("lifetime").and_then(|l| l.parse().ok()).unwrap_or(2_592_000);
                ok(&param("token").unwrap_or_default(), lifetime.into())
            }
            _ => fail("REST-10016", "Access Denied because the input secret is invalid"),
        }
    }
}

async fn tiger_connection(generation: tigergraph_tokens::Generation) -> (Arc<Tiger>, tigergraph_tokens::Connection) {
    let tiger = Arc::new(Tiger {
        generation,
        secret: "tg-secret-0123456789",
        live: Mutex::default(),
        requests: Mutex::default(),
    });
    let server = tiger.clone();
    let connection = tigergraph_tokens::Connection::builder("http://tg.invalid:14240")
        .secret("tg-secret-0123456789")
        .configure(move |builder| builder.respond_with(tigergraph(server.clone())))
        .build()
        .expect("connection");
    (tiger, connection)
}

#[tokio::test]
async fn tigergraph_connection_detects_each_generation_and_remembers_it() {
    use tigergraph_tokens::Generation;
    for generation in [Generation::V4, Generation::V3_5, Generation::V3_0] {
        let (tiger, tg) = tiger_connection(generation).await;
        // The seed task: get with a lifetime, its expiry, refresh, delete skipping missing.
        let token = tg.get(Some(Duration::from_secs(3600))).await.expect("token");
        let expires = token.expires_at().expect("an expiry");
        let in_an_hour = SystemTime::now() + Duration::from_secs(3600);
        let off = expires
            .max(in_an_hour)
            .duration_since(expires.min(in_an_hour))
            .expect("ordered");
        assert!(
            off < Duration::from_secs(5),
            "{generation:?}: the lifetime is an hour, in the server's unit"
        );
        assert_eq!(tg.generation().await, Some(generation));
        let refreshed = tg
            .refresh(None, Some(Duration::from_secs(7200)))
            .await
            .expect("refreshed");
        assert!(refreshed.expires_at() > token.expires_at(), "{generation:?}");
        tg.delete(None, true).await.expect("deleted");
        // Deleting again: missing, and skipped only when asked (4.x's block list never
        // reports a token missing).
        let again = tg.delete(Some(refreshed.secret().clone()), false).await;
        if generation != Generation::V4 {
            let error = again.expect_err("gone");
            assert_eq!(error.category(), Some(tigergraph_tokens::Category::NotFound));
            tg.delete(Some(refreshed.secret().clone()), true)
                .await
                .expect("skip missing");
        }
        // Detection happened once: later calls go straight to the generation's endpoints.
        let requests = tiger.requests.lock().expect("lock").clone();
        let probes = requests.iter().filter(|r| r.ends_with("/gsql/v1/tokens")).count();
        let expected = match generation {
            Generation::V4 => requests.iter().filter(|r| r.contains("gsql")).count(),
            _ => 1,
        };
        assert_eq!(probes, expected, "{generation:?}: {requests:?}");
    }
}

#[tokio::test]
async fn tigergraph_connection_is_a_token_source() {
    let (_tiger, tg) = tiger_connection(tigergraph_tokens::Generation::V3_5).await;
    let sources: Vec<Arc<dyn api_tokens_runtime::TokenSource>> = vec![Arc::new(tg)];
    let token = sources[0].token().await.expect("token");
    assert!(token.expires_at().is_some());
}

/// A Fastly account: tokens by key, each with its metadata; `fail_create` and
/// `refuse_new` break the two steps a rotation must survive.
#[derive(Default)]
struct Account {
    tokens: Mutex<Vec<(String, serde_json::Value)>>,
    log: Mutex<Vec<String>>,
    fail_create: AtomicBool,
    refuse_new: AtomicBool,
}

fn fastly(account: Arc<Account>) -> impl Fn(&reqwest::Request) -> http::Response<Vec<u8>> + Send + Sync + 'static {
    move |request| {
        let key = request
            .headers()
            .get("fastly-key")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let path = request.url().path().to_owned();
        let reply = |status: u16, body: serde_json::Value| {
            let mut response = http::Response::new(body.to_string().into_bytes());
            *response.status_mut() = http::StatusCode::from_u16(status).expect("status");
            response
        };
        let mut tokens = account.tokens.lock().expect("lock");
        let known = tokens.iter().position(|(k, _)| *k == key);
        account
            .log
            .lock()
            .expect("lock")
            .push(format!("{} {path}", request.method()));
        match (request.method().as_str(), path.as_str()) {
            ("POST", "/tokens") => {
                if account.fail_create.load(Ordering::SeqCst) {
                    return reply(400, serde_json::json!({"code": "invalid_grant"}));
                }
                let form: Vec<(String, String)> =
                    serde_urlencoded::from_bytes(request.body().and_then(|b| b.as_bytes()).unwrap_or_default())
                        .unwrap_or_default();
                let get = |k: &str| form.iter().find(|(f, _)| f == k).map(|(_, v)| v.clone());
                let n = tokens.len();
                let meta = serde_json::json!({
                    "id": format!("id{n}"), "name": get("name"), "scope": get("scope"),
                    "services": form.iter().filter(|(k, _)| k == "services[]").map(|(_, v)| v.clone()).collect::<Vec<_>>(),
                    "created_at": chrono_now(), "expires_at": get("expires_at"),
                });
                let key = format!("key{n}");
                tokens.push((key.clone(), meta.clone()));
                let mut created = meta;
                created["access_token"] = key.into();
                reply(200, created)
            }
            (_, "/tokens/self") if known.is_none() => {
                reply(401, serde_json::json!({"msg": "Missing or expired token."}))
            }
            ("GET", "/tokens/self") if account.refuse_new.load(Ordering::SeqCst) && key != "key0" => {
                reply(401, serde_json::json!({"msg": "Missing or expired token."}))
            }
            ("GET", "/tokens/self") => reply(200, tokens[known.expect("known")].1.clone()),
            ("DELETE", "/tokens/self") => {
                tokens.remove(known.expect("known"));
                reply(204, serde_json::Value::Null)
            }
            _ => reply(404, serde_json::json!({"msg": "Token lookup failed"})),
        }
    }
}

/// RFC 3339 of now plus `after`.
fn rfc3339_in(after: Duration) -> String {
    chrono::DateTime::<chrono::Utc>::from(SystemTime::now() + after).to_rfc3339()
}

fn chrono_now() -> String {
    rfc3339_in(Duration::ZERO)
}

/// An account whose token `key0` was made a day ago to live `lifetime`.
fn fastly_account_with(lifetime: Duration) -> (Arc<Account>, fastly_tokens::Client) {
    let account = Arc::new(Account::default());
    let day = Duration::from_secs(86_400);
    let created = chrono::DateTime::<chrono::Utc>::from(SystemTime::now() - day).to_rfc3339();
    account.tokens.lock().expect("lock").push((
        "key0".to_owned(),
        serde_json::json!({"id": "id0", "name": "deploy", "scope": "purge_select purge_all",
            "services": ["s1", "s2"], "created_at": created,
            "expires_at": rfc3339_in(lifetime.saturating_sub(day))}),
    ));
    let login = fastly_tokens::Client::builder()
        .base_url("http://fastly.invalid")
        .username_and_password("me@example.com", "password-123")
        .max_retries(0)
        .respond_with(fastly(account.clone()))
        .build()
        .expect("client");
    (account, login)
}

fn fastly_account() -> (Arc<Account>, fastly_tokens::Client) {
    fastly_account_with(Duration::from_secs(90 * 86_400))
}

#[tokio::test]
async fn fastly_rotation_creates_confirms_then_revokes() {
    let (account, login) = fastly_account();
    let rotation = fastly_tokens::Rotation::new(login, "key0").await.expect("rotation");
    let fresh = rotation.rotate().await.expect("rotated");
    assert_eq!(fresh.secret().expose(), "key1");
    let tokens = account.tokens.lock().expect("lock").clone();
    assert_eq!(tokens.len(), 1, "the old token is revoked");
    let meta = &tokens[0].1;
    assert_eq!(
        (meta["name"].as_str(), meta["scope"].as_str()),
        (Some("deploy"), Some("purge_select purge_all"))
    );
    assert_eq!(meta["services"], serde_json::json!(["s1", "s2"]));
    assert!(
        meta["expires_at"].as_str().is_some(),
        "an expiring token is replaced by an expiring one"
    );
    let log = account.log.lock().expect("lock").clone();
    let create = log.iter().position(|l| l == "POST /tokens").expect("created");
    let revoke = log.iter().position(|l| l == "DELETE /tokens/self").expect("revoked");
    assert!(create < revoke, "{log:?}");
}

#[tokio::test]
async fn fastly_rotation_revokes_nothing_when_creation_or_confirmation_fails() {
    let (account, login) = fastly_account();
    let rotation = fastly_tokens::Rotation::new(login, "key0").await.expect("rotation");
    account.fail_create.store(true, Ordering::SeqCst);
    rotation.rotate().await.expect_err("creation fails");
    account.fail_create.store(false, Ordering::SeqCst);
    account.refuse_new.store(true, Ordering::SeqCst);
    rotation.rotate().await.expect_err("confirmation fails");
    let log = account.log.lock().expect("lock").clone();
    assert!(!log.iter().any(|l| l.starts_with("DELETE")), "{log:?}");
    assert_eq!(rotation.token().await.expect("old").secret().expose(), "key0");
}

#[tokio::test]
async fn insight_rotation_creates_confirms_then_revokes() {
    #[derive(Default)]
    struct Insight {
        log: Mutex<Vec<String>>,
    }
    let insight = Arc::new(Insight::default());
    let server = insight.clone();
    let creator = insight_tokens::Client::builder()
        .session_cookie("PLAY_SESSION=abcdef123")
        .respond_with(move |request| {
            let token = request
                .headers()
                .get("x-auth-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            server
                .log
                .lock()
                .expect("lock")
                .push(format!("{} {} {token}", request.method(), request.url().path()));
            let body = match request.method().as_str() {
                "POST" => r#"{"token": "new-token-0123456789"}"#,
                "GET" => "[]",
                _ => "",
            };
            http::Response::new(body.as_bytes().to_vec())
        })
        .build()
        .expect("client");
    let rotation = insight_tokens::Rotation::new(creator, "old-token-0123456789");
    let fresh = rotation.rotate().await.expect("rotated");
    assert_eq!(fresh.secret().expose(), "new-token-0123456789");
    let log = insight.log.lock().expect("lock").clone();
    assert_eq!(
        log,
        [
            "POST /api/token -",
            "GET /api/token new-token-0123456789",
            "DELETE /api/token old-token-0123456789"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn fastly_rotation_as_a_token_source_rotates_before_expiry() {
    // Made a day ago to live a day and two hours: two hours left.
    let (account, login) = fastly_account_with(Duration::from_secs(26 * 3600));
    let rotation = fastly_tokens::Rotation::new(login, "key0").await.expect("rotation");
    assert_eq!(rotation.token().await.expect("current").secret().expose(), "key0");
    // Half of what is left: rotated then, without being asked to.
    tokio::time::advance(Duration::from_secs(3601)).await;
    let token = rotation.token().await.expect("rotated");
    assert_eq!(token.secret().expose(), "key1");
    // The replacement lives as long as the old one was made to (26 h).
    let left = token
        .expires_at()
        .expect("expiry")
        .duration_since(SystemTime::now())
        .expect("future");
    assert!(left > Duration::from_secs(25 * 3600), "{left:?}");
    assert_eq!(account.tokens.lock().expect("lock").len(), 1);
}
