//! Preparing a request (`hooks::send`, before it goes): media types, credentials,
//! `Content-Length`, for the operation the call record names.

use bytes::Bytes;
use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use reqwest::{Method, Request};

use crate::auth;
use crate::credentials::ClientState;
use crate::error::{Error, ErrorKind};
use crate::record::SentInputs;
use crate::wire::{Api, Operation, Scheme};

/// Fixes `request` for `op`: the vendor's media types, the
/// credentials (see [`choose_credentials`]), `Content-Length: 0` on a bodiless POST or
/// PUT. Returns what was sent of the request when the operation has secret inputs.
pub(crate) fn prepare(
    state: &ClientState,
    op: &'static Operation,
    request: &mut Request,
) -> Result<Option<Box<SentInputs>>, Error> {
    let headers = request.headers_mut();
    // (progenitor's `api-version` header is removed from the generated code.)
    // progenitor has usually set the same one already: then it stays as it is.
    if let Some(accept) = op.accept {
        let mut present = headers.get_all(ACCEPT).iter();
        if !(present.next().is_some_and(|v| v == accept) && present.next().is_none()) {
            headers.insert(ACCEPT, HeaderValue::from_static(accept));
        }
    }
    if let (Some(content_type), true) = (op.content_type, request.body().is_some()) {
        request
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    for scheme in choose_credentials(state, op, request)? {
        if let Some(prepared) = state.prepared(scheme) {
            auth::apply(request, prepared)
                .map_err(|why| Error::new(ErrorKind::InvalidArgument, state.api.vendor, why).operation(op.id))?;
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
    if op.secret_inputs.is_empty() {
        return Ok(None);
    }
    let body = request.body().and_then(|b| b.as_bytes()).unwrap_or_default();
    Ok(Some(Box::new((
        request.url().query().map(str::to_owned),
        Bytes::copy_from_slice(body),
    ))))
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
    state: &ClientState,
    op: &'static Operation,
    request: &Request,
) -> Result<impl Iterator<Item = &'static Scheme> + use<>, Error> {
    let api = state.api;
    let invalid = |kind, why: String| Err(Error::new(kind, api.vendor, why).operation(op.id));
    let none: &'static [&'static str] = &[];
    if op.security.is_empty() {
        return Ok(to_send(api, none, Vec::new()));
    }
    let configured = |scheme: &Scheme| state.credentials.get(scheme.credential).is_some();
    let schemes = |alternative: &'static [&'static str]| alternative.iter().filter_map(|name| api.scheme(name));
    // The body is read once: the schemes of this operation whose credential it carries.
    let carried: Vec<&'static Scheme> = op
        .security
        .iter()
        .flat_map(|alt| schemes(alt))
        .filter(|s| !s.body_fields.is_empty() && auth::body_has_fields(request, s.body_fields))
        .collect();
    let in_body = |scheme: &Scheme| carried.iter().any(|s| std::ptr::eq(*s, scheme));
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
    Ok(to_send(api, best, carried))
}

/// The schemes of `alternative` whose credential the body does not already carry: an
/// iterator, so that the common call (one header, nothing in the body) allocates
/// nothing here.
fn to_send(
    api: &'static Api,
    alternative: &'static [&'static str],
    carried: Vec<&'static Scheme>,
) -> impl Iterator<Item = &'static Scheme> {
    alternative
        .iter()
        .filter_map(move |name| api.scheme(name))
        .filter(move |s| !carried.iter().any(|c| std::ptr::eq(*c, *s)))
}
