//! fastly-tokens against a mock Fastly: every operation's exact request and typed answer.

use api_tokens_runtime::ErrorKind;
use api_tokens_tests::{answering, answering_anything, basic};
use fastly_tokens::{Client, CreateErrorCode, RateLimit, ResponseValue, Scope, TokenCreateForm, types};
use httpmock::prelude::*;
use serde_json::json;

const KEY: &str = "fastly-key-F4stlyK3y";

fn client(server: &MockServer) -> Client {
    Client::builder()
        .base_url(server.base_url())
        .token(KEY)
        .build()
        .expect("client")
}

fn token_json(id: &str, scope: &str) -> serde_json::Value {
    json!({
        "id": id, "user_id": "u1", "name": "ci", "scope": scope, "services": ["s1", "s2"],
        "created_at": "2016-06-22T03:19:48+00:00", "updated_at": "2016-06-22T03:19:48Z",
        "deleted_at": null, "last_used_at": "2016-06-22T03:19:48+00:00",
        "expires_at": "2016-07-28T19:24:50+00:00", "ip": "127.17.202.173", "user_agent": "Mozilla/5.0"
    })
}

/// `create_token` with `form`, the call most tests here make.
async fn create(
    client: &Client,
    form: TokenCreateForm,
) -> Result<ResponseValue<types::TokenCreatedResponse>, api_tokens_runtime::Error> {
    client.create_token().body(form).send().await
}

#[tokio::test]
async fn create_token_sends_basic_otp_and_repeated_services() {
    let server = MockServer::start_async().await;
    let mut created = token_json("5Yo3XXnrQpjc20u0ybrf2g", "purge_all purge_select");
    created["access_token"] = json!("YOUR_FASTLY_TOKEN");
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/tokens")
                .header("authorization", basic("me@example.com", "pa55w0rd"))
                .header("fastly-otp", "123456")
                .header("content-type", "application/x-www-form-urlencoded")
                .header("accept", "application/json")
                .header_missing("fastly-key")
                .header_missing("api-version")
                .body("name=ci+token&scope=purge_all+purge_select&services%5B%5D=s1&services%5B%5D=s2&expires_at=2016-07-28T19%3A24%3A50%2B00%3A00");
            then.status(200).json_body(created.clone());
        })
        .await;
    let client = Client::builder()
        .base_url(server.base_url())
        .username_and_password("me@example.com", "pa55w0rd")
        .build()
        .expect("client");
    let form = TokenCreateForm::new()
        .name("ci token")
        .scope([Scope::PurgeAll, Scope::PurgeSelect])
        .service("s1")
        .service("s2")
        .expires_at("2016-07-28T19:24:50+00:00");
    let token = create(&client.with_otp("123456").expect("otp"), form)
        .await
        .expect("created")
        .into_inner();
    mock.assert_async().await;
    assert_eq!(token.access_token.expose(), "YOUR_FASTLY_TOKEN");
    assert_eq!(token.id, "5Yo3XXnrQpjc20u0ybrf2g");
    let scope = token.scope.expect("scope");
    assert_eq!(
        scope.iter().collect::<Vec<_>>(),
        [&Scope::PurgeAll, &Scope::PurgeSelect]
    );
    assert_eq!(token.services, ["s1", "s2"]);
}

#[tokio::test]
async fn create_token_with_a_token_and_login_in_the_form() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/tokens")
                .header("fastly-key", KEY)
                .header_missing("authorization")
                .header_missing("fastly-otp")
                .body("username=me%40example.com&password=pa55+w%3Drd&scope=global%3Aread");
            then.status(200)
                .json_body(json!({"id": "t2", "access_token": "NEW-TOKEN-VALUE", "scope": "global:read"}));
        })
        .await;
    let form = TokenCreateForm::new()
        .login("me@example.com", "pa55 w=rd")
        .scope(Scope::GlobalRead);
    let token = create(&client(&server), form).await.expect("created").into_inner();
    mock.assert_async().await;
    assert!(token.scope.expect("scope").contains(&Scope::GlobalRead));
}

