//! The mechanism under failure, concurrency and cancellation, on tokio's paused clock.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use super::*;
use crate::lifecycle::token::Expiry;

const MS: Duration = Duration::from_millis(1);
const SEC: Duration = Duration::from_secs(1);

/// What the fake loader answers.
#[derive(Clone, Copy, PartialEq)]
enum Answer {
    /// A token living this long.
    Lives(Duration),
    /// A token that expired this long before it arrived.
    Expired(Duration),
    /// An error.
    Fails,
    /// Nothing, ever.
    Hangs,
    /// A panic.
    Panics,
}

/// A loader that takes `delay`, counts its loads, and answers what `answer` holds.
struct Fake {
    loads: Arc<AtomicUsize>,
    answer: Arc<Mutex<Answer>>,
    /// The token each load was given.
    given: Arc<Mutex<Vec<Option<String>>>>,
}

impl Fake {
    fn new(answer: Answer) -> Self {
        Fake {
            loads: Arc::default(),
            answer: Arc::new(Mutex::new(answer)),
            given: Arc::default(),
        }
    }

    fn set(&self, answer: Answer) {
        *self.answer.lock().expect("lock") = answer;
    }

    fn loads(&self) -> usize {
        self.loads.load(Ordering::SeqCst)
    }

    fn source(
        &self,
        policy: RefreshPolicy,
        delay: Duration,
    ) -> Arc<CachedTokenSource<impl Fn(Option<Token>) -> TokenFuture<'static> + Send + Sync + 'static>> {
        let (loads, answer, given) = (self.loads.clone(), self.answer.clone(), self.given.clone());
        Arc::new(CachedTokenSource::new("Test", policy, move |current: Option<Token>| {
            let n = loads.fetch_add(1, Ordering::SeqCst);
            given
                .lock()
                .expect("lock")
                .push(current.map(|t| t.secret().expose().to_owned()));
            let answer = *answer.lock().expect("lock");
            Box::pin(async move {
                tokio::time::sleep(delay).await;
                let now = SystemTime::now();
                match answer {
                    Answer::Lives(life) => Ok(Token::new(format!("token-{n}"), Some(now + life))),
                    Answer::Expired(ago) => Ok(Token::new(format!("token-{n}"), Some(now - ago))),
                    Answer::Fails => Err(Error::new(ErrorKind::Vendor, "Test", "503 Service Unavailable")),
                    Answer::Hangs => std::future::pending().await,
                    Answer::Panics => panic!("loader bug"),
                }
            }) as TokenFuture<'static>
        }))
    }
}

fn policy() -> RefreshPolicy {
    RefreshPolicy::new(Duration::from_secs(60))
        .jitter(Duration::ZERO)
        .backoff(Duration::from_secs(10), Duration::from_secs(40))
        .load_timeout(Duration::from_secs(5))
}

/// Spawns `n` callers of `token()`, each started `stagger` after the one before.
async fn callers<S: TokenSource + 'static>(source: &Arc<S>, n: usize, stagger: Duration) -> Vec<Outcome> {
    let mut set = tokio::task::JoinSet::new();
    for i in 0..n {
        let source = source.clone();
        set.spawn(async move {
            tokio::time::sleep(stagger * i as u32).await;
            (i, source.token().await)
        });
    }
    let mut outcomes: Vec<(usize, Outcome)> = set.join_all().await;
    outcomes.sort_by_key(|(i, _)| *i);
    outcomes.into_iter().map(|(_, o)| o).collect()
}

#[tokio::test(start_paused = true)]
async fn callers_that_queue_behind_a_load_share_it() {
    let fake = Fake::new(Answer::Lives(Duration::from_secs(600)));
    let source = fake.source(policy(), 50 * MS);
    // A caller every 40 µs: all 1,000 arrive while the one load runs, and wait on it.
    let started = Instant::now();
    let outcomes = callers(&source, 1000, Duration::from_micros(40)).await;
    for outcome in outcomes {
        assert_eq!(outcome.expect("token").secret().expose(), "token-0");
    }
    assert_eq!(fake.loads(), 1);
    assert_eq!(started.elapsed(), 50 * MS, "the callers waited for the load");
}

