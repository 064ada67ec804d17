//! Every default the README states, as behaviour, on tokio's paused clock: the attempt
//! timeout, retries of a connection that could not be made and their doubling backoff,
//! the body limits, the refresh leads of the lifecycle types and the refresh policy.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use api_tokens_runtime::{ErrorKind, RefreshPolicy};
use tokio::time::Instant;

/// A loopback server that accepts connections and never answers.
async fn silent_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    url
}

fn fastly(base: &str) -> fastly_tokens::ClientBuilder {
    fastly_tokens::Client::builder().base_url(base).token("key-123456")
}

#[tokio::test(start_paused = true)]
async fn one_attempt_times_out_after_30_seconds_by_default() {
    assert_eq!(api_tokens_runtime::DEFAULT_TIMEOUT, Duration::from_secs(30));
    let base = silent_server().await;
    let started = Instant::now();
    let error = fastly(&base)
        .build()
        .expect("client")
        .get_token_current()
        .send()
        .await
        .expect_err("no answer");
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
    // A timeout is not retried: one attempt of 30 s (the paused clock moves only when
    // every task waits, so this is the timer, not the machine's speed).
    let waited = started.elapsed();
    assert!(
        (Duration::from_secs(30)..Duration::from_secs(31)).contains(&waited),
        "{waited:?}"
    );
    let started = Instant::now();
    let error = fastly(&base)
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client")
        .get_token_current()
        .send()
        .await
        .expect_err("no answer");
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert!((Duration::from_secs(5)..Duration::from_secs(6)).contains(&started.elapsed()));
}

#[tokio::test(start_paused = true)]
async fn the_operation_timeout_is_60_seconds_over_every_attempt() {
    assert_eq!(api_tokens_runtime::DEFAULT_OPERATION_TIMEOUT, Duration::from_secs(60));
    let base = silent_server().await;
    let started = Instant::now();
    let error = fastly(&base)
        .timeout(Duration::from_secs(100))
        .build()
        .expect("client")
        .get_token_current()
        .send()
        .await
        .expect_err("no answer");
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert!(error.to_string().contains("operation timeout"), "{error}");
    assert!((Duration::from_secs(60)..Duration::from_secs(61)).contains(&started.elapsed()));
}

#[tokio::test(start_paused = true)]
async fn a_connection_that_could_not_be_made_is_retried_twice_with_a_doubling_backoff() {
    let base = api_tokens_tests::closed_port_url();
    // Defaults: 2 retries, waits of 100 ms then 200 ms.
    let started = Instant::now();
    let error = fastly(&base)
        .build()
        .expect("client")
        .get_token_current()
        .send()
        .await
        .expect_err("nothing listens");
    assert_eq!(error.kind(), ErrorKind::Transport);
    let waited = started.elapsed();
    assert!(
        (Duration::from_millis(300)..Duration::from_millis(400)).contains(&waited),
        "{waited:?}: 100 ms + 200 ms of backoff"
    );
    // Token creation (a POST) is retried too when the connection was never made: the
    // server cannot have acted.
    let started = Instant::now();
    let error = fastly_tokens::Client::builder()
        .base_url(&base)
        .username_and_password("me@example.com", "pw")
        .build()
        .expect("client")
        .create_token()
        .body(fastly_tokens::TokenCreateForm::new())
        .send()
        .await
        .expect_err("nothing listens");
    assert_eq!(error.kind(), ErrorKind::Transport, "{error}");
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}: {error}",
        started.elapsed()
    );
    // Without retries, no wait.
    let started = Instant::now();
    fastly(&base)
        .max_retries(0)
        .build()
        .expect("client")
        .get_token_current()
        .send()
        .await
        .expect_err("nothing listens");
    assert!(started.elapsed() < Duration::from_millis(50), "{:?}", started.elapsed());
}

/// A Fastly client answered `status` with `body` in-process.
fn answering(status: u16, body: Vec<u8>) -> fastly_tokens::Client {
    fastly_tokens::Client::builder()
        .token("key-123456")
        .max_retries(0)
        .respond_with(move |_| {
            let mut response = http::Response::new(body.clone());
            *response.status_mut() = http::StatusCode::from_u16(status).expect("status");
            response
                .headers_mut()
                .insert("content-type", "application/json".parse().expect("value"));
            response
        })
        .build()
        .expect("client")
}

