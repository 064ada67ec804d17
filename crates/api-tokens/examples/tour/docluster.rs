//! DoCluster: log in → list live tokens → log out. Real server: `DOCLUSTER_URL`
//! (e.g. `http://host:3033/api`), `DOCLUSTER_USERNAME`, `DOCLUSTER_PASSWORD`.

use api_tokens::docluster::Client;
use httpmock::prelude::*;
use serde_json::json;

use crate::{shown, step, var};

const MOCK_TOKEN: &str = "ISGYCHKMVPFPLSDRDTJGYDSQVWGHSOMPUERUMFBSMJOGUHRCAUDCCRCBGBVN";

pub async fn tour() -> Result<(), Box<dyn std::error::Error>> {
    let real = var("DOCLUSTER_URL")
        .zip(var("DOCLUSTER_USERNAME"))
        .zip(var("DOCLUSTER_PASSWORD"));
    let mock = MockServer::start_async().await;
    let (base, user, password) = match real {
        Some(((url, user), password)) => (url, user, password),
        None => {
            mock_docluster(&mock).await;
            (
                format!("{}/api", mock.base_url()),
                "admin".to_owned(),
                "admin".to_owned(),
            )
        }
    };
    step(
        "docluster",
        format!(
            "against {}",
            if base.starts_with(&mock.base_url()) {
                "an embedded mock"
            } else {
                "your server"
            }
        ),
    );
    let anonymous = Client::builder().base_url(base).build()?;
    let login = anonymous
        .login()
        .body_map(|b| b.username(user).password(password))
        .send()
        .await?
        .into_inner();
    step(
        "docluster",
        format!(
            "logged in: {} (bound to this IP, 60 s sliding)",
            shown(&login.msg.access_token)
        ),
    );
    let client = anonymous.with_access_token(login.msg.access_token)?;
    let tokens = client.list_tokens().send().await?.into_inner().msg.tokens;
    for (token, owner) in tokens.iter() {
        step(
            "docluster",
            format!("live: {} of {} from {}", shown(token), owner.username, owner.ip),
        );
    }
    client.logout().send().await?;
    step("docluster", "logged out");
    Ok(())
}

fn envelope(msg: serde_json::Value) -> String {
    json!({"msg": msg, "status": "success", "error": ""}).to_string()
}

async fn mock_docluster(server: &MockServer) {
    let login = envelope(json!({"access_token": MOCK_TOKEN}));
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/login")
                .body("password=admin&username=admin");
            then.status(200)
                .header("content-type", "text/html; charset=utf-8")
                .body(login);
        })
        .await;
    let tokens =
        envelope(json!({"tokens": {MOCK_TOKEN: {"username": "admin", "ip": "127.0.0.1", "expiration": 1795371727}}}));
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/tokens")
                .body(format!("access_token={MOCK_TOKEN}"));
            then.status(200)
                .header("content-type", "text/html; charset=utf-8")
                .body(tokens);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/logout")
                .body(format!("access_token={MOCK_TOKEN}"));
            then.status(200)
                .header("content-type", "text/html; charset=utf-8")
                .body(envelope(json!("")));
        })
        .await;
}
