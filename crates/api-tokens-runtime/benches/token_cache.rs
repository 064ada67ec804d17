//! `CachedTokenSource::token()` on a cache hit, and while a refresh runs behind the
//! callers (stale-while-revalidate), against cloning a `Secret`, the least a caller
//! holding a token could do: `cargo bench -p api-tokens-runtime --bench token_cache`.
//!
//! Rounds alternate the three; each figure is the median over rounds, and each ratio the
//! median of the per-round ratios. Latencies (p50, p99) are of single calls, each timed
//! on its own, the same way for the hit and the refresh.
//!
//! Also, with no `tracing` subscriber installed (as in a program that installs none),
//! what one SDK call's instrumentation costs: the `call` span with its four fields,
//! entered around the call, an attempt event and the closing event, against the same
//! loop without them, in the same run.

use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime};

use api_tokens_runtime::{CachedTokenSource, RefreshPolicy, Secret, Token, TokenFuture};

const CALLS: u32 = 1_000_000;
const ROUNDS: usize = 9;

type Loader = Box<dyn Fn(Option<Token>) -> TokenFuture<'static> + Send + Sync>;

/// A source whose loader takes a second: its outcome never lands while a round runs
/// (the round never yields to the runtime), so a refresh stays in flight throughout.
fn source(policy: RefreshPolicy) -> CachedTokenSource<Loader> {
    let load: Loader = Box::new(|_| {
        Box::pin(async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Ok(Token::new(
                "a-refreshed-token-value",
                Some(SystemTime::now() + Duration::from_secs(3600)),
            ))
        })
    });
    CachedTokenSource::new("Bench", policy, load)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Nanoseconds per call over `CALLS` calls, and the p50 and p99 of single calls.
fn measure(mut call: impl FnMut()) -> (f64, f64, f64) {
    let mut single = Vec::with_capacity(CALLS as usize);
    let started = Instant::now();
    for _ in 0..CALLS {
        let at = Instant::now();
        call();
        single.push(at.elapsed().as_nanos() as f64);
    }
    let mean = started.elapsed().as_nanos() as f64 / f64::from(CALLS);
    single.sort_by(f64::total_cmp);
    let pick = |q: f64| single[((single.len() as f64 - 1.0) * q) as usize];
    (mean, pick(0.50), pick(0.99))
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let now = SystemTime::now();
    // A hit: an hour left, due in 55 minutes.
    let hit = source(RefreshPolicy::new(Duration::from_secs(300)));
    hit.store(Token::new(
        "a-cached-token-value",
        Some(now + Duration::from_secs(3600)),
    ));
    // Due: made to live 10 h, 1 h left, a 2-hour lead; the refresh starts on the first
    // call and stays in flight.
    let due = source(RefreshPolicy::new(Duration::from_secs(7200)));
    due.store(
        Token::new("a-cached-token-value", Some(now + Duration::from_secs(3600)))
            .with_issued_at(now - Duration::from_secs(9 * 3600)),
    );
    let secret = Secret::new("a-cached-token-value");
    let (mut clones, mut hits, mut dues) = (Vec::new(), Vec::new(), Vec::new());
    let (mut hit_ratios, mut due_ratios) = (Vec::new(), Vec::new());
    runtime.block_on(async {
        for _ in 0..ROUNDS {
            let clone = measure(|| {
                black_box(black_box(&secret).clone());
            });
            let hit = measure(|| {
                let token = futures_ready(hit.token());
                black_box(token);
            });
            let refreshing = measure(|| {
                let token = futures_ready(due.token());
                assert_eq!(token.secret().expose(), "a-cached-token-value");
                black_box(token);
            });
            hit_ratios.push(hit.0 / clone.0);
            due_ratios.push(refreshing.1 / hit.1);
            clones.push(clone);
            hits.push(hit);
            dues.push(refreshing);
        }
    });
    let (traced, bare) = runtime.block_on(tracing_cost());
    let pick = |rows: &[(f64, f64, f64)], i: usize| {
        let mut column: Vec<f64> = rows
            .iter()
            .map(|r| match i {
                0 => r.0,
                1 => r.1,
                _ => r.2,
            })
            .collect();
        median(&mut column)
    };
    println!("| figure | per call (mean) | p50 | p99 | ratio |");
    println!("|---|---|---|---|---|");
    println!(
        "| `Secret::clone` | {:.1} ns | {:.0} ns | {:.0} ns | 1.00× |",
        pick(&clones, 0),
        pick(&clones, 1),
        pick(&clones, 2)
    );
    println!(
        "| `token()`, cache hit | {:.1} ns | {:.0} ns | {:.0} ns | {:.2}× the clone (mean) |",
        pick(&hits, 0),
        pick(&hits, 1),
        pick(&hits, 2),
        median(&mut hit_ratios)
    );
    println!(
        "| `token()`, due, refresh in flight | {:.1} ns | {:.0} ns | {:.0} ns | {:.2}× the hit (p50) |",
        pick(&dues, 0),
        pick(&dues, 1),
        pick(&dues, 2),
        median(&mut due_ratios)
    );
    println!(
        "| one call's `tracing`, no subscriber | {:.1} ns | | | {:.1} ns more than without |",
        traced,
        traced - bare
    );
}

/// Nanoseconds per call of a call's instrumentation, and of the same loop without it:
/// the medians of 9 rounds.
async fn tracing_cost() -> (f64, f64) {
    use tracing::Instrument;
    const N: u32 = 1_000_000;
    let (mut traced, mut bare) = (Vec::new(), Vec::new());
    for _ in 0..9 {
        let started = Instant::now();
        for i in 0..N {
            let span = tracing::debug_span!(
                target: "api_tokens::call",
                "call",
                vendor = "Bench",
                operation = "get_token",
                method = "GET",
                path = "/tokens/{token_id}",
            );
            let value = async { black_box(i) }.instrument(span.clone()).await;
            tracing::trace!(target: "api_tokens::call", attempt = 0u32, status = 200u16, "attempt answered");
            let _in = span.enter();
            tracing::debug!(target: "api_tokens::call", status = 200u16, took_ms = 0u64, "call succeeded");
            black_box(value);
        }
        traced.push(started.elapsed().as_nanos() as f64 / f64::from(N));
        let started = Instant::now();
        for i in 0..N {
            let value = async { black_box(i) }.await;
            black_box(value);
        }
        bare.push(started.elapsed().as_nanos() as f64 / f64::from(N));
    }
    (median(&mut traced), median(&mut bare))
}

/// The value of a future that is ready at once (a cache hit never waits); a future
/// that is not is a bug of the benchmark.
fn futures_ready<T>(future: impl std::future::Future<Output = Result<T, api_tokens_runtime::Error>>) -> T {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(Ok(value)) => value,
        _ => panic!("token() did not answer at once"),
    }
}
