//! The cost of one SDK call against the same call written with reqwest and serde by
//! hand, in one run, against one loopback server running in a child process (so that
//! only the client's CPU and allocations are counted).
//!
//! `cargo bench -p api-tokens-tests --bench call_path` prints, for each figure, ours,
//! the hand-written baseline, their ratio and the goal. Rounds alternate between the
//! two and the median of the per-round ratios is reported, so a busy machine skews
//! both sides alike. `BENCH_ROUNDS` sets the number of rounds (default 7),
//! `BENCH_RETRIES` the client's retries (default 2, the builder's).
//!
//! For a profiler or `valgrind --tool=callgrind` (`BENCH_CALLS` calls, default 30,000):
//! `BENCH_PROFILE=ours|raw` runs small calls one at a time, `wide-ours|wide-raw` 64 at a
//! time (printing each thread's context switches), `alt` alternates short runs of each,
//! and `sizes` prints the size of one call's future.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Instant;

use fastly_tokens::types::TokenResponse;

/// Counts allocations, allocated bytes, and the peak of live bytes.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static ALLOCATED: AtomicU64 = AtomicU64::new(0);
static LIVE: AtomicI64 = AtomicI64::new(0);
static PEAK: AtomicI64 = AtomicI64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        ALLOCATED.fetch_add(layout.size() as u64, Ordering::Relaxed);
        let live = LIVE.fetch_add(layout.size() as i64, Ordering::Relaxed) + layout.size() as i64;
        PEAK.fetch_max(live, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        ALLOCATED.fetch_add(new_size as u64, Ordering::Relaxed);
        let delta = new_size as i64 - layout.size() as i64;
        let live = LIVE.fetch_add(delta, Ordering::Relaxed) + delta;
        PEAK.fetch_max(live, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const KEY: &str = "bench-key-0123456789";
const LIST_TOKENS: usize = 5_000;

fn token_json(i: usize) -> String {
    format!(
        r#"{{"id":"{i:022}","user_id":"x9KzQ3rPvL2mN8bT4wYc1d","name":"deploy token {i}","scope":"purge_select purge_all","services":["SU1Z0isxPaozGVKXdv0eY","9eYQk3LmZpR2sT7uVwX1aB"],"created_at":"2016-06-22T03:19:48+00:00","updated_at":"2016-06-22T03:19:48Z","deleted_at":null,"last_used_at":"2016-06-22T03:19:48+00:00","expires_at":"2030-07-28T19:24:50+00:00","ip":"127.17.202.173","user_agent":"Mozilla/5.0 (X11; Linux x86_64)"}}"#
    )
}

// ---------------------------------------------------------------- the server process

/// The list answer the server serves: `LIST_TOKENS` tokens.
fn list_json() -> String {
    format!("[{}]", (0..LIST_TOKENS).map(token_json).collect::<Vec<_>>().join(","))
}

fn serve() {
    let small = token_json(1);
    let list = list_json();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    println!("{}", listener.local_addr().expect("addr").port());
    let _ = std::io::stdout().flush();
    let (small, list) = (
        std::sync::Arc::new(small.into_bytes()),
        std::sync::Arc::new(list.into_bytes()),
    );
    for stream in listener.incoming().flatten() {
        let (small, list) = (small.clone(), list.clone());
        std::thread::spawn(move || connection(stream, &small, &list));
    }
}

/// HTTP/1.1 with keep-alive: GET requests only, answered by path.
fn connection(stream: TcpStream, small: &[u8], list: &[u8]) {
    let _ = stream.set_nodelay(true);
    let mut writer = stream.try_clone().expect("clone");
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let mut length = 0;
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        let _ = reader.read_exact(&mut body);
        let answer = if path == "/tokens" { list } else { small };
        // Head and body in one write, as HTTP servers send a small answer: two writes on
        // a no-delay socket are two segments, and whether the client reads them in one
        // go or two would depend on its timing, not on its work.
        let mut reply = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            answer.len()
        )
        .into_bytes();
        reply.extend_from_slice(answer);
        if writer.write_all(&reply).is_err() {
            return;
        }
    }
}

