//! Token lifecycles against the fakes of `tests/support/fakes.rs`, which answer as
//! `shared/vendors.md` documents the vendors' servers (not as our code expects), on
//! tokio's paused clock where time matters: the fakes' clocks move with it.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use api_tokens_runtime::{Category, ErrorKind, RotationStep, Secret};
use api_tokens_tests::fakes::{
    self, DoCluster, Fastly, FastlyFaults, FastlySeed, FastlySelfRead, FastlyToken, Ica, IcaArrival, IcaCreate,
    Insight, TgBadSecret, TgMissingToken, TgRawPost, TgRefreshExpiration, TgServer, TigerGraph,
};

/// How far `at` is from now (this machine's clock), either way.
fn off(at: SystemTime, from_now: Duration) -> Duration {
    let expected = SystemTime::now() + from_now;
    at.max(expected).duration_since(at.min(expected)).expect("ordered")
}

/// Calls `token` until it differs from `old` (a refresh ahead of expiry may run behind
/// the callers it serves), sleeping a second of tokio's clock between tries.
async fn changed<F, Fut>(old: &api_tokens_runtime::Token, token: F) -> api_tokens_runtime::Token
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<api_tokens_runtime::Token, api_tokens_runtime::Error>>,
{
    for _ in 0..10 {
        let now = token().await.expect("token");
        if now != *old {
            return now;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    panic!("the token was never replaced");
}

// ----------------------------------------------------------------------------- ICA

const ICA_KEY: &str = "ica-api-key-123";
const ICA_PS_TOKEN: &str = "ps-token-123456";

fn ica_server() -> Arc<Ica> {
    Arc::new(Ica::new().api_key(ICA_KEY).ps_token(ICA_PS_TOKEN))
}

/// An ICA client with one credential, answered by `ica`.
fn ica_client(
    ica: &Arc<Ica>,
    credential: impl FnOnce(ica_tokens::ClientBuilder) -> ica_tokens::ClientBuilder,
) -> ica_tokens::Client {
    credential(ica_tokens::Client::builder())
        .respond_with(fakes::responder(ica))
        .build()
        .expect("client")
}

#[tokio::test(start_paused = true)]
async fn ica_jwt_from_an_api_key_is_created_again_before_exp() {
    let ica = ica_server();
    let source = ica_tokens::JwtSource::new(ica_client(&ica, |b| b.api_key(ICA_KEY)));
    let first = source.token().await.expect("jwt");
    let expires = first.expires_at().expect("the exp claim is read");
    assert!(off(expires, Duration::from_secs(3600)) < Duration::from_secs(5));
    source.token().await.expect("cached");
    assert_eq!(ica.creates(), 1);
    // Five minutes before exp: created again, never refreshed (ICA refuses to refresh
    // a JWT made from an API key).
    tokio::time::advance(Duration::from_secs(3301)).await;
    let second = changed(&first, || source.token()).await;
    assert_ne!(first, second);
    assert_eq!((ica.creates(), ica.refreshes()), (2, 0));
}

#[tokio::test(start_paused = true)]
async fn ica_jwt_from_a_ps_token_is_refreshed_then_created_when_refused() {
    let ica = ica_server();
    let source = ica_tokens::JwtSource::new(ica_client(&ica, |b| b.ps_token(ICA_PS_TOKEN)));
    let first = source.token().await.expect("jwt");
    tokio::time::advance(Duration::from_secs(3301)).await;
    let refreshed = changed(&first, || source.token()).await;
    assert_eq!(ica.refreshes(), 1);
    // The refresh sent the JWT it replaces.
    assert_eq!(ica.refresh_bearers(), [format!("Bearer {}", first.secret().expose())]);
    // ICA refuses the next refresh: a new JWT is created instead.
    ica.refuse_refreshes(true);
    tokio::time::advance(Duration::from_secs(3301)).await;
    let created = changed(&refreshed, || source.token()).await;
    assert_ne!(created, refreshed);
    assert_eq!((ica.creates(), ica.refreshes()), (2, 2));
}

#[tokio::test]
async fn ica_refuses_wrong_credentials_and_refreshes_of_api_key_jwts() {
    let ica = ica_server();
    let client = ica_client(&ica, |b| b.api_key(ICA_KEY));
    let jwt = client.create_jwt_token().send().await.expect("jwt").into_inner().token;
    // vendors.md §2.2: "Refreshing the JWT is not possible if it has been created using
    // an API-key."
    let refused = client
        .with_jwt(jwt)
        .expect("client")
        .refresh_jwt_token()
        .send()
        .await
        .expect_err("an API-key JWT");
    assert_eq!(refused.category(), Some(Category::Refused));
    for wrong in [
        ica_client(&ica, |b| b.api_key("ica-api-key-999")),
        ica_client(&ica, |b| b.ps_token("ps-token-999999")),
        ica_client(&ica, |b| b.basic("me@example.com", "not-the-password")),
    ] {
        let error = wrong.create_jwt_token().send().await.expect_err("wrong credential");
        assert_eq!(error.http_status().map(|s| s.as_u16()), Some(401));
        assert_eq!(error.category(), Some(Category::Refused));
    }
}

#[tokio::test(start_paused = true)]
async fn ica_source_never_hands_out_a_jwt_expired_on_arrival() {
    for arrival in [IcaArrival::AlreadyExpired, IcaArrival::ExpiresNow] {
        let ica = ica_server();
        ica.set_arrival(arrival);
        let source = ica_tokens::JwtSource::new(ica_client(&ica, |b| b.api_key(ICA_KEY)));
        let error = source.token().await.expect_err("expired on arrival");
        assert_eq!(error.kind(), ErrorKind::TokenExpired, "{arrival:?}");
        // Asked again at once: backed off, not sent.
        source.token().await.expect_err("backing off");
        assert_eq!(ica.creates(), 1, "{arrival:?}");
        // The server mends: after the backoff, a JWT that is valid.
        ica.set_arrival(IcaArrival::Fresh);
        tokio::time::advance(Duration::from_secs(600)).await;
        let jwt = source.token().await.expect("fresh");
        assert!(jwt.expires_at().is_some_and(|at| at > SystemTime::now()), "{arrival:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn ica_source_reads_expiry_on_the_servers_clock() {
    // Ten minutes ahead: the JWT says `exp` = our now + 70 min, yet lives an hour.
    let ica = ica_server();
    ica.set_skew(600);
    let source = ica_tokens::JwtSource::new(ica_client(&ica, |b| b.api_key(ICA_KEY)));
    let first = source.token().await.expect("jwt");
    let expires = first.expires_at().expect("exp");
    assert!(
        off(expires, Duration::from_secs(3600)) < Duration::from_secs(5),
        "{expires:?}"
    );
    tokio::time::advance(Duration::from_secs(3301)).await;
    changed(&first, || source.token()).await;
    assert_eq!(ica.creates(), 2);
    // Two hours behind: the JWT's `exp` is in our past, yet it has an hour to live.
    let ica = ica_server();
    ica.set_skew(-7200);
    let source = ica_tokens::JwtSource::new(ica_client(&ica, |b| b.api_key(ICA_KEY)));
    let jwt = source.token().await.expect("valid by the server's clock");
    let expires = jwt.expires_at().expect("exp");
    assert!(
        off(expires, Duration::from_secs(3600)) < Duration::from_secs(5),
        "{expires:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn ica_slow_failing_create_is_one_request_for_all_callers() {
    let ica = ica_server();
    ica.set_create(IcaCreate::Unavailable {
        after: Duration::from_secs(20),
    });
    let client = ica_tokens::Client::builder()
        .api_key(ICA_KEY)
        .max_retries(0)
        .respond_with_async(fakes::async_responder(&ica))
        .build()
        .expect("client");
    let source = Arc::new(ica_tokens::JwtSource::new(client));
    let mut callers = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let source = source.clone();
        callers.spawn(async move { source.token().await });
    }
    while let Some(done) = callers.join_next().await {
        let error = done.expect("no panic").expect_err("503");
        assert_eq!(error.http_status().map(|s| s.as_u16()), Some(503));
    }
    assert_eq!(ica.creates(), 1);
}

#[tokio::test(start_paused = true)]
async fn ica_source_serves_its_jwt_while_a_slow_create_fails() {
    let ica = ica_server();
    let client = ica_tokens::Client::builder()
        .api_key(ICA_KEY)
        .max_retries(0)
        .respond_with_async(fakes::async_responder(&ica))
        .build()
        .expect("client");
    let source = ica_tokens::JwtSource::new(client);
    let first = source.token().await.expect("jwt");
    ica.set_create(IcaCreate::Unavailable {
        after: Duration::from_secs(20),
    });
    // Due for replacement, still valid: the JWT keeps being served while ICA fails.
    tokio::time::advance(Duration::from_secs(3301)).await;
    for _ in 0..5 {
        assert_eq!(source.token().await.expect("still valid"), first);
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
    // Past `exp` with ICA still failing: an error, never the expired JWT.
    tokio::time::advance(Duration::from_secs(300)).await;
    source.token().await.expect_err("expired and ICA fails");
    // ICA mends: a new JWT after the backoff.
    ica.set_create(IcaCreate::Mint);
    tokio::time::advance(Duration::from_secs(600)).await;
    let next = source.token().await.expect("new jwt");
    assert_ne!(next, first);
}

#[tokio::test(start_paused = true)]
async fn a_thousand_callers_of_a_vendor_source_send_one_request() {
    let ica = ica_server();
    // ICA takes 50 ms to answer; a caller arrives every 40 µs, so all 1,000 arrive while
    // the one create runs and wait for it.
    let server = ica.clone();
    let client = ica_tokens::Client::builder()
        .api_key(ICA_KEY)
        .respond_with_async(move |request| {
            let answer = fakes::responder(&server)(request);
            async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                answer
            }
        })
        .build()
        .expect("client");
    let source = Arc::new(ica_tokens::JwtSource::new(client));
    let started = tokio::time::Instant::now();
    let mut callers = tokio::task::JoinSet::new();
    for i in 0..1000u32 {
        let source = source.clone();
        callers.spawn(async move {
            tokio::time::sleep(Duration::from_micros(40) * i).await;
            source.token().await
        });
    }
    let mut tokens = std::collections::HashSet::new();
    while let Some(done) = callers.join_next().await {
        tokens.insert(done.expect("no panic").expect("jwt").secret().expose().to_owned());
    }
    assert_eq!(ica.creates(), 1);
    assert_eq!(tokens.len(), 1, "every caller got the one JWT");
    assert_eq!(started.elapsed(), Duration::from_millis(50), "they waited for it");
}

// ----------------------------------------------------------------------- DoCluster

fn cluster_client(cluster: &Arc<DoCluster>) -> docluster_tokens::Client {
    docluster_tokens::Client::builder()
        .base_url("http://cluster.invalid:3033/api")
        .respond_with(fakes::responder(cluster))
        .build()
        .expect("client")
}

async fn list(
    client: docluster_tokens::Client,
) -> Result<docluster_tokens::types::TokensAnswer, docluster_tokens::Error> {
    client.list_tokens().send().await.map(|answer| answer.into_inner())
}

#[tokio::test(start_paused = true)]
async fn docluster_session_logs_in_again_once_when_the_server_forgot_the_token() {
    let cluster = Arc::new(DoCluster::new());
    let session = docluster_tokens::Session::login(cluster_client(&cluster), "admin", "admin")
        .await
        .expect("login");
    let listed = session.run(list).await.expect("listed");
    // The server lists the session's token, bound to this client's address.
    let token = session.token().await.expect("token");
    let live = cluster.live_tokens();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].token, token.secret().expose());
    let (listed_token, owner) = &listed.msg.tokens.0[0];
    assert_eq!(listed_token.expose(), live[0].token);
    assert_eq!((owner.username.as_str(), owner.ip.as_str()), ("admin", "127.0.0.1"));
    // The server restarts and forgets its tokens ("Token not found"): one new login.
    cluster.restart();
    session.run(list).await.expect("listed after a new login");
    assert_eq!(cluster.logins(), 2);
    // The token is bound to another address now: refused, and logging in again would
    // not help.
    cluster.set_client_ip("10.9.8.7");
    let error = session.run(list).await.expect_err("another address");
    assert_eq!(error.category(), Some(Category::AddressBound));
    assert_eq!(cluster.logins(), 2);
    cluster.set_client_ip("127.0.0.1");
    session.logout().await.expect("logged out");
    assert!(cluster.live_tokens().is_empty(), "the server ended the token");
    let after = session.token().await.expect_err("logout is final");
    assert_eq!(after.kind(), ErrorKind::Closed);
}

#[tokio::test(start_paused = true)]
async fn docluster_session_slides_the_servers_window_and_logs_in_after_it() {
    let cluster = Arc::new(DoCluster::new());
    let session = docluster_tokens::Session::login(cluster_client(&cluster), "admin", "admin")
        .await
        .expect("login");
    // Used every 50 s for ten minutes: each use pushes the server's 60 s back.
    for _ in 0..12 {
        tokio::time::advance(Duration::from_secs(50)).await;
        session.run(list).await.expect("still live");
    }
    assert_eq!(cluster.logins(), 1);
    // Idle past the server's window (60 s, not the seed doc's 10 minutes): the server
    // says "Token expired please log in.", and the session logs in once.
    tokio::time::advance(Duration::from_secs(61)).await;
    session.run(list).await.expect("listed after a new login");
    assert_eq!(cluster.logins(), 2);
}

#[tokio::test(start_paused = true)]
async fn docluster_session_resumes_a_saved_token_after_checking_it() {
    let cluster = Arc::new(DoCluster::new());
    let saved = cluster.issue("admin");
    let session = docluster_tokens::Session::resume(cluster_client(&cluster), saved.as_str())
        .await
        .expect("saved token is good");
    assert_eq!(cluster.logins(), 0);
    assert_eq!(cluster.log(), ["POST /api/login +token"]);
    assert_eq!(session.token().await.expect("token").secret().expose(), saved);
    // A check is a login carrying the token: for a dead token (never issued, or past
    // the server's window) the login itself runs, without fields, and its refusal is
    // the answer (vendors.md §3.4), not a word about the token.
    let expired = cluster.issue("admin");
    tokio::time::advance(Duration::from_secs(61)).await;
    for dead in ["STALE", expired.as_str()] {
        let error = docluster_tokens::Session::resume(cluster_client(&cluster), dead)
            .await
            .expect_err("dead");
        assert_eq!(error.vendor_message(), Some("Username not found, please log in."));
        assert_eq!(error.category(), Some(Category::Refused));
    }
}

// The server answers a check of a dead token with the login's own refusal, "Username
// not found, please log in." (status "false", vendors.md §3.4), not a word about the
// token: `resume_or_login` must take that for a dead token too.
#[tokio::test(start_paused = true)]
async fn docluster_session_resume_or_login_logs_in_instead_of_a_dead_token() {
    let cluster = Arc::new(DoCluster::new());
    let expired = cluster.issue("admin");
    tokio::time::advance(Duration::from_secs(61)).await;
    for dead in ["STALE", expired.as_str()] {
        docluster_tokens::Session::resume_or_login(cluster_client(&cluster), dead, "admin", "admin")
            .await
            .expect("logged in instead");
    }
    assert_eq!(cluster.logins(), 2);
}

#[tokio::test(start_paused = true)]
async fn docluster_a_dead_token_is_expired_once_then_not_found() {
    // vendors.md §3.3: the entry is read before the purge, so the first use after
    // expiry or logout says "expired", later ones "not found".
    let cluster = Arc::new(DoCluster::new());
    let idle = cluster.issue("admin");
    tokio::time::advance(Duration::from_secs(61)).await;
    let client = cluster_client(&cluster).with_access_token(idle).expect("client");
    let first = list(client.clone()).await.expect_err("expired");
    assert_eq!(first.category(), Some(Category::Expired));
    let again = list(client).await.expect_err("purged");
    assert_eq!(again.category(), Some(Category::NotFound));
    let session = docluster_tokens::Session::login(cluster_client(&cluster), "admin", "admin")
        .await
        .expect("login");
    let token = session.token().await.expect("token");
    session.logout().await.expect("logged out");
    let client = cluster_client(&cluster)
        .with_access_token(token.secret().clone())
        .expect("client");
    let first = list(client.clone()).await.expect_err("logged out");
    assert_eq!(first.category(), Some(Category::Expired));
    let again = list(client).await.expect_err("purged");
    assert_eq!(again.category(), Some(Category::NotFound));
}

#[tokio::test(start_paused = true)]
async fn docluster_failed_logins_are_refused_once_each() {
    let cluster = Arc::new(DoCluster::new());
    for (user, password) in [("admin", "not-admin"), ("nobody", "admin")] {
        let error = docluster_tokens::Session::login(cluster_client(&cluster), user, password)
            .await
            .expect_err("refused");
        assert_eq!(error.category(), Some(Category::Refused), "{user}");
    }
    assert_eq!(cluster.logins(), 0);
    assert_eq!(cluster.log(), ["POST /api/login", "POST /api/login"]);
}

#[tokio::test(start_paused = true)]
async fn docluster_logout_without_a_cluster_still_ends_the_token() {
    let cluster = Arc::new(DoCluster::new());
    let session = docluster_tokens::Session::login(cluster_client(&cluster), "admin", "admin")
        .await
        .expect("login");
    cluster.set_cluster_created(false);
    // vendors.md §3.4: "Cluster not created", yet the token is invalidated.
    let error = session.logout().await.expect_err("Cluster not created");
    assert!(error.vendor_note().is_some(), "{error}");
    assert!(cluster.live_tokens().is_empty());
}

#[tokio::test(start_paused = true)]
async fn docluster_rewrite_says_wrong_token_and_the_session_logs_in_again() {
    // vendors.md §3.5: "wrong token" for every dead token, "access denied" for a failed
    // login, a 300 s window, and no /api/tokens.
    let cluster = Arc::new(DoCluster::rewrite());
    let session = docluster_tokens::Session::login(cluster_client(&cluster), "admin", "admin")
        .await
        .expect("login");
    let token = session.token().await.expect("token");
    tokio::time::advance(Duration::from_secs(301)).await;
    let client = cluster_client(&cluster)
        .with_access_token(token.secret().clone())
        .expect("client");
    let dead = list(client).await.expect_err("wrong token");
    assert_eq!(dead.vendor_message(), Some("wrong token"));
    assert_eq!(dead.category(), Some(Category::Expired));
    // The session logs in again on "wrong token" (the call itself fails: the rewrite
    // has no /api/tokens).
    let error = session.run(list).await.expect_err("no /api/tokens");
    assert_eq!(error.vendor_message(), Some("wrong api path"));
    assert_eq!(cluster.logins(), 2);
    let error = docluster_tokens::Session::login(cluster_client(&cluster), "admin", "wrong")
        .await
        .expect_err("access denied");
    assert_eq!(error.vendor_message(), Some("access denied"));
    assert_eq!(error.category(), Some(Category::Refused));
}

// ---------------------------------------------------------------------- TigerGraph

const TG_SECRET: &str = "tg-secret-0123456789";

fn generation(server: TgServer) -> tigergraph_tokens::Generation {
    match server {
        TgServer::V3_0 => tigergraph_tokens::Generation::V3_0,
        TgServer::V3_5 => tigergraph_tokens::Generation::V3_5,
        TgServer::V4 => tigergraph_tokens::Generation::V4,
    }
}

/// A connection to `tiger` behind nginx on 14240, with `secret`.
fn tiger_connection(tiger: &Arc<TigerGraph>, secret: &str) -> tigergraph_tokens::Connection {
    let server = tiger.clone();
    tigergraph_tokens::Connection::builder("http://tg.invalid:14240")
        .secret(secret)
        .configure(move |builder| builder.respond_with(fakes::responder(&server)))
        .build()
        .expect("connection")
}

fn tiger(server: TgServer) -> (Arc<TigerGraph>, tigergraph_tokens::Connection) {
    let tiger = Arc::new(TigerGraph::new(server).secret(TG_SECRET));
    let connection = tiger_connection(&tiger, TG_SECRET);
    (tiger, connection)
}

#[tokio::test]
async fn tigergraph_connection_detects_each_generation_and_remembers_it() {
    for server in [TgServer::V4, TgServer::V3_5, TgServer::V3_0] {
        let (tiger, tg) = tiger(server);
        // The seed task: get with a lifetime, its expiry, refresh, delete skipping missing.
        let token = tg.get(Some(Duration::from_secs(3600))).await.expect("token");
        let expires = token.expires_at().expect("an expiry");
        assert!(
            off(expires, Duration::from_secs(3600)) < Duration::from_secs(5),
            "{server:?}: the lifetime is an hour, in the server's unit"
        );
        assert_eq!(tg.generation().await, Some(generation(server)));
        // On 3.0–3.4 the answer holds the lifetime where the expiry should be (a known
        // bug); the connection reads it as such.
        let refreshed = tg
            .refresh(None, Some(Duration::from_secs(7200)))
            .await
            .expect("refreshed");
        let expires = refreshed.expires_at().expect("an expiry");
        assert!(
            off(expires, Duration::from_secs(7200)) < Duration::from_secs(5),
            "{server:?}: refreshed for two hours"
        );
        tg.delete(None, true).await.expect("deleted");
        // Deleting again: missing on 3.x, and skipped only when asked (4.x's block list
        // never reports a token missing).
        let again = tg.delete(Some(refreshed.secret().clone()), false).await;
        if server != TgServer::V4 {
            let error = again.expect_err("gone");
            assert_eq!(error.category(), Some(Category::NotFound));
            tg.delete(Some(refreshed.secret().clone()), true)
                .await
                .expect("skip missing");
        }
        // Detection happened once: later calls go straight to the generation's endpoints.
        let log = tiger.log();
        let count = |what: &dyn Fn(&String) -> bool| log.iter().filter(|r| what(r)).count();
        let gsql = count(&|r| r.contains("/gsql/"));
        let restpp = count(&|r| r.contains("/requesttoken"));
        let probes = count(&|r| r.starts_with("GET") && r.contains("/requesttoken"));
        match server {
            // 4.x answered the first try: nothing went to REST++.
            TgServer::V4 => assert_eq!((gsql, restpp), (log.len(), 0), "{log:?}"),
            // 3.5 took the JSON form: one 4.x try, no probe.
            TgServer::V3_5 => assert_eq!((gsql, probes), (1, 0), "{log:?}"),
            // 3.0 refused the JSON form: one 4.x try and one probe, then its own forms.
            TgServer::V3_0 => assert_eq!((gsql, probes), (1, 1), "{log:?}"),
        }
        assert!(log.len() >= 4, "{server:?}: {log:?}");
    }
}

#[tokio::test]
async fn tigergraph_3_0_is_detected_whatever_it_answers_a_wrong_secret() {
    // vendors.md §1.3: what a 3.0–3.4 server answers to the 3.5 JSON form (a wrong
    // secret to it) is undocumented: every plausible answer.
    for answer in TgBadSecret::ALL {
        let (tiger, tg) = tiger(TgServer::V3_0);
        tiger.set_bad_secret(answer);
        tg.get(Some(Duration::from_secs(3600)))
            .await
            .unwrap_or_else(|e| panic!("{answer:?}: {e}"));
        assert_eq!(
            tg.generation().await,
            Some(tigergraph_tokens::Generation::V3_0),
            "{answer:?}"
        );
    }
}

#[tokio::test]
async fn tigergraph_wrong_secret_is_refused_on_every_generation() {
    for server in [TgServer::V4, TgServer::V3_5, TgServer::V3_0] {
        for answer in TgBadSecret::ALL {
            let tiger = Arc::new(TigerGraph::new(server).secret(TG_SECRET));
            tiger.set_bad_secret(answer);
            let tg = tiger_connection(&tiger, "tg-secret-WRONG-00000");
            tg.get(Some(Duration::from_secs(3600)))
                .await
                .expect_err("a wrong secret");
            assert!(tiger.tokens().is_empty(), "{server:?} {answer:?}");
        }
    }
}

#[tokio::test]
async fn tigergraph_missing_token_is_skipped_in_either_wording() {
    for server in [TgServer::V3_0, TgServer::V3_5] {
        for wording in [TgMissingToken::Rest3300, TgMissingToken::DoesntExist] {
            let (tiger, tg) = tiger(server);
            tiger.set_missing_token(wording);
            let token = tg.get(None).await.expect("token");
            tg.delete(None, true).await.expect("deleted");
            let error = tg.delete(Some(token.secret().clone()), false).await.expect_err("gone");
            assert_eq!(error.category(), Some(Category::NotFound), "{server:?} {wording:?}");
            tg.delete(Some(token.secret().clone()), true).await.expect("skipped");
        }
    }
}

#[tokio::test]
async fn tigergraph_3_5_refuses_the_3_0_forms() {
    let tiger = Arc::new(TigerGraph::new(TgServer::V3_5).secret(TG_SECRET));
    let client = tigergraph_tokens::Client::builder()
        .base_url("http://tg.invalid:14240/restpp")
        .secret(TG_SECRET)
        .respond_with(fakes::responder(&tiger))
        .build()
        .expect("client");
    // vendors.md §1.2 B: "GET /requesttoken endpoint is dropped".
    let dropped = client.request_token_query().send().await.expect_err("dropped");
    assert_eq!(dropped.category(), Some(Category::EndpointAbsent));
    assert_eq!(dropped.vendor_code(), Some("REST-1000"));
    // vendors.md §1.2 B: query-string parameters on PUT give REST-1101.
    let query = client
        .refresh_token_query()
        .token("tgtoken0000000000000000000000000")
        .send()
        .await
        .expect_err("a query string");
    assert_eq!(query.vendor_code(), Some("REST-1101"));
}

#[tokio::test(start_paused = true)]
async fn tigergraph_source_gets_a_new_token_when_the_server_no_longer_has_it() {
    let (tiger, tg) = tiger(TgServer::V3_5);
    let first = tg.get(Some(Duration::from_secs(900))).await.expect("token");
    // Dropped by an administrator, then past its time: the refresh is answered "doesn't
    // exist", and the connection gets a new token.
    tiger.drop_all_tokens();
    tokio::time::advance(Duration::from_secs(901)).await;
    let next = tg.token().await.expect("a new token");
    assert_ne!(next, first);
    let held: Vec<String> = tiger.tokens().into_iter().map(|(t, _)| t).collect();
    assert_eq!(held, [next.secret().expose().to_owned()]);
}

#[tokio::test]
async fn tigergraph_without_restpp_authentication_says_so() {
    for server in [TgServer::V4, TgServer::V3_5, TgServer::V3_0] {
        let tiger = Arc::new(TigerGraph::new(server).secret(TG_SECRET).restpp_auth(false));
        let tg = tiger_connection(&tiger, TG_SECRET);
        let error = tg.get(None).await.expect_err("no token endpoint");
        assert_eq!(error.category(), Some(Category::EndpointAbsent), "{server:?}");
    }
}

#[tokio::test]
async fn tigergraph_3_0_doc_sample_answer_reads_as_the_lifetime_asked_for() {
    let (tiger, tg) = tiger(TgServer::V3_0);
    tiger.set_raw_post(TgRawPost::DocSample);
    let token = tg.get(Some(Duration::from_secs(3600))).await.expect("token");
    let expires = token.expires_at().expect("the lifetime asked for");
    assert!(off(expires, Duration::from_secs(3600)) < Duration::from_secs(5));
}

#[tokio::test(start_paused = true)]
async fn tigergraph_4x_refresh_never_drops_the_jwt_it_hands_out() {
    let (tiger, tg) = tiger(TgServer::V4);
    let first = tg.get(Some(Duration::from_secs(3600))).await.expect("jwt");
    // The same second, the same lifetime: the same JWT (vendors.md §6, no `jti`).
    let same = tg
        .refresh(None, Some(Duration::from_secs(3600)))
        .await
        .expect("refreshed");
    assert_eq!(same.secret(), first.secret());
    // Any drop runs in a task of its own: let it run before looking.
    tokio::task::yield_now().await;
    assert!(
        tiger.jwt_valid(same.secret().expose()),
        "dropping the old one killed the new"
    );
    // A second later: a new JWT, and the one it replaces is dropped.
    tokio::time::advance(Duration::from_secs(1)).await;
    let next = tg
        .refresh(None, Some(Duration::from_secs(3600)))
        .await
        .expect("refreshed");
    assert_ne!(next.secret(), first.secret());
    assert!(tiger.jwt_valid(next.secret().expose()));
    // The drop runs once the new JWT is handed out, in a task of its own.
    tokio::task::yield_now().await;
    assert!(!tiger.jwt_valid(first.secret().expose()));
}

#[tokio::test(start_paused = true)]
async fn tigergraph_connection_is_a_token_source() {
    // As a token source on 3.5+: one token, kept; refreshed (the same token, extended,
    // never a new one per call) once due, ten minutes before it expires.
    let (tiger, tg) = tiger(TgServer::V3_5);
    let source: Arc<dyn api_tokens_runtime::TokenSource> = Arc::new(tg);
    let first = source.token().await.expect("token");
    for _ in 0..10 {
        assert_eq!(source.token().await.expect("cached"), first);
    }
    // Detection asks /gsql/v1/tokens first (a 404 on 3.x): count REST++'s requests.
    let count = |log: Vec<String>, method: &str| {
        log.iter()
            .filter(|l| l.starts_with(method) && l.contains("/requesttoken"))
            .count()
    };
    let creates = |log| count(log, "POST");
    let refreshes = |log| count(log, "PUT");
    assert_eq!(creates(tiger.log()), 1);
    // Asked for no lifetime: the server's default of 30 days (vendors.md §1.2 B).
    let left = off(first.expires_at().expect("expiry"), Duration::ZERO);
    tokio::time::advance(left.saturating_sub(Duration::from_secs(540))).await;
    let served = source.token().await.expect("served while refreshed");
    assert_eq!(served.secret(), first.secret());
    let refreshed = changed(&first, || source.token()).await;
    assert_eq!(refreshed.secret(), first.secret(), "3.5 extends the same token");
    assert!(refreshed.expires_at() > first.expires_at());
    assert_eq!((creates(tiger.log()), refreshes(tiger.log())), (1, 1));
}

/// An answer that takes its time.
type FakeAnswer = std::pin::Pin<Box<dyn Future<Output = http::Response<Vec<u8>>> + Send>>;

/// A failure put ahead of the TigerGraph fake.
#[derive(Clone, Copy, Debug)]
enum TgFault {
    /// The request is never answered: the operation timeout ends it.
    Hang,
    /// HTTP 500 with nginx's HTML page, whatever was asked.
    ServerError,
    /// This status with nginx's HTML page (502: its upstream, the GSQL server, is down).
    Status(u16),
}

/// A connection to `tiger` (5 s operation timeout, one attempt) whose requests first
/// meet `fault`, on tokio's clock.
fn tiger_with_fault(
    tiger: &Arc<TigerGraph>,
    fault: impl Fn(&reqwest::Request) -> Option<TgFault> + Send + Sync + 'static,
) -> tigergraph_tokens::Connection {
    let answer = Arc::new(fakes::async_responder(tiger));
    let fault = Arc::new(fault);
    tigergraph_tokens::Connection::builder("http://tg.invalid:14240")
        .secret(TG_SECRET)
        .configure(move |builder| {
            let (answer, fault) = (answer.clone(), fault.clone());
            builder
                .operation_timeout(Duration::from_secs(5))
                .max_retries(0)
                .respond_with_async(move |request| -> FakeAnswer {
                    match fault(request) {
                        Some(TgFault::Hang) => Box::pin(async {
                            tokio::time::sleep(Duration::from_secs(3600)).await;
                            http::Response::new(Vec::new())
                        }),
                        Some(TgFault::ServerError) => Box::pin(async {
                            http::Response::builder()
                                .status(500)
                                .header("content-type", "text/html")
                                .body(b"<html><body><h1>500 Internal Server Error</h1></body></html>".to_vec())
                                .expect("a response")
                        }),
                        Some(TgFault::Status(status)) => Box::pin(async move {
                            http::Response::builder()
                                .status(status)
                                .header("content-type", "text/html")
                                .body(
                                    format!("<html><body><h1>{status}</h1><hr><center>nginx</center></body></html>")
                                        .into_bytes(),
                                )
                                .expect("a response")
                        }),
                        None => answer(request),
                    }
                })
        })
        .build()
        .expect("connection")
}

fn is_request(request: &reqwest::Request, method: &str, path_end: &str) -> bool {
    request.method().as_str() == method && request.url().path().ends_with(path_end)
}

#[tokio::test(start_paused = true)]
async fn tigergraph_detection_ends_at_a_timeout_and_is_tried_again() {
    // The 3.5 JSON form unanswered: no probe, no generation remembered.
    for server in [TgServer::V3_0, TgServer::V3_5] {
        let tiger = Arc::new(TigerGraph::new(server).secret(TG_SECRET));
        let hang = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let hanging = hang.clone();
        let tg = tiger_with_fault(&tiger, move |r| {
            (hanging.load(std::sync::atomic::Ordering::SeqCst) && is_request(r, "POST", "/requesttoken"))
                .then_some(TgFault::Hang)
        });
        let error = tg.get(Some(Duration::from_secs(3600))).await.expect_err("a timeout");
        assert_eq!(error.kind(), ErrorKind::Timeout, "{server:?}: {error}");
        assert_eq!(tg.generation().await, None, "{server:?}");
        let probes = tiger.log().iter().filter(|l| l.starts_with("GET")).count();
        assert_eq!(probes, 0, "{server:?}: {:?}", tiger.log());
        // Answered again: detected as if nothing had happened.
        hang.store(false, std::sync::atomic::Ordering::SeqCst);
        tg.get(Some(Duration::from_secs(3600))).await.expect("a token");
        assert_eq!(tg.generation().await, Some(generation(server)));
    }
}

#[tokio::test(start_paused = true)]
async fn tigergraph_an_unanswered_probe_is_the_error_not_the_refusal() {
    // A 3.0–3.4 server refuses the JSON form whatever the secret (§1.3): when the probe
    // that would tell it from a refusing 3.5+ server times out, the secret is not
    // called wrong, and nothing is remembered.
    for answer in TgBadSecret::ALL {
        let tiger = Arc::new(TigerGraph::new(TgServer::V3_0).secret(TG_SECRET));
        tiger.set_bad_secret(answer);
        let tg = tiger_with_fault(&tiger, |r| {
            is_request(r, "GET", "/requesttoken").then_some(TgFault::Hang)
        });
        let error = tg.get(Some(Duration::from_secs(3600))).await.expect_err("a timeout");
        assert_eq!(error.kind(), ErrorKind::Timeout, "{answer:?}: {error}");
        assert_eq!(error.category(), None, "{answer:?}");
        assert_eq!(tg.generation().await, None, "{answer:?}");
        assert!(tiger.tokens().is_empty(), "{answer:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn tigergraph_a_proxy_in_trouble_tells_nothing_about_the_generation() {
    // nginx routes `/requesttoken` to the GSQL server (vendors.md §1.1): with it down,
    // nginx answers 502 (503, 504 alike). Neither the JSON form's answer nor the
    // probe's says which generation is behind it; 405 is no generation's answer.
    for server in [TgServer::V3_0, TgServer::V3_5] {
        for (status, probe_only) in [(502, false), (503, false), (504, false), (502, true), (405, true)] {
            let tiger = Arc::new(TigerGraph::new(server).secret(TG_SECRET));
            let trouble = Arc::new(std::sync::atomic::AtomicBool::new(true));
            let on = trouble.clone();
            let tg = tiger_with_fault(&tiger, move |r| {
                let hit = r.url().path().ends_with("/requesttoken") && (!probe_only || r.method() == "GET");
                (on.load(std::sync::atomic::Ordering::SeqCst) && hit).then_some(TgFault::Status(status))
            });
            let case = format!("{server:?}, {status}, probe only: {probe_only}");
            if server == TgServer::V3_5 && probe_only {
                // 3.5 takes the JSON form: it is never probed.
                continue;
            }
            let error = tg.get(Some(Duration::from_secs(3600))).await.expect_err("in trouble");
            assert_eq!(error.http_status().map(|s| s.as_u16()), Some(status), "{case}: {error}");
            assert_eq!(error.category(), None, "{case}");
            assert_eq!(tg.generation().await, None, "{case}: nothing is remembered");
            // Back: detected as if nothing had happened.
            trouble.store(false, std::sync::atomic::Ordering::SeqCst);
            tg.get(Some(Duration::from_secs(3600))).await.expect("a token");
            assert_eq!(tg.generation().await, Some(generation(server)), "{case}");
        }
    }
}

#[tokio::test]
async fn tigergraph_4x_refusing_the_secret_ends_detection_with_one_request() {
    // vendors.md §1.3 gives the body of a 4.x authentication failure, not its status.
    for status in [200, 401, 403] {
        let tiger = Arc::new(TigerGraph::new(TgServer::V4).secret(TG_SECRET));
        tiger.set_gsql_auth_status(status);
        let tg = tiger_connection(&tiger, "tg-secret-WRONG-00000");
        let error = tg.get(None).await.expect_err("refused");
        assert!(
            error.to_string().contains("Authentication failed."),
            "{status}: {error}"
        );
        if status == 200 {
            // The only status the spec documents for it (the envelope's `error`).
            assert_eq!(error.category(), Some(Category::Refused), "{error}");
        }
        assert_eq!(
            tiger.log().len(),
            1,
            "{status}: nothing after 4.x refused: {:?}",
            tiger.log()
        );
        assert_eq!(tg.generation().await, None);
    }
}

#[tokio::test(start_paused = true)]
async fn tigergraph_a_refresh_failing_on_the_server_is_not_answered_with_a_new_token() {
    // Only a refresh refused or of a token the server lacks is replaced by a new token;
    // a server error is not a reason to create one.
    let tiger = Arc::new(TigerGraph::new(TgServer::V3_5).secret(TG_SECRET));
    let refreshes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let tried = refreshes.clone();
    let tg = tiger_with_fault(&tiger, move |r| {
        let refresh = is_request(r, "PUT", "/requesttoken");
        if refresh {
            tried.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        refresh.then_some(TgFault::ServerError)
    });
    let first = tg.get(Some(Duration::from_secs(900))).await.expect("token");
    // Due (600 s ahead of expiry), still valid: served while its refresh fails.
    tokio::time::advance(Duration::from_secs(400)).await;
    for _ in 0..5 {
        if let Ok(token) = tg.token().await {
            assert_eq!(token, first);
        }
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
    let creates = tiger.log().iter().filter(|l| *l == "POST /restpp/requesttoken").count();
    assert_eq!(creates, 1, "{:?}", tiger.log());
    // The refresh was tried (and failed with the 500), and the token is still served.
    assert!(
        refreshes.load(std::sync::atomic::Ordering::SeqCst) >= 1,
        "no refresh was tried"
    );
    assert!(tg.token().await.is_ok_and(|t| t == first), "still served while valid");
}

#[tokio::test]
async fn tigergraph_report_refused_replaces_only_the_current_token() {
    let (tiger, tg) = tiger(TgServer::V3_5);
    let first = tg.token().await.expect("token");
    let stranger = api_tokens_runtime::Token::new(Secret::from("tgtoken-not-this-connections-000"), None);
    assert!(!tg.report_refused(&stranger), "not the current token");
    assert_eq!(tg.token().await.expect("kept"), first);
    assert!(tg.report_refused(&first), "the current token");
    let next = tg.token().await.expect("a new token");
    assert_ne!(next.secret(), first.secret());
    let creates = tiger.log().iter().filter(|l| *l == "POST /restpp/requesttoken").count();
    assert_eq!(creates, 2, "{:?}", tiger.log());
}

#[tokio::test]
async fn tigergraph_3_0_refresh_reads_each_plausible_expiration() {
    for answer in [TgRefreshExpiration::Lifetime, TgRefreshExpiration::Zero] {
        let (tiger, tg) = tiger(TgServer::V3_0);
        tiger.set_refresh_expiration(answer);
        tg.get(Some(Duration::from_secs(3600))).await.expect("token");
        let refreshed = tg
            .refresh(None, Some(Duration::from_secs(7200)))
            .await
            .expect("refreshed");
        let expires = refreshed.expires_at().expect("the lifetime asked for");
        assert!(
            off(expires, Duration::from_secs(7200)) < Duration::from_secs(5),
            "{answer:?}"
        );
        // Asked for no lifetime: the server's default when it says so (§1.2 A: the
        // lifetime), else unknown, never "now" or "forever".
        let refreshed = tg.refresh(None, None).await.expect("refreshed");
        match answer {
            TgRefreshExpiration::Lifetime => {
                let expires = refreshed.expires_at().expect("the default lifetime");
                assert!(off(expires, Duration::from_secs(2_592_000)) < Duration::from_secs(5));
            }
            TgRefreshExpiration::Zero => assert_eq!(refreshed.expires_at(), None),
        }
    }
}

#[tokio::test]
async fn tigergraph_4x_expiry_comes_from_the_jwt_whatever_the_jvm_time_zone() {
    // The `expiration` beside the JWT is Java's `Date.toString()`, in the JVM's zone:
    // not readable outside UTC, so the JWT's `exp` decides.
    for (zone, offset) in [("UTC", 0), ("CEST", 7200), ("IST", 19_800)] {
        let (tiger, tg) = tiger(TgServer::V4);
        tiger.set_jvm_time_zone(zone, Duration::from_secs(offset));
        let token = tg.get(None).await.expect("jwt");
        let expires = token.expires_at().expect("the exp claim");
        assert!(
            off(expires, Duration::from_secs(7 * 86_400)) < Duration::from_secs(5),
            "{zone}: 4.x's default lifetime is 7 days (§1.2 C)"
        );
    }
}

#[test]
fn tigergraph_connection_builder_prints_its_settings_without_secrets() {
    let builder = tigergraph_tokens::Connection::builder("http://tg.invalid:14240")
        .secret(TG_SECRET)
        .basic("tigergraph", "tg-password-0123456789")
        .graph("social")
        .lifetime(Duration::from_secs(3600));
    let text = format!("{builder:?}");
    assert!(text.starts_with("ConnectionBuilder"), "{text}");
    assert!(text.contains("social") && text.contains("3600"), "{text}");
    assert!(!text.contains(TG_SECRET) && !text.contains("tg-password"), "{text}");
}

// -------------------------------------------------------------------------- Fastly

const FASTLY_USER: &str = "me@example.com";
const FASTLY_PASSWORD: &str = "password-123";

/// An account holding `deploy`, made a day ago to live `lifetime` (forever: `None`),
/// and a client with the account's login.
fn fastly_account_with(
    fastly: Fastly,
    lifetime: Option<Duration>,
) -> (Arc<Fastly>, FastlyToken, fastly_tokens::Client) {
    let fastly = Arc::new(fastly);
    let day = Duration::from_secs(86_400);
    let old = fastly.seed(FastlySeed {
        name: Some("deploy".to_owned()),
        scope: Some("purge_select purge_all".to_owned()),
        services: vec!["s1".to_owned(), "s2".to_owned()],
        created_ago: day,
        expires_in: lifetime.map(|l| l.saturating_sub(day)),
    });
    let login = fastly_tokens::Client::builder()
        .base_url("http://fastly.invalid")
        .username_and_password(FASTLY_USER, FASTLY_PASSWORD)
        .max_retries(0)
        .respond_with(fakes::responder(&fastly))
        .build()
        .expect("client");
    (fastly, old, login)
}

fn fastly_account() -> (Arc<Fastly>, FastlyToken, fastly_tokens::Client) {
    fastly_account_with(
        Fastly::new(FASTLY_USER, FASTLY_PASSWORD),
        Some(Duration::from_secs(90 * 86_400)),
    )
}

fn live_keys(fastly: &Fastly) -> Vec<String> {
    fastly.live().into_iter().map(|t| t.key).collect()
}

#[tokio::test]
async fn fastly_rotation_creates_confirms_then_revokes() {
    let (fastly, old, login) = fastly_account();
    let rotation = fastly_tokens::Rotation::new(login, old.key.as_str())
        .await
        .expect("rotation");
    let fresh = rotation.rotate().await.expect("rotated");
    let live = fastly.live();
    assert_eq!(live.len(), 1, "the old token is revoked");
    let new = &live[0];
    assert_eq!(new.key, fresh.secret().expose());
    assert_ne!(new.key, old.key);
    assert_eq!(
        (new.name.as_deref(), new.scope.as_str(), new.services.as_slice()),
        (
            Some("deploy"),
            "purge_select purge_all",
            ["s1".to_owned(), "s2".to_owned()].as_slice()
        )
    );
    assert!(
        new.expires_at.is_some(),
        "an expiring token is replaced by an expiring one"
    );
    let log = fastly.log();
    let create = log.iter().position(|l| l == "POST /tokens").expect("created");
    let revoke = log.iter().position(|l| l == "DELETE /tokens/self").expect("revoked");
    assert!(create < revoke, "{log:?}");
}

#[tokio::test]
async fn fastly_rotation_loses_no_token_when_creation_or_confirmation_fails() {
    let (fastly, old, login) = fastly_account();
    let rotation = fastly_tokens::Rotation::new(login, old.key.as_str())
        .await
        .expect("rotation");
    fastly.fail_create(true);
    let error = rotation.rotate().await.expect_err("creation fails");
    assert_eq!(error.step(), RotationStep::Create);
    fastly.fail_create(false);
    // The new token does not read itself back, or reads back as another: it is revoked.
    for self_read in [FastlySelfRead::Refused, FastlySelfRead::OtherId] {
        fastly.faults_for_new_tokens(FastlyFaults {
            self_read,
            revoke_fails: false,
        });
        let error = rotation.rotate().await.expect_err("confirmation fails");
        assert_eq!(error.step(), RotationStep::Confirm, "{self_read:?}");
        assert!(error.unrevoked_new().is_none(), "{self_read:?}: revoked");
        assert_eq!(live_keys(&fastly), std::slice::from_ref(&old.key), "{self_read:?}");
    }
    // Neither confirmed nor revoked: handed back, and still live on the server.
    fastly.faults_for_new_tokens(FastlyFaults {
        self_read: FastlySelfRead::Refused,
        revoke_fails: true,
    });
    let error = rotation.rotate().await.expect_err("confirmation fails");
    let unrevoked = error.unrevoked_new().expect("handed back");
    assert!(live_keys(&fastly).contains(&unrevoked.token.secret().expose().to_owned()));
    assert_eq!(rotation.unrevoked().len(), 1);
    // The old token was never revoked, and is still current.
    assert!(live_keys(&fastly).contains(&old.key));
    assert_eq!(rotation.token().await.expect("old").secret().expose(), old.key);
}

/// A rotation of the account's `deploy` token, which Fastly fails to revoke (400).
async fn fastly_rotation_failing_to_revoke_the_old_token() -> (Arc<Fastly>, FastlyToken, fastly_tokens::Rotation) {
    let (fastly, old, login) = fastly_account();
    let rotation = fastly_tokens::Rotation::new(login, old.key.as_str())
        .await
        .expect("rotation");
    fastly.set_faults(
        &old.key,
        FastlyFaults {
            revoke_fails: true,
            ..FastlyFaults::default()
        },
    );
    (fastly, old, rotation)
}

#[tokio::test]
async fn fastly_rotation_keeps_the_new_token_when_revoking_the_old_fails() {
    let (fastly, old, rotation) = fastly_rotation_failing_to_revoke_the_old_token().await;
    let error = rotation.rotate().await.expect_err("the old token stays");
    assert_eq!(error.step(), RotationStep::RevokeOld);
    let current = error.current().expect("rotated").clone();
    assert_eq!(rotation.token().await.expect("current"), current);
    assert_eq!(error.unrevoked_old_id(), Some(old.id.as_str()));
    assert_eq!(rotation.unrevoked_old_ids(), std::slice::from_ref(&old.id));
    // The next rotation tries again; failing again, the id stays pending.
    rotation.rotate().await.expect("rotated again");
    assert_eq!(rotation.unrevoked_old_ids(), std::slice::from_ref(&old.id));
    // The one after revokes it.
    fastly.set_faults(&old.key, FastlyFaults::default());
    let next = rotation.rotate().await.expect("rotated again");
    assert_eq!(live_keys(&fastly), [next.secret().expose().to_owned()]);
    assert!(rotation.unrevoked_old_ids().is_empty());
}

#[tokio::test]
async fn fastly_an_old_token_revoked_meanwhile_counts_as_revoked() {
    let (fastly, old, rotation) = fastly_rotation_failing_to_revoke_the_old_token().await;
    rotation.rotate().await.expect_err("the old token stays");
    // Revoked by someone else before the next rotation: Fastly answers 404 for its id
    // (vendors.md §4), which is what the retry wanted.
    fastly.set_faults(&old.key, FastlyFaults::default());
    let own = fastly_tokens::Client::builder()
        .token(old.key.as_str())
        .respond_with(fakes::responder(&fastly))
        .build()
        .expect("client");
    own.revoke_token_current().send().await.expect("revoked by its owner");
    let next = rotation.rotate().await.expect("rotated again");
    assert!(
        rotation.unrevoked_old_ids().is_empty(),
        "{:?}",
        rotation.unrevoked_old_ids()
    );
    assert_eq!(live_keys(&fastly), [next.secret().expose().to_owned()]);
}

#[tokio::test(start_paused = true)]
async fn fastly_rotation_as_a_token_source_rotates_before_expiry() {
    // Made a day ago to live a day and two hours: two hours left.
    let (fastly, old, login) = fastly_account_with(
        Fastly::new(FASTLY_USER, FASTLY_PASSWORD),
        Some(Duration::from_secs(26 * 3600)),
    );
    let rotation = fastly_tokens::Rotation::new(login, old.key.as_str())
        .await
        .expect("rotation");
    let first = rotation.token().await.expect("current");
    assert_eq!(first.secret().expose(), old.key);
    // Half of what is left: rotated then, without being asked to.
    tokio::time::advance(Duration::from_secs(3601)).await;
    let token = changed(&first, || rotation.token()).await;
    // The replacement lives as long as the old one was made to (26 h).
    let left = token
        .expires_at()
        .expect("expiry")
        .duration_since(SystemTime::now())
        .expect("future");
    assert!(left > Duration::from_secs(25 * 3600), "{left:?}");
    assert_eq!(live_keys(&fastly), [token.secret().expose().to_owned()]);
}

#[tokio::test]
async fn fastly_report_refused_rotates_only_for_the_current_token() {
    let (fastly, old, login) = fastly_account();
    let rotation = fastly_tokens::Rotation::new(login, old.key.as_str())
        .await
        .expect("rotation");
    let first = rotation.token().await.expect("current");
    let stranger = api_tokens_runtime::Token::new(Secret::from("not-this-rotations-token-0000000"), None);
    assert!(!rotation.report_refused(&stranger), "not the current token");
    assert_eq!(rotation.token().await.expect("kept"), first);
    assert!(!fastly.log().iter().any(|l| l == "POST /tokens"), "{:?}", fastly.log());
    // The current token refused: the next call rotates it.
    assert!(rotation.report_refused(&first), "the current token");
    let next = rotation.token().await.expect("rotated");
    assert_ne!(next.secret(), first.secret());
    assert_eq!(live_keys(&fastly), [next.secret().expose().to_owned()]);
}

#[tokio::test]
async fn fastly_two_factor_account_needs_a_one_time_code_per_creation() {
    let (fastly, old, login) = fastly_account_with(Fastly::new(FASTLY_USER, FASTLY_PASSWORD).otp("735921"), None);
    let rotation = fastly_tokens::Rotation::new(login, old.key.as_str())
        .await
        .expect("reading the token needs no code");
    let error = rotation.rotate().await.expect_err("no code");
    assert_eq!(error.step(), RotationStep::Create);
    assert_eq!(error.error().vendor_code(), Some("2fa.verify"));
    assert_eq!(error.error().category(), Some(Category::Refused));
    let wrong = rotation.one_time_codes(|| async { Ok(Secret::new("000000")) });
    let error = wrong.rotate().await.expect_err("a wrong code");
    assert_eq!(error.error().vendor_code(), Some("2fa.verify"));
    let right = wrong.one_time_codes(|| async { Ok(Secret::new("735921")) });
    right.rotate().await.expect("with the code");
    assert_eq!(fastly.live().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn fastly_expired_token_is_refused() {
    let (_fastly, old, login) = fastly_account_with(
        Fastly::new(FASTLY_USER, FASTLY_PASSWORD),
        Some(Duration::from_secs(86_400 + 3600)),
    );
    tokio::time::advance(Duration::from_secs(3601)).await;
    // vendors.md §4.3: expired tokens get HTTP 401 "Missing or expired token."
    let error = fastly_tokens::Rotation::new(login, old.key.as_str())
        .await
        .expect_err("expired");
    assert_eq!(error.category(), Some(Category::Expired));
    assert_eq!(error.vendor_message(), Some("Missing or expired token."));
}

#[tokio::test]
async fn fastly_rate_limit_headers_come_on_non_get_answers() {
    let (_fastly, old, login) = fastly_account();
    let created = login
        .create_token()
        .body(fastly_tokens::TokenCreateForm::new().name("rate"))
        .send()
        .await
        .expect("created");
    let limit = fastly_tokens::RateLimit::from_headers(created.headers()).expect("rate-limit headers");
    assert_eq!(limit.remaining, Some(999));
    let listed = login
        .with_token(old.key.as_str())
        .expect("client")
        .list_tokens_user()
        .send()
        .await
        .expect("listed");
    assert_eq!(fastly_tokens::RateLimit::from_headers(listed.headers()), None);
    assert_eq!(listed.into_inner().len(), 2);
}

// ------------------------------------------------------------------------- Insight

const INSIGHT_COOKIE: &str = "PLAY_SESSION=abcdef123";
const INSIGHT_UID: &str = "ldap@user.0";

fn insight_account() -> (Arc<Insight>, String, insight_tokens::Client) {
    let insight = Arc::new(Insight::new().session(INSIGHT_COOKIE, INSIGHT_UID));
    let old = insight.seed(INSIGHT_UID, Duration::from_secs(86_400));
    let creator = insight_tokens::Client::builder()
        .session_cookie(INSIGHT_COOKIE)
        .max_retries(0)
        .respond_with(fakes::responder(&insight))
        .build()
        .expect("client");
    (insight, old, creator)
}

fn insight_live(insight: &Insight) -> Vec<String> {
    insight.tokens().into_iter().map(|t| t.token).collect()
}

#[tokio::test]
async fn insight_rotation_creates_confirms_then_revokes() {
    let (insight, old, creator) = insight_account();
    let rotation = insight_tokens::Rotation::new(creator, old.as_str()).expect("rotation");
    let fresh = rotation.rotate().await.expect("rotated");
    let new = fresh.secret().expose().to_owned();
    assert_eq!(new.len(), 256);
    assert!(new.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    assert_eq!(
        insight.log(),
        [
            "POST /api/token -".to_owned(),
            format!("GET /api/token {new}"),
            format!("DELETE /api/token {old}")
        ]
    );
    assert_eq!(insight_live(&insight), [new]);
}

#[tokio::test]
async fn insight_rotation_loses_no_token_when_a_step_fails() {
    let (insight, old, creator) = insight_account();
    let rotation = insight_tokens::Rotation::new(creator, old.as_str()).expect("rotation");
    insight.fail_create(true);
    let error = rotation.rotate().await.expect_err("creation fails");
    assert_eq!(error.step(), RotationStep::Create);
    insight.fail_create(false);
    // The new token is refused when it lists tokens: revoked, the old one stays.
    insight.fail_confirm(true);
    let error = rotation.rotate().await.expect_err("confirmation fails");
    assert_eq!(error.step(), RotationStep::Confirm);
    assert!(error.unrevoked_new().is_none(), "revoked");
    assert_eq!(insight_live(&insight), std::slice::from_ref(&old));
    assert!(!insight.log().contains(&format!("DELETE /api/token {old}")));
    insight.fail_confirm(false);
    // Revoking the old token fails: the new one is current, the old one still live.
    insight.fail_revoke(true);
    let error = rotation.rotate().await.expect_err("revocation fails");
    assert_eq!(error.step(), RotationStep::RevokeOld);
    let current = error.current().expect("rotated").clone();
    assert_eq!(rotation.token().await.expect("current"), current);
    assert_eq!(insight_live(&insight), [old, current.secret().expose().to_owned()]);
}

#[tokio::test]
async fn insight_lists_the_tokens_it_created() {
    let (insight, old, creator) = insight_account();
    let made = creator.create_token().send().await.expect("created").into_inner().token;
    let listed = creator
        .with_api_token(made.clone())
        .expect("client")
        .list_tokens()
        .send()
        .await
        .expect("listed")
        .into_inner();
    let tokens: Vec<&str> = listed.iter().map(|t| t.api_token.expose()).collect();
    assert_eq!(tokens, [old.as_str(), made.expose()]);
    assert!(listed.iter().all(|t| t.uid == INSIGHT_UID));
    assert!(listed.iter().all(|t| t.created.is_some() && t.last_used.is_some()));
    // A revoked token is refused: "Credentials required".
    creator
        .with_api_token(made.clone())
        .expect("client")
        .delete_token()
        .send()
        .await
        .expect("revoked");
    let error = creator
        .with_api_token(made)
        .expect("client")
        .list_tokens()
        .send()
        .await
        .expect_err("revoked");
    assert_eq!(error.vendor_message(), Some("Credentials required"));
    assert_eq!(insight.tokens().len(), 1);
}

// ------------------------------------------------------ The fakes' own answers, raw

/// A request as a client would send it.
fn raw(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> reqwest::Request {
    let mut request = reqwest::Request::new(method.parse().expect("method"), url.parse().expect("url"));
    for (name, value) in headers {
        request.headers_mut().insert(
            http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
            value.parse().expect("value"),
        );
    }
    if !body.is_empty() {
        *request.body_mut() = Some(body.to_owned().into());
    }
    request
}

fn text(response: &http::Response<Vec<u8>>) -> String {
    String::from_utf8(response.body().clone()).expect("utf-8")
}

fn json(response: &http::Response<Vec<u8>>) -> serde_json::Value {
    serde_json::from_slice(response.body()).expect("json")
}

fn header<'a>(response: &'a http::Response<Vec<u8>>, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

#[test]
fn fakes_docluster_answers_flasks_pretty_printed_text() {
    use fakes::Fake;
    let cluster = DoCluster::new();
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let refused = cluster.answer(&raw(
        "POST",
        "http://c:3033/api/login",
        &form,
        "username=admin&password=nope",
    ));
    assert_eq!(refused.status(), 200);
    assert_eq!(header(&refused, "content-type"), Some("text/html; charset=utf-8"));
    assert!(header(&refused, "date").is_some());
    assert_eq!(
        text(&refused),
        "{\n \"msg\": {},\n \"status\": \"false\",\n \"error\": \"Wrong password.\"\n}"
    );
    let login = cluster.answer(&raw(
        "POST",
        "http://c:3033/api/login",
        &form,
        "username=admin&password=admin",
    ));
    let token = cluster.live_tokens()[0].token.clone();
    assert_eq!(token.len(), 60);
    assert!(token.chars().all(|c| c.is_ascii_uppercase()));
    assert_eq!(
        text(&login),
        format!(
            "{{\n \"msg\": {{\n  \"access_token\": \"{token}\"\n }},\n \"status\": \"success\",\n \"error\": \"\"\n}}"
        )
    );
    let logout = cluster.answer(&raw(
        "POST",
        "http://c:3033/api/logout",
        &form,
        &format!("access_token={token}"),
    ));
    assert_eq!(
        text(&logout),
        "{\n \"msg\": \"\",\n \"status\": \"success\",\n \"error\": \"\"\n}"
    );
}

#[test]
fn fakes_fastly_answers_as_recorded() {
    use fakes::Fake;
    let fastly = Fastly::new(FASTLY_USER, FASTLY_PASSWORD);
    let token = fastly.seed(FastlySeed::default());
    assert!(token.id.len() == 22 && token.id.chars().all(|c| c.is_ascii_alphanumeric()));
    let read = fastly.answer(&raw(
        "GET",
        "https://api.fastly.com/tokens/self",
        &[("fastly-key", &token.key)],
        "",
    ));
    assert_eq!(read.status(), 200);
    assert_eq!(header(&read, "content-type"), Some("application/json"));
    assert_eq!(
        header(&read, "fastly-ratelimit-remaining"),
        None,
        "GET answers carry no rate limit"
    );
    let body = json(&read);
    assert_eq!((body["expires_at"].is_null(), body["ip"].is_null()), (true, true));
    assert_eq!(body["scope"], "global");
    // A key alone does not create tokens; a login does.
    let keyed = fastly.answer(&raw(
        "POST",
        "https://api.fastly.com/tokens",
        &[("fastly-key", &token.key)],
        "",
    ));
    assert_eq!(keyed.status(), 400);
    assert!(header(&keyed, "fastly-ratelimit-remaining").is_some());
    let revoked = fastly.answer(&raw(
        "DELETE",
        "https://api.fastly.com/tokens/self",
        &[("fastly-key", &token.key)],
        "",
    ));
    assert_eq!(revoked.status(), 204);
    assert!(revoked.body().is_empty(), "204 with an empty body, not `null`");
    assert!(header(&revoked, "fastly-ratelimit-reset").is_some());
    let gone = fastly.answer(&raw(
        "GET",
        "https://api.fastly.com/tokens/self",
        &[("fastly-key", &token.key)],
        "",
    ));
    assert_eq!(
        (gone.status().as_u16(), json(&gone)["msg"].clone()),
        (401, "Missing or expired token.".into())
    );
}

#[test]
fn fakes_ica_wants_its_media_type_and_sends_a_date() {
    use fakes::Fake;
    let ica = Ica::new().api_key(ICA_KEY);
    let url = "https://ica.illumina.com/ica/rest/api/tokens";
    let wrong = ica.answer(&raw(
        "POST",
        url,
        &[("x-api-key", ICA_KEY), ("accept", "application/json")],
        "",
    ));
    assert_eq!(wrong.status(), 400);
    assert_eq!(header(&wrong, "content-type"), Some("application/problem+json"));
    let problem = json(&wrong);
    assert_eq!(
        (problem["title"].clone(), problem["detail"].clone()),
        ("ICA_API_004".into(), "Invalid Accept Header".into())
    );
    let date = header(&wrong, "date").expect("a Date");
    chrono::DateTime::parse_from_rfc2822(date).expect("RFC 9110 date");
    let ok = ica.answer(&raw(
        "POST",
        url,
        &[("x-api-key", ICA_KEY), ("accept", fakes::ICA_V3)],
        "",
    ));
    assert_eq!(header(&ok, "content-type"), Some(fakes::ICA_V3));
    let jwt = json(&ok)["token"].as_str().expect("token").to_owned();
    let claims = jwt.split('.').nth(1).expect("payload");
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, claims).expect("base64"),
    )
    .expect("claims");
    assert_eq!(
        claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat"),
        3600
    );
}

#[test]
fn fakes_tigergraph_answers_each_generation_its_own_way() {
    use fakes::Fake;
    let v4 = TigerGraph::new(TgServer::V4).secret(TG_SECRET);
    let created = v4.answer(&raw(
        "POST",
        "http://tg:14240/gsql/v1/tokens",
        &[("content-type", "application/json")],
        &format!(r#"{{"secret": "{TG_SECRET}", "lifetime": 3600000}}"#),
    ));
    let body = json(&created);
    assert!(body.get("code").is_none(), "4.x answers carry no code");
    let expiration = body["expiration"].as_str().expect("a date string");
    chrono::NaiveDateTime::parse_from_str(expiration, "%a %b %d %H:%M:%S UTC %Y").expect("Java's Date.toString()");
    let jwt = body["token"].as_str().expect("jwt");
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            jwt.split('.').nth(1).expect("payload"),
        )
        .expect("base64"),
    )
    .expect("claims");
    let keys: Vec<&str> = claims.as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 4, "sub, iat, exp, iss; no jti: {keys:?}");
    let refused = v4.answer(&raw(
        "POST",
        "http://tg:14240/gsql/v1/tokens",
        &[],
        r#"{"secret": "wrong"}"#,
    ));
    assert_eq!(
        json(&refused),
        serde_json::json!({"error": true, "message": "Authentication failed."})
    );
    let v3 = TigerGraph::new(TgServer::V3_5).secret(TG_SECRET);
    let nginx = v3.answer(&raw("POST", "http://tg:14240/gsql/v1/tokens", &[], "{}"));
    assert_eq!(
        (nginx.status().as_u16(), header(&nginx, "content-type")),
        (404, Some("text/html"))
    );
    let dropped = v3.answer(&raw("GET", "http://tg:14240/restpp/requesttoken?secret=x", &[], ""));
    assert_eq!(dropped.status(), 404);
    assert_eq!(
        json(&dropped)["message"],
        "Endpoint is not found from url = /requesttoken, please use GET /endpoints to list all valid endpoints."
    );
    let v3_0 = TigerGraph::new(TgServer::V3_0).secret(TG_SECRET);
    let got = v3_0.answer(&raw(
        "GET",
        &format!("http://tg:9000/requesttoken?secret={TG_SECRET}&lifetime=60"),
        &[],
        "",
    ));
    let body = json(&got);
    assert_eq!(body["message"], "Generate new token successfully.");
    let token = body["token"].as_str().expect("token");
    assert!(token.len() == 32 && token.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
}
