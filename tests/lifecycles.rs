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