// ---------------------------------------------------------------- measuring

/// CPU time of every thread of this process, in nanoseconds (Linux `schedstat`).
fn cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

#[derive(Default, Clone, Copy)]
struct Sample {
    cpu_ns: f64,
    wall_ns: f64,
    allocations: f64,
    bytes: f64,
    peak: f64,
}

/// Runs `calls` calls of `work` and returns the cost of one.
async fn sample<F, Fut>(calls: usize, work: F) -> Sample
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()>,
{
    let (cpu, wall) = (cpu_ns(), Instant::now());
    let (allocations, bytes) = (ALLOCATIONS.load(Ordering::Relaxed), ALLOCATED.load(Ordering::Relaxed));
    let live = LIVE.load(Ordering::Relaxed);
    PEAK.store(live, Ordering::Relaxed);
    for _ in 0..calls {
        work().await;
    }
    let n = calls as f64;
    Sample {
        cpu_ns: (cpu_ns() - cpu) as f64 / n,
        wall_ns: wall.elapsed().as_nanos() as f64 / n,
        allocations: (ALLOCATIONS.load(Ordering::Relaxed) - allocations) as f64 / n,
        bytes: (ALLOCATED.load(Ordering::Relaxed) - bytes) as f64 / n,
        peak: (PEAK.load(Ordering::Relaxed) - live) as f64,
    }
}

impl Sample {
    /// The cost of one of `calls` calls measured as one sample (the peak stays whole).
    fn per(self, calls: usize) -> Sample {
        let n = calls as f64;
        Sample {
            cpu_ns: self.cpu_ns / n,
            wall_ns: self.wall_ns / n,
            allocations: self.allocations / n,
            bytes: self.bytes / n,
            peak: self.peak,
        }
    }

