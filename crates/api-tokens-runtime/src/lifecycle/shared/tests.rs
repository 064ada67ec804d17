//! The fleet protocol against an in-memory store that keeps what Redis keeps (a value
//! with its generation, a lock with an owner and an end, a failure marker with an end),
//! and that can be made to fail, hang, or hold a lock for a process that died.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::*;
use crate::error::ErrorKind;
use crate::lifecycle::cache::CachedTokenSource;
use crate::lifecycle::store::{StoreFuture, Stored};

#[derive(Default)]
struct State {
    generation: u64,
    token: Option<(Vec<u8>, Instant)>,
    lock: Option<(String, Instant)>,
    failure: Option<(Vec<u8>, Instant)>,
}

#[derive(Default)]
struct Memory {
    state: Mutex<State>,
    down: AtomicBool,
    hang: AtomicBool,
    foreign: AtomicBool,
    writes: AtomicUsize,
}

impl fmt::Debug for Memory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Memory")
    }
}

impl Memory {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::new("connection refused"));
        }
        Ok(())
    }

    async fn gate(&self) -> Result<(), StoreError> {
        if self.hang.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        self.check()
    }

    fn lock_for(&self, owner: &str, ttl: Duration) {
        self.state().lock = Some((owner.to_owned(), Instant::now() + ttl));
    }
}

fn live<T: Clone>(slot: &Option<(T, Instant)>) -> Option<T> {
    slot.as_ref()
        .filter(|(_, end)| Instant::now() < *end)
        .map(|(v, _)| v.clone())
}

impl SharedStore for Memory {
    fn read<'a>(&'a self, _: &'a Identity) -> StoreFuture<'a, Stored> {
        Box::pin(async move {
            self.gate().await?;
            let state = self.state();
            let mut stored = Stored::empty();
            stored.generation = state.generation;
            stored.token = live(&state.token);
            stored.foreign = self.foreign.load(Ordering::SeqCst) && stored.token.is_some();
            if stored.foreign {
                stored.token = None;
            }
            Ok(stored)
        })
    }

    fn read_failure<'a>(&'a self, _: &'a Identity) -> StoreFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            self.gate().await?;
            Ok(live(&self.state().failure))
        })
    }

    fn try_lock<'a>(&'a self, _: &'a Identity, owner: &'a str, ttl: Duration) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            self.gate().await?;
            let mut state = self.state();
            if live(&state.lock).is_some() {
                return Ok(false);
            }
            state.lock = Some((owner.to_owned(), Instant::now() + ttl));
            Ok(true)
        })
    }

    fn write<'a>(
        &'a self,
        _: &'a Identity,
        owner: &'a str,
        replaces: u64,
        token: &'a [u8],
        ttl: Duration,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            self.gate().await?;
            let mut state = self.state();
            if live(&state.lock).as_deref() == Some(owner) {
                state.lock = None;
            }
            if state.generation != replaces {
                return Ok(false);
            }
            self.writes.fetch_add(1, Ordering::SeqCst);
            state.generation += 1;
            state.token = Some((token.to_vec(), Instant::now() + ttl));
            state.failure = None;
            Ok(true)
        })
    }

    fn fail<'a>(&'a self, _: &'a Identity, owner: &'a str, failure: &'a [u8], ttl: Duration) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.gate().await?;
            let mut state = self.state();
            if live(&state.lock).as_deref() == Some(owner) {
                state.lock = None;
            }
            state.failure = Some((failure.to_vec(), Instant::now() + ttl));
            Ok(())
        })
    }

    fn unlock<'a>(&'a self, _: &'a Identity, owner: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.gate().await?;
            let mut state = self.state();
            if live(&state.lock).as_deref() == Some(owner) {
                state.lock = None;
            }
            Ok(())
        })
    }
}

