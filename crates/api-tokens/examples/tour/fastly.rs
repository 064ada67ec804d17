//! Fastly: create (login + 2FA) → get current → list → revoke current.
//! Real service: `FASTLY_USERNAME`, `FASTLY_PASSWORD`, optional `FASTLY_OTP`.

use api_tokens::fastly::{Client, Scope, TokenCreateForm};
use httpmock::prelude::*;
use serde_json::json;

use crate::{shown, step, var};

pub async fn tour() -> Result<(), Box<dyn std::error::Error>> {
    let real = var("FASTLY_USERNAME").zip(var("FASTLY_PASSWORD"));
    let mock = MockServer::start_async().await;
    let (base, user, password) = match &real {
        Some((user, password)) => (None, user.clone(), password.clone()),
        None => {
            mock_fastly(&mock).await;
            (
                Some(mock.base_url()),
                "me@example.com".to_owned(),
                "a-password".to_owned(),
            )
        }
    };
    step(
        "fastly",
        if real.is_some() {
            "against api.fastly.com"
        } else {
            "against an embedded mock"
        },
    );
    let mut login = Client::builder().username_and_password(user, password);
    if let Some(base) = &base {
        login = login.base_url(base.clone());
    }
    let mut login = login.build()?;
    if let Some(otp) = var("FASTLY_OTP").or(real.is_none().then(|| "123456".to_owned())) {
        login = login.with_otp(otp)?;
    }
    let form = TokenCreateForm::new().name("api-tokens tour").scope(Scope::GlobalRead);
    let created = login.create_token().body(form).send().await?.into_inner();
    step(
        "fastly",
        format!("created token {} ({})", created.id, shown(&created.access_token)),
    );

    let mut with_token = Client::builder().token(created.access_token.clone());
    if let Some(base) = &base {
        with_token = with_token.base_url(base.clone());
    }
    let client = with_token.build()?;
    let current = client.get_token_current().send().await?.into_inner();
    step(
        "fastly",
        format!(
            "current token: {} named {:?}",
            current.id,
            current.name.unwrap_or_default()
        ),
    );
    let tokens = client.list_tokens_user().send().await?.into_inner();
    step("fastly", format!("the user has {} token(s)", tokens.len()));
    client.revoke_token_current().send().await?;
    step("fastly", "revoked the tour's token");
    Ok(())
}

async fn mock_fastly(server: &MockServer) {
    let token =
        json!({"id": "5Yo3XXnrQpjc20u0ybrf2g", "name": "api-tokens tour", "scope": "global:read", "services": []});
    let mut created = token.clone();
    created["access_token"] = json!("mock-fastly-token-value");
    server
        .mock_async(|when, then| {
            when.method(POST).path("/tokens").header("fastly-otp", "123456");
            then.status(200).json_body(created);
        })
        .await;
    let current = token.clone();
    server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/tokens/self")
                .header("fastly-key", "mock-fastly-token-value");
            then.status(200).json_body(current);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/tokens")
                .header("fastly-key", "mock-fastly-token-value");
            then.status(200)
                .json_body(json!([token, {"id": "other", "scope": "purge_all purge_select"}]));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(DELETE)
                .path("/tokens/self")
                .header("fastly-key", "mock-fastly-token-value");
            then.status(204);
        })
        .await;
}
