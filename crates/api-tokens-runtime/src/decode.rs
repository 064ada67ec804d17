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

/// Scrubs every string and number of a vendor's body, in place, so that the decoded body
/// a user reads through `Error::vendor_body` holds no secret either. A number that was
/// a secret becomes the string `<redacted>`.
pub(crate) fn scrub_json(value: &mut Value, scrubber: &Scrubber) {
    match value {
        Value::String(s) => {
            let scrubbed = scrubber.scrub(s);
            *s = scrubbed;
        }
        Value::Number(n) => {
            let text = n.to_string();
            if scrubber.scrub(&text) != text {
                *value = Value::String(REDACTED.to_owned());
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| scrub_json(v, scrubber)),
        Value::Object(map) => map.values_mut().for_each(|v| scrub_json(v, scrubber)),
        Value::Null | Value::Bool(_) => {}
    }
}

const REDACTED: &str = "<redacted>";

/// Secrets shorter than this are not searched for: three characters would cut pieces
/// out of every word.
pub(crate) const MIN_SECRET_LEN: usize = 4;

/// Length of the pieces of a long secret that are searched for on their own: a vendor
/// that echoes a truncated secret (`'eyJhbGciOiJIUzI1NiJ9…'`) still leaks it.
pub(crate) const PIECE_LEN: usize = 12;

/// Cuts every secret a request carried out of a vendor's text.
///
/// The rule, the same for messages, codes and decoded error bodies:
/// - every secret of at least [`MIN_SECRET_LEN`] characters is found in any letter case,
///   as sent and in the encodings a server may echo it in: form or query encoding
///   (`+` or `%20`, upper- or lower-case hex), JSON string escapes, and base64
///   (standard or URL-safe, padded or not, also inside a longer base64 text such as a
///   Basic header);
/// - from [`PIECE_LEN`] characters on, every piece of that length of any of those forms
///   is cut too, so a truncated or partly masked echo is caught;
/// - a text the spec documents word for word as the vendor's own message
///   (`x-sdk-vendor-messages`) is never an echo and is kept as it is: a password that
///   happens to be an ordinary word does not cut "Token lookup failed" apart.
///
/// Any other text is scrubbed even where the match is a coincidence: a secret is never
/// shown to find out.
pub(crate) struct Scrubber {
    /// Whole forms of secrets shorter than a piece, lower-cased.
    short: Vec<Vec<u8>>,
    /// Every piece of every longer form, lower-cased.
    pieces: std::collections::HashSet<Vec<u8>>,
    /// Texts kept as they are.
    known: &'static [&'static str],
}

impl Scrubber {
    /// A scrubber for `secrets`, keeping the `known` vendor messages.
    pub(crate) fn new(secrets: &[String], known: &'static [&'static str]) -> Self {
        let mut scrubber = Scrubber {
            short: Vec::new(),
            pieces: std::collections::HashSet::new(),
            known,
        };
        for secret in secrets.iter().filter(|s| s.len() >= MIN_SECRET_LEN) {
            for form in encoded_forms(secret) {
                let form = form.to_ascii_lowercase().into_bytes();
                if form.len() < PIECE_LEN {
                    if form.len() >= MIN_SECRET_LEN && !scrubber.short.contains(&form) {
                        scrubber.short.push(form);
                    }
                } else {
                    scrubber.pieces.extend(form.windows(PIECE_LEN).map(<[u8]>::to_vec));
                }
            }
        }
        scrubber
    }

    /// `text` with every match replaced by `<redacted>`.
    pub(crate) fn scrub(&self, text: &str) -> String {
        let documented = |known: &&str| known.trim_end_matches('.') == text.trim().trim_end_matches('.');
        if self.known.iter().any(documented) || (self.short.is_empty() && self.pieces.is_empty()) {
            return text.to_owned();
        }
        let lower = text.to_ascii_lowercase().into_bytes();
        let mut hidden = vec![false; lower.len()];
        for form in &self.short {
            for start in 0..lower.len().saturating_sub(form.len() - 1) {
                if lower[start..].starts_with(form) {
                    hidden[start..start + form.len()].fill(true);
                }
            }
        }
        if !self.pieces.is_empty() {
            for (start, window) in lower.windows(PIECE_LEN).enumerate() {
                if self.pieces.contains(window) {
                    hidden[start..start + PIECE_LEN].fill(true);
                }
            }
        }
        // Runs of kept and hidden bytes, in turn; a hidden run becomes one `<redacted>`.
        let mut out = String::with_capacity(text.len());
        let mut index = 0;
        while index < text.len() {
            let hide = hidden[index];
            let end = (index..text.len()).find(|&i| hidden[i] != hide).unwrap_or(text.len());
            // A run ends on a char boundary unless a match cut a character in two; then
            // the whole character goes with the run.
            let end = (end..=text.len())
                .find(|&i| text.is_char_boundary(i))
                .unwrap_or(text.len());
            out.push_str(if hide { REDACTED } else { &text[index..end] });
            index = end;
        }
        out
    }
}

