//! A fleet store in memory: what Redis keeps for the fleet (a token with its generation
//! and time to live, a lock with an owner and an end, a failure marker), in one process,
//! so that the lifecycle types' shared paths are tested without a Redis server (and by
//! every mutant of the mutation run). Values are kept as given: nothing leaves the
//! process.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use api_tokens_runtime::Identity;
use api_tokens_runtime::shared::{SharedStore, StoreFuture, Stored};
use tokio::time::Instant;

#[derive(Default)]
struct Slot {
    generation: u64,
    token: Option<(Vec<u8>, Instant)>,
    lock: Option<(String, Instant)>,
    failure: Option<(Vec<u8>, Instant)>,
}

/// The fleet's store, in memory.
#[derive(Default)]
pub struct MemoryStore {
    slots: Mutex<HashMap<Vec<u8>, Slot>>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryStore")
    }
}

fn live<T: Clone>(slot: &Option<(T, Instant)>) -> Option<T> {
    slot.as_ref()
        .filter(|(_, end)| Instant::now() < *end)
        .map(|(v, _)| v.clone())
}

impl MemoryStore {
    fn slots(&self) -> MutexGuard<'_, HashMap<Vec<u8>, Slot>> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn with<T>(&self, identity: &Identity, f: impl FnOnce(&mut Slot) -> T) -> T {
        f(self.slots().entry(identity.canonical()).or_default())
    }

    /// How many identities hold a token.
    pub fn tokens(&self) -> usize {
        self.slots().values().filter(|slot| live(&slot.token).is_some()).count()
    }
}

impl SharedStore for MemoryStore {
    fn read<'a>(&'a self, identity: &'a Identity) -> StoreFuture<'a, Stored> {
        Box::pin(async move {
            Ok(self.with(identity, |slot| {
                let mut stored = Stored::empty();
                // As Redis: a token gone (expired) takes its generation with it.
                stored.token = live(&slot.token);
                stored.generation = if stored.token.is_some() { slot.generation } else { 0 };
                stored.ttl = slot
                    .token
                    .as_ref()
                    .filter(|(_, end)| Instant::now() < *end)
                    .map(|(_, end)| end.saturating_duration_since(Instant::now()));
                stored
            }))
        })
    }

    fn read_failure<'a>(&'a self, identity: &'a Identity) -> StoreFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move { Ok(self.with(identity, |slot| live(&slot.failure))) })
    }

    fn try_lock<'a>(&'a self, identity: &'a Identity, owner: &'a str, ttl: Duration) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            Ok(self.with(identity, |slot| {
                if live(&slot.lock).is_some() {
                    return false;
                }
                slot.lock = Some((owner.to_owned(), Instant::now() + ttl));
                true
            }))
        })
    }

    fn extend_lock<'a>(&'a self, identity: &'a Identity, owner: &'a str, ttl: Duration) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            Ok(self.with(identity, |slot| {
                if live(&slot.lock).as_deref() != Some(owner) {
                    return false;
                }
                slot.lock = Some((owner.to_owned(), Instant::now() + ttl));
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
            Ok(self.with(identity, |slot| {
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
                slot.token = Some((token.to_vec(), Instant::now() + ttl));
                slot.failure = None;
                true
            }))
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
            self.with(identity, |slot| {
                slot.failure = Some((failure.to_vec(), Instant::now() + ttl));
                if live(&slot.lock).as_deref() == Some(owner) {
                    slot.lock = None;
                }
            });
            Ok(())
        })
    }

    fn unlock<'a>(&'a self, identity: &'a Identity, owner: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.with(identity, |slot| {
                if live(&slot.lock).as_deref() == Some(owner) {
                    slot.lock = None;
                }
            });
            Ok(())
        })
    }
}
