//! Token lifecycles against in-process servers, on tokio's paused clock: no test sleeps.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use api_tokens_tests::fakes::{Account, Cluster, Insight, Seen, Tiger, docluster, fastly, ica, rfc3339_in, tigergraph};

/// An ICA client with one credential, answered by the fake.
fn ica_client(
    seen: &Arc<Seen>,
    credential: impl FnOnce(ica_tokens::ClientBuilder) -> ica_tokens::ClientBuilder,
) -> ica_tokens::Client {
    credential(ica_tokens::Client::builder())
        .respond_with(ica(seen.clone()))
        .build()
        .expect("client")
}

#[tokio::test(start_paused = true)]
async fn ica_jwt_from_an_api_key_is_created_again_before_exp() {
    let seen = Arc::new(Seen::default());
    let client = ica_client(&seen, |b| b.api_key("ica-api-key-123"));
    let source = ica_tokens::JwtSource::new(client);
    let first = source.token().await.expect("jwt");
    assert!(first.expires_at().is_some(), "the exp claim is read");
    source.token().await.expect("cached");
    assert_eq!(seen.creates.load(Ordering::SeqCst), 1);
    // Five minutes before exp: created again, never refreshed.
    tokio::time::advance(Duration::from_secs(3301)).await;
    let second = source.token().await.expect("jwt");
    assert_ne!(first, second);
    assert_eq!(
        (
            seen.creates.load(Ordering::SeqCst),
            seen.refreshes.load(Ordering::SeqCst)
        ),
        (2, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn ica_jwt_from_a_ps_token_is_refreshed_then_created_when_refused() {
    let seen = Arc::new(Seen::default());
    let client = ica_client(&seen, |b| b.ps_token("ps-token-123456"));
    let source = ica_tokens::JwtSource::new(client);
    let first = source.token().await.expect("jwt");
    tokio::time::advance(Duration::from_secs(3301)).await;
    let refreshed = source.token().await.expect("refreshed");
    assert_eq!(seen.refreshes.load(Ordering::SeqCst), 1);
    // The refresh sent the JWT it replaces.
    let bearers = seen.bearers.lock().expect("lock").clone();
    assert_eq!(bearers, [format!("Bearer {}", first.secret().expose())]);
    // ICA refuses the next refresh: a new JWT is created instead.
    seen.refused.store(true, Ordering::SeqCst);
    tokio::time::advance(Duration::from_secs(3301)).await;
    let created = source.token().await.expect("created");
    assert_ne!(created, refreshed);
    assert_eq!(
        (
            seen.creates.load(Ordering::SeqCst),
            seen.refreshes.load(Ordering::SeqCst)
        ),
        (2, 2)
    );
}

fn cluster_client(cluster: &Arc<Cluster>) -> docluster_tokens::Client {
    docluster_tokens::Client::builder()
        .base_url("http://cluster.invalid:3033/api")
        .respond_with(docluster(cluster.clone()))
        .build()
        .expect("client")
}

#[tokio::test(start_paused = true)]
async fn docluster_session_logs_in_again_once_when_the_token_expired() {
    let cluster = Arc::new(Cluster::default());
    let session = docluster_tokens::Session::login(cluster_client(&cluster), "admin", "admin")
        .await
        .expect("login");
    let list = |c: docluster_tokens::Client| async move { c.list_tokens().send().await };
    session.run(list).await.expect("listed");
    assert_eq!(cluster.logins.load(Ordering::SeqCst), 1);
    // The server forgets the token (its own, shorter window): one transparent login.
    cluster.valid.lock().expect("lock").clear();
    session.run(list).await.expect("listed after a new login");
    assert_eq!(cluster.logins.load(Ordering::SeqCst), 2);
    // Past the tracked window, the session logs in before the call.
    tokio::time::advance(docluster_tokens::DEFAULT_WINDOW + Duration::from_secs(1)).await;
    let token = session.token().await.expect("token");
    assert_eq!(cluster.logins.load(Ordering::SeqCst), 3);
    assert!(token.expires_at().is_some_and(|at| at > SystemTime::now()));
    // A token bound to another IP is refused, and logging in again would not help.
    cluster.foreign.store(true, Ordering::SeqCst);
    let error = session.run(list).await.expect_err("foreign IP");
    assert_eq!(error.category(), Some(docluster_tokens::Category::Refused));
    assert!(error.vendor_note().is_some());
    assert_eq!(cluster.logins.load(Ordering::SeqCst), 3);
    cluster.foreign.store(false, Ordering::SeqCst);
    session.logout().await.expect("logged out");
    assert_eq!(cluster.logged_out.lock().expect("lock").len(), 1);
}

#[tokio::test(start_paused = true)]
async fn docluster_session_resumes_a_saved_token_after_checking_it() {
    let cluster = Arc::new(Cluster::default());
    let saved = format!("TOKEN{:0>55}", 0);
    cluster.valid.lock().expect("lock").push(saved.clone());
    let session = docluster_tokens::Session::resume(cluster_client(&cluster), saved.as_str(), None)
        .await
        .expect("saved token is good");
    assert_eq!(
        (
            cluster.logins.load(Ordering::SeqCst),
            cluster.calls.load(Ordering::SeqCst)
        ),
        (0, 1)
    );
    assert_eq!(session.token().await.expect("token").secret().expose(), saved);
    // A stale saved token with a login: logs in.
    let login = Some(("admin".to_owned(), docluster_tokens::Secret::new("admin")));
    docluster_tokens::Session::resume(cluster_client(&cluster), "STALE", login)
        .await
        .expect("logged in instead");
    assert_eq!(cluster.logins.load(Ordering::SeqCst), 1);
    // Without a login, the refusal is the answer, typed.
    let error = docluster_tokens::Session::resume(cluster_client(&cluster), "STALE", None)
        .await
        .expect_err("stale");
    assert_eq!(error.category(), Some(docluster_tokens::Category::Expired));
}

async fn tiger_connection(generation: tigergraph_tokens::Generation) -> (Arc<Tiger>, tigergraph_tokens::Connection) {
    let tiger = Arc::new(Tiger {
        generation,
        secret: "tg-secret-0123456789",
        live: Mutex::default(),
        requests: Mutex::default(),
    });
    let server = tiger.clone();
    let connection = tigergraph_tokens::Connection::builder("http://tg.invalid:14240")
        .secret("tg-secret-0123456789")
        .configure(move |builder| builder.respond_with(tigergraph(server.clone())))
        .build()
        .expect("connection");
    (tiger, connection)
}

#[tokio::test]
async fn tigergraph_connection_detects_each_generation_and_remembers_it() {
    use tigergraph_tokens::Generation;
    for generation in [Generation::V4, Generation::V3_5, Generation::V3_0] {
        let (tiger, tg) = tiger_connection(generation).await;
        // The seed task: get with a lifetime, its expiry, refresh, delete skipping missing.
        let token = tg.get(Some(Duration::from_secs(3600))).await.expect("token");
        let expires = token.expires_at().expect("an expiry");
        let in_an_hour = SystemTime::now() + Duration::from_secs(3600);
        let off = expires
            .max(in_an_hour)
            .duration_since(expires.min(in_an_hour))
            .expect("ordered");
        assert!(
            off < Duration::from_secs(5),
            "{generation:?}: the lifetime is an hour, in the server's unit"
        );
        assert_eq!(tg.generation().await, Some(generation));
        let refreshed = tg
            .refresh(None, Some(Duration::from_secs(7200)))
            .await
            .expect("refreshed");
        assert!(refreshed.expires_at() > token.expires_at(), "{generation:?}");
        tg.delete(None, true).await.expect("deleted");
        // Deleting again: missing, and skipped only when asked (4.x's block list never
        // reports a token missing).
        let again = tg.delete(Some(refreshed.secret().clone()), false).await;
        if generation != Generation::V4 {
            let error = again.expect_err("gone");
            assert_eq!(error.category(), Some(tigergraph_tokens::Category::NotFound));
            tg.delete(Some(refreshed.secret().clone()), true)
                .await
                .expect("skip missing");
        }
        // Detection happened once: later calls go straight to the generation's endpoints.
        let requests = tiger.requests.lock().expect("lock").clone();
        let probes = requests.iter().filter(|r| r.ends_with("/gsql/v1/tokens")).count();
        let expected = match generation {
            Generation::V4 => requests.iter().filter(|r| r.contains("gsql")).count(),
            _ => 1,
        };
        assert_eq!(probes, expected, "{generation:?}: {requests:?}");
    }
}

#[tokio::test]
async fn tigergraph_connection_is_a_token_source() {
    let (_tiger, tg) = tiger_connection(tigergraph_tokens::Generation::V3_5).await;
    let sources: Vec<Arc<dyn api_tokens_runtime::TokenSource>> = vec![Arc::new(tg)];
    let token = sources[0].token().await.expect("token");
    assert!(token.expires_at().is_some());
}

/// An account whose token `key0` was made a day ago to live `lifetime`.
fn fastly_account_with(lifetime: Duration) -> (Arc<Account>, fastly_tokens::Client) {
    let account = Arc::new(Account::default());
    let day = Duration::from_secs(86_400);
    let created = chrono::DateTime::<chrono::Utc>::from(SystemTime::now() - day).to_rfc3339();
    account.tokens.lock().expect("lock").push((
        "key0".to_owned(),
        serde_json::json!({"id": "id0", "name": "deploy", "scope": "purge_select purge_all",
            "services": ["s1", "s2"], "created_at": created,
            "expires_at": rfc3339_in(lifetime.saturating_sub(day))}),
    ));
    let login = fastly_tokens::Client::builder()
        .base_url("http://fastly.invalid")
        .username_and_password("me@example.com", "password-123")
        .max_retries(0)
        .respond_with(fastly(account.clone()))
        .build()
        .expect("client");
    (account, login)
}

fn fastly_account() -> (Arc<Account>, fastly_tokens::Client) {
    fastly_account_with(Duration::from_secs(90 * 86_400))
}

#[tokio::test]
async fn fastly_rotation_creates_confirms_then_revokes() {
    let (account, login) = fastly_account();
    let rotation = fastly_tokens::Rotation::new(login, "key0").await.expect("rotation");
    let fresh = rotation.rotate().await.expect("rotated");
    assert_eq!(fresh.secret().expose(), "key1");
    let tokens = account.tokens.lock().expect("lock").clone();
    assert_eq!(tokens.len(), 1, "the old token is revoked");
    let meta = &tokens[0].1;
    assert_eq!(
        (meta["name"].as_str(), meta["scope"].as_str()),
        (Some("deploy"), Some("purge_select purge_all"))
    );
    assert_eq!(meta["services"], serde_json::json!(["s1", "s2"]));
    assert!(
        meta["expires_at"].as_str().is_some(),
        "an expiring token is replaced by an expiring one"
    );
    let log = account.log.lock().expect("lock").clone();
    let create = log.iter().position(|l| l == "POST /tokens").expect("created");
    let revoke = log.iter().position(|l| l == "DELETE /tokens/self").expect("revoked");
    assert!(create < revoke, "{log:?}");
}

#[tokio::test]
async fn fastly_rotation_revokes_nothing_when_creation_or_confirmation_fails() {
    let (account, login) = fastly_account();
    let rotation = fastly_tokens::Rotation::new(login, "key0").await.expect("rotation");
    account.fail_create.store(true, Ordering::SeqCst);
    rotation.rotate().await.expect_err("creation fails");
    account.fail_create.store(false, Ordering::SeqCst);
    account.refuse_new.store(true, Ordering::SeqCst);
    rotation.rotate().await.expect_err("confirmation fails");
    let log = account.log.lock().expect("lock").clone();
    assert!(!log.iter().any(|l| l.starts_with("DELETE")), "{log:?}");
    assert_eq!(rotation.token().await.expect("old").secret().expose(), "key0");
}

#[tokio::test]
async fn insight_rotation_creates_confirms_then_revokes() {
    let insight = Arc::new(Insight::default());
    let old = format!("{:0>64}", 0);
    insight.live.lock().expect("lock").push(old.clone());
    let creator = insight_tokens::Client::builder()
        .session_cookie("PLAY_SESSION=abcdef123")
        .respond_with(api_tokens_tests::fakes::insight(insight.clone()))
        .build()
        .expect("client");
    let rotation = insight_tokens::Rotation::new(creator, old.as_str());
    let fresh = rotation.rotate().await.expect("rotated");
    let new = fresh.secret().expose().to_owned();
    let log = insight.log.lock().expect("lock").clone();
    assert_eq!(
        log,
        [
            "POST /api/token -".to_owned(),
            format!("GET /api/token {new}"),
            format!("DELETE /api/token {old}")
        ]
    );
    assert_eq!(*insight.live.lock().expect("lock"), [new]);
}

#[tokio::test(start_paused = true)]
async fn fastly_rotation_as_a_token_source_rotates_before_expiry() {
    // Made a day ago to live a day and two hours: two hours left.
    let (account, login) = fastly_account_with(Duration::from_secs(26 * 3600));
    let rotation = fastly_tokens::Rotation::new(login, "key0").await.expect("rotation");
    assert_eq!(rotation.token().await.expect("current").secret().expose(), "key0");
    // Half of what is left: rotated then, without being asked to.
    tokio::time::advance(Duration::from_secs(3601)).await;
    let token = rotation.token().await.expect("rotated");
    assert_eq!(token.secret().expose(), "key1");
    // The replacement lives as long as the old one was made to (26 h).
    let left = token
        .expires_at()
        .expect("expiry")
        .duration_since(SystemTime::now())
        .expect("future");
    assert!(left > Duration::from_secs(25 * 3600), "{left:?}");
    assert_eq!(account.tokens.lock().expect("lock").len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_thousand_callers_of_a_vendor_source_send_one_request() {
    let seen = Arc::new(Seen::default());
    let client = ica_client(&seen, |b| b.api_key("ica-api-key-123"));
    let source = Arc::new(ica_tokens::JwtSource::new(client));
    let mut callers = tokio::task::JoinSet::new();
    for _ in 0..1000 {
        let source = source.clone();
        callers.spawn(async move { source.token().await });
    }
    while let Some(done) = callers.join_next().await {
        done.expect("no panic").expect("jwt");
    }
    assert_eq!(seen.creates.load(Ordering::SeqCst), 1);
}
