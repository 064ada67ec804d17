//! Property tests: arbitrary bytes, arbitrary JSON values and mutated documented answers,
//! under documented and undocumented statuses, fed to every operation's response
//! decoder through the real decoding path (an in-process responder in place of the
//! network). Every answer gives `Ok` or a typed answer error, never a panic.
//!
//! CI runs `FUZZ_CASES` cases (default 64) per strategy; the long run is
//! `FUZZ_CASES=1000000 cargo test --release -p api-tokens-tests --test all fuzz`.

use std::sync::Arc;
use std::time::Duration;

use api_tokens_runtime::ErrorKind;
use api_tokens_tests::calls::{self, Call, Target};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;

const STATUSES: &[u16] = &[200, 201, 204, 400, 401, 403, 404, 422, 429, 500, 502];

fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("false"),
            Just("true"),
            Just("success"),
            Just("error"),
            Just("REST-1000")
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("error".to_owned()),
                    Just("status".to_owned()),
                    Just("token".to_owned()),
                    Just("msg".to_owned()),
                    Just("code".to_owned()),
                    Just("id".to_owned()),
                    "[a-z]{1,8}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Replaces the leaf at `index` (in depth-first order) with `with`.
fn mutate(value: &mut Value, index: &mut usize, with: &Value) -> bool {
    match value {
        Value::Object(map) => map.values_mut().any(|v| mutate(v, index, with)),
        Value::Array(items) => items.iter_mut().any(|v| mutate(v, index, with)),
        leaf => {
            if *index == 0 {
                *leaf = with.clone();
                return true;
            }
            *index -= 1;
            false
        }
    }
}

/// Runs every decoder on `(status, body)`; fails on a panic or an unexpected kind.
fn decode_everywhere(
    runtime: &tokio::runtime::Runtime,
    calls: &[Call],
    status: u16,
    body: Vec<u8>,
    pick: Option<usize>,
) {
    let answer = Arc::new((status, body));
    let chosen: Vec<&Call> = match pick {
        Some(i) => vec![&calls[i % calls.len()]],
        None => calls.iter().collect(),
    };
    for call in chosen {
        let answer = answer.clone();
        let target = Target::Respond(Arc::new(move |_| {
            let mut response = http::Response::new(answer.1.clone());
            *response.status_mut() = http::StatusCode::from_u16(answer.0).unwrap_or(http::StatusCode::OK);
            Box::pin(async move { response }) as api_tokens_runtime::ResponseFuture
        }));
        let outcome = runtime.block_on(call.run(target, Duration::from_secs(5)));
        if let Err(e) = outcome.result {
            let answer_kinds = [ErrorKind::InvalidBody, ErrorKind::Vendor, ErrorKind::UnexpectedStatus];
            assert!(
                answer_kinds.contains(&e.kind()),
                "{} {}: {:?} {e}",
                call.vendor,
                call.op,
                e.kind()
            );
        }
    }
}

fn run<S: Strategy>(strategy: S, test: impl Fn(S::Value)) {
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&strategy, |v| {
            test(v);
            Ok(())
        })
        .expect("property holds");
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn arbitrary_bytes_never_panic_any_decoder() {
    let (rt, calls) = (runtime(), calls::all());
    let strategy = (
        prop::sample::select(STATUSES),
        prop::collection::vec(any::<u8>(), 0..512),
    );
    run(strategy, |(status, bytes)| {
        decode_everywhere(&rt, &calls, status, bytes, None)
    });
}

#[test]
fn arbitrary_json_never_panics_any_decoder() {
    let (rt, calls) = (runtime(), calls::all());
    let strategy = (prop::sample::select(STATUSES), json_value());
    run(strategy, |(status, json)| {
        decode_everywhere(&rt, &calls, status, json.to_string().into_bytes(), None)
    });
}

#[test]
fn mutated_documented_answers_never_panic() {
    let (rt, calls) = (runtime(), calls::all());
    let strategy = (any::<usize>(), any::<usize>(), json_value());
    run(strategy, |(which, leaf, with)| {
        let call = &calls[which % calls.len()];
        let (status, body) = (call.success)();
        let Ok(mut json) = serde_json::from_str::<Value>(&body) else {
            return;
        };
        mutate(&mut json, &mut (leaf % 8), &with);
        decode_everywhere(&rt, &calls, status, json.to_string().into_bytes(), Some(which));
    });
}
