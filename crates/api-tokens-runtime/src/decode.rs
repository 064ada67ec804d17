//! Reading vendor answers without trusting them.

use serde_json::Value;

use crate::scrub::Scrubber;
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
    judge(envelope, json.pointer(envelope.field))
}

fn judge(envelope: &Envelope, value: Option<&Value>) -> Verdict {
    match value {
        Some(value) if envelope.success.iter().any(|lit| lit.matches(value)) => Verdict::Success,
        Some(Value::Bool(_) | Value::String(_)) => Verdict::Failure,
        _ => Verdict::Malformed,
    }
}

/// Reads an envelope's field straight from the body. For a top-level field (every
/// vendor's) only that field becomes a value; the rest of the document is checked and
/// skipped without building anything.
pub(crate) fn verdict_in(envelope: &Envelope, body: &[u8]) -> Verdict {
    let Some(key) = envelope.field.strip_prefix('/').filter(|k| !k.contains(['/', '~'])) else {
        return json(body).map_or(Verdict::Malformed, |json| verdict(envelope, &json));
    };
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    match serde::Deserializer::deserialize_any(&mut deserializer, TopLevelField(key)) {
        Ok(found) if deserializer.end().is_ok() => judge(envelope, found.as_ref()),
        _ => Verdict::Malformed,
    }
}

/// Visits a JSON object and keeps the value of one key (the last, as `Value` does).
struct TopLevelField<'k>(&'k str);

impl<'de> serde::de::Visitor<'de> for TopLevelField<'_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == self.0 {
                found = Some(map.next_value::<Value>()?);
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(found)
    }

    // Any other document is not an envelope: skip it whole, report nothing found.
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// The vendor's code and message, found by the spec's pointers; strings and numbers,
/// scrubbed by `scrubber`.
pub(crate) fn vendor_fields(
    fields: &ErrorFields,
    json: &Value,
    scrubber: &Scrubber,
) -> (Option<String>, Option<String>) {
    let pick = |pointers: &[&str]| {
        pointers.iter().filter_map(|p| json.pointer(p)).find_map(|v| match v {
            Value::String(s) if !s.is_empty() => Some(scrubber.scrub(s)),
            Value::Number(n) => Some(scrubber.scrub(&n.to_string())),
            _ => None,
        })
    };
    (pick(fields.code), pick(fields.message))
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
        let error = serde_json::from_slice::<Token>(b"{oops").expect_err("not JSON");
        assert_eq!(
            describe(&error, b"{oops"),
            "the body is not valid JSON (line 1, column 2)"
        );
        let error = serde_json::from_slice::<Token>(b"\xff").expect_err("not UTF-8");
        assert_eq!(
            describe(&error, b"\xff"),
            "the body is not UTF-8 JSON (line 1, column 1)"
        );
    }

    #[test]
    fn vendor_fields_take_strings_and_numbers_by_the_first_pointer_that_has_one() {
        let fields = ErrorFields {
            code: &["/error/code", "/code"],
            message: &["/msg", "/message"],
        };
        let keep = Scrubber::new(&[], &[]);
        let json = |text: &str| serde_json::from_str::<Value>(text).expect("json");
        let body = json(r#"{"code": 1101, "msg": "", "message": "token expired"}"#);
        assert_eq!(
            vendor_fields(&fields, &body, &keep),
            (Some("1101".to_owned()), Some("token expired".to_owned()))
        );
        let body = json(r#"{"error": {"code": "REST-10016"}, "code": 3, "msg": true}"#);
        assert_eq!(
            vendor_fields(&fields, &body, &keep),
            (Some("REST-10016".to_owned()), None)
        );
        let scrub = Scrubber::new(&["123456".to_owned()], &[]);
        assert_eq!(
            vendor_fields(&fields, &json(r#"{"code": 123456}"#), &scrub)
                .0
                .as_deref(),
            Some("<redacted>")
        );
    }

    #[test]
    fn envelope_verdicts() {
        let envelope = Envelope {
            field: "/error",
            success: &[Literal::Bool(false), Literal::Str("false")],
        };
        let verdict_of = |json: &str| {
            let full = verdict(&envelope, &serde_json::from_str(json).expect("json"));
            assert_eq!(verdict_in(&envelope, json.as_bytes()), full, "{json}");
            full
        };
        assert_eq!(verdict_of(r#"{"error": false}"#), Verdict::Success);
        assert_eq!(verdict_of(r#"{"error": "false"}"#), Verdict::Success);
        assert_eq!(verdict_of(r#"{"error": true}"#), Verdict::Failure);
        assert_eq!(verdict_of(r#"{"error": "true"}"#), Verdict::Failure);
        assert_eq!(verdict_of(r#"{"error": null}"#), Verdict::Malformed);
        assert_eq!(verdict_of(r#"{"message": "x"}"#), Verdict::Malformed);
        assert_eq!(verdict_of("[]"), Verdict::Malformed);
        assert_eq!(verdict_of(r#"{"error": true, "error": false}"#), Verdict::Success);
        assert_eq!(
            verdict_of(r#"{"a": {"error": true}, "error": "false", "b": [1, {"c": null}]}"#),
            Verdict::Success
        );
        // Not JSON, or JSON with trailing bytes, is no envelope.
        assert_eq!(verdict_in(&envelope, br#"{"error": false} x"#), Verdict::Malformed);
        assert_eq!(verdict_in(&envelope, b"<html>"), Verdict::Malformed);
        assert_eq!(verdict_in(&envelope, b""), Verdict::Malformed);
    }
}
