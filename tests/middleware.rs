//! The token on the vendors' other endpoints, through each vendor's `reqwest-middleware`
//! layer, against a loopback server: the token where the vendor expects it, a refusal
//! followed by exactly one report and one retry with the new token, any other answer
//! passed through untouched.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use api_tokens_runtime::{Token, TokenFuture, TokenSource};
use httpmock::prelude::*;

/// A source handing out `tok-<n>`, moving to the next when its current one is reported.
#[derive(Default)]
struct Counting {
    current: AtomicUsize,
    reports: AtomicUsize,
    handed: AtomicUsize,
}

impl Counting {
    fn token_now(&self) -> Token {
        Token::new(format!("tok-{}", self.current.load(Ordering::SeqCst)), None)
    }
}

impl TokenSource for Counting {
    fn token(&self) -> TokenFuture<'_> {
        self.handed.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move { Ok(self.token_now()) })
    }

    fn report_refused(&self, token: &Token) -> bool {
        self.reports.fetch_add(1, Ordering::SeqCst);
        let current = self.token_now();
        let refused = current.secret() == token.secret();
        if refused {
            self.current.fetch_add(1, Ordering::SeqCst);
        }
        refused
    }
}

fn client(layer: impl reqwest_middleware::Middleware) -> reqwest_middleware::ClientWithMiddleware {
    reqwest_middleware::ClientBuilder::new(api_tokens_runtime::http_client_builder().build().expect("client"))
        .with(layer)
        .build()
}

