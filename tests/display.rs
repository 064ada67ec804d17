//! The exact `Display` a user sees, for every documented error shape of every vendor and
//! for every kind of failure that is not the vendor's.

use std::time::Duration;

use api_tokens_tests::{RawServer, Reply, closed_port_url};
use httpmock::prelude::*;
use serde_json::{Value, json};

async fn serve(method: httpmock::Method, status: u16, content_type: &str, body: Value) -> MockServer {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(method);
            then.status(status)
                .header("content-type", content_type)
                .body(body.to_string());
        })
        .await;
    server
}

async fn fastly(status: u16, body: Value, content_type: &str) -> String {
    let server = serve(GET, status, content_type, body).await;
    let client = fastly_tokens::Client::builder()
        .base_url(server.base_url())
        .token("k-123456")
        .build()
        .expect("client");
    client
        .get_token()
        .token_id("t1")
        .send()
        .await
        .expect_err("error")
        .to_string()
}

#[tokio::test]
async fn fastly_msg_detail_and_jsonapi_errors() {
    assert_eq!(
        fastly(404, json!({"msg": "Token lookup failed"}), "application/json").await,
        r#"Fastly get_token: refused with HTTP 404 Not Found: "Token lookup failed"; check the identifiers and the base URL"#
    );
    assert_eq!(
        fastly(
            401,
            json!({"msg": "Missing or expired token.", "detail": "expired at 2016-07-28"}),
            "application/json"
        )
        .await,
        r#"Fastly get_token: refused with HTTP 401 Unauthorized: "Missing or expired token."; check the credentials and their permissions"#
    );
    let jsonapi = json!({"errors": [{"id": "e1", "status": "403", "code": "forbidden", "title": "Forbidden", "detail": "You do not have permission"}]});
    assert_eq!(
        fastly(403, jsonapi, "application/vnd.api+json").await,
        r#"Fastly get_token: refused with HTTP 403 Forbidden: forbidden "You do not have permission"; check the credentials and their permissions"#
    );
}

/// The `Display` of a failed `create_token` against `server`.
async fn creation_error(builder: fastly_tokens::ClientBuilder, server: &MockServer) -> String {
    let client = builder.base_url(server.base_url()).build().expect("client");
    let form = fastly_tokens::TokenCreateForm::new();
    let err = client.create_token().body(form).send().await.expect_err("refused");
    err.to_string()
}

#[tokio::test]
async fn fastly_token_creation_codes() {
    let server = serve(POST, 400, "application/json", json!({"code": "2fa.verify"})).await;
    let login = fastly_tokens::Client::builder().username_and_password("me", "pw-123456");
    assert_eq!(
        creation_error(login, &server).await,
        "Fastly create_token: refused with HTTP 400 Bad Request: 2fa.verify; note: the account uses two-factor authentication; send the current one-time code with Client::with_otp"
    );
    let server = serve(
        POST,
        422,
        "application/json",
        json!({"msg": "The format of the date and time supplied to the expires_at parameter is invalid."}),
    )
    .await;
    let key = fastly_tokens::Client::builder().token("k-123456");
    assert_eq!(
        creation_error(key, &server).await,
        r#"Fastly create_token: refused with HTTP 422 Unprocessable Entity: "The format of the date and time supplied to the expires_at parameter is invalid.""#
    );
}

#[tokio::test]
async fn ica_problems() {
    let problem = json!({"type": "about:blank", "title": "ICA_API_004", "status": 400, "detail": "Invalid Accept Header", "parameters": {}, "timestamp": "2024-08-23T02:33:25Z", "method": "POST"});
    let server = serve(POST, 400, "application/problem+json", problem).await;
    let client = ica_tokens::Client::builder()
        .base_url(server.base_url())
        .api_key("key-123456")
        .build()
        .expect("client");
    assert_eq!(
        client.create_jwt_token().send().await.expect_err("400").to_string(),
        r#"Illumina Connected Analytics create_jwt_token: refused with HTTP 400 Bad Request: ICA_API_004 "Invalid Accept Header""#
    );
    let problem = json!({"type": "about:blank", "title": "Unauthorized", "status": 401, "parameters": {}});
    let server = serve(POST, 401, "application/problem+json", problem).await;
    let client = ica_tokens::Client::builder()
        .base_url(server.base_url())
        .jwt("jwt-123456")
        .build()
        .expect("client");
    assert_eq!(
        client.refresh_jwt_token().send().await.expect_err("401").to_string(),
        r#"Illumina Connected Analytics refresh_jwt_token: refused with HTTP 401 Unauthorized: Unauthorized; check the credentials and their permissions"#
    );
}

