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
use reqwest::{Method, Request, StatusCode};

use crate::credentials::ClientState;
use crate::error::{Error, ErrorKind};
use crate::wire::{Api, Operation, Scheme};
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
    /// When the whole call must be over: no retry waits past it.
    pub(crate) deadline: Option<tokio::time::Instant>,
}

tokio::task_local! {
    static CALL: RefCell<CallRecord>;
}

fn record(f: impl FnOnce(&mut CallRecord)) {
    // Outside `finish` (a hand-made call to a raw method) there is no record to keep.
    let _ = CALL.try_with(|c| f(&mut c.borrow_mut()));
}

/// Refuses, before anything is sent, a path parameter that would send the request to
/// another endpoint (empty, `.` or `..`: URL parsing removes dot segments, so
/// `/tokens/{id}` with `..` becomes `/`) and an empty required query parameter.
/// Called by every generated `send` for each such parameter of its operation.
///
/// The value is read through `Serialize`, as the request will send it: a [`Secret`]'s
/// `Display` is `<redacted>`, never empty.
///
/// [`Secret`]: crate::Secret
pub fn check_argument<V: serde::Serialize + ?Sized>(
    api: &'static Api,
    op: &'static Operation,
    name: &'static str,
    value: &V,
) -> Result<(), Error> {
    let value = match serde_json::to_value(value) {
        Ok(serde_json::Value::String(text)) => text,
        // Numbers and booleans are never empty nor a dot segment.
        _ => return Ok(()),
    };
    let value = value.as_str();
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

/// Prepares a request: removes progenitor's `api-version`, sets the vendor's media
/// types, and applies the credentials (see `choose_credentials`).
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
    let chosen = match choose_credentials(api, op, state, request) {
        Ok(chosen) => chosen,
        Err(error) => return fail(error),
    };
    for scheme in chosen {
        let Some(credential) = state.credentials.get(scheme.credential) else {
            continue;
        };
        match auth::apply(request, scheme.place, credential) {
            Ok(Some(header)) => secrets.push(header),
            Ok(None) => {}
            Err(why) => return fail(Error::new(ErrorKind::InvalidArgument, api.vendor, why).operation(op.id)),
        }
    }
    // RFC 9110 §8.6: a client SHOULD send `Content-Length: 0` on a bodiless POST or PUT;
    // strict proxies answer 411 without it, and hyper does not add it.
    let bodiless = request
        .body()
        .is_none_or(|b| b.as_bytes().is_some_and(<[u8]>::is_empty));
    if bodiless && matches!(*request.method(), Method::POST | Method::PUT | Method::PATCH) {
        request
            .headers_mut()
            .insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
    }
    secrets.extend(state.credentials.secrets().map(str::to_owned));
    record(|r| r.secrets = secrets);
    Ok(())
}