    fn mean(&self, other: &Sample) -> Sample {
        Sample {
            cpu_ns: (self.cpu_ns + other.cpu_ns) / 2.0,
            wall_ns: (self.wall_ns + other.wall_ns) / 2.0,
            allocations: (self.allocations + other.allocations) / 2.0,
            bytes: (self.bytes + other.bytes) / 2.0,
            peak: self.peak.max(other.peak),
        }
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// A figure over the rounds: the median of each side, and the median of the per-round
/// ratios (ours over the baseline).
fn row(
    figure: &str,
    pairs: &[(Sample, Sample)],
    f: impl Fn(&Sample) -> f64,
    unit: fn(f64) -> String,
    goal: &'static str,
) -> Row {
    Row {
        figure: figure.to_owned(),
        ours: unit(median(pairs.iter().map(|(o, _)| f(o)).collect())),
        raw: unit(median(pairs.iter().map(|(_, r)| f(r)).collect())),
        ratio: median(pairs.iter().map(|(o, r)| f(o) / f(r)).collect()),
        goal,
    }
}

struct Row {
    figure: String,
    ours: String,
    raw: String,
    ratio: f64,
    goal: &'static str,
}

fn main() {
    if std::env::args().any(|a| a == "--serve") {
        serve();
        return;
    }
    let mut child = std::process::Command::new(std::env::current_exe().expect("exe"))
        .arg("--serve")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("server process");
    let mut port = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut port)
        .expect("port");
    let base = format!("http://127.0.0.1:{}", port.trim());
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(7);
    // One call at a time on a single thread, where CPU time is the call's own work and
    // not idle workers searching for tasks; 64 at a time on two workers.
    let sequential = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // `BENCH_PROFILE=wide-ours|wide-raw`: only the concurrent calls of one side.
    let profile = std::env::var("BENCH_PROFILE").ok();
    let wide_profile = profile.as_deref().is_some_and(|p| p.starts_with("wide-"));
    let mut rows = if wide_profile {
        Vec::new()
    } else {
        sequential.block_on(measure(&base, rounds, false))
    };
    drop(sequential);
    let concurrent = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    if profile.is_none() || wide_profile {
        rows.extend(concurrent.block_on(measure(&base, rounds, true)));
    }
    let _ = child.kill();
    let _ = child.wait();
    println!(
        "call path, {rounds} rounds, {} cores, ours / hand-written reqwest + serde",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("| figure | ours | reqwest + serde | ratio | goal |");
    println!("|---|---|---|---|---|");
    for row in rows {
        println!(
            "| {} | {} | {} | {:.2}× | {} |",
            row.figure, row.ours, row.raw, row.ratio, row.goal
        );
    }
}

/// The sequential figures, or (`wide`) the concurrent one, each with clients of its own
/// runtime (hyper's connections live on the runtime that opened them).
async fn measure(base: &str, rounds: usize, wide: bool) -> Vec<Row> {
    let ours = fastly_tokens::Client::builder()
        .base_url(base)
        .token(KEY)
        .max_retries(
            std::env::var("BENCH_RETRIES")
                .ok()
                .and_then(|r| r.parse().ok())
                .unwrap_or(2),
        )
        .build()
        .expect("client");
    // The baseline gets the same reqwest settings as our builder gives its client.
    let raw = api_tokens_runtime::http_client_builder()
        .timeout(api_tokens_runtime::DEFAULT_TIMEOUT)
        .connect_timeout(api_tokens_runtime::DEFAULT_CONNECT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    // A hand-written call builds its URL from the token id each time, as ours does.
    let token_url = |id: &str| format!("{base}/tokens/{id}");
    let list_url = format!("{base}/tokens");
    let ours_small = || async {
        let token = ours.get_token().token_id("t1").send().await.expect("ours");
        std::hint::black_box(token.into_inner());
    };
    let raw_get = |url: &str| {
        let request = raw
            .get(url)
            .header("fastly-key", KEY)
            .header(reqwest::header::ACCEPT, "application/json");
        async move {
            let response = request.send().await.expect("raw");
            assert!(response.status().is_success());
            response.bytes().await.expect("body")
        }
    };
    let raw_small = || async {
        let body = raw_get(&token_url("t1")).await;
        let token: TokenResponse = serde_json::from_slice(&body).expect("decode");
        std::hint::black_box(token);
    };
    let ours_list = || async {
        let tokens = ours.list_tokens_user().send().await.expect("ours");
        assert_eq!(tokens.len(), LIST_TOKENS);
        std::hint::black_box(tokens.into_inner());
    };
    let raw_list = || async {
        let body = raw_get(&list_url).await;
        let tokens: Vec<TokenResponse> = serde_json::from_slice(&body).expect("decode");
        assert_eq!(tokens.len(), LIST_TOKENS);
        std::hint::black_box(tokens);
    };
    if wide {
        return throughput(rounds, &ours, &raw, base).await;
    }
    // `BENCH_PROFILE=ours|raw|alt`: only small calls, for a profiler; `sizes`: the
    // size of one call's future (what a spawned task allocates and moves).
    if let Ok(side) = std::env::var("BENCH_PROFILE") {
        if side == "sizes" {
            let ours_call = ours.get_token().token_id("t1").send();
            let raw_call = raw_get(&token_url("t1"));
            eprintln!(
                "future of one call: ours {} bytes, raw {} bytes",
                std::mem::size_of_val(&ours_call),
                std::mem::size_of_val(&raw_call)
            );
            use fastly_tokens::ClientInfo;
            let request = raw.get(token_url("t1")).build().expect("request");
            let send = api_tokens_runtime::hooks::send::<()>(ours.client(), ours.inner(), request);
            eprintln!("transport {}", std::mem::size_of_val(&send));
            let request = raw.get(token_url("t1")).build().expect("request");
            let send = ours.client().execute(request);
            eprintln!("reqwest execute {}", std::mem::size_of_val(&send));
            return Vec::new();
        }
        let calls = std::env::var("BENCH_CALLS")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(30_000);
        if side == "alt" {
            for _ in 0..6 {
                let o = sample(1_500, ours_small).await;
                let r = sample(1_500, raw_small).await;
                eprintln!("ours {:.1} µs  raw {:.1} µs", o.cpu_ns / 1000.0, r.cpu_ns / 1000.0);
            }
            return Vec::new();
        }
        let cost = if side == "raw" {
            sample(calls, raw_small).await
        } else {
            sample(calls, ours_small).await
        };
        eprintln!(
            "{side}: {:.1} µs CPU, {:.1} allocations per call",
            cost.cpu_ns / 1000.0,
            cost.allocations
        );
        return Vec::new();
    }
    // Warm up connections, the allocator and the caches.
    sample(200, ours_small).await;
    sample(200, raw_small).await;
    sample(3, ours_list).await;
    sample(3, raw_list).await;

    let (mut small, mut list) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        // ABBA order cancels any drift within a round (allocator, CPU clock, pools).
        let (o1, r1) = (sample(1_500, ours_small).await, sample(1_500, raw_small).await);
        let (r2, o2) = (sample(1_500, raw_small).await, sample(1_500, ours_small).await);
        small.push((o1.mean(&o2), r1.mean(&r2)));
        let (o1, r1) = (sample(10, ours_list).await, sample(10, raw_list).await);
        let (r2, o2) = (sample(10, raw_list).await, sample(10, ours_list).await);
        list.push((o1.mean(&o2), r1.mean(&r2)));
    }
    let micros = |ns: f64| format!("{:.1} µs", ns / 1000.0);
    let millis = |ns: f64| format!("{:.2} ms", ns / 1e6);
    let count = |n: f64| format!("{n:.1}");
    let kib = |b: f64| format!("{:.1} KiB", b / 1024.0);
    let mib = |b: f64| format!("{:.2} MiB", b / 1048576.0);
    let mut rows = Vec::new();
    let mut row = |figure: &str, pairs: &[(Sample, Sample)], f: fn(&Sample) -> f64, unit: fn(f64) -> String, goal| {
        rows.push(row(figure, pairs, f, unit, goal));
    };
    row(
        "CPU per call, small answer (`get_token`)",
        &small,
        |s| s.cpu_ns,
        micros,
        "≤ 1.10×",
    );
    row(
        "allocations per call, small answer",
        &small,
        |s| s.allocations,
        count,
        "≤ 1.15×",
    );
    row(
        "bytes allocated per call, small answer",
        &small,
        |s| s.bytes,
        kib,
        "≤ 1.15×",
    );
    // The size printed is the size served, measured here.
    let size = format!("{:.2} MB list", list_json().len() as f64 / 1e6);
    row(
        &format!("CPU per call, {size} ({LIST_TOKENS} tokens)"),
        &list,
        |s| s.cpu_ns,
        millis,
        "≤ 1.15×",
    );
    row(
        &format!("latency per call, {size}"),
        &list,
        |s| s.wall_ns,
        millis,
        "≤ 1.15×",
    );
    row("peak memory of a list call", &list, |s| s.peak, mib, "≤ 1.2×");
    rows
}

/// 10,000 `get_token` calls, 64 in flight, each in a task of its own: throughput, CPU
/// and bytes allocated per call (the task included), and the peak of live heap bytes.
///
/// Each side's task is the whole call, its request built inside it, as a program
/// spawning a task per call writes it. (A baseline that built its request before
/// spawning did that work on the thread that spawns and joins, which then slept less
/// often: a third fewer context switches, which were counted against ours.)
async fn throughput(rounds: usize, ours: &fastly_tokens::Client, raw: &reqwest::Client, base: &str) -> Vec<Row> {
    const CALLS: usize = 10_000;
    let ours_task = || {
        let ours = ours.clone();
        async move {
            ours.get_token().token_id("t1").send().await.expect("ours");
        }
    };
    let raw_task = || {
        let (raw, url) = (raw.clone(), format!("{base}/tokens"));
        async move {
            let response = raw
                .get(format!("{url}/{}", "t1"))
                .header("fastly-key", KEY)
                .header(reqwest::header::ACCEPT, "application/json")
                .send()
                .await
                .expect("raw");
            let body = response.bytes().await.expect("body");
            let _: TokenResponse = serde_json::from_slice(&body).expect("decode");
        }
    };
    if let Some(side) = std::env::var("BENCH_PROFILE")
        .ok()
        .and_then(|p| p.strip_prefix("wide-").map(str::to_owned))
    {
        let calls = std::env::var("BENCH_CALLS")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(30_000);
        let cost = if side == "raw" {
            concurrently(calls, 64, raw_task).await
        } else {
            concurrently(calls, 64, ours_task).await
        };
        eprintln!(
            "wide-{side}: {:.1} µs CPU per call; tasks' futures: ours {} bytes, raw {} bytes",
            cost.cpu_ns / 1000.0,
            std::mem::size_of_val(&ours_task()),
            std::mem::size_of_val(&raw_task())
        );
        // Every thread's context switches (the profile that found the note above).
        for task in std::fs::read_dir("/proc/self/task").into_iter().flatten().flatten() {
            if let Ok(status) = std::fs::read_to_string(task.path().join("status")) {
                let name = status
                    .lines()
                    .next()
                    .unwrap_or("")
                    .trim_start_matches("Name:")
                    .trim()
                    .to_owned();
                let switches: Vec<&str> = status.lines().filter(|l| l.contains("ctxt_switches")).collect();
                eprintln!("  {name}: {}", switches.join(", "));
            }
        }
        return Vec::new();
    }
    let mut pairs: Vec<(Sample, Sample)> = Vec::new();
    for _ in 0..rounds {
        // Alternate which side goes first, so that neither always meets a warmer pool.
        pairs.push(if pairs.len().is_multiple_of(2) {
            let ours = concurrently(CALLS, 64, ours_task).await;
            (ours, concurrently(CALLS, 64, raw_task).await)
        } else {
            let raw = concurrently(CALLS, 64, raw_task).await;
            (concurrently(CALLS, 64, ours_task).await, raw)
        });
    }
    let per_second = |s: &Sample| 1e9 / s.wall_ns;
    vec![
        // Higher is better here: the ratio is ours over the baseline's, as everywhere.
        row(
            "throughput at concurrency 64, 10,000 calls (calls/s)",
            &pairs,
            per_second,
            |n| format!("{n:.0}"),
            "≥ 0.90×",
        ),
        row(
            "CPU per call at concurrency 64 (all threads)",
            &pairs,
            |s| s.cpu_ns,
            |ns| format!("{:.1} µs", ns / 1000.0),
            "",
        ),
        row(
            "bytes allocated per call at concurrency 64 (a task each)",
            &pairs,
            |s| s.bytes,
            |b| format!("{:.1} KiB", b / 1024.0),
            "≤ 1.15×",
        ),
        row(
            "peak live heap over 10,000 calls at concurrency 64",
            &pairs,
            |s| s.peak,
            |b| format!("{:.2} MiB", b / 1048576.0),
            "≤ 1.10×",
        ),
    ]
}

/// `calls` calls of `make()` with at most `width` in flight, measured as one sample.
async fn concurrently<F, Fut>(calls: usize, width: usize, make: F) -> Sample
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let make = &make;
    sample(1, || async move {
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..calls {
            if tasks.len() >= width {
                tasks.join_next().await;
            }
            tasks.spawn(make());
        }
        while tasks.join_next().await.is_some() {}
    })
    .await
    .per(calls)
}