async fn tigergraph(method: httpmock::Method, body: Value) -> String {
    let jwt = matches!(method, POST);
    let server = serve(method, 200, "application/json", body).await;
    let client = tigergraph_tokens::Client::builder()
        .base_url(server.base_url())
        .secret("secret-123456")
        .build()
        .expect("client");
    let result = match jwt {
        true => client
            .create_jwt()
            .body(tigergraph_tokens::types::CreateJwtBody::default())
            .send()
            .await
            .map(drop),
        false => client
            .delete_token()
            .body_map(|b| b.token("tok-123456"))
            .send()
            .await
            .map(drop),
    };
    result.expect_err("error: true").to_string()
}

#[tokio::test]
async fn tigergraph_errors_inside_200() {
    assert_eq!(
        tigergraph(DELETE, json!({"error": true, "code": "REST-1000", "message": "Endpoint is not found from url = /requesttoken, please use GET /endpoints to list all valid endpoints."})).await,
        r#"TigerGraph delete_token: error reported inside an HTTP 200 OK answer: REST-1000 "Endpoint is not found from url = /requesttoken, please use GET /endpoints to list all valid endpoints.""#
    );
    assert_eq!(
        tigergraph(DELETE, json!({"version": {"edition": "enterprise", "api": "v2", "schema": 0}, "error": "true", "code": "REST-10016", "message": "Access Denied because the input token = 'eyJh****4WgE' is invalid."})).await,
        r#"TigerGraph delete_token: error reported inside an HTTP 200 OK answer: REST-10016 "Access Denied because the input token = 'eyJh****4WgE' is invalid.""#
    );
    assert_eq!(
        tigergraph(
            DELETE,
            json!({"code": "REST-3300", "error": true, "message": "The token doesn't exist."})
        )
        .await,
        r#"TigerGraph delete_token: error reported inside an HTTP 200 OK answer: REST-3300 "The token doesn't exist.""#
    );
    assert_eq!(
        tigergraph(POST, json!({"error": true, "message": "Authentication failed."})).await,
        r#"TigerGraph create_jwt: error reported inside an HTTP 200 OK answer: "Authentication failed.""#
    );
}

#[tokio::test]
async fn insight_401() {
    let server = serve(GET, 401, "application/json", json!({"error": "Credentials required"})).await;
    let client = insight_tokens::Client::builder()
        .base_url(server.base_url())
        .api_token("token-123456")
        .build()
        .expect("client");
    assert_eq!(
        client.get_api_tokens().send().await.expect_err("401").to_string(),
        r#"Insight.io get_api_tokens: refused with HTTP 401 Unauthorized: "Credentials required"; check the credentials and their permissions"#
    );
}

