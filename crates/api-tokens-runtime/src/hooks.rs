//! The entry points the generated code calls: `finish` around every call (seeding its
//! record), `check_argument` before it, and the two progenitor hooks `pre` and `exec`
//! (wired by [`impl_client_hooks!`](crate::impl_client_hooks)).

use std::pin::Pin;
use std::task::{Context, Poll};

use progenitor_client::ResponseValue;
use reqwest::Request;
use tracing::Instrument;
use tracing::instrument::Instrumented;

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
/// (The transport's own future, not an `async fn` around it that would hold the
/// request twice.)
pub fn exec<'a>(
    client: &'a reqwest::Client,
    state: &'a ClientState,
    request: Request,
) -> impl Future<Output = reqwest::Result<reqwest::Response>> + Send + 'a {
    crate::transport::exec(client, state, request)
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
///
/// A future written by hand rather than an `async fn`, which would hold `call` (most of
/// the call's size) twice: as its argument and as the future it awaits. A call's future
/// is what a task spawned per call allocates and moves.
pub fn finish<'a, T, E, F>(
    api: &'static Api,
    op: &'static Operation,
    state: &'a ClientState,
    call: F,
) -> impl Future<Output = Result<ResponseValue<T>, Error>> + 'a
where
    T: serde::de::DeserializeOwned + Send + Sync + 'static,
    E: serde::de::DeserializeOwned + Send + Sync + 'static,
    F: Future<Output = Result<ResponseValue<T>, progenitor_client::Error<E>>> + 'a,
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
    Finish {
        scoped: CallRecord::new(op, deadline).scope(call).instrument(span),
        api,
        op,
        state,
        started,
    }
}

pin_project_lite::pin_project! {
    /// A call in its record's scope and its span, then its result converted.
    struct Finish<'a, S> {
        #[pin]
        scoped: Instrumented<S>,
        api: &'static Api,
        op: &'static Operation,
        state: &'a ClientState,
        started: tokio::time::Instant,
    }
}

impl<S, T, E> Future for Finish<'_, S>
where
    S: Future<
        Output = (
            Result<ResponseValue<T>, progenitor_client::Error<E>>,
            Option<CallRecord>,
        ),
    >,
    T: serde::de::DeserializeOwned + Send + Sync + 'static,
    E: serde::de::DeserializeOwned + Send + Sync + 'static,
{
    type Output = Result<ResponseValue<T>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let (result, record) = std::task::ready!(this.scoped.as_mut().poll(cx));
        let (api, op) = (*this.api, *this.op);
        let Some(record) = record else {
            return Poll::Ready(Err(Error::new(
                ErrorKind::Transport,
                api.vendor,
                "the call's record was lost",
            )
            .operation(op.id)));
        };
        let outcome =
            answer::convert(api, this.state, record, result).map_err(|error| error.categorized(api.categories));
        crate::trace::finished(this.scoped.as_ref().get_ref().span(), &outcome, this.started.elapsed());
        Poll::Ready(outcome)
    }
}
