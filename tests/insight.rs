//! insight-tokens against a mock Insight.io: both API generations, `X-Auth-Token`, 401s.

use api_tokens_runtime::ErrorKind;
use api_tokens_tests::{answering, answering_anything};
use httpmock::prelude::*;
use insight_tokens::{Client, Secret};
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

// Issue 17.1: a time Insight.io leaves empty never fails the list.

#[tokio::test]
async fn empty_times_in_the_token_list_read_as_none() {
    let server = MockServer::start_async().await;
    answering(
        &server,
        GET,
        "/api/token",
        200,
        json!([
            {"uid": "ldap@user.0", "apiToken": "95e1110da97bf616d2e6838677f0275d", "created": null, "lastUsed": ""},
            {"uid": "ldap@user.0", "apiToken": "c9d1a9dd3ec6fa0f41543071f1c98cc6", "created": "", "lastUsed": null},
            {"uid": "ldap@user.0", "apiToken": "0f41543071f1c98cc6c9d1a9dd3ec6fa"}
        ]),
    )
    .await;
    let tokens = client(&server)
        .api_token(TOKEN)
        .build()
        .expect("client")
        .list_tokens()
        .send()
        .await
        .expect("a list with null and empty times decodes")
        .into_inner();
    assert_eq!(tokens.len(), 3);
    assert!(tokens.iter().all(|t| t.created.is_none() && t.last_used.is_none()));
}

#[tokio::test]
async fn a_malformed_time_in_the_token_list_is_invalid_body() {
    for bad in [
        json!("yesterday"),
        json!(1.5),
        json!(9_223_372_036_854_775_807i64),
        json!([]),
    ] {
        let server = MockServer::start_async().await;
        answering(
            &server,
            GET,
            "/api/token",
            200,
            json!([{"uid": "u", "apiToken": "t", "created": bad.clone()}]),
        )
        .await;
        let error = client(&server)
            .api_token(TOKEN)
            .build()
            .expect("client")
            .list_tokens()
            .send()
            .await
            .expect_err("malformed");
        assert_eq!(error.kind(), ErrorKind::InvalidBody, "{bad}: {error}");
    }
}

#[tokio::test]
async fn a_login_without_an_expiry_and_an_error_without_a_message_stay_typed() {
    let server = MockServer::start_async().await;
    answering(
        &server,
        POST,
        "/api/authenticate/userpass",
        200,
        json!({"token": TOKEN, "expiresOn": null}),
    )
    .await;
    answering(&server, POST, "/api/authenticate/ldap", 401, json!({"error": null})).await;
    let client = client(&server).build().expect("client");
    let login = client
        .authenticate_userpass()
        .body_map(|b| b.username("admin").password("pw"))
        .send()
        .await
        .expect("expiresOn: null decodes")
        .into_inner();
    assert_eq!((login.expires_on.as_deref(), login.expires_at()), (None, None));
    let error = client
        .authenticate_ldap()
        .body_map(|b| b.username("admin").password("pw"))
        .send()
        .await
        .expect_err("401");
    let body: &insight_tokens::types::ErrorBody = error.vendor_body().expect("typed body");
    assert_eq!(body.error, None);
}

#[test]
fn a_logins_expiry_reads_typed_and_never_is_none() {
    let login = |expires: serde_json::Value| -> insight_tokens::types::Login {
        serde_json::from_value(json!({"token": TOKEN, "expiresOn": expires})).expect("login")
    };
    let at = login(json!("2030-01-01T00:00:00.807Z")).expires_at().expect("a time");
    assert_eq!(at.to_rfc3339(), "2030-01-01T00:00:00.807+00:00");
    assert_eq!(login(json!("292278994-08-17T07:12:55.807Z")).expires_at(), None);
    assert_eq!(login(json!("")).expires_at(), None);
}

#[test]
fn the_hand_written_list_entry_has_exactly_the_spec_fields() {
    let spec = include_str!("../specs/insight-tokens.yaml");
    let entry: insight_tokens::types::ApiTokenInfo = serde_json::from_value(
        json!({"uid": "u", "apiToken": "t", "created": 1496357580959i64, "lastUsed": 1496357580959i64}),
    )
    .expect("entry");
    let mut keys: Vec<String> = serde_json::to_value(entry)
        .expect("json")
        .as_object()
        .expect("object")
        .keys()
        .cloned()
        .collect();
    keys.sort();
    assert_eq!(keys, crate::fastly::spec_properties(spec, "ApiTokenInfo"));
}

