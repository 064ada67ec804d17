//! The entry points the generated code calls: `check_argument` before a call,
//! `finish` around it (seeding its record), `send` for its request (prepared and sent,
//! where progenitor would call its `pre`, `exec` and `post` hooks) and `decode` for its
//! answer's value (where progenitor would call `ResponseValue::from_response`). The
//! xtask's fix-ups write these calls into progenitor's output.

use std::pin::Pin;
use std::task::{Context, Poll};

use progenitor_client::ResponseValue;
use reqwest::Request;

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

/// Prepares `request` for the call's operation (media types, credentials) and sends
/// it, with retries, reading its answer: the answer's status code, and the answer. A
/// request that must not be sent fails with progenitor's `Custom` error; the reason
/// stays in the call record, where `finish` finds it.
///
/// The status comes apart so that the generated code never borrows the answer: a
/// borrowed value keeps its room in the call's future across every await after it. And
/// this is a future of its own rather than an `async fn`, which would hold the request
/// twice.
pub fn send<'a, E: 'a>(
    client: &'a reqwest::Client,
    state: &'a ClientState,
    mut request: Request,
) -> impl Future<Output = Result<(u16, reqwest::Response), progenitor_client::Error<E>>> + Send + 'a {
    let prepared = record::with(|r| {
        match prepare::prepare(state, r.op, &mut request) {
            Ok(sent) => r.sent = sent,
            Err(error) => r.refused = Some(error),
        }
        r.refused.is_none()
    });
    Sent {
        sending: (prepared == Some(true)).then(|| crate::transport::exec(client, state, request)),
        error: std::marker::PhantomData,
    }
}

pin_project_lite::pin_project! {
    /// A request on its way, or (`None`) one refused before it was sent.
    struct Sent<F, E> {
        #[pin]
        sending: Option<F>,
        error: std::marker::PhantomData<fn() -> E>,
    }
}

impl<F, E> Future for Sent<F, E>
where
    F: Future<Output = reqwest::Result<reqwest::Response>>,
{
    type Output = Result<(u16, reqwest::Response), progenitor_client::Error<E>>;

    // progenitor's error is as large as it is; the generated code expects it.
    #[allow(clippy::result_large_err)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().sending.as_pin_mut() {
            Some(sending) => sending.poll(cx).map(|sent| match sent {
                Ok(response) => Ok((response.status().as_u16(), response)),
                Err(error) => Err(progenitor_client::Error::CommunicationError(error)),
            }),
            // progenitor's error needs no text: the record has the reason.
            None => Poll::Ready(Err(progenitor_client::Error::Custom(String::new()))),
        }
    }
}

/// The typed value of a call's answer: what progenitor's
/// `ResponseValue::from_response` does, as a smaller future of its own: the body read
/// into one buffer (growing with what has come, never to its announced length before),
/// the headers moved into the value rather than copied.
pub fn decode<T, E>(
    response: reqwest::Response,
) -> impl Future<Output = Result<ResponseValue<T>, progenitor_client::Error<E>>> + Send
where
    T: serde::de::DeserializeOwned,
{
    crate::value::decode(response)
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
///
/// `checked` is what [`check_argument`] said of the call's arguments: a refusal is the
/// call's result, each time it is polled, and nothing is sent (nor traced).
///
/// Nothing starts before the first poll, as with an `async fn`: the operation timeout
/// counts from it (a call built ahead and awaited later has its whole timeout), and the
/// span is made then, as a child of the span the caller is in.
pub fn finish<'a, T, E, F>(
    api: &'static Api,
    op: &'static Operation,
    state: &'a ClientState,
    checked: Result<(), Error>,
    call: F,
) -> impl Future<Output = Result<ResponseValue<T>, Error>> + 'a
where
    T: serde::de::DeserializeOwned + Send + Sync + 'static,
    E: serde::de::DeserializeOwned + Send + Sync + 'static,
    F: Future<Output = Result<ResponseValue<T>, progenitor_client::Error<E>>> + 'a,
{
    Finish {
        scoped: Some(CallRecord::new(op, state.operation_timeout).scope(call)),
        span: None,
        refused: checked.err(),
        api,
        op,
        state,
    }
}

pin_project_lite::pin_project! {
    /// A call in its record's scope and its span, then its result converted.
    struct Finish<'a, S> {
        // The call, until it is over (dropped then, or when the call is, in its span).
        #[pin]
        scoped: Option<S>,
        // The call's span, from the first poll on.
        span: Option<tracing::Span>,
        // An argument refused before the call: its result, the call never polled.
        refused: Option<Error>,
        api: &'static Api,
        op: &'static Operation,
        state: &'a ClientState,
    }

    impl<'a, S> PinnedDrop for Finish<'a, S> {
        // A call cancelled mid-way is dropped in its span, as `tracing`'s `Instrumented`
        // does: what its parts log as they go (hyper's pool, for one) stays the call's.
        fn drop(this: Pin<&mut Self>) {
            let mut this = this.project();
            let _in = this.span.as_ref().map(tracing::Span::enter);
            this.scoped.set(None);
        }
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
        let (api, op) = (*this.api, *this.op);
        if let Some(refused) = this.refused {
            return Poll::Ready(Err(refused.clone()));
        }
        let span = this.span.get_or_insert_with(|| {
            tracing::debug_span!(
                target: crate::trace::CALL,
                "call",
                vendor = api.vendor,
                operation = op.id,
                method = op.method,
                path = op.path,
            )
        });
        let _in = span.enter();
        // Polled again once over: it never is again (as a fused future), and sends
        // nothing twice.
        let Some(scoped) = this.scoped.as_mut().as_pin_mut() else {
            return Poll::Pending;
        };
        let (result, record) = std::task::ready!(scoped.poll(cx));
        this.scoped.set(None);
        drop(_in);
        let Some(record) = record else {
            return Poll::Ready(Err(Error::new(
                ErrorKind::Transport,
                api.vendor,
                "the call's record was lost",
            )
            .operation(op.id)));
        };
        let took = record.started.map(|started| started.elapsed()).unwrap_or_default();
        let outcome =
            answer::convert(api, this.state, record, result).map_err(|error| error.categorized(api.categories));
        crate::trace::finished(span, &outcome, took);
        Poll::Ready(outcome)
    }
}
