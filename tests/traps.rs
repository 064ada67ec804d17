//! The traps progenitor sets (see the shared progenitor notes), each shown closed.

use api_tokens_runtime::ErrorKind;
use api_tokens_tests::{RawServer, Reply, all_renderings};

#[tokio::test]
async fn https_reaches_a_tls_handshake() {
    // progenitor-client builds reqwest without TLS: `https` would fail with "scheme is
    // not http" before connecting. With the default `rustls` feature it attempts TLS.
    let plain = RawServer::start(Reply::Close);
    let https = plain.url().replace("http://", "https://");
    let client = fastly_tokens::Client::builder()
        .base_url(https)
        .token("key-123456")
        .build()
        .expect("https is accepted");
    let err = client
        .get_token_current()
        .send()
        .await
        .expect_err("no TLS server there");
    assert_eq!(err.kind(), ErrorKind::Transport);
    let text = all_renderings(&err);
    assert!(!text.contains("scheme is not http"), "{text}");
    assert!(plain.hits() >= 1, "the connection was attempted");
}

#[tokio::test]
async fn redirects_are_not_followed_with_credentials() {
    let elsewhere = RawServer::start(Reply::Close);
    let origin = RawServer::start(Reply::Redirect {
        location: format!("{}/steal", elsewhere.url()),
    });
    let client = ica_tokens::Client::builder()
        .base_url(origin.url())
        .api_key("key-123456")
        .build()
        .expect("client");
    let err = client
        .create_jwt_token()
        .send()
        .await
        .expect_err("302 is not documented");
    assert_eq!(
        (err.kind(), err.http_status().map(|s| s.as_u16())),
        (ErrorKind::UnexpectedStatus, Some(302))
    );
    assert_eq!(elsewhere.hits(), 0, "the API key never went to the redirect's host");
}

#[tokio::test]
async fn path_traversal_stays_in_the_path_parameter() {
    let server = RawServer::start(Reply::Echo {
        status: 404,
        body_template: r#"{"msg":"ECHO"}"#.into(),
    });
    let client = fastly_tokens::Client::builder()
        .base_url(server.url())
        .token("key-123456")
        .build()
        .expect("client");
    let err = client
        .get_token()
        .token_id("../customer/x?y#z")
        .send()
        .await
        .expect_err("echo");
    let request_line = err
        .vendor_message()
        .and_then(|m| m.lines().next())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(request_line, "GET /tokens/..%2Fcustomer%2Fx%3Fy%23z HTTP/1.1");
}

#[test]
fn clients_and_errors_cross_threads() {
    fn shareable<T: Send + Sync + Clone + 'static>() {}
    fn error<T: std::error::Error + Send + Sync + 'static>() {}
    shareable::<fastly_tokens::Client>();
    shareable::<ica_tokens::Client>();
    shareable::<tigergraph_tokens::Client>();
    shareable::<insight_tokens::Client>();
    shareable::<docluster_tokens::Client>();
    error::<api_tokens_runtime::Error>();
}
