//! TigerGraph: a `Connection` detects the server generation, gets a token with a
//! lifetime, keeps it, refreshes it and deletes it. The fake is a 3.5+ server behind
//! nginx, so the tour shows detection stepping past 4.x.

use std::sync::Arc;
use std::time::Duration;

use api_tokens::tigergraph::{Connection, Generation};
use api_tokens_tests::fakes;

use crate::{Failure, config, shown, step};

pub async fn tour() -> Result<(), Failure> {
    let vars = config(
        &[
            &["TIGERGRAPH_HOST", "TIGERGRAPH_SECRET"],
            &["TIGERGRAPH_HOST", "TIGERGRAPH_USERNAME", "TIGERGRAPH_PASSWORD"],
        ],
        &["TIGERGRAPH_GRAPH"],
    )?;
    let mut builder = match &vars {
        Some(vars) => {
            step("tigergraph", "against your server");
            let builder = Connection::builder(vars["TIGERGRAPH_HOST"].as_str());
            match vars.get("TIGERGRAPH_SECRET") {
                Some(secret) => builder.secret(secret),
                None => builder.basic(&vars["TIGERGRAPH_USERNAME"], vars["TIGERGRAPH_PASSWORD"].as_str()),
            }
        }
        None => {
            step("tigergraph", "against an in-process fake (3.5+ behind nginx)");
            let server = Arc::new(fakes::Tiger {
                generation: Generation::V3_5,
                secret: "a-fake-secret",
                live: Default::default(),
                requests: Default::default(),
            });
            Connection::builder("http://tg.fake:14240")
                .secret("a-fake-secret")
                .configure(move |b| b.respond_with(fakes::tigergraph(server.clone())))
        }
    };
    if let Some(graph) = vars.as_ref().and_then(|v| v.get("TIGERGRAPH_GRAPH")) {
        builder = builder.graph(graph);
    }
    let tg = builder.build()?;
    let token = tg.get(Some(Duration::from_secs(3600))).await?;
    step(
        "tigergraph",
        format!(
            "{:?} server: got {} expiring {}",
            tg.generation().await,
            shown(token.secret()),
            token.expires_at_rfc3339().unwrap_or_default()
        ),
    );
    let steps = async {
        let kept = tg.token().await?;
        step("tigergraph", format!("kept: the same token ({})", kept == token));
        let refreshed = tg.refresh(None, Some(Duration::from_secs(7200))).await?;
        step(
            "tigergraph",
            format!(
                "refreshed: expires {}",
                refreshed.expires_at_rfc3339().unwrap_or_default()
            ),
        );
        Ok::<_, Failure>(())
    }
    .await;
    // Delete the current token even when a step failed; one already gone is fine.
    tg.delete(None, true).await?;
    step("tigergraph", "deleted it");
    steps
}
