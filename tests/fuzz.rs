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

/// How many inputs each decoder (`vendor op`) was given, counted as they run.
type Counts = std::sync::Mutex<std::collections::BTreeMap<String, usize>>;

/// Runs every decoder on `(status, body)`; fails on a panic or an unexpected kind, and
/// on a success for an answer that is none (a status outside 2xx).
fn decode_everywhere(
    runtime: &tokio::runtime::Runtime,
    calls: &[Call],
    counts: &Counts,
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
        *counts
            .lock()
            .expect("lock")
            .entry(format!("{} {}", call.vendor, call.op))
            .or_default() += 1;
        if outcome.result.is_ok() {
            // A success only for a successful status: a failure never reads as one.
            assert!(
                (200..300).contains(&status),
                "{} {}: HTTP {status} read as a success: {}",
                call.vendor,
                call.op,
                outcome.debug
            );
        }
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

fn run<S: Strategy>(name: &str, calls: &[Call], strategy: S, test: impl Fn(S::Value, &Counts)) {
    let counts = Counts::default();
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&strategy, |v| {
            test(v, &counts);
            Ok(())
        })
        .expect("property holds");
    // What ran, counted (printed with `--nocapture`; the README quotes a long run).
    let counts = counts.lock().expect("lock");
    let total: usize = counts.values().sum();
    let least = counts.values().min().copied().unwrap_or(0);
    println!(
        "fuzz {name}: {} cases, {} of {} decoders given input, {total} inputs, at least {least} each",
        cases(),
        counts.len(),
        calls.len()
    );
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
    run("arbitrary bytes", &calls, strategy, |(status, bytes), counts| {
        decode_everywhere(&rt, &calls, counts, status, bytes, None)
    });
}

#[test]
fn arbitrary_json_never_panics_any_decoder() {
    let (rt, calls) = (runtime(), calls::all());
    let strategy = (prop::sample::select(STATUSES), json_value());
    run("arbitrary JSON", &calls, strategy, |(status, json), counts| {
        decode_everywhere(&rt, &calls, counts, status, json.to_string().into_bytes(), None)
    });
}

#[test]
fn mutated_documented_answers_never_panic() {
    let (rt, calls) = (runtime(), calls::all());
    let strategy = (any::<usize>(), any::<usize>(), json_value());
    run("mutated answers", &calls, strategy, |(which, leaf, with), counts| {
        let call = &calls[which % calls.len()];
        let (status, body) = (call.success)();
        let Ok(mut json) = serde_json::from_str::<Value>(&body) else {
            return;
        };
        mutate(&mut json, &mut (leaf % 8), &with);
        decode_everywhere(&rt, &calls, counts, status, json.to_string().into_bytes(), Some(which));
    });
}
