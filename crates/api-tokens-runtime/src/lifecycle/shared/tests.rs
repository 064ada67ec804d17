//! The fleet protocol against an in-memory store that keeps what Redis keeps (a value
//! with its generation, a lock with an owner and an end, a failure marker with an end),
//! and that can be made to fail, hang, or hold a lock for a process that died.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::*;
use crate::error::ErrorKind;
use crate::lifecycle::MemoryStore;
use crate::lifecycle::cache::CachedTokenSource;
use crate::lifecycle::memory_store::Slot;

/// The one identity these tests' processes share.
fn identity() -> Identity {
    Identity::new("test").with("principal", "p")
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
    fn process(&self, store: &Arc<MemoryStore>) -> CachedTokenSource<crate::BoxedLoader> {
        self.process_with(store, |cache| cache)
    }

    /// One process's lifecycle on `store`, its shared cache set up by `setup`.
    fn process_with(
        &self,
        store: &Arc<MemoryStore>,
        setup: impl FnOnce(SharedCache) -> SharedCache,
    ) -> CachedTokenSource<crate::BoxedLoader> {
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
        let cache = setup(
            SharedCache::from_arc(store.clone() as Arc<dyn SharedStore>)
                .operation_timeout(Duration::from_millis(100))
                .lock_ttl(Duration::from_secs(10)),
        );
        CachedTokenSource::new("test", policy, load).shared(&cache, identity())
    }
}

fn fleet(vendor: &Vendor, store: &Arc<MemoryStore>, n: usize) -> Vec<CachedTokenSource<crate::BoxedLoader>> {
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
        Arc::new(MemoryStore::new()),
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
    assert_eq!((store.writes(), store.tokens()), (1, 1));
    tokio::time::advance(Duration::from_secs(3601)).await;
    assert_eq!(store.tokens(), 0, "kept only as long as the token lives");
}

#[tokio::test(start_paused = true)]
async fn processes_waiting_on_each_other_send_one_request() {
    let (store, vendor) = (
        Arc::new(MemoryStore::new()),
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
        Arc::new(MemoryStore::new()),
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
        Arc::new(MemoryStore::new()),
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
            Arc::new(MemoryStore::new()),
            Vendor::new(Duration::ZERO, Duration::from_secs(3600)),
        );
        let fleet = fleet(&vendor, &store, 3);
        store.set_down(!hang);
        store.set_hanging(hang);
        for result in all_tokens(&fleet).await {
            result.expect("a token of its own");
        }
        assert_eq!(vendor.requests(), 3, "one request per process (hang: {hang})");
        // Back: after `retry_after`, the fleet shares again.
        store.set_down(false);
        store.set_hanging(false);
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
        Arc::new(MemoryStore::new()),
        Vendor::new(Duration::ZERO, Duration::from_secs(3600)),
    );
    store.hold_lock(&identity(), "a process that died", Duration::from_secs(10));
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
    let store = Arc::new(MemoryStore::new());
    let slow = Vendor::new(Duration::from_secs(20), Duration::from_secs(3600));
    let slow_process = Arc::new(slow.process(&store));
    let late = tokio::spawn({
        let p = Arc::clone(&slow_process);
        async move { p.token().await }
    });
    // The slow holder's lock is lost (taken over) and a newer token written meanwhile.
    tokio::time::sleep(Duration::from_secs(11)).await;
    let newer = Token::new("newer", Some(SystemTime::now() + Duration::from_secs(3600)));
    {
        let mut state = store.slot(&identity());
        state.lock = Some(("another holder".to_owned(), Instant::now() + Duration::from_secs(10)));
        state.generation = 1;
        state.token = Some((encode_token(&newer), Instant::now() + Duration::from_secs(3600)));
    }
    let old = late.await.expect("task").expect("the slow process keeps its own token");
    assert_ne!(old.secret(), newer.secret());
    let stored = store.slot(&identity()).token.clone().expect("stored").0;
    assert_eq!(
        decode_token(&stored).map(|t| t.secret().clone()),
        Some(newer.secret().clone())
    );
    assert_eq!(
        store.slot(&identity()).generation,
        1,
        "the slow holder's write was fenced out"
    );
}