#[tokio::test]
async fn create_token_2fa_with_the_login_in_the_form() {
    // The documented flow: `Fastly-OTP: 123456` with `username=…&password=…` in the form.
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/tokens")
                .header("fastly-otp", "123456")
                .header_missing("authorization")
                .header_missing("fastly-key")
                .body("username=me%40example.com&password=PASSWORD&name=ci");
            then.status(200)
                .json_body(json!({"id": "t3", "access_token": "NEW-TOKEN-VALUE"}));
        })
        .await;
    let client = Client::builder()
        .base_url(server.base_url())
        .otp("123456")
        .build()
        .expect("client");
    let form = TokenCreateForm::new().login("me@example.com", "PASSWORD").name("ci");
    let token = create(&client, form).await.expect("created");
    mock.assert_async().await;
    assert_eq!(token.into_inner().id, "t3");
}

#[tokio::test]
async fn create_token_2fa_goes_with_the_password_even_beside_an_api_key() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/tokens")
                .header("authorization", basic("me@example.com", "pa55w0rd"))
                .header("fastly-otp", "654321");
            then.status(200).json_body(json!({"id": "t4", "access_token": "NEW"}));
        })
        .await;
    let client = Client::builder()
        .base_url(server.base_url())
        .token(KEY)
        .username_and_password("me@example.com", "pa55w0rd")
        .otp("654321")
        .build()
        .expect("client");
    create(&client, TokenCreateForm::new()).await.expect("created");
    mock.assert_async().await;
}

#[tokio::test]
async fn a_one_time_code_that_could_not_be_sent_fails_the_call() {
    let server = MockServer::start_async().await;
    let any = server.mock_async(|_, then| {
        then.status(200);
    });
    let any = any.await;
    // An API key and a code, but no password for the code to go with.
    let client = Client::builder()
        .base_url(server.base_url())
        .token(KEY)
        .otp("123456")
        .build()
        .expect("client");
    let error = create(&client, TokenCreateForm::new().name("ci"))
        .await
        .expect_err("the code would be dropped");
    assert_eq!(error.kind(), ErrorKind::MissingCredentials);
    assert!(error.to_string().contains("`otp`"), "{error}");
    // A login both in the form and on the client is ambiguous.
    let client = Client::builder()
        .base_url(server.base_url())
        .username_and_password("me@example.com", "pa55w0rd")
        .build()
        .expect("client");
    let error = create(&client, TokenCreateForm::new().login("other@example.com", "PASSWORD"))
        .await
        .expect_err("two logins");
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    assert!(!error.to_string().contains("PASSWORD"), "{error}");
    any.assert_calls_async(0).await;
}

#[tokio::test]
async fn an_empty_form_is_sent_with_content_length_zero() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path("/tokens").header("content-length", "0");
            then.status(200).json_body(json!({"id": "t5", "access_token": "NEW"}));
        })
        .await;
    create(&client(&server), TokenCreateForm::new()).await.expect("created");
    mock.assert_async().await;
}

#[tokio::test]
async fn create_token_errors_are_typed() {
    let server = MockServer::start_async().await;
    let mock = answering(&server, POST, "/tokens", 400, json!({"code": "2fa.verify"})).await;
    let err = create(&client(&server), TokenCreateForm::new()).await.expect_err("400");
    mock.assert_async().await;
    assert_eq!(err.kind(), ErrorKind::Vendor);
    assert_eq!(err.http_status().map(|s| s.as_u16()), Some(400));
    assert_eq!(err.vendor_code(), Some("2fa.verify"));
    let body: &types::ErrorBody = err.vendor_body().expect("typed body");
    assert_eq!(body.create_error_code(), Some(CreateErrorCode::MfaVerify));
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn create_token_422_keeps_the_message() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/tokens");
            then.status(422).json_body(
                json!({"msg": "The format of the date and time supplied to the expires_at parameter is invalid."}),
            );
        })
        .await;
    let err = create(&client(&server), TokenCreateForm::new().expires_at("tomorrow"))
        .await
        .expect_err("422");
    assert_eq!(
        err.vendor_message(),
        Some("The format of the date and time supplied to the expires_at parameter is invalid.")
    );
}

