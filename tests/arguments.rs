//! Arguments that would send a request somewhere the user did not mean: every path
//! parameter and every required query parameter of every spec, read from the crates'
//! generated tables, so that a new operation is walked without a new test.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use api_tokens_runtime::ErrorKind;
use api_tokens_runtime::wire::{Api, Operation};
use api_tokens_tests::calls::{self, Arg, Call, Target};

fn apis() -> [(&'static str, &'static Api); 5] {
    [
        ("fastly", &fastly_tokens::wire::API),
        ("ica", &ica_tokens::wire::API),
        ("tigergraph", &tigergraph_tokens::wire::API),
        ("insight", &insight_tokens::wire::API),
        ("docluster", &docluster_tokens::wire::API),
    ]
}

/// Every operation of every spec with its entry in the call table; an operation missing
/// there fails, naming it.
fn operations(calls: &[Call]) -> Vec<(&Call, &'static Operation)> {
    let mut found = Vec::new();
    for (vendor, api) in apis() {
        for op in api.operations {
            let call = calls
                .iter()
                .find(|c| c.vendor == vendor && c.op == op.id)
                .unwrap_or_else(|| panic!("{vendor} {}: add it to the table in tests/support/calls.rs", op.id));
            found.push((call, *op));
        }
    }
    found
}

/// A responder that answers the call's documented success and keeps the paths of the
/// requests it saw.
fn recording(call: &Call) -> (Target, Arc<std::sync::Mutex<Vec<String>>>) {
    let (status, body) = (call.success)();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let target = Target::Respond(Arc::new(move |request| {
        if let Ok(mut log) = log.lock() {
            log.push(request.url().path().to_owned());
        }
        let mut response = http::Response::new(body.clone().into_bytes());
        *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
        Box::pin(async move { response }) as api_tokens_runtime::ResponseFuture
    }));
    (target, seen)
}

#[tokio::test]
async fn every_call_of_every_spec_is_in_the_call_table() {
    let calls = calls::all();
    let listed = operations(&calls).len();
    assert_eq!(listed, calls.len(), "the call table lists operations no spec has");
}

#[tokio::test]
async fn a_path_parameter_that_would_change_the_endpoint_is_refused_before_sending() {
    let calls = calls::all();
    let mut checked = 0;
    for (call, op) in operations(&calls) {
        let params = op.path_params.iter().map(|p| (*p, &["", ".", ".."][..]));
        let queries = op.required_query.iter().map(|p| (*p, &[""][..]));
        for (name, bad_values) in params.chain(queries) {
            for bad in bad_values {
                let (target, seen) = recording(call);
                let outcome = call
                    .run_with(target, Duration::from_secs(5), Arg::new(name, *bad))
                    .await;
                let context = format!("{} {} with {name} = {bad:?}", call.vendor, call.op);
                let error = outcome.result.expect_err(&context);
                assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{context}: {error}");
                assert!(
                    error.to_string().contains(&format!("parameter `{name}`")),
                    "{context}: {error}"
                );
                assert!(seen.lock().expect("log").is_empty(), "{context}: a request was sent");
                checked += 1;
            }
        }
    }
    // Fastly's token_id (twice) and customer_id, Insight's provider, TigerGraph's token (twice).
    assert!(checked >= 6 * 2, "only {checked} bad arguments checked");
}

#[tokio::test]
async fn an_odd_path_parameter_arrives_literally_in_its_segment() {
    let calls = calls::all();
    let mut checked = Vec::new();
    for (call, op) in operations(&calls) {
        for name in op.path_params {
            checked.push(format!("{} {} {name}", call.vendor, call.op));
            let position = op
                .path
                .split('/')
                .position(|segment| segment == format!("{{{name}}}"))
                .expect("the parameter is in the path template");
            for value in ["a/b", "../x", "%2e%2e", ".%2e", "...", "a b?c#d", "ü"] {
                let (target, seen) = recording(call);
                let outcome = call
                    .run_with(target, Duration::from_secs(5), Arg::new(name, value))
                    .await;
                let context = format!("{} {} with {name} = {value:?}", call.vendor, call.op);
                assert!(outcome.result.is_ok(), "{context}: {:?}", outcome.result.err());
                let paths = seen.lock().expect("log").clone();
                let segments: Vec<&str> = paths[0].split('/').collect();
                assert_eq!(segments.len(), op.path.split('/').count(), "{context}: {}", paths[0]);
                let decoded =
                    url::form_urlencoded::parse(format!("v={}", segments[position].replace('+', "%2B")).as_bytes())
                        .next()
                        .map(|(_, v)| v.into_owned());
                assert_eq!(decoded.as_deref(), Some(value), "{context}: {}", paths[0]);
            }
        }
    }
    // The loop ran, over every path parameter the specs have (Fastly's token and
    // customer ids among them), not over none.
    let expected: usize = apis()
        .iter()
        .flat_map(|(_, api)| api.operations.iter())
        .map(|op| op.path_params.len())
        .sum();
    assert!(expected > 0);
    assert_eq!(checked.len(), expected, "{checked:?}");
    assert!(checked.iter().any(|c| c == "fastly get_token token_id"), "{checked:?}");
}

#[tokio::test]
async fn ordinary_arguments_still_go_through() {
    let counter = Arc::new(AtomicUsize::new(0));
    let count = counter.clone();
    let client = fastly_tokens::Client::builder()
        .base_url("http://responder.invalid")
        .token(calls::FASTLY_KEY)
        .respond_with(move |_| {
            count.fetch_add(1, Ordering::SeqCst);
            http::Response::new(br#"{"id": "t.1"}"#.to_vec())
        })
        .build()
        .expect("client");
    for id in ["t.1", ".hidden", "x..", "v1.2"] {
        client.get_token().token_id(id).send().await.expect(id);
    }
    assert_eq!(counter.load(Ordering::SeqCst), 4);
}
