//! JSON bodies with a key given twice are refused. The operations parse bodies through
//! `serde_json::Value`, which keeps the last of duplicate keys silently: a body with
//! `"is_admin": false, "is_admin": true` would mean something other than what a reviewer
//! of it reads first. RFC 8259 §4 leaves duplicates undefined; we refuse them.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// The first key found twice in one object of `body`, if any. A body that is not JSON
/// at all passes: the operation's own parser says what is wrong with it.
pub fn duplicate_key(body: &[u8]) -> Option<String> {
    let mut de = serde_json::Deserializer::from_slice(body);
    match Walk.deserialize(&mut de) {
        Err(e) if e.is_data() => Some(e.to_string()),
        _ => None,
    }
}

/// Walks any JSON value, failing with the key on the first duplicate in an object.
struct Walk;

impl<'de> DeserializeSeed<'de> for Walk {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Walk)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                let key: String = key.chars().take(64).collect();
                return Err(de::Error::custom(format!(
                    "the JSON body has the key \"{key}\" more than once"
                )));
            }
            map.next_value_seed(Walk)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::duplicate_key;

    #[test]
    fn finds_duplicates_at_any_depth_and_nothing_else() {
        let dup = |s: &str| duplicate_key(s.as_bytes());
        assert!(
            dup(r#"{"is_admin": false, "is_admin": true}"#)
                .unwrap()
                .contains("is_admin")
        );
        assert!(dup(r#"{"a": [{"b": 1, "b": 2}]}"#).is_some());
        assert!(dup(r#"{"a": {"x": 1}, "b": {"x": 1}}"#).is_none());
        assert!(dup(r#"[1, "two", null, {"k": [true]}]"#).is_none());
        // Escapes name the same key.
        assert!(dup(r#"{"a": 1, "\u0061": 2}"#).is_some());
        // Not JSON, or truncated: left to the operation's parser.
        assert!(dup("not json").is_none());
        assert!(dup(r#"{"a": 1, "b""#).is_none());
        assert!(dup(&"[".repeat(10_000)).is_none());
    }
}
