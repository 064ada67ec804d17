//! Reading vendor answers without trusting them.

use serde_json::Value;

use crate::wire::{Envelope, ErrorFields};

/// The body as JSON, when it is JSON.
pub(crate) fn json(body: &[u8]) -> Option<Value> {
    if body.is_empty() {
        return None;
    }
    serde_json::from_slice(body).ok()
}

/// What an envelope's field says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// One of the success values.
    Success,
    /// Another boolean or string: the vendor reports a failure.
    Failure,
    /// Absent, or of another type: not the documented envelope at all.
    Malformed,
}

/// Reads an envelope's field.
pub(crate) fn verdict(envelope: &Envelope, json: &Value) -> Verdict {
    match json.pointer(envelope.field) {
        Some(value) if envelope.success.iter().any(|lit| lit.matches(value)) => Verdict::Success,
        Some(Value::Bool(_) | Value::String(_)) => Verdict::Failure,
        _ => Verdict::Malformed,
    }
}

/// The vendor's code and message, found by the spec's pointers; strings only, with any
/// configured secret cut out in case the vendor echoed it.
pub(crate) fn vendor_fields(
    fields: &ErrorFields,
    json: &Value,
    secrets: &[String],
) -> (Option<String>, Option<String>) {
    let pick = |pointers: &[&str]| {
        pointers.iter().filter_map(|p| json.pointer(p)).find_map(|v| match v {
            Value::String(s) if !s.is_empty() => Some(scrub(s, secrets)),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    };
    (pick(fields.code), pick(fields.message))
}

/// Cuts every secret out of `text`, as sent and in the encodings a server might echo
/// it in: form or query (`+`, `%XX`) and JSON string escapes.
pub(crate) fn scrub(text: &str, secrets: &[String]) -> String {
    let mut text = text.to_owned();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        let json = serde_json::to_string(secret).unwrap_or_default();
        let json = json.trim_matches('"');
        for variant in [secret.as_str(), form.as_str(), &form.replace('+', "%20"), json] {
            if !variant.is_empty() {
                text = text.replace(variant, "<redacted>");
            }
        }
    }
    text
}

/// Why a body did not decode, without quoting it: serde's messages quote the values
/// they reject, and a value can be a freshly minted token.
pub(crate) fn describe(error: &serde_json::Error, body: &[u8]) -> String {
    use serde_json::error::Category;
    if body.is_empty() {
        return "the body is empty".to_owned();
    }
    let what = match error.classify() {
        Category::Syntax if std::str::from_utf8(body).is_err() => "the body is not UTF-8 JSON".to_owned(),
        Category::Syntax => "the body is not valid JSON".to_owned(),
        Category::Eof => "the body is truncated JSON".to_owned(),
        Category::Io => "the body could not be read".to_owned(),
        Category::Data => {
            let message = error.to_string();
            match message.split_once(" at line ") {
                Some((m, _)) if m.starts_with("missing field") => m.to_owned(),
                _ => "a field has the wrong type or value".to_owned(),
            }
        }
    };
    format!("{what} (line {}, column {})", error.line(), error.column())
}
