//! In-process fakes of the vendors' servers, for `ClientBuilder::respond_with`: small
//! state machines that answer as the real servers do (as `shared/vendors.md` records
//! them), for the lifecycle tests and the tour.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use base64::Engine;

/// A JWT expiring `after` from now (the payload is all that matters here).
pub fn jwt(after: Duration, n: usize) -> String {
    let exp = (SystemTime::now() + after)
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let encode = |json: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json);
    format!(
        "{}.{}.sig{n}",
        encode(r#"{"alg":"HS256"}"#.to_owned()),
        encode(format!(r#"{{"sub":"u","exp":{exp}}}"#))
    )
}

/// What an in-process server saw: paths, and the bearer tokens of refreshes.
#[derive(Default)]
pub struct Seen {
    pub creates: AtomicUsize,
    pub refreshes: AtomicUsize,
    pub refused: AtomicBool,
    pub bearers: Mutex<Vec<String>>,
}

/// An ICA server minting one-hour JWTs; refreshes are refused while `seen.refused`.
pub fn ica(seen: Arc<Seen>) -> impl Fn(&reqwest::Request) -> http::Response<Vec<u8>> + Send + Sync + 'static {
    move |request| {
        let v3 = "application/vnd.illumina.v3+json";
        let (status, body) = if request.url().path().ends_with(":refresh") {
            let n = seen.refreshes.fetch_add(1, Ordering::SeqCst);
            if let Some(bearer) = request.headers().get("authorization").and_then(|v| v.to_str().ok()) {
                seen.bearers.lock().expect("lock").push(bearer.to_owned());
            }
            if seen.refused.load(Ordering::SeqCst) {
                (401, r#"{"type": "about:blank", "title": "Unauthorized", "status": 401, "parameters": {}, "timestamp": "2024-08-23T02:33:25Z"}"#.to_owned())
            } else {
                (
                    200,
                    format!(r#"{{"token": "{}"}}"#, jwt(Duration::from_secs(3600), 100 + n)),
                )
            }
        } else {
            let n = seen.creates.fetch_add(1, Ordering::SeqCst);
            (200, format!(r#"{{"token": "{}"}}"#, jwt(Duration::from_secs(3600), n)))
        };
        let mut response = http::Response::new(body.into_bytes());
        *response.status_mut() = http::StatusCode::from_u16(status).expect("status");
        let media = if status == 200 { v3 } else { "application/problem+json" };
        response
            .headers_mut()
            .insert("content-type", media.parse().expect("value"));
        response
    }
}

/// A DoCluster server: logins mint tokens; a token the test marks `expired` is
/// answered as the server does; `foreign` answers every token as bound to another IP.
#[derive(Default)]
pub struct Cluster {
    pub logins: AtomicUsize,
    pub calls: AtomicUsize,
    pub valid: Mutex<Vec<String>>,
    pub foreign: AtomicBool,
    pub logged_out: Mutex<Vec<String>>,
}

pub fn docluster(
    cluster: Arc<Cluster>,
) -> impl Fn(&reqwest::Request) -> http::Response<Vec<u8>> + Send + Sync + 'static {
    move |request| {
        let form: Vec<(String, String)> =
            serde_urlencoded::from_bytes(request.body().and_then(|b| b.as_bytes()).unwrap_or_default())
                .unwrap_or_default();
        let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let path = request.url().path().to_owned();
        let fail = |message: &str| serde_json::json!({"msg": {}, "status": "error", "error": message});
        let body = if path.ends_with("/login") && field("access_token").is_none() {
            let n = cluster.logins.fetch_add(1, Ordering::SeqCst);
            let token = format!("TOKEN{n:0>55}");
            cluster.valid.lock().expect("lock").push(token.clone());
            serde_json::json!({"msg": {"access_token": token}, "status": "success", "error": ""})
        } else {
            cluster.calls.fetch_add(1, Ordering::SeqCst);
            let token = field("access_token").unwrap_or_default();
            if cluster.foreign.load(Ordering::SeqCst) {
                fail("The token is not important for this IP address, please log in.")
            } else if !cluster.valid.lock().expect("lock").contains(&token) {
                fail("Token expired please log in.")
            } else if path.ends_with("/logout") {
                cluster.logged_out.lock().expect("lock").push(token);
                serde_json::json!({"msg": "", "status": "success", "error": ""})
            } else if path.ends_with("/tokens") {
                serde_json::json!({"msg": {"tokens": {}}, "status": "success", "error": ""})
            } else {
                serde_json::json!({"msg": {}, "status": "success", "error": ""})
            }
        };
        let mut response = http::Response::new(serde_json::to_vec_pretty(&body).expect("json"));
        response
            .headers_mut()
            .insert("content-type", "text/html; charset=utf-8".parse().expect("value"));
        response
    }
}

/// A TigerGraph server of one generation, behind nginx on one port (`/restpp` for
/// REST++): what it saw, and the tokens it holds.
pub struct Tiger {
    pub generation: tigergraph_tokens::Generation,
    pub secret: &'static str,
    pub live: Mutex<Vec<String>>,
    pub requests: Mutex<Vec<String>>,
}

pub fn tigergraph(tiger: Arc<Tiger>) -> impl Fn(&reqwest::Request) -> http::Response<Vec<u8>> + Send + Sync + 'static {
    use tigergraph_tokens::Generation;
    move |request| {
        let path = request.url().path().to_owned();
        let query: Vec<(String, String)> = request.url().query_pairs().into_owned().collect();
        let param = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let body = request.body().and_then(|b| b.as_bytes()).unwrap_or_default().to_vec();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let field = |name: &str| json.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        tiger
            .requests
            .lock()
            .expect("lock")
            .push(format!("{} {path}", request.method()));
        let reply = |status: u16, body: String| {
            let mut response = http::Response::new(body.into_bytes());
            *response.status_mut() = http::StatusCode::from_u16(status).expect("status");
            response
        };
        let ok = |token: &str, expiration: serde_json::Value| {
            reply(
                200,
                serde_json::json!({"code": "REST-0000", "error": false, "message": "ok", "expiration": expiration, "token": token})
                    .to_string(),
            )
        };
        let fail = |code: &str, message: &str| {
            reply(
                200,
                serde_json::json!({"code": code, "error": true, "message": message}).to_string(),
            )
        };
        let mint = |live: &Mutex<Vec<String>>| {
            let mut live = live.lock().expect("lock");
            let token = format!("tok{:0>29}", live.len());
            live.push(token.clone());
            token
        };
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs();
        match (tiger.generation, request.method().as_str(), path.as_str()) {
            (Generation::V4, "POST", "/gsql/v1/tokens") => {
                let lifetime_ms = json.get("lifetime").and_then(|v| v.as_u64()).unwrap_or(604_800_000);
                let jwt = jwt(
                    Duration::from_millis(lifetime_ms),
                    tiger.live.lock().expect("lock").len(),
                );
                tiger.live.lock().expect("lock").push(jwt.clone());
                reply(
                    200,
                    serde_json::json!({"error": false, "message": "ok", "token": jwt}).to_string(),
                )
            }
            (Generation::V4, "DELETE", "/gsql/v1/tokens") => reply(
                200,
                r#"{"error": false, "message": "Successfully dropped the specified JWT tokens"}"#.to_owned(),
            ),
            (_, _, "/gsql/v1/tokens") => reply(404, "<html><body>404 Not Found</body></html>".to_owned()),
            (Generation::V3_5, "POST", "/restpp/requesttoken") if field("secret").as_deref() == Some(tiger.secret) => {
                let lifetime: u64 = field("lifetime").and_then(|l| l.parse().ok()).unwrap_or(2_592_000);
                ok(&mint(&tiger.live), (now + lifetime).into())
            }
            (Generation::V3_5, "PUT", "/restpp/requesttoken") => {
                let token = field("token").unwrap_or_default();
                let lifetime: u64 = field("lifetime").and_then(|l| l.parse().ok()).unwrap_or(2_592_000);
                ok(&token, (now + lifetime).into())
            }
            (Generation::V3_5 | Generation::V3_0, "DELETE", "/restpp/requesttoken") => {
                let token = field("token").or(param("token")).unwrap_or_default();
                let mut live = tiger.live.lock().expect("lock");
                match live.iter().position(|t| *t == token) {
                    Some(i) => {
                        live.remove(i);
                        ok(&token, (-1).into())
                    }
                    None => fail("REST-3300", "The token doesn't exist."),
                }
            }
            (Generation::V3_0, "POST", "/restpp/requesttoken") if body == tiger.secret.as_bytes() => {
                let lifetime: u64 = param("lifetime").and_then(|l| l.parse().ok()).unwrap_or(2_592_000);
                ok(&mint(&tiger.live), (now + lifetime).into())
            }
            (Generation::V3_0, "PUT", "/restpp/requesttoken") => {
                // The 3.0–3.4 bug: the lifetime where the expiry should be.
                let lifetime: u64 = param("lifetime").and_then(|l| l.parse().ok()).unwrap_or(2_592_000);
                ok(&param("token").unwrap_or_default(), lifetime.into())
            }
            _ => fail("REST-10016", "Access Denied because the input secret is invalid"),
        }
    }
}

/// A Fastly account: tokens by key, each with its metadata; `fail_create` and
/// `refuse_new` break the two steps a rotation must survive.
#[derive(Default)]
pub struct Account {
    pub tokens: Mutex<Vec<(String, serde_json::Value)>>,
    pub log: Mutex<Vec<String>>,
    pub fail_create: AtomicBool,
    pub refuse_new: AtomicBool,
}

pub fn fastly(account: Arc<Account>) -> impl Fn(&reqwest::Request) -> http::Response<Vec<u8>> + Send + Sync + 'static {
    move |request| {
        let key = request
            .headers()
            .get("fastly-key")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let path = request.url().path().to_owned();
        let reply = |status: u16, body: serde_json::Value| {
            let mut response = http::Response::new(body.to_string().into_bytes());
            *response.status_mut() = http::StatusCode::from_u16(status).expect("status");
            response
        };
        let mut tokens = account.tokens.lock().expect("lock");
        let known = tokens.iter().position(|(k, _)| *k == key);
        account
            .log
            .lock()
            .expect("lock")
            .push(format!("{} {path}", request.method()));
        match (request.method().as_str(), path.as_str()) {
            ("POST", "/tokens") => {
                if account.fail_create.load(Ordering::SeqCst) {
                    return reply(400, serde_json::json!({"code": "invalid_grant"}));
                }
                let form: Vec<(String, String)> =
                    serde_urlencoded::from_bytes(request.body().and_then(|b| b.as_bytes()).unwrap_or_default())
                        .unwrap_or_default();
                let get = |k: &str| form.iter().find(|(f, _)| f == k).map(|(_, v)| v.clone());
                let n = tokens.len();
                let meta = serde_json::json!({
                    "id": format!("id{n}"), "name": get("name"), "scope": get("scope"),
                    "services": form.iter().filter(|(k, _)| k == "services[]").map(|(_, v)| v.clone()).collect::<Vec<_>>(),
                    "created_at": chrono_now(), "expires_at": get("expires_at"),
                });
                let key = format!("key{n}");
                tokens.push((key.clone(), meta.clone()));
                let mut created = meta;
                created["access_token"] = key.into();
                reply(200, created)
            }
            (_, "/tokens/self") if known.is_none() => {
                reply(401, serde_json::json!({"msg": "Missing or expired token."}))
            }
            ("GET", "/tokens/self") if account.refuse_new.load(Ordering::SeqCst) && key != "key0" => {
                reply(401, serde_json::json!({"msg": "Missing or expired token."}))
            }
            ("GET", "/tokens/self") => reply(200, tokens[known.expect("known")].1.clone()),
            ("GET", "/tokens") if known.is_some() => reply(
                200,
                serde_json::Value::Array(tokens.iter().map(|(_, meta)| meta.clone()).collect()),
            ),
            ("DELETE", "/tokens/self") => {
                tokens.remove(known.expect("known"));
                reply(204, serde_json::Value::Null)
            }
            _ => reply(404, serde_json::json!({"msg": "Token lookup failed"})),
        }
    }
}

/// RFC 3339 of now plus `after`.
pub fn rfc3339_in(after: Duration) -> String {
    chrono::DateTime::<chrono::Utc>::from(SystemTime::now() + after).to_rfc3339()
}

fn chrono_now() -> String {
    rfc3339_in(Duration::ZERO)
}

/// An Insight.io server: creates tokens for a session cookie, lists and revokes by
/// `X-Auth-Token`; `log` is what it saw (`METHOD path token`).
#[derive(Default)]
pub struct Insight {
    pub log: Mutex<Vec<String>>,
    pub live: Mutex<Vec<String>>,
}

pub fn insight(insight: Arc<Insight>) -> impl Fn(&reqwest::Request) -> http::Response<Vec<u8>> + Send + Sync + 'static {
    move |request| {
        let token = request
            .headers()
            .get("x-auth-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_owned();
        insight
            .log
            .lock()
            .expect("lock")
            .push(format!("{} {} {token}", request.method(), request.url().path()));
        let mut live = insight.live.lock().expect("lock");
        let (status, body) = match request.method().as_str() {
            "POST" if request.headers().contains_key("cookie") => {
                let new = format!("{:0>64}", live.len() + 1);
                live.push(new.clone());
                (200, format!(r#"{{"token": "{new}"}}"#))
            }
            "GET" if live.contains(&token) => (200, "[]".to_owned()),
            "DELETE" => {
                live.retain(|t| *t != token);
                (200, String::new())
            }
            _ => (401, r#"{"error": "Credentials required"}"#.to_owned()),
        };
        let mut response = http::Response::new(body.into_bytes());
        *response.status_mut() = http::StatusCode::from_u16(status).expect("status");
        response
    }
}
