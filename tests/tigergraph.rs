//! tigergraph-tokens against a mock TigerGraph: three endpoint generations, errors
//! inside HTTP 200 answers.

use std::time::{Duration, SystemTime};

use api_tokens_runtime::ErrorKind;
use api_tokens_tests::{answering_anything, assert_each_hit_once, basic};
use httpmock::prelude::*;
use serde_json::json;
use tigergraph_tokens::{Client, Milliseconds, Seconds, TokenList, types};

const SECRET: &str = "tg-secret-T1g3rS3cr3t";

fn with_secret(server: &MockServer) -> Client {
    Client::builder()
        .base_url(server.base_url())
        .secret(SECRET)
        .build()
        .expect("client")
}

fn with_basic(server: &MockServer) -> Client {
    Client::builder()
        .base_url(server.base_url())
        .basic("tigergraph", "tg-pa55")
        .build()
        .expect("client")
}

fn ok_envelope(message: &str, expiration: i64) -> serde_json::Value {
    json!({"code": "REST-0000", "expiration": expiration, "error": false, "message": message, "token": "tohvf6khjqju8jf0r0l1cohhlm8gi5fq"})
}

/// The token a REST++ answer carries, wherever it put it.
fn token_of(answer: &types::RestppTokenResponse) -> Option<&str> {
    answer.token().map(|t| t.expose())
}

#[tokio::test]
async fn v30_request_token_puts_secret_and_lifetime_in_the_query() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/requesttoken")
                .query_param("secret", SECRET)
                .query_param("lifetime", "1000000")
                .header_missing("authorization")
                .header_missing("api-version");
            then.status(200)
                .json_body(ok_envelope("Generate new token successfully.", 1616042814));
        })
        .await;
    let answer = with_secret(&server)
        .request_token_query()
        .lifetime(1_000_000u64)
        .send()
        .await
        .expect("token")
        .into_inner();
    mock.assert_async().await;
    assert_eq!(token_of(&answer), Some("tohvf6khjqju8jf0r0l1cohhlm8gi5fq"));
    assert_eq!(answer.code.as_deref(), Some("REST-0000"));
    assert_eq!(
        answer.expires_at(),
        Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1616042814))
    );
}

#[tokio::test]
async fn v30_request_token_raw_keeps_the_secret_out_of_the_url() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/requesttoken")
                .query_param("lifetime", "100000")
                .query_param_missing("secret")
                .header("content-type", "application/x-www-form-urlencoded")
                .header_missing("authorization")
                .body(SECRET);
            then.status(200)
                .json_body(ok_envelope("Generate new token successfully.", 1616042814));
        })
        .await;
    let answer = with_secret(&server)
        .request_token_raw()
        .lifetime(100_000u64)
        .send()
        .await
        .expect("token")
        .into_inner();
    mock.assert_async().await;
    assert_eq!(answer.code.as_deref(), Some("REST-0000"));
    assert_eq!(token_of(&answer), Some("tohvf6khjqju8jf0r0l1cohhlm8gi5fq"));
    // Without a secret there is nothing to send as the body.
    let err = with_basic(&server)
        .request_token_raw()
        .send()
        .await
        .expect_err("no secret");
    assert_eq!(err.kind(), ErrorKind::MissingCredentials);
}

#[tokio::test]
async fn v30_request_token_with_basic_and_graph() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/requesttoken")
                .query_param("graph", "social")
                .query_param_missing("secret")
                .header("authorization", basic("tigergraph", "tg-pa55"));
            then.status(200)
                .json_body(ok_envelope("Generate new token successfully.", 1616042814));
        })
        .await;
    with_basic(&server)
        .request_token_query()
        .graph("social")
        .send()
        .await
        .expect("token");
    mock.assert_async().await;
}

