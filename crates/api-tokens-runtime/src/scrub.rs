//! Scrubbing: every secret a request carried, cut out of what a vendor answered.
//!
//! The rule, stated once, the same for messages, codes and decoded error bodies:
//! - the secrets are the client's credentials (and Basic's encoding) and the request's
//!   secret fields, read back from what was sent ([`request_secrets`]);
//! - every secret of at least [`MIN_SECRET_LEN`] characters is found in any letter case,
//!   as sent and in the encodings a server may echo it in: form or query encoding
//!   (`+` or `%20`, upper- or lower-case hex), JSON string escapes, and base64
//!   (standard or URL-safe, padded or not, also inside a longer base64 text such as a
//!   Basic header);
//! - from [`PIECE_LEN`] characters on, every piece of that length of any of those forms
//!   is cut too, so a truncated or partly masked echo is caught;
//! - a text the spec documents word for word as the vendor's own message
//!   (`x-sdk-vendor-messages`) is never an echo and is kept as it is: a password that
//!   happens to be an ordinary word does not cut "Token lookup failed" apart.
//!
//! Any other text is scrubbed even where the match is a coincidence: a secret is never
//! shown to find out.

use serde_json::Value;

use crate::credentials::{Credential, Credentials, basic_encoded};
use crate::wire::SecretInput;

/// What a request sent: its query and its body.
pub(crate) struct Sent<'a> {
    /// The query, if any.
    pub(crate) query: Option<&'a str>,
    /// The body (empty without one).
    pub(crate) body: &'a [u8],
}

/// The scrubber for one request: the client's `credentials` (each secret, and Basic's
/// encoding) and the secret fields (`inputs`) of what was `sent`, keeping the `known`
/// vendor messages.
pub(crate) fn for_request(
    credentials: &Credentials,
    sent: Option<Sent<'_>>,
    inputs: &[SecretInput],
    known: &'static [&'static str],
) -> Scrubber {
    let mut secrets: Vec<String> = credentials
        .entries()
        .flat_map(|(_, credential)| match credential {
            Credential::Token(secret) => vec![secret.expose().to_owned()],
            Credential::Basic { username, password } => {
                vec![password.expose().to_owned(), basic_encoded(username, password)]
            }
        })
        .collect();
    if let Some(sent) = sent {
        secrets.extend(request_secrets(sent.query, sent.body, inputs));
    }
    Scrubber::new(&secrets, known)
}

/// The values of a request's secret fields, read back from what was sent: its query
/// and its body.
pub(crate) fn request_secrets(query: Option<&str>, body: &[u8], inputs: &[SecretInput]) -> Vec<String> {
    // The body is parsed once, as what the first input that reads it needs.
    let mut form: Option<Vec<(String, String)>> = None;
    let mut json: Option<Option<serde_json::Value>> = None;
    let mut found = Vec::new();
    for input in inputs {
        match *input {
            SecretInput::Query(name) => {
                let pairs = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes());
                found.extend(pairs.filter(|(k, _)| k == name).map(|(_, v)| v.into_owned()));
            }
            SecretInput::FormField(name) => {
                let pairs = form.get_or_insert_with(|| serde_urlencoded::from_bytes(body).unwrap_or_default());
                found.extend(pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()));
            }
            SecretInput::JsonPointer(pointer) => {
                let value = json.get_or_insert_with(|| serde_json::from_slice::<serde_json::Value>(body).ok());
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

/// Cuts every secret a request carried out of a vendor's text, by the rule at the top
/// of this module.
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

#[cfg(test)]
mod tests {
    use super::*;

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
        // A short secret inside a longer base64 text, at each of the three byte offsets
        // base64 can put it at, between bytes that change the characters at its edges.
        for prefix in ["", "a", "ab"] {
            for suffix in ["", "\u{1}", "~~"] {
                let text = base64::engine::general_purpose::STANDARD.encode(format!("{prefix}pw-1234{suffix}"));
                let scrubbed = scrub(&text, &["pw-1234"]);
                assert!(
                    scrubbed.contains("<redacted>"),
                    "{prefix:?}+{suffix:?}: {text} -> {scrubbed}"
                );
            }
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
    fn request_secrets_reads_each_input_from_where_it_was_sent() {
        let inputs = [
            SecretInput::Query("secret"),
            SecretInput::FormField("password"),
            SecretInput::JsonPointer("/info/token"),
        ];
        let form = request_secrets(Some("a=1&secret=q%2Bs&b=2"), b"user=u&password=p%26w", &inputs);
        assert_eq!(form, ["q+s", "p&w"]);
        let json = request_secrets(None, br#"{"info":{"token":"t1,t2"}}"#, &inputs);
        // A list is a secret as a whole and each of its items.
        assert_eq!(json, ["t1,t2", "t1", "t2"]);
        // Other fields, names that only start alike, and nothing sent: no secret.
        assert!(request_secrets(Some("secrets=x&secre=y"), b"passwords=z", &inputs).is_empty());
        assert!(request_secrets(None, b"", &inputs).is_empty());
    }
}
