//! docluster-tokens against a mock DoCluster: form bodies, the token as a form field,
//! errors inside HTTP 200 `text/html` answers.

use api_tokens_runtime::ErrorKind;
use docluster_tokens::{Client, types};
use httpmock::prelude::*;

const TOKEN: &str = "ISGYCHKMVPFPLSDRDTJGYDSQVWGHSOMPUERUMFBSMJOGUHRCAUDCCRCBGBVN";

/// What the Flask server sends: pretty-printed JSON as `text/html`.
fn answer(then: httpmock::Then, body: serde_json::Value) {
    let text = serde_json::to_string_pretty(&body).expect("json");
    then.status(200)
        .header("content-type", "text/html; charset=utf-8")
        .body(text);
}

fn client(server: &MockServer) -> docluster_tokens::ClientBuilder {
    Client::builder().base_url(format!("{}/api", server.base_url()))
}

/// Every DoCluster call is a form POST (the server reads no query and no JSON).
fn form_post(when: httpmock::When, path: &str) -> httpmock::When {
    when.method(POST)
        .path(path)
        .header("content-type", "application/x-www-form-urlencoded")
}

#[tokio::test]
async fn login_posts_the_form_and_reads_the_token() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            form_post(when, "/api/login")
                .header_missing("api-version")
                .body("password=admin&username=admin");
            answer(
                then,
                serde_json::json!({"msg": {"access_token": TOKEN}, "status": "success", "error": ""}),
            );
        })
        .await;
    let login = client(&server)
        .build()
        .expect("client")
        .login()
        .body_map(|b| b.username("admin").password("admin"))
        .send()
        .await
        .expect("login")
        .into_inner();
    mock.assert_async().await;
    assert_eq!(login.msg.access_token.expose(), TOKEN);
}

#[tokio::test]
async fn logout_sends_the_token_as_a_form_field() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            form_post(when, "/api/logout")
                .header_missing("authorization")
                .query_param_missing("access_token")
                .body(format!("access_token={TOKEN}"));
            answer(then, serde_json::json!({"msg": "", "status": "success", "error": ""}));
        })
        .await;
    client(&server)
        .access_token(TOKEN)
        .build()
        .expect("client")
        .logout()
        .send()
        .await
        .expect("logout");
    mock.assert_async().await;
}

#[tokio::test]
async fn list_tokens_keys_owners_by_token() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path("/api/tokens").body(format!("access_token={TOKEN}"));
            answer(then, serde_json::json!({"msg": {"tokens": {TOKEN: {"username": "admin", "ip": "127.0.0.1", "expiration": 1795371727}}},
                "status": "success", "error": ""}));
        })
        .await;
    let listed = client(&server)
        .access_token(TOKEN)
        .build()
        .expect("client")
        .list_tokens()
        .send()
        .await
        .expect("tokens")
        .into_inner();
    mock.assert_async().await;
    let (token, owner) = &listed.msg.tokens.0[0];
    assert_eq!(
        (
            token.expose(),
            owner.username.as_str(),
            owner.ip.as_str(),
            owner.expiration.0.map(|t| t.to_rfc3339())
        ),
        (TOKEN, "admin", "127.0.0.1", Some("2026-11-22T18:22:07Z".to_owned()))
    );
    assert!(!format!("{listed:?}").contains(TOKEN));
}

async fn failing(path: &str, body: serde_json::Value) -> api_tokens_runtime::Error {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path(format!("/api/{}", path.split('#').next().unwrap_or(path)));
            answer(then, body.clone());
        })
        .await;
    let client = client(&server).access_token(TOKEN).build().expect("client");
    match path {
        "login" => client
            .login()
            .body_map(|b| b.username("admin").password("nope"))
            .send()
            .await
            .map(drop),
        "logout" => client.logout().send().await.map(drop),
        "login#check" => client.check_token().send().await.map(drop),
        _ => client.list_tokens().send().await.map(drop),
    }
    .expect_err("status is not success")
}

#[tokio::test]
async fn check_token_posts_the_saved_token_to_login() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            form_post(when, "/api/login").body(format!("access_token={TOKEN}"));
            answer(then, serde_json::json!({"msg": {}, "status": "success", "error": ""}));
        })
        .await;
    client(&server)
        .access_token(TOKEN)
        .build()
        .expect("client")
        .check_token()
        .send()
        .await
        .expect("valid");
    mock.assert_async().await;
}

