//! The live-token table, keyed on the wire by the tokens themselves: a map with
//! `String` keys would print every user's token in `Debug`.

use serde::de::{Deserialize, Deserializer};
use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::Secret;
use crate::types::TokenOwner;

/// Live tokens with their owners, in the server's order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TokenTable(pub Vec<(Secret, TokenOwner)>);

impl TokenTable {
    /// The tokens and their owners.
    pub fn iter(&self) -> impl Iterator<Item = &(Secret, TokenOwner)> {
        self.0.iter()
    }

    /// How many tokens are live.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no token is live.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for TokenTable {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (token, owner) in &self.0 {
            map.serialize_entry(token.expose(), owner)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for TokenTable {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = TokenTable;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of tokens to their owners")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<TokenTable, A::Error> {
                let mut entries = Vec::new();
                while let Some((token, owner)) = map.next_entry::<String, TokenOwner>()? {
                    entries.push((Secret::from(token), owner));
                }
                Ok(TokenTable(entries))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}
