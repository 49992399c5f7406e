//! Strict JSON parsing for federation documents.
//!
//! `serde_json` keeps the last of two members with the same name; OpenID Federation forbids
//! duplicate member names in policies (§6.1.2) and RFC 8259 calls such JSON non-interoperable
//! (§6.1.3). Every statement payload is therefore parsed here, which rejects duplicate
//! members at any depth and bounds nesting depth, so a hostile document can neither smuggle a
//! second value past a check nor exhaust the stack.

use std::cell::Cell;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Deepest nesting accepted by [`parse_strict`] (objects and arrays together).
pub(crate) const MAX_DEPTH: usize = 64;

/// Why a document is not acceptable JSON: a message, and its [`JsonErrorKind`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid JSON: {0}")]
pub struct JsonError(pub String, JsonErrorKind);

impl JsonError {
    fn new(kind: JsonErrorKind, message: impl Into<String>) -> Self {
        Self(message.into(), kind)
    }

    /// What kind of failure.
    pub fn kind(&self) -> JsonErrorKind {
        self.1
    }
}

/// The kinds of [`JsonError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JsonErrorKind {
    /// Not JSON (syntax, trailing characters, a number out of range).
    Syntax,
    /// A member name appears twice in one object.
    DuplicateMember,
    /// Nesting deeper than 64 levels.
    TooDeep,
    /// Valid JSON, but not the object a document must be.
    NotAnObject,
}

/// Parses `bytes` as JSON, rejecting duplicate member names at any level and nesting deeper
/// than 64 levels.
pub fn parse_strict(bytes: &[u8]) -> Result<Value, JsonError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    // The visitor says here why it stopped; serde's error carries only the message.
    let why = Cell::new(JsonErrorKind::Syntax);
    let v = StrictSeed {
        depth: 0,
        why: &why,
    }
    .deserialize(&mut de)
    .map_err(|e| JsonError::new(why.get(), e.to_string()))?;
    de.end()
        .map_err(|e| JsonError::new(JsonErrorKind::Syntax, e.to_string()))?;
    Ok(v)
}

/// [`parse_strict`], for a document that must be a JSON object (a JWT payload, a claim set).
pub(crate) fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, JsonError> {
    match parse_strict(bytes)? {
        Value::Object(m) => Ok(m),
        _ => Err(JsonError::new(
            JsonErrorKind::NotAnObject,
            "the payload is not a JSON object",
        )),
    }
}

/// [`parse_strict`] for text (the fuzz targets read text).
#[cfg(any(test, feature = "testing"))]
pub fn parse_strict_str(s: &str) -> Result<Value, JsonError> {
    parse_strict(s.as_bytes())
}

struct StrictSeed<'a> {
    depth: usize,
    why: &'a Cell<JsonErrorKind>,
}

impl<'de> DeserializeSeed<'de> for StrictSeed<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(StrictVisitor {
            depth: self.depth,
            why: self.why,
        })
    }
}

struct StrictVisitor<'a> {
    depth: usize,
    why: &'a Cell<JsonErrorKind>,
}

impl StrictVisitor<'_> {
    fn deeper<E: serde::de::Error>(&self) -> Result<usize, E> {
        if self.depth >= MAX_DEPTH {
            self.why.set(JsonErrorKind::TooDeep);
            Err(E::custom(format!("nesting deeper than {MAX_DEPTH}")))
        } else {
            Ok(self.depth + 1)
        }
    }
}

impl<'de> Visitor<'de> for StrictVisitor<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let depth = self.deeper()?;
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(StrictSeed {
            depth,
            why: self.why,
        })? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let depth = self.deeper()?;
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                self.why.set(JsonErrorKind::DuplicateMember);
                return Err(serde::de::Error::custom(format!(
                    "duplicate member name {key:?}"
                )));
            }
            let v = map.next_value_seed(StrictSeed {
                depth,
                why: self.why,
            })?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_rejected_at_every_level() {
        let kind = |b: &[u8]| parse_strict(b).unwrap_err().kind();
        assert_eq!(kind(br#"{"a":1,"a":1}"#), JsonErrorKind::DuplicateMember);
        assert_eq!(
            kind(br#"{"x":[{"a":1,"a":2}]}"#),
            JsonErrorKind::DuplicateMember
        );
        // A key that merely reads "duplicate" is a syntax error, not a duplicate.
        assert_eq!(
            kind(br#"{"duplicate member name": }"#),
            JsonErrorKind::Syntax
        );
        assert!(parse_strict(br#"{"a":1,"b":{"a":1}}"#).is_ok());
    }

    #[test]
    fn depth_is_bounded() {
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert_eq!(
            parse_strict(deep.as_bytes()).unwrap_err().kind(),
            JsonErrorKind::TooDeep
        );
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse_strict(ok.as_bytes()).is_ok());
    }

    #[test]
    fn trailing_garbage_rejected() {
        assert!(parse_strict(br#"{"a":1} x"#).is_err());
        assert!(parse_strict(b"").is_err());
    }
}

#[cfg(test)]
mod examples {
    //! What the module promises, as the examples its documentation had while it was public.

    #[test]
    fn a_duplicate_member_is_its_own_kind() {
        use crate::json::{JsonErrorKind, parse_strict};
        let e = parse_strict(br#"{"a":1,"a":2}"#).unwrap_err();
        assert_eq!(e.kind(), JsonErrorKind::DuplicateMember);
    }

    #[test]
    fn duplicates_are_refused_at_every_level() {
        use crate::json::parse_strict;
        assert!(parse_strict(br#"{"a":{"b":1}}"#).is_ok());
        assert!(parse_strict(br#"{"a":1,"a":2}"#).is_err());
        assert!(parse_strict(br#"{"p":{"one_of":[1],"one_of":[2]}}"#).is_err());
    }

    #[test]
    fn a_payload_must_be_an_object() {
        use crate::json::parse_object;
        assert!(parse_object(br#"{"iss":"https://a.example"}"#).is_ok());
        assert_eq!(
            parse_object(b"[1]").unwrap_err().0,
            "the payload is not a JSON object"
        );
    }
}
