//! Error categories, from each spec's `x-sdk-error-categories`: what a program keeping
//! tokens reacts to, with no vendor message text in its code.

use api_tokens_runtime::{Category, Error};

/// A responder answering `status` with `body` as JSON (or HTML, for nginx's 404 page).
fn answer(status: u16, body: &str) -> impl Fn(&reqwest::Request) -> http::Response<Vec<u8>> + Send + Sync + 'static {
    let body = body.to_owned();
    move |_| {
        let mut response = http::Response::new(body.clone().into_bytes());
        *response.status_mut() = http::StatusCode::from_u16(status).expect("status");
        let content_type = if body.starts_with('<') {
            "text/html"
        } else {
            "application/json"
        };
        response
            .headers_mut()
            .insert("content-type", content_type.parse().expect("value"));
        response
    }
}

fn category(result: Result<impl Sized, Error>) -> Option<Category> {
    result.err().expect("an error").category()
}

#[tokio::test]
async fn fastly() {
    let client = |status, body| {
        fastly_tokens::Client::builder()
            .base_url("http://fastly.invalid")
            .token("key-123456")
            .max_retries(0)
            .respond_with(answer(status, body))
            .build()
            .expect("client")
    };
    let get = |status, body| async move { client(status, body).get_token().token_id("t1").send().await };
    assert_eq!(
        category(get(404, r#"{"msg": "Token lookup failed"}"#).await),
        Some(Category::NotFound)
    );
    assert_eq!(
        category(get(401, r#"{"msg": "Missing or expired token."}"#).await),
        Some(Category::Expired)
    );
    assert_eq!(
        category(get(403, r#"{"msg": "Invalid token."}"#).await),
        Some(Category::Refused)
    );
    assert_eq!(category(get(500, r#"{"msg": "oops"}"#).await), None);
    let created = client(400, r#"{"code": "2fa.verify"}"#)
        .create_token()
        .body(fastly_tokens::TokenCreateForm::new())
        .send()
        .await;
    assert_eq!(category(created), Some(Category::Refused));
}

#[tokio::test]
async fn tigergraph_generations_and_tokens() {
    let client = |status, body| {
        tigergraph_tokens::Client::builder()
            .base_url("http://tg.invalid")
            .secret("tg-secret-123")
            .max_retries(0)
            .respond_with(answer(status, body))
            .build()
            .expect("client")
    };
    // A 3.x server behind nginx has no 4.x path: its own HTML 404.
    let created = client(404, "<html><body>404 Not Found</body></html>")
        .create_jwt()
        .send()
        .await;
    assert_eq!(category(created), Some(Category::EndpointAbsent));
    let rest_1000 =
        r#"{"error": true, "code": "REST-1000", "message": "Endpoint is not found from url = /requesttoken"}"#;
    let requested = client(200, rest_1000).request_token().send().await;
    assert_eq!(category(requested), Some(Category::EndpointAbsent));
    let gone = r#"{"error": true, "code": "REST-3300", "message": "The token doesn't exist."}"#;
    let deleted = client(200, gone)
        .delete_token()
        .body_map(|b| b.token("tok"))
        .send()
        .await;
    assert_eq!(category(deleted), Some(Category::NotFound));
    let denied = r#"{"error": true, "code": "REST-10016", "message": "Access denied due to an invalid token"}"#;
    assert_eq!(
        category(client(200, denied).request_token().send().await),
        Some(Category::Refused)
    );
    let gsql = r#"{"error": true, "message": "Authentication failed."}"#;
    assert_eq!(
        category(client(200, gsql).create_jwt().send().await),
        Some(Category::Refused)
    );
}

#[tokio::test]
async fn docluster_sessions() {
    let client = |message: &str| {
        let body = format!(r#"{{"msg": {{}}, "status": "error", "error": "{message}"}}"#);
        docluster_tokens::Client::builder()
            .base_url("http://dc.invalid/api")
            .access_token("ABCDEFGHIJKLMNOP")
            .respond_with(answer(200, &body))
            .build()
            .expect("client")
    };
    let check = |message: &'static str| async move { client(message).check_token().send().await };
    assert_eq!(
        category(check("Token expired please log in.").await),
        Some(Category::Expired)
    );
    assert_eq!(category(check("wrong token").await), Some(Category::Expired));
    assert_eq!(
        category(check("Token not found, please log in.").await),
        Some(Category::NotFound)
    );
    let foreign = check("The token is not important for this IP address, please log in.")
        .await
        .expect_err("foreign IP");
    // A category of its own: logging in again from here would not help.
    assert_eq!(foreign.category(), Some(Category::AddressBound));
}

#[tokio::test]
async fn ica_and_insight_refusals() {
    let problem = r#"{"type": "about:blank", "title": "Unauthorized", "status": 401, "parameters": {}, "timestamp": "2024-08-23T02:33:25Z"}"#;
    let refreshed = ica_tokens::Client::builder()
        .jwt("eyJ.a.b")
        .respond_with(answer(401, problem))
        .build()
        .expect("client")
        .refresh_jwt_token()
        .send()
        .await;
    assert_eq!(category(refreshed), Some(Category::Refused));
    let listed = insight_tokens::Client::builder()
        .api_token("insight-token-1")
        .respond_with(answer(401, r#"{"error": "Credentials required"}"#))
        .build()
        .expect("client")
        .list_tokens()
        .send()
        .await;
    assert_eq!(category(listed), Some(Category::Refused));
}

/// Issue 17: a category only for an answer the spec documents. An undocumented status
/// carrying a documented code or message has none, and no lifecycle acts on it.
#[tokio::test]
async fn an_undocumented_status_has_no_category_whatever_it_says() {
    // DoCluster answers everything with HTTP 200 (vendors.md §3.2); a 500 is a crash
    // page or a proxy, whatever its body says.
    for status in [500, 502, 404, 401] {
        let client = docluster_tokens::Client::builder()
            .base_url("http://cluster.invalid/api")
            .access_token("TOKEN")
            .max_retries(0)
            .respond_with(answer(
                status,
                r#"{"msg": {}, "status": "error", "error": "Token expired please log in."}"#,
            ))
            .build()
            .expect("client");
        let error = client.list_tokens().send().await.expect_err("undocumented");
        assert_eq!(
            error.kind(),
            api_tokens_runtime::ErrorKind::UnexpectedStatus,
            "{status}"
        );
        assert_eq!(error.category(), None, "{status}");
    }
    // Fastly: invalid_grant is documented with HTTP 400 on create, never with a 5xx.
    for status in [500, 503, 418] {
        let error = fastly_tokens::Client::builder()
            .base_url("http://fastly.invalid")
            .username_and_password("me@example.com", "pw")
            .max_retries(0)
            .respond_with(answer(status, r#"{"code": "invalid_grant"}"#))
            .build()
            .expect("client")
            .create_token()
            .send()
            .await
            .expect_err("undocumented");
        assert_eq!(error.category(), None, "{status}");
    }
    // TigerGraph: REST-1000 in an HTTP 500 is no proof of a missing endpoint.
    let error = tigergraph_tokens::Client::builder()
        .base_url("http://tg.invalid:14240")
        .secret("s3cr3t-value")
        .max_retries(0)
        .respond_with(answer(
            500,
            r#"{"error": true, "code": "REST-1000", "message": "Endpoint is not found"}"#,
        ))
        .build()
        .expect("client")
        .create_jwt()
        .body_map(|b| b)
        .send()
        .await
        .expect_err("undocumented");
    assert_eq!(error.category(), None);
}

#[tokio::test]
async fn no_lifecycle_acts_on_an_undocumented_answer() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    // A DoCluster session whose call is answered HTTP 500 "Token expired": no new login.
    let logins = Arc::new(AtomicUsize::new(0));
    let counter = logins.clone();
    let client = docluster_tokens::Client::builder()
        .base_url("http://cluster.invalid/api")
        .max_retries(0)
        .respond_with(move |request| {
            let is_login = request.url().path().ends_with("/login");
            let body = if is_login {
                counter.fetch_add(1, Ordering::SeqCst);
                r#"{"msg": {"access_token": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, "status": "success", "error": ""}"#
            } else {
                r#"{"msg": {}, "status": "error", "error": "Token expired please log in."}"#
            };
            let mut response = http::Response::new(body.as_bytes().to_vec());
            *response.status_mut() = http::StatusCode::from_u16(if is_login { 200 } else { 500 }).expect("status");
            response
        })
        .build()
        .expect("client");
    let session = docluster_tokens::Session::login(client, "admin", "admin")
        .await
        .expect("login");
    let error = session
        .run(|c| async move { c.list_tokens().send().await })
        .await
        .expect_err("HTTP 500");
    assert_eq!(error.category(), None);
    assert_eq!(logins.load(Ordering::SeqCst), 1, "no login for an undocumented answer");
    // A TigerGraph connection whose 4.x endpoint answers HTTP 500 REST-1000: detection
    // stops there; no request carries the secret to another endpoint.
    let requests = Arc::new(AtomicUsize::new(0));
    let seen = requests.clone();
    let connection = tigergraph_tokens::Connection::builder("http://tg.invalid:14240")
        .secret("s3cr3t-value")
        .configure(move |b| {
            let seen = seen.clone();
            b.max_retries(0).respond_with(move |_| {
                seen.fetch_add(1, Ordering::SeqCst);
                answer(
                    500,
                    r#"{"error": true, "code": "REST-1000", "message": "Endpoint is not found"}"#,
                )(&reqwest::Request::new(
                    reqwest::Method::GET,
                    "http://x.invalid".parse().expect("url"),
                ))
            })
        })
        .build()
        .expect("connection");
    let error = connection.get(None).await.expect_err("HTTP 500");
    assert_eq!(error.http_status().map(|s| s.as_u16()), Some(500));
    assert_eq!(requests.load(Ordering::SeqCst), 1);
}
