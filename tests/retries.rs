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
    let client = fastly(respond).retry_policy(
        RetryPolicy::new()
            .max_retries(3)
            .initial_backoff(Duration::from_millis(1)),
    );
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

/// 503 with `Retry-After` set to an HTTP date `after` from now, then 200.
fn busy_until(after: Duration) -> (Arc<AtomicUsize>, impl Fn(&reqwest::Request) -> http::Response<Vec<u8>>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let respond = move |_: &reqwest::Request| {
        if counter.fetch_add(1, Ordering::SeqCst) > 0 {
            return http::Response::new(br#"{"id": "t1"}"#.to_vec());
        }
        let date = httpdate_in(after);
        let mut response = http::Response::new(br#"{"msg": "busy"}"#.to_vec());
        *response.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
        response
            .headers_mut()
            .insert("retry-after", date.parse().expect("value"));
        response
    };
    (hits, respond)
}

/// An IMF-fixdate `after` from now, written here rather than with the crate under test.
fn httpdate_in(after: Duration) -> String {
    let at = std::time::SystemTime::now() + after;
    let secs = at.duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days % 7) as usize];
    let name = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][month as usize - 1];
    format!(
        "{weekday}, {day:02} {name} {year} {:02}:{:02}:{:02} GMT",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

#[tokio::test(start_paused = true)]
async fn retry_after_as_an_http_date_is_honoured() {
    let (hits, respond) = busy_until(Duration::from_secs(4));
    let started = tokio::time::Instant::now();
    fastly(respond)
        .build()
        .expect("client")
        .get_token_current()
        .send()
        .await
        .expect("after the date");
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    // The date has a one-second resolution: between 3 and 4 s of (paused) time.
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(2) && waited <= Duration::from_secs(4),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn no_retry_waits_past_the_operation_timeout() {
    let (hits, respond) = scripted(&[(503, "5"), (200, "")]);
    let started = tokio::time::Instant::now();
    let err = fastly(respond)
        .operation_timeout(Duration::from_secs(2))
        .build()
        .expect("client")
        .get_token_current()
        .send()
        .await
        .expect_err("the answer, not a wait past the deadline");
    assert_eq!(err.http_status().map(|s| s.as_u16()), Some(503));
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn the_operation_timeout_covers_every_attempt_and_wait() {
    // A server that never answers: each attempt could take 10 s, the call may take 300 ms.
    let server = api_tokens_tests::RawServer::start(api_tokens_tests::Reply::Silent);
    let started = Instant::now();
    let err = fastly_tokens::Client::builder()
        .base_url(server.url())
        .token("key-123456")
        .timeout(Duration::from_secs(10))
        .operation_timeout(Duration::from_millis(300))
        .build()
        .expect("client")
        .get_token_current()
        .send()
        .await
        .expect_err("timed out");
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(err.to_string().contains("operation timeout"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3));
    // Connection failures back off 1 s at a time, but no wait starts past the deadline.
    let started = Instant::now();
    let err = fastly_tokens::Client::builder()
        .base_url(api_tokens_tests::closed_port_url())
        .token("key-123456")
        .retry_policy(
            RetryPolicy::new()
                .max_retries(5)
                .initial_backoff(Duration::from_secs(1)),
        )
        .operation_timeout(Duration::from_millis(1500))
        .build()
        .expect("client")
        .get_token_current()
        .send()
        .await
        .expect_err("nothing listens");
    assert_eq!(err.kind(), ErrorKind::Transport);
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_users_own_http_client_gets_the_attempt_and_operation_timeouts() {
    // A server that takes the connection and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            open.push(stream);
        }
    });
    // reqwest's own client has no timeout: each bound below is this crate's.
    for (attempt, operation) in [
        (Duration::from_millis(300), Duration::from_secs(20)),
        (Duration::from_secs(20), Duration::from_millis(300)),
    ] {
        let client = fastly_tokens::Client::builder()
            .base_url(&base)
            .token("k-0123456789")
            .http_client(reqwest::Client::new())
            .timeout(attempt)
            .operation_timeout(operation)
            .max_retries(0)
            .build()
            .expect("client");
        let started = Instant::now();
        let call = client.get_token().token_id("t1").send();
        let error = tokio::time::timeout(Duration::from_secs(10), call)
            .await
            .unwrap_or_else(|_| panic!("{attempt:?}/{operation:?}: the call outlived both timeouts"))
            .expect_err("no answer");
        assert_eq!(error.kind(), ErrorKind::Timeout, "{attempt:?}/{operation:?}: {error}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{attempt:?}/{operation:?}: {:?}",
            started.elapsed()
        );
    }
    held.abort();
}