#[tokio::test]
async fn v30_refresh_and_delete_use_the_query() {
    let server = MockServer::start_async().await;
    let refresh = server
        .mock_async(|when, then| {
            when.method(PUT)
                .path("/requesttoken")
                .query_param("secret", SECRET)
                .query_param("token", "0mq98l9pderkaivndf820gudg923p3l0")
                .query_param("lifetime", "15")
                .header("content-length", "0");
            // The 3.0–3.4 bug: `expiration` holds the lifetime.
            then.status(200)
                .json_body(ok_envelope("Refresh token successfully.", 15));
        })
        .await;
    let delete = server
        .mock_async(|when, then| {
            when.method(DELETE)
                .path("/requesttoken")
                .query_param("secret", SECRET)
                .query_param("token", "0mq98l9pderkaivndf820gudg923p3l0");
            then.status(200).json_body(ok_envelope("Drop token successfully.", -1));
        })
        .await;
    let client = with_secret(&server);
    let refreshed = client
        .refresh_token_query()
        .token("0mq98l9pderkaivndf820gudg923p3l0")
        .lifetime(15u64)
        .send()
        .await
        .expect("refresh");
    assert_eq!(refreshed.expires_at(), None, "a lifetime is not an expiration time");
    client
        .delete_token_query()
        .token("0mq98l9pderkaivndf820gudg923p3l0")
        .send()
        .await
        .expect("delete");
    assert_each_hit_once(&[&refresh, &delete]).await;
}

#[tokio::test]
async fn v35_request_token_sends_a_json_body_with_lifetime_as_a_string() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/requesttoken")
                .query_param("allowExisting", "true")
                .header("content-type", "application/json")
                .header_missing("authorization")
                .json_body(json!({"secret": SECRET, "graph": "social", "lifetime": "100000"}));
            then.status(200).json_body(ok_envelope("Generate new token successfully.\nWarning: Tigergraph Support cannot restore access to secrets/tokens for security reasons.", 1616042814));
        })
        .await;
    let answer = with_secret(&server)
        .request_token()
        .allow_existing(true)
        .body_map(|b| {
            b.graph("social".to_owned())
                .lifetime(Seconds::from(Duration::from_secs(100_000)))
        })
        .send()
        .await
        .expect("token")
        .into_inner();
    mock.assert_async().await;
    assert!(answer.token().is_some());
}

#[tokio::test]
async fn v35_basic_auth_answer_nests_the_token_under_results() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/requesttoken")
                .header("authorization", basic("tigergraph", "tg-pa55"))
                .json_body(json!({"graph": "social"}));
            then.status(200).json_body(json!({"code": "REST-0000", "expiration": 1648410519, "error": false,
                "message": "Generate new token successfully.", "results": {"token": "j8s70l647fcdjlmpvedudl4btitm4luh"}}));
        })
        .await;
    let answer = with_basic(&server)
        .request_token()
        .body_map(|b| b.graph("social".to_owned()))
        .send()
        .await
        .expect("token")
        .into_inner();
    mock.assert_async().await;
    assert_eq!(token_of(&answer), Some("j8s70l647fcdjlmpvedudl4btitm4luh"));
}

#[tokio::test]
async fn v35_refresh_and_delete_send_json_bodies() {
    let server = MockServer::start_async().await;
    let refresh = server
        .mock_async(|when, then| {
            when.method(PUT)
                .path("/requesttoken")
                .query_param_missing("secret")
                .json_body(json!({"secret": SECRET, "token": "0mq98l9pderkaivndf820gudg923p3l0", "lifetime": "15000"}));
            then.status(200)
                .json_body(ok_envelope("Refresh token successfully.", 1641554169));
        })
        .await;
    let delete = server
        .mock_async(|when, then| {
            when.method(DELETE)
                .path("/requesttoken")
                .json_body(json!({"secret": SECRET, "token": "0mq98l9pderkaivndf820gudg923p3l0"}));
            then.status(200).json_body(ok_envelope("Drop token successfully.", -1));
        })
        .await;
    let client = with_secret(&server);
    let refreshed = client
        .refresh_token()
        .body_map(|b| {
            b.token("0mq98l9pderkaivndf820gudg923p3l0")
                .lifetime(Seconds::from_secs(15_000))
        })
        .send()
        .await
        .expect("refresh")
        .into_inner();
    assert_eq!(
        refreshed.expires_at(),
        Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1641554169))
    );
    client
        .delete_token()
        .body_map(|b| b.token("0mq98l9pderkaivndf820gudg923p3l0"))
        .send()
        .await
        .expect("delete");
    assert_each_hit_once(&[&refresh, &delete]).await;
}

