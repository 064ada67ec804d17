//! A tour of every vendor's token lifecycle: get a token, use it or keep it fresh,
//! refresh or rotate it, revoke it.
//!
//! `cargo run -p api-tokens --example tour` runs each lifecycle against an in-process
//! fake of the vendor's server: no credentials, no network. Set a vendor's variables
//! (the workspace README has the table) to run its lifecycle against the real service
//! instead; a vendor whose variables are only partly set stops the tour with a message
//! saying what is missing. Whatever the tour creates it revokes, also when a later step
//! fails. Secrets are never printed, only their length.
//!
//! With `REDIS_URL` and `TOKEN_CACHE_KEY` (32 bytes in base64) set, the ICA and
//! TigerGraph lifecycles share their tokens through that Redis (the fleet cache of
//! `api-tokens-redis`), and the tour says so.

mod docluster;
mod fastly;
mod ica;
mod insight;
mod tigergraph;

use std::collections::HashMap;

use api_tokens::Secret;

/// What a step or a vendor's tour can fail with.
pub type Failure = Box<dyn std::error::Error>;

/// One vendor's tour.
type Tour = std::pin::Pin<Box<dyn Future<Output = Result<(), Failure>>>>;

/// Prints one step of a lifecycle.
pub fn step(vendor: &str, what: impl std::fmt::Display) {
    println!("[{vendor:<10}] {what}");
}

/// How a secret is shown: never its value.
pub fn shown(secret: &Secret) -> String {
    format!("<secret, {} chars>", secret.expose().len())
}

/// A vendor's variables: `None` when none is set (the tour uses its fake), the values
/// when one of the complete `sets` is; an error naming what is missing otherwise, so a
/// half-configured vendor never silently runs against the fake.
pub fn config(sets: &[&[&str]], optional: &[&str]) -> Result<Option<HashMap<String, String>>, Failure> {
    let read = |name: &&str| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.is_empty())
            .map(|v| (name.to_string(), v))
    };
    let names: Vec<&str> = sets
        .iter()
        .flat_map(|s| s.iter().copied())
        .chain(optional.iter().copied())
        .collect();
    let set: HashMap<String, String> = names.iter().filter_map(read).collect();
    if set.is_empty() {
        return Ok(None);
    }
    if sets.iter().any(|s| s.iter().all(|name| set.contains_key(*name))) {
        return Ok(Some(set));
    }
    let wanted: Vec<String> = sets.iter().map(|s| s.join(" + ")).collect();
    let mut given: Vec<&String> = set.keys().collect();
    given.sort();
    Err(format!(
        "{} set, but not a complete set: set {} to use the real service, or unset them all for the fake",
        given.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
        wanted.join(", or ")
    )
    .into())
}

/// The fleet cache, when `REDIS_URL` and `TOKEN_CACHE_KEY` are set.
pub fn fleet() -> Result<Option<api_tokens::SharedCache>, Failure> {
    let Some(vars) = config(&[&["REDIS_URL", "TOKEN_CACHE_KEY"]], &[])? else {
        return Ok(None);
    };
    let key = api_tokens_redis::EncryptionKey::from_base64("tour", &vars["TOKEN_CACHE_KEY"])?;
    let store = api_tokens_redis::RedisStore::open(&vars["REDIS_URL"], key)?;
    Ok(Some(api_tokens::SharedCache::new(store)))
}

/// With `RUST_LOG` set (`api_tokens=debug`, `api_tokens::lifecycle=trace`, …), prints
/// what the crates tell `tracing`: every call and every lifecycle decision.
fn trace_if_asked() {
    use tracing_subscriber::layer::SubscriberExt;
    let Ok(wanted) = std::env::var("RUST_LOG") else {
        return;
    };
    match wanted.parse::<tracing_subscriber::filter::Targets>() {
        Ok(targets) => {
            let layer = tracing_subscriber::fmt::layer().with_target(true).without_time();
            let subscriber = tracing_subscriber::registry().with(targets).with(layer);
            if tracing::subscriber::set_global_default(subscriber).is_err() {
                eprintln!("RUST_LOG ignored: a tracing subscriber is already set");
            }
        }
        Err(error) => eprintln!("RUST_LOG ignored: {error}"),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    trace_if_asked();
    let tours: [(&str, Tour); 5] = [
        ("fastly", Box::pin(fastly::tour())),
        ("ica", Box::pin(ica::tour())),
        ("tigergraph", Box::pin(tigergraph::tour())),
        ("insight", Box::pin(insight::tour())),
        ("docluster", Box::pin(docluster::tour())),
    ];
    for (vendor, tour) in tours {
        if let Err(error) = tour.await {
            // `Display`: the error says who, what happened and what to do.
            eprintln!("[{vendor:<10}] failed: {error}");
            std::process::exit(1);
        }
    }
    println!("tour complete: 5 vendors");
}
