//! Fastly: create a token (login, and a one-time code on 2FA accounts) → keep it with a
//! `Rotation` → use it → rotate it → revoke it.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use api_tokens::fastly::{Client, Rotation, Scope, TokenCreateForm};
use api_tokens_tests::fakes;

use crate::{Failure, config, shown, step};

pub async fn tour() -> Result<(), Failure> {
    let vars = config(
        &[&["FASTLY_USERNAME", "FASTLY_PASSWORD"]],
        &["FASTLY_OTP", "FASTLY_BASE_URL"],
    )?;
    let mut builder = Client::builder();
    let (user, password) = match &vars {
        Some(vars) => {
            match vars.get("FASTLY_BASE_URL") {
                Some(url) => {
                    builder = builder.base_url(url);
                    step("fastly", format!("talking to {url}"));
                }
                None => step("fastly", "talking to api.fastly.com"),
            }
            (vars["FASTLY_USERNAME"].clone(), vars["FASTLY_PASSWORD"].clone())
        }
        None => {
            // A stand-in for one Fastly account, which remembers its tokens.
            let account = Arc::new(fakes::Fastly::new("me@example.com", "a-password"));
            builder = builder
                .base_url("http://fastly.fake")
                .respond_with(fakes::responder(&account));
            step(
                "fastly",
                "no FASTLY_* variables set: talking to an in-process stand-in for api.fastly.com",
            );
            ("me@example.com".to_owned(), "a-password".to_owned())
        }
    };
    let mut login = builder.username_and_password(user, password).build()?;
    let otp = vars.as_ref().and_then(|v| v.get("FASTLY_OTP"));
    if let Some(otp) = otp {
        login = login.with_otp(otp)?;
    }
    let expires = chrono::DateTime::<chrono::Utc>::from(SystemTime::now() + Duration::from_secs(86_400));
    let form = TokenCreateForm::new()
        .name("api-tokens tour")
        .scope(Scope::GlobalRead)
        .expires_at(expires);
    let created = login.create_token().body(form).send().await?.into_inner();
    step(
        "fastly",
        format!(
            "logged in and created a token (id {}): {}",
            created.id,
            shown(&created.access_token)
        ),
    );
    let kept = keep_and_rotate(&login, &created.access_token, otp.is_some()).await;
    // Revoke whatever the tour holds now, even when a step failed.
    let holder = match &kept {
        Ok(client) => client.clone(),
        Err(_) => login.with_token(created.access_token.clone())?,
    };
    holder.revoke_token_current().send().await?;
    step("fastly", "revoked the token the tour was holding");
    kept.map(drop)
}

async fn keep_and_rotate(login: &Client, token: &api_tokens::Secret, otp: bool) -> Result<Client, Failure> {
    let rotation = Rotation::new(login.clone(), token.clone()).await?;
    let current = rotation.token().await?;
    step(
        "fastly",
        format!(
            "handed it to a Rotation, which replaces it before it expires ({})",
            current.expires_at_rfc3339().unwrap_or_else(|| "never".to_owned())
        ),
    );
    let tokens = rotation.client().await?.list_tokens_user().send().await?.into_inner();
    step(
        "fastly",
        format!("used it to list the account's tokens: {}", tokens.len()),
    );
    if otp {
        step("fastly", "not rotating: that would need another one-time code");
    } else {
        let rotated = rotation.rotate().await?;
        step(
            "fastly",
            format!(
                "rotated it: a new token {} replaced it, and the old one was revoked",
                shown(rotated.secret())
            ),
        );
    }
    Ok(rotation.client().await?)
}