#[tokio::test]
async fn v4_create_jwt_sends_lifetime_in_milliseconds() {
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0aWdlcmdyYXBoIn0.w4ms-si5egtbhI2Cms7uL1qUU8oG0S08KIiaG_VL3Fs";
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/gsql/v1/tokens")
                .header("content-type", "application/json")
                .json_body(json!({"secret": SECRET, "graph": "poc_graph", "lifetime": 3_600_000}));
            then.status(200)
                .json_body(json!({"expiration": "Wed Jul 10 06:12:47 UTC 2024", "error": false,
                "message": "Generate new JWT token successfully.", "token": jwt}));
        })
        .await;
    let answer = with_secret(&server)
        .create_jwt()
        .body_map(|b| {
            b.graph("poc_graph".to_owned())
                .lifetime(Milliseconds::from(Duration::from_secs(3600)))
        })
        .send()
        .await
        .expect("jwt")
        .into_inner();
    mock.assert_async().await;
    assert_eq!(answer.token.as_ref().map(|t| t.expose()), Some(jwt));
    assert_eq!(
        answer.expires_at(),
        Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_720_591_967))
    );
}

#[tokio::test]
async fn v4_drop_jwts_joins_tokens_with_commas_or_clears() {
    let server = MockServer::start_async().await;
    let by_list = server
        .mock_async(|when, then| {
            when.method(DELETE)
                .path("/gsql/v1/tokens")
                .query_param_missing("clear")
                .json_body(json!({"secret": SECRET, "tokens": "t1,t2"}));
            then.status(200)
                .json_body(json!({"error": false, "message": "Successfully dropped the specified JWT tokens"}));
        })
        .await;
    let clear = server
        .mock_async(|when, then| {
            when.method(DELETE)
                .path("/gsql/v1/tokens")
                .query_param("clear", "true")
                .header("authorization", basic("tigergraph", "tg-pa55"))
                .json_body(json!({}));
            then.status(200)
                .json_body(json!({"error": false, "message": "Successfully dropped the specified JWT tokens"}));
        })
        .await;
    let tokens: TokenList = ["t1", "t2"].into_iter().collect();
    with_secret(&server)
        .drop_jwts()
        .body_map(|b| b.tokens(tokens))
        .send()
        .await
        .expect("dropped");
    with_basic(&server)
        .drop_jwts()
        .clear(true)
        .body(types::DropJwtsBody::default())
        .send()
        .await
        .expect("cleared");
    by_list.assert_async().await;
    clear.assert_async().await;
}

#[tokio::test]
async fn v4_check_jwt_needs_no_credentials() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/gsql/v1/tokens/check")
                .header_missing("authorization")
                .json_body(json!({"token": "eyJ.t.s"}));
            then.status(200)
                .json_body(json!({"error": false, "message": "The token eyJ.t.s verification succeed."}));
        })
        .await;
    let anonymous = Client::builder().base_url(server.base_url()).build().expect("client");
    let answer = anonymous
        .check_jwt()
        .body_map(|b| b.token("eyJ.t.s"))
        .send()
        .await
        .expect("checked")
        .into_inner();
    mock.assert_async().await;
    assert_eq!(answer.error, json!(false));
}

