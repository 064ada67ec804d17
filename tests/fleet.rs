//! One token for a fleet, checked with real processes: this test binary spawned as 16
//! workers (the ignored test `fleet::worker`), each with an ICA `JwtSource` shared
//! through a real Redis, against the ICA fake (vendors.md §2.2: an API key's JWT is
//! never refreshed, a new one is created) served over loopback HTTP, counting its
//! token requests. After each test, everything in Redis is read back: no API key,
//! JWT, host or path in clear.
//!
//! Run through `cargo xtask test`, which starts Redis; without it these tests fail
//! saying so. They run one at a time (each spawns 16 processes on a 2-core machine).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::shared::Store;
use api_tokens_redis::{EncryptionKey, RedisStore};
use api_tokens_runtime::{RefreshPolicy, SharedCache};
use api_tokens_tests::fakes::Ica;
use api_tokens_tests::fleet::{
    HttpFake, RedisServer, Report, SlowAtFirst, Worker, WorkerProcess, assert_nothing_readable, dump, redis_url, serve,
    unique_prefix,
};
use base64::Engine;

const API_KEY: &str = "fleet-api-key-5f0c2a9e";
const WORKER: &str = "fleet::worker";
const WORKERS: usize = 16;
/// A worker's user agent, before its process id.
const WORKER_AGENT: &str = "fleet-worker/";
/// How long each JWT lives; a worker refreshes it 1 s ahead, less up to 200 ms of
/// jitter, and the JWT's `iat` and `exp` are whole seconds: a refresh cycle lasts from
/// 2.8 s to 4 s.
const LIFETIME: Duration = Duration::from_secs(5);
const SHORTEST_CYCLE: Duration = Duration::from_millis(2800);

/// The most token requests one identity can need in `window`: one per refresh cycle,
/// and the one it starts with.
fn most_in(window: Duration) -> usize {
    (window.as_millis() / SHORTEST_CYCLE.as_millis()) as usize + 1
}

/// The fleet tests run one at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn key_base64(byte: u8) -> String {
    base64::engine::general_purpose::STANDARD.encode([byte; 32])
}

/// What must never be readable in Redis.
fn needles() -> [&'static str; 4] {
    [API_KEY, "127.0.0.1", "/ica/rest", "eyJhbGciOi"]
}

