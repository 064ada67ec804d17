//! ICA: create a JWT (Basic) → refresh it. Real service: `ICA_USERNAME`,
//! `ICA_PASSWORD`, optional `ICA_TENANT` and `ICA_BASE_URL`.

use api_tokens::ica::Client;
use httpmock::prelude::*;
use serde_json::json;

use crate::{shown, step, var};

const V3: &str = "application/vnd.illumina.v3+json";

pub async fn tour() -> Result<(), Box<dyn std::error::Error>> {
    let real = var("ICA_USERNAME").zip(var("ICA_PASSWORD"));
    let mock = MockServer::start_async().await;
    let (base, user, password) = match &real {
        Some((user, password)) => (var("ICA_BASE_URL"), user.clone(), password.clone()),
        None => {
            mock_ica(&mock).await;
            (
                Some(format!("{}/ica/rest", mock.base_url())),
                "me@example.com".to_owned(),
                "a-password".to_owned(),
            )
        }
    };
    step(
        "ica",
        if real.is_some() {
            "against ICA"
        } else {
            "against an embedded mock"
        },
    );
    let mut builder = Client::builder().basic(user, password);
    if let Some(base) = base {
        builder = builder.base_url(base);
    }
    let client = builder.build()?;
    let mut create = client.create_jwt_token();
    if let Some(tenant) = var("ICA_TENANT") {
        create = create.tenant(tenant);
    }
    let jwt = create.send().await?.into_inner().token;
    step("ica", format!("created a JWT {}", shown(&jwt)));
    let refreshed = client
        .with_jwt(jwt)?
        .refresh_jwt_token()
        .send()
        .await?
        .into_inner()
        .token;
    step("ica", format!("refreshed it: {}", shown(&refreshed)));
    Ok(())
}

async fn mock_ica(server: &MockServer) {
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/ica/rest/api/tokens")
                .header("accept", V3)
                .header_exists("authorization");
            then.status(200)
                .header("content-type", V3)
                .json_body(json!({"token": "eyJhbGciOiJIUzI1NiJ9.mock.jwt"}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/ica/rest/api/tokens:refresh")
                .header("authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.mock.jwt");
            then.status(200)
                .header("content-type", V3)
                .json_body(json!({"token": "eyJhbGciOiJIUzI1NiJ9.mock.refreshed"}));
        })
        .await;
}