#[tokio::test]
async fn get_token_decodes_the_documented_answer() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/tokens/5Yo3XXnrQpjc20u0ybrf2g")
                .header("fastly-key", KEY)
                .header("accept", "application/json")
                .header_missing("authorization")
                .header_missing("api-version");
            then.status(200)
                .header("Fastly-RateLimit-Remaining", "999")
                .header("Fastly-RateLimit-Reset", "1452032384")
                .json_body(token_json("5Yo3XXnrQpjc20u0ybrf2g", "global"));
        })
        .await;
    let answer = client(&server)
        .get_token()
        .token_id("5Yo3XXnrQpjc20u0ybrf2g")
        .send()
        .await
        .expect("token");
    mock.assert_async().await;
    let limit = RateLimit::from_headers(answer.headers()).expect("rate limit");
    assert_eq!((limit.remaining, limit.reset), (Some(999), Some(1452032384)));
    let token = answer.into_inner();
    assert_eq!(token.user_id.as_deref(), Some("u1"));
    assert_eq!(token.deleted_at, None);
    assert_eq!(token.ip.as_deref(), Some("127.17.202.173"));
}

#[tokio::test]
async fn get_token_404_is_a_vendor_error() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/tokens/nope");
            then.status(404)
                .json_body(json!({"msg": "Token lookup failed", "detail": "no such token"}));
        })
        .await;
    let err = client(&server)
        .get_token()
        .token_id("nope")
        .send()
        .await
        .expect_err("404");
    assert_eq!(err.kind(), ErrorKind::Vendor);
    assert_eq!(err.vendor_message(), Some("Token lookup failed"));
    assert_eq!(
        err.vendor_body::<types::ErrorBody>().and_then(|b| b.detail.as_deref()),
        Some("no such token")
    );
}

#[tokio::test]
async fn path_parameters_are_percent_encoded() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET).path_includes("%2F");
            then.status(200).json_body(token_json("x", "global"));
        })
        .await;
    let escaped = answering(&server, GET, "/b", 200, token_json("escaped", "global")).await;
    let token = client(&server)
        .get_token()
        .token_id("a/../b")
        .send()
        .await
        .expect("token")
        .into_inner();
    assert_eq!(token.id, "x");
    mock.assert_async().await;
    assert_eq!(escaped.calls_async().await, 0);
}

#[tokio::test]
async fn get_token_current_and_its_errors() {
    let server = MockServer::start_async().await;
    let ok = server
        .mock_async(|when, then| {
            when.method(GET).path("/tokens/self").header("fastly-key", KEY);
            then.status(200).json_body(token_json("self-id", "global:read"));
        })
        .await;
    let token = client(&server)
        .get_token_current()
        .send()
        .await
        .expect("token")
        .into_inner();
    ok.assert_async().await;
    assert_eq!(token.id, "self-id");

    let server = MockServer::start_async().await;
    answering(
        &server,
        GET,
        "/tokens/self",
        401,
        json!({"msg": "Missing or expired token."}),
    )
    .await;
    let err = client(&server).get_token_current().send().await.expect_err("401");
    assert_eq!(
        (err.kind(), err.http_status().map(|s| s.as_u16())),
        (ErrorKind::Vendor, Some(401))
    );
    assert_eq!(err.vendor_message(), Some("Missing or expired token."));
}

#[tokio::test]
async fn list_tokens_user_accepts_multi_scope_tokens() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/tokens")
                .header("fastly-key", KEY)
                .header("accept", "application/json");
            then.status(200).json_body(json!([
                token_json("a", "purge_all purge_select"),
                token_json("b", "global some_future_scope")
            ]));
        })
        .await;
    let tokens = client(&server)
        .list_tokens_user()
        .send()
        .await
        .expect("list")
        .into_inner();
    mock.assert_async().await;
    assert_eq!(tokens.len(), 2);
    let scopes: Vec<Vec<Scope>> = tokens.iter().map(|t| t.scope.clone().expect("scope").0).collect();
    assert_eq!(scopes[0], [Scope::PurgeAll, Scope::PurgeSelect]);
    assert_eq!(scopes[1], [Scope::Global, Scope::Other("some_future_scope".into())]);
}

#[tokio::test]
async fn list_tokens_user_403() {
    let server = MockServer::start_async().await;
    answering(&server, GET, "/tokens", 403, json!({"msg": "Invalid token."})).await;
    let err = client(&server).list_tokens_user().send().await.expect_err("403");
    assert_eq!(err.http_status().map(|s| s.as_u16()), Some(403));
    assert_eq!(err.vendor_message(), Some("Invalid token."));
}

#[tokio::test]
async fn list_tokens_customer() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/customer/x4xCwxxJxGCx123Rx5xTx/tokens")
                .header("fastly-key", KEY);
            then.status(200).json_body(json!([token_json("a", "global")]));
        })
        .await;
    let tokens = client(&server)
        .list_tokens_customer()
        .customer_id("x4xCwxxJxGCx123Rx5xTx")
        .send()
        .await
        .expect("list");
    mock.assert_async().await;
    assert_eq!(tokens.into_inner()[0].id, "a");
}

