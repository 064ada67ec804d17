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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Literal;

    #[test]
    fn scrub_cuts_every_encoding_of_a_secret() {
        let secrets = vec!["p&ss w=rd\"x".to_owned()];
        let echoed = r#"raw p&ss w=rd"x form p%26ss+w%3Drd%22x percent p%26ss%20w%3Drd%22x json p&ss w=rd\"x"#;
        let scrubbed = scrub(echoed, &secrets);
        assert_eq!(
            scrubbed,
            "raw <redacted> form <redacted> percent <redacted> json <redacted>"
        );
    }

    #[test]
    fn short_values_are_not_scrubbed_everywhere() {
        // A 3-character "secret" would cut words out of every message.
        assert_eq!(scrub("abc abc", &["abc".to_owned()]), "abc abc");
    }

    #[test]
    fn serde_messages_never_quote_the_body() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Token {
            token: u32,
        }
        let body = br#"{"token": "FRESH-SECRET-TOKEN"}"#;
        let error = serde_json::from_slice::<Token>(body).expect_err("wrong type");
        let text = describe(&error, body);
        assert!(!text.contains("FRESH"), "{text}");
        assert_eq!(text, "a field has the wrong type or value (line 1, column 30)");
        let error = serde_json::from_slice::<Token>(b"{}").expect_err("missing");
        assert_eq!(describe(&error, b"{}"), "missing field `token` (line 1, column 2)");
        let error = serde_json::from_slice::<Token>(b"\xff").expect_err("not UTF-8");
        assert_eq!(
            describe(&error, b"\xff"),
            "the body is not UTF-8 JSON (line 1, column 1)"
        );
    }

    #[test]
    fn envelope_verdicts() {
        let envelope = Envelope {
            field: "/error",
            success: &[Literal::Bool(false), Literal::Str("false")],
        };
        let verdict_of = |json: &str| verdict(&envelope, &serde_json::from_str(json).expect("json"));
        assert_eq!(verdict_of(r#"{"error": false}"#), Verdict::Success);
        assert_eq!(verdict_of(r#"{"error": "false"}"#), Verdict::Success);
        assert_eq!(verdict_of(r#"{"error": true}"#), Verdict::Failure);
        assert_eq!(verdict_of(r#"{"error": "true"}"#), Verdict::Failure);
        assert_eq!(verdict_of(r#"{"error": null}"#), Verdict::Malformed);
        assert_eq!(verdict_of(r#"{"message": "x"}"#), Verdict::Malformed);
        assert_eq!(verdict_of("[]"), Verdict::Malformed);
    }
}
