//! [`RedisStore`]: the runtime's `SharedStore` on Redis. Every operation is one command
//! or one Lua script on the three keys of an identity (token, lock, failure marker),
//! which share a hash slot.

use std::fmt;
use std::time::Duration;

use api_tokens_runtime::Identity;
use api_tokens_runtime::shared::{SharedStore, StoreError, StoreFuture, Stored};
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::{RedisError, Script};

use crate::Error;
use crate::keys::{EncryptionKey, Names};
use crate::seal::{self, Opened};

/// The `tracing` target of the store's events.
const TARGET: &str = "api_tokens::redis";

/// The prefix of every key name, unless [`RedisStore::prefix`] sets another.
pub const DEFAULT_PREFIX: &str = "api-tokens";

/// Writes a token over the generation its writer read (fencing), releases the
/// writer's lock, clears the failure marker. KEYS: token, lock, failure. ARGV: owner,
/// generation replaced, value, time to live in ms. The generation is read from the
/// value's header exactly as `seal::generation` reads it.
const WRITE: &str = r"
local generation = 0
if redis.call('TYPE', KEYS[1])['ok'] == 'string' then
  local digits = string.match(redis.call('GET', KEYS[1]), '^v1%.(%d+)%.')
  if digits and #digits <= 15 then generation = tonumber(digits) end
end
if redis.call('TYPE', KEYS[2])['ok'] == 'string' and redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('DEL', KEYS[2])
end
if generation ~= tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
redis.call('DEL', KEYS[3])
return 1
";

/// Sets the failure marker and releases the writer's lock. KEYS: lock, failure. ARGV:
/// owner, value, time to live in ms.
const FAIL: &str = r"
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
if redis.call('TYPE', KEYS[1])['ok'] == 'string' and redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
return 1
";

/// Reads a value and how long Redis keeps it (ms). A key that is not a string, or a
/// value longer than ARGV[1] bytes, is not the store's: it is deleted and read as
/// nothing. KEYS: the key.
const READ: &str = r"
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind == 'none' then return {false, -2} end
if kind ~= 'string' or redis.call('STRLEN', KEYS[1]) > tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
  return {false, -2}
end
return {redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1])}
";

/// Takes a lock for its owner unless another holds it; a lock that would never end
/// (no expiry, one ending more than 10 minutes ahead, which no worker sets whatever its
/// lock TTL, or a key that is not a lock) is stale and taken over. KEYS: lock. ARGV:
/// owner, time to live in ms.
const LOCK: &str = r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -1 or ttl > 600000 or redis.call('TYPE', KEYS[1])['ok'] ~= 'string' then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
";

/// Extends a lock for its owner only (compare-and-expire). KEYS: lock. ARGV: owner,
/// time to live in ms.
const EXTEND: &str = r"
if redis.call('TYPE', KEYS[1])['ok'] == 'string' and redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
";

/// The longest value the store reads: a token's sealed value is a few kilobytes.
const LONGEST_VALUE: usize = 64 * 1024;

/// Releases a lock only for its owner (compare-and-delete). KEYS: lock. ARGV: owner.
const UNLOCK: &str = r"
if redis.call('TYPE', KEYS[1])['ok'] == 'string' and redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// The fleet's token store on Redis (or Valkey): values sealed with XChaCha20-Poly1305
/// under the user's [`EncryptionKey`], key names keyed hashes of each token's
/// identity. Give it to the runtime's `SharedCache`:
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use api_tokens_redis::{EncryptionKey, RedisStore};
/// use api_tokens_runtime::SharedCache;
///
/// let key = EncryptionKey::from_base64("2026-11", &std::env::var("TOKEN_CACHE_KEY")?)?;
/// let store = RedisStore::open("redis://fleet-user:password@redis.internal:6379/0", key)?;
/// let fleet = SharedCache::new(store);
/// let client = ica_tokens::Client::builder().api_key("ICA-API-KEY").build()?;
/// let jwt = ica_tokens::JwtSource::new(client).shared(&fleet);
/// # let _ = jwt;
/// # Ok(())
/// # }
/// ```
///
/// What Redis holds per identity, all under one hash tag (`{…}`, one Cluster slot):
/// - `<prefix>:{<tag>}:token`: `v1.<generation>.<key id>.<key check>.<sealed token>`,
///   expiring with the token;
/// - `<prefix>:{<tag>}:lock`: the loading process's owner name, expiring by itself;
/// - `<prefix>:{<tag>}:failure`: a sealed error message while the fleet backs off.
///
/// `<tag>` is 128 bits of HMAC-SHA-256 of the identity under a key derived from the
/// encryption key; nothing in a name or value shows a host, username, tenant or secret.
pub struct RedisStore<C = ConnectionManager> {
    connection: C,
    /// The key sealing new values first, then those still opening old ones.
    keys: Vec<EncryptionKey>,
    naming_key: [u8; 32],
    prefix: String,
    write: Script,
    fail: Script,
    unlock: Script,
    read: Script,
    lock: Script,
    extend: Script,
}

