//! The transport (`hooks::send`, once the request is prepared): sends a request
//! (again, as the retry policy allows and the call's deadline leaves time for), reads
//! the answer's body once within its size limit, and leaves the answer in the call
//! record.

use std::pin::Pin;

use bytes::Bytes;
use reqwest::header::CONTENT_LENGTH;
use reqwest::{Request, Response};

use crate::body::Collected;
use crate::credentials::ClientState;
use crate::record::{self, Answer};

/// Limit on an error answer's body: enough for any vendor message, small enough that a
/// hostile or broken server cannot exhaust memory.
pub(crate) const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// Sends `request` and reads its answer: the state's `max_body_bytes` for a 2xx
/// answer, [`ERROR_BODY_LIMIT`] for any other.
///
/// Its future is part of every call's future, which a task spawned per call allocates
/// and moves, so it holds one request: the next attempt's copy waits where the request
/// was. It is an `async move` block (an `async fn` keeps its argument and a copy of
/// it); a value borrowed before an await lives in a block that ends before it (a
/// borrowed value keeps its room to the end of its block); and what is rare (a retry's
/// wait, reading a body here) is boxed.
pub(crate) fn exec<'a>(
    client: &'a reqwest::Client,
    state: &'a ClientState,
    request: Request,
) -> impl Future<Output = reqwest::Result<Response>> + Send + 'a {
    let mut pending = request;
    async move {
        let (deadline, envelope) = record::with(|r| (r.deadline(), r.op.envelope.is_some())).unwrap_or_default();
        // A wait that would end past the call's deadline is not started: the caller gets
        // the last answer (or failure) instead of a timeout with nothing to show.
        let fits = |wait: std::time::Duration| {
            deadline.is_none_or(|d| tokio::time::Instant::now().checked_add(wait).is_some_and(|end| end < d))
        };
        let mut attempt = 0;
        let response = loop {
            // The retry copy shares the body; a connection that could not be made is
            // retried for any method, so every attempt but the last keeps one.
            let spare = if attempt < state.retry.max_retries {
                copy(&pending)
            } else {
                None
            };
            let idempotent = state.retry.is_idempotent(pending.method());
            // An attempt that could outlast the call gets what is left of the call as
            // its timeout (reqwest keeps a per-request timeout in the request's
            // extensions, an allocation that most attempts do without: the client this
            // crate builds has the attempt timeout as its own). A client of the user's
            // gets the attempt timeout on every attempt.
            let left = deadline.map(|d| d.saturating_duration_since(tokio::time::Instant::now()));
            let cut = left.filter(|left| *left < state.attempt_timeout);
            if let Some(timeout) = cut.or(state.user_client.then_some(state.attempt_timeout)) {
                *pending.timeout_mut() = Some(timeout);
            }
            // This attempt's request, its copy left in its place. (`spare` is consumed
            // whole: an `Option` matched in place would keep its room in the future.)
            let Some(current) = spare.map(|spare| std::mem::replace(&mut pending, spare)) else {
                // The last attempt: nothing is kept for another.
                let sent = send(client, state, pending).await;
                answered(attempt, &sent);
                break sent?;
            };
            let wait = {
                let sent = send(client, state, current).await;
                if answered(attempt, &sent) {
                    break sent?;
                }
                match sent {
                    Ok(response) if idempotent && state.retry.retries_status(response.status()) => {
                        match state.retry.wait(attempt, Some(response.headers())) {
                            Some(wait) if fits(wait) => {
                                let status = response.status().as_u16();
                                crate::trace::retrying(attempt, crate::trace::Retry::Status(status), wait);
                                wait
                            }
                            _ => break response,
                        }
                    }
                    // The connection was never made, so nothing was sent: safe for any
                    // method.
                    Err(error) if error.is_connect() => match state.retry.wait(attempt, None) {
                        Some(wait) if fits(wait) => {
                            crate::trace::retrying(attempt, crate::trace::Retry::Connect, wait);
                            wait
                        }
                        _ => return Err(error),
                    },
                    other => break other?,
                }
            };
            Box::pin(tokio::time::sleep(wait)).await;
            attempt += 1;
        };
        let reading = match keep(state, envelope, response) {
            Ok(response) => return Ok(response),
            Err(reading) => reading,
        };
        reading.await
    }
}

/// Traces an attempt's outcome; `true` when it is final whatever it is (a test
/// responder's answer that came too late, which reqwest would have failed as a timeout).
fn answered(attempt: u32, sent: &reqwest::Result<Response>) -> bool {
    #[cfg(feature = "test-util")]
    if record::with(|r| r.timed_out).unwrap_or(false) {
        crate::trace::answered(attempt, None);
        return true;
    }
    crate::trace::answered(attempt, sent.as_ref().ok().map(|r| r.status().as_u16()));
    false
}

