//! Insight.io: create a token with the session cookie → keep it with a `Rotation` →
//! use it → rotate it → revoke it.

use std::sync::Arc;

use api_tokens::insight::{Client, Rotation};
use api_tokens_tests::fakes;

use crate::{Failure, config, shown, step};

pub async fn tour() -> Result<(), Failure> {
    let vars = config(&[&["INSIGHT_SESSION_COOKIE"]], &["INSIGHT_BASE_URL"])?;
    let mut builder = Client::builder();
    let cookie = match &vars {
        Some(vars) => {
            if let Some(url) = vars.get("INSIGHT_BASE_URL") {
                builder = builder.base_url(url);
            }
            step("insight", "talking to Insight.io");
            vars["INSIGHT_SESSION_COOKIE"].clone()
        }
        None => {
            // A stand-in for Insight.io with one logged-in browser session, which
            // remembers the tokens it creates.
            let cookie = "PLAY_SESSION=a-fake-session";
            let server = Arc::new(fakes::Insight::new().session(cookie, "ldap@tour.user"));
            builder = builder.respond_with(fakes::responder(&server));
            step(
                "insight",
                "no INSIGHT_* variables set: talking to an in-process stand-in for Insight.io",
            );
            cookie.to_owned()
        }
    };
    let creator = builder.session_cookie(cookie).build()?;
    let created = creator.create_token().send().await?.into_inner().token;
    step(
        "insight",
        format!("created a token with the session cookie: {}", shown(&created)),
    );
    let rotation = Rotation::new(creator.clone(), created)?;
    let steps = async {
        let tokens = rotation.client().await?.list_tokens().send().await?.into_inner();
        step(
            "insight",
            format!("used it to list the user's tokens: {}", tokens.len()),
        );
        let rotated = rotation.rotate().await?;
        step(
            "insight",
            format!(
                "rotated it: a new token {} replaced it, and the old one was revoked",
                shown(rotated.secret())
            ),
        );
        Ok::<_, Failure>(())
    }
    .await;
    // Revoke the current token even when a step failed.
    rotation.client().await?.delete_token().send().await?;
    step("insight", "revoked the token the tour was holding");
    steps
}