#[tokio::test]
async fn every_documented_failure_is_an_error() {
    let cases = [
        ("login", "false", "Username not found, please log in."),
        ("login", "false", "Wrong password."),
        ("logout", "error", "Token not found, please log in."),
        (
            "logout",
            "error",
            "The token is not important for this IP address, please log in.",
        ),
        ("logout", "error", "Token expired please log in."),
        ("login#check", "error", "Token expired please log in."),
        ("login#check", "error", "Token not found, please log in."),
        ("tokens", "error", "Token expired please log in."),
        ("tokens", "error", "Wrong API path"),
        ("logout", "error", "wrong token"),
    ];
    for (path, status, message) in cases {
        let err = failing(path, serde_json::json!({"msg": {}, "status": status, "error": message})).await;
        assert_eq!(err.kind(), ErrorKind::Vendor, "{path}: {message}");
        assert!(err.is_in_success_body());
        assert_eq!(err.vendor_code(), Some(status));
        assert_eq!(err.vendor_message(), Some(message));
        // Only a token bound to another IP address needs a word more.
        assert_eq!(err.vendor_note().is_some(), message.contains("IP address"), "{message}");
    }
}

#[tokio::test]
async fn a_failed_logout_without_cluster_says_the_token_is_gone() {
    let err = failing(
        "logout",
        serde_json::json!({"msg": "", "status": "error", "error": "Cluster not created"}),
    )
    .await;
    assert_eq!(err.vendor_message(), Some("Cluster not created"));
    let note = err.vendor_note().expect("note");
    assert!(note.contains("invalidated"), "{note}");
    assert!(err.to_string().contains("invalidated all the same"), "{err}");
}

#[tokio::test]
async fn tokens_without_cluster_keep_the_listing_in_the_error() {
    let err = failing(
        "tokens",
        serde_json::json!({"msg": {"tokens": {TOKEN: {"username": "admin", "ip": "127.0.0.1", "expiration": 1}}},
        "status": "error", "error": "Cluster not created"}),
    )
    .await;
    let body: &types::TokensAnswer = err.vendor_body().expect("listing");
    assert_eq!(body.msg.tokens.len(), 1);
}

#[tokio::test]
async fn no_token_fails_before_sending() {
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).body("{}");
        })
        .await;
    let err = client(&server)
        .build()
        .expect("client")
        .logout()
        .send()
        .await
        .expect_err("no token");
    assert_eq!(err.kind(), ErrorKind::MissingCredentials);
    assert_eq!(any.calls_async().await, 0);
}

/// Issue 17: one odd entry does not fail the whole list; an expiry the crate cannot read
/// is unknown (`None`), never a failed answer.
#[tokio::test]
async fn a_token_list_with_odd_expirations_decodes_whole() {
    for odd in ["null", "99999999999999999", "-99999999999999999", "\"soon\"", "1.5"] {
        let body = format!(
            r#"{{"msg": {{"tokens": {{"AAAA": {{"username": "admin", "ip": "127.0.0.1", "expiration": {odd}}}, "BBBB": {{"username": "ops", "ip": "10.0.0.2", "expiration": 1795371727}}}}}}, "status": "success", "error": ""}}"#
        );
        let client = docluster_tokens::Client::builder()
            .base_url("http://cluster.invalid/api")
            .access_token("TOKEN")
            .respond_with(move |_| {
                let mut response = http::Response::new(body.clone().into_bytes());
                response
                    .headers_mut()
                    .insert("content-type", "text/html; charset=utf-8".parse().expect("value"));
                response
            })
            .build()
            .expect("client");
        let listed = client.list_tokens().send().await.expect(odd).into_inner();
        let owners: Vec<_> = listed
            .msg
            .tokens
            .iter()
            .map(|(_, o)| (o.username.clone(), o.expiration.time().map(|t| t.timestamp())))
            .collect();
        assert_eq!(
            owners,
            [("admin".to_owned(), None), ("ops".to_owned(), Some(1_795_371_727))],
            "{odd}"
        );
    }
}
