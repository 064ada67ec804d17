//! A malformed-answer corpus, for every operation that decodes a body: each answer gives
//! a typed error, never a panic and never `Ok`.

use api_tokens_runtime::ErrorKind;
use api_tokens_tests::calls::{self, Call};
use api_tokens_tests::{RawServer, Reply};
use serde_json::Value;

const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// `value` with every leaf of the wrong JSON type.
fn wrong_types(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), wrong_types(v))).collect()),
        Value::Array(items) if items.is_empty() => Value::from(7),
        Value::Array(items) => Value::Array(items.iter().map(wrong_types).collect()),
        Value::String(_) => Value::from(12345),
        Value::Number(_) => Value::from("not a number"),
        Value::Bool(_) => Value::Array(vec![]),
        Value::Null => Value::from(true),
    }
}

/// `value` as JSON text with every leaf an out-of-range number.
fn out_of_range(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let fields: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{:?}:{}", k, out_of_range(v)))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(out_of_range).collect::<Vec<_>>().join(",")),
        _ => "1e999999".to_owned(),
    }
}

fn fixed(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
    Reply::Fixed {
        status,
        content_type: content_type.into(),
        body: body.into(),
    }
}

fn corpus(call: &Call) -> Vec<(&'static str, Reply, &'static [ErrorKind])> {
    const INVALID: &[ErrorKind] = &[ErrorKind::InvalidBody];
    let (status, body) = (call.success)();
    let json: Value = serde_json::from_str(&body).expect("success bodies are JSON");
    let mut invalid_utf8 = body.clone().into_bytes();
    let at = body.find(":\"").expect("a string value") + 2;
    invalid_utf8.splice(at..at, [0xff, 0xfe, 0xc3]);
    vec![
        (
            "truncated JSON",
            fixed(status, "application/json", &body[..body.len() / 2]),
            INVALID,
        ),
        (
            "wrong field types",
            fixed(status, "application/json", wrong_types(&json).to_string()),
            INVALID,
        ),
        (
            "numbers out of range",
            fixed(status, "application/json", out_of_range(&json)),
            INVALID,
        ),
        (
            "invalid UTF-8",
            fixed(status, "application/json", invalid_utf8),
            INVALID,
        ),
        (
            "HTML page under 200",
            fixed(200, "text/html", "<html><body><h1>Welcome to nginx!</h1></body></html>"),
            INVALID,
        ),
        ("empty body", fixed(status, "application/json", ""), INVALID),
        (
            "wrong content type",
            fixed(status, "application/xml", "<error><code>1</code></error>"),
            INVALID,
        ),
        ("null", fixed(status, "application/json", "null"), INVALID),
        (
            "20 MB body",
            Reply::Huge {
                status,
                bytes: 20 * 1024 * 1024,
            },
            &[ErrorKind::BodyTooLarge],
        ),
        (
            "20 MB error body",
            Reply::Huge {
                status: 500,
                bytes: 20 * 1024 * 1024,
            },
            &[ErrorKind::BodyTooLarge],
        ),
        (
            "HTML 502 page",
            fixed(502, "text/html", "<html>502 Bad Gateway</html>"),
            &[ErrorKind::UnexpectedStatus, ErrorKind::InvalidBody],
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_malformed_answer_is_a_typed_error() {
    let server = RawServer::start(Reply::Close);
    let mut checked = 0;
    for call in calls::all().iter().filter(|c| c.has_body) {
        for (case, reply, kinds) in corpus(call) {
            server.set(reply);
            let outcome = tokio::spawn(call.run(server.url().into(), TIMEOUT))
                .await
                .expect("no panic");
            let context = format!("{} {}: {case}", call.vendor, call.op);
            let err = outcome.result.expect_err(&context);
            assert!(kinds.contains(&err.kind()), "{context}: {:?}: {err}", err.kind());
            assert!(err.http_status().is_some(), "{context}: the status is kept");
            if case == "HTML 502 page" {
                assert!(err.is_retryable(), "{context}");
            }
            checked += 1;
        }
    }
    assert_eq!(
        checked,
        calls::all().iter().filter(|c| c.has_body).count() * 11,
        "every operation with a body, every case"
    );
}
