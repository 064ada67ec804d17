//! The leak matrix: every operation of every vendor crate, with a distinctive secret
//! in every credential and secret input, crossed with every error path, checking every
//! rendering (`Display`, `{:#}`, `Debug`, `{:#?}`, the `source()` chain) and the `Debug`
//! of clients, request builders and response values.

use std::sync::Arc;
use std::time::Duration;

use api_tokens_runtime::ErrorKind;
use api_tokens_tests::calls::{self, Call, Outcome};
use api_tokens_tests::{
    EchoForm, RawServer, Reply, all_renderings, assert_no_secret, assert_no_secrets, closed_port_url,
};

/// The timeout of the path where the server never answers.
const TIMEOUT: Duration = Duration::from_millis(400);
/// The timeout of every other path: long enough that a loaded machine never turns an
/// answer into a timeout, which would skip the checks of that answer.
const ANSWERED: Duration = Duration::from_secs(10);

/// An error body that puts the whole echoed request in every field any vendor reads a
/// code or message from, and fails every envelope.
const ECHO_ERROR: &str = r#"{"msg":"ECHO","detail":"ECHO","message":"ECHO","error":"ECHO","title":"ECHO","code":"ECHO","status":"ECHO","errors":[{"detail":"ECHO","code":"ECHO"}]}"#;

/// Checks every rendering of an outcome, the vendor body an error keeps included;
/// returns whether there was such a body.
fn check(call: &Call, path: &str, outcome: &Outcome) -> bool {
    let context = format!("{} {} ({path})", call.vendor, call.op);
    let mut text = outcome.debug.clone();
    let mut body = None;
    match &outcome.result {
        Ok(value) => text.push_str(value),
        Err(error) => {
            text.push_str(&all_renderings(error));
            body = calls::vendor_body_debug(error);
            text.push_str(body.as_deref().unwrap_or_default());
        }
    }
    assert_no_secrets(&text, &calls::secrets(), &context);
    body.is_some()
}

async fn run(call: &Call, base: &str) -> Outcome {
    call.run(base.into(), ANSWERED).await
}

/// Every call at once against the same answer.
async fn run_all<'a>(calls: &'a [Call], base: &str, timeout: Duration) -> Vec<(&'a Call, Outcome)> {
    let tasks: Vec<_> = calls
        .iter()
        .map(|call| tokio::spawn(call.run(base.into(), timeout)))
        .collect();
    let mut outcomes = Vec::new();
    for (call, task) in calls.iter().zip(tasks) {
        outcomes.push((call, task.await.expect("no panic")));
    }
    outcomes
}

