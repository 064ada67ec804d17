//! Turning progenitor's result and the call record into this crate's result: vendor
//! errors (inside 2xx envelopes too), undocumented statuses, undecodable or oversized
//! bodies, transport failures.
//!
//! A successful answer costs nothing here but, for envelope operations, a scan of the
//! one field that tells success from failure: the body is parsed into a JSON value, and
//! the secrets to scrub are gathered, only for an answer that is an error.

use progenitor_client::ResponseValue;
use reqwest::header::HeaderMap;

use crate::credentials::ClientState;
use crate::decode::{self, Verdict};
use crate::error::{Error, ErrorKind};
use crate::record::CallRecord;
use crate::scrub::{self, Scrubber};
use crate::transport::ERROR_BODY_LIMIT;
use crate::wire::{Api, Operation};

/// The call's result as this crate's: its error is given its category by the caller,
/// once the rules of every error path apply.
pub(crate) fn convert<T, E>(
    api: &'static Api,
    state: &ClientState,
    record: CallRecord,
    result: Result<ResponseValue<T>, progenitor_client::Error<E>>,
) -> Result<ResponseValue<T>, Error>
where
    T: serde::de::DeserializeOwned + Send + Sync + 'static,
    E: serde::de::DeserializeOwned + Send + Sync + 'static,
{
    use progenitor_client::Error as P;
    let op = record.op;
    if let Some(error) = record.refused {
        return Err(error);
    }
    let call_error = |kind: ErrorKind, detail: String| Error::new(kind, api.vendor, detail).operation(op.id);
    // A timeout at the call's deadline says so (the detail replaced): the operation
    // timeout ended it. The clock is read only for a timeout.
    let deadline = record.deadline();
    let at_deadline = |error: Error| {
        if error.kind() == ErrorKind::Timeout && deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
            error.with_detail(format!(
                "the call took longer than its operation timeout of {:?}, retries included",
                state.operation_timeout
            ))
        } else {
            error
        }
    };
    if record.timed_out {
        // A test responder's answer came too late (reqwest says so of a real request).
        let late = format!("no answer within the attempt timeout of {:?}", state.attempt_timeout);
        return Err(at_deadline(call_error(ErrorKind::Timeout, late)));
    }
    let Some(answer) = record.answer else {
        // No answer: the request was never sent, or its sending failed.
        let Some(error) = result.err().and_then(|e| unanswered(api, op, e)) else {
            return Err(call_error(ErrorKind::Transport, "no answer was received".to_owned()));
        };
        return Err(at_deadline(error));
    };
    let status = answer.status;
    let with_status = |error: Error, headers: Option<HeaderMap>| error.status(status, headers);
    if answer.too_large {
        let limit = if status.is_success() {
            "the client's body limit".to_owned()
        } else {
            format!("the {} KiB error-body limit", ERROR_BODY_LIMIT / 1024)
        };
        return Err(with_status(
            call_error(ErrorKind::BodyTooLarge, format!("larger than {limit}")),
            answer.headers.map(|h| *h),
        ));
    }
    let value = match result {
        Ok(value) => value,
        Err(error) => {
            // A success that went to progenitor as it came: its error holds the body.
            let body = match &error {
                P::InvalidResponsePayload(bytes, _) if answer.body.is_empty() => bytes.clone(),
                _ => answer.body.clone(),
            };
            let failure = Failure {
                api,
                op,
                state,
                sent: record.sent.as_deref(),
                body: &body,
            };
            // A body cut short by the call's deadline is a timeout at it, too.
            return Err(at_deadline(failure.into_error::<E>(
                error,
                with_status(call_error(ErrorKind::Vendor, String::new()), answer.headers.map(|h| *h)),
            )));
        }
    };
    let Some(envelope) = &op.envelope else { return Ok(value) };
    match decode::verdict_in(envelope, &answer.body) {
        Verdict::Success => Ok(value),
        Verdict::Failure => {
            let failure = Failure {
                api,
                op,
                state,
                sent: record.sent.as_deref(),
                body: &answer.body,
            };
            let error = with_status(
                call_error(ErrorKind::Vendor, String::new()),
                Some(value.headers().clone()),
            )
            .in_success_body();
            Err(failure.vendor_error::<T>(error))
        }
        Verdict::Malformed => {
            let detail = format!(
                "the `{}` field that tells success from failure is missing or malformed",
                envelope.field
            );
            Err(with_status(
                call_error(ErrorKind::InvalidBody, detail),
                Some(value.headers().clone()),
            ))
        }
    }
}

