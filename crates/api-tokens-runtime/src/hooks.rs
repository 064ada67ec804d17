//! What the generated clients' hooks do, driven by the `wire` tables.
//!
//! `pre` fixes the request (media types, credentials, no `api-version`); `exec` sends
//! it and reads the answer's body within a size limit, keeping status, headers and
//! bytes in a per-call record; `finish` turns progenitor's result and that record into
//! this crate's [`Error`], recognising vendor errors inside successful answers.

use std::cell::RefCell;

use bytes::Bytes;
use progenitor_client::ResponseValue;
use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Request, StatusCode};

use crate::credentials::ClientState;
use crate::error::{Error, ErrorKind};
use crate::wire::{Api, Operation};
use crate::{answer, auth};

/// Limit on an error answer's body: enough for any vendor message, small enough that a
/// hostile or broken server cannot exhaust memory.
pub const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// What one call leaves behind for `finish`: the answer as read, or the hook's error.
#[derive(Default)]
pub(crate) struct CallRecord {
    pub(crate) status: Option<StatusCode>,
    pub(crate) headers: Option<HeaderMap>,
    pub(crate) body: Bytes,
    pub(crate) too_large: bool,
    pub(crate) hook_error: Option<Error>,
    pub(crate) secrets: Vec<String>,
}

tokio::task_local! {
    static CALL: RefCell<CallRecord>;
}

fn record(f: impl FnOnce(&mut CallRecord)) {
    // Outside `finish` (a hand-made call to a raw method) there is no record to keep.
    let _ = CALL.try_with(|c| f(&mut c.borrow_mut()));
}

/// Prepares a request: removes progenitor's `api-version`, sets the vendor's media
/// types, and applies the first alternative of the operation's security that the
/// configured credentials satisfy.
pub fn pre(api: &'static Api, state: &ClientState, request: &mut Request, operation_id: &str) -> Result<(), String> {
    let fail = |error: Error| {
        let text = error.to_string();
        record(|r| r.hook_error = Some(error));
        Err(text)
    };
    let Some(op) = api.operation(operation_id) else {
        return fail(Error::new(
            ErrorKind::InvalidArgument,
            api.vendor,
            format!("unknown operation `{operation_id}`"),
        ));
    };
    let headers = request.headers_mut();
    headers.remove("api-version");
    if let Some(accept) = op.accept {
        headers.insert(ACCEPT, HeaderValue::from_static(accept));
    }
    if let (Some(content_type), true) = (op.content_type, request.body().is_some()) {
        request
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    let mut secrets = auth::request_secrets(request, op.secret_inputs);
    if op.security.is_empty() {
        record(|r| r.secrets = secrets);
        return Ok(());
    }
    let satisfied = op.security.iter().find(|alternative| {
        alternative.iter().all(|name| {
            api.scheme(name)
                .is_some_and(|scheme| state.credentials.get(scheme.credential).is_some())
        })
    });
    let Some(alternative) = satisfied else {
        let wanted: Vec<String> = op
            .security
            .iter()
            .map(|alt| {
                alt.iter()
                    .map(|name| api.scheme(name).map_or(*name, |s| s.credential))
                    .collect::<Vec<_>>()
                    .join(" + ")
            })
            .collect();
        return fail(
            Error::new(
                ErrorKind::MissingCredentials,
                api.vendor,
                format!("it needs {}", wanted.join(", or ")),
            )
            .operation(op.id),
        );
    };
    for name in alternative.iter() {
        let Some(scheme) = api.scheme(name) else { continue };
        let Some(credential) = state.credentials.get(scheme.credential) else {
            continue;
        };
        match auth::apply(request, scheme.place, credential) {
            Ok(Some(header)) => secrets.push(header),
            Ok(None) => {}
            Err(why) => return fail(Error::new(ErrorKind::InvalidArgument, api.vendor, why).operation(op.id)),
        }
    }
    secrets.extend(state.credentials.secrets().map(str::to_owned));
    record(|r| r.secrets = secrets);
    Ok(())
}

/// Sends the request, again as the retry policy allows, and reads the answer within
/// the size limit: the state's
/// `max_body_bytes` for a 2xx answer, [`ERROR_BODY_LIMIT`] for any other.
pub async fn exec(
    client: &reqwest::Client,
    state: &ClientState,
    mut request: Request,
) -> reqwest::Result<reqwest::Response> {
    let mut attempt = 0;
    let mut response = loop {
        let spare = if attempt < state.retry.max_retries {
            request.try_clone()
        } else {
            None
        };
        let method = request.method().clone();
        let (next, wait) = match send(client, state, request).await {
            Ok(response) if state.retry.retries_answer(&method, response.status()) => {
                match (spare, state.retry.wait(attempt, Some(response.headers()))) {
                    (Some(next), Some(wait)) => (next, wait),
                    _ => break response,
                }
            }
            // The connection was never made, so nothing was sent: safe for any method.
            Err(error) if error.is_connect() => match (spare, state.retry.wait(attempt, None)) {
                (Some(next), Some(wait)) => (next, wait),
                _ => return Err(error),
            },
            other => break other?,
        };
        tokio::time::sleep(wait).await;
        request = next;
        attempt += 1;
    };
    let status = response.status();
    let limit = if status.is_success() {
        state.max_body_bytes
    } else {
        ERROR_BODY_LIMIT
    };
    let mut headers = response.headers().clone();
    let version = response.version();
    let mut body = Vec::new();
    let mut too_large = response.content_length().is_some_and(|len| len > limit as u64);
    while !too_large {
        match response.chunk().await? {
            Some(chunk) if body.len() + chunk.len() > limit => too_large = true,
            Some(chunk) => body.extend_from_slice(&chunk),
            None => break,
        }
    }
    if too_large {
        body.clear();
        headers.remove(CONTENT_LENGTH);
    }
    let body = Bytes::from(body);
    record(|r| {
        r.status = Some(status);
        r.headers = Some(headers.clone());
        r.body = body.clone();
        r.too_large = too_large;
    });
    let mut rebuilt = http::Response::new(body);
    *rebuilt.status_mut() = status;
    *rebuilt.version_mut() = version;
    *rebuilt.headers_mut() = headers;
    Ok(reqwest::Response::from(rebuilt))
}

async fn send(client: &reqwest::Client, state: &ClientState, request: Request) -> reqwest::Result<reqwest::Response> {
    #[cfg(feature = "test-util")]
    if let Some(respond) = &state.responder {
        return Ok(reqwest::Response::from(respond(&request)));
    }
    let _ = state;
    client.execute(request).await
}

/// Runs one generated call and turns its result into this crate's types.
pub async fn finish<T, E>(
    api: &'static Api,
    op: &'static Operation,
    call: impl Future<Output = Result<ResponseValue<T>, progenitor_client::Error<E>>>,
) -> Result<ResponseValue<T>, Error>
where
    T: Send + Sync + 'static,
    E: Send + Sync + 'static,
{
    let (result, record) = CALL
        .scope(RefCell::new(CallRecord::default()), async {
            let result = call.await;
            (result, CALL.with(|c| c.take()))
        })
        .await;
    answer::convert(api, op, result, record)
}