/// The schemes whose client credentials go on this request.
///
/// Of the operation's security alternatives, the one satisfied that sends the most of
/// the client's credentials wins (the spec's order breaks ties): a one-time code goes
/// with the password it belongs to rather than being dropped for an API key. A scheme
/// is also satisfied by the request body when it holds the scheme's `body_fields` (a
/// login typed into the form); nothing is added for it, and the body goes as it is.
///
/// A credential the user gave is sent or the call fails saying why: a login in the body
/// and on the client at once is refused as ambiguous, and a credential set on the
/// client that this operation sends only together with another one (Fastly's OTP with a
/// password) fails the call when that other one is missing, instead of being dropped.
fn choose_credentials(
    api: &'static Api,
    op: &'static Operation,
    state: &ClientState,
    request: &Request,
) -> Result<Vec<&'static Scheme>, Error> {
    let invalid = |kind, why: String| Err(Error::new(kind, api.vendor, why).operation(op.id));
    if op.security.is_empty() {
        return Ok(Vec::new());
    }
    let configured = |scheme: &Scheme| state.credentials.get(scheme.credential).is_some();
    let in_body =
        |scheme: &Scheme| !scheme.body_fields.is_empty() && auth::body_has_fields(request, scheme.body_fields);
    let schemes = |alternative: &'static [&'static str]| alternative.iter().filter_map(|name| api.scheme(name));

    for scheme in op.security.iter().flat_map(|alt| schemes(alt)) {
        if in_body(scheme) && configured(scheme) {
            return invalid(
                ErrorKind::InvalidArgument,
                format!(
                    "credential `{}` is given twice: in the request body ({}) and on the client; give one",
                    scheme.credential,
                    scheme.body_fields.join(", ")
                ),
            );
        }
    }
    let satisfied = |alternative: &[&str]| {
        alternative
            .iter()
            .all(|name| api.scheme(name).is_some_and(|s| configured(s) || in_body(s)))
    };
    // Credentials of the client an alternative sends; a login in the body goes anyway.
    let sends = |alternative: &'static [&'static str]| schemes(alternative).filter(|s| !in_body(s)).count();
    let mut best: Option<&'static [&'static str]> = None;
    for alternative in op.security.iter().copied().filter(|alt| satisfied(alt)) {
        if best.is_none_or(|b| sends(alternative) > sends(b)) {
            best = Some(alternative);
        }
    }
    let Some(best) = best else {
        let wanted: Vec<String> = op
            .security
            .iter()
            .map(|alt| schemes(alt).map(|s| s.credential).collect::<Vec<_>>().join(" + "))
            .collect();
        return invalid(
            ErrorKind::MissingCredentials,
            format!("it needs {}", wanted.join(", or ")),
        );
    };
    let chosen: Vec<&'static Scheme> = schemes(best).filter(|s| !in_body(s)).collect();
    let sent = |credential: &str| schemes(best).any(|s| s.credential == credential);
    for scheme in op.security.iter().flat_map(|alt| schemes(alt)) {
        let alone = op
            .security
            .iter()
            .any(|alt| alt.len() == 1 && schemes(alt).any(|s| s.credential == scheme.credential));
        if configured(scheme) && !sent(scheme.credential) && !alone {
            let partners: Vec<&str> = op
                .security
                .iter()
                .filter(|alt| schemes(alt).any(|s| s.credential == scheme.credential))
                .flat_map(|alt| schemes(alt).map(|s| s.credential))
                .filter(|c| *c != scheme.credential)
                .collect();
            return invalid(
                ErrorKind::MissingCredentials,
                format!(
                    "credential `{}` is set but is sent only together with {}, which is not set",
                    scheme.credential,
                    partners.join(" or ")
                ),
            );
        }
    }
    Ok(chosen)
}

/// Sends the request, again as the retry policy allows, and reads the answer within
/// the size limit: the state's
/// `max_body_bytes` for a 2xx answer, [`ERROR_BODY_LIMIT`] for any other.
pub async fn exec(
    client: &reqwest::Client,
    state: &ClientState,
    mut request: Request,
) -> reqwest::Result<reqwest::Response> {
    let deadline = CALL.try_with(|c| c.borrow().deadline).ok().flatten();
    // A wait that would end past the call's deadline is not started: the caller gets
    // the last answer (or failure) instead of a timeout with nothing to show.
    let fits = |wait: std::time::Duration| deadline.is_none_or(|d| tokio::time::Instant::now() + wait < d);
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
                    (Some(next), Some(wait)) if fits(wait) => (next, wait),
                    _ => break response,
                }
            }
            // The connection was never made, so nothing was sent: safe for any method.
            Err(error) if error.is_connect() => match (spare, state.retry.wait(attempt, None)) {
                (Some(next), Some(wait)) if fits(wait) => (next, wait),
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

/// Runs one generated call within the client's operation timeout and turns its result
/// into this crate's types.
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
    let deadline = tokio::time::Instant::now().checked_add(state.operation_timeout);
    let record = CallRecord {
        deadline,
        ..CallRecord::default()
    };
    let outcome = CALL
        .scope(RefCell::new(record), async {
            let result = match deadline {
                Some(deadline) => tokio::time::timeout_at(deadline, call).await.ok(),
                None => Some(call.await),
            };
            (result, CALL.with(|c| c.take()))
        })
        .await;
    match outcome {
        (Some(result), record) => answer::convert(api, op, result, record),
        (None, _) => Err(Error::new(
            ErrorKind::Timeout,
            api.vendor,
            format!(
                "the call took longer than its operation timeout of {:?}, retries included",
                state.operation_timeout
            ),
        )
        .operation(op.id)),
    }
}
