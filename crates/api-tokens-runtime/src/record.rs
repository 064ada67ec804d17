//! The one record of a call, in one direction: seeded with the operation by the
//! generated `send` (through `hooks::finish`), filled once by the hooks (`prepare` the
//! request, `transport` the answer), read once by `answer` when the call is over.
//!
//! It is task-local because progenitor's hooks take only the request: the record is how
//! they learn which operation they serve and leave what they saw.

use std::cell::RefCell;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::error::Error;
use crate::wire::Operation;

/// What one call knows and leaves behind.
pub(crate) struct CallRecord {
    /// The operation, from the generated table.
    pub(crate) op: &'static Operation,
    /// The operation timeout: the whole call must be over that long after it started.
    pub(crate) timeout: std::time::Duration,
    /// When the call was first polled (`finish` builds it ahead).
    pub(crate) started: Option<tokio::time::Instant>,
    /// Why `prepare` refused the request; progenitor only sees that it failed.
    pub(crate) refused: Option<Error>,
    /// The query and body as sent, kept only for operations with secret inputs, to
    /// scrub them from a failure's messages.
    pub(crate) sent: Option<Box<SentInputs>>,
    /// The answer as read.
    pub(crate) answer: Option<Answer>,
    /// A test responder's answer outlasted the attempt's timeout (reqwest says so of
    /// a real request in its own error, which cannot be made outside reqwest).
    pub(crate) timed_out: bool,
}

/// The query and body of a request as sent.
pub(crate) type SentInputs = (Option<String>, Bytes);

/// An answer as the transport read it.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    /// The headers of an unsuccessful answer (those of a successful one move into
    /// progenitor's `ResponseValue`). Boxed, as `sent` is: the record is moved in and out
    /// of its task-local slot each time the call is polled, so what only a failure or a
    /// secret input needs is kept out of it.
    pub(crate) headers: Option<Box<HeaderMap>>,
    /// The body, shared with the response progenitor decodes: read once, never copied.
    pub(crate) body: Bytes,
    /// The body was over the limit and was not read.
    pub(crate) too_large: bool,
}

tokio::task_local! {
    static CALL: RefCell<Option<CallRecord>>;
}

impl CallRecord {
    pub(crate) fn new(op: &'static Operation, timeout: std::time::Duration) -> Self {
        CallRecord {
            op,
            timeout,
            started: None,
            refused: None,
            sent: None,
            answer: None,
            timed_out: false,
        }
    }

    /// When the whole call must be over: no retry waits past it. `None` once started
    /// with a timeout too long to add, or before it started.
    pub(crate) fn deadline(&self) -> Option<tokio::time::Instant> {
        self.started?.checked_add(self.timeout)
    }

    /// `call` with this record in scope; gives the record back with the result.
    ///
    /// Not an `async fn`: one would hold `call` twice (its argument, and the future it
    /// awaits), and a call's future is most of the call's size.
    pub(crate) fn scope<F: Future>(self, call: F) -> impl Future<Output = (F::Output, Option<CallRecord>)> {
        CALL.scope(RefCell::new(Some(self)), Recorded { call })
    }
}

pin_project_lite::pin_project! {
    /// A call, then its record, taken while the record is still in scope.
    struct Recorded<F> {
        #[pin]
        call: F,
    }
}

impl<F: Future> Future for Recorded<F> {
    type Output = (F::Output, Option<CallRecord>);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // The call starts at its first poll.
        with(|r| {
            r.started.get_or_insert_with(tokio::time::Instant::now);
        });
        let output = std::task::ready!(self.project().call.poll(cx));
        Poll::Ready((output, CALL.with(|c| c.borrow_mut().take())))
    }
}

/// Reads or fills the current call's record; `None` outside a call.
pub(crate) fn with<R>(f: impl FnOnce(&mut CallRecord) -> R) -> Option<R> {
    CALL.try_with(|c| c.borrow_mut().as_mut().map(f)).ok().flatten()
}
