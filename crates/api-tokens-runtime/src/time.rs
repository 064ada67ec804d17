//! Times in vendors' answers, typed: one time type for every crate ([`Timestamp`],
//! chrono's UTC date-time, which progenitor also gives `format: date-time` fields), and
//! the integer encodings vendors use for it.
//!
//! chrono without default features (no clock of the system's time zone, no time-zone
//! database) builds in seconds; printing any of these as RFC 3339 is
//! `to_rfc3339()` on the [`Timestamp`].

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in time, UTC.
pub type Timestamp = chrono::DateTime<chrono::Utc>;

/// `at` in RFC 3339, to the second (`2026-11-27T10:00:00Z`); `None` before 1970 or past
/// the years RFC 3339 can write (never a panic, whatever a server answered).
pub fn rfc3339(at: std::time::SystemTime) -> Option<String> {
    let since = at.duration_since(std::time::SystemTime::UNIX_EPOCH).ok()?;
    let at = chrono::DateTime::from_timestamp(i64::try_from(since.as_secs()).ok()?, 0)?;
    // RFC 3339 writes four-digit years: chrono would print `+10000-01-01T…`.
    use chrono::Datelike;
    (at.year() <= 9999).then(|| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// The last second RFC 3339 can write, `9999-12-31T23:59:59Z`, as a `SystemTime`.
pub fn rfc3339_max() -> std::time::SystemTime {
    std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(253_402_300_799)
}

macro_rules! unix_time {
    ($name:ident, $unit:literal, $from:path, $to:ident) => {
        #[doc = concat!("A time sent as a JSON integer of unix ", $unit, "; it reads as a [`Timestamp`].")]
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub Timestamp);

        impl $name {
            /// The time.
            pub fn time(&self) -> Timestamp {
                self.0
            }

            /// The time, as a `SystemTime`.
            pub fn system_time(&self) -> std::time::SystemTime {
                self.0.into()
            }

            /// RFC 3339, to the second: `2026-11-27T10:00:00Z`.
            pub fn to_rfc3339(&self) -> String {
                self.0.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_rfc3339())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_rfc3339())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_i64(self.0.$to())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = i64::deserialize(deserializer)?;
                $from(value)
                    .map($name)
                    .ok_or_else(|| serde::de::Error::custom(concat!("unix ", $unit, " out of range")))
            }
        }
    };
}

unix_time!(UnixSeconds, "seconds", chrono::DateTime::from_timestamp_secs, timestamp);
unix_time!(
    UnixMillis,
    "milliseconds",
    chrono::DateTime::from_timestamp_millis,
    timestamp_millis
);

/// Unix seconds that a vendor may leave empty or write wrong: `null`, a number out of
/// range, a string or anything else reads as `None` (an unknown time), never as a failed
/// answer (one odd entry of a list must not fail the whole list). Serialized as the
/// number, or `null`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OptionalUnixSeconds(pub Option<UnixSeconds>);

impl OptionalUnixSeconds {
    /// The time, if the vendor wrote one that is a time.
    pub fn time(&self) -> Option<Timestamp> {
        self.0.map(|t| t.0)
    }

    /// The time as a `SystemTime`, if known.
    pub fn system_time(&self) -> Option<std::time::SystemTime> {
        self.0.map(|t| t.system_time())
    }
}

impl Serialize for OptionalUnixSeconds {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for OptionalUnixSeconds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        let time = value
            .as_i64()
            .and_then(chrono::DateTime::from_timestamp_secs)
            .map(UnixSeconds);
        Ok(OptionalUnixSeconds(time))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_odd_optional_time_is_none_not_a_failure() {
        use super::OptionalUnixSeconds;
        for odd in [
            "null",
            "-99999999999999999",
            "\"soon\"",
            "1.5",
            "{}",
            "99999999999999999",
        ] {
            let read: OptionalUnixSeconds = serde_json::from_str(odd).expect(odd);
            assert_eq!(read.time(), None, "{odd}");
        }
        let read: OptionalUnixSeconds = serde_json::from_str("1795371727").expect("time");
        assert_eq!(read.time().map(|t| t.timestamp()), Some(1_795_371_727));
    }

    #[test]
    fn rfc3339_stops_at_year_9999() {
        use std::time::{Duration, SystemTime};
        assert_eq!(
            super::rfc3339(super::rfc3339_max()).as_deref(),
            Some("9999-12-31T23:59:59Z")
        );
        assert_eq!(super::rfc3339(super::rfc3339_max() + Duration::from_secs(1)), None);
        assert_eq!(
            super::rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(1 << 40)),
            None
        );
        assert_eq!(super::rfc3339(SystemTime::UNIX_EPOCH - Duration::from_secs(1)), None);
    }

    use super::*;

    #[test]
    fn unix_times_read_and_write_their_unit() {
        let seconds: UnixSeconds = serde_json::from_str("1720591967").expect("seconds");
        assert_eq!(seconds.to_rfc3339(), "2024-07-10T06:12:47Z");
        assert_eq!(serde_json::to_string(&seconds).expect("json"), "1720591967");
        let millis: UnixMillis = serde_json::from_str("1496357580959").expect("millis");
        assert_eq!(millis.to_string(), "2017-06-01T22:53:00Z");
        assert_eq!(serde_json::to_string(&millis).expect("json"), "1496357580959");
        assert!(serde_json::from_str::<UnixSeconds>("9223372036854775807").is_err());
        assert!(serde_json::from_str::<UnixMillis>("\"soon\"").is_err());
    }
}
