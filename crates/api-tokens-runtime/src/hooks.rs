//! What the generated clients' hooks do, driven by the `wire` tables.
//!
//! `pre` fixes the request (media types, credentials, no `api-version`); `exec` sends
//! it and reads the answer's body within a size limit, keeping status, headers and
//! bytes in a per-call record; `finish` turns progenitor's result and that record into
//! this crate's [`Error`], recognising vendor errors inside successful answers.

use std::cell::RefCell;

use base64::Engine;
use bytes::Bytes;
use progenitor_client::ResponseValue;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Request, StatusCode};

use crate::credentials::{ClientState, Credential};
use crate::decode::{self, Verdict};
use crate::error::{Error, ErrorKind};
use crate::wire::{Api, Operation, Place, SecretInput};

/// Limit on an error answer's body: enough for any vendor message, small enough that a
/// hostile or broken server cannot exhaust memory.
pub const ERROR_BODY_LIMIT: usize = 64 * 1024;

#[derive(Default)]
struct CallRecord {
    status: Option<StatusCode>,
    headers: Option<HeaderMap>,
    body: Bytes,
    too_large: bool,
    hook_error: Option<Error>,
    secrets: Vec<String>,
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
    let mut secrets = request_secrets(request, op.secret_inputs);
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
        match apply(request, scheme.place, credential) {
            Ok(Some(header)) => secrets.push(header),
            Ok(None) => {}
            Err(why) => return fail(Error::new(ErrorKind::InvalidArgument, api.vendor, why).operation(op.id)),
        }
    }
    secrets.extend(state.credentials.secrets().map(str::to_owned));
    record(|r| r.secrets = secrets);
    Ok(())
}

fn sensitive(value: &str) -> Result<HeaderValue, String> {
    let mut value = HeaderValue::from_str(value).map_err(|_| "a credential cannot go in an HTTP header".to_owned())?;
    value.set_sensitive(true);
    Ok(value)
}

/// Applies a credential; returns the Basic header's encoded value, itself a secret.
fn apply(request: &mut Request, place: Place, credential: &Credential) -> Result<Option<String>, String> {
    match (place, credential) {
        (Place::Basic, Credential::Basic { username, password }) => {
            let pair = format!("{username}:{}", password.expose());
            let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
            request
                .headers_mut()
                .insert(AUTHORIZATION, sensitive(&format!("Basic {encoded}"))?);
            return Ok(Some(encoded));
        }
        (Place::Bearer, Credential::Token(token)) => {
            request
                .headers_mut()
                .insert(AUTHORIZATION, sensitive(&format!("Bearer {}", token.expose()))?);
        }
        (Place::Header(name), Credential::Token(token)) => {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| format!("bad header name `{name}`"))?;
            request.headers_mut().insert(name, sensitive(token.expose())?);
        }
        (Place::Query(name), Credential::Token(token)) => {
            request.url_mut().query_pairs_mut().append_pair(name, token.expose());
        }
        (Place::FormField(name), Credential::Token(token)) => {
            let mut body = body_bytes(request)?;
            let field = serde_urlencoded::to_string([(name, token.expose())])
                .map_err(|_| "the form body could not be encoded".to_owned())?;
            if !body.is_empty() {
                body.push(b'&');
            }
            body.extend_from_slice(field.as_bytes());
            set_body(request, body, "application/x-www-form-urlencoded");
        }
        (Place::JsonField(name), Credential::Token(token)) => {
            let body = body_bytes(request)?;
            let mut object = if body.is_empty() {
                serde_json::Map::new()
            } else {
                match serde_json::from_slice(&body) {
                    Ok(serde_json::Value::Object(object)) => object,
                    _ => return Err("the request body is not a JSON object".to_owned()),
                }
            };
            object.insert(name.to_owned(), serde_json::Value::String(token.expose().to_owned()));
            let bytes = serde_json::to_vec(&object).map_err(|_| "the JSON body could not be encoded".to_owned())?;
            set_body(request, bytes, "application/json");
        }
        _ => return Err("a credential has the wrong shape for its scheme".to_owned()),
    }
    Ok(None)
}

