//! Expiries on the server's terms: a server states times by its own clock (a JWT's
//! `iat` and `exp`, TigerGraph's `expiration`), and a client clock off by minutes must
//! neither serve a token the server already refuses nor refresh in a loop. A
//! [`ServerClock`] learns the offset from the answer and converts.

use std::time::{Duration, SystemTime};

use super::token::{Expiry, Token};
use crate::secret::Secret;

/// Offsets below this are within the one-second resolution of `Date` and of JWT times,
/// and are taken as agreement.
const TOLERANCE: Duration = Duration::from_secs(2);

/// A `Date` further than this from this machine's clock is not believed (a server whose
/// clock is reset to 1970, a cache replaying an old answer): no offset is learnt from it.
const MAX_OFFSET: Duration = Duration::from_secs(24 * 3600);

/// How far a server's clock is from this machine's, as learnt from one answer: from its
/// HTTP `Date` header ([`ServerClock::from_headers`]), or from the time it says it
/// issued a token ([`Token::from_jwt`] uses a JWT's `iat` when it lies in this
/// machine's future).
///
/// Without information (`ServerClock::default()`), times are taken as they are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerClock {
    /// How far the server's clock is ahead of ours, and behind it (one is zero).
    ahead: Duration,
    behind: Duration,
    known: bool,
}

impl ServerClock {
    /// The offset of a server whose clock reads `server_now` now.
    pub fn from_server_now(server_now: SystemTime) -> Self {
        let local = SystemTime::now();
        let (ahead, behind) = match server_now.duration_since(local) {
            Ok(ahead) => (ahead, Duration::ZERO),
            Err(behind) => (Duration::ZERO, behind.duration()),
        };
        let agree = ahead.max(behind) < TOLERANCE;
        ServerClock {
            ahead: if agree { Duration::ZERO } else { ahead },
            behind: if agree { Duration::ZERO } else { behind },
            known: true,
        }
    }

    /// The offset told by an answer's `Date` header (RFC 9110), read as the answer
    /// arrives; no information when it has none or it does not parse.
    ///
    /// A `Date` more than a day away from this machine's clock teaches nothing (a clock
    /// reset to 1970, an answer replayed from a cache).
    pub fn from_headers(headers: &http::HeaderMap) -> Self {
        headers
            .get(http::header::DATE)
            .and_then(|value| value.to_str().ok())
            .and_then(|text| httpdate::parse_http_date(text).ok())
            .map(ServerClock::from_server_now)
            .filter(|clock| clock.ahead.max(clock.behind) <= MAX_OFFSET)
            .unwrap_or_default()
    }

    /// Whether the offset is known.
    pub fn is_known(&self) -> bool {
        self.known
    }

    /// How far the server's clock is ahead of this machine's (negative: behind), in
    /// whole seconds; `0` when unknown or within the 2-second resolution of `Date`.
    pub fn offset_secs(&self) -> i64 {
        let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        secs(self.ahead) - secs(self.behind)
    }

    /// `server_time`, a time by the server's clock, on this machine's clock; `None` past
    /// what `SystemTime` can hold.
    pub fn to_local(&self, server_time: SystemTime) -> Option<SystemTime> {
        server_time.checked_sub(self.ahead)?.checked_add(self.behind)
    }

    /// `local_time`, a time by this machine's clock, on the server's clock (what to send
    /// a server that reads times by its own, such as an expiry to set).
    pub fn to_server(&self, local_time: SystemTime) -> Option<SystemTime> {
        local_time.checked_add(self.ahead)?.checked_sub(self.behind)
    }
}

