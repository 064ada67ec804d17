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
            step("ica", "against ICA");
        }
        None => {
            builder = builder.ps_token("a-ps-token").respond_with(fakes::ica(Arc::default()));
            step("ica", "against an in-process fake");
        }
    }
    let mut source = JwtSource::new(builder.build()?);
    if let Some(tenant) = vars.as_ref().and_then(|v| v.get("ICA_TENANT")) {
        source = source.tenant(tenant);
    }
    let jwt = source.token().await?;
    step(
        "ica",
        format!(
            "got a JWT {} expiring {}",
            shown(jwt.secret()),
            jwt.expires_at_rfc3339().unwrap_or_default()
        ),
    );
    let again = source.token().await?;
    step("ica", format!("asked again: the same JWT, cached ({})", again == jwt));
    source.invalidate();
    let next = source.token().await?;
    step("ica", format!("after invalidate: a new JWT {}", shown(next.secret())));
    step("ica", "nothing to revoke: ICA JWTs expire by themselves");
    Ok(())
}