// Current-thread, so that everything the calls tell `tracing` (spawned tasks included)
// reaches this test's capture.
#[tokio::test]
async fn no_secret_in_any_error_or_debug_output() {
    let tracing = api_tokens_tests::capture_tracing();
    let server = RawServer::start(Reply::Close);
    let refused = closed_port_url();
    let mut paths: Vec<(String, Reply)> = EchoForm::ALL
        .iter()
        .map(|form| {
            let reply = Reply::EchoAs {
                status: 400,
                body_template: ECHO_ERROR.into(),
                form: *form,
            };
            (format!("echo as {form:?} under 400"), reply)
        })
        .collect();
    let plain: Vec<(&str, Reply)> = vec![
        ("connection closed", Reply::Close),
        ("timeout", Reply::Silent),
        (
            "huge body",
            Reply::Huge {
                status: 200,
                bytes: 9 * 1024 * 1024,
            },
        ),
        (
            "html under 200",
            Reply::Echo {
                status: 200,
                body_template: "<html>ECHO</html>".into(),
            },
        ),
        (
            "echo under 200",
            Reply::Echo {
                status: 200,
                body_template: ECHO_ERROR.into(),
            },
        ),
        (
            "echo under 400",
            Reply::Echo {
                status: 400,
                body_template: ECHO_ERROR.into(),
            },
        ),
        (
            "echo under 401",
            Reply::Echo {
                status: 401,
                body_template: ECHO_ERROR.into(),
            },
        ),
        (
            "echo under 500",
            Reply::Echo {
                status: 500,
                body_template: ECHO_ERROR.into(),
            },
        ),
        (
            "echo as a token",
            Reply::Echo {
                status: 200,
                body_template: r#"{"token":"ECHO","error":false}"#.into(),
            },
        ),
    ];
    paths.extend(plain.into_iter().map(|(path, reply)| (path.to_owned(), reply)));
    let calls = calls::all();
    let mut kinds = std::collections::BTreeSet::new();
    let mut bodies = 0;
    for (call, outcome) in run_all(&calls, &refused, ANSWERED).await {
        assert!(outcome.result.is_err(), "{}: nothing listens", call.op);
        check(call, "connection refused", &outcome);
    }
    for (path, reply) in &paths {
        server.set(reply.clone());
        for (call, outcome) in run_all(
            &calls,
            server.url(),
            if matches!(reply, Reply::Silent) {
                TIMEOUT
            } else {
                ANSWERED
            },
        )
        .await
        {
            if let Err(e) = &outcome.result {
                kinds.insert(format!("{:?}", e.kind()));
            }
            bodies += usize::from(check(call, path, &outcome));
        }
    }
    for call in &calls {
        let (status, body) = (call.success)();
        server.set(Reply::Fixed {
            status,
            content_type: "application/json".into(),
            body: body.into_bytes(),
        });
        let outcome = run(call, server.url()).await;
        assert!(
            outcome.result.is_ok(),
            "{} {}: {:?}",
            call.vendor,
            call.op,
            outcome.result.err()
        );
        check(call, "success", &outcome);
    }
    // Vendor bodies were read back through `Error::vendor_body` and checked too.
    assert!(bodies >= calls.len(), "only {bodies} vendor bodies checked");
    // The matrix did go through every kind of answer error.
    for kind in [
        "Transport",
        "Timeout",
        "BodyTooLarge",
        "InvalidBody",
        "Vendor",
        "UnexpectedStatus",
    ] {
        assert!(kinds.contains(kind), "no {kind} in {kinds:?}");
    }
    // Everything a subscriber received at TRACE, across every path above: spans of every
    // call and its attempts, retries, closing events with the error's `Display`.
    let traced = tracing.text();
    assert!(traced.contains("call{vendor="), "no call span captured");
    assert!(
        traced.contains("call failed") && traced.contains("call succeeded"),
        "{}",
        traced
            .lines()
            .filter(|l| !l.contains("attempt answered"))
            .take(20)
            .collect::<Vec<_>>()
            .join("\n")
    );
    let mut secrets = calls::secrets();
    secrets.push(calls::MINTED.to_owned());
    assert_no_secrets(&traced, &secrets, "tracing output");
}

#[test]
fn builders_and_clients_never_print_credentials() {
    let builder = fastly_tokens::Client::builder()
        .token(calls::FASTLY_KEY)
        .username_and_password("me@example.com", calls::FASTLY_PASSWORD)
        .otp(calls::FASTLY_OTP);
    let text = format!("{builder:?} {builder:#?}");
    let client = builder.build().expect("client");
    let text = format!(
        "{text} {client:?} {client:#?} {:?}",
        client.with_otp("000000").expect("otp")
    );
    for secret in calls::secrets() {
        assert_no_secret(&text, &secret, "fastly builder/client");
    }
}

#[test]
fn a_credential_with_cr_lf_is_refused_without_echoing_it() {
    let bad = format!("{}\r\nX-Injected: 1", calls::FASTLY_KEY);
    let err = fastly_tokens::Client::builder()
        .token(bad.as_str())
        .build()
        .expect_err("CR/LF");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert_no_secret(&all_renderings(&err), calls::FASTLY_KEY, "CR/LF credential");
    let client = fastly_tokens::Client::builder().build().expect("client");
    let err = client.with_otp("12\n34").expect_err("LF in the one-time code");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    let err = ica_tokens::Client::builder()
        .api_key("")
        .build()
        .expect_err("empty key");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    let err = ica_tokens::Client::builder()
        .basic("a:b", calls::ICA_PASSWORD)
        .build()
        .expect_err("colon in user");
    assert_no_secret(&all_renderings(&err), calls::ICA_PASSWORD, "basic user");
}