// Issue 17.5: the `?token=` form, and `X-Auth-Token` for the user's own requests.

#[tokio::test]
async fn a_token_in_the_query_authenticates_the_lists() {
    let server = MockServer::start_async().await;
    let list = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/token")
                .query_param("token", TOKEN)
                .header_missing("x-auth-token");
            then.status(200).json_body(token_list());
        })
        .await;
    let enterprise = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/getApiTokens")
                .query_param("token", TOKEN)
                .header_missing("x-auth-token");
            then.status(200).json_body(token_list());
        })
        .await;
    let client = client(&server).api_token_in_query(TOKEN).build().expect("client");
    assert_eq!(client.list_tokens().send().await.expect("list").len(), 2);
    assert_eq!(client.get_api_tokens().send().await.expect("list").len(), 2);
    list.assert_async().await;
    enterprise.assert_async().await;
}

#[tokio::test]
async fn the_header_wins_when_both_are_set_and_revocation_takes_only_the_header() {
    let server = MockServer::start_async().await;
    let header = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/token")
                .header("x-auth-token", TOKEN)
                .query_param_missing("token");
            then.status(200).json_body(token_list());
        })
        .await;
    let both = client(&server)
        .api_token(TOKEN)
        .api_token_in_query("other-token-0th3r")
        .build()
        .expect("client");
    both.list_tokens().send().await.expect("list");
    header.assert_async().await;

    // Revocation names its token in `X-Auth-Token` only: a query token cannot revoke.
    let server = MockServer::start_async().await;
    let any = answering_anything(&server, json!({})).await;
    let query_only = client(&server).api_token_in_query(TOKEN).build().expect("client");
    for error in [
        query_only.delete_token().send().await.expect_err("no header token"),
        query_only.revoke_api_token().send().await.expect_err("no header token"),
    ] {
        assert_eq!(error.kind(), ErrorKind::MissingCredentials, "{error}");
    }
    assert_eq!(any.calls_async().await, 0);
}

#[tokio::test]
async fn a_refused_query_token_never_shows_in_the_error() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/api/token");
            // A server that echoes the URL it was asked.
            then.status(401)
                .json_body(json!({"error": format!("Credentials required for /api/token?token={TOKEN}")}));
        })
        .await;
    let error = client(&server)
        .api_token_in_query(TOKEN)
        .build()
        .expect("client")
        .list_tokens()
        .send()
        .await
        .expect_err("401");
    assert_eq!(error.http_status().map(|s| s.as_u16()), Some(401));
    api_tokens_tests::assert_no_secret(&api_tokens_tests::all_renderings(&error), TOKEN, "query token");
}

#[test]
fn auth_header_is_x_auth_token_marked_sensitive() {
    let (name, value) = insight_tokens::auth_header(&Secret::new(TOKEN)).expect("header");
    assert_eq!(name.as_str(), "x-auth-token");
    assert_eq!(name.as_str(), insight_tokens::AUTH_HEADER.to_ascii_lowercase());
    assert!(value.is_sensitive());
    assert_eq!(value.as_bytes(), TOKEN.as_bytes());
    let printed = format!("{value:?} {value:#?}");
    assert_eq!(printed, "Sensitive Sensitive");
    for bad in ["", "line\nbreak-S3cr3tV4lue"] {
        let error = insight_tokens::auth_header(&Secret::new(bad)).expect_err("refused");
        assert_eq!(error.kind(), ErrorKind::InvalidArgument);
        assert!(!format!("{error} {error:?}").contains("S3cr3tV4lue"));
    }
}

#[tokio::test]
async fn auth_header_authenticates_the_users_own_request() {
    let server = MockServer::start_async().await;
    let recent = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/user/recentFiles")
                .header("x-auth-token", TOKEN);
            then.status(200).json_body(json!([]));
        })
        .await;
    let (name, value) = insight_tokens::auth_header(&Secret::new(TOKEN)).expect("header");
    let own = api_tokens_runtime::http_client_builder().build().expect("client");
    let answer = own
        .get(format!("{}/api/user/recentFiles", server.base_url()))
        .header(name, value)
        .send()
        .await
        .expect("sent");
    assert_eq!(answer.status().as_u16(), 200);
    recent.assert_async().await;
}
