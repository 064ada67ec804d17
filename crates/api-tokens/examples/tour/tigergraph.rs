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
            step("tigergraph", "talking to your server");
            let builder = Connection::builder(vars["TIGERGRAPH_HOST"].as_str());
            match vars.get("TIGERGRAPH_SECRET") {
                Some(secret) => builder.secret(secret),
                None => builder.basic(&vars["TIGERGRAPH_USERNAME"], vars["TIGERGRAPH_PASSWORD"].as_str()),
            }
        }
        None => {
            step(
                "tigergraph",
                "no TIGERGRAPH_* variables set: talking to an in-process stand-in for a TigerGraph 3.5 server behind nginx",
            );
            let server = Arc::new(fakes::TigerGraph::new(fakes::TgServer::V3_5).secret("a-fake-secret"));
            Connection::builder("http://tg.fake:14240")
                .secret("a-fake-secret")
                .configure(move |b| b.respond_with(fakes::responder(&server)))
        }
    };
    if let Some(graph) = vars.as_ref().and_then(|v| v.get("TIGERGRAPH_GRAPH")) {
        builder = builder.graph(graph);
    }
    let builder = match crate::fleet()? {
        Some(fleet) => {
            step(
                "tigergraph",
                "REDIS_URL set: tokens are shared through the fleet cache in Redis (sealed, keyed names)",
            );
            builder.shared(&fleet)
        }
        None => builder,
    };
    let tg = builder.build()?;
    let token = tg.get(Some(Duration::from_secs(3600))).await?;
    let generation = match tg.generation().await {
        Some(Generation::V3_0) => "a TigerGraph 3.0–3.4 server (query-string token API)",
        Some(Generation::V3_5) => "a TigerGraph 3.5 or later server (JSON token API)",
        Some(Generation::V4) => "a TigerGraph 4 server (JWTs from the GSQL server)",
        _ => "a TigerGraph server",
    };
    step(
        "tigergraph",
        format!(
            "found {generation}; asked for a one-hour token and got {}, valid until {}",
            shown(token.secret()),
            token
                .expires_at_rfc3339()
                .unwrap_or_else(|| "an unknown time".to_owned())
        ),
    );
    let steps = async {
        let kept = tg.token().await?;
        step(
            "tigergraph",
            if kept == token {
                "asked again: got the same token, from the cache"
            } else {
                "asked again: got a different token"
            },
        );
        let refreshed = tg.refresh(None, Some(Duration::from_secs(7200))).await?;
        step(
            "tigergraph",
            format!(
                "refreshed it for two hours: now valid until {}",
                refreshed
                    .expires_at_rfc3339()
                    .unwrap_or_else(|| "an unknown time".to_owned())
            ),
        );
        Ok::<_, Failure>(())
    }
    .await;
    // Delete the current token even when a step failed; one already gone is fine.
    tg.delete(None, true).await?;
    step("tigergraph", "deleted the token");
    steps
}