/// A JSON object of exactly `len` bytes with a `msg`, padded with spaces.
fn padded(json: &str, len: usize) -> Vec<u8> {
    let mut body = json.as_bytes().to_vec();
    body.resize(len, b' ');
    body
}

#[tokio::test]
async fn error_bodies_are_read_up_to_64_kib() {
    let limit = 64 * 1024;
    let at = answering(404, padded(r#"{"msg": "Token lookup failed."}"#, limit))
        .get_token()
        .token_id("t1")
        .send()
        .await
        .expect_err("404");
    assert_eq!(at.kind(), ErrorKind::Vendor, "{at}");
    let over = answering(404, padded(r#"{"msg": "Token lookup failed."}"#, limit + 1))
        .get_token()
        .token_id("t1")
        .send()
        .await
        .expect_err("404");
    assert_eq!(over.kind(), ErrorKind::BodyTooLarge, "{over}");
    assert!(over.to_string().contains("64 KiB"), "{over}");
}

#[tokio::test]
async fn successful_answers_are_read_up_to_8_mib() {
    let limit = api_tokens_runtime::DEFAULT_MAX_BODY_BYTES;
    assert_eq!(limit, 8 * 1024 * 1024);
    let token = r#"{"id": "t1", "services": [], "name": "n", "scope": "global"}"#;
    let at = answering(200, padded(token, limit))
        .get_token()
        .token_id("t1")
        .send()
        .await;
    assert!(at.is_ok(), "{:?}", at.err());
    let over = answering(200, padded(token, limit + 1))
        .get_token()
        .token_id("t1")
        .send()
        .await
        .expect_err("too large");
    assert_eq!(over.kind(), ErrorKind::BodyTooLarge);
}

#[test]
fn the_refresh_policy_defaults_are_what_the_docs_say() {
    let policy = RefreshPolicy::default();
    assert_eq!(policy.refresh_before, Duration::from_secs(300));
    assert_eq!(policy.jitter, Duration::from_secs(30));
    assert_eq!(policy.load_timeout, Duration::from_secs(30));
    assert_eq!(
        (policy.initial_backoff, policy.max_backoff),
        (Duration::from_secs(1), Duration::from_secs(30))
    );
    assert_eq!(policy.unknown_expiry_refresh, Duration::from_secs(300));
    assert_eq!(api_tokens_runtime::DEFAULT_CONNECT_TIMEOUT, Duration::from_secs(10));
}

/// A JWT living `life` from now (the payload is all that matters).
fn jwt(life: Duration, n: usize) -> String {
    use base64::Engine;
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let encode = |json: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json);
    format!(
        "{}.{}.sig{n}",
        encode(r#"{"alg":"HS256"}"#.to_owned()),
        encode(format!(r#"{{"iat":{now},"exp":{}}}"#, now + life.as_secs()))
    )
}

#[tokio::test(start_paused = true)]
async fn an_ica_jwt_is_replaced_five_minutes_before_exp() {
    assert_eq!(ica_tokens::DEFAULT_REFRESH_BEFORE, Duration::from_secs(300));
    let creates = Arc::new(AtomicUsize::new(0));
    let counter = creates.clone();
    let client = ica_tokens::Client::builder()
        .api_key("ica-api-key-123")
        .respond_with(move |_| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let mut response =
                http::Response::new(format!(r#"{{"token": "{}"}}"#, jwt(Duration::from_secs(3600), n)).into_bytes());
            response.headers_mut().insert(
                "content-type",
                "application/vnd.illumina.v3+json".parse().expect("value"),
            );
            response
        })
        .build()
        .expect("client");
    let source = ica_tokens::JwtSource::new(client);
    source.token().await.expect("jwt");
    // Due 300 s before exp, less up to a tenth of that as jitter: 3270–3300 s.
    tokio::time::advance(Duration::from_secs(3269)).await;
    source.token().await.expect("cached");
    tokio::task::yield_now().await;
    assert_eq!(creates.load(Ordering::SeqCst), 1, "not due at 3269 s");
    tokio::time::advance(Duration::from_secs(32)).await;
    source.token().await.expect("served");
    tokio::task::yield_now().await;
    assert_eq!(creates.load(Ordering::SeqCst), 2, "due by 3301 s");
}

#[tokio::test(start_paused = true)]
async fn a_tigergraph_token_is_refreshed_ten_minutes_before_expiry() {
    assert_eq!(tigergraph_tokens::DEFAULT_REFRESH_BEFORE, Duration::from_secs(600));
    let refreshes = Arc::new(AtomicUsize::new(0));
    let counter = refreshes.clone();
    let connection = tigergraph_tokens::Connection::builder("http://tg.invalid:14240")
        .secret("s3cr3t-value")
        .generation(tigergraph_tokens::Generation::V3_5)
        .configure(move |b| {
            let counter = counter.clone();
            b.respond_with(move |request| {
                if request.method() == "PUT" {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
                let expiration = SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .expect("after 1970")
                    .as_secs()
                    + 3600;
                let mut response = http::Response::new(
                    format!(
                        r#"{{"code":"REST-0000","expiration":{expiration},"error":false,"message":"ok","token":"tok"}}"#
                    )
                    .into_bytes(),
                );
                response
                    .headers_mut()
                    .insert("content-type", "application/json".parse().expect("value"));
                response
            })
        })
        .build()
        .expect("connection");
    use api_tokens_runtime::TokenSource;
    TokenSource::token(&connection).await.expect("token");
    // Due 600 s before expiry, less up to 60 s of jitter: 2940–3000 s.
    tokio::time::advance(Duration::from_secs(2939)).await;
    TokenSource::token(&connection).await.expect("cached");
    tokio::task::yield_now().await;
    assert_eq!(refreshes.load(Ordering::SeqCst), 0, "not due at 2939 s");
    tokio::time::advance(Duration::from_secs(62)).await;
    TokenSource::token(&connection).await.expect("served");
    tokio::task::yield_now().await;
    assert_eq!(refreshes.load(Ordering::SeqCst), 1, "due by 3001 s");
}

#[tokio::test(start_paused = true)]
async fn a_fastly_token_is_rotated_a_day_before_it_expires() {
    assert_eq!(fastly_tokens::DEFAULT_ROTATE_BEFORE, Duration::from_secs(86_400));
    let creates = Arc::new(AtomicUsize::new(0));
    let counter = creates.clone();
    // Issued now, expiring in 10 days, by Fastly's account (vendors.md §4.3).
    let now = chrono::DateTime::<chrono::Utc>::from(SystemTime::now());
    let meta = move |id: &str| {
        serde_json::json!({
            "id": id, "name": "ci", "scope": "global", "services": [],
            "created_at": now.to_rfc3339(),
            "expires_at": (now + chrono::Duration::days(10)).to_rfc3339(),
        })
    };
    let login = fastly_tokens::Client::builder()
        .username_and_password("me@example.com", "pw")
        .respond_with(move |request| {
            let body = match (request.method().as_str(), request.url().path()) {
                ("POST", "/tokens") => {
                    let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                    let mut created = meta(&format!("id{n}"));
                    created["access_token"] = format!("key{n}").into();
                    created
                }
                ("GET", _) => {
                    let key = request
                        .headers()
                        .get("fastly-key")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    meta(&key.replace("key", "id"))
                }
                _ => serde_json::Value::Null,
            };
            let status = if body.is_null() { 204 } else { 200 };
            let mut response = http::Response::new(if body.is_null() {
                Vec::new()
            } else {
                body.to_string().into_bytes()
            });
            *response.status_mut() = http::StatusCode::from_u16(status).expect("status");
            response
                .headers_mut()
                .insert("content-type", "application/json".parse().expect("value"));
            response
        })
        .build()
        .expect("client");
    let rotation = fastly_tokens::Rotation::new(login, "key0").await.expect("rotation");
    use api_tokens_runtime::TokenSource;
    // Due a day before expiry, less up to 2.4 h of jitter: from 8 d 21.6 h to 9 d.
    tokio::time::advance(Duration::from_secs(9 * 86_400 - 8640 - 60)).await;
    TokenSource::token(&rotation).await.expect("current");
    tokio::task::yield_now().await;
    assert_eq!(creates.load(Ordering::SeqCst), 0, "not due yet");
    tokio::time::advance(Duration::from_secs(8640 + 120)).await;
    TokenSource::token(&rotation).await.expect("served");
    tokio::task::yield_now().await;
    assert_eq!(creates.load(Ordering::SeqCst), 1, "rotated once due");
}