#[tokio::test(start_paused = true)]
async fn a_failing_load_is_shared_and_backed_off() {
    // Issue 16, input 1: 10 concurrent callers, every load fails after 200 ms.
    let fake = Fake::new(Answer::Fails);
    let source = fake.source(policy(), 200 * MS);
    let started = Instant::now();
    for outcome in callers(&source, 10, Duration::ZERO).await {
        assert_eq!(outcome.expect_err("fails").kind(), ErrorKind::Vendor);
    }
    assert_eq!(fake.loads(), 1);
    assert_eq!(started.elapsed(), 200 * MS, "nobody waited for a second load");
    // Inside the backoff: the error at once, no load.
    for _ in 0..5 {
        let at = Instant::now();
        assert_eq!(source.token().await.expect_err("backing off").kind(), ErrorKind::Vendor);
        assert_eq!(at.elapsed(), Duration::ZERO);
    }
    assert_eq!(fake.loads(), 1);
    // After it, one more load; the next wait is twice as long.
    tokio::time::advance(10 * SEC).await;
    assert!(source.token().await.is_err());
    assert_eq!(fake.loads(), 2);
    tokio::time::advance(15 * SEC).await;
    assert!(source.token().await.is_err());
    assert_eq!(fake.loads(), 2, "the second backoff is 20 s");
    tokio::time::advance(5 * SEC).await;
    fake.set(Answer::Lives(Duration::from_secs(600)));
    assert_eq!(source.token().await.expect("recovered").secret().expose(), "token-2");
}

#[tokio::test(start_paused = true)]
async fn a_hanging_load_times_out_once_for_every_caller() {
    let fake = Fake::new(Answer::Hangs);
    let source = fake.source(policy(), Duration::ZERO);
    let started = Instant::now();
    for outcome in callers(&source, 1000, MS).await {
        assert_eq!(outcome.expect_err("hangs").kind(), ErrorKind::Timeout);
    }
    assert_eq!(fake.loads(), 1);
    assert_eq!(started.elapsed(), 5 * SEC, "each waited for the one load timeout");
}

