//! Retries: idempotent requests answered 429/502/503/504 are sent again, within bounds;
//! token creation (a POST) never is.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use api_tokens_runtime::{ErrorKind, RetryPolicy};

/// A responder answering `statuses` in turn (the last one forever), and its hit count.
fn scripted(
    statuses: &'static [(u16, &'static str)],
) -> (Arc<AtomicUsize>, impl Fn(&reqwest::Request) -> http::Response<Vec<u8>>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let respond = move |_: &reqwest::Request| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        let (status, retry_after) = statuses[n.min(statuses.len() - 1)];
        let body = if status == 200 {
            r#"{"id": "t1"}"#
        } else {
            r#"{"msg": "slow down"}"#
        };
        let mut response = http::Response::new(body.as_bytes().to_vec());
        *response.status_mut() = http::StatusCode::from_u16(status).expect("status");
        if !retry_after.is_empty() {
            response
                .headers_mut()
                .insert("retry-after", retry_after.parse().expect("value"));
        }
        response
    };
    (hits, respond)
}

fn fastly(
    respond: impl Fn(&reqwest::Request) -> http::Response<Vec<u8>> + Send + Sync + 'static,
) -> fastly_tokens::ClientBuilder {
    fastly_tokens::Client::builder()
        .base_url("http://fastly.invalid")
        .token("key-123456")
        .respond_with(respond)
}

#[tokio::test]
async fn an_idempotent_request_is_retried_until_it_succeeds() {
    let (hits, respond) = scripted(&[(503, ""), (429, "0"), (200, "")]);
    let token = fastly(respond)
        .build()
        .expect("client")
        .get_token_current()
        .send()
        .await
        .expect("third time");
    assert_eq!(token.into_inner().id, "t1");
    assert_eq!(hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn retries_stop_at_the_limit_with_the_last_answer() {
    let (hits, respond) = scripted(&[(502, "")]);
    let client = fastly(respond).retry_policy(RetryPolicy {
        max_retries: 3,
        initial_backoff: Duration::from_millis(1),
        ..RetryPolicy::default()
    });
    let err = client
        .build()
        .expect("client")
        .list_tokens_user()
        .send()
        .await
        .expect_err("always 502");
    assert_eq!(
        (err.kind(), err.http_status().map(|s| s.as_u16())),
        (ErrorKind::UnexpectedStatus, Some(502))
    );
    assert_eq!(hits.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn token_creation_is_never_sent_twice() {
    let (hits, respond) = scripted(&[(503, "")]);
    let client = fastly(respond).build().expect("client");
    let err = client
        .create_token()
        .body(fastly_tokens::TokenCreateForm::new())
        .send()
        .await
        .expect_err("503");
    assert!(err.is_retryable(), "the caller may decide to retry");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_long_retry_after_is_left_to_the_caller() {
    let (hits, respond) = scripted(&[(429, "3600"), (200, "")]);
    let started = Instant::now();
    let err = fastly(respond)
        .build()
        .expect("client")
        .revoke_token_current()
        .send()
        .await
        .expect_err("429");
    assert_eq!(err.http_status().map(|s| s.as_u16()), Some(429));
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn retries_can_be_turned_off() {
    let (hits, respond) = scripted(&[(503, ""), (200, "")]);
    let err = fastly(respond)
        .max_retries(0)
        .build()
        .expect("client")
        .get_token_current()
        .send()
        .await
        .expect_err("503");
    assert!(err.is_retryable());
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}
