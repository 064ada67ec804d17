//! ICA: a `JwtSource` gets a JWT, hands it out while valid, and gets another when told
//! the current one is no good.

use std::sync::Arc;

use api_tokens::ica::{Client, JwtSource};
use api_tokens_tests::fakes;

use crate::{Failure, config, shown, step};

pub async fn tour() -> Result<(), Failure> {
    let vars = config(
        &[&["ICA_API_KEY"], &["ICA_USERNAME", "ICA_PASSWORD"]],
        &["ICA_TENANT", "ICA_BASE_URL"],
    )?;
    let mut builder = Client::builder();
    match &vars {
        Some(vars) => {
            if let Some(url) = vars.get("ICA_BASE_URL") {
                builder = builder.base_url(url);
            }
            builder = match (vars.get("ICA_API_KEY"), vars.get("ICA_USERNAME")) {
                (Some(key), _) => builder.api_key(key),
                (None, Some(user)) => builder.basic(user, vars["ICA_PASSWORD"].as_str()),
                (None, None) => builder,
            };
            step("ica", "talking to ICA");
        }
        None => {
            // A stand-in for ICA that accepts this psToken and mints one-hour JWTs.
            let ica = Arc::new(fakes::Ica::new().ps_token("a-ps-token"));
            builder = builder.ps_token("a-ps-token").respond_with(fakes::responder(&ica));
            step(
                "ica",
                "no ICA_* variables set: talking to an in-process stand-in for ICA",
            );
        }
    }
    let mut source = JwtSource::new(builder.build()?);
    if let Some(tenant) = vars.as_ref().and_then(|v| v.get("ICA_TENANT")) {
        source = source.tenant(tenant);
    }
    if let Some(fleet) = crate::fleet()? {
        source = source.shared(&fleet);
        step(
            "ica",
            "REDIS_URL set: JWTs are shared through the fleet cache in Redis (sealed, keyed names)",
        );
    }
    let jwt = source.token().await?;
    step(
        "ica",
        format!(
            "got a JWT {}, valid until {}",
            shown(jwt.secret()),
            jwt.expires_at_rfc3339().unwrap_or_else(|| "an unknown time".to_owned())
        ),
    );
    let again = source.token().await?;
    step(
        "ica",
        if again == jwt {
            "asked again: got the same JWT, from the cache"
        } else {
            "asked again: got a different JWT"
        },
    );
    source.invalidate();
    let next = source.token().await?;
    step(
        "ica",
        format!("told it to forget that JWT: got a new one {}", shown(next.secret())),
    );
    step("ica", "nothing to revoke: ICA JWTs expire on their own");
    Ok(())
}