/// An answer that is an error, with what it takes to describe it without a secret.
struct Failure<'a> {
    api: &'static Api,
    op: &'static Operation,
    state: &'a ClientState,
    sent: Option<&'a (Option<String>, bytes::Bytes)>,
    body: &'a [u8],
}

impl Failure<'_> {
    /// Every secret the request carried (`scrub.rs` says which).
    fn scrubber(&self) -> Scrubber {
        let sent = self.sent.map(|(query, body)| scrub::Sent {
            query: query.as_deref(),
            body,
        });
        scrub::for_request(
            &self.state.credentials,
            sent,
            self.op.secret_inputs,
            self.api.vendor_messages,
        )
    }

    /// `error` (a vendor error, status and headers set) as progenitor's error says.
    fn into_error<E>(self, result: progenitor_client::Error<E>, error: Error) -> Error
    where
        E: serde::de::DeserializeOwned + Send + Sync + 'static,
    {
        use progenitor_client::Error as P;
        match result {
            P::ErrorResponse(_) => self.vendor_error::<E>(error),
            P::UnexpectedResponse(_) => self.vendor_error::<()>(error.with_kind(ErrorKind::UnexpectedStatus)),
            P::InvalidResponsePayload(_, serde_error) => {
                let success = error.http_status().is_some_and(|s| s.is_success());
                // An undecodable body may still be a vendor error: an envelope that
                // reports failure, or a documented error status whose body misses a field.
                let envelope_failed = self
                    .op
                    .envelope
                    .as_ref()
                    .is_some_and(|e| decode::verdict_in(e, self.body) == Verdict::Failure);
                if decode::json(self.body).is_some() && (envelope_failed || !success) {
                    let error = if success { error.in_success_body() } else { error };
                    return self.vendor_error::<()>(error);
                }
                error
                    .with_kind(ErrorKind::InvalidBody)
                    .with_detail(decode::describe(&serde_error, self.body))
            }
            other => unanswered(self.api, self.op, other).unwrap_or(error),
        }
    }

    /// The vendor's code, message and note, scrubbed; and the body decoded as `B`
    /// from its scrubbed JSON (`()` keeps none).
    fn vendor_error<B: serde::de::DeserializeOwned + Send + Sync + 'static>(&self, error: Error) -> Error {
        let Some(mut json) = decode::json(self.body) else {
            return error;
        };
        let scrubber = self.scrubber();
        let (code, message) = decode::vendor_fields(&self.api.errors, &json, &scrubber);
        let note = self
            .op
            .notes
            .iter()
            .find(|(m, _)| message.as_deref() == Some(*m) || code.as_deref() == Some(*m))
            .map(|(_, note)| *note);
        let error = error.vendor_fields(code, message).note(note);
        if std::any::TypeId::of::<B>() == std::any::TypeId::of::<()>() {
            return error;
        }
        scrub::scrub_json(&mut json, &scrubber);
        match serde_json::from_value::<B>(json) {
            Ok(body) => error.body(body),
            Err(_) => error,
        }
    }
}

/// The errors progenitor reports without an answer to describe: the request could not
/// be built, or sending it or reading its answer failed. `None` for the others.
fn unanswered<E>(api: &'static Api, op: &'static Operation, error: progenitor_client::Error<E>) -> Option<Error> {
    use progenitor_client::Error as P;
    match error {
        P::CommunicationError(e) | P::ResponseBodyError(e) | P::InvalidUpgrade(e) => Some(transport(api, op, e)),
        P::InvalidRequest(why) | P::Custom(why) => {
            Some(Error::new(ErrorKind::InvalidArgument, api.vendor, why).operation(op.id))
        }
        _ => None,
    }
}

fn transport(api: &'static Api, op: &'static Operation, e: reqwest::Error) -> Error {
    let kind = if e.is_timeout() {
        ErrorKind::Timeout
    } else if e.is_builder() {
        ErrorKind::InvalidArgument
    } else {
        ErrorKind::Transport
    };
    let detail = if e.is_connect() {
        "could not connect"
    } else if e.is_builder() {
        "the request could not be built"
    } else if e.is_body() || e.is_decode() {
        "the answer's body could not be read"
    } else {
        ""
    };
    Error::new(kind, api.vendor, detail)
        .operation(op.id)
        .source(e.without_url())
}
