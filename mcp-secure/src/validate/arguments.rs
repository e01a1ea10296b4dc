//! A tool's arguments parsed field by field, what `#[derive(SecureInput)]`'s
//! [`SecureInput::from_arguments`](super::SecureInput::from_arguments) calls: each value by
//! value (strings moved into the input, not copied), with the path of the field at fault when
//! it does not fit. The derive writes the loop over the arguments and the match on their keys,
//! rather than going through serde's visitor for the input: that parse is faster than
//! `serde_json::from_value`, which names no field (`benches/guard.rs`, `parts`).

use std::fmt;

use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde_json::Value;

/// Why arguments did not fit: serde's message and where (`""` for the arguments object).
/// Boxed, as serde_json's own error is: every value parsed returns a `Result` with this error
/// in it, and one pointer keeps those results as small as serde_json's. With two `String`s
/// inline the parse took ~6 % longer for the same instructions (`benches/guard.rs`,
/// `parts::parse_and_validate`): the larger results are copied between the parse's frames.
#[derive(Debug)]
pub struct ParseError(Box<Fault>);

/// What a [`ParseError`] carries.
#[derive(Debug)]
pub(crate) struct Fault {
    pub(crate) path: String,
    pub(crate) message: String,
}

impl ParseError {
    fn new(path: String, message: String) -> Self {
        Self(Box::new(Fault { path, message }))
    }

    /// The path and message.
    pub(crate) fn fault(&self) -> &Fault {
        &self.0
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.0.path, self.0.message)
    }
}

impl std::error::Error for ParseError {}

impl de::Error for ParseError {
    fn custom<T: fmt::Display>(message: T) -> Self {
        Self::new(String::new(), message.to_string())
    }
}

/// The value of the argument `key` as a `T`: by value (strings are moved, not copied), its
/// errors naming `key`, and the element within it for a nested object or array (`tags[1]`,
/// `address.city`). Nothing is tracked for a scalar, which costs no more than serde's own parse.
pub fn field<T: DeserializeOwned>(key: &str, value: Value) -> Result<T, ParseError> {
    if let Value::Object(_) | Value::Array(_) = value {
        return nested(key, value);
    }
    T::deserialize(value).map_err(|e| fault(key, ".", &e))
}

/// [`field`] for an object or an array, its path tracked to name the element at fault.
#[inline(never)]
fn nested<T: DeserializeOwned>(key: &str, value: Value) -> Result<T, ParseError> {
    let mut track = serde_path_to_error::Track::new();
    T::deserialize(serde_path_to_error::Deserializer::new(value, &mut track))
        .map_err(|e| fault(key, &track.path().to_string(), &e))
}

/// The error of the field `key` at `inner` (`.` for the field itself) within it.
#[cold]
fn fault(key: &str, inner: &str, error: &serde_json::Error) -> ParseError {
    let path = match inner {
        "." => key.to_owned(),
        nested if nested.starts_with('[') => format!("{key}{nested}"),
        nested => format!("{key}.{nested}"),
    };
    ParseError::new(path, error.to_string())
}

/// What a field that was not sent is: `None` for an `Option`, else a `missing field` error, as
/// serde decides it (by the type, so an alias of `Option` is optional too).
pub fn missing<T: DeserializeOwned>(key: &'static str) -> Result<T, ParseError> {
    T::deserialize(Missing(key))
}

/// The error for an argument the input does not have; `expected` lists those it has.
pub fn unknown(key: &str, expected: &'static [&'static str]) -> ParseError {
    de::Error::unknown_field(key, expected)
}

/// A field that was not sent, as a deserializer: an `Option` reads it as `None`; every other
/// type fails with `missing field`.
struct Missing(&'static str);

impl<'de> Deserializer<'de> for Missing {
    type Error = ParseError;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, ParseError> {
        Err(de::Error::missing_field(self.0))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParseError> {
        visitor.visit_none()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::{Map, Value, json};

    use crate::SecureInput;

    type Maybe = Option<String>;

    #[derive(crate::SecureInput, Debug, PartialEq)]
    struct Input {
        #[mcp(length(max = 50))]
        name: String,
        count: u8,
        #[mcp(items(max = 3), each(length(max = 10)))]
        tags: Vec<String>,
        #[mcp(length(max = 50))]
        note: Option<String>,
        #[mcp(unbounded)]
        aside: Maybe,
    }

    /// The same fields, parsed by serde's derive.
    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Mirror {
        name: String,
        count: u8,
        tags: Vec<String>,
        note: Option<String>,
        aside: Maybe,
    }

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    /// The generated parse accepts what serde's derive accepts and refuses what it refuses, with
    /// serde's own message, naming the field (and the element) at fault; a missing or unknown
    /// field is named by the message (`missing field `name``), its path is the object's.
    #[test]
    fn the_generated_parse_agrees_with_serde_and_names_the_field() {
        let cases = [
            (json!({"name": "a", "count": 1, "tags": []}), None),
            (
                json!({"name": "a", "count": 1, "tags": ["x"], "note": "n", "aside": "s"}),
                None,
            ),
            (
                json!({"name": "a", "count": 1, "tags": [], "note": null, "aside": null}),
                None,
            ),
            (json!({"count": 1, "tags": []}), Some("")),
            (json!({"name": "a", "tags": []}), Some("")),
            (json!({}), Some("")),
            (
                json!({"name": "a", "count": 1, "tags": [], "admin": true}),
                Some(""),
            ),
            (json!({"admin": true, "name": 5}), Some("")),
            (json!({"name": 5, "count": 1, "tags": []}), Some("name")),
            (json!({"name": null, "count": 1, "tags": []}), Some("name")),
            (
                json!({"name": "a", "count": 300, "tags": []}),
                Some("count"),
            ),
            (json!({"name": "a", "count": -1, "tags": []}), Some("count")),
            (
                json!({"name": "a", "count": 1, "tags": ["x", 7]}),
                Some("tags[1]"),
            ),
            (
                json!({"name": "a", "count": 1, "tags": {"a": 1}}),
                Some("tags"),
            ),
            (
                json!({"name": "a", "count": 1, "tags": [], "note": 1}),
                Some("note"),
            ),
        ];
        for (arguments, fault_at) in cases {
            let ours = Input::from_arguments(object(arguments.clone()));
            let serde = serde_json::from_value::<Mirror>(arguments.clone());
            match (ours, serde, fault_at) {
                (Ok(ours), Ok(serde), None) => {
                    let Input {
                        name,
                        count,
                        tags,
                        note,
                        aside,
                    } = ours;
                    assert_eq!(
                        Mirror {
                            name,
                            count,
                            tags,
                            note,
                            aside
                        },
                        serde,
                        "{arguments}"
                    );
                }
                (Err(ours), Err(serde), Some(path)) => {
                    assert_eq!(ours.fault().message, serde.to_string(), "{arguments}");
                    assert_eq!(ours.fault().path, path, "{arguments}");
                }
                (ours, serde, expected) => {
                    panic!("{arguments}: ours {ours:?}, serde's {serde:?}, expected {expected:?}")
                }
            }
        }
    }
}
