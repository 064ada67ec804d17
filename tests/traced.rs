//! What a `tracing` subscriber sees, at `TRACE`: one span per call with the path
//! template, each attempt and retry, and every lifecycle decision (hit, load and why,
//! refresh ahead, backoff, a `WARN` while refreshes fail near expiry, an `ERROR` once the
//! token expired with no replacement, re-login, rotation, generation detected); never a
//! secret, nor any 12-character piece of one. And token events, for watchers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use api_tokens_runtime::{TokenChange, TokenSource};
use api_tokens_tests::{assert_no_secrets, capture_tracing};

const ICA_KEY: &str = "IcaKey-Traced-7Hq2Lm9Xc4";

/// A JWT living `life` from now, numbered `n`.
fn jwt(life: Duration, n: usize) -> String {
    use base64::Engine;
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let encode = |json: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json);
    format!(
        "{}.{}.Sig{n:0>30}",
        encode(r#"{"alg":"HS256"}"#.to_owned()),
        encode(format!(r#"{{"iat":{now},"exp":{}}}"#, now + life.as_secs()))
    )
}

/// An ICA source whose creates succeed, or fail with 503 while `failing` is set.
fn ica_source(failing: Arc<AtomicBool>, minted: Arc<std::sync::Mutex<Vec<String>>>) -> ica_tokens::JwtSource {
    let count = Arc::new(AtomicUsize::new(0));
    let client = ica_tokens::Client::builder()
        .api_key(ICA_KEY)
        .respond_with(move |_| {
            let (status, media, body) = if failing.load(Ordering::SeqCst) {
                (
                    503,
                    "application/problem+json",
                    r#"{"type":"about:blank","title":"Service Unavailable","status":503}"#.to_owned(),
                )
            } else {
                let token = jwt(Duration::from_secs(600), count.fetch_add(1, Ordering::SeqCst));
                minted.lock().expect("lock").push(token.clone());
                (
                    200,
                    "application/vnd.illumina.v3+json",
                    format!(r#"{{"token": "{token}"}}"#),
                )
            };
            let mut response = http::Response::new(body.into_bytes());
            *response.status_mut() = http::StatusCode::from_u16(status).expect("status");
            response
                .headers_mut()
                .insert("content-type", media.parse().expect("value"));
            response
        })
        .build()
        .expect("client");
    ica_tokens::JwtSource::with_policy(
        client,
        None,
        api_tokens_runtime::RefreshPolicy::new(Duration::from_secs(300))
            .jitter(Duration::ZERO)
            .backoff(Duration::from_secs(10), Duration::from_secs(10))
            .warn_before(Duration::from_secs(120)),
    )
}

#[tokio::test(start_paused = true)]
async fn a_lifecycle_tells_each_decision_and_never_a_secret() {
    let tracing = capture_tracing();
    let failing = Arc::new(AtomicBool::new(false));
    let minted = Arc::new(std::sync::Mutex::new(Vec::new()));
    let source = ica_source(failing.clone(), minted.clone());
    let mut events = source.subscribe();
    let first = source.token().await.expect("jwt");
    source.token().await.expect("hit");
    // The first token, announced.
    assert!(events.has_changed().expect("open"));
    let event = events.borrow_and_update().clone().expect("an event");
    assert_eq!((event.token.clone(), event.change), (first.clone(), TokenChange::First));
    // Due (300 s before exp): refreshed behind the callers, announced as ahead.
    tokio::time::advance(Duration::from_secs(301)).await;
    source.token().await.expect("served while refreshed");
    tokio::task::yield_now().await;
    let event = events.borrow_and_update().clone().expect("an event");
    assert_eq!(event.change, TokenChange::Ahead);
    // ICA fails: a failed refresh with time left (DEBUG); failing still within the
    // 2-minute warning (WARN); expired with no replacement (ERROR).
    failing.store(true, Ordering::SeqCst);
    tokio::time::advance(Duration::from_secs(301)).await;
    source.token().await.expect("still valid");
    tokio::task::yield_now().await;
    tokio::time::advance(Duration::from_secs(200)).await;
    source.token().await.expect("still valid");
    tokio::task::yield_now().await;
    tokio::time::advance(Duration::from_secs(100)).await;
    let error = source.token().await.expect_err("expired, no replacement");
    assert!(error.http_status().is_some_and(|s| s.as_u16() == 503), "{error}");
    // Inside the backoff: the last error at once.
    source.token().await.expect_err("backing off");
    tokio::time::advance(Duration::from_secs(11)).await;
    source.token().await.expect_err("still failing");
    // A refusal report: the next token is announced as replacing a refused one.
    failing.store(false, Ordering::SeqCst);
    tokio::time::advance(Duration::from_secs(11)).await;
    let fresh = source.token().await.expect("recovered");
    assert!(source.report_refused(&fresh));
    source.token().await.expect("replaced");
    let event = events.borrow_and_update().clone().expect("an event");
    assert_eq!(event.change, TokenChange::Refused);
    assert!(!format!("{event:?}").contains(event.token.secret().expose()));

    let text = tracing.text();
    let line = |needle: &str| text.lines().find(|l| l.contains(needle)).unwrap_or_default().to_owned();
    assert!(line("the current one is still served").contains("DEBUG"), "{text}");
    assert!(line("keeps failing and it expires soon").contains(" WARN "), "{text}");
    assert!(line("expired and no replacement").contains(" ERROR "), "{text}");
    for expected in [
        // The call span: vendor, operation id, method, path template.
        "call{vendor=\"Illumina Connected Analytics\" operation=\"create_jwt_token\" method=\"POST\" path=\"/api/tokens\"}",
        "attempt answered",
        "call succeeded",
        "call failed",
        "token served from the cache",
        "loading a token",
        "change=First",
        "token loaded",
        "refreshing ahead of expiry",
        " WARN ",
        "refreshing the token keeps failing and it expires soon",
        " ERROR ",
        "the token has expired and no replacement could be loaded",
        "backing off after a failed load",
        "the server refused a token",
        "change=Refused",
    ] {
        assert!(text.contains(expected), "no `{expected}` in:\n{text}");
    }
    let mut secrets = minted.lock().expect("lock").clone();
    secrets.push(ICA_KEY.to_owned());
    assert_no_secrets(&text, &secrets, "lifecycle tracing");
}

#[tokio::test(start_paused = true)]
async fn retries_relogins_rotations_and_detection_are_traced_without_secrets() {
    use api_tokens_tests::fakes;
    let tracing = capture_tracing();
    // A retried GET (503, then 200).
    let answers = Arc::new(AtomicUsize::new(0));
    let seen = answers.clone();
    let fastly = fastly_tokens::Client::builder()
        .token("FastlyKey-Traced-Zx8Cv2Bn6")
        .respond_with(move |_| {
            let busy = seen.fetch_add(1, Ordering::SeqCst) == 0;
            let mut response = http::Response::new(if busy {
                br#"{"msg":"busy"}"#.to_vec()
            } else {
                br#"{"id":"t1","services":[],"name":"n","scope":"global"}"#.to_vec()
            });
            *response.status_mut() = if busy {
                http::StatusCode::SERVICE_UNAVAILABLE
            } else {
                http::StatusCode::OK
            };
            response
                .headers_mut()
                .insert("content-type", "application/json".parse().expect("value"));
            response
        })
        .build()
        .expect("client");
    fastly.get_token().token_id("t1").send().await.expect("retried");
    // A DoCluster session whose server forgot its token: one login again.
    let cluster = Arc::new(fakes::DoCluster::new().user("admin", "DocPass-Traced-4Rt7Yu1"));
    let client = docluster_tokens::Client::builder()
        .base_url("http://cluster.invalid:3033/api")
        .respond_with(fakes::responder(&cluster))
        .build()
        .expect("client");
    let session = docluster_tokens::Session::login(client, "admin", "DocPass-Traced-4Rt7Yu1")
        .await
        .expect("login");
    cluster.restart();
    session
        .run(|c| async move { c.list_tokens().send().await })
        .await
        .expect("after one more login");
    let session_token = session.token().await.expect("token");
    // A TigerGraph connection detecting 3.5+.
    let tiger = Arc::new(fakes::TigerGraph::new(fakes::TgServer::V3_5).secret("TgSecret-Traced-9Kj3Hg5"));
    let server = tiger.clone();
    let connection = tigergraph_tokens::Connection::builder("http://tg.invalid:14240")
        .secret("TgSecret-Traced-9Kj3Hg5")
        .configure(move |b| b.respond_with(fakes::responder(&server)))
        .build()
        .expect("connection");
    let tg_token = TokenSource::token(&connection).await.expect("token");
    // A Fastly rotation, step by step.
    let account = Arc::new(fakes::Fastly::new("me@example.com", "FastlyPass-Traced-2Wq8Rt"));
    let old = account.seed(fakes::FastlySeed {
        name: Some("deploy".to_owned()),
        scope: None,
        services: Vec::new(),
        created_ago: Duration::from_secs(3600),
        expires_in: None,
    });
    let login = fastly_tokens::Client::builder()
        .base_url("http://fastly.invalid")
        .username_and_password("me@example.com", "FastlyPass-Traced-2Wq8Rt")
        .respond_with(fakes::responder(&account))
        .build()
        .expect("client");
    let rotation = fastly_tokens::Rotation::new(login, old.key.as_str())
        .await
        .expect("rotation");
    let rotated = rotation.rotate().await.expect("rotated");

    let text = tracing.text();
    for expected in [
        "reason=\"status\"",
        "retrying",
        "status=503",
        "logging in",
        "the server says the session's token is gone",
        "detected the server's generation",
        "generation=V3_5",
        "rotating the token",
        "step=creating the new token",
        "step=confirming the new token",
        "step=revoking the old token",
    ] {
        assert!(text.contains(expected), "no `{expected}` in:\n{text}");
    }
    let mut secrets = vec![
        "FastlyKey-Traced-Zx8Cv2Bn6".to_owned(),
        "DocPass-Traced-4Rt7Yu1".to_owned(),
        "TgSecret-Traced-9Kj3Hg5".to_owned(),
        session_token.secret().expose().to_owned(),
        tg_token.secret().expose().to_owned(),
        "FastlyPass-Traced-2Wq8Rt".to_owned(),
        old.key.clone(),
        rotated.secret().expose().to_owned(),
    ];
    secrets.extend(cluster.tokens().iter().map(|t| t.token.clone()));
    assert_no_secrets(&text, &secrets, "tracing of retries, logins and detection");
}