impl Token {
    /// A JWT, its expiry read from its `exp` claim on the server's terms: converted to
    /// this machine's clock with `clock` (an answer's `Date`: [`ServerClock::from_headers`]);
    /// when `clock` knows nothing and the `iat` claim lies in this machine's future, the
    /// server's clock is ahead by that much, and the expiry is moved back by it.
    ///
    /// The signature is **not** checked: the expiry only decides when to get a new
    /// token, and the server that issued the token judges it on every use. An `exp` that
    /// is missing or not a time (negative, `NaN`, a string, `null`) is
    /// [`Expiry::Unknown`], never "does not expire".
    pub fn from_jwt(secret: impl Into<Secret>, clock: ServerClock) -> Token {
        let secret = secret.into();
        let claims = claims(secret.expose());
        let issued = claims.as_ref().and_then(|c| c.iat);
        let now = SystemTime::now();
        // A `Date` that puts the token's issue in this machine's future contradicts the
        // token itself: the `iat` is believed, not the `Date`.
        let contradicted = issued
            .and_then(|iat| clock.to_local(iat))
            .is_some_and(|iat| iat > now + TOLERANCE);
        let clock = if contradicted { ServerClock::default() } else { clock };
        let clock = match issued {
            Some(iat) if !clock.is_known() && iat > now + TOLERANCE => ServerClock::from_server_now(iat),
            _ => clock,
        };
        let expiry = claims
            .as_ref()
            .and_then(|c| c.exp)
            .and_then(|exp| clock.to_local(exp))
            .map_or(Expiry::Unknown, Expiry::At);
        let token = Token::with_expiry(secret, expiry);
        match issued.and_then(|iat| clock.to_local(iat)) {
            Some(iat) => token.with_issued_at(iat),
            None => token,
        }
    }
}

/// A JWT's times, by the server's clock.
struct Claims {
    exp: Option<SystemTime>,
    iat: Option<SystemTime>,
}

/// The times in a JWT's payload; `None` when it is no JWT.
fn claims(jwt: &str) -> Option<Claims> {
    use base64::Engine;
    let payload = jwt.split('.').nth(1)?;
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let bytes = engine.decode(payload).ok()?;
    let json: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let time = |name: &str| {
        let seconds = json.get(name)?.as_f64()?;
        // Up to the year 5138: beyond, no server means it, and `SystemTime` arithmetic
        // stays safe.
        (seconds.is_finite() && (0.0..=1e11).contains(&seconds))
            .then(|| SystemTime::UNIX_EPOCH + Duration::from_secs_f64(seconds))
    };
    Some(Claims {
        exp: time("exp"),
        iat: time("iat"),
    })
}

