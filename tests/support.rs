//! Helpers shared by the workspace tests.

use base64::Engine;

/// `Basic base64(user:password)`, as a server expects it.
pub fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// Every way an error can be printed: `Display`, `{:#}`, `Debug`, `{:#?}` and the
/// whole `source()` chain.
pub fn all_renderings(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = format!("{error}\n{error:#}\n{error:?}\n{error:#?}\n");
    let mut source = error.source();
    while let Some(s) = source {
        out.push_str(&format!("{s}\n{s:?}\n"));
        source = s.source();
    }
    out
}

/// Fails when `haystack` holds `secret` or a long piece of it.
pub fn assert_no_secret(haystack: &str, secret: &str, context: &str) {
    assert!(!haystack.contains(secret), "{context}: secret leaked in:\n{haystack}");
    let window = 12.min(secret.len());
    for start in 0..=secret.len() - window {
        let piece = &secret[start..start + window];
        assert!(
            !haystack.contains(piece),
            "{context}: part `{piece}` of a secret leaked in:\n{haystack}"
        );
    }
}
