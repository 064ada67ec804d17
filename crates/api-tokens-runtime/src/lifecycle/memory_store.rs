//! A fleet's store in memory (feature `test-util`): for tests of code that shares tokens
//! through a [`SharedCache`](super::SharedCache) without a Redis server, with the
//! store's faults at hand.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::store::{Identity, SharedStore, StoreError, StoreFuture, Stored};

/// A lock whose end is further ahead than this is stale, and taken over: no worker sets
/// one that long, whatever its lock TTL (as `api-tokens-redis`'s lock script).
const STALE_LOCK: Duration = Duration::from_secs(600);

/// How far ahead "never" is, for a lock that never ends: 136 years.
const NEVER: Duration = Duration::from_secs(u32::MAX as u64);

/// When something kept for `ttl` from now is gone; a time to live too long to add is
/// refused, as Redis refuses an expiry out of its range.
fn end_of(ttl: Duration) -> Result<Instant, StoreError> {
    Instant::now()
        .checked_add(ttl)
        .ok_or_else(|| StoreError::new("invalid expire time"))
}

/// What the store keeps for one identity, each with the instant its time is up.
#[derive(Default)]
pub(crate) struct Slot {
    /// The token's write number; it goes with the token when the token's time is up,
    /// as a Redis value's header goes with the value.
    pub(crate) generation: u64,
    pub(crate) token: Option<(Vec<u8>, Instant)>,
    pub(crate) lock: Option<(String, Instant)>,
    pub(crate) failure: Option<(Vec<u8>, Instant)>,
}

/// A [`SharedStore`] in memory, one process's (feature `test-util`).
///
/// It keeps what `api-tokens-redis` keeps in Redis, per identity: the token with its
/// generation and time to live (the generation goes with the token), the lock with its
/// owner and end (a lock ending more than ten minutes ahead is stale), and the failure
/// marker. Its times are tokio's, so a test with a paused clock moves them. Values are
/// kept as given: nothing leaves the process.
///
/// Its faults, for tests of the bad moments: [`set_down`](Self::set_down) (every
/// operation fails, as with a store that cannot be reached),
/// [`set_hanging`](Self::set_hanging) (operations never answer),
/// [`set_failing_writes`](Self::set_failing_writes),
/// [`set_foreign`](Self::set_foreign) (tokens read as written under another key), and
/// [`hold_lock`](Self::hold_lock) (a lock held by a process that died).
#[derive(Default)]
pub struct MemoryStore {
    slots: Mutex<HashMap<Vec<u8>, Slot>>,
    down: AtomicBool,
    hanging: AtomicBool,
    failing_writes: AtomicBool,
    foreign: AtomicBool,
    reads: AtomicUsize,
    writes: AtomicUsize,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // What it holds stays out of sight, as a real store's contents.
        f.write_str("MemoryStore")
    }
}

/// The value of a slot whose time is not up.
fn live<T: Clone>(slot: &Option<(T, Instant)>) -> Option<T> {
    slot.as_ref()
        .filter(|(_, end)| Instant::now() < *end)
        .map(|(value, _)| value.clone())
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    /// While `down`, every operation fails with a [`StoreError`], as a store that
    /// cannot be reached.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// While `hanging`, every operation started never answers (the cache's operation
    /// timeout ends it).
    pub fn set_hanging(&self, hanging: bool) {
        self.hanging.store(hanging, Ordering::SeqCst);
    }

    /// While set, writing a token fails with a [`StoreError`]; the rest works.
    pub fn set_failing_writes(&self, failing: bool) {
        self.failing_writes.store(failing, Ordering::SeqCst);
    }

    /// While set, a token read is one written under another encryption key
    /// ([`Stored::foreign`]): there, and not readable.
    pub fn set_foreign(&self, foreign: bool) {
        self.foreign.store(foreign, Ordering::SeqCst);
    }

    /// `identity`'s lock, held by `owner` for `ttl` from now: a process that took it and
    /// died. A `ttl` too long to add is a lock that never ends (taken over as stale, as
    /// Redis takes over a lock without expiry).
    pub fn hold_lock(&self, identity: &Identity, owner: &str, ttl: Duration) {
        let end = Instant::now()
            .checked_add(ttl)
            .unwrap_or_else(|| Instant::now() + NEVER);
        self.with(identity, |slot| slot.lock = Some((owner.to_owned(), end)));
    }

    /// How many reads of a token were answered.
    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }

    /// How many writes of a token were accepted.
    pub fn writes(&self) -> usize {
        self.writes.load(Ordering::SeqCst)
    }

    /// How many identities hold a token whose time is not up.
    pub fn tokens(&self) -> usize {
        self.slots().values().filter(|slot| live(&slot.token).is_some()).count()
    }

    fn slots(&self) -> MutexGuard<'_, HashMap<Vec<u8>, Slot>> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn with<T>(&self, identity: &Identity, f: impl FnOnce(&mut Slot) -> T) -> T {
        f(self.slots().entry(identity.canonical()).or_default())
    }

    /// Answers, or fails or hangs as the store is set to.
    async fn reachable(&self) -> Result<(), StoreError> {
        if self.hanging.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::new("connection refused"));
        }
        Ok(())
    }
}