/// A worker process: calls `token()` every 20 ms for its run, then reports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a fleet worker process, spawned by the other fleet tests"]
async fn worker() {
    let settings = Worker::from_env().expect("a worker is started by the fleet tests, with its settings");
    let key = EncryptionKey::from_base64("k1", &settings.key).expect("key");
    // Generous store timeouts (`RedisStore::open` bounds each answer by 500 ms): 16
    // processes share 2 cores with the rest of the suite, and a worker whose store
    // operation times out loads a token alone, by design.
    let redis = redis::Client::open(settings.redis_url.as_str()).expect("a Redis URL");
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(1)))
        .set_response_timeout(Some(Duration::from_secs(1)));
    let connection = redis::aio::ConnectionManager::new_lazy_with_config(redis, config).expect("a connection");
    let store = RedisStore::with_connection(connection, key).prefix(settings.prefix.clone());
    let fleet = SharedCache::new(store)
        .lock_ttl(settings.lock_ttl)
        .operation_timeout(Duration::from_secs(1))
        .retry_after(Duration::from_secs(1));
    // The user agent names the process: a test can tell whose request the fake holds.
    let client = ica_tokens::Client::builder()
        .base_url(format!("{}/ica/rest", settings.vendor_url))
        .api_key(API_KEY)
        .user_agent(format!("{WORKER_AGENT}{}", std::process::id()))
        .build()
        .expect("client");
    let policy = RefreshPolicy::new(Duration::from_secs(1)).jitter(Duration::from_millis(200));
    let source = ica_tokens::JwtSource::with_policy(client, None, policy).shared(&fleet);
    let end = Instant::now() + settings.run;
    let mut report = Report::default();
    while Instant::now() < end {
        match source.token().await {
            Ok(token) if token.is_valid_at(std::time::SystemTime::now()) => report.ok += 1,
            Ok(_) => {
                eprintln!("worker {}: an expired token was handed out", std::process::id());
                report.failed += 1;
            }
            Err(error) => {
                eprintln!("worker {}: {error}", std::process::id());
                report.failed += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!("FLEET-REPORT ok={} failed={}", report.ok, report.failed);
}

struct Run {
    ica: Arc<Ica>,
    /// The fake's front, when its first requests are held.
    slow: Option<Arc<SlowAtFirst<Ica>>>,
    _server: HttpFake,
    settings: Worker,
}

async fn fleet_of(redis: String, prefix: &str, run: Duration, slow_first: Option<Duration>) -> Run {
    let ica = Arc::new(Ica::new().api_key(API_KEY));
    ica.set_jwt_lifetime(LIFETIME);
    let slow = slow_first.map(|delay| Arc::new(SlowAtFirst::new(Arc::clone(&ica), 1, delay)));
    let server = match &slow {
        Some(slow) => serve(Arc::clone(slow)).await,
        None => serve(Arc::clone(&ica)).await,
    };
    let settings = Worker {
        vendor_url: server.url.clone(),
        redis_url: redis,
        prefix: unique_prefix(prefix),
        key: key_base64(1),
        run,
        lock_ttl: Duration::from_secs(5),
    };
    Run {
        ica,
        slow,
        _server: server,
        settings,
    }
}

async fn reports(workers: Vec<WorkerProcess>) -> Vec<Option<Report>> {
    let mut out = Vec::new();
    for worker in workers {
        out.push(
            tokio::task::spawn_blocking(move || worker.report())
                .await
                .expect("join"),
        );
    }
    out
}

fn assert_no_failed_call(reports: &[Option<Report>]) {
    for (i, report) in reports.iter().enumerate() {
        let report = report.as_ref().unwrap_or_else(|| panic!("worker {i} gave no report"));
        assert!(report.ok > 0, "worker {i} got no token: {report:?}");
        assert_eq!(report.failed, 0, "worker {i}: {report:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_workers_make_one_request_per_refresh_cycle() {
    let _one = ONE_AT_A_TIME.lock().await;
    let run = 3 * LIFETIME;
    let fleet = fleet_of(redis_url(), "cycle", run, None).await;
    let started = Instant::now();
    let workers: Vec<_> = (0..WORKERS).map(|_| fleet.settings.spawn(WORKER)).collect();
    let reports = reports(workers).await;
    assert_no_failed_call(&reports);
    // Three lifetimes: the first token and a refresh per cycle, for the whole fleet
    // (without sharing: 16 first tokens and 16 refreshes per cycle), over the time the
    // fleet ran (workers started late on a loaded machine end late).
    let most = most_in(started.elapsed());
    let creates = fleet.ica.creates();
    println!("{WORKERS} workers over {run:?}: {creates} token requests (at most {most}; unshared: 16 per cycle)");
    assert!(
        creates <= most,
        "{creates} token requests for the fleet; at most {most} expected"
    );
    assert!(
        creates >= 3,
        "{creates}: the fleet must have refreshed across three lifetimes"
    );
    assert!(!dump(&fleet.settings.redis_url, &fleet.settings.prefix).await.is_empty());
    assert_nothing_readable(&fleet.settings.redis_url, &fleet.settings.prefix, &needles()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_holder_killed_mid_load_is_replaced_within_the_lock_expiry() {
    let _one = ONE_AT_A_TIME.lock().await;
    // The first token request hangs for 20 s: its worker is killed while it waits.
    let mut fleet = fleet_of(
        redis_url(),
        "kill",
        Duration::from_secs(8),
        Some(Duration::from_secs(20)),
    )
    .await;
    fleet.settings.lock_ttl = Duration::from_millis(1500);
    let (url, prefix) = (fleet.settings.redis_url.clone(), fleet.settings.prefix.clone());
    let mut workers: Vec<_> = (0..WORKERS).map(|_| fleet.settings.spawn(WORKER)).collect();
    // The worker whose token request the fake holds is killed, once it is held (killed
    // before sending it, the replacement's request would be the one held). Its user
    // agent names it. It is the lock's owner (the lock's value starts with the owner's
    // process id) unless its store operations timed out and it loaded alone.
    let slow = fleet.slow.clone().expect("a held first request");
    let deadline = Instant::now() + Duration::from_secs(20);
    let holder = loop {
        if let Some(agent) = slow.held().first() {
            break agent
                .strip_prefix(WORKER_AGENT)
                .and_then(|pid| pid.parse::<u32>().ok())
                .unwrap_or_else(|| panic!("a worker's user agent: {agent:?}"));
        }
        assert!(Instant::now() < deadline, "no worker asked for a token within 20 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let owner = dump(&url, &prefix)
        .await
        .into_iter()
        .find(|(key, _)| key.ends_with(":lock"))
        .and_then(|(_, owner)| owner.split('-').next()?.parse::<u32>().ok());
    if owner != Some(holder) {
        println!("the held request came from worker {holder}, loading alone; the lock's owner: {owner:?}");
    }
    let index = workers
        .iter()
        .position(|w| w.pid() == Some(holder))
        .expect("the holder is a worker");
    let mut killed = workers.remove(index);
    killed.kill();
    let killed_at = Instant::now();
    // Another worker completes the refresh within the lock's expiry plus one load.
    loop {
        if dump(&url, &prefix).await.iter().any(|(key, _)| key.ends_with(":token")) {
            break;
        }
        // The lock's expiry (1.5 s) plus one load, and 2.5 s for 16 processes sharing
        // two cores with the rest of the suite.
        assert!(
            killed_at.elapsed() < Duration::from_millis(1500 + 2500),
            "no token 4 s after the holder was killed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let reports = reports(workers).await;
    assert_no_failed_call(&reports);
    // The killed request, then one per refresh cycle from the replacement to the last
    // worker's end (workers started late on a loaded machine end late), and one for a
    // worker whose store operation timed out on the loaded machine (it loads alone).
    let creates = fleet.ica.creates();
    let most = 2 + most_in(killed_at.elapsed());
    println!("{creates} token requests after the kill; at most {most}");
    assert!(
        creates <= most,
        "{creates} token requests: the killed one, its replacement, a refresh a cycle (at most {most})"
    );
    assert_nothing_readable(&url, &prefix, &needles()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stopped_mid_run_fails_no_call_and_sharing_resumes_when_it_is_back() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut redis = RedisServer::start();
    let fleet = fleet_of(redis.url(), "outage", Duration::from_secs(18), None).await;
    let workers: Vec<_> = (0..WORKERS).map(|_| fleet.settings.spawn(WORKER)).collect();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let before = fleet.ica.creates();
    redis.stop();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let during = fleet.ica.creates() - before;
    redis.restart();
    // Each worker asks Redis again a second after its last trouble; give them a cycle to
    // meet on one token again.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let back = fleet.ica.creates();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let after = fleet.ica.creates() - back;
    let reports = reports(workers).await;
    assert_no_failed_call(&reports);
    println!("before the outage: {before}; during (5 s): {during}; after (4 s): {after}");
    // Down: each worker on its own, at most one request per refresh each.
    assert!(
        during <= WORKERS * most_in(Duration::from_secs(5)),
        "{during} requests while Redis was down"
    );
    assert!(before <= 3, "{before} requests before the outage");
    // Back: one request per cycle for the whole fleet again.
    let most = most_in(Duration::from_secs(4));
    assert!(
        after <= most,
        "{after} requests in the 4 s after the fleet met again; at most {most}"
    );
    assert_nothing_readable(&redis.url(), &fleet.settings.prefix, &needles()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_with_a_wrong_key_gets_its_own_token_and_disturbs_nobody() {
    let _one = ONE_AT_A_TIME.lock().await;
    let run = Duration::from_secs(9);
    let fleet = fleet_of(redis_url(), "wrongkey", run, None).await;
    let mut workers: Vec<_> = (0..WORKERS - 1).map(|_| fleet.settings.spawn(WORKER)).collect();
    let wrong = Worker {
        key: key_base64(2),
        ..fleet.settings.clone()
    };
    workers.push(wrong.spawn(WORKER));
    let reports = reports(workers).await;
    assert_no_failed_call(&reports);
    // Two fleets of one identity: the right-key workers and the lone wrong-key one.
    let most = 2 * most_in(run);
    let creates = fleet.ica.creates();
    assert!(creates <= most, "{creates} token requests; at most {most} expected");
    assert_nothing_readable(&fleet.settings.redis_url, &fleet.settings.prefix, &needles()).await;
}

/// The store on its own, against the real Redis: a value altered in Redis, or of an
/// unknown format, is a miss that the next load replaces; one sealed under another
/// key (with the same naming key) is left alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_that_do_not_open_are_misses_and_foreign_ones_are_left_alone() {
    use api_tokens_runtime::shared::SharedStore;
    let url = redis_url();
    let prefix = unique_prefix("values");
    let key = |byte: u8| EncryptionKey::new(format!("k{byte}"), [byte; 32]).expect("key");
    let store = |byte: u8| {
        RedisStore::open(&url, key(byte))
            .expect("store")
            .prefix(prefix.clone())
            .naming(&key(1))
    };
    let identity = api_tokens_runtime::Identity::new("ica").with("base_url", "https://ica.example");
    let token = api_tokens_runtime::shared::encode_token(&api_tokens_runtime::Token::new("secret-jwt", None));
    let (mine, other) = (store(1), store(2));
    assert!(
        mine.write(&identity, "me", 0, &token, Duration::from_secs(60))
            .await
            .expect("write")
    );
    let read = mine.read(&identity).await.expect("read");
    assert_eq!((read.generation, read.token.as_deref()), (1, Some(&token[..])));
    // Sealed under a key `other` lacks: foreign, no token.
    let foreign = other.read(&identity).await.expect("read");
    assert!(foreign.foreign && foreign.token.is_none());
    // A fenced write over a stale generation is refused; the current one is kept.
    assert!(
        !other
            .write(&identity, "late", 0, &token, Duration::from_secs(60))
            .await
            .expect("write")
    );
    // Altered in Redis: a miss, replaced by the next write over its generation.
    let entries = dump(&url, &prefix).await;
    let (name, value) = entries.iter().find(|(k, _)| k.ends_with(":token")).expect("token key");
    let mut altered = value.clone();
    altered.pop();
    altered.push(if value.ends_with('A') { 'B' } else { 'A' });
    let client = redis::Client::open(url.as_str()).expect("client");
    let mut connection = client.get_multiplexed_async_connection().await.expect("connection");
    let _: () = redis::cmd("SET")
        .arg(name)
        .arg(&altered)
        .query_async(&mut connection)
        .await
        .expect("SET");
    let read = mine.read(&identity).await.expect("read");
    assert!(read.token.is_none() && !read.foreign && read.generation == 1);
    assert!(
        mine.write(&identity, "me", 1, &token, Duration::from_secs(60))
            .await
            .expect("write")
    );
    for junk in ["", "null", "v9.1.k1.00.AAAA", "v1.x.k1", "\u{0}\u{ff}"] {
        let _: () = redis::cmd("SET")
            .arg(name)
            .arg(junk)
            .query_async(&mut connection)
            .await
            .expect("SET");
        let read = mine
            .read(&identity)
            .await
            .expect("a value of no known format is a miss, never an error");
        assert!(read.token.is_none(), "{junk:?}");
    }
    // Locks: one owner at a time, released only by its owner.
    assert!(
        mine.try_lock(&identity, "a", Duration::from_secs(5))
            .await
            .expect("lock")
    );
    assert!(
        !mine
            .try_lock(&identity, "b", Duration::from_secs(5))
            .await
            .expect("lock")
    );
    mine.unlock(&identity, "b").await.expect("unlock");
    assert!(
        !mine
            .try_lock(&identity, "b", Duration::from_secs(5))
            .await
            .expect("lock")
    );
    mine.unlock(&identity, "a").await.expect("unlock");
    assert!(
        mine.try_lock(&identity, "b", Duration::from_secs(5))
            .await
            .expect("lock")
    );
    assert_nothing_readable(&url, &prefix, &["secret-jwt", "ica.example"]).await;
}

/// An unreachable Redis is store trouble, never a failed call: the source loads on its
/// own (here, the in-process ICA fake).
#[tokio::test]
async fn an_unreachable_redis_never_fails_a_call() {
    let ica = Arc::new(Ica::new().api_key(API_KEY));
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let store = RedisStore::open(
        &format!("redis://127.0.0.1:{port}"),
        EncryptionKey::new("k", [3; 32]).expect("key"),
    )
    .expect("a store is made without connecting");
    let fleet = SharedCache::new(store);
    let client = ica_tokens::Client::builder()
        .api_key(API_KEY)
        .respond_with(api_tokens_tests::fakes::responder(&ica))
        .build()
        .expect("client");
    let source = ica_tokens::JwtSource::new(client).shared(&fleet);
    for _ in 0..3 {
        source.token().await.expect("a token of its own");
    }
    assert_eq!(ica.creates(), 1);
}

#[test]
fn a_store_is_not_made_without_a_runtime_or_from_a_bad_url() {
    let key = EncryptionKey::new("k", [3; 32]).expect("key");
    let error = RedisStore::open("redis://127.0.0.1:1", key.clone()).expect_err("no runtime");
    assert!(error.to_string().contains("tokio runtime"), "{error}");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        for url in ["", "http://redis", "redis://user:hunter2@[::1", "not a url"] {
            let error = RedisStore::open(url, key.clone()).expect_err(url);
            assert!(!error.to_string().contains("hunter2"), "{error}");
        }
    });
}

// ------------------------------------------------------------------------------------
// Every lifecycle type, shared in one call: two "workers" in this process, each with a
// lifecycle of its own, on the in-process fakes and the real Redis (real time: a paused
// clock would race ahead of Redis's answers).

pub(crate) fn shared_cache(prefix: &str) -> SharedCache {
    let store = RedisStore::open(&redis_url(), EncryptionKey::new("k1", [5; 32]).expect("key"))
        .expect("store")
        .prefix(prefix.to_owned());
    SharedCache::new(store).grace(Duration::from_millis(800))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tigergraph_connections_share_one_token_per_identity() {
    tigergraph_connections_share_one_token_per_identity_on(Store::Redis).await;
}

/// The scenario of [`tigergraph_connections_share_one_token_per_identity`], on `store`.
pub(crate) async fn tigergraph_connections_share_one_token_per_identity_on(store: Store) {
    use api_tokens_tests::fakes::{TgServer, TigerGraph};
    let prefix = unique_prefix("tigergraph");
    let fleet = store.cache(&prefix);
    let tiger = Arc::new(TigerGraph::new(TgServer::V3_5).secret("tg-secret-5a1b"));
    let connection = |graph: &str| {
        let server = Arc::clone(&tiger);
        tigergraph_tokens::Connection::builder("http://tg.invalid:14240")
            .secret("tg-secret-5a1b")
            .graph(graph)
            .generation(tigergraph_tokens::Generation::V3_5)
            .shared(&fleet)
            .configure(move |builder| builder.respond_with(api_tokens_tests::fakes::responder(&server)))
            .build()
            .expect("connection")
    };
    let (a, b, other_graph) = (connection("social"), connection("social"), connection("ledger"));
    let first = a.token().await.expect("token");
    assert_eq!(
        b.token().await.expect("token").secret(),
        first.secret(),
        "the second worker took the first's token"
    );
    assert_eq!(tiger.tokens().len(), 1, "one token on the server for the fleet");
    assert_ne!(
        other_graph.token().await.expect("token").secret(),
        first.secret(),
        "another graph is another identity"
    );
    assert_eq!(tiger.tokens().len(), 2);
    // Deleting another token keeps the cache's; deleting "the current token" deletes
    // the cache's, and the next call gets another; so does deleting that token by name
    // on a worker that still holds it.
    let other = other_graph.token().await.expect("token");
    a.delete(Some(other.secret().clone()), false).await.expect("deleted");
    assert_eq!(
        a.token().await.expect("token").secret(),
        first.secret(),
        "a keeps its token"
    );
    let got = a.get(None).await.expect("a token asked for");
    assert_eq!(a.token().await.expect("token").secret(), got.secret());
    a.delete(None, false).await.expect("deleted");
    // Nothing is current after it: a refresh of "the current token" says so, before
    // sending anything.
    let error = a.refresh(None, None).await.expect_err("nothing current");
    assert_eq!(error.kind(), tigergraph_tokens::ErrorKind::InvalidArgument, "{error}");
    assert_ne!(a.token().await.expect("token").secret(), first.secret());
    b.delete(Some(first.secret().clone()), true)
        .await
        .expect("already gone: counts as deleted");
    assert_ne!(b.token().await.expect("token").secret(), first.secret());
    store
        .assert_nothing_readable(
            &prefix,
            &["tg-secret-5a1b", &first.secret().expose()[..16], "tg.invalid", "social"],
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docluster_sessions_share_one_login_per_address_and_a_refused_worker_leaves() {
    docluster_sessions_share_one_login_per_address_and_a_refused_worker_leaves_on(Store::Redis).await;
}

/// The scenario of [`docluster_sessions_share_one_login_per_address_and_a_refused_worker_leaves`], on `store`.
pub(crate) async fn docluster_sessions_share_one_login_per_address_and_a_refused_worker_leaves_on(store: Store) {
    use api_tokens_tests::fakes::DoCluster;
    let prefix = unique_prefix("docluster");
    let fleet = store.cache(&prefix);
    let cluster = Arc::new(DoCluster::new());
    let client = || {
        docluster_tokens::Client::builder()
            .base_url("http://cluster.invalid:3033/api")
            .respond_with(api_tokens_tests::fakes::responder(&cluster))
            .build()
            .expect("client")
    };
    let here: std::net::IpAddr = "127.0.0.1".parse().expect("ip");
    let login = |address| docluster_tokens::Session::login_shared_from(client(), "admin", "admin", &fleet, address);
    let a = login(here).await.expect("login");
    let b = login(here).await.expect("the fleet's session");
    assert_eq!(cluster.logins(), 1, "one login for the workers at one address");
    let list = |c: docluster_tokens::Client| async move { c.list_tokens().send().await.map(|a| a.into_inner()) };
    b.run(list).await.expect("listed with the fleet's token");
    // A worker at another address (the server sees it so) is another identity.
    let there: std::net::IpAddr = "10.1.2.3".parse().expect("ip");
    cluster.set_client_ip("10.1.2.3");
    let c = login(there).await.expect("its own login");
    assert_eq!(cluster.logins(), 2);
    // A worker told the wrong address takes the fleet's token, is refused for its
    // address, and logs in on its own, once; the others keep theirs.
    let d = login(here).await.expect("the fleet's token, for the wrong address");
    assert_eq!(cluster.logins(), 2);
    d.run(list).await.expect("listed after a login of its own");
    assert_eq!(cluster.logins(), 3);
    d.run(list).await.expect("its own token again, no loop");
    c.run(list).await.expect("c unaffected");
    assert_eq!(cluster.logins(), 3);
    cluster.set_client_ip("127.0.0.1");
    a.run(list).await.expect("a's token was not evicted");
    // A worker joining now at the fleet's address still finds a's token, not d's own.
    let e = login(here).await.expect("the fleet's session");
    assert_eq!(
        e.token().await.expect("token").secret(),
        a.token().await.expect("token").secret()
    );
    assert_eq!(cluster.logins(), 3, "no login for e");
    // Logging out a shared session leaves the fleet's token live for the others.
    a.logout().await.expect("logout");
    b.run(list).await.expect("b still works");
    assert_eq!(cluster.logins(), 3);
    store
        .assert_nothing_readable(&prefix, &["admin", "cluster.invalid", "10.1.2.3", "127.0.0.1"])
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_docluster_session_finds_its_own_address_toward_the_server() {
    use api_tokens_tests::fakes::DoCluster;
    let fleet = shared_cache(&unique_prefix("docluster-address"));
    let cluster = Arc::new(DoCluster::new());
    let client = docluster_tokens::Client::builder()
        .base_url("http://127.0.0.1:3033/api")
        .respond_with(api_tokens_tests::fakes::responder(&cluster))
        .build()
        .expect("client");
    docluster_tokens::Session::login_shared(client, "admin", "admin", &fleet)
        .await
        .expect("the loopback address, found without a packet");
    let unresolvable = docluster_tokens::Client::builder()
        .base_url("http://cluster.invalid:3033/api")
        .respond_with(api_tokens_tests::fakes::responder(&cluster))
        .build()
        .expect("client");
    let error = docluster_tokens::Session::login_shared(unresolvable, "admin", "admin", &fleet)
        .await
        .expect_err("no address to share by");
    assert!(error.to_string().contains("login_shared_from"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fastly_fleet_rotates_once_and_revokes_the_old_token_after_the_grace_period() {
    a_fastly_fleet_rotates_once_and_revokes_the_old_token_after_the_grace_period_on(Store::Redis).await;
}

/// The scenario of [`a_fastly_fleet_rotates_once_and_revokes_the_old_token_after_the_grace_period`], on `store`.
pub(crate) async fn a_fastly_fleet_rotates_once_and_revokes_the_old_token_after_the_grace_period_on(store: Store) {
    use api_tokens_tests::fakes::{Fastly, FastlySeed};
    let prefix = unique_prefix("fastly");
    let fleet = store.cache(&prefix);
    let fastly = Arc::new(Fastly::new("ops@example.com", "fastly-pw-1"));
    let day = Duration::from_secs(86_400);
    // Made a day ago to live 26 h: due for rotation (a day ahead of its expiry).
    let old = fastly.seed(FastlySeed {
        name: Some("deploy".to_owned()),
        scope: Some("global".to_owned()),
        services: Vec::new(),
        created_ago: day,
        expires_in: Some(Duration::from_secs(2 * 3600)),
    });
    let login = || {
        fastly_tokens::Client::builder()
            .base_url("http://fastly.invalid")
            .username_and_password("ops@example.com", "fastly-pw-1")
            .max_retries(0)
            .respond_with(api_tokens_tests::fakes::responder(&fastly))
            .build()
            .expect("client")
    };
    let a = fastly_tokens::Rotation::new(login(), old.key.as_str())
        .await
        .expect("rotation")
        .shared(&fleet, "deploy");
    let b = fastly_tokens::Rotation::new(login(), old.key.as_str())
        .await
        .expect("rotation")
        .shared(&fleet, "deploy");
    // Due: served while one rotation runs behind.
    a.token().await.expect("the current token");
    let deadline = Instant::now() + Duration::from_secs(5);
    let new = loop {
        let token = a.token().await.expect("token");
        if token.secret().expose() != old.key {
            break token;
        }
        assert!(Instant::now() < deadline, "never rotated");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // The other worker takes the new token from the store: no second rotation.
    b.token().await.expect("token");
    let deadline = Instant::now() + Duration::from_secs(5);
    while b.token().await.expect("token").secret() != new.secret() {
        assert!(Instant::now() < deadline, "b never took the fleet's token");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let live: Vec<String> = fastly.live().into_iter().map(|t| t.key).collect();
    assert_eq!(
        live.len(),
        2,
        "the old token lives through the grace period: {}",
        live.len()
    );
    assert!(live.contains(&old.key));
    // After the grace period, only the new token is live.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let live: Vec<String> = fastly.live().into_iter().map(|t| t.key).collect();
    assert_eq!(live, [new.secret().expose().to_owned()]);
    let b_client = b.client().await.expect("client");
    b_client
        .get_token_current()
        .send()
        .await
        .expect("b's client sends the fleet's token");
    store
        .assert_nothing_readable(
            &prefix,
            &[&old.key, new.secret().expose(), "ops@example.com", "fastly.invalid"],
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_insight_fleet_replaces_a_refused_token_once() {
    an_insight_fleet_replaces_a_refused_token_once_on(Store::Redis).await;
}

/// The scenario of [`an_insight_fleet_replaces_a_refused_token_once`], on `store`.
pub(crate) async fn an_insight_fleet_replaces_a_refused_token_once_on(store: Store) {
    use api_tokens_tests::fakes::Insight;
    let prefix = unique_prefix("insight");
    let fleet = store.cache(&prefix);
    let (cookie, uid) = ("PLAY_SESSION=fleet-cookie-77", "u-fleet-1");
    let insight = Arc::new(Insight::new().session(cookie, uid));
    let old = insight.seed(uid, Duration::from_secs(3600));
    let creator = || {
        insight_tokens::Client::builder()
            .session_cookie(cookie)
            .max_retries(0)
            .respond_with(api_tokens_tests::fakes::responder(&insight))
            .build()
            .expect("client")
    };
    let a = insight_tokens::Rotation::new(creator(), old.as_str())
        .expect("rotation")
        .shared(&fleet, "ci");
    let b = insight_tokens::Rotation::new(creator(), old.as_str())
        .expect("rotation")
        .shared(&fleet, "ci");
    let first = a.token().await.expect("token");
    assert!(a.report_refused(&first) && b.report_refused(&first));
    let new = a.token().await.expect("a new token");
    assert_eq!(b.token().await.expect("the fleet's new token").secret(), new.secret());
    let live: Vec<String> = insight.tokens().into_iter().map(|t| t.token).collect();
    assert_eq!(
        live.len(),
        2,
        "one new token for the fleet; the old one in its grace period"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let live: Vec<String> = insight.tokens().into_iter().map(|t| t.token).collect();
    assert_eq!(live, [new.secret().expose().to_owned()]);
    store
        .assert_nothing_readable(&prefix, &[&old[..32], &new.secret().expose()[..32], cookie, uid])
        .await;
}

/// What a hostile or careless Redis holds is never the fleet's end: a lock that never
/// ends or is not a lock is taken over; a token key of another type, too long, not
/// UTF-8, or with a generation no one can read is a miss the next write replaces.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_keys_are_taken_over_or_replaced() {
    use api_tokens_runtime::shared::SharedStore;
    let url = redis_url();
    let prefix = unique_prefix("hostile");
    let store = RedisStore::open(&url, EncryptionKey::new("k1", [6; 32]).expect("key"))
        .expect("store")
        .prefix(prefix.clone());
    let identity = api_tokens_runtime::Identity::new("ica").with("base_url", "https://ica.example");
    let token = api_tokens_runtime::shared::encode_token(&api_tokens_runtime::Token::new("secret-jwt", None));
    // Learn the key names from a first write and lock.
    assert!(
        store
            .write(&identity, "me", 0, &token, Duration::from_secs(60))
            .await
            .expect("write")
    );
    assert!(
        store
            .try_lock(&identity, "me", Duration::from_secs(5))
            .await
            .expect("lock")
    );
    let entries = dump(&url, &prefix).await;
    let name = |suffix: &str| {
        entries
            .iter()
            .find(|(k, _)| k.ends_with(suffix))
            .expect("key")
            .0
            .clone()
    };
    let (token_key, lock_key) = (name(":token"), name(":lock"));
    let client = redis::Client::open(url.as_str()).expect("client");
    let redis = client.get_multiplexed_async_connection().await.expect("connection");
    let run = |args: Vec<Vec<u8>>| {
        let mut command = redis::cmd(std::str::from_utf8(&args[0]).expect("command"));
        for arg in &args[1..] {
            command.arg(arg.as_slice());
        }
        let mut redis = redis.clone();
        async move { command.query_async::<redis::Value>(&mut redis).await.expect("command") }
    };
    let args = |parts: &[&[u8]]| parts.iter().map(|p| p.to_vec()).collect::<Vec<_>>();
    // Locks: held by its owner, extended only by it.
    assert!(
        !store
            .try_lock(&identity, "other", Duration::from_secs(5))
            .await
            .expect("lock")
    );
    assert!(
        store
            .extend_lock(&identity, "me", Duration::from_secs(5))
            .await
            .expect("extend")
    );
    assert!(
        !store
            .extend_lock(&identity, "other", Duration::from_secs(5))
            .await
            .expect("extend")
    );
    // A lock without expiry, one far longer than any, and a key that is not a lock.
    for forged in [
        args(&[b"SET", lock_key.as_bytes(), b"forged"]),
        args(&[b"SET", lock_key.as_bytes(), b"forged", b"PX", b"86400000"]),
        args(&[b"HSET", lock_key.as_bytes(), b"f", b"v"]),
    ] {
        run(args(&[b"DEL", lock_key.as_bytes()])).await;
        run(forged).await;
        assert!(
            store
                .try_lock(&identity, "me", Duration::from_secs(5))
                .await
                .expect("lock"),
            "taken over"
        );
    }
    // Token keys: another type, too long, not UTF-8, an unreadable generation.
    let long = vec![b'v'; 70 * 1024];
    for hostile in [
        args(&[b"HSET", token_key.as_bytes(), b"f", b"v"]),
        args(&[b"SET", token_key.as_bytes(), &long]),
        args(&[b"SET", token_key.as_bytes(), b"v1.3.k1.\xff\xfe.\x00"]),
        args(&[b"SET", token_key.as_bytes(), b"v1.99999999999999999999999.k1.00.AAAA"]),
    ] {
        run(args(&[b"DEL", token_key.as_bytes()])).await;
        run(hostile).await;
        let read = store
            .read(&identity)
            .await
            .expect("a hostile value is a miss, never an error");
        assert!(read.token.is_none() && !read.foreign);
        assert!(
            store
                .write(&identity, "me", read.generation, &token, Duration::from_secs(60))
                .await
                .expect("write"),
            "replaced over the generation read ({})",
            read.generation
        );
        assert!(store.read(&identity).await.expect("read").token.is_some());
    }
    assert!(
        store
            .read(&identity)
            .await
            .expect("read")
            .ttl
            .is_some_and(|ttl| ttl <= Duration::from_secs(60))
    );
}

fn fastly_login(fastly: &Arc<api_tokens_tests::fakes::Fastly>) -> fastly_tokens::Client {
    fastly_tokens::Client::builder()
        .base_url("http://fastly.invalid")
        .username_and_password("ops@example.com", "fastly-pw-1")
        .max_retries(0)
        .respond_with(api_tokens_tests::fakes::responder(fastly))
        .build()
        .expect("client")
}

fn fastly_token(fastly: &api_tokens_tests::fakes::Fastly, name: &str, days: u64) -> String {
    fastly
        .seed(api_tokens_tests::fakes::FastlySeed {
            name: Some(name.to_owned()),
            scope: Some("global".to_owned()),
            services: Vec::new(),
            created_ago: Duration::from_secs(86_400),
            expires_in: Some(Duration::from_secs(days * 86_400)),
        })
        .key
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fastly_rotations_share_by_line_pick_up_a_manual_rotation_and_restart_from_the_fleet() {
    fastly_rotations_share_by_line_pick_up_a_manual_rotation_and_restart_from_the_fleet_on(Store::Redis).await;
}

/// The scenario of [`fastly_rotations_share_by_line_pick_up_a_manual_rotation_and_restart_from_the_fleet`], on `store`.
pub(crate) async fn fastly_rotations_share_by_line_pick_up_a_manual_rotation_and_restart_from_the_fleet_on(
    store: Store,
) {
    let prefix = unique_prefix("fastly-lines");
    let fleet = store
        .cache(&prefix)
        .grace(Duration::from_secs(3))
        .recheck_every(Duration::from_secs(1));
    let fastly = Arc::new(api_tokens_tests::fakes::Fastly::new("ops@example.com", "fastly-pw-1"));
    // Two lines of tokens under one login, a month from their rotation.
    let (deploy, purge) = (fastly_token(&fastly, "deploy", 30), fastly_token(&fastly, "purge", 30));
    let start = |token: &str, line: &'static str| {
        fastly_tokens::Rotation::new_shared(fastly_login(&fastly), token.to_owned(), line, &fleet)
    };
    let a = start(&deploy, "deploy").await.expect("rotation");
    let b = start(&deploy, "deploy").await.expect("rotation");
    let p = start(&purge, "purge").await.expect("rotation");
    // A rotation asked for on one worker reaches the other at its next recheck, well
    // inside the grace period, though its token is not due.
    let rotated = a.rotate().await.expect("rotated");
    let deadline = Instant::now() + Duration::from_millis(2500);
    loop {
        if b.token().await.expect("token").secret() == rotated.secret() {
            break;
        }
        assert!(Instant::now() < deadline, "b never picked up the rotation");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    b.client()
        .await
        .expect("client")
        .get_token_current()
        .send()
        .await
        .expect("b uses the new token");
    // The other line is untouched.
    assert_eq!(p.token().await.expect("token").secret().expose(), purge);
    // b rotates too, from the fleet's token (a's), not from the one it started with.
    let again = b.rotate().await.expect("rotated on b");
    // After the grace period the replaced tokens are revoked; a worker started with the
    // configured (now revoked) token starts from the fleet's.
    tokio::time::sleep(Duration::from_millis(3200)).await;
    let live: Vec<String> = fastly.live().into_iter().map(|t| t.key).collect();
    assert!(
        !live.contains(&deploy) && !live.contains(&rotated.secret().expose().to_owned()),
        "revoked after the grace period"
    );
    let late = start(&deploy, "deploy").await.expect("started from the fleet's token");
    assert_eq!(late.token().await.expect("token").secret(), again.secret());
    assert_eq!(fastly.live().len(), 2, "the deploy line's one token and purge");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docluster_calls_refused_together_for_the_address_all_retry_and_a_wrong_password_is_not_of_the_fleet() {
    docluster_calls_refused_together_for_the_address_all_retry_and_a_wrong_password_is_not_of_the_fleet_on(
        Store::Redis,
    )
    .await;
}

/// The scenario of [`docluster_calls_refused_together_for_the_address_all_retry_and_a_wrong_password_is_not_of_the_fleet`], on `store`.
pub(crate) async fn docluster_calls_refused_together_for_the_address_all_retry_and_a_wrong_password_is_not_of_the_fleet_on(
    store: Store,
) {
    use api_tokens_tests::fakes::DoCluster;
    let prefix = unique_prefix("docluster-together");
    let fleet = store.cache(&prefix);
    let cluster = Arc::new(DoCluster::new());
    let client = || {
        docluster_tokens::Client::builder()
            .base_url("http://cluster.invalid:3033/api")
            .respond_with(api_tokens_tests::fakes::responder(&cluster))
            .build()
            .expect("client")
    };
    let here: std::net::IpAddr = "127.0.0.1".parse().expect("ip");
    let _a = docluster_tokens::Session::login_shared_from(client(), "admin", "admin", &fleet, here)
        .await
        .expect("login");
    cluster.set_client_ip("10.1.2.3");
    let d = Arc::new(
        docluster_tokens::Session::login_shared_from(client(), "admin", "admin", &fleet, here)
            .await
            .expect("the fleet's token, for the wrong address"),
    );
    let calls: Vec<_> = (0..4)
        .map(|_| {
            let d = Arc::clone(&d);
            tokio::spawn(async move { d.run(|c| async move { c.list_tokens().send().await.map(drop) }).await })
        })
        .collect();
    for call in calls {
        call.await
            .expect("join")
            .expect("every call refused for the address retried once");
    }
    assert_eq!(cluster.logins(), 2, "one login of its own");
    // A worker with a wrong password is another identity: it logs in itself, and fails.
    let wrong = docluster_tokens::Session::login_shared_from(client(), "admin", "not-the-password", &fleet, here).await;
    assert!(wrong.is_err(), "a wrong password never takes the fleet's session");
}

/// An ACL user and password go in the URL; a wrong password is store trouble (the
/// lifecycle loads on its own), and no error or event shows the password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acl_user_in_the_url_works_and_a_wrong_password_is_only_store_trouble() {
    use api_tokens_runtime::shared::SharedStore;
    let redis = RedisServer::start_with(&[
        "--user",
        "fleet",
        "on",
        ">fleet-pw-9c1e",
        "~*",
        "&*",
        "+@all",
        "--user",
        "default",
        "off",
    ]);
    let key = || EncryptionKey::new("k1", [8; 32]).expect("key");
    let identity = api_tokens_runtime::Identity::new("ica").with("base_url", "https://ica.example");
    let token = api_tokens_runtime::shared::encode_token(&api_tokens_runtime::Token::new("secret-jwt", None));
    let good =
        RedisStore::open(&format!("redis://fleet:fleet-pw-9c1e@127.0.0.1:{}", redis.port), key()).expect("store");
    assert!(
        good.write(&identity, "me", 0, &token, Duration::from_secs(60))
            .await
            .expect("written as the ACL user")
    );
    assert!(good.read(&identity).await.expect("read").token.is_some());
    let wrong =
        RedisStore::open(&format!("redis://fleet:not-the-pw-77@127.0.0.1:{}", redis.port), key()).expect("store");
    let error = wrong.read(&identity).await.expect_err("refused");
    assert!(!error.to_string().contains("not-the-pw-77"), "{error}");
    let anonymous = RedisStore::open(&format!("redis://127.0.0.1:{}", redis.port), key()).expect("store");
    assert!(anonymous.read(&identity).await.is_err(), "the default user is off");
    // A lifecycle on the refused store still gets its token.
    let ica = Arc::new(Ica::new().api_key(API_KEY));
    let client = ica_tokens::Client::builder()
        .api_key(API_KEY)
        .respond_with(api_tokens_tests::fakes::responder(&ica))
        .build()
        .expect("client");
    let source = ica_tokens::JwtSource::new(client).shared(&SharedCache::new(wrong));
    source.token().await.expect("a token of its own");
}

/// A rotation asked for on a worker that did not rotate last starts from the fleet's
/// token: the token it replaces is the fleet's, deleted after the grace period, and
/// no token is left live and forgotten (Insight.io tokens never expire).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_insight_rotation_asked_for_on_any_worker_replaces_the_fleet_s_token() {
    an_insight_rotation_asked_for_on_any_worker_replaces_the_fleet_s_token_on(Store::Redis).await;
}

/// The scenario of [`an_insight_rotation_asked_for_on_any_worker_replaces_the_fleet_s_token`], on `store`.
pub(crate) async fn an_insight_rotation_asked_for_on_any_worker_replaces_the_fleet_s_token_on(store: Store) {
    use api_tokens_tests::fakes::Insight;
    let prefix = unique_prefix("insight-manual");
    let fleet = store
        .cache(&prefix)
        .grace(Duration::from_secs(3))
        .recheck_every(Duration::from_secs(1));
    let (cookie, uid) = ("PLAY_SESSION=fleet-cookie-88", "u-fleet-2");
    let insight = Arc::new(Insight::new().session(cookie, uid));
    let t0 = insight.seed(uid, Duration::from_secs(3600));
    let creator = || {
        insight_tokens::Client::builder()
            .session_cookie(cookie)
            .max_retries(0)
            .respond_with(api_tokens_tests::fakes::responder(&insight))
            .build()
            .expect("client")
    };
    let start = || insight_tokens::Rotation::new_shared(creator(), t0.clone(), "ci", &fleet);
    let (a, b) = (start().await.expect("rotation"), start().await.expect("rotation"));
    let t1 = a.rotate().await.expect("rotated on a");
    let t2 = b.rotate().await.expect("rotated on b, from the fleet's token");
    // a picks t2 up at a recheck, inside the grace period.
    let deadline = Instant::now() + Duration::from_millis(2500);
    while a.token().await.expect("token").secret() != t2.secret() {
        assert!(Instant::now() < deadline, "a never picked up t2");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let live: Vec<String> = insight.tokens().into_iter().map(|t| t.token).collect();
    assert_eq!(
        live,
        [t2.secret().expose().to_owned()],
        "t0 and t1 deleted after the grace period"
    );
    assert_ne!(t1.secret(), t2.secret());
    assert_eq!(a.token().await.expect("token").secret(), t2.secret());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tigergraph_4x_drops_a_replaced_jwt_only_after_the_grace_period() {
    tigergraph_4x_drops_a_replaced_jwt_only_after_the_grace_period_on(Store::Redis).await;
}

/// The scenario of [`tigergraph_4x_drops_a_replaced_jwt_only_after_the_grace_period`],
/// on `store`.
pub(crate) async fn tigergraph_4x_drops_a_replaced_jwt_only_after_the_grace_period_on(store: Store) {
    use api_tokens_tests::fakes::{TgServer, TigerGraph};
    let prefix = unique_prefix("tigergraph-4x");
    let fleet = store.cache(&prefix);
    let tiger = Arc::new(TigerGraph::new(TgServer::V4).secret("tg-secret-4x-77"));
    let server = Arc::clone(&tiger);
    let connection = tigergraph_tokens::Connection::builder("http://tg.invalid:14240")
        .secret("tg-secret-4x-77")
        .generation(tigergraph_tokens::Generation::V4)
        .shared(&fleet)
        .configure(move |builder| builder.respond_with(api_tokens_tests::fakes::responder(&server)))
        .build()
        .expect("connection");
    let old = connection.token().await.expect("token");
    // 4.x JWTs made in the same second are one token: let a second pass.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let new = connection.refresh(None, None).await.expect("a new JWT in its place");
    assert_ne!(new.secret(), old.secret());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        tiger.jwt_valid(old.secret().expose()),
        "still valid inside the grace period (800 ms)"
    );
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(
        !tiger.jwt_valid(old.secret().expose()),
        "dropped after the grace period"
    );
    assert!(tiger.jwt_valid(new.secret().expose()));
}