#[tokio::test]
async fn ica_and_tigergraph_send_a_bearer_token_and_retry_once_on_a_refusal() {
    let server = MockServer::start_async().await;
    // ICA refuses with 401 problem+json (vendors.md §2.3).
    let refused = server
        .mock_async(|when, then| {
            when.path("/ica/rest/api/projects")
                .header("authorization", "Bearer tok-0");
            then.status(401)
                .header("content-type", "application/problem+json")
                .body(r#"{"type":"about:blank","title":"Unauthorized","status":401}"#);
        })
        .await;
    let accepted = server
        .mock_async(|when, then| {
            when.path("/ica/rest/api/projects")
                .header("authorization", "Bearer tok-1");
            then.status(200).header("x-kept", "yes").body(r#"{"items":[]}"#);
        })
        .await;
    let source = Arc::new(Counting::default());
    let ica = client(ica_tokens::middleware(source.clone()));
    let answer = ica
        .get(server.url("/ica/rest/api/projects"))
        .send()
        .await
        .expect("answered");
    assert_eq!(answer.status().as_u16(), 200);
    assert_eq!(answer.headers().get("x-kept").map(|v| v.as_bytes()), Some(&b"yes"[..]));
    assert_eq!(answer.text().await.expect("body"), r#"{"items":[]}"#);
    refused.assert_async().await;
    accepted.assert_async().await;
    assert_eq!(source.reports.load(Ordering::SeqCst), 1, "one report");
    // An answer that is no refusal (a 404) is passed through, never retried.
    let missing = server
        .mock_async(|when, then| {
            when.path("/ica/rest/api/nothing");
            then.status(404).body("not here");
        })
        .await;
    let answer = ica
        .get(server.url("/ica/rest/api/nothing"))
        .send()
        .await
        .expect("answered");
    assert_eq!(
        (answer.status().as_u16(), answer.text().await.expect("body")),
        (404, "not here".to_owned())
    );
    missing.assert_calls_async(1).await;
    assert_eq!(source.reports.load(Ordering::SeqCst), 1);

    // TigerGraph reports an invalid token as REST-10016, even inside an HTTP 200
    // (vendors.md §1.3): a refusal too.
    let source = Arc::new(Counting::default());
    let tg = client(tigergraph_tokens::middleware(source.clone()));
    let refused = server
        .mock_async(|when, then| {
            when.path("/restpp/query/g/q").header("authorization", "Bearer tok-0");
            then.status(200).body(
                r#"{"version":{"edition":"enterprise"},"error":true,"message":"Access Denied because the input token = 'tok-****' is invalid.","code":"REST-10016"}"#,
            );
        })
        .await;
    let accepted = server
        .mock_async(|when, then| {
            when.path("/restpp/query/g/q").header("authorization", "Bearer tok-1");
            then.status(200).body(r#"{"error":false,"results":[1]}"#);
        })
        .await;
    let answer = tg.get(server.url("/restpp/query/g/q")).send().await.expect("answered");
    assert_eq!(answer.text().await.expect("body"), r#"{"error":false,"results":[1]}"#);
    refused.assert_async().await;
    accepted.assert_async().await;
    assert_eq!(source.reports.load(Ordering::SeqCst), 1);
    // A TigerGraph answer read for a refusal that is none comes through unchanged.
    let other = server
        .mock_async(|when, then| {
            when.path("/restpp/query/g/other");
            then.status(200)
                .header("x-kept", "1")
                .body(r#"{"error":true,"code":"REST-1004"}"#);
        })
        .await;
    let answer = tg
        .get(server.url("/restpp/query/g/other"))
        .send()
        .await
        .expect("answered");
    assert_eq!(answer.headers().get("x-kept").map(|v| v.as_bytes()), Some(&b"1"[..]));
    assert_eq!(
        answer.text().await.expect("body"),
        r#"{"error":true,"code":"REST-1004"}"#
    );
    other.assert_calls_async(1).await;
    assert_eq!(source.reports.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn docluster_gets_its_token_in_the_form_and_a_refusal_once_more() {
    let server = MockServer::start_async().await;
    // DoCluster answers an unknown token with HTTP 200 and its envelope (§3.3).
    let refused = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/cluster/status")
                .form_urlencoded_tuple("access_token", "tok-0")
                .form_urlencoded_tuple("verbose", "1");
            then.status(200)
                .header("content-type", "text/html; charset=utf-8")
                .body("{\n \"msg\": {},\n \"status\": \"error\",\n \"error\": \"Token not found, please log in.\"\n}");
        })
        .await;
    let accepted = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/cluster/status")
                .form_urlencoded_tuple("access_token", "tok-1")
                .form_urlencoded_tuple("verbose", "1");
            then.status(200)
                .body("{\n \"msg\": {\"up\": true},\n \"status\": \"success\",\n \"error\": \"\"\n}");
        })
        .await;
    let source = Arc::new(Counting::default());
    let dc = client(docluster_tokens::middleware(source.clone()));
    let answer = dc
        .post(server.url("/api/cluster/status"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("verbose=1&access_token=stale")
        .send()
        .await
        .expect("answered");
    assert!(answer.text().await.expect("body").contains("\"up\": true"));
    refused.assert_async().await;
    accepted.assert_async().await;
    assert_eq!(source.reports.load(Ordering::SeqCst), 1);
    // A token bound to another IP address is no refusal a new token cures: passed on.
    let bound = server
        .mock_async(|when, then| {
            when.method(POST).path("/api/cluster/bound");
            then.status(200).body(
                "{\n \"msg\": {},\n \"status\": \"error\",\n \"error\": \"The token is not important for this IP address, please log in.\"\n}",
            );
        })
        .await;
    let answer = dc
        .post(server.url("/api/cluster/bound"))
        .body("")
        .send()
        .await
        .expect("answered");
    assert!(answer.text().await.expect("body").contains("IP address"));
    bound.assert_calls_async(1).await;
    assert_eq!(source.reports.load(Ordering::SeqCst), 1);
}

#[test]
fn token_headers_are_sensitive_and_never_printed() {
    let token = Token::new("Secret-Token-Value-123", None);
    for (name, value) in [
        ica_tokens::token_header(&token).expect("header"),
        tigergraph_tokens::token_header(&token).expect("header"),
    ] {
        assert_eq!(name.as_str(), "authorization");
        assert!(value.is_sensitive());
        assert_eq!(value.to_str().expect("ascii"), "Bearer Secret-Token-Value-123");
        assert!(!format!("{value:?}").contains("Secret-Token"));
    }
    let bad = Token::new("line\r\nbreak", None);
    assert_eq!(
        ica_tokens::token_header(&bad).expect_err("refused").kind(),
        api_tokens_runtime::ErrorKind::InvalidArgument
    );
}

#[tokio::test]
async fn fastly_and_insight_send_their_headers_and_retry_once_on_a_401() {
    let server = MockServer::start_async().await;
    for (vendor, header, path) in [
        ("fastly", "fastly-key", "/service"),
        ("insight", "x-auth-token", "/api/user/recentFiles"),
    ] {
        let refused = server
            .mock_async(|when, then| {
                when.path(path).header(header, "tok-0");
                then.status(401).body(r#"{"msg":"Missing or expired token."}"#);
            })
            .await;
        let accepted = server
            .mock_async(|when, then| {
                when.path(path).header(header, "tok-1");
                then.status(200).body("[]");
            })
            .await;
        let source = Arc::new(Counting::default());
        let http = match vendor {
            "fastly" => client(fastly_tokens::middleware(source.clone())),
            _ => client(insight_tokens::middleware(source.clone())),
        };
        let answer = http.get(server.url(path)).send().await.expect("answered");
        assert_eq!(answer.status().as_u16(), 200, "{vendor}");
        refused.assert_async().await;
        accepted.assert_async().await;
        assert_eq!(source.reports.load(Ordering::SeqCst), 1, "{vendor}");
        // Refused again with the new token: reported, and not retried a second time.
        let always = server
            .mock_async(|when, then| {
                when.path("/always-refused");
                then.status(401).body("no");
            })
            .await;
        let answer = http.get(server.url("/always-refused")).send().await.expect("answered");
        assert_eq!(answer.status().as_u16(), 401, "{vendor}: the refusal, passed on");
        always.assert_calls_async(2).await;
        assert_eq!(source.reports.load(Ordering::SeqCst), 2, "{vendor}");
        refused.delete_async().await;
        accepted.delete_async().await;
        always.delete_async().await;
    }
    let token = Token::new("Secret-Token-Value-123", None);
    let (name, value) = fastly_tokens::token_header(&token).expect("header");
    assert_eq!((name.as_str(), value.is_sensitive()), ("fastly-key", true));
    let (name, value) = insight_tokens::token_header(&token).expect("header");
    assert_eq!((name.as_str(), value.is_sensitive()), ("x-auth-token", true));
}

/// A lifecycle type is a source the layer can use: a refusal on another endpoint
/// makes the ICA source create one new JWT, and the request goes through with it.
#[tokio::test]
async fn a_lifecycle_source_behind_the_layer_replaces_a_refused_token_once() {
    use base64::Engine;
    let server = MockServer::start_async().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::SystemTime::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let jwt = |n: u32| {
        let encode = |json: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json);
        format!(
            "{}.{}.sig{n}",
            encode(r#"{"alg":"HS256"}"#.to_owned()),
            encode(format!(r#"{{"iat":{now},"exp":{}}}"#, now + 3600))
        )
    };
    let (first, second) = (jwt(1), jwt(2));
    let creates = server
        .mock_async(|when, then| {
            when.method(POST).path("/ica/rest/api/tokens");
            then.status(200)
                .header("content-type", "application/vnd.illumina.v3+json")
                .body(format!(r#"{{"token": "{first}"}}"#));
        })
        .await;
    let ica = ica_tokens::Client::builder()
        .base_url(server.url("/ica/rest"))
        .api_key("ica-api-key-123")
        .build()
        .expect("client");
    let source = Arc::new(ica_tokens::JwtSource::new(ica));
    source.token().await.expect("first JWT");
    creates.delete_async().await;
    let creates = server
        .mock_async(|when, then| {
            when.method(POST).path("/ica/rest/api/tokens");
            then.status(200)
                .header("content-type", "application/vnd.illumina.v3+json")
                .body(format!(r#"{{"token": "{second}"}}"#));
        })
        .await;
    let refused = server
        .mock_async(|when, then| {
            when.path("/ica/rest/api/projects")
                .header("authorization", format!("Bearer {first}"));
            then.status(401).body("{}");
        })
        .await;
    let accepted = server
        .mock_async(|when, then| {
            when.path("/ica/rest/api/projects")
                .header("authorization", format!("Bearer {second}"));
            then.status(200).body(r#"{"items":[]}"#);
        })
        .await;
    let http = client(ica_tokens::middleware(source.clone()));
    let answer = http
        .get(server.url("/ica/rest/api/projects"))
        .send()
        .await
        .expect("answered");
    assert_eq!(answer.status().as_u16(), 200);
    refused.assert_async().await;
    accepted.assert_async().await;
    creates.assert_calls_async(1).await;
}

#[test]
fn a_placement_refuses_what_cannot_be_sent_and_never_panics() {
    use api_tokens_runtime::TokenPlacement;
    let token = Token::new("tok-1", None);
    // A header name as its vendor spells it (upper case) is a header name all the same.
    let (name, _) = TokenPlacement::Header("Fastly-Key")
        .header(&token)
        .expect("ok")
        .expect("a header");
    assert_eq!(name.as_str(), "fastly-key");
    for bad in [TokenPlacement::Header("bad name"), TokenPlacement::Bearer] {
        let empty = bad.header(&Token::new("", None)).expect_err("refused");
        assert_eq!(empty.kind(), api_tokens_runtime::ErrorKind::InvalidArgument);
    }
    assert!(TokenPlacement::Header("bad name").header(&token).is_err());
    // A streamed body cannot take DoCluster's form field: refused, never dropped.
    let mut request = reqwest::Request::new(reqwest::Method::POST, "http://x.invalid/api".parse().expect("url"));
    *request.body_mut() = Some(reqwest::Body::wrap_stream(futures_stream()));
    let error = TokenPlacement::FormField("access_token")
        .apply(&mut request, &token)
        .expect_err("streamed");
    assert_eq!(error.kind(), api_tokens_runtime::ErrorKind::InvalidArgument);
}

/// A one-chunk body stream.
fn futures_stream() -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + Sync + 'static {
    futures_util::stream::once(async { Ok(b"a=b".to_vec()) })
}
