//! A cache hit of `CachedTokenSource::token()` against cloning a `Secret`, the least a
//! caller holding a token could do: `cargo bench -p api-tokens-runtime --bench token_cache`.
//! Rounds alternate the two; the median ratio is reported.

use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime};

use api_tokens_runtime::{CachedTokenSource, RefreshPolicy, Secret, Token};

const CALLS: u32 = 2_000_000;

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let expires = SystemTime::now() + Duration::from_secs(3600);
    let source = CachedTokenSource::new("Bench", RefreshPolicy::default(), move |_| async move {
        Ok(Token::new("a-cached-token-value", Some(expires)))
    });
    let secret = Secret::new("a-cached-token-value");
    runtime.block_on(async {
        source.token().await.expect("first load");
    });
    let mut ratios = Vec::new();
    let (mut hit_ns, mut clone_ns) = (0.0, 0.0);
    for _ in 0..9 {
        let started = Instant::now();
        runtime.block_on(async {
            for _ in 0..CALLS {
                black_box(source.token().await.expect("hit"));
            }
        });
        let hit = started.elapsed().as_nanos() as f64 / f64::from(CALLS);
        let started = Instant::now();
        for _ in 0..CALLS {
            black_box(black_box(&secret).clone());
        }
        let clone = started.elapsed().as_nanos() as f64 / f64::from(CALLS);
        ratios.push(hit / clone);
        (hit_ns, clone_ns) = (hit, clone);
    }
    ratios.sort_by(f64::total_cmp);
    println!("| figure | time | ratio |");
    println!("|---|---|---|");
    println!("| `Secret::clone` | {clone_ns:.1} ns | 1.00× |");
    println!(
        "| `CachedTokenSource::token()`, cache hit | {hit_ns:.1} ns | {:.2}× (median of 9) |",
        ratios[ratios.len() / 2]
    );
}
