#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc = include_str!("../README.md")]

pub use api_tokens_runtime::{Category, Error, ErrorKind, RetryPolicy, Secret, SharedCache, Token, TokenSource};

/// Fastly API tokens ([`fastly_tokens`]).
#[cfg(feature = "fastly")]
pub use fastly_tokens as fastly;

/// Illumina Connected Analytics JWTs ([`ica_tokens`]).
#[cfg(feature = "ica")]
pub use ica_tokens as ica;

/// TigerGraph tokens, three server generations ([`tigergraph_tokens`]).
#[cfg(feature = "tigergraph")]
pub use tigergraph_tokens as tigergraph;

/// Insight.io API access tokens ([`insight_tokens`]).
#[cfg(feature = "insight")]
pub use insight_tokens as insight;

/// The DoCluster control-panel API ([`docluster_tokens`]).
#[cfg(feature = "docluster")]
pub use docluster_tokens as docluster;

/// One token for a whole fleet: the shared, encrypted token cache on Redis (feature
/// `redis`), given to any lifecycle type's `shared` through a [`SharedCache`].
#[cfg(feature = "redis")]
pub use api_tokens_redis as redis;

/// A fleet's store in memory, keeping what the Redis store keeps, with its faults at
/// hand: for tests of code that shares tokens, without a Redis server (feature
/// `test-util`). Given to a [`SharedCache`]: `SharedCache::new(MemoryStore::new())`.
#[cfg(feature = "test-util")]
pub use api_tokens_runtime::shared::MemoryStore;
