//! Every lifecycle type shared, on an in-memory fleet store: the scenarios of
//! `fleet.rs` that need no worker processes, run here without Redis, so that every
//! mutant of the mutation run meets them (the Redis runs stay in `fleet.rs`).

use std::time::Duration;

use api_tokens_runtime::SharedCache;
use api_tokens_runtime::shared::MemoryStore;

/// Which store a scenario runs on.
#[derive(Clone, Copy)]
pub(crate) enum Store {
    /// The Redis `cargo xtask test` started.
    Redis,
    /// One in memory, of the scenario's own.
    Memory,
}

impl Store {
    /// A fleet cache on this store, its grace period 800 ms.
    pub(crate) fn cache(self, prefix: &str) -> SharedCache {
        match self {
            Store::Redis => crate::fleet::shared_cache(prefix),
            Store::Memory => SharedCache::new(MemoryStore::new()).grace(Duration::from_millis(800)),
        }
    }

    /// After a scenario: nothing of `needles` readable in the store (a store in memory
    /// keeps nothing outside the process).
    pub(crate) async fn assert_nothing_readable(self, prefix: &str, needles: &[&str]) {
        if let Store::Redis = self {
            api_tokens_tests::fleet::assert_nothing_readable(&api_tokens_tests::fleet::redis_url(), prefix, needles)
                .await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tigergraph_connections_share_one_token_per_identity() {
    crate::fleet::tigergraph_connections_share_one_token_per_identity_on(Store::Memory).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docluster_sessions_share_one_login_per_address_and_a_refused_worker_leaves() {
    crate::fleet::docluster_sessions_share_one_login_per_address_and_a_refused_worker_leaves_on(Store::Memory).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fastly_fleet_rotates_once_and_revokes_the_old_token_after_the_grace_period() {
    crate::fleet::a_fastly_fleet_rotates_once_and_revokes_the_old_token_after_the_grace_period_on(Store::Memory).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_insight_fleet_replaces_a_refused_token_once() {
    crate::fleet::an_insight_fleet_replaces_a_refused_token_once_on(Store::Memory).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fastly_rotations_share_by_line_pick_up_a_manual_rotation_and_restart_from_the_fleet() {
    crate::fleet::fastly_rotations_share_by_line_pick_up_a_manual_rotation_and_restart_from_the_fleet_on(Store::Memory)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docluster_calls_refused_together_for_the_address_all_retry_and_a_wrong_password_is_not_of_the_fleet() {
    crate::fleet::docluster_calls_refused_together_for_the_address_all_retry_and_a_wrong_password_is_not_of_the_fleet_on(Store::Memory).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_insight_rotation_asked_for_on_any_worker_replaces_the_fleet_s_token() {
    crate::fleet::an_insight_rotation_asked_for_on_any_worker_replaces_the_fleet_s_token_on(Store::Memory).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tigergraph_4x_drops_a_replaced_jwt_only_after_the_grace_period() {
    crate::fleet::tigergraph_4x_drops_a_replaced_jwt_only_after_the_grace_period_on(Store::Memory).await;
}