/// The values of the request's secret fields, read back from the built request.
fn request_secrets(request: &Request, inputs: &[SecretInput]) -> Vec<String> {
    let mut found = Vec::new();
    let body = request.body().and_then(|b| b.as_bytes()).unwrap_or_default();
    for input in inputs {
        match *input {
            SecretInput::Query(name) => {
                found.extend(
                    request
                        .url()
                        .query_pairs()
                        .filter(|(k, _)| k == name)
                        .map(|(_, v)| v.into_owned()),
                );
            }
            SecretInput::FormField(name) => {
                let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
                found.extend(pairs.into_iter().filter(|(k, _)| k == name).map(|(_, v)| v));
            }
            SecretInput::JsonField(name) => {
                let value = serde_json::from_slice::<serde_json::Value>(body).ok();
                found.extend(
                    value
                        .as_ref()
                        .and_then(|v| v.get(name))
                        .and_then(|v| v.as_str())
                        .map(str::to_owned),
                );
            }
        }
    }
    // A list such as TigerGraph's `"t1,t2"`: each token is a secret of its own.
    let parts: Vec<String> = found
        .iter()
        .filter(|v| v.contains(','))
        .flat_map(|v| v.split(',').map(str::to_owned))
        .collect();
    found.extend(parts);
    found
}

fn body_bytes(request: &Request) -> Result<Vec<u8>, String> {
    match request.body() {
        None => Ok(Vec::new()),
        Some(body) => body
            .as_bytes()
            .map(<[u8]>::to_vec)
            .ok_or_else(|| "a streamed body cannot carry a credential".to_owned()),
    }
}

fn set_body(request: &mut Request, body: Vec<u8>, content_type: &'static str) {
    let len = body.len();
    *request.body_mut() = Some(body.into());
    let headers = request.headers_mut();
    headers
        .entry(CONTENT_TYPE)
        .or_insert(HeaderValue::from_static(content_type));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
}

/// Sends the request and reads the answer within the size limit: the state's
/// `max_body_bytes` for a 2xx answer, [`ERROR_BODY_LIMIT`] for any other.
pub async fn exec(
    client: &reqwest::Client,
    state: &ClientState,
    request: Request,
) -> reqwest::Result<reqwest::Response> {
    #[cfg(feature = "test-util")]
    let mut response = match &state.responder {
        Some(respond) => reqwest::Response::from(respond(&request)),
        None => client.execute(request).await?,
    };
    #[cfg(not(feature = "test-util"))]
    let mut response = client.execute(request).await?;
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
    convert(api, op, result, record)
}

fn convert<T, E>(
    api: &'static Api,
    op: &'static Operation,
    result: Result<ResponseValue<T>, progenitor_client::Error<E>>,
    record: CallRecord,
) -> Result<ResponseValue<T>, Error>
where
    T: Send + Sync + 'static,
    E: Send + Sync + 'static,
{
    use progenitor_client::Error as P;
    let base = |kind: ErrorKind, detail: String| Error::new(kind, api.vendor, detail).operation(op.id);
    let answered = |error: Error| match record.status {
        Some(status) => error.status(status, record.headers.clone()),
        None => error,
    };
    let vendor_fields = |error: Error, json: &serde_json::Value| {
        let (code, message) = decode::vendor_fields(&api.errors, json, &record.secrets);
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
        Ok(value) => match (&op.envelope, &json) {
            (None, _) => Ok(value),
            (Some(envelope), Some(json)) if decode::verdict(envelope, json) == Verdict::Success => Ok(value),
            (Some(envelope), Some(json)) if decode::verdict(envelope, json) == Verdict::Failure => {
                let error = answered(base(ErrorKind::Vendor, String::new())).in_success_body();
                Err(vendor_fields(error, json).body(value.into_inner()))
            }
            (Some(envelope), _) => {
                let detail = format!(
                    "the `{}` field that tells success from failure is missing or malformed",
                    envelope.field
                );
                Err(answered(base(ErrorKind::InvalidBody, detail)))
            }
        },
        Err(P::ErrorResponse(value)) => {
            let error = answered(base(ErrorKind::Vendor, String::new()));
            let error = match &json {
                Some(json) => vendor_fields(error, json),
                None => error,
            };
            Err(error.body(value.into_inner()))
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
