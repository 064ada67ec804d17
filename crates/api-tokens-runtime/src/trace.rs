//! What a call tells `tracing`: the targets, and the events that close a call and
//! describe its attempts. Every field is a vendor or operation name, a status, a kind,
//! a count or a duration; an error is written with its `Display`, which never holds a
//! secret (see [`Error`]).

use std::time::Duration;

use progenitor_client::ResponseValue;

use crate::error::Error;

/// The target of every call's span and events.
pub(crate) const CALL: &str = "api_tokens::call";

/// The event closing a call, inside its span.
pub(crate) fn finished<T>(span: &tracing::Span, outcome: &Result<ResponseValue<T>, Error>, took: Duration) {
    let _in = span.enter();
    let took_ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
    match outcome {
        Ok(value) => tracing::debug!(target: CALL, status = value.status().as_u16(), took_ms, "call succeeded"),
        Err(error) => tracing::debug!(
            target: CALL,
            kind = ?error.kind(),
            status = error.http_status().map(|s| s.as_u16()),
            category = ?error.category(),
            took_ms,
            error = %error,
            "call failed"
        ),
    }
}

/// Why an attempt is followed by another.
pub(crate) enum Retry {
    /// The answer's status says "try again".
    Status(u16),
    /// The connection could not be made.
    Connect,
}

/// An attempt that is tried again after `wait`.
pub(crate) fn retrying(attempt: u32, why: Retry, wait: Duration) {
    let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
    match why {
        Retry::Status(status) => {
            tracing::debug!(target: CALL, attempt, status, wait_ms, reason = "status", "retrying")
        }
        Retry::Connect => tracing::debug!(
            target: CALL,
            attempt,
            wait_ms,
            reason = "connection could not be made",
            "retrying"
        ),
    }
}

/// An attempt's answer: its status, none when it failed in transport, at `TRACE`.
pub(crate) fn answered(attempt: u32, status: Option<u16>) {
    tracing::trace!(target: CALL, attempt, status, "attempt answered");
}
