//! insight-tokens against a mock Insight.io: both API generations, `X-Auth-Token`, 401s.

use api_tokens_runtime::ErrorKind;
use api_tokens_tests::{answering, answering_anything};
use httpmock::prelude::*;
use insight_tokens::Client;
use serde_json::json;

const TOKEN: &str = "9102896162300872bcb4daab88d9c108b9bec3382b20bc1f3184eaf318845285e3beb733";
const COOKIE: &str = "PLAY_SESSION=insight-session-C00k1e";

fn client(server: &MockServer) -> insight_tokens::ClientBuilder {
    Client::builder().base_url(server.base_url())
}

fn token_list() -> serde_json::Value {
    json!([
        {"uid": "ldap@user.0", "apiToken": "95e1110da97bf616d2e6838677f0275d", "created": 1496357580959i64, "lastUsed": 1496357580959i64},
        {"uid": "ldap@user.0", "apiToken": "c9d1a9dd3ec6fa0f41543071f1c98cc6", "created": 1496358254649i64, "lastUsed": null}
    ])
}

#[tokio::test]
async fn create_api_token_with_the_session_cookie() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/createApiToken")
                .header("cookie", COOKIE)
                .header("accept", "application/json")
                .header_missing("x-auth-token")
                .header_missing("api-version");
            then.status(200).json_body(json!({"token": TOKEN}));
        })
        .await;
    let token = client(&server)
        .session_cookie(COOKIE)
        .build()
        .expect("client")
        .create_api_token()
        .send()
        .await
        .expect("token")
        .into_inner();
    mock.assert_async().await;
    assert_eq!(token.token.expose(), TOKEN);
}

#[tokio::test]
async fn get_api_tokens_decodes_epoch_milliseconds() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/getApiTokens")
                .header("x-auth-token", TOKEN)
                .header_missing("cookie");
            then.status(200).json_body(token_list());
        })
        .await;
    let tokens = client(&server)
        .api_token(TOKEN)
        .build()
        .expect("client")
        .get_api_tokens()
        .send()
        .await
        .expect("list")
        .into_inner();
    mock.assert_async().await;
    assert_eq!(tokens.len(), 2);
    assert_eq!(tokens[0].uid, "ldap@user.0");
    // Epoch milliseconds, typed.
    assert_eq!(
        tokens[0].created.map(|t| t.to_rfc3339()).as_deref(),
        Some("2017-06-01T22:53:00Z")
    );
    assert_eq!(tokens[1].last_used, None);
    assert_eq!(tokens[1].api_token.expose(), "c9d1a9dd3ec6fa0f41543071f1c98cc6");
}

#[tokio::test]
async fn revoke_api_token_sends_the_target_token() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/revokeApiToken")
                .header("x-auth-token", "target-token-T4rg3t");
            then.status(200);
        })
        .await;
    let client = client(&server).api_token(TOKEN).build().expect("client");
    client
        .with_api_token("target-token-T4rg3t")
        .expect("client")
        .revoke_api_token()
        .send()
        .await
        .expect("revoked");
    mock.assert_async().await;
}

#[tokio::test]
async fn the_newer_endpoints() {
    let server = MockServer::start_async().await;
    let create = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/token")
                .header("cookie", COOKIE)
                .header("content-length", "0");
            then.status(200).json_body(json!({"token": TOKEN}));
        })
        .await;
    let list = server
        .mock_async(|when, then| {
            when.method(GET).path("/api/token").header("x-auth-token", TOKEN);
            then.status(200).json_body(token_list());
        })
        .await;
    let delete = server
        .mock_async(|when, then| {
            when.method(DELETE).path("/api/token").header("x-auth-token", TOKEN);
            then.status(200);
        })
        .await;
    let client = client(&server)
        .session_cookie(COOKIE)
        .api_token(TOKEN)
        .build()
        .expect("client");
    client.create_token().send().await.expect("created");
    assert_eq!(client.list_tokens().send().await.expect("list").len(), 2);
    client.delete_token().send().await.expect("deleted");
    create.assert_async().await;
    list.assert_async().await;
    delete.assert_async().await;
}

#[tokio::test]
async fn ldap_and_provider_logins() {
    let server = MockServer::start_async().await;
    let ldap = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/authenticate/ldap")
                .header("content-type", "application/x-www-form-urlencoded")
                .body("password=ldap-pa55&username=jdoe");
            then.status(200).json_body(json!({"token": TOKEN}));
        })
        .await;
    let provider = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/authenticate/github")
                .header("content-type", "application/json")
                .json_body(json!({"email": "me@example.com", "info": {"accessToken": "gho_0Auth"}}));
            then.status(200)
                .json_body(json!({"token": TOKEN, "expiresOn": "292278994-08-17T07:12:55.807Z"}));
        })
        .await;
    let client = client(&server).build().expect("client");
    let login = client
        .authenticate_ldap()
        .body_map(|b| b.username("jdoe").password("ldap-pa55"))
        .send()
        .await
        .expect("ldap");
    assert_eq!(login.into_inner().token.expose(), TOKEN);
    let login = client
        .authenticate_provider()
        .provider("github")
        .body_map(|b| {
            b.email("me@example.com").info(insight_tokens::types::ProviderInfo {
                access_token: "gho_0Auth".into(),
            })
        })
        .send()
        .await
        .expect("provider");
    assert_eq!(login.into_inner().token.expose(), TOKEN);
    ldap.assert_async().await;
    provider.assert_async().await;
}

#[tokio::test]
async fn authenticate_userpass_posts_a_form() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/authenticate/userpass")
                .header("content-type", "application/x-www-form-urlencoded")
                .header_missing("x-auth-token")
                .body("password=p%26ss+w%3Drd&username=admin");
            then.status(200)
                .json_body(json!({"token": TOKEN, "expiresOn": "292278994-08-17T07:12:55.807Z"}));
        })
        .await;
    let login = client(&server)
        .build()
        .expect("client")
        .authenticate_userpass()
        .body_map(|b| b.username("admin").password("p&ss w=rd"))
        .send()
        .await
        .expect("login")
        .into_inner();
    mock.assert_async().await;
    assert_eq!(login.token.expose(), TOKEN);
    assert_eq!(login.expires_on.as_deref(), Some("292278994-08-17T07:12:55.807Z"));
}

#[tokio::test]
async fn a_401_is_a_typed_vendor_error() {
    let server = MockServer::start_async().await;
    answering(
        &server,
        GET,
        "/api/getApiTokens",
        401,
        json!({"error": "Credentials required"}),
    )
    .await;
    let err = client(&server)
        .api_token("stale")
        .build()
        .expect("client")
        .get_api_tokens()
        .send()
        .await
        .expect_err("401");
    assert_eq!(
        (err.kind(), err.http_status().map(|s| s.as_u16())),
        (ErrorKind::Vendor, Some(401))
    );
    assert_eq!(err.vendor_message(), Some("Credentials required"));
    assert_eq!(
        err.vendor_body::<insight_tokens::types::ErrorBody>()
            .and_then(|b| b.error.as_deref()),
        Some("Credentials required")
    );
}

#[tokio::test]
async fn no_credentials_fail_before_sending() {
    let server = MockServer::start_async().await;
    let any = answering_anything(&server, json!({"token": TOKEN})).await;
    let client = client(&server).api_token(TOKEN).build().expect("client");
    let err = client.create_api_token().send().await.expect_err("no cookie");
    assert_eq!(err.kind(), ErrorKind::MissingCredentials);
    assert_eq!(any.calls_async().await, 0);
}
