//! Insight.io: log in → list tokens → revoke the login's token. Real service:
//! `INSIGHT_USERNAME`, `INSIGHT_PASSWORD`, optional `INSIGHT_URL` (on-premise host).

use api_tokens::insight::Client;
use httpmock::prelude::*;
use serde_json::json;

use crate::{shown, step, var};

pub async fn tour() -> Result<(), Box<dyn std::error::Error>> {
    let real = var("INSIGHT_USERNAME").zip(var("INSIGHT_PASSWORD"));
    let mock = MockServer::start_async().await;
    let (base, user, password) = match &real {
        Some((user, password)) => (var("INSIGHT_URL"), user.clone(), password.clone()),
        None => {
            mock_insight(&mock).await;
            (Some(mock.base_url()), "admin".to_owned(), "a-password".to_owned())
        }
    };
    step(
        "insight",
        if real.is_some() {
            "against Insight.io"
        } else {
            "against an embedded mock"
        },
    );
    let mut builder = Client::builder();
    if let Some(base) = base {
        builder = builder.base_url(base);
    }
    let anonymous = builder.build()?;
    let login = anonymous
        .authenticate_userpass()
        .body_map(|b| b.username(user).password(password))
        .send()
        .await?
        .into_inner();
    step("insight", format!("logged in: {}", shown(&login.token)));
    let client = anonymous.with_api_token(login.token)?;
    let tokens = client.list_tokens().send().await?.into_inner();
    for token in &tokens {
        step(
            "insight",
            format!("token of {} created at {:?} ms", token.uid, token.created),
        );
    }
    client.delete_token().send().await?;
    step("insight", "revoked the login's token");
    Ok(())
}

async fn mock_insight(server: &MockServer) {
    server
        .mock_async(|when, then| {
            when.method(POST).path("/api/authenticate/userpass");
            then.status(200).json_body(
                json!({"token": "95e1110da97bf616d2e6838677f0275d", "expiresOn": "292278994-08-17T07:12:55.807Z"}),
            );
        })
        .await;
    server.mock_async(|when, then| {
        when.method(GET).path("/api/token").header("x-auth-token", "95e1110da97bf616d2e6838677f0275d");
        then.status(200).json_body(json!([{"uid": "ldap@admin", "apiToken": "95e1110da97bf616d2e6838677f0275d", "created": 1496357580959i64, "lastUsed": null}]));
    }).await;
    server
        .mock_async(|when, then| {
            when.method(DELETE)
                .path("/api/token")
                .header("x-auth-token", "95e1110da97bf616d2e6838677f0275d");
            then.status(200);
        })
        .await;
}