async fn error_under_200(body: serde_json::Value) -> api_tokens_runtime::Error {
    let server = MockServer::start_async().await;
    answering_anything(&server, body).await;
    with_secret(&server)
        .delete_token()
        .body_map(|b| b.token("0mq98l9pderkaivndf820gudg923p3l0"))
        .send()
        .await
        .expect_err("error: true")
}

#[tokio::test]
async fn rest_1000_under_200_is_an_error() {
    let err = error_under_200(json!({"error": true, "code": "REST-1000",
        "message": "Endpoint is not found from url = /requesttoken, please use GET /endpoints to list all valid endpoints."})).await;
    assert_eq!(err.kind(), ErrorKind::Vendor);
    assert!(err.is_in_success_body());
    assert_eq!(err.http_status().map(|s| s.as_u16()), Some(200));
    assert_eq!(err.vendor_code(), Some("REST-1000"));
    assert!(
        err.vendor_message()
            .is_some_and(|m| m.starts_with("Endpoint is not found"))
    );
    assert!(err.vendor_body::<types::RestppTokenResponse>().is_some());
}

#[tokio::test]
async fn rest_10016_under_200_with_the_string_true_is_an_error() {
    let err = error_under_200(
        json!({"version": {"edition": "enterprise", "api": "v2", "schema": 0}, "error": "true",
        "message": "Access Denied because the input token = '' is empty or too short", "code": "REST-10016"}),
    )
    .await;
    assert_eq!((err.kind(), err.vendor_code()), (ErrorKind::Vendor, Some("REST-10016")));
    assert_eq!(
        err.vendor_message(),
        Some("Access Denied because the input token = '' is empty or too short")
    );
}

#[tokio::test]
async fn rest_3300_under_200_is_an_error_with_its_code() {
    let err = error_under_200(json!({"code": "REST-3300", "error": true, "message": "The token doesn't exist."})).await;
    assert_eq!(err.vendor_code(), Some("REST-3300"));
    assert_eq!(err.vendor_message(), Some("The token doesn't exist."));
}

#[tokio::test]
async fn v4_error_without_code_is_an_error() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/gsql/v1/tokens");
            then.status(200)
                .json_body(json!({"error": true, "message": "Authentication failed."}));
        })
        .await;
    let err = with_basic(&server)
        .create_jwt()
        .body(types::CreateJwtBody::default())
        .send()
        .await
        .expect_err("auth failure");
    assert_eq!(
        (err.kind(), err.vendor_code(), err.vendor_message()),
        (ErrorKind::Vendor, None, Some("Authentication failed."))
    );
}

#[tokio::test]
async fn an_envelope_without_the_error_field_is_not_ok() {
    let err = error_under_200(json!({"message": "??", "token": "x"})).await;
    assert_eq!(err.kind(), ErrorKind::InvalidBody);
    assert!(err.to_string().contains("`error`"), "{err}");
}

#[tokio::test]
async fn no_credentials_fail_before_sending() {
    let server = MockServer::start_async().await;
    let any = answering_anything(&server, ok_envelope("ok", 1)).await;
    let anonymous = Client::builder().base_url(server.base_url()).build().expect("client");
    let err = anonymous
        .request_token()
        .body(types::RequestTokenBody::default())
        .send()
        .await
        .expect_err("no credentials");
    assert_eq!(err.kind(), ErrorKind::MissingCredentials);
    assert!(err.to_string().contains("secret, or basic"), "{err}");
    assert_eq!(any.calls_async().await, 0);
}

#[test]
fn the_base_url_is_required() {
    let err = Client::builder().secret(SECRET).build().expect_err("no server");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
}