impl RedisStore<ConnectionManager> {
    /// A store on the Redis at `url` (`redis://[user:password@]host[:port][/db]`, or
    /// `rediss://` with feature `tls`), sealing with `key`. The connection is made on
    /// first use and remade after it drops (redis-rs's `ConnectionManager`), each
    /// connection attempt and answer bounded by 500 ms; a Redis that is down at start
    /// is store trouble like any other, not an error here.
    ///
    /// # Errors
    ///
    /// [`Error`] if `url` is not a Redis URL, or no tokio runtime is running.
    pub fn open(url: &str, key: EncryptionKey) -> Result<Self, Error> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::new(
                "RedisStore::open needs a tokio runtime, and none is running",
            ));
        }
        let client = redis::Client::open(url).map_err(|e| Error::new(format!("not a Redis URL ({:?})", e.kind())))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(500)))
            .set_response_timeout(Some(Duration::from_millis(500)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(2));
        let connection = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| Error::new(format!("the Redis connection could not be set up ({:?})", e.kind())))?;
        Ok(RedisStore::with_connection(connection, key))
    }
}

impl<C> RedisStore<C> {
    /// A store on a connection of the user's (a `ConnectionManager` configured
    /// otherwise, or with feature `cluster` a `redis::cluster_async::ClusterConnection`).
    pub fn with_connection(connection: C, key: EncryptionKey) -> Self {
        RedisStore {
            connection,
            naming_key: key.naming_key(),
            keys: vec![key],
            prefix: DEFAULT_PREFIX.to_owned(),
            write: Script::new(WRITE),
            fail: Script::new(FAIL),
            unlock: Script::new(UNLOCK),
            read: Script::new(READ),
            lock: Script::new(LOCK),
            extend: Script::new(EXTEND),
        }
    }

    /// The same, also opening values sealed under `old` (an encryption key being
    /// rotated out). New values are sealed under the first key only.
    ///
    /// Names are derived from the first key unless [`RedisStore::naming`] says
    /// otherwise: with the default, a rotation changes the names, which costs the fleet
    /// one refresh per identity (the values under the old names expire with their
    /// tokens); with a naming key kept across the rotation, nothing is refreshed.
    pub fn decrypt_with(mut self, old: EncryptionKey) -> Self {
        self.keys.push(old);
        self
    }

    /// The same, naming keys with `key` instead of the sealing key: names then stay
    /// the same across a rotation of encryption keys (the old values open with
    /// [`RedisStore::decrypt_with`]).
    pub fn naming(mut self, key: &EncryptionKey) -> Self {
        self.naming_key = key.naming_key();
        self
    }

    /// The same, with `prefix` before every key name (default [`DEFAULT_PREFIX`]): to
    /// keep several fleets, or test runs, apart on one Redis.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    fn names(&self, identity: &Identity) -> Names {
        Names::new(&self.prefix, &self.naming_key, &identity.canonical())
    }

    fn current_key(&self) -> &EncryptionKey {
        // Never empty: made with one key, keys only added.
        &self.keys[0]
    }
}

impl<C> RedisStore<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    /// The value at `key` and how long Redis keeps it (ms; negative without expiry),
    /// as bytes: a value that is not UTF-8 is read, not an error.
    async fn read_value(&self, key: &str) -> Result<(Option<Vec<u8>>, i64), StoreError> {
        let mut connection = self.connection.clone();
        // The common case in one round trip without a script: `GET` and `PTTL` in one
        // transaction, so that the time to live is the value's (another worker's write
        // between the two would give an old value the new one's, and the fleet judges
        // a rewrite by it). A key of another type, or a value too long, goes through
        // the script, which deletes it.
        let read: Result<(Option<Vec<u8>>, i64), RedisError> = redis::pipe()
            .atomic()
            .cmd("GET")
            .arg(key)
            .cmd("PTTL")
            .arg(key)
            .query_async(&mut connection)
            .await;
        match read {
            Ok((Some(value), _)) if value.len() > LONGEST_VALUE => self.read_by_script(key).await,
            Ok(read) => Ok(read),
            // Redis answered, with an error (a key of another type): the script cleans.
            Err(error) if !(error.is_io_error() || error.is_timeout() || error.is_connection_dropped()) => {
                self.read_by_script(key).await
            }
            Err(error) => Err(store_error("read", &error)),
        }
    }

    async fn read_by_script(&self, key: &str) -> Result<(Option<Vec<u8>>, i64), StoreError> {
        let mut connection = self.connection.clone();
        self.read
            .key(key)
            .arg(LONGEST_VALUE)
            .invoke_async(&mut connection)
            .await
            .map_err(|e| store_error("read", &e))
    }
}

