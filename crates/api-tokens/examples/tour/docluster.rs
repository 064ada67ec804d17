//! DoCluster: a `Session` logs in, uses its token (logging in again if the server says
//! it expired), tracks the sliding expiry, and logs out.

use std::sync::Arc;

use api_tokens::docluster::{Client, Session};
use api_tokens_tests::fakes;

use crate::{Failure, config, shown, step};

pub async fn tour() -> Result<(), Failure> {
    let vars = config(
        &[&["DOCLUSTER_BASE_URL", "DOCLUSTER_USERNAME", "DOCLUSTER_PASSWORD"]],
        &[],
    )?;
    let (client, user, password) = match &vars {
        Some(vars) => {
            step("docluster", "talking to your cluster");
            (
                Client::builder().base_url(&vars["DOCLUSTER_BASE_URL"]).build()?,
                vars["DOCLUSTER_USERNAME"].clone(),
                vars["DOCLUSTER_PASSWORD"].clone(),
            )
        }
        None => {
            step(
                "docluster",
                "no DOCLUSTER_* variables set: talking to an in-process stand-in for a cluster (user admin/admin)",
            );
            let cluster = Arc::new(fakes::DoCluster::new());
            let client = Client::builder()
                .base_url("http://cluster.fake:3033/api")
                .respond_with(fakes::responder(&cluster))
                .build()?;
            (client, "admin".to_owned(), "admin".to_owned())
        }
    };
    let session = Session::login(client, user, password).await?;
    let steps = async {
        let token = session.token().await?;
        step(
            "docluster",
            format!(
                "logged in: got a token {}, bound to this machine's IP address; each use keeps it alive (until {} if unused)",
                shown(token.secret()),
                token.expires_at_rfc3339().unwrap_or_else(|| "an unknown time".to_owned())
            ),
        );
        let live = session.run(|c| async move { c.list_tokens().send().await }).await?;
        let live = live.into_inner().msg.tokens;
        let ours = live.iter().any(|(listed, _)| listed == token.secret());
        step(
            "docluster",
            format!(
                "used it to list the cluster's live tokens: {}, ours {}",
                live.len(),
                if ours { "among them" } else { "not among them" }
            ),
        );
        Ok::<_, Failure>(())
    }
    .await;
    // Log out even when a step failed.
    session.logout().await?;
    step("docluster", "logged out");
    steps
}