#[tokio::test]
async fn revoke_token_and_revoke_current() {
    let server = MockServer::start_async().await;
    let by_id = server
        .mock_async(|when, then| {
            when.method(DELETE)
                .path("/tokens/t1")
                .header("fastly-key", KEY)
                .header_missing("api-version");
            then.status(204);
        })
        .await;
    let current = server
        .mock_async(|when, then| {
            when.method(DELETE).path("/tokens/self").header("fastly-key", KEY);
            then.status(204);
        })
        .await;
    let client = client(&server);
    assert_eq!(
        client
            .revoke_token()
            .token_id("t1")
            .send()
            .await
            .expect("revoked")
            .status()
            .as_u16(),
        204
    );
    client.revoke_token_current().send().await.expect("revoked");
    by_id.assert_async().await;
    current.assert_async().await;
}

#[tokio::test]
async fn revoke_token_400_is_a_vendor_error() {
    let server = MockServer::start_async().await;
    answering(
        &server,
        DELETE,
        "/tokens/t1",
        400,
        json!({"msg": "Token revocation error."}),
    )
    .await;
    let err = client(&server)
        .revoke_token()
        .token_id("t1")
        .send()
        .await
        .expect_err("400");
    assert_eq!(err.vendor_message(), Some("Token revocation error."));
}

#[tokio::test]
async fn bulk_revoke_sends_the_jsonapi_bulk_media_type() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(DELETE)
                .path("/tokens")
                .header("content-type", "application/vnd.api+json; ext=bulk")
                .header("fastly-key", KEY)
                .json_body(json!({"data": [
                    {"type": "token", "id": "3krg2uUGZzb2W9Euo4moOY"},
                    {"type": "token", "id": "71ZA6hv2FO6tGEQIE203Xj"}
                ]}));
            then.status(204);
        })
        .await;
    let ids = ["3krg2uUGZzb2W9Euo4moOY", "71ZA6hv2FO6tGEQIE203Xj"];
    let body = types::BulkRevokeRequest {
        data: ids
            .iter()
            .map(|id| types::TokenIdentifier {
                id: (*id).into(),
                type_: types::TokenResourceType::Token,
            })
            .collect(),
    };
    client(&server)
        .bulk_revoke_tokens()
        .body(body)
        .send()
        .await
        .expect("bulk revocation");
    mock.assert_async().await;
}

#[tokio::test]
async fn no_credentials_fail_before_sending() {
    let server = MockServer::start_async().await;
    let any = answering_anything(&server, token_json("x", "global")).await;
    let anonymous = Client::builder().base_url(server.base_url()).build().expect("client");
    let err = anonymous.get_token_current().send().await.expect_err("no credentials");
    assert_eq!(err.kind(), ErrorKind::MissingCredentials);
    assert!(err.to_string().contains("token"), "{err}");
    // A one-time code alone satisfies no alternative of create_token.
    let otp_only = anonymous.with_otp("123456").expect("otp");
    let err = create(&otp_only, TokenCreateForm::new()).await.expect_err("no login");
    assert_eq!(err.kind(), ErrorKind::MissingCredentials);
    assert_eq!(any.calls_async().await, 0);
}

#[test]
fn malformed_rate_limit_headers_are_none_not_a_panic() {
    let mut headers = reqwest_headers(&[("fastly-ratelimit-remaining", "lots"), ("fastly-ratelimit-reset", "-1")]);
    assert_eq!(RateLimit::from_headers(&headers), None);
    headers = reqwest_headers(&[("fastly-ratelimit-remaining", "18446744073709551616")]);
    assert_eq!(RateLimit::from_headers(&headers), None);
    headers = reqwest_headers(&[("fastly-ratelimit-reset", " 1452032384 ")]);
    let limit = RateLimit::from_headers(&headers).expect("rate limit");
    assert_eq!((limit.remaining, limit.reset), (None, Some(1452032384)));
}

fn reqwest_headers(pairs: &[(&'static str, &str)]) -> http::HeaderMap {
    pairs
        .iter()
        .map(|(k, v)| {
            (
                http::HeaderName::from_static(k),
                http::HeaderValue::from_str(v).expect("value"),
            )
        })
        .collect()
}