/// The expiry (`exp`, unix seconds, by the issuer's clock) of a JWT, read from its
/// payload; `None` when it has none that is a time.
///
/// The signature is **not** checked. To keep the token, prefer [`Token::from_jwt`],
/// which converts the expiry to this machine's clock.
pub fn jwt_expires_at(jwt: &str) -> Option<SystemTime> {
    claims(jwt)?.exp
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn jwt(payload: &str) -> String {
        let encode = |json: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json);
        format!("{}.{}.sig", encode(r#"{"alg":"HS256"}"#), encode(payload))
    }

    fn unix(at: SystemTime) -> i64 {
        at.duration_since(SystemTime::UNIX_EPOCH).expect("after 1970").as_secs() as i64
    }

    #[test]
    fn jwt_expiry_is_read_without_the_signature() {
        let token = jwt(r#"{"sub":"u","exp":1720591967}"#);
        assert_eq!(
            jwt_expires_at(&token),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_720_591_967))
        );
        for bad in ["", "a.b.c", "x.e30.y", &jwt(r#"{"exp":"soon"}"#), &jwt(r#"{"exp":-5}"#)] {
            assert_eq!(jwt_expires_at(bad), None, "{bad}");
        }
    }

    #[test]
    fn an_unreadable_exp_is_unknown_never_forever() {
        for payload in [
            r#"{"exp":-1}"#,
            r#"{"exp":"NaN"}"#,
            r#"{"exp":"1720591967"}"#,
            r#"{"exp":null}"#,
            r#"{}"#,
        ] {
            let token = Token::from_jwt(jwt(payload), ServerClock::default());
            assert_eq!(token.expiry(), Expiry::Unknown, "{payload}");
        }
        assert_eq!(
            Token::from_jwt("not a jwt", ServerClock::default()).expiry(),
            Expiry::Unknown
        );
    }

    #[test]
    fn a_server_clock_ahead_is_learnt_from_iat() {
        let now = SystemTime::now();
        let ahead = Duration::from_secs(600);
        let iat = unix(now + ahead);
        let token = Token::from_jwt(
            jwt(&format!(r#"{{"iat":{iat},"exp":{}}}"#, iat + 3600)),
            ServerClock::default(),
        );
        let expires = token.expires_at().expect("expiry");
        let left = expires.duration_since(now).expect("future").as_secs();
        assert!((3598..=3601).contains(&left), "{left}");
        assert_eq!(token.lifetime(), Some(Duration::from_secs(3600)));
    }

    #[test]
    fn an_iat_in_the_past_is_taken_as_it_is() {
        // A server behind us, or a token issued earlier: the expiry stays as stated
        // (the earlier of the two readings), so an expired token stays expired.
        let now = SystemTime::now();
        let iat = unix(now) - 90;
        let token = Token::from_jwt(
            jwt(&format!(r#"{{"iat":{iat},"exp":{}}}"#, iat + 60)),
            ServerClock::default(),
        );
        assert!(!token.is_valid_at(now));
    }

    #[test]
    fn a_date_header_converts_the_expiry_both_ways() {
        for skew in [-1800i64, -600, 0, 600, 1800] {
            let now = SystemTime::now();
            let server_now = if skew >= 0 {
                now + Duration::from_secs(skew as u64)
            } else {
                now - Duration::from_secs((-skew) as u64)
            };
            let mut headers = http::HeaderMap::new();
            headers.insert(
                http::header::DATE,
                httpdate::fmt_http_date(server_now).parse().expect("header"),
            );
            let clock = ServerClock::from_headers(&headers);
            assert!(clock.is_known());
            // A `Date` has whole seconds (up to 1 s lost), and the clock is read again
            // when the header is: on a loaded machine that can be another second.
            assert!(
                (clock.offset_secs() - skew).abs() <= 2,
                "{skew}: {}",
                clock.offset_secs()
            );
            let exp = unix(server_now) + 3600;
            let token = Token::from_jwt(jwt(&format!(r#"{{"iat":{},"exp":{exp}}}"#, unix(server_now))), clock);
            let left = token
                .expires_at()
                .expect("expiry")
                .duration_since(now)
                .expect("future")
                .as_secs();
            assert!((3598..=3601).contains(&left), "{skew}: {left}");
        }
    }

    #[test]
    fn offsets_within_the_resolution_of_date_are_agreement() {
        for skew in [Duration::from_millis(1500), Duration::from_secs(1), Duration::ZERO] {
            assert_eq!(
                ServerClock::from_server_now(SystemTime::now() + skew).offset_secs(),
                0,
                "{skew:?}"
            );
            assert_eq!(
                ServerClock::from_server_now(SystemTime::now() - skew).offset_secs(),
                0,
                "{skew:?}"
            );
        }
        assert_eq!(
            ServerClock::from_server_now(SystemTime::now() + Duration::from_secs(3)).offset_secs(),
            2
        );
        assert!(ServerClock::from_server_now(SystemTime::now()).is_known());
    }

    #[test]
    fn a_date_contradicting_the_token_is_not_believed() {
        // `Date` from 1970: more than a day off, ignored.
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::DATE,
            "Thu, 01 Jan 1970 00:00:01 GMT".parse().expect("header"),
        );
        assert!(!ServerClock::from_headers(&headers).is_known());
        // `Date` 2 h behind, `iat` 1 h ahead: the token says it was issued 3 h in our
        // future by that `Date`; its own `iat` is taken instead (expiry now + 1 h).
        let now = SystemTime::now();
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::DATE,
            httpdate::fmt_http_date(now - Duration::from_secs(7200))
                .parse()
                .expect("header"),
        );
        let clock = ServerClock::from_headers(&headers);
        assert!(clock.is_known());
        let iat = unix(now) + 3600;
        let token = Token::from_jwt(jwt(&format!(r#"{{"iat":{iat},"exp":{}}}"#, iat + 3600)), clock);
        let left = token
            .expires_at()
            .expect("expiry")
            .duration_since(now)
            .expect("future")
            .as_secs();
        assert!((3598..=3601).contains(&left), "{left}");
    }

    #[test]
    fn no_date_is_no_information() {
        assert!(!ServerClock::from_headers(&http::HeaderMap::new()).is_known());
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::DATE, "yesterday".parse().expect("header"));
        assert!(!ServerClock::from_headers(&headers).is_known());
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        assert_eq!(ServerClock::default().to_local(at), Some(at));
        assert_eq!(ServerClock::default().to_server(at), Some(at));
        let ahead = ServerClock::from_server_now(SystemTime::now() + Duration::from_secs(600));
        let there = ahead.to_server(at).expect("in range");
        assert!(there > at + Duration::from_secs(598), "{there:?}");
        assert_eq!(ahead.to_local(there), Some(at));
    }
}
