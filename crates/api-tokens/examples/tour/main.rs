//! A tour of every vendor's token lifecycle.
//!
//! `cargo run -p api-tokens --example tour` runs each lifecycle against an embedded
//! mock server: no credentials, no network. Set a vendor's variables (listed in each
//! module) to run its lifecycle against the real service instead. Secrets are never
//! printed, only their length.

mod docluster;
mod fastly;
mod ica;
mod insight;
mod tigergraph;

use api_tokens::Secret;

/// Prints one step of a lifecycle.
pub fn step(vendor: &str, what: impl std::fmt::Display) {
    println!("[{vendor:<10}] {what}");
}

/// How a secret is shown: never its value.
pub fn shown(secret: &Secret) -> String {
    format!("<secret, {} chars>", secret.expose().len())
}

/// A variable of the environment, when set and not empty.
pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    fastly::tour().await?;
    ica::tour().await?;
    tigergraph::tour().await?;
    insight::tour().await?;
    docluster::tour().await?;
    println!("tour complete: 5 vendors");
    Ok(())
}
