//! Tokens in TigerGraph's answers and requests.

use std::fmt;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Secret;
use crate::types::{GsqlResponse, RestppTokenResponse};

/// JWTs to drop, on the wire one comma-separated string (`"t1,t2"`).
#[derive(Clone, Default, PartialEq)]
pub struct TokenList(pub Vec<Secret>);

impl fmt::Debug for TokenList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenList(<{} redacted>)", self.0.len())
    }
}

impl<S: Into<Secret>> FromIterator<S> for TokenList {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        TokenList(iter.into_iter().map(Into::into).collect())
    }
}

impl Serialize for TokenList {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let joined: Vec<&str> = self.0.iter().map(Secret::expose).collect();
        serializer.serialize_str(&joined.join(","))
    }
}

impl<'de> Deserialize<'de> for TokenList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(text
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(Secret::from)
            .collect())
    }
}

impl RestppTokenResponse {
    /// The token: in `token`, or in `results.token` when requested with HTTP Basic.
    pub fn token(&self) -> Option<&Secret> {
        self.token
            .as_ref()
            .or(self.results.as_ref().and_then(|r| r.token.as_ref()))
    }

    /// `expiration` as a time, when it is a positive unix time. After a 3.0–3.4
    /// refresh the server returns the lifetime instead (a known server bug); such
    /// values, and the `-1` of a delete, give `None`.
    pub fn expires_at(&self) -> Option<SystemTime> {
        const YEAR_2001: i64 = 978_307_200;
        let secs = self.expiration.filter(|s| *s >= YEAR_2001)?;
        SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(u64::try_from(secs).ok()?))
    }
}

impl GsqlResponse {
    /// `expiration`, a Java date in UTC such as `Wed Jul 10 06:12:47 UTC 2024`, as a
    /// time; `None` when it is absent or in another form.
    pub fn expires_at(&self) -> Option<SystemTime> {
        let secs = parse_java_utc_date(self.expiration.as_deref()?)?;
        SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs))
    }
}

/// Unix seconds of `EEE MMM dd HH:mm:ss UTC yyyy`.
fn parse_java_utc_date(text: &str) -> Option<u64> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [_weekday, month, day, time, zone, year] = parts.as_slice() else {
        return None;
    };
    if !matches!(*zone, "UTC" | "GMT") {
        return None;
    }
    let month = MONTHS.iter().position(|m| m == month)? as u64 + 1;
    let day: u64 = day.parse().ok().filter(|d| (1..=31).contains(d))?;
    let year: u64 = year.parse().ok().filter(|y| (1970..=9999).contains(y))?;
    let hms: Vec<u64> = time.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    let [h, m, s] = hms.as_slice() else { return None };
    if *h > 23 || *m > 59 || *s > 60 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + s)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (year ≥ 1970).
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_dates_parse() {
        assert_eq!(parse_java_utc_date("Wed Jul 10 06:12:47 UTC 2024"), Some(1_720_591_967));
        assert_eq!(parse_java_utc_date("Thu Jan 01 00:00:00 UTC 1970"), Some(0));
        assert_eq!(parse_java_utc_date("Wed Jul 10 06:12:47 CEST 2024"), None);
        assert_eq!(parse_java_utc_date("Wed Jul 99 06:12:47 UTC 2024"), None);
        assert_eq!(parse_java_utc_date("garbage"), None);
    }
}
