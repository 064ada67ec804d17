//! Turning progenitor's result and the call record into this crate's result: vendor
//! errors (inside 2xx envelopes too), undocumented statuses, undecodable or oversized
//! bodies, transport failures.

use progenitor_client::ResponseValue;

use crate::decode::{self, Scrubber, Verdict};
use crate::error::{Error, ErrorKind};
use crate::hooks::CallRecord;
use crate::wire::{Api, Operation};

pub(crate) fn convert<T, E>(
    api: &'static Api,
    op: &'static Operation,
    result: Result<ResponseValue<T>, progenitor_client::Error<E>>,
    record: CallRecord,
) -> Result<ResponseValue<T>, Error>
where
    T: serde::de::DeserializeOwned + Send + Sync + 'static,
    E: serde::de::DeserializeOwned + Send + Sync + 'static,
{
    use progenitor_client::Error as P;
    let scrubber = Scrubber::new(&record.secrets, api.vendor_messages);
    let base = |kind: ErrorKind, detail: String| Error::new(kind, api.vendor, detail).operation(op.id);
    let answered = |error: Error| match record.status {
        Some(status) => error.status(status, record.headers.clone()),
        None => error,
    };
    let vendor_fields = |error: Error, json: &serde_json::Value| {
        let (code, message) = decode::vendor_fields(&api.errors, json, &scrubber);
        let note = op
            .notes
            .iter()
            .find(|(m, _)| message.as_deref() == Some(*m) || code.as_deref() == Some(*m))
            .map(|(_, note)| *note);
        error.vendor_fields(code, message).note(note)
    };
    if let Some(error) = record.hook_error {
        return Err(error);
    }
    if record.too_large {
        let limit = if record.status.is_some_and(|s| s.is_success()) {
            "the client's body limit"
        } else {
            "the 64 KiB error-body limit"
        };
        return Err(answered(base(ErrorKind::BodyTooLarge, format!("larger than {limit}"))));
    }
    let json = decode::json(&record.body);
    match result {
        Ok(value) => {
            let Some(envelope) = &op.envelope else { return Ok(value) };
            match json.as_ref().map(|json| (json, decode::verdict(envelope, json))) {
                Some((_, Verdict::Success)) => Ok(value),
                Some((json, Verdict::Failure)) => {
                    let error = answered(base(ErrorKind::Vendor, String::new())).in_success_body();
                    Err(with_body::<T>(vendor_fields(error, json), json, &scrubber))
                }
                _ => {
                    let detail = format!(
                        "the `{}` field that tells success from failure is missing or malformed",
                        envelope.field
                    );
                    Err(answered(base(ErrorKind::InvalidBody, detail)))
                }
            }
        }
        Err(P::ErrorResponse(_)) => {
            let error = answered(base(ErrorKind::Vendor, String::new()));
            Err(match &json {
                Some(json) => with_body::<E>(vendor_fields(error, json), json, &scrubber),
                None => error,
            })
        }
        Err(P::InvalidResponsePayload(_, serde_error)) => {
            let success = record.status.is_some_and(|s| s.is_success());
            // An undecodable body may still be a vendor error: an envelope that reports
            // failure, or a documented error status whose body misses a field.
            if let Some(json) = &json {
                let envelope_failed = op
                    .envelope
                    .as_ref()
                    .is_some_and(|e| decode::verdict(e, json) == Verdict::Failure);
                if envelope_failed || !success {
                    let error = answered(base(ErrorKind::Vendor, String::new()));
                    let error = if success { error.in_success_body() } else { error };
                    return Err(vendor_fields(error, json));
                }
            }
            Err(answered(base(
                ErrorKind::InvalidBody,
                decode::describe(&serde_error, &record.body),
            )))
        }
        Err(P::UnexpectedResponse(_)) => {
            let error = answered(base(ErrorKind::UnexpectedStatus, String::new()));
            Err(match &json {
                Some(json) => vendor_fields(error, json),
                None => error,
            })
        }
        Err(P::CommunicationError(e) | P::ResponseBodyError(e) | P::InvalidUpgrade(e)) => Err(transport(api, op, e)),
        Err(P::InvalidRequest(why)) => Err(base(ErrorKind::InvalidArgument, why)),
        Err(P::Custom(why)) => Err(base(ErrorKind::InvalidArgument, why)),
    }
}

/// Keeps the vendor's body, decoded again from its scrubbed JSON: progenitor's decoding
/// holds whatever secret the vendor echoed.
fn with_body<B: serde::de::DeserializeOwned + Send + Sync + 'static>(
    error: Error,
    json: &serde_json::Value,
    scrubber: &Scrubber,
) -> Error {
    let mut json = json.clone();
    decode::scrub_json(&mut json, scrubber);
    match serde_json::from_value::<B>(json) {
        Ok(body) => error.body(body),
        Err(_) => error,
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