/// A secret as sent and as a server may echo it.
fn encoded_forms(secret: &str) -> Vec<String> {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let json = serde_json::to_string(secret).unwrap_or_default();
    let mut forms = vec![
        secret.to_owned(),
        form.replace('+', "%20"),
        form,
        json.trim_matches('"').to_owned(),
    ];
    // Inside a longer base64 text the secret starts at any of three byte offsets; keep
    // the characters that depend on the secret's bytes alone.
    for shift in 0..3usize {
        let mut bytes = vec![0u8; shift];
        bytes.extend_from_slice(secret.as_bytes());
        let first = (shift * 8).div_ceil(6);
        let last = bytes.len() * 8 / 6;
        for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
            let encoded = engine.encode(&bytes);
            if let Some(core) = encoded.get(first..last) {
                forms.push(core.to_owned());
            }
        }
    }
    forms
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

    fn scrub(text: &str, secrets: &[&str]) -> String {
        let secrets: Vec<String> = secrets.iter().map(|s| (*s).to_owned()).collect();
        Scrubber::new(&secrets, &["Token lookup failed."]).scrub(text)
    }

    #[test]
    fn scrub_cuts_every_encoding_of_a_secret() {
        let echoed = r#"raw p&ss w=rd"x form p%26ss+w%3Drd%22x percent p%26ss%20w%3Drd%22x json p&ss w=rd\"x"#;
        assert_eq!(
            scrub(echoed, &["p&ss w=rd\"x"]),
            "raw <redacted> form <redacted> percent <redacted> json <redacted>"
        );
        // Lower-case hex, another letter case.
        assert_eq!(scrub("p%26ss%20w%3drd%22x", &["p&ss w=rd\"x"]), "<redacted>");
        assert_eq!(scrub("key ABCDEFGH-secret", &["abcdefgh-SECRET"]), "key <redacted>");
    }

    #[test]
    fn scrub_cuts_base64_pieces_and_numbers() {
        use base64::Engine;
        let secret = "Sup3r-Secret-Value-42";
        for text in [
            base64::engine::general_purpose::STANDARD.encode(secret),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("user:{secret}")),
            base64::engine::general_purpose::STANDARD.encode(format!("ab:{secret}")),
        ] {
            let scrubbed = scrub(&text, &[secret]);
            let kept = scrubbed.replace("<redacted>", "");
            assert!(kept.len() <= 8 && kept.len() < scrubbed.len(), "{text} -> {scrubbed}");
        }
        // A truncated echo: the first 14 characters, then a mask.
        assert_eq!(
            scrub("token 'Sup3r-Secret-V****' is invalid", &[secret]),
            "token '<redacted>****' is invalid"
        );
        assert_eq!(scrub("123456", &["123456"]), "<redacted>");
        let mut body = serde_json::json!({"otp": 123456, "msg": ["bad code 123456"]});
        scrub_json(&mut body, &Scrubber::new(&["123456".to_owned()], &[]));
        assert_eq!(
            body,
            serde_json::json!({"otp": "<redacted>", "msg": ["bad code <redacted>"]})
        );
    }

    #[test]
    fn documented_vendor_messages_and_short_values_are_kept() {
        // A 3-character "secret" would cut words out of every message.
        assert_eq!(scrub("abc abc", &["abc"]), "abc abc");
        // A password that is an ordinary word does not cut the vendor's own words apart.
        assert_eq!(scrub("Token lookup failed", &["Token"]), "Token lookup failed");
        assert_eq!(
            scrub("Token lookup failed: Token", &["Token"]),
            "<redacted> lookup failed: <redacted>"
        );
        // Multi-byte text around a match stays valid.
        assert_eq!(scrub("é secret-value-é", &["secret-value"]), "é <redacted>-é");
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