impl SharedStore for MemoryStore {
    fn read<'a>(&'a self, identity: &'a Identity) -> StoreFuture<'a, Stored> {
        Box::pin(async move {
            self.reachable().await?;
            self.reads.fetch_add(1, Ordering::SeqCst);
            let foreign = self.foreign.load(Ordering::SeqCst);
            Ok(self.with(identity, |slot| {
                let mut stored = Stored::empty();
                if let Some((token, end)) = slot.token.as_ref().filter(|(_, end)| Instant::now() < *end) {
                    stored.generation = slot.generation;
                    stored.ttl = Some(end.saturating_duration_since(Instant::now()));
                    stored.foreign = foreign;
                    stored.token = (!foreign).then(|| token.clone());
                }
                stored
            }))
        })
    }

    fn read_failure<'a>(&'a self, identity: &'a Identity) -> StoreFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            self.reachable().await?;
            Ok(self.with(identity, |slot| live(&slot.failure)))
        })
    }

    fn try_lock<'a>(&'a self, identity: &'a Identity, owner: &'a str, ttl: Duration) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            self.reachable().await?;
            let end = end_of(ttl)?;
            Ok(self.with(identity, |slot| {
                let stale = slot
                    .lock
                    .as_ref()
                    .is_some_and(|(_, end)| end.saturating_duration_since(Instant::now()) > STALE_LOCK);
                if live(&slot.lock).is_some() && !stale {
                    return false;
                }
                slot.lock = Some((owner.to_owned(), end));
                true
            }))
        })
    }

    fn extend_lock<'a>(&'a self, identity: &'a Identity, owner: &'a str, ttl: Duration) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            self.reachable().await?;
            let end = end_of(ttl)?;
            Ok(self.with(identity, |slot| {
                if live(&slot.lock).as_deref() != Some(owner) {
                    return false;
                }
                slot.lock = Some((owner.to_owned(), end));
                true
            }))
        })
    }

    fn write<'a>(
        &'a self,
        identity: &'a Identity,
        owner: &'a str,
        replaces: u64,
        token: &'a [u8],
        ttl: Duration,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            self.reachable().await?;
            let end = end_of(ttl)?;
            if self.failing_writes.load(Ordering::SeqCst) {
                return Err(StoreError::new("write refused"));
            }
            let written = self.with(identity, |slot| {
                if live(&slot.lock).as_deref() == Some(owner) {
                    slot.lock = None;
                }
                let generation = if live(&slot.token).is_some() {
                    slot.generation
                } else {
                    0
                };
                if generation != replaces {
                    return false;
                }
                slot.generation = replaces + 1;
                slot.token = Some((token.to_vec(), end));
                slot.failure = None;
                true
            });
            if written {
                self.writes.fetch_add(1, Ordering::SeqCst);
            }
            Ok(written)
        })
    }

    fn fail<'a>(
        &'a self,
        identity: &'a Identity,
        owner: &'a str,
        failure: &'a [u8],
        ttl: Duration,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.reachable().await?;
            let end = end_of(ttl)?;
            self.with(identity, |slot| {
                slot.failure = Some((failure.to_vec(), end));
                if live(&slot.lock).as_deref() == Some(owner) {
                    slot.lock = None;
                }
            });
            Ok(())
        })
    }

    fn unlock<'a>(&'a self, identity: &'a Identity, owner: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.reachable().await?;
            self.with(identity, |slot| {
                if live(&slot.lock).as_deref() == Some(owner) {
                    slot.lock = None;
                }
            });
            Ok(())
        })
    }
}

