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