#[tokio::test(start_paused = true)]
async fn the_lock_is_kept_while_a_slow_load_runs() {
    let store = Arc::new(MemoryStore::new());
    // 20 s, twice the lock's time to live: the holder extends it meanwhile.
    let vendor = Vendor::new(Duration::from_secs(20), Duration::from_secs(3600));
    let first = Arc::new(vendor.process(&store));
    let holder = tokio::spawn({
        let p = Arc::clone(&first);
        async move { p.token().await }
    });
    tokio::time::sleep(Duration::from_secs(11)).await;
    let second = vendor.process(&store).token().await.expect("the holder's token");
    let first = holder.await.expect("task").expect("token");
    assert_eq!(first.secret(), second.secret());
    assert_eq!(vendor.requests(), 1, "the waiter never loaded while the holder lived");
}

#[tokio::test(start_paused = true)]
async fn a_lock_that_would_not_end_for_hours_is_taken_over() {
    let (store, vendor) = (
        Arc::new(MemoryStore::new()),
        Vendor::new(Duration::ZERO, Duration::from_secs(3600)),
    );
    store.hold_lock(&identity(), "forged", Duration::from_secs(24 * 3600));
    let started = Instant::now();
    vendor
        .process(&store)
        .token()
        .await
        .expect("the forged lock taken over");
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    assert_eq!(vendor.requests(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_lifecycle_that_must_not_load_alone_fails_instead_while_the_store_is_down() {
    let (store, vendor) = (
        Arc::new(MemoryStore::new()),
        Vendor::new(Duration::ZERO, Duration::from_secs(3600)),
    );
    store.set_down(true);
    let strict = vendor.process_with(&store, |cache| cache.load_alone_on_trouble(false));
    let error = strict.token().await.expect_err("no rotation alone");
    assert_eq!(error.kind(), ErrorKind::Transport);
    assert_eq!(vendor.requests(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_hit_rechecks_the_store_and_takes_a_token_another_process_replaced() {
    let (store, vendor) = (
        Arc::new(MemoryStore::new()),
        Vendor::new(Duration::ZERO, Duration::from_secs(3600)),
    );
    let (a, b) = (vendor.process(&store), vendor.process(&store));
    let first = a.token().await.expect("token");
    assert_eq!(b.token().await.expect("token"), first);
    // Another process replaces it (a rotation asked for, stored and published).
    let replaced = Token::new("replaced", Some(SystemTime::now() + Duration::from_secs(3600)));
    a.store(replaced.clone());
    tokio::task::yield_now().await;
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(store.writes(), 2, "the stored token was published");
    assert_eq!(b.token().await.expect("token"), first, "b has not rechecked yet");
    // Past the recheck interval (a third of the 60-second grace period).
    tokio::time::advance(Duration::from_secs(21)).await;
    b.token().await.expect("token");
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(b.token().await.expect("token").secret(), replaced.secret());
    assert_eq!(vendor.requests(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_refresh_that_keeps_the_secret_and_an_unknown_expiry_is_one_request_per_cycle() {
    let store = Arc::new(MemoryStore::new());
    let requests = Arc::new(AtomicUsize::new(0));
    let process = || {
        let requests = Arc::clone(&requests);
        let load: crate::BoxedLoader = Box::new(move |_| {
            let requests = Arc::clone(&requests);
            Box::pin(async move {
                requests.fetch_add(1, Ordering::SeqCst);
                Ok(Token::with_expiry("same", crate::Expiry::Unknown))
            })
        });
        let cache = SharedCache::from_arc(store.clone() as Arc<dyn SharedStore>);
        let policy = RefreshPolicy::new(Duration::from_secs(60))
            .jitter(Duration::ZERO)
            .unknown_expiry_refresh(Duration::from_secs(10));
        CachedTokenSource::new("test", policy, load).shared(&cache, Identity::new("test"))
    };
    let fleet: Vec<_> = (0..4).map(|_| process()).collect();
    for _ in 0..4 {
        for p in &fleet {
            p.token().await.expect("token");
        }
        tokio::time::advance(Duration::from_secs(11)).await;
        for p in &fleet {
            p.token().await.expect("token");
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let sent = requests.load(Ordering::SeqCst);
    assert!(sent <= 5, "{sent} requests for 4 processes over 4 cycles");
}

#[tokio::test(start_paused = true)]
async fn a_failure_marker_past_its_end_is_void_and_the_fleet_backoff_doubles() {
    let (store, vendor) = (
        Arc::new(MemoryStore::new()),
        Vendor::new(Duration::ZERO, Duration::from_secs(3600)),
    );
    // A marker replayed long after its end, kept by the store: void.
    let stale =
        crate::lifecycle::store::Failure::new(ErrorKind::Vendor, "old", 1, SystemTime::now() - Duration::from_secs(1));
    store.slot(&identity()).failure = Some((encode_failure(&stale), Instant::now() + Duration::from_secs(3600)));
    vendor.process(&store).token().await.expect("the stale marker is void");
    assert_eq!(vendor.requests(), 1);
    // A failure: its marker counts one and backs the fleet off for 1 s.
    vendor.fail.store(true, Ordering::SeqCst);
    store.slot(&identity()).token = None;
    vendor.process(&store).token().await.expect_err("down");
    let marker = |store: &MemoryStore| {
        decode_failure(&store.slot(&identity()).failure.clone().expect("marker").0).expect("marker")
    };
    let first = marker(&store);
    assert_eq!(first.failures, 1);
    let lasts = first.until.duration_since(SystemTime::now()).expect("ahead");
    assert!(
        lasts > Duration::from_millis(500) && lasts <= Duration::from_secs(1),
        "{lasts:?}"
    );
    // Its backoff over (the marker is kept longer, to carry the count), the next load
    // fails too: the marker counts two and backs off twice as long.
    let over =
        crate::lifecycle::store::Failure::new(ErrorKind::Vendor, "m", 1, SystemTime::now() - Duration::from_millis(1));
    store.slot(&identity()).failure = Some((encode_failure(&over), Instant::now() + Duration::from_secs(60)));
    vendor.process(&store).token().await.expect_err("down");
    let second = marker(&store);
    assert_eq!(second.failures, 2);
    assert_eq!(vendor.requests(), 3);
    let lasts = second.until.duration_since(SystemTime::now()).expect("ahead");
    assert!(
        lasts > Duration::from_millis(1500) && lasts <= Duration::from_secs(2),
        "{lasts:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_load_backs_the_fleet_off() {
    let (store, vendor) = (
        Arc::new(MemoryStore::new()),
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
        Arc::new(MemoryStore::new()),
        Vendor::new(Duration::ZERO, Duration::from_secs(3600)),
    );
    vendor.process(&store).token().await.expect("token");
    store.set_foreign(true);
    vendor.process(&store).token().await.expect("a token of its own");
    assert_eq!(vendor.requests(), 2);
    assert_eq!(store.writes(), 1, "the foreign process wrote nothing");
}

#[tokio::test(start_paused = true)]
async fn an_expired_or_undecodable_stored_token_is_replaced() {
    let (store, vendor) = (
        Arc::new(MemoryStore::new()),
        Vendor::new(Duration::ZERO, Duration::from_secs(3600)),
    );
    for value in [
        encode_token(&Token::new("expired", Some(SystemTime::now() - Duration::from_secs(1)))),
        b"not a token".to_vec(),
    ] {
        {
            let mut state = store.slot(&identity());
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
    let store = Arc::new(MemoryStore::new());
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

#[test]
fn a_shared_cache_says_its_settings_and_debugs_without_its_store_s_contents() {
    let cache = SharedCache::new(MemoryStore::new());
    assert_eq!(cache.grace_period(), Duration::from_secs(60));
    assert_eq!(
        cache.recheck_interval(),
        Duration::from_secs(20),
        "a third of the grace period"
    );
    let cache = cache.grace(Duration::from_secs(3));
    assert_eq!(cache.recheck_interval(), Duration::from_secs(1));
    let cache = cache.recheck_every(Duration::from_millis(2500));
    assert_eq!(cache.recheck_interval(), Duration::from_millis(2500));
    assert_eq!(
        cache.clone().recheck_every(Duration::ZERO).recheck_interval(),
        Duration::from_secs(1),
        "never more often than every second"
    );
    let shown = format!("{cache:?}");
    assert!(
        shown.starts_with("SharedCache { store: MemoryStore,") && shown.contains("grace: 3s"),
        "{shown}"
    );
    let load = SharedLoad::new(
        cache,
        Identity::new("v").with("user", "alice"),
        "v",
        RefreshPolicy::new(Duration::ZERO),
    );
    assert_eq!(load.recheck_interval(), Duration::from_millis(2500));
    let shown = format!("{load:?}");
    assert!(
        shown.contains("Identity { vendor: \"v\", parts: [\"user\"] }") && !shown.contains("alice"),
        "{shown}"
    );
    assert_eq!(format!("{}", StoreError::new("no answer")), "no answer");
}

#[tokio::test(start_paused = true)]
async fn hits_read_the_store_no_more_often_than_the_recheck_interval() {
    let (store, vendor) = (
        Arc::new(MemoryStore::new()),
        Vendor::new(Duration::ZERO, Duration::from_secs(3600)),
    );
    let p = vendor.process(&store);
    p.token().await.expect("token");
    let reads = store.reads();
    for _ in 0..5 {
        tokio::time::advance(Duration::from_secs(3)).await;
        p.token().await.expect("a hit");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(store.reads(), reads, "15 s of hits: no recheck before 20 s");
    tokio::time::advance(Duration::from_secs(6)).await;
    p.token().await.expect("a hit");
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(store.reads(), reads + 1, "one recheck at 21 s");
}

#[tokio::test(start_paused = true)]
async fn the_current_token_of_an_identity_is_read_without_loading() {
    let (store, vendor) = (
        Arc::new(MemoryStore::new()),
        Vendor::new(Duration::ZERO, Duration::from_secs(3600)),
    );
    let cache = SharedCache::from_arc(store.clone() as Arc<dyn SharedStore>);
    let identity = Identity::new("test").with("principal", "p");
    assert_eq!(cache.current(&identity).await, None);
    let token = vendor.process(&store).token().await.expect("token");
    assert_eq!(
        cache.current(&identity).await.map(|t| t.secret().clone()),
        Some(token.secret().clone())
    );
    store.set_down(true);
    assert_eq!(
        cache.current(&identity).await,
        None,
        "none when the store cannot be read"
    );
}

#[tokio::test(start_paused = true)]
async fn a_stored_token_is_never_kept_longer_than_the_store_keeps_it() {
    let store = Arc::new(MemoryStore::new());
    let vendor = Vendor::new(Duration::ZERO, Duration::from_secs(3600));
    // A writer whose clock ran an hour ahead, and a token whose expiry nobody knows:
    // each is read with the store's time to live as its expiry.
    for (token, ttl) in [
        (
            Token::new("ahead", Some(SystemTime::now() + Duration::from_secs(7200))),
            Duration::from_secs(3600),
        ),
        (
            Token::with_expiry("unknown", crate::Expiry::Unknown),
            Duration::from_secs(300),
        ),
    ] {
        {
            let mut state = store.slot(&identity());
            state.generation += 1;
            state.token = Some((encode_token(&token), Instant::now() + ttl));
        }
        let read = vendor.process(&store).token().await.expect("token");
        assert_eq!(read.secret(), token.secret());
        let left = read
            .expires_at()
            .expect("an expiry")
            .duration_since(SystemTime::now())
            .expect("ahead");
        assert!(left <= ttl && left > ttl - Duration::from_secs(1), "{left:?}");
    }
    assert_eq!(vendor.requests(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_token_that_arrives_expired_is_not_shared_and_backs_the_fleet_off() {
    let store = Arc::new(MemoryStore::new());
    let vendor = Vendor::new(Duration::ZERO, Duration::ZERO);
    let p = vendor.process(&store);
    let error = p.token().await.expect_err("expired on arrival");
    assert_eq!(error.kind(), ErrorKind::TokenExpired);
    assert!(store.slot(&identity()).token.is_none(), "nothing shared");
    let marker = decode_failure(&store.slot(&identity()).failure.clone().expect("a marker").0).expect("marker");
    assert_eq!(marker.kind, ErrorKind::TokenExpired);
    assert!(store.slot(&identity()).lock.is_none(), "the lock is released");
}

#[tokio::test(start_paused = true)]
async fn an_expired_token_stored_from_outside_is_not_published() {
    let (store, vendor) = (
        Arc::new(MemoryStore::new()),
        Vendor::new(Duration::ZERO, Duration::from_secs(3600)),
    );
    let p = vendor.process(&store);
    p.store(Token::new("stale", Some(SystemTime::now() - Duration::from_secs(1))));
    p.store(Token::new("forever", None));
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(store.writes(), 1, "only the valid token was published");
    let kept = store.slot(&identity()).token.clone().expect("stored").1;
    let days = kept.saturating_duration_since(Instant::now()).as_secs() / 86_400;
    assert!(
        (29..=30).contains(&days),
        "a token that never expires is kept 30 days: {days}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_write_releases_the_lock_and_store_trouble_is_not_asked_again_before_retry_after() {
    let (store, vendor) = (
        Arc::new(MemoryStore::new()),
        Vendor::new(Duration::ZERO, Duration::from_secs(3600)),
    );
    store.set_failing_writes(true);
    let p = vendor.process(&store);
    p.token()
        .await
        .expect("the holder keeps its token though the write failed");
    assert!(store.slot(&identity()).lock.is_none(), "the lock is released");
    // Trouble: the next loads within `retry_after` (5 s) do not read the store.
    store.set_failing_writes(false);
    let reads = store.reads();
    tokio::time::advance(Duration::from_secs(2)).await;
    p.invalidate();
    p.token().await.expect("a token of its own");
    assert_eq!(store.reads(), reads, "not asked inside retry_after");
    tokio::time::advance(Duration::from_secs(4)).await;
    p.invalidate();
    p.token().await.expect("token");
    assert!(store.reads() > reads, "asked again after retry_after");
}

#[tokio::test(start_paused = true)]
async fn a_token_loaded_alone_is_replaced_by_the_same_secret_expiring_later() {
    let store = Arc::new(MemoryStore::new());
    let requests = Arc::new(AtomicUsize::new(0));
    let load: crate::BoxedLoader = Box::new({
        let requests = Arc::clone(&requests);
        move |_| {
            let requests = Arc::clone(&requests);
            Box::pin(async move {
                requests.fetch_add(1, Ordering::SeqCst);
                Ok(Token::new("same", Some(SystemTime::now() + Duration::from_secs(600))))
            })
        }
    });
    let cache = SharedCache::from_arc(store.clone() as Arc<dyn SharedStore>).retry_after(Duration::from_secs(1));
    let p = CachedTokenSource::new("test", RefreshPolicy::new(Duration::from_secs(60)), load)
        .shared(&cache, Identity::new("test"));
    // Loaded alone (the store down): this token is not the store's.
    store.set_down(true);
    p.token().await.expect("token");
    store.set_down(false);
    // Another process extended the same token meanwhile.
    let extended = Token::new("same", Some(SystemTime::now() + Duration::from_secs(900)));
    {
        let mut state = store.slot(&Identity::new("test"));
        state.generation = 4;
        state.token = Some((encode_token(&extended), Instant::now() + Duration::from_secs(900)));
    }
    tokio::time::advance(Duration::from_secs(2)).await;
    p.invalidate();
    let taken = p.token().await.expect("token");
    assert!(taken.expires_at() > Some(SystemTime::now() + Duration::from_secs(800)));
    assert_eq!(
        requests.load(Ordering::SeqCst),
        1,
        "the extension was taken, no request"
    );
}

#[tokio::test(start_paused = true)]
async fn a_process_never_takes_back_the_token_it_replaced() {
    let (store, vendor) = (
        Arc::new(MemoryStore::new()),
        Vendor::new(Duration::ZERO, Duration::from_secs(3600)),
    );
    let (a, b) = (vendor.process(&store), vendor.process(&store));
    let first = a.token().await.expect("token");
    // b replaces it, but its write fails: b keeps its own, the store the old one.
    b.token().await.expect("token");
    b.invalidate();
    store.set_failing_writes(true);
    let own = b.token().await.expect("b's own token");
    assert_ne!(own.secret(), first.secret());
    store.set_failing_writes(false);
    // Past the trouble window and the recheck interval: the store still holds the
    // token b replaced, which b never takes back.
    tokio::time::advance(Duration::from_secs(21)).await;
    b.token().await.expect("a hit");
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(b.token().await.expect("token").secret(), own.secret());
}

#[tokio::test(start_paused = true)]
async fn a_token_the_store_lost_is_shared_again_by_a_recheck() {
    let (store, vendor) = (
        Arc::new(MemoryStore::new()),
        Vendor::new(Duration::ZERO, Duration::from_secs(3600)),
    );
    let p = vendor.process(&store);
    let token = p.token().await.expect("token");
    // The store restarts empty.
    *store.slot(&identity()) = Slot::default();
    tokio::time::advance(Duration::from_secs(21)).await;
    p.token().await.expect("a hit");
    tokio::time::sleep(Duration::from_millis(1)).await;
    let stored = store.slot(&identity()).token.clone().expect("written back").0;
    assert_eq!(
        decode_token(&stored).map(|t| t.secret().clone()),
        Some(token.secret().clone())
    );
    // A worker starting now takes it.
    let q = vendor.process(&store);
    assert_eq!(q.token().await.expect("token").secret(), token.secret());
    assert_eq!(vendor.requests(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_rotation_asked_for_starts_from_the_fleet_s_token() {
    let (store, vendor) = (
        Arc::new(MemoryStore::new()),
        Vendor::new(Duration::ZERO, Duration::from_secs(3600)),
    );
    let (a, b) = (vendor.process(&store), vendor.process(&store));
    a.token().await.expect("token");
    b.token().await.expect("token");
    // a's token is replaced in the store by another process.
    let replaced = Token::new("replaced", Some(SystemTime::now() + Duration::from_secs(3600)));
    b.store(replaced.clone());
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(
        a.fleet_token().await.map(|t| t.secret().clone()),
        Some(replaced.secret().clone())
    );
    assert_eq!(vendor.process(&Arc::new(MemoryStore::new())).fleet_token().await, None);
}

#[test]
fn a_token_kept_more_than_a_second_longer_was_written_again() {
    // (The time a read takes moves a time to live read twice: within a second, it is
    // the same write.)
    let now = Instant::now();
    let later = |by: Duration| Some(now + by);
    assert!(!kept_longer(later(Duration::from_secs(1)), Some(now)));
    assert!(kept_longer(later(Duration::from_millis(1001)), Some(now)));
    assert!(!kept_longer(Some(now), later(Duration::from_secs(5))), "kept shorter");
    assert!(!kept_longer(None, Some(now)) && !kept_longer(later(Duration::from_secs(9)), None));
}

#[tokio::test(start_paused = true)]
async fn a_refused_token_is_never_taken_back_for_how_long_the_store_keeps_it() {
    // A time to live pushed back (by anyone with the store's password, no key needed), or
    // a read answered late, makes the store seem to keep the token longer: on a refusal
    // that must not read as the token written again.
    let (store, vendor) = (
        Arc::new(MemoryStore::new()),
        Vendor::new(Duration::ZERO, Duration::from_secs(3600)),
    );
    let p = vendor.process(&store);
    let mut refused = p.token().await.expect("token");
    for round in 1..=3 {
        {
            let mut slot = store.slot(&identity());
            let (value, end) = slot.token.clone().expect("stored");
            slot.token = Some((value, end + Duration::from_secs(2)));
        }
        assert!(p.report_refused(&refused));
        let next = p.token().await.expect("token");
        assert_ne!(
            next.secret(),
            refused.secret(),
            "round {round}: the refused token came back"
        );
        assert_eq!(vendor.requests(), round + 1);
        refused = next;
    }
}

#[tokio::test(start_paused = true)]
async fn an_unknown_expiry_refreshed_never_is_kept_at_most_thirty_days() {
    let store = Arc::new(MemoryStore::new());
    let load: crate::BoxedLoader =
        Box::new(|_| Box::pin(async { Ok(Token::with_expiry("forever", crate::Expiry::Unknown)) }));
    let policy = RefreshPolicy::new(Duration::from_secs(60)).unknown_expiry_refresh(Duration::MAX);
    let cache = SharedCache::from_arc(store.clone() as Arc<dyn SharedStore>);
    let p = CachedTokenSource::new("test", policy, load).shared(&cache, identity());
    p.token().await.expect("token");
    assert_eq!(store.writes(), 1, "shared, not refused by the store");
    let (_, end) = store.slot(&identity()).token.clone().expect("stored");
    assert!(end <= Instant::now() + Duration::from_secs(30 * 24 * 3600));
}
