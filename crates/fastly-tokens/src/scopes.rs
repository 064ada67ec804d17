//! Token scopes. Fastly documents `scope` as an enum, but servers return several scopes
//! in one space-separated string (`purge_all purge_select`), on which the official
//! Python client fails; here every string decodes. Fastly's `scopes` comes as a list
//! (`["global"]`) on user tokens and as a string on automation tokens: both decode.

use std::fmt;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One scope.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scope {
    /// `global`: full access.
    Global,
    /// `purge_select`: purge by URL or surrogate key.
    PurgeSelect,
    /// `purge_all`: purge everything.
    PurgeAll,
    /// `global:read`: read-only access.
    GlobalRead,
    /// A scope this crate does not know yet.
    Other(String),
}

impl Scope {
    /// The scope as Fastly writes it.
    pub fn as_str(&self) -> &str {
        match self {
            Scope::Global => "global",
            Scope::PurgeSelect => "purge_select",
            Scope::PurgeAll => "purge_all",
            Scope::GlobalRead => "global:read",
            Scope::Other(other) => other,
        }
    }

    fn parse(word: &str) -> Self {
        match word {
            "global" => Scope::Global,
            "purge_select" => Scope::PurgeSelect,
            "purge_all" => Scope::PurgeAll,
            "global:read" => Scope::GlobalRead,
            other => Scope::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of scopes, on the wire a space-separated string.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scopes(pub Vec<Scope>);

impl Scopes {
    /// The scopes, in the server's order.
    pub fn iter(&self) -> impl Iterator<Item = &Scope> {
        self.0.iter()
    }

    /// Whether `scope` is among them.
    pub fn contains(&self, scope: &Scope) -> bool {
        self.0.contains(scope)
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn to_wire(&self) -> String {
        self.0.iter().map(Scope::as_str).collect::<Vec<_>>().join(" ")
    }
}

impl From<Scope> for Scopes {
    fn from(scope: Scope) -> Self {
        Scopes(vec![scope])
    }
}

impl<const N: usize> From<[Scope; N]> for Scopes {
    fn from(scopes: [Scope; N]) -> Self {
        Scopes(scopes.into())
    }
}

impl From<&str> for Scopes {
    fn from(text: &str) -> Self {
        Scopes(text.split_whitespace().map(Scope::parse).collect())
    }
}

impl Serialize for Scopes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_wire())
    }
}

/// Reads a space-separated string (`"purge_all purge_select"`), a list of scopes
/// (`["global"]`), each item of which may hold several, or `null` (none).
impl<'de> Deserialize<'de> for Scopes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScopesVisitor)
    }
}

struct ScopesVisitor;

impl<'de> Visitor<'de> for ScopesVisitor {
    type Value = Scopes;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("scopes: a space-separated string or a list of strings")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Scopes, E> {
        Ok(Scopes::from(text))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Scopes, E> {
        Ok(Scopes::default())
    }

    fn visit_none<E: de::Error>(self) -> Result<Scopes, E> {
        Ok(Scopes::default())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Scopes, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Scopes, A::Error> {
        let mut scopes = Vec::new();
        while let Some(item) = items.next_element::<Option<String>>()? {
            scopes.extend(item.iter().flat_map(|item| item.split_whitespace()).map(Scope::parse));
        }
        Ok(Scopes(scopes))
    }
}