/// A copy of `request` for another attempt. reqwest's `try_clone` also gives the copy
/// a timeout entry in its extensions, a map allocated and dropped again on every call;
/// a request without a body is copied here without it. A body is shared, not copied.
fn copy(request: &Request) -> Option<Request> {
    if request.body().is_some() {
        return request.try_clone();
    }
    let mut copy = Request::new(request.method().clone(), request.url().clone());
    *copy.headers_mut() = request.headers().clone();
    *copy.version_mut() = request.version();
    // (The timeout is the only other thing reqwest lets a request carry.)
    if let Some(timeout) = request.timeout() {
        *copy.timeout_mut() = Some(*timeout);
    }
    Some(copy)
}

/// The answer as it came, when progenitor can take it so: a success (outside an
/// envelope) whose announced length is within the limit (hyper holds the body to that
/// length). Otherwise (`Err`) the future reading its whole body first.
#[allow(clippy::type_complexity)]
fn keep(
    state: &ClientState,
    envelope: bool,
    response: Response,
) -> Result<Response, Pin<Box<dyn Future<Output = reqwest::Result<Response>> + Send>>> {
    let status = response.status();
    let limit = if status.is_success() {
        state.max_body_bytes
    } else {
        ERROR_BODY_LIMIT
    };
    if status.is_success() && !envelope && response.content_length().is_some_and(|l| l <= limit as u64) {
        record::with(|r| {
            r.answer = Some(Answer {
                status,
                headers: None,
                body: Bytes::new(),
                too_large: false,
            })
        });
        return Ok(response);
    }
    Err(Box::pin(read_whole(response, limit)))
}

/// The answer with its whole body read (or, over `limit`, none of it), left in the call
/// record too: an error's for the error, an envelope's for its verdict.
async fn read_whole(mut response: Response, limit: usize) -> reqwest::Result<Response> {
    let status = response.status();
    let mut headers = std::mem::take(response.headers_mut());
    let version = response.version();
    let body = read_body(response, limit).await?;
    let too_large = body.is_none();
    if too_large {
        headers.remove(CONTENT_LENGTH);
    }
    let body = body.unwrap_or_default();
    record::with(|r| {
        r.answer = Some(Answer {
            status,
            headers: (!status.is_success()).then(|| Box::new(headers.clone())),
            body: body.clone(),
            too_large,
        })
    });
    let mut rebuilt = http::Response::new(body);
    *rebuilt.status_mut() = status;
    *rebuilt.version_mut() = version;
    *rebuilt.headers_mut() = headers;
    Ok(Response::from(rebuilt))
}

/// The whole body, or `None` when it is longer than `limit` (then not read further).
///
/// Read chunk by chunk (`Response::bytes`'s future would hold the response a second
/// time inside every call's future), a body of one chunk kept as it came.
async fn read_body(mut response: Response, limit: usize) -> reqwest::Result<Option<Bytes>> {
    let announced = response.content_length();
    if announced.is_some_and(|length| length > limit as u64) {
        return Ok(None);
    }
    let mut body = Collected::new(announced.map_or(0, |length| usize::try_from(length).unwrap_or(usize::MAX)));
    while let Some(chunk) = response.chunk().await? {
        if body.len().saturating_add(chunk.len()) > limit {
            return Ok(None);
        }
        body.push(chunk);
    }
    Ok(Some(body.into_bytes()))
}

/// Sends `request` (or, in tests, has the responder answer it). Not an `async fn`,
/// which would hold the request beside the future sending it.
fn send<'a>(
    client: &'a reqwest::Client,
    state: &ClientState,
    request: Request,
) -> Sending<impl Future<Output = reqwest::Result<Response>> + Send + 'a> {
    #[cfg(feature = "test-util")]
    if let Some(respond) = &state.responder {
        // The timeouts a real request has: the call's, else the attempt's.
        let limit = request.timeout().copied().unwrap_or(state.attempt_timeout);
        let answer = tokio::time::timeout(limit, respond(&request));
        return Sending::Responder {
            answer: Box::pin(async move {
                Ok(Response::from(match answer.await {
                    Ok(answer) => answer,
                    Err(_) => {
                        // The record says it; this stand-in is never read.
                        record::with(|r| r.timed_out = true);
                        http::Response::new(Vec::new())
                    }
                }))
            }),
        };
    }
    let _ = state;
    Sending::Network {
        pending: client.execute(request),
    }
}

pin_project_lite::pin_project! {
    /// A request on its way: reqwest's, or (feature `test-util`) a responder's answer.
    #[project = SendingNow]
    #[allow(dead_code)] // `Responder` is made only with feature `test-util`.
    enum Sending<F> {
        Network { #[pin] pending: F },
        Responder { answer: std::pin::Pin<Box<dyn Future<Output = reqwest::Result<Response>> + Send>> },
    }
}

impl<F: Future<Output = reqwest::Result<Response>>> Future for Sending<F> {
    type Output = reqwest::Result<Response>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        match self.project() {
            SendingNow::Network { pending } => pending.poll(cx),
            SendingNow::Responder { answer } => answer.as_mut().poll(cx),
        }
    }
}