/// Issue 17: a request goes where the user meant or not at all. A path prefix (a server
/// behind a reverse proxy) is kept; user info, a query or a fragment is refused.
#[tokio::test]
async fn a_connection_host_keeps_its_path_prefix_and_refuses_what_a_url_cannot_carry() {
    use std::sync::{Arc, Mutex};
    for (host, restpp, gsql) in [
        (
            "http://tg.invalid:9000/prefix/",
            "/prefix/restpp/requesttoken",
            "/prefix/gsql/v1/tokens",
        ),
        (
            "http://tg.invalid:9000/a/b",
            "/a/b/restpp/requesttoken",
            "/a/b/gsql/v1/tokens",
        ),
        (
            "http://tg.invalid/prefix",
            "/prefix/requesttoken",
            "/prefix/gsql/v1/tokens",
        ),
        ("http://[::1]:14240", "/restpp/requesttoken", "/gsql/v1/tokens"),
    ] {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let connection = tigergraph_tokens::Connection::builder(host)
            .secret("s3cr3t-value")
            .configure(move |b| {
                let log = log.clone();
                b.max_retries(0).respond_with(move |request| {
                    log.lock().expect("lock").push(request.url().path().to_owned());
                    let mut response = http::Response::new(b"<html>404</html>".to_vec());
                    *response.status_mut() = http::StatusCode::NOT_FOUND;
                    response
                })
            })
            .build()
            .expect("connection");
        let _ = connection.get(None).await;
        let seen = seen.lock().expect("lock").clone();
        assert_eq!(seen.first().map(String::as_str), Some(gsql), "{host}");
        assert_eq!(seen.get(1).map(String::as_str), Some(restpp), "{host}");
    }
    for host in [
        "http://user:pw@tg.invalid:9000",
        "http://user@tg.invalid",
        "http://tg.invalid:9000?secret=x",
        "http://tg.invalid:9000/#frag",
        "ftp://tg.invalid",
        "tg.invalid:9000",
        "",
    ] {
        let error = tigergraph_tokens::Connection::builder(host)
            .secret("s3cr3t-value")
            .build()
            .expect_err(host);
        assert_eq!(error.kind(), api_tokens_runtime::ErrorKind::InvalidArgument, "{host}");
        assert!(!error.to_string().contains("pw"), "{error}");
    }
    // The explicit URLs are refused the same way as any client's base URL.
    let error = tigergraph_tokens::Connection::builder("http://tg.invalid")
        .secret("s3cr3t-value")
        .restpp_url("http://u:p@tg.invalid:9000")
        .build()
        .expect_err("user info");
    assert_eq!(error.kind(), api_tokens_runtime::ErrorKind::InvalidArgument);
}

/// `DELETE /expiredtoken` on the GSQL server (vendors.md §1.2 B): every expired token, or
/// those of some users or secrets; HTTP Basic.
#[tokio::test]
async fn purge_expired_tokens_names_users_or_secrets_or_none() {
    let server = MockServer::start_async().await;
    let by_user = server
        .mock_async(|when, then| {
            when.method(DELETE)
                .path("/expiredtoken")
                .header("authorization", basic("tigergraph", "tg-pa55"))
                .json_body(json!({"user": ["u1", "u2"]}));
            then.status(200).json_body(json!({"error": false, "message": "ok"}));
        })
        .await;
    let all = server
        .mock_async(|when, then| {
            when.method(DELETE)
                .path("/expiredtoken")
                .header("authorization", basic("tigergraph", "tg-pa55"))
                .json_body(json!({}));
            then.status(200).json_body(json!({"error": false, "message": "ok"}));
        })
        .await;
    with_basic(&server)
        .purge_expired_tokens()
        .body_map(|b| b.user(vec!["u1".to_owned(), "u2".to_owned()]))
        .send()
        .await
        .expect("purged");
    with_basic(&server)
        .purge_expired_tokens()
        .body(types::PurgeExpiredBody::default())
        .send()
        .await
        .expect("purged");
    by_user.assert_async().await;
    all.assert_async().await;
    // Without Basic credentials nothing is sent.
    let error = with_secret(&server)
        .purge_expired_tokens()
        .body(types::PurgeExpiredBody::default())
        .send()
        .await
        .expect_err("needs a user");
    assert_eq!(error.kind(), ErrorKind::MissingCredentials);
}