#[tokio::test(start_paused = true)]
async fn a_caller_that_gives_up_does_not_stop_the_load() {
    // Issue 16, input 4: A gives up after 100 ms, B asks 10 ms after A; the load takes 300 ms.
    let fake = Fake::new(Answer::Lives(Duration::from_secs(600)));
    let source = fake.source(policy(), 300 * MS);
    let a = {
        let source = source.clone();
        tokio::spawn(async move { tokio::time::timeout(100 * MS, source.token()).await })
    };
    tokio::time::sleep(10 * MS).await;
    let b = source.token().await.expect("B's token");
    assert!(a.await.expect("no panic").is_err(), "A gave up");
    assert_eq!(b.secret().expose(), "token-0");
    assert_eq!(fake.loads(), 1);
    // A load nobody waits for any more still lands in the cache.
    let fake = Fake::new(Answer::Lives(Duration::from_secs(600)));
    let source = fake.source(policy(), 300 * MS);
    assert!(tokio::time::timeout(100 * MS, source.token()).await.is_err());
    tokio::time::sleep(SEC).await;
    assert_eq!(source.cached().expect("landed").secret().expose(), "token-0");
    source.token().await.expect("cached");
    assert_eq!(fake.loads(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_token_expired_on_arrival_is_never_handed_out() {
    // Issue 16, input 2: every load answers a token that expired 30 s ago, or just now.
    for ago in [30 * SEC, Duration::ZERO] {
        let fake = Fake::new(Answer::Expired(ago));
        let source = fake.source(policy(), Duration::ZERO);
        for _ in 0..5 {
            let error = source.token().await.expect_err("expired on arrival");
            assert_eq!(error.kind(), ErrorKind::TokenExpired, "{error}");
        }
        assert_eq!(fake.loads(), 1, "backoff, not a load per call");
        assert!(source.cached().is_none());
    }
}

#[tokio::test(start_paused = true)]
async fn a_due_token_is_served_at_once_while_one_refresh_runs_behind() {
    let fake = Fake::new(Answer::Lives(Duration::from_secs(600)));
    let source = fake.source(policy(), 2 * SEC);
    source.token().await.expect("first");
    tokio::time::advance(Duration::from_secs(541)).await;
    // Due: the old token at once, for every caller, and one refresh behind them.
    for _ in 0..100 {
        let at = Instant::now();
        assert_eq!(source.token().await.expect("old").secret().expose(), "token-0");
        assert_eq!(at.elapsed(), Duration::ZERO);
    }
    assert_eq!(fake.loads(), 2);
    tokio::time::sleep(3 * SEC).await;
    assert_eq!(source.token().await.expect("new").secret().expose(), "token-1");
    assert_eq!(fake.loads(), 2);
    // The refresh was given the token it replaces.
    assert_eq!(fake.given.lock().expect("lock")[1].as_deref(), Some("token-0"));
}

#[tokio::test(start_paused = true)]
async fn a_failed_refresh_keeps_serving_the_valid_token_and_backs_off() {
    let fake = Fake::new(Answer::Lives(Duration::from_secs(600)));
    let source = fake.source(policy(), Duration::ZERO);
    source.token().await.expect("first");
    fake.set(Answer::Fails);
    tokio::time::advance(Duration::from_secs(550)).await;
    for _ in 0..20 {
        assert_eq!(source.token().await.expect("old").secret().expose(), "token-0");
        tokio::task::yield_now().await;
    }
    assert_eq!(fake.loads(), 2, "one refresh, then the backoff");
    tokio::time::advance(5 * SEC).await;
    source.token().await.expect("old");
    tokio::task::yield_now().await;
    assert_eq!(fake.loads(), 2, "within the backoff");
    tokio::time::advance(6 * SEC).await;
    source.token().await.expect("old");
    tokio::task::yield_now().await;
    assert_eq!(fake.loads(), 3, "after it");
    // Past the expiry, with the backoff over, the failure is the caller's, typed.
    tokio::time::advance(Duration::from_secs(60)).await;
    assert_eq!(source.token().await.expect_err("expired").kind(), ErrorKind::Vendor);
    fake.set(Answer::Lives(Duration::from_secs(600)));
    tokio::time::advance(Duration::from_secs(60)).await;
    assert!(source.token().await.is_ok(), "recovers when the loader does");
}

#[tokio::test(start_paused = true)]
async fn refusal_reports_compare_and_invalidate() {
    let fake = Fake::new(Answer::Lives(Duration::from_secs(600)));
    let source = fake.source(policy(), 10 * MS);
    let first = source.token().await.expect("first");
    // 50 reports of the same token: one load; the loader starts from nothing.
    let reports = (0..50).filter(|_| source.report_refused(&first)).count();
    assert_eq!(reports, 1);
    let second = source.token().await.expect("second");
    assert_ne!(second.secret(), first.secret());
    assert!(!source.report_refused(&first), "an older token's report does nothing");
    assert_eq!(source.token().await.expect("cached").secret(), second.secret());
    assert_eq!(fake.loads(), 2);
    assert_eq!(fake.given.lock().expect("lock")[1], None);
    // Through the trait object too.
    let dynamic: Arc<dyn TokenSource> = source.clone();
    assert!(dynamic.report_refused(&second));
    assert_eq!(dynamic.token().await.expect("third").secret().expose(), "token-2");
}

#[tokio::test(start_paused = true)]
async fn a_panicking_loader_fails_its_waiters_and_the_next_load_runs() {
    let fake = Fake::new(Answer::Panics);
    let source = fake.source(policy().backoff(SEC, SEC), 10 * MS);
    for outcome in callers(&source, 5, Duration::ZERO).await {
        assert_eq!(outcome.expect_err("panicked").kind(), ErrorKind::Transport);
    }
    assert_eq!(fake.loads(), 1);
    fake.set(Answer::Lives(Duration::from_secs(600)));
    tokio::time::advance(2 * SEC).await;
    assert!(source.token().await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn a_token_stored_during_a_load_is_not_overwritten() {
    let fake = Fake::new(Answer::Lives(Duration::from_secs(600)));
    let source = fake.source(policy(), SEC);
    let waiting = {
        let source = source.clone();
        tokio::spawn(async move { source.token().await })
    };
    tokio::time::sleep(100 * MS).await;
    source.store(Token::new(
        "from-login",
        Some(SystemTime::now() + Duration::from_secs(600)),
    ));
    let loaded = waiting.await.expect("no panic").expect("token");
    assert_eq!(loaded.secret().expose(), "token-0");
    assert_eq!(source.token().await.expect("cached").secret().expose(), "from-login");
}

#[tokio::test(start_paused = true)]
async fn store_ends_a_backoff_and_invalidate_forces_a_load() {
    let fake = Fake::new(Answer::Fails);
    let source = fake.source(policy(), Duration::ZERO);
    assert!(source.token().await.is_err());
    source.store(Token::new("given", None));
    assert_eq!(source.token().await.expect("stored").secret().expose(), "given");
    fake.set(Answer::Lives(Duration::from_secs(600)));
    tokio::time::advance(Duration::from_secs(10 * 365 * 86_400)).await;
    assert_eq!(source.token().await.expect("never expires").secret().expose(), "given");
    source.invalidate();
    assert_eq!(source.token().await.expect("loaded").secret().expose(), "token-1");
    assert_eq!(fake.loads(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_short_lived_token_is_not_loaded_per_call() {
    // Tokens living 2 s with a 60 s lead: refreshed at half their life, never per call.
    let fake = Fake::new(Answer::Lives(2 * SEC));
    let source = fake.source(policy(), Duration::ZERO);
    for _ in 0..100 {
        source.token().await.expect("token");
        tokio::time::advance(10 * MS).await;
    }
    assert!(fake.loads() <= 2, "{} loads in 1 s", fake.loads());
}

#[tokio::test(start_paused = true)]
async fn an_unknown_expiry_is_replaced_after_the_policy_says() {
    let loads = Arc::new(AtomicUsize::new(0));
    let counter = loads.clone();
    let source = CachedTokenSource::new(
        "Test",
        policy().unknown_expiry_refresh(Duration::from_secs(300)),
        move |_| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move { Ok(Token::with_expiry(format!("t{n}"), Expiry::Unknown)) }
        },
    );
    source.token().await.expect("first");
    tokio::time::advance(Duration::from_secs(299)).await;
    source.token().await.expect("hit");
    assert_eq!(loads.load(Ordering::SeqCst), 1);
    tokio::time::advance(Duration::from_secs(2)).await;
    source.token().await.expect("served while refreshed");
    tokio::task::yield_now().await;
    assert_eq!(loads.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn an_expiry_beyond_any_clock_is_no_panic() {
    let far = SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(1 << 62));
    let source = CachedTokenSource::new("Test", policy(), move |_| async move { Ok(Token::new("t", far)) });
    let token = source.token().await.expect("token");
    assert_eq!(token.expires_at_rfc3339(), None);
    tokio::time::advance(Duration::from_secs(86_400)).await;
    source.token().await.expect("still cached");
}

#[test]
fn without_a_runtime_a_load_is_an_error_not_a_panic() {
    let done = AtomicBool::new(false);
    let source = CachedTokenSource::new("Test", policy(), |_| async { Ok(Token::new("t", None)) });
    // A minimal executor: poll once with a no-op waker.
    let mut future = std::pin::pin!(source.token());
    let waker = std::task::Waker::noop();
    let mut context = std::task::Context::from_waker(waker);
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(Err(error)) => {
            assert_eq!(error.kind(), ErrorKind::InvalidArgument);
            done.store(true, Ordering::SeqCst);
        }
        other => panic!("expected an error, got {:?}", other.map(|r| r.map(|_| ()))),
    }
    assert!(done.load(Ordering::SeqCst));
}

#[tokio::test(start_paused = true)]
async fn the_backoff_ends_exactly_when_it_says() {
    let fake = Fake::new(Answer::Lives(Duration::from_secs(600)));
    let source = fake.source(policy(), Duration::ZERO);
    source.token().await.expect("first");
    fake.set(Answer::Fails);
    tokio::time::advance(Duration::from_secs(550)).await;
    source.token().await.expect("old");
    tokio::task::yield_now().await;
    assert_eq!(fake.loads(), 2);
    // 10 s of backoff: at 9.999 s nothing, at 10 s exactly the next refresh.
    tokio::time::advance(10 * SEC - MS).await;
    source.token().await.expect("old");
    tokio::task::yield_now().await;
    assert_eq!(fake.loads(), 2);
    tokio::time::advance(MS).await;
    source.token().await.expect("old");
    tokio::task::yield_now().await;
    assert_eq!(fake.loads(), 3);
}

#[tokio::test(start_paused = true)]
async fn debug_shows_the_state_never_the_secret() {
    let fake = Fake::new(Answer::Lives(Duration::from_secs(600)));
    let source = fake.source(policy(), Duration::ZERO);
    source.token().await.expect("token");
    let text = format!("{source:?}");
    assert!(text.starts_with("CachedTokenSource"), "{text}");
    assert!(text.contains("failures: 0") && text.contains("cached_expiry"), "{text}");
    assert!(!text.contains("token-0"), "{text}");
}

#[tokio::test(start_paused = true)]
async fn a_token_is_not_served_at_the_instant_it_expires() {
    let source = CachedTokenSource::new("Test", policy(), |_| async {
        Err(Error::new(ErrorKind::Vendor, "Test", "down"))
    });
    source.store(Token::new("t", Some(SystemTime::now() + 10 * SEC)));
    tokio::time::advance(10 * SEC - MS).await;
    assert!(source.cached().is_some(), "valid a millisecond before");
    tokio::time::advance(MS).await;
    assert!(source.cached().is_none(), "expired at its expiry");
    assert!(source.token().await.is_err());
}

#[test]
fn the_policy_is_the_one_given() {
    let given = policy().backoff(Duration::from_secs(3), Duration::from_secs(7));
    let source = CachedTokenSource::new("Test", given, |_| async { Ok(Token::new("t", None)) });
    assert_eq!(*source.policy(), given);
}

#[tokio::test(start_paused = true)]
async fn storing_the_same_token_again_is_no_event() {
    let source = CachedTokenSource::new("Test", policy(), |_| async { Ok(Token::new("t", None)) });
    let mut events = source.subscribe();
    source.store(Token::new("a", Some(SystemTime::now() + 60 * SEC)));
    assert!(events.has_changed().expect("open"));
    events.borrow_and_update();
    // The same secret with a later expiry (a sliding window pushed back): no news.
    source.store(Token::new("a", Some(SystemTime::now() + 120 * SEC)));
    assert!(!events.has_changed().expect("open"));
    source.store(Token::new("b", None));
    assert!(events.has_changed().expect("open"));
    let event = events.borrow_and_update().clone().expect("an event");
    assert_eq!(
        (event.token.secret().expose(), event.change),
        ("b", crate::TokenChange::Stored)
    );
}

#[tokio::test(start_paused = true)]
async fn a_load_that_outlives_its_timeout_still_lands_its_token() {
    let fake = Fake::new(Answer::Lives(Duration::from_secs(600)));
    // Loads take 8 s; the load timeout is 5 s.
    let source = fake.source(policy(), 8 * SEC);
    let error = source.token().await.expect_err("timed out");
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert!(source.cached().is_none());
    tokio::time::sleep(4 * SEC).await;
    assert_eq!(source.cached().expect("landed late").secret().expose(), "token-0");
    assert_eq!(source.token().await.expect("cached").secret().expose(), "token-0");
    assert_eq!(fake.loads(), 1);
    // A late load never overwrites a newer token.
    let fake = Fake::new(Answer::Lives(Duration::from_secs(600)));
    let source = fake.source(policy(), 8 * SEC);
    assert!(source.token().await.is_err());
    source.store(Token::new("newer", None));
    tokio::time::sleep(4 * SEC).await;
    assert_eq!(source.cached().expect("kept").secret().expose(), "newer");
}

#[tokio::test(start_paused = true)]
async fn a_late_load_never_overwrites_a_later_loads_token() {
    // The first load takes 8 s (its waiters time out at 5 s); after a 1 s backoff the
    // second takes 1 s and lands first; the first lands after it and is not kept.
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let source = CachedTokenSource::new("Test", policy().backoff(SEC, SEC), move |_| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            tokio::time::sleep(if n == 0 { 8 * SEC } else { SEC }).await;
            Ok(Token::new(
                format!("load-{n}"),
                Some(SystemTime::now() + Duration::from_secs(600)),
            ))
        }
    });
    assert_eq!(source.token().await.expect_err("timed out").kind(), ErrorKind::Timeout);
    tokio::time::sleep(SEC).await;
    assert_eq!(source.token().await.expect("second").secret().expose(), "load-1");
    tokio::time::sleep(5 * SEC).await;
    assert_eq!(source.cached().expect("kept").secret().expose(), "load-1");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}