#[tokio::test]
async fn docluster_envelopes() {
    let client = |server: &MockServer| {
        docluster_tokens::Client::builder()
            .base_url(server.base_url())
            .access_token("TOKEN-123456")
            .build()
            .expect("client")
    };
    let server = serve(
        POST,
        200,
        "text/html; charset=utf-8",
        json!({"msg": {}, "status": "false", "error": "Wrong password."}),
    )
    .await;
    let err = client(&server)
        .login()
        .body_map(|b| b.username("admin").password("nope-123456"))
        .send()
        .await
        .expect_err("login");
    assert_eq!(
        err.to_string(),
        r#"DoCluster login: error reported inside an HTTP 200 OK answer: false "Wrong password.""#
    );
    let server = serve(
        POST,
        200,
        "text/html; charset=utf-8",
        json!({"msg": "", "status": "error", "error": "Cluster not created"}),
    )
    .await;
    let err = client(&server).logout().send().await.expect_err("logout");
    assert_eq!(
        err.to_string(),
        r#"DoCluster logout: error reported inside an HTTP 200 OK answer: error "Cluster not created"; note: the token was invalidated all the same; log in again for a new one"#
    );
    let server = serve(POST, 200, "text/html; charset=utf-8", json!({"msg": {}, "status": "error", "error": "The token is not important for this IP address, please log in."})).await;
    let err = client(&server).list_tokens().send().await.expect_err("tokens");
    assert_eq!(
        err.to_string(),
        r#"DoCluster list_tokens: error reported inside an HTTP 200 OK answer: error "The token is not important for this IP address, please log in."; note: the token is bound to another IP address than this client's; log in from this address for a token of its own"#
    );
}

#[tokio::test]
async fn failures_that_are_not_the_vendors() {
    let anonymous = fastly_tokens::Client::builder()
        .base_url("http://127.0.0.1:9")
        .build()
        .expect("client");
    assert_eq!(
        anonymous
            .get_token_current()
            .send()
            .await
            .expect_err("no key")
            .to_string(),
        "Fastly get_token_current: no usable credentials (it needs token); configure one of these credentials on the ClientBuilder"
    );
    let tg = |url: &str| {
        tigergraph_tokens::Client::builder()
            .base_url(url)
            .secret("secret-123456")
            .timeout(Duration::from_millis(300))
            .build()
            .expect("client")
    };
    assert_eq!(
        tg(&closed_port_url())
            .request_token_query()
            .send()
            .await
            .expect_err("refused")
            .to_string(),
        "TigerGraph request_token_query: the request failed in transport (could not connect); check the base URL and the network, then retry"
    );
    let server = RawServer::start(Reply::Silent);
    assert_eq!(
        tg(server.url())
            .request_token_query()
            .send()
            .await
            .expect_err("silent")
            .to_string(),
        "TigerGraph request_token_query: timed out; retry, or raise ClientBuilder::timeout (one attempt) or operation_timeout (the whole call)"
    );
    server.set(Reply::Huge {
        status: 200,
        bytes: 9 * 1024 * 1024,
    });
    assert_eq!(
        tg(server.url())
            .request_token_query()
            .send()
            .await
            .expect_err("huge")
            .to_string(),
        "TigerGraph request_token_query: the HTTP 200 OK answer is too large (larger than the client's body limit); raise ClientBuilder::max_body_bytes if such an answer is expected"
    );
    server.set(Reply::Fixed {
        status: 200,
        content_type: "application/json".into(),
        body: br#"{"error": false, "token": 42}"#.to_vec(),
    });
    assert_eq!(
        tg(server.url())
            .request_token_query()
            .send()
            .await
            .expect_err("wrong type")
            .to_string(),
        "TigerGraph request_token_query: the HTTP 200 OK answer does not match the documented format (a field has the wrong type or value (line 1, column 28)); check that the base URL points at this API and a server version it documents"
    );
    server.set(Reply::Fixed {
        status: 503,
        content_type: "text/html".into(),
        body: b"<html>maintenance</html>".to_vec(),
    });
    let err = tg(server.url()).request_token_query().send().await.expect_err("503");
    assert_eq!(
        err.to_string(),
        "TigerGraph request_token_query: undocumented answer HTTP 503 Service Unavailable; the server failed: retry later"
    );
    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_missing_argument_is_named_before_sending() {
    let server = RawServer::start(Reply::Close);
    let client = fastly_tokens::Client::builder()
        .base_url(server.url())
        .token("k-123456")
        .build()
        .expect("client");
    let err = client.get_token().send().await.expect_err("no token id");
    assert_eq!(err.kind(), api_tokens_runtime::ErrorKind::InvalidArgument);
    assert_eq!(
        err.to_string(),
        "Fastly get_token: invalid argument (token_id was not initialized); fix the argument or setting and call again"
    );
    assert_eq!(server.hits(), 0);
}
