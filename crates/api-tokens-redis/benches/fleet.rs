//! The fleet's shared cache, measured: `cargo bench -p api-tokens-redis --bench fleet`.
//! Uses the Redis at `API_TOKENS_REDIS_URL`, or starts `redis-server` (from the `PATH`)
//! on a free loopback port, persistence off, and stops it after.
//!
//! 1. `token()` on an in-process hit of a shared source, against the same hit of a
//!    source that is not shared (the store is never asked on a hit).
//! 2. A Redis hit (`RedisStore::read`: one `MGET`, the value opened and decoded) against
//!    a bare `GET` of a value of the same size, on the same connection kind, in the same
//!    rounds. Goal: at most 1.2×.
//! 3. Vendor requests per refresh for 1, 4, 16 and 64 workers (each a lifecycle with a
//!    store connection and lock owner of its own, as a process has), all due at once,
//!    shared and not. Goal: 1 at every size when shared.
//!
//! Rounds alternate what they compare; each figure is a median over rounds, and each
//! ratio the median of the per-round ratios.

use std::hint::black_box;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use api_tokens_redis::{EncryptionKey, RedisStore};
use api_tokens_runtime::shared::{SharedStore, encode_token};
use api_tokens_runtime::{BoxedLoader, CachedTokenSource, Identity, RefreshPolicy, SharedCache, Token};

const ROUNDS: usize = 11;
const HITS: u32 = 200_000;
const READS: u32 = 2_000;

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// A Redis of the bench's own, unless one is given.
struct Redis {
    url: String,
    child: Option<Child>,
}

