//! TigerGraph 3.5+: request → refresh → delete; then a 4.x JWT: create → check →
//! drop. Real server: `TIGERGRAPH_RESTPP_URL` (3.5+, e.g. `http://host:9000`) or
//! `TIGERGRAPH_GSQL_URL` (4.x, e.g. `https://host:14240`), with `TIGERGRAPH_SECRET`
//! and `TIGERGRAPH_GRAPH`.

use std::time::Duration;

use api_tokens::tigergraph::{Client, Milliseconds, Seconds, TokenList};
use httpmock::prelude::*;
use serde_json::json;

use crate::{shown, step, var};

pub async fn tour() -> Result<(), Box<dyn std::error::Error>> {
    let mock = MockServer::start_async().await;
    let secret = var("TIGERGRAPH_SECRET");
    let real = secret.is_some();
    let graph = var("TIGERGRAPH_GRAPH").unwrap_or_else(|| "social".to_owned());
    let (restpp, gsql) = match &secret {
        Some(_) => (var("TIGERGRAPH_RESTPP_URL"), var("TIGERGRAPH_GSQL_URL")),
        None => {
            mock_tigergraph(&mock).await;
            (Some(mock.base_url()), Some(mock.base_url()))
        }
    };
    let secret = secret.unwrap_or_else(|| "mock-secret".to_owned());
    step(
        "tigergraph",
        if real {
            "against your server"
        } else {
            "against an embedded mock"
        },
    );
    if let Some(url) = restpp {
        let client = Client::builder().base_url(url).secret(secret.clone()).build()?;
        let answer = client
            .request_token()
            .body_map(|b| b.graph(graph.clone()).lifetime(Seconds::from_secs(3600)))
            .send()
            .await?
            .into_inner();
        let token = answer.token().cloned().ok_or_else(|| missing("request_token"))?;
        step(
            "tigergraph",
            format!(
                "3.5+: requested {} expiring at unix {:?}",
                shown(&token),
                answer.expiration
            ),
        );
        client
            .refresh_token()
            .body_map(|b| b.token(token.clone()).lifetime(Seconds::from_secs(7200)))
            .send()
            .await?;
        step("tigergraph", "3.5+: refreshed it for two hours");
        client.delete_token().body_map(|b| b.token(token)).send().await?;
        step("tigergraph", "3.5+: deleted it");
    }
    if let Some(url) = gsql {
        let client = Client::builder().base_url(url).secret(secret).build()?;
        let lifetime = Milliseconds::from(Duration::from_secs(3600));
        let answer = client
            .create_jwt()
            .body_map(|b| b.graph(graph.clone()).lifetime(lifetime))
            .send()
            .await?
            .into_inner();
        let jwt = answer.token.clone().ok_or_else(|| missing("create_jwt"))?;
        step(
            "tigergraph",
            format!(
                "4.x: created a JWT {} expiring {:?}",
                shown(&jwt),
                answer.expiration.unwrap_or_default()
            ),
        );
        client.check_jwt().body_map(|b| b.token(jwt.clone())).send().await?;
        step("tigergraph", "4.x: the JWT checks out");
        client
            .drop_jwts()
            .body_map(|b| b.tokens(TokenList(vec![jwt])))
            .send()
            .await?;
        step("tigergraph", "4.x: dropped it");
    }
    Ok(())
}

/// A success without a token: report it rather than carry on silently.
fn missing(op: &str) -> Box<dyn std::error::Error> {
    format!("{op}: the server reported success without a token").into()
}

async fn mock_tigergraph(server: &MockServer) {
    let ok = |message: &str| json!({"code": "REST-0000", "expiration": 1616042814, "error": false, "message": message, "token": "tohvf6khjqju8jf0r0l1cohhlm8gi5fq"});
    let (request, refresh, delete) = (
        ok("Generate new token successfully."),
        ok("Refresh token successfully."),
        ok("Drop token successfully."),
    );
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/requesttoken")
                .json_body_includes(r#"{"lifetime":"3600"}"#);
            then.status(200).json_body(request);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(PUT)
                .path("/requesttoken")
                .json_body_includes(r#"{"lifetime":"7200"}"#);
            then.status(200).json_body(refresh);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(DELETE).path("/requesttoken");
            then.status(200).json_body(delete);
        })
        .await;
    server.mock_async(|when, then| {
        when.method(POST).path("/gsql/v1/tokens").json_body_includes(r#"{"lifetime":3600000}"#);
        then.status(200).json_body(json!({"expiration": "Wed Jul 10 06:12:47 UTC 2024", "error": false, "message": "Generate new JWT token successfully.", "token": "eyJhbGciOiJIUzI1NiJ9.mock.jwt"}));
    }).await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/gsql/v1/tokens/check");
            then.status(200)
                .json_body(json!({"error": false, "message": "The token verification succeed."}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(DELETE).path("/gsql/v1/tokens");
            then.status(200)
                .json_body(json!({"error": false, "message": "Successfully dropped the specified JWT tokens"}));
        })
        .await;
}