/// A vendor that counts its token requests; each takes `delay` and lives `life`.
#[derive(Clone)]
struct Vendor {
    requests: Arc<AtomicUsize>,
    delay: Duration,
    life: Duration,
    fail: Arc<AtomicBool>,
}

impl Vendor {
    fn new(delay: Duration, life: Duration) -> Self {
        Vendor {
            requests: Arc::default(),
            delay,
            life,
            fail: Arc::default(),
        }
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// One process's lifecycle on `store`.
    fn process(&self, store: &Arc<Memory>) -> CachedTokenSource<crate::BoxedLoader> {
        let vendor = self.clone();
        let load: crate::BoxedLoader = Box::new(move |_| {
            let vendor = vendor.clone();
            Box::pin(async move {
                let n = vendor.requests.fetch_add(1, Ordering::SeqCst) + 1;
                tokio::time::sleep(vendor.delay).await;
                if vendor.fail.load(Ordering::SeqCst) {
                    return Err(Error::new(ErrorKind::Vendor, "test", "the vendor is down"));
                }
                Ok(Token::new(format!("token-{n}"), Some(SystemTime::now() + vendor.life))
                    .with_issued_at(SystemTime::now()))
            })
        });
        let policy = RefreshPolicy::new(Duration::from_secs(60)).jitter(Duration::ZERO);
        let cache = SharedCache::from_arc(store.clone() as Arc<dyn SharedStore>)
            .operation_timeout(Duration::from_millis(100))
            .lock_ttl(Duration::from_secs(10));
        CachedTokenSource::new("test", policy, load).shared(&cache, Identity::new("test").with("principal", "p"))
    }
}

fn fleet(vendor: &Vendor, store: &Arc<Memory>, n: usize) -> Vec<CachedTokenSource<crate::BoxedLoader>> {
    (0..n).map(|_| vendor.process(store)).collect()
}

async fn all_tokens(fleet: &[CachedTokenSource<crate::BoxedLoader>]) -> Vec<Result<Token, Error>> {
    let calls = fleet.iter().map(|p| p.token());
    futures_join(calls).await
}

async fn futures_join<F: Future<Output = Result<Token, Error>>>(
    calls: impl Iterator<Item = F>,
) -> Vec<Result<Token, Error>> {
    let mut out = Vec::new();
    let handles: Vec<_> = calls.map(Box::pin).collect();
    for handle in handles {
        out.push(handle.await);
    }
    out
}

#[tokio::test(start_paused = true)]
async fn a_fleet_loads_one_token_and_shares_it() {
    let (store, vendor) = (
        Arc::new(Memory::default()),
        Vendor::new(Duration::from_millis(300), Duration::from_secs(3600)),
    );
    let fleet = fleet(&vendor, &store, 8);
    let tasks: Vec<_> = fleet.iter().map(|p| p.token()).collect();
    let mut tokens = Vec::new();
    for t in tasks {
        tokens.push(t.await.expect("token"));
    }
    assert_eq!(vendor.requests(), 1);
    assert!(tokens.iter().all(|t| t == &tokens[0]));
    assert_eq!(store.writes.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn processes_waiting_on_each_other_send_one_request() {
    let (store, vendor) = (
        Arc::new(Memory::default()),
        Vendor::new(Duration::from_millis(300), Duration::from_secs(3600)),
    );
    let fleet: Vec<_> = fleet(&vendor, &store, 8).into_iter().map(Arc::new).collect();
    let handles: Vec<_> = fleet
        .iter()
        .map(|p| {
            let p = Arc::clone(p);
            tokio::spawn(async move { p.token().await })
        })
        .collect();
    for handle in handles {
        handle.await.expect("task").expect("token");
    }
    assert_eq!(vendor.requests(), 1, "the others waited for the lock holder's token");
}

#[tokio::test(start_paused = true)]
async fn each_refresh_cycle_is_one_request_for_the_fleet() {
    let (store, vendor) = (
        Arc::new(Memory::default()),
        Vendor::new(Duration::from_millis(50), Duration::from_secs(600)),
    );
    let fleet = fleet(&vendor, &store, 4);
    for _ in all_tokens(&fleet).await {}
    for cycle in 1..=3 {
        // Past the refresh point (60 s before expiry), before expiry.
        tokio::time::advance(Duration::from_secs(560)).await;
        for result in all_tokens(&fleet).await {
            result.expect("a valid token while refreshing ahead");
        }
        // The refreshes behind the callers land.
        tokio::time::sleep(Duration::from_secs(1)).await;
        for result in all_tokens(&fleet).await {
            result.expect("token");
        }
        assert_eq!(vendor.requests(), 1 + cycle, "cycle {cycle}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_refused_token_is_replaced_once_for_the_fleet() {
    let (store, vendor) = (
        Arc::new(Memory::default()),
        Vendor::new(Duration::ZERO, Duration::from_secs(3600)),
    );
    let fleet = fleet(&vendor, &store, 3);
    let first = all_tokens(&fleet).await.remove(0).expect("token");
    for p in &fleet {
        assert!(p.report_refused(&first));
    }
    let tokens = all_tokens(&fleet).await;
    assert_eq!(vendor.requests(), 2);
    for token in tokens {
        assert_ne!(token.expect("token"), first);
    }
}

#[tokio::test(start_paused = true)]
async fn a_store_that_fails_or_hangs_never_fails_a_call() {
    for hang in [false, true] {
        let (store, vendor) = (
            Arc::new(Memory::default()),
            Vendor::new(Duration::ZERO, Duration::from_secs(3600)),
        );
        let fleet = fleet(&vendor, &store, 3);
        store.down.store(!hang, Ordering::SeqCst);
        store.hang.store(hang, Ordering::SeqCst);
        for result in all_tokens(&fleet).await {
            result.expect("a token of its own");
        }
        assert_eq!(vendor.requests(), 3, "one request per process (hang: {hang})");
        // Back: after `retry_after`, the fleet shares again.
        store.down.store(false, Ordering::SeqCst);
        store.hang.store(false, Ordering::SeqCst);
        tokio::time::advance(Duration::from_secs(6)).await;
        for p in &fleet {
            p.invalidate();
        }
        for result in all_tokens(&fleet).await {
            result.expect("token");
        }
        assert_eq!(vendor.requests(), 4, "one request for the fleet again (hang: {hang})");
    }
}

#[tokio::test(start_paused = true)]
async fn a_lock_whose_holder_died_ends_and_another_process_loads() {
    let (store, vendor) = (
        Arc::new(Memory::default()),
        Vendor::new(Duration::ZERO, Duration::from_secs(3600)),
    );
    store.lock_for("a process that died", Duration::from_secs(10));
    let process = vendor.process(&store);
    let started = Instant::now();
    process.token().await.expect("token once the dead holder's lock ended");
    assert_eq!(vendor.requests(), 1);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(10) && waited < Duration::from_secs(11),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_slow_former_holder_never_overwrites_a_newer_token() {
    let store = Arc::new(Memory::default());
    let slow = Vendor::new(Duration::from_secs(20), Duration::from_secs(3600));
    let quick = Vendor {
        delay: Duration::ZERO,
        ..slow.clone()
    };
    let slow_process = Arc::new(slow.process(&store));
    let late = tokio::spawn({
        let p = Arc::clone(&slow_process);
        async move { p.token().await }
    });
    // The slow process's lock (10 s) ends while it still loads; another takes over.
    tokio::time::sleep(Duration::from_secs(11)).await;
    let newer = quick.process(&store).token().await.expect("token");
    let old = late.await.expect("task").expect("the slow process keeps its own token");
    assert_ne!(old, newer);
    let stored = store.state().token.clone().expect("stored").0;
    assert_eq!(decode_token(&stored), Some(newer), "the newer token stays shared");
    assert_eq!(store.state().generation, 1);
}

#[tokio::test(start_paused = true)]
async fn a_failed_load_backs_the_fleet_off() {
    let (store, vendor) = (
        Arc::new(Memory::default()),
        Vendor::new(Duration::ZERO, Duration::from_secs(3600)),
    );
    vendor.fail.store(true, Ordering::SeqCst);
    let fleet = fleet(&vendor, &store, 4);
    let results = all_tokens(&fleet).await;
    assert_eq!(vendor.requests(), 1, "the others got the failure without a request");
    for result in results {
        let error = result.expect_err("the vendor is down");
        assert_eq!(error.kind(), ErrorKind::Vendor);
    }
    // The fleet's backoff (1 s) ends; the vendor is back.
    vendor.fail.store(false, Ordering::SeqCst);
    tokio::time::advance(Duration::from_secs(2)).await;
    for result in all_tokens(&fleet).await {
        result.expect("token");
    }
    assert_eq!(vendor.requests(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_token_under_a_foreign_key_is_left_alone() {
    let (store, vendor) = (
        Arc::new(Memory::default()),
        Vendor::new(Duration::ZERO, Duration::from_secs(3600)),
    );
    vendor.process(&store).token().await.expect("token");
    store.foreign.store(true, Ordering::SeqCst);
    vendor.process(&store).token().await.expect("a token of its own");
    assert_eq!(vendor.requests(), 2);
    assert_eq!(
        store.writes.load(Ordering::SeqCst),
        1,
        "the foreign process wrote nothing"
    );
}

#[tokio::test(start_paused = true)]
async fn an_expired_or_undecodable_stored_token_is_replaced() {
    let (store, vendor) = (
        Arc::new(Memory::default()),
        Vendor::new(Duration::ZERO, Duration::from_secs(3600)),
    );
    for value in [
        encode_token(&Token::new("expired", Some(SystemTime::now() - Duration::from_secs(1)))),
        b"not a token".to_vec(),
    ] {
        {
            let mut state = store.state();
            state.generation += 1;
            state.token = Some((value, Instant::now() + Duration::from_secs(3600)));
        }
        let token = vendor.process(&store).token().await.expect("token");
        assert!(token.secret().expose().starts_with("token-"));
    }
    assert_eq!(vendor.requests(), 2);
}

#[test]
fn owner_names_differ() {
    assert_ne!(owner_name(), owner_name());
}

#[tokio::test(start_paused = true)]
async fn a_refresh_that_extends_the_same_token_is_taken_by_the_fleet() {
    let store = Arc::new(Memory::default());
    let requests = Arc::new(AtomicUsize::new(0));
    let process = || {
        let requests = Arc::clone(&requests);
        let load: crate::BoxedLoader = Box::new(move |_| {
            let requests = Arc::clone(&requests);
            Box::pin(async move {
                let n = requests.fetch_add(1, Ordering::SeqCst) as u64;
                // The same secret each time, living longer with each refresh.
                Ok(Token::new(
                    "same",
                    Some(SystemTime::now() + Duration::from_secs(600 + n)),
                ))
            })
        });
        let cache = SharedCache::from_arc(store.clone() as Arc<dyn SharedStore>);
        CachedTokenSource::new(
            "test",
            RefreshPolicy::new(Duration::from_secs(60)).jitter(Duration::ZERO),
            load,
        )
        .shared(&cache, Identity::new("test"))
    };
    let (a, b) = (process(), process());
    a.token().await.expect("token");
    b.token().await.expect("token");
    assert_eq!(requests.load(Ordering::SeqCst), 1);
    a.invalidate();
    a.token().await.expect("the same token, extended");
    // b's copy is older than the store's: b takes the extension, no request.
    b.invalidate();
    b.token().await.expect("token");
    assert_eq!(requests.load(Ordering::SeqCst), 2);
}
