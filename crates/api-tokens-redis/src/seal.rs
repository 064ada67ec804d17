//! What a value in Redis looks like: `v1.<generation>.<key id>.<key check>.<sealed>`,
//! where `<sealed>` is base64url of a random 24-byte nonce and the XChaCha20-Poly1305
//! ciphertext of the token. The associated data binds the ciphertext to its Redis key
//! name and to its header, so a value copied under another name, or given another
//! generation or key id, does not open.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::XNonce;
use chacha20poly1305::aead::{Aead, Generate, Payload};

use crate::keys::EncryptionKey;

/// The format's version; a value of another version is a miss, replaced by the next
/// write.
const VERSION: &str = "v1";

/// What a stored value turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Opened {
    /// The plaintext, under one of this process's keys.
    Plain(Vec<u8>),
    /// Written under a key this process does not have.
    Foreign,
    /// Not a value this version reads, or altered: a miss.
    Unreadable,
}

/// The most digits a generation has; a longer number is no generation (0), in Rust as
/// in the write script, so both read the same (Lua's numbers are exact to 2^53 only).
pub(crate) const GENERATION_DIGITS: usize = 15;

/// The generation a value's header gives (0 for a value without one): the same reading
/// as the write script's, on bytes, so that a value that is not UTF-8 reads the same.
pub(crate) fn generation(value: &[u8]) -> u64 {
    let Some(rest) = value.strip_prefix(b"v1.") else {
        return 0;
    };
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > GENERATION_DIGITS || rest.get(digits) != Some(&b'.') {
        return 0;
    }
    std::str::from_utf8(&rest[..digits])
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(0)
}

/// `plain` sealed as the value of `name`, generation `generation`, under `key`.
pub(crate) fn seal(key: &EncryptionKey, name: &str, generation: u64, plain: &[u8]) -> Option<String> {
    let header = header(key, generation);
    let nonce = XNonce::generate();
    let aad = associated(name, &header);
    let sealed = key.cipher().encrypt(&nonce, Payload { msg: plain, aad: &aad }).ok()?;
    let mut bytes = nonce.to_vec();
    bytes.extend_from_slice(&sealed);
    Some(format!("{header}.{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// Opens `value`, stored under `name`, with whichever of `keys` it was sealed under.
pub(crate) fn open(keys: &[EncryptionKey], name: &str, value: &str) -> Opened {
    let Some((header, sealed)) = value.rsplit_once('.') else {
        return Opened::Unreadable;
    };
    let fields: Vec<&str> = header.split('.').collect();
    let [VERSION, _generation, id, check] = fields[..] else {
        return Opened::Unreadable;
    };
    let well_formed = check.len() == 16 && check.bytes().all(|b| b.is_ascii_hexdigit());
    // Another key id: written by a worker with a key this one lacks (left alone). The
    // same id with another check: altered, or a key misconfigured under a reused id (a
    // miss, replaced).
    let Some(key) = keys.iter().find(|k| k.id() == id) else {
        return if well_formed {
            Opened::Foreign
        } else {
            Opened::Unreadable
        };
    };
    if hex(&key.check()) != check {
        return Opened::Unreadable;
    }
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(sealed) else {
        return Opened::Unreadable;
    };
    if bytes.len() < 24 {
        return Opened::Unreadable;
    }
    let (nonce, ciphertext) = bytes.split_at(24);
    let Ok(nonce) = XNonce::try_from(nonce) else {
        return Opened::Unreadable;
    };
    let aad = associated(name, header);
    match key.cipher().decrypt(
        &nonce,
        Payload {
            msg: ciphertext,
            aad: &aad,
        },
    ) {
        Ok(plain) => Opened::Plain(plain),
        Err(_) => Opened::Unreadable,
    }
}

fn header(key: &EncryptionKey, generation: u64) -> String {
    format!("{VERSION}.{generation}.{}.{}", key.id(), hex(&key.check()))
}

fn associated(name: &str, header: &str) -> Vec<u8> {
    format!("api-tokens-redis\n{name}\n{header}").into_bytes()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, byte: u8) -> EncryptionKey {
        EncryptionKey::new(id, [byte; 32]).expect("key")
    }

    #[test]
    fn a_sealed_value_opens_only_where_it_was_sealed() {
        let (k1, k2) = (key("k1", 1), key("k2", 2));
        let value = seal(&k1, "n", 7, b"secret-token").expect("sealed");
        assert!(!value.contains("secret"));
        assert_eq!(generation(value.as_bytes()), 7);
        assert_eq!(
            open(std::slice::from_ref(&k1), "n", &value),
            Opened::Plain(b"secret-token".to_vec())
        );
        // The old key still reads its values after a rotation.
        assert_eq!(
            open(&[k2.clone(), k1.clone()], "n", &value),
            Opened::Plain(b"secret-token".to_vec())
        );
        // Another key id: foreign. The same id with other bytes: unreadable.
        assert_eq!(open(std::slice::from_ref(&k2), "n", &value), Opened::Foreign);
        assert_eq!(open(&[key("k1", 3)], "n", &value), Opened::Unreadable);
        assert_eq!(
            open(std::slice::from_ref(&k2), "n", "v1.1.k9.00.AAAA"),
            Opened::Unreadable
        );
        // Under another name, with another generation, or altered: unreadable.
        assert_eq!(open(std::slice::from_ref(&k1), "other", &value), Opened::Unreadable);
        let regenerated = value.replacen(".7.", ".8.", 1);
        assert_eq!(open(std::slice::from_ref(&k1), "n", &regenerated), Opened::Unreadable);
        let mut altered = value.clone().into_bytes();
        let last = altered.len() - 3;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).expect("ascii");
        assert_eq!(open(std::slice::from_ref(&k1), "n", &altered), Opened::Unreadable);
        for junk in [
            "",
            "v1",
            "v2.1.k1.00.AAAA",
            "v1.1.k1",
            "v1.x.k1.zz.!!",
            "v1.1.k1.00.AAAA",
        ] {
            assert_ne!(
                open(std::slice::from_ref(&k1), "n", junk),
                Opened::Plain(Vec::new()),
                "{junk}"
            );
        }
        assert_eq!(generation(b"v2.9.x"), 0);
        assert_eq!(generation(b"junk"), 0);
        assert_eq!(generation(b"v1.5"), 0, "the script needs the dot after the digits too");
        assert_eq!(generation(b"v1.+5.x"), 0);
        assert_eq!(generation(b"v1.999999999999999.x"), 999_999_999_999_999);
        assert_eq!(generation(b"v1.9999999999999999.x"), 0, "16 digits: no generation");
        assert_eq!(generation(b"v1.12.\xff\xfe"), 12);
    }

    #[test]
    fn each_seal_has_its_own_nonce() {
        let k = key("k", 1);
        assert_ne!(seal(&k, "n", 1, b"t"), seal(&k, "n", 1, b"t"));
    }
}