impl<C> fmt::Debug for RedisStore<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(EncryptionKey::id).collect();
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("key_ids", &ids)
            .finish_non_exhaustive()
    }
}

fn store_error(operation: &str, error: &RedisError) -> StoreError {
    // The kind and category only: a Redis error's text may repeat a URL with its
    // password.
    let what = if error.is_timeout() {
        "no answer in time"
    } else if error.is_connection_refusal() {
        "connection refused"
    } else if error.is_connection_dropped() || error.is_unrecoverable_error() {
        "connection lost"
    } else {
        "failed"
    };
    StoreError::new(format!(
        "Redis {operation}: {what} ({:?}{})",
        error.kind(),
        error.code().map(|c| format!(" {c}")).unwrap_or_default()
    ))
}

fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl<C> SharedStore for RedisStore<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    fn read<'a>(&'a self, identity: &'a Identity) -> StoreFuture<'a, Stored> {
        Box::pin(async move {
            let names = self.names(identity);
            let (value, ttl) = self.read_value(&names.token).await?;
            let mut stored = Stored::empty();
            if let Some(value) = value {
                stored.generation = seal::generation(&value);
                stored.ttl = u64::try_from(ttl).ok().map(Duration::from_millis);
                match std::str::from_utf8(&value).map(|value| seal::open(&self.keys, &names.token, value)) {
                    Ok(Opened::Plain(plain)) => stored.token = Some(plain),
                    Ok(Opened::Foreign) => stored.foreign = true,
                    Ok(Opened::Unreadable) | Err(_) => tracing::warn!(
                        target: TARGET,
                        generation = stored.generation,
                        "a shared token could not be opened (altered, or of another format): treated as a miss, replaced by the next write"
                    ),
                }
            }
            Ok(stored)
        })
    }

    fn read_failure<'a>(&'a self, identity: &'a Identity) -> StoreFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            let names = self.names(identity);
            let (value, _) = self.read_value(&names.failure).await?;
            let value = value.and_then(|value| String::from_utf8(value).ok());
            Ok(
                value.and_then(|value| match seal::open(&self.keys, &names.failure, &value) {
                    Opened::Plain(plain) => Some(plain),
                    Opened::Foreign | Opened::Unreadable => None,
                }),
            )
        })
    }

    fn try_lock<'a>(&'a self, identity: &'a Identity, owner: &'a str, ttl: Duration) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let names = self.names(identity);
            let mut connection = self.connection.clone();
            let taken: i64 = self
                .lock
                .key(&names.lock)
                .arg(owner)
                .arg(millis(ttl))
                .invoke_async(&mut connection)
                .await
                .map_err(|e| store_error("lock", &e))?;
            Ok(taken == 1)
        })
    }

    fn extend_lock<'a>(&'a self, identity: &'a Identity, owner: &'a str, ttl: Duration) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let names = self.names(identity);
            let mut connection = self.connection.clone();
            let extended: i64 = self
                .extend
                .key(&names.lock)
                .arg(owner)
                .arg(millis(ttl))
                .invoke_async(&mut connection)
                .await
                .map_err(|e| store_error("extend the lock", &e))?;
            Ok(extended == 1)
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
            let names = self.names(identity);
            let generation = replaces.saturating_add(1);
            let value = seal::seal(self.current_key(), &names.token, generation, token)
                .ok_or_else(|| StoreError::new("the token could not be sealed"))?;
            let mut connection = self.connection.clone();
            let written: i64 = self
                .write
                .key(&names.token)
                .key(&names.lock)
                .key(&names.failure)
                .arg(owner)
                .arg(replaces)
                .arg(value)
                .arg(millis(ttl))
                .invoke_async(&mut connection)
                .await
                .map_err(|e| store_error("write", &e))?;
            Ok(written == 1)
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
            let names = self.names(identity);
            let value = seal::seal(self.current_key(), &names.failure, 0, failure)
                .ok_or_else(|| StoreError::new("the failure could not be sealed"))?;
            let mut connection = self.connection.clone();
            let _: i64 = self
                .fail
                .key(&names.lock)
                .key(&names.failure)
                .arg(owner)
                .arg(value)
                .arg(millis(ttl))
                .invoke_async(&mut connection)
                .await
                .map_err(|e| store_error("fail", &e))?;
            Ok(())
        })
    }

    fn unlock<'a>(&'a self, identity: &'a Identity, owner: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let names = self.names(identity);
            let mut connection = self.connection.clone();
            let _: i64 = self
                .unlock
                .key(&names.lock)
                .arg(owner)
                .invoke_async(&mut connection)
                .await
                .map_err(|e| store_error("unlock", &e))?;
            Ok(())
        })
    }
}
