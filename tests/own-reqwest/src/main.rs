//! A program that builds its own `reqwest::Client` before and after one of ours, as a
//! user's program does: adding `fastly-tokens` with its default features must not
//! change how the program's own reqwest behaves (no panic for want of a TLS provider,
//! nothing installed process-wide). `.ci/run` runs it built on its own, so that only
//! this program's features unify, as in a user's build.

fn main() {
    // The user's own client, built before any of ours.
    let before = reqwest::Client::new();
    let ours = fastly_tokens::Client::builder()
        .base_url("https://api.fastly.com")
        .token("not-a-real-token")
        .build()
        .expect("our client");
    let after = reqwest::Client::builder().build().expect("the user's second client");
    drop((before, ours, after));
    println!("own-reqwest-check: the program's own reqwest clients and ours were built; nothing panicked");
}
