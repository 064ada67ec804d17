//! Putting credentials where each scheme says, and noting every secret a request
//! carries so that no error repeats it.

use base64::Engine;
use reqwest::Request;
use reqwest::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue};

use crate::credentials::Credential;
use crate::wire::{Place, SecretInput};

fn sensitive(value: &str) -> Result<HeaderValue, String> {
    let mut value = HeaderValue::from_str(value).map_err(|_| "a credential cannot go in an HTTP header".to_owned())?;
    value.set_sensitive(true);
    Ok(value)
}

/// Applies a credential; returns the Basic header's encoded value, itself a secret.
pub(crate) fn apply(request: &mut Request, place: Place, credential: &Credential) -> Result<Option<String>, String> {
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
        (Place::Body, Credential::Token(token)) => {
            if request.body().is_some() {
                return Err("the request already has a body; the credential cannot be it".to_owned());
            }
            // As `curl -d` sends it, which is how the vendor documents the call.
            set_body(
                request,
                token.expose().as_bytes().to_vec(),
                "application/x-www-form-urlencoded",
            );
        }
        _ => return Err("a credential has the wrong shape for its scheme".to_owned()),
    }
    Ok(None)
}

/// The values of the request's secret fields, read back from the built request.
pub(crate) fn request_secrets(request: &Request, inputs: &[SecretInput]) -> Vec<String> {
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
            SecretInput::JsonPointer(pointer) => {
                let value = serde_json::from_slice::<serde_json::Value>(body).ok();
                found.extend(
                    value
                        .as_ref()
                        .and_then(|v| v.pointer(pointer))
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

/// Whether the request's form or JSON object body holds every one of `fields`, each
/// non-empty.
pub(crate) fn body_has_fields(request: &Request, fields: &[&str]) -> bool {
    let Some(body) = request.body().and_then(|b| b.as_bytes()) else {
        return false;
    };
    if let Ok(serde_json::Value::Object(object)) = serde_json::from_slice::<serde_json::Value>(body) {
        return fields
            .iter()
            .all(|f| object.get(*f).and_then(|v| v.as_str()).is_some_and(|v| !v.is_empty()));
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    fields
        .iter()
        .all(|f| pairs.iter().any(|(k, v)| k == f && !v.is_empty()))
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