#[test]
fn base_urls_with_credentials_or_queries_are_refused() {
    for url in [
        "http://user:pw@host",
        "http://host/?secret=x",
        "ftp://host",
        "not a url",
    ] {
        let err = tigergraph_tokens::Client::builder()
            .base_url(url)
            .build()
            .expect_err(url);
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{url}");
        assert!(!err.to_string().contains("pw"), "{err}");
    }
}

#[tokio::test]
async fn lifecycle_types_never_print_credentials_or_tokens() {
    use api_tokens_tests::fakes;
    let ica_server = Arc::new(fakes::Ica::new().api_key(calls::ICA_API_KEY));
    let ica = ica_tokens::JwtSource::new(
        ica_tokens::Client::builder()
            .api_key(calls::ICA_API_KEY)
            .respond_with(fakes::responder(&ica_server))
            .build()
            .expect("client"),
    );
    let jwt = ica.token().await.expect("jwt");
    let tg = tigergraph_tokens::Connection::builder("http://tg.invalid:14240")
        .secret(calls::TG_SECRET)
        .basic("tigergraph", calls::TG_PASSWORD);
    let tg_builder = format!("{tg:?} {tg:#?}");
    let tg = tg.build().expect("connection");
    let docluster = docluster_tokens::Session::resume_or_login(
        docluster_tokens::Client::builder()
            .base_url("http://dc.invalid/api")
            .respond_with(fakes::responder(&Arc::new(
                fakes::DoCluster::new().user("admin", calls::DOCLUSTER_PASSWORD),
            )))
            .build()
            .expect("client"),
        calls::DOCLUSTER_TOKEN,
        "admin",
        calls::DOCLUSTER_PASSWORD,
    )
    .await
    .expect("logged in instead");
    let insight = insight_tokens::Rotation::new(
        insight_tokens::Client::builder()
            .session_cookie(calls::INSIGHT_COOKIE)
            .build()
            .expect("client"),
        calls::INSIGHT_TOKEN,
    )
    .expect("rotation");
    let text = format!(
        "{jwt:?} {jwt:#?} {ica:?} {ica:#?} {tg_builder} {tg:?} {docluster:?} {insight:?} {:?}",
        docluster.token().await.expect("token")
    );
    let mut secrets = calls::secrets();
    secrets.push(jwt.secret().expose().to_owned());
    assert_no_secrets(&text, &secrets, "lifecycle types");
}

/// A secret holding characters JSON escapes (`"`, `\`, a control character), echoed by
/// a vendor inside its JSON error as JSON writes it: never shown, in any rendering.
#[tokio::test]
async fn a_secret_with_characters_json_escapes_is_scrubbed_from_json_echoes() {
    for password in [
        "pa\"ss\\word-Qz7Lm2Kx9",
        "tab\there-Vn4Bc8Jw1\"",
        "q\\\\uote\"d\"-Hs5Df3Gt",
    ] {
        let escaped = serde_json::to_string(password).expect("json");
        let body = format!(
            r#"{{"msg": "Invalid password {} for me@example.com"}}"#,
            &escaped[1..escaped.len() - 1]
        );
        let client = fastly_tokens::Client::builder()
            .base_url("http://fastly.invalid")
            .username_and_password("me@example.com", password)
            .max_retries(0)
            .respond_with(move |_| {
                let mut response = http::Response::new(body.clone().into_bytes());
                *response.status_mut() = http::StatusCode::UNPROCESSABLE_ENTITY;
                response
                    .headers_mut()
                    .insert("content-type", "application/json".parse().expect("value"));
                response
            })
            .build()
            .expect("client");
        let error = client
            .create_token()
            .body(fastly_tokens::TokenCreateForm::new())
            .send()
            .await
            .expect_err("refused");
        let text = format!(
            "{}\n{:?}\n{:?}",
            api_tokens_tests::all_renderings(&error),
            error.vendor_message(),
            error.vendor_body::<fastly_tokens::types::ErrorBody>()
        );
        for form in [password.to_owned(), escaped[1..escaped.len() - 1].to_owned()] {
            assert!(!text.contains(&form), "{password:?} shown as {form:?} in:\n{text}");
            assert_no_secret(&text, &form, "JSON-escaped echo");
        }
        assert!(
            error.vendor_message().is_some_and(|m| m.contains("<redacted>")),
            "{text}"
        );
    }
}