/// The runtime's tests read and set what the store keeps directly.
#[cfg(test)]
pub(crate) struct SlotGuard<'a> {
    slots: MutexGuard<'a, HashMap<Vec<u8>, Slot>>,
    key: Vec<u8>,
}

#[cfg(test)]
impl std::ops::Deref for SlotGuard<'_> {
    type Target = Slot;

    fn deref(&self) -> &Slot {
        self.slots.get(&self.key).expect("made by `slot`")
    }
}

#[cfg(test)]
impl std::ops::DerefMut for SlotGuard<'_> {
    fn deref_mut(&mut self) -> &mut Slot {
        self.slots.get_mut(&self.key).expect("made by `slot`")
    }
}

#[cfg(test)]
impl MemoryStore {
    /// What the store keeps for `identity`, to read or set.
    pub(crate) fn slot(&self, identity: &Identity) -> SlotGuard<'_> {
        let key = identity.canonical();
        let mut slots = self.slots();
        slots.entry(key.clone()).or_default();
        SlotGuard { slots, key }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Identity, MemoryStore, SharedStore};

    fn id(principal: &str) -> Identity {
        Identity::new("test").with("principal", principal.to_owned())
    }

    #[tokio::test(start_paused = true)]
    async fn it_keeps_what_redis_keeps_per_identity() {
        let store = MemoryStore::new();
        let (a, b) = (id("a"), id("b"));
        assert!(
            store
                .write(&a, "w", 0, b"one", Duration::from_secs(10))
                .await
                .expect("write")
        );
        // Fenced: a write must name the generation it replaces.
        assert!(
            !store
                .write(&a, "w", 0, b"two", Duration::from_secs(10))
                .await
                .expect("write")
        );
        assert!(
            store
                .write(&a, "w", 1, b"two", Duration::from_secs(10))
                .await
                .expect("write")
        );
        let read = store.read(&a).await.expect("read");
        assert_eq!((read.generation, read.token.as_deref()), (2, Some(&b"two"[..])));
        assert_eq!(read.ttl, Some(Duration::from_secs(10)));
        assert_eq!(
            store.read(&b).await.expect("read").generation,
            0,
            "another identity's slot"
        );
        assert_eq!((store.reads(), store.writes(), store.tokens()), (2, 2, 1));
        // Once its time is up, the token goes, and its generation with it.
        tokio::time::advance(Duration::from_secs(10)).await;
        let gone = store.read(&a).await.expect("read");
        assert_eq!((gone.generation, gone.token, gone.ttl), (0, None, None));
        assert!(
            store
                .write(&a, "w", 0, b"three", Duration::from_secs(10))
                .await
                .expect("write")
        );
        assert_eq!(store.read(&a).await.expect("read").generation, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn locks_are_their_owners_and_a_stale_one_is_taken_over() {
        let store = MemoryStore::new();
        let a = id("a");
        assert!(store.try_lock(&a, "one", Duration::from_secs(5)).await.expect("lock"));
        assert!(!store.try_lock(&a, "two", Duration::from_secs(5)).await.expect("lock"));
        assert!(
            !store
                .extend_lock(&a, "two", Duration::from_secs(5))
                .await
                .expect("extend")
        );
        assert!(
            store
                .extend_lock(&a, "one", Duration::from_secs(5))
                .await
                .expect("extend")
        );
        store.unlock(&a, "two").await.expect("unlock");
        assert!(
            !store
                .try_lock(&a, "two", Duration::from_secs(5))
                .await
                .expect("held still")
        );
        store.unlock(&a, "one").await.expect("unlock");
        assert!(store.try_lock(&a, "two", Duration::from_secs(5)).await.expect("free"));
        // A write or a failure marker by the holder releases the lock.
        store
            .fail(&a, "two", b"failed", Duration::from_secs(60))
            .await
            .expect("fail");
        assert_eq!(
            store.read_failure(&a).await.expect("read").as_deref(),
            Some(&b"failed"[..])
        );
        assert!(
            store
                .try_lock(&a, "three", Duration::from_secs(5))
                .await
                .expect("released")
        );
        assert!(
            store
                .write(&a, "three", 0, b"t", Duration::from_secs(60))
                .await
                .expect("write")
        );
        assert_eq!(
            store.read_failure(&a).await.expect("read"),
            None,
            "a write clears the marker"
        );
        assert!(
            store
                .try_lock(&a, "four", Duration::from_secs(5))
                .await
                .expect("released")
        );
        // A lock ending more than ten minutes ahead is a dead process's forgery: taken.
        store.hold_lock(&a, "dead", Duration::from_secs(601));
        assert!(store.try_lock(&a, "five", Duration::from_secs(5)).await.expect("stale"));
        store.hold_lock(&a, "dead", Duration::from_secs(600));
        assert!(
            !store
                .try_lock(&a, "six", Duration::from_secs(5))
                .await
                .expect("not stale")
        );
        tokio::time::advance(Duration::from_secs(600)).await;
        assert!(store.try_lock(&a, "six", Duration::from_secs(5)).await.expect("ended"));
    }

    #[tokio::test(start_paused = true)]
    async fn its_faults_are_the_stores() {
        let store = MemoryStore::new();
        let a = id("a");
        assert!(
            store
                .write(&a, "w", 0, b"one", Duration::from_secs(10))
                .await
                .expect("write")
        );
        store.set_foreign(true);
        let foreign = store.read(&a).await.expect("read");
        assert!(foreign.foreign && foreign.token.is_none() && foreign.generation == 1);
        store.set_foreign(false);
        store.set_failing_writes(true);
        assert!(store.write(&a, "w", 1, b"two", Duration::from_secs(10)).await.is_err());
        assert!(store.read(&a).await.is_ok(), "reads still work");
        store.set_failing_writes(false);
        store.set_down(true);
        assert!(store.read(&a).await.is_err() && store.try_lock(&a, "w", Duration::from_secs(1)).await.is_err());
        store.set_down(false);
        store.set_hanging(true);
        let hung = tokio::time::timeout(Duration::from_secs(5), store.read(&a)).await;
        assert!(hung.is_err(), "never answers");
        store.set_hanging(false);
        assert_eq!(store.read(&a).await.expect("read").token.as_deref(), Some(&b"one"[..]));
        assert_eq!(format!("{store:?}"), "MemoryStore");
    }

    #[tokio::test(start_paused = true)]
    async fn a_time_to_live_out_of_range_is_refused_as_redis_refuses_it() {
        let (store, a) = (MemoryStore::new(), id("a"));
        assert!(store.write(&a, "w", 0, b"t", Duration::MAX).await.is_err());
        assert!(store.try_lock(&a, "w", Duration::MAX).await.is_err());
        assert!(store.fail(&a, "w", b"f", Duration::MAX).await.is_err());
        assert!(store.try_lock(&a, "w", Duration::from_secs(5)).await.expect("lock"));
        assert!(store.extend_lock(&a, "w", Duration::MAX).await.is_err());
        assert_eq!(store.writes(), 0);
        // A lock held for ever is held (its owner may extend it), but stale: taken over.
        store.hold_lock(&a, "dead", Duration::MAX);
        assert!(
            store
                .extend_lock(&a, "dead", Duration::from_secs(700))
                .await
                .expect("held")
        );
        store.hold_lock(&a, "dead", Duration::MAX);
        assert!(store.try_lock(&a, "next", Duration::from_secs(5)).await.expect("stale"));
    }
}
