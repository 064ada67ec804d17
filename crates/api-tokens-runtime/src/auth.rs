//! Credentials on the wire: each prepared credential (`credentials.rs` refuses or
//! prepares them when a client is built) applied to a request where its scheme says.

use reqwest::Request;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};

use crate::credentials::Prepared;

/// Puts a prepared credential on the request.
pub(crate) fn apply(request: &mut Request, prepared: &Prepared) -> Result<(), String> {
    match prepared {
        Prepared::Header(name, value) => {
            request.headers_mut().insert(name.clone(), value.clone());
        }
        Prepared::Query(name, token) => {
            request.url_mut().query_pairs_mut().append_pair(name, token.expose());
        }
        Prepared::FormField(name, token) => {
            let mut body = body_bytes(request)?;
            let field = serde_urlencoded::to_string([(name, token.expose())])
                .map_err(|_| "the form body could not be encoded".to_owned())?;
            if !body.is_empty() {
                body.push(b'&');
            }
            body.extend_from_slice(field.as_bytes());
            set_body(request, body, "application/x-www-form-urlencoded");
        }
        Prepared::JsonField(name, token) => {
            let body = body_bytes(request)?;
            let mut object = if body.is_empty() {
                serde_json::Map::new()
            } else {
                match serde_json::from_slice(&body) {
                    Ok(serde_json::Value::Object(object)) => object,
                    _ => return Err("the request body is not a JSON object".to_owned()),
                }
            };
            object.insert((*name).to_owned(), serde_json::Value::String(token.expose().to_owned()));
            let bytes = serde_json::to_vec(&object).map_err(|_| "the JSON body could not be encoded".to_owned())?;
            set_body(request, bytes, "application/json");
        }
        Prepared::Body(token) => {
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
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_fields_needs_every_field_non_empty() {
        let request = |body: &'static str| {
            let mut request = Request::new(reqwest::Method::POST, "http://h/".parse().expect("url"));
            *request.body_mut() = Some(body.into());
            request
        };
        for (body, has) in [
            ("username=u&password=p", true),
            ("username=u&password=", false),
            ("username=u", false),
            (r#"{"username":"u","password":"p"}"#, true),
            (r#"{"username":"u","password":""}"#, false),
            (r#"{"username":"u"}"#, false),
        ] {
            assert_eq!(
                body_has_fields(&request(body), &["username", "password"]),
                has,
                "{body}"
            );
        }
        let bodiless = Request::new(reqwest::Method::POST, "http://h/".parse().expect("url"));
        assert!(!body_has_fields(&bodiless, &["username"]));
    }
}
