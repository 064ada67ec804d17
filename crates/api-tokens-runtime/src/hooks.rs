//! The entry points the generated code calls: `finish` around every call (seeding its
//! record), `check_argument` before it, and the two progenitor hooks `pre` and `exec`
//! (wired by [`impl_client_hooks!`](crate::impl_client_hooks)).

use progenitor_client::ResponseValue;
use reqwest::Request;
use tracing::Instrument;

use crate::answer;
use crate::credentials::ClientState;
use crate::error::{Error, ErrorKind};
use crate::prepare;
use crate::record::{self, CallRecord};
use crate::wire::{Api, Operation};

/// Refuses, before anything is sent, a path parameter that would send the request to
/// another endpoint (empty, `.` or `..`: URL parsing removes dot segments, so
/// `/tokens/{id}` with `..` becomes `/`) and an empty required query parameter.
/// Called by every generated `send` for each such parameter of its operation.
///
/// The value is read as the request will send it: a [`Secret`](crate::Secret)'s
/// `Display` is `<redacted>`, never empty, so strings and secrets are read as such and
/// anything else through `Serialize`.
pub fn check_argument<V: serde::Serialize + 'static>(
    api: &'static Api,
    op: &'static Operation,
    name: &'static str,
    value: &V,
) -> Result<(), Error> {
    let any = value as &dyn std::any::Any;
    let serialized;
    let value = if let Some(text) = any.downcast_ref::<String>() {
        text.as_str()
    } else if let Some(secret) = any.downcast_ref::<crate::Secret>() {
        secret.expose()
    } else {
        serialized = match serde_json::to_value(value) {
            Ok(serde_json::Value::String(text)) => text,
            // Numbers and booleans are never empty nor a dot segment.
            _ => return Ok(()),
        };
        serialized.as_str()
    };
    let why = if op.path_params.contains(&name) {
        match value {
            "" => "is empty",
            "." | ".." => "is a dot segment, which would send the request to another path",
            _ => return Ok(()),
        }
    } else if op.required_query.contains(&name) && value.is_empty() {
        "is empty"
    } else {
        return Ok(());
    };
    Err(Error::new(
        ErrorKind::InvalidArgument,
        api.vendor,
        format!("parameter `{name}` {why}"),
    )
    .operation(op.id))
}

/// progenitor's request hook: prepares the request for the call's operation; `false`
/// when it must not be sent. The reason stays in the call record: progenitor only
/// learns that the call stops here.
pub fn pre(state: &ClientState, request: &mut Request) -> bool {
    let prepared = record::with(|r| {
        match prepare::prepare(state, r.op, request) {
            Ok(sent) => r.sent = sent,
            Err(error) => r.refused = Some(error),
        }
        r.refused.is_none()
    });
    prepared == Some(true)
}

/// progenitor's transport hook: sends the request, with retries, and reads its answer.
pub async fn exec(
    client: &reqwest::Client,
    state: &ClientState,
    request: Request,
) -> reqwest::Result<reqwest::Response> {
    crate::transport::exec(client, state, request).await
}

/// Runs one generated call and turns its result into this crate's types.
///
/// The operation timeout needs no timer of its own: each attempt's timeout is cut to
/// the time left (see `transport`), and no retry wait starts past the deadline.
///
/// Traced as one `call` span (target `api_tokens::call`, `DEBUG`) holding the vendor,
/// the operation id, the method and the path *template* (never a filled URL, which can
/// carry a secret), its attempts as events, and one closing event with the status and
/// the time taken.
pub async fn finish<T, E>(
    api: &'static Api,
    op: &'static Operation,
    state: &ClientState,
    call: impl Future<Output = Result<ResponseValue<T>, progenitor_client::Error<E>>>,
) -> Result<ResponseValue<T>, Error>
where
    T: serde::de::DeserializeOwned + Send + Sync + 'static,
    E: serde::de::DeserializeOwned + Send + Sync + 'static,
{
    let started = tokio::time::Instant::now();
    let deadline = started.checked_add(state.operation_timeout);
    let span = tracing::debug_span!(
        target: crate::trace::CALL,
        "call",
        vendor = api.vendor,
        operation = op.id,
        method = op.method,
        path = op.path,
    );
    let (result, record) = CallRecord::new(op, deadline).scope(call).instrument(span.clone()).await;
    let Some(record) = record else {
        return Err(Error::new(ErrorKind::Transport, api.vendor, "the call's record was lost").operation(op.id));
    };
    let outcome = answer::convert(api, state, record, result).map_err(|error| error.categorized(api.categories));
    crate::trace::finished(&span, &outcome, started.elapsed());
    outcome
}
