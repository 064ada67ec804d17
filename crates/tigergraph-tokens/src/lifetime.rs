//! Lifetimes as each server generation wants them: 3.x takes seconds as a JSON string,
//! 4.x milliseconds as a JSON number. Distinct types make the unit impossible to mix
//! up (pyTigerGraph sends seconds to 4.x, which yields 1000× shorter tokens).

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A 3.x lifetime in whole seconds, on the wire a JSON string (`"100000"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Seconds(pub u64);

impl Seconds {
    /// A lifetime of `secs` seconds.
    pub fn from_secs(secs: u64) -> Self {
        Seconds(secs)
    }
}

impl From<Duration> for Seconds {
    /// Whole seconds; a fraction is dropped.
    fn from(duration: Duration) -> Self {
        Seconds(duration.as_secs())
    }
}

impl Serialize for Seconds {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.trim()
            .parse()
            .map(Seconds)
            .map_err(|_| serde::de::Error::custom("a lifetime is a whole number of seconds"))
    }
}

/// A 4.x lifetime in milliseconds, on the wire a JSON number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Milliseconds(pub u64);

impl From<Duration> for Milliseconds {
    /// Whole milliseconds, saturating at `u64::MAX`.
    fn from(duration: Duration) -> Self {
        Milliseconds(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
    }
}