impl Redis {
    fn get() -> Redis {
        if let Ok(url) = std::env::var("API_TOKENS_REDIS_URL") {
            return Redis { url, child: None };
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("redis-server")
            .args([
                "--bind",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server on the PATH (or set API_TOKENS_REDIS_URL)");
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            std::thread::sleep(Duration::from_millis(20));
        }
        Redis {
            url: format!("redis://127.0.0.1:{port}"),
            child: Some(child),
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn store(url: &str, prefix: &str) -> RedisStore {
    RedisStore::open(url, EncryptionKey::new("bench", [7; 32]).expect("key"))
        .expect("store")
        .prefix(prefix.to_owned())
}

/// A worker's lifecycle: its loader counts vendor requests and takes 5 ms.
fn worker(requests: &Arc<AtomicUsize>, fleet: Option<&SharedCache>) -> CachedTokenSource<BoxedLoader> {
    let requests = Arc::clone(requests);
    let load: BoxedLoader = Box::new(move |_| {
        let requests = Arc::clone(&requests);
        Box::pin(async move {
            let n = requests.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(5)).await;
            Ok(Token::new(
                format!("token-{n:0>40}"),
                Some(SystemTime::now() + Duration::from_secs(3600)),
            ))
        })
    });
    let source = CachedTokenSource::new("bench", RefreshPolicy::new(Duration::from_secs(60)), load);
    match fleet {
        Some(fleet) => source.shared(fleet, Identity::new("bench").with("principal", "p")),
        None => source,
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let redis = Redis::get();
    runtime.block_on(run(&redis.url));
}

async fn run(url: &str) {
    let prefix = format!("bench-{}", std::process::id());
    // 1. In-process hits.
    let requests = Arc::new(AtomicUsize::new(0));
    let shared = worker(&requests, Some(&SharedCache::new(store(url, &prefix))));
    let alone = worker(&requests, None);
    shared.token().await.expect("token");
    alone.token().await.expect("token");
    let (mut shared_ns, mut alone_ns, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let hit = |source: &CachedTokenSource<BoxedLoader>| {
            let started = Instant::now();
            for _ in 0..HITS {
                let _ = black_box(futures_now(source.token()));
            }
            started.elapsed().as_nanos() as f64 / f64::from(HITS)
        };
        let (a, s) = (hit(&alone), hit(&shared));
        alone_ns.push(a);
        shared_ns.push(s);
        ratios.push(s / a);
    }
    println!(
        "in-process hit: shared {:.0} ns, not shared {:.0} ns: {:.2}x",
        median(&mut shared_ns),
        median(&mut alone_ns),
        median(&mut ratios)
    );

    // 2. A Redis hit against a bare GET of the same size.
    let read_prefix = format!("{prefix}-read");
    let store = store(url, &read_prefix);
    let identity = Identity::new("bench").with("principal", "read");
    let token = Token::new("x".repeat(900), Some(SystemTime::now() + Duration::from_secs(3600)));
    let plain = encode_token(&token);
    assert!(
        store
            .write(&identity, "bench", 0, &plain, Duration::from_secs(600))
            .await
            .expect("write")
    );
    let client = redis::Client::open(url).expect("client");
    let config = redis::aio::ConnectionManagerConfig::new();
    let mut bare = redis::aio::ConnectionManager::new_with_config(client, config)
        .await
        .expect("connection");
    let raw: Vec<(String, String)> = {
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{read_prefix}:*:token"))
            .query_async(&mut bare)
            .await
            .expect("KEYS");
        let value: String = redis::cmd("GET")
            .arg(&keys[0])
            .query_async(&mut bare)
            .await
            .expect("GET");
        vec![(format!("{read_prefix}:bare"), value)]
    };
    let _: () = redis::cmd("SET")
        .arg(&raw[0].0)
        .arg(&raw[0].1)
        .query_async(&mut bare)
        .await
        .expect("SET");
    let size = raw[0].1.len();
    let (mut read_us, mut get_us, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let started = Instant::now();
        for _ in 0..READS {
            let value: Option<String> = redis::cmd("GET")
                .arg(&raw[0].0)
                .query_async(&mut bare)
                .await
                .expect("GET");
            black_box(value);
        }
        let get = started.elapsed().as_nanos() as f64 / f64::from(READS) / 1000.0;
        let started = Instant::now();
        for _ in 0..READS {
            let stored = store.read(&identity).await.expect("read");
            black_box(
                stored
                    .token
                    .as_deref()
                    .and_then(api_tokens_runtime::shared::decode_token),
            );
        }
        let read = started.elapsed().as_nanos() as f64 / f64::from(READS) / 1000.0;
        get_us.push(get);
        read_us.push(read);
        ratios.push(read / get);
    }
    println!(
        "Redis hit ({size}-byte value): RedisStore::read + open + decode {:.1} us, bare GET {:.1} us: {:.2}x (goal <= 1.2x)",
        median(&mut read_us),
        median(&mut get_us),
        median(&mut ratios)
    );

    // 3. Vendor requests per refresh.
    for workers in [1usize, 4, 16, 64] {
        let mut counts = Vec::new();
        for fleet in [true, false] {
            let requests = Arc::new(AtomicUsize::new(0));
            let cache = SharedCache::new(self::store(
                url,
                &format!(
                    "{prefix}-n{workers}-{}",
                    SystemTime::now()
                        .duration_since(SystemTime::UNIX_EPOCH)
                        .map_or(0, |d| d.as_nanos())
                ),
            ));
            let sources: Vec<_> = (0..workers)
                .map(|_| Arc::new(worker(&requests, fleet.then_some(&cache))))
                .collect();
            let all = || {
                let calls: Vec<_> = sources
                    .iter()
                    .map(|s| {
                        let s = Arc::clone(s);
                        tokio::spawn(async move { s.token().await })
                    })
                    .collect();
                async move {
                    for call in calls {
                        call.await.expect("join").expect("token");
                    }
                }
            };
            all().await;
            // Every worker's token due at once (forgotten), then one refresh.
            for source in &sources {
                source.invalidate();
            }
            requests.store(0, Ordering::SeqCst);
            all().await;
            counts.push(requests.load(Ordering::SeqCst));
        }
        println!(
            "{workers:>2} workers, one refresh: {} vendor request(s) shared, {} not shared",
            counts[0], counts[1]
        );
    }
}

/// Polls a future that completes without waiting (a cache hit) to its end.
fn futures_now<F: std::future::Future>(future: F) -> F::Output {
    let waker = std::task::Waker::noop();
    let mut context = std::task::Context::from_waker(waker);
    let mut future = std::pin::pin!(future);
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("a cache hit never waits"),
    }
}
