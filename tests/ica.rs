//! ica-tokens against a mock ICA: vendor media types, three ways to authenticate, Problems.

use api_tokens_runtime::ErrorKind;
use api_tokens_tests::{answering_anything, basic};
use httpmock::prelude::*;
use ica_tokens::{Client, types};
use serde_json::json;

const V3: &str = "application/vnd.illumina.v3+json";
const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.ica-jwt-payload.sig";

fn builder(server: &MockServer) -> ica_tokens::ClientBuilder {
    Client::builder().base_url(format!("{}/ica/rest", server.base_url()))
}

fn problem(status: u16, title: &str, detail: &str) -> serde_json::Value {
    json!({"id": "b6f1c7e2-0d0e-4f0e-9a51-3c2f6f8f4f10", "type": "about:blank", "title": title, "status": status,
           "detail": detail, "instance": "http://ica.illumina.com/ica/rest/api/tokens", "parameters": {},
           "timestamp": "2024-08-23T02:33:25Z", "method": "POST"})
}

#[tokio::test]
async fn create_with_api_key_sends_the_v3_accept() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/ica/rest/api/tokens")
                .header("x-api-key", "ica-api-key-1CAk3y")
                .header("accept", V3)
                .header_missing("authorization")
                .header_missing("content-type")
                .header_missing("api-version")
                .header("content-length", "0")
                .query_param_missing("tenant");
            then.status(200)
                .header("content-type", V3)
                .json_body(json!({"token": JWT}));
        })
        .await;
    let client = builder(&server).api_key("ica-api-key-1CAk3y").build().expect("client");
    let token = client.create_jwt_token().send().await.expect("jwt").into_inner();
    mock.assert_async().await;
    assert_eq!(token.token.expose(), JWT);
}

#[tokio::test]
async fn create_with_basic_auth_and_tenant() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/ica/rest/api/tokens")
                .query_param("tenant", "my-tenant")
                .header("authorization", basic("a@b.c", "pw"))
                .header("accept", V3)
                .header_missing("x-api-key");
            then.status(200)
                .header("content-type", V3)
                .json_body(json!({"token": JWT}));
        })
        .await;
    let client = builder(&server).basic("a@b.c", "pw").build().expect("client");
    client.create_jwt_token().tenant("my-tenant").send().await.expect("jwt");
    mock.assert_async().await;
}

#[tokio::test]
async fn create_with_ps_token_is_a_bearer() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/ica/rest/api/tokens")
                .header("authorization", "Bearer ps-token-P5t0ken");
            then.status(200)
                .header("content-type", V3)
                .json_body(json!({"token": JWT}));
        })
        .await;
    let client = builder(&server).ps_token("ps-token-P5t0ken").build().expect("client");
    client.create_jwt_token().send().await.expect("jwt");
    mock.assert_async().await;
}

#[tokio::test]
async fn refresh_sends_the_jwt_and_a_literal_colon() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/ica/rest/api/tokens:refresh")
                .header("content-length", "0")
                .header("authorization", format!("Bearer {JWT}"))
                .header("accept", V3)
                .header_missing("x-api-key");
            then.status(200)
                .header("content-type", V3)
                .json_body(json!({"token": "eyJ.refreshed.jwt"}));
        })
        .await;
    // An API key is configured too, but refresh accepts only the JWT.
    let client = builder(&server)
        .api_key("ica-api-key-1CAk3y")
        .jwt(JWT)
        .build()
        .expect("client");
    let token = client.refresh_jwt_token().send().await.expect("refreshed").into_inner();
    mock.assert_async().await;
    assert_eq!(token.token.expose(), "eyJ.refreshed.jwt");
}

#[tokio::test]
async fn refresh_without_a_jwt_fails_before_sending() {
    let server = MockServer::start_async().await;
    let any = answering_anything(&server, json!({"token": JWT})).await;
    let client = builder(&server).api_key("ica-api-key-1CAk3y").build().expect("client");
    let err = client.refresh_jwt_token().send().await.expect_err("no jwt");
    assert_eq!(err.kind(), ErrorKind::MissingCredentials);
    assert_eq!(any.calls_async().await, 0);
}

#[tokio::test]
async fn problems_are_typed_and_keep_extra_fields() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/ica/rest/api/tokens");
            then.status(400)
                .header("content-type", "application/problem+json")
                .json_body(problem(400, "ICA_API_004", "Invalid Accept Header"));
        })
        .await;
    let client = builder(&server).api_key("ica-api-key-1CAk3y").build().expect("client");
    let err = client.create_jwt_token().send().await.expect_err("400");
    assert_eq!(err.kind(), ErrorKind::Vendor);
    assert_eq!(err.vendor_code(), Some("ICA_API_004"));
    assert_eq!(err.vendor_message(), Some("Invalid Accept Header"));
    let problem: &types::Problem = err.vendor_body().expect("typed problem");
    assert_eq!(problem.status, 400);
    assert_eq!(problem.extra.get("method"), Some(&json!("POST")));
}

#[tokio::test]
async fn unauthorized_refresh_is_a_vendor_error() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/ica/rest/api/tokens:refresh");
            then.status(401)
                .header("content-type", "application/problem+json")
                .json_body(problem(401, "ICA_SEC_001", "JWT expired"));
        })
        .await;
    let client = builder(&server).jwt(JWT).build().expect("client");
    let err = client.refresh_jwt_token().send().await.expect_err("401");
    assert_eq!(err.http_status().map(|s| s.as_u16()), Some(401));
    assert_eq!(err.vendor_message(), Some("JWT expired"));
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn a_503_problem_is_retryable() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/ica/rest/api/tokens");
            then.status(503)
                .header("content-type", "application/problem+json")
                .json_body(problem(503, "Service Unavailable", "maintenance"));
        })
        .await;
    let client = builder(&server).api_key("ica-api-key-1CAk3y").build().expect("client");
    let err = client.create_jwt_token().send().await.expect_err("503");
    assert!(err.is_retryable());
    assert_eq!(err.vendor_message(), Some("maintenance"));
}
