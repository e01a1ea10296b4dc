//! A tool's arguments parsed field by field, what `#[derive(SecureInput)]`'s
//! [`SecureInput::from_arguments`](super::SecureInput::from_arguments) calls: each value by
//! value (strings moved into the input, not copied), with the path of the field at fault when
//! it does not fit. The derive writes the loop over the arguments and the match on their keys,
//! rather than going through serde's visitor for the input: that parse is faster than
//! `serde_json::from_value`, which names no field (`benches/guard.rs`, `parts`).

use std::{cell::Cell, fmt};

use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde_json::Value;

/// Why arguments did not fit: serde's message and where (`""` for the arguments object).
/// Boxed, as serde_json's own error is: every value parsed returns a `Result` with this error
/// in it, and one pointer keeps those results as small as serde_json's, so they are cheap to
/// move between the parse's frames (BENCHMARKS.md, "The guard alone").
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
        match self.0.path.as_str() {
            "" => f.write_str(&self.0.message),
            path => write!(f, "{path}: {}", self.0.message),
        }
    }
}

impl std::error::Error for ParseError {}

impl de::Error for ParseError {
    fn custom<T: fmt::Display>(message: T) -> Self {
        Self::new(String::new(), message.to_string())
    }
}

/// A type a tool argument's value parses into: any type serde can deserialize, named here so
/// that a field of a type it cannot says what to do.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be parsed from a tool's arguments",
    label = "serde cannot deserialize this field's type",
    note = "derive `SecureInput` on `{Self}` so its fields are parsed and checked, or, for a field marked `#[mcp(unbounded)]`, implement or derive `serde::Deserialize` for it"
)]
pub trait Argument: DeserializeOwned {}

impl<T: DeserializeOwned> Argument for T {}

/// The value of the argument `key` as a `T`: by value (strings are moved, not copied), its
/// errors naming `key`, and the element within it for a nested object or array (`tags[1]`,
/// `address.city`). Nothing is tracked for a scalar, which costs no more than serde's own parse.
pub fn field<T: Argument>(key: &str, value: Value) -> Result<T, ParseError> {
    if let Value::Object(_) | Value::Array(_) = value {
        return nested(key, value);
    }
    T::deserialize(value).map_err(|e| fault(key.to_owned(), &e))
}

/// [`field`] for an object or an array, its path tracked to name the element at fault.
///
/// A nested input in it (a `SecureInput` struct, deserialized by [`deserialize`]) fails with
/// a [`ParseError`] whose path is within that input; serde carries only its message, so
/// [`deserialize`] leaves the whole fault in [`NESTED_FAULT`] for this function to join to the
/// path serde tracked to the input: `addresses[1]` and `zip`.
#[inline(never)]
fn nested<T: DeserializeOwned>(key: &str, value: Value) -> Result<T, ParseError> {
    NESTED_FAULT.set(None);
    let mut track = serde_path_to_error::Track::new();
    let parsed = T::deserialize(serde_path_to_error::Deserializer::new(value, &mut track));
    let inner = NESTED_FAULT.take();
    parsed.map_err(|e| {
        let at = track.path().to_string();
        match inner {
            // The fault is the nested input's only if serde's error is the one it raised.
            Some(inner) if e.to_string() == inner.to_string() => {
                let Fault { path, message } = *inner.0;
                ParseError::new(join(&join(key, &at), &path), message)
            }
            _ => fault(join(key, &at), &e),
        }
    })
}

/// The path `outer` joined with `inner`, a path within it (`.` or `""` for `outer` itself).
#[cold]
fn join(outer: &str, inner: &str) -> String {
    match inner {
        "." | "" => outer.to_owned(),
        nested if nested.starts_with('[') => format!("{outer}{nested}"),
        nested => format!("{outer}.{nested}"),
    }
}

/// serde's `error` at `path`.
#[cold]
fn fault(path: String, error: &serde_json::Error) -> ParseError {
    ParseError::new(path, error.to_string())
}

thread_local! {
    /// The last fault of a nested input deserialized by [`deserialize`], for [`nested`].
    static NESTED_FAULT: Cell<Option<ParseError>> = const { Cell::new(None) };
}

/// `Deserialize` of a `#[derive(SecureInput)]` struct: an object (a repeated or unknown field
/// refused), parsed by its `from_arguments`. Used for an input nested in another (through
/// [`field`]) and by whoever deserializes an input with serde directly, whose error then reads
/// `path: message`.
pub fn deserialize<'de, T, D>(deserializer: D) -> Result<T, D::Error>
where
    T: super::SecureInput,
    D: Deserializer<'de>,
{
    let arguments = deserializer.deserialize_map(Object)?;
    T::from_arguments(arguments).map_err(|fault| {
        let error = de::Error::custom(&fault);
        NESTED_FAULT.set(Some(fault));
        error
    })
}

/// What a field that was not sent is: `None` for an `Option`, else a `missing field` error, as
/// serde decides it (by the type, so an alias of `Option` is optional too).
pub fn missing<T: Argument>(key: &'static str) -> Result<T, ParseError> {
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

/// A JSON object as a map, a repeated key refused (serde_json's own map keeps the last value,
/// so a parser that kept the first would read another request).
struct Object;

impl<'de> Visitor<'de> for Object {
    type Value = serde_json::Map<String, Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(format_args!("duplicate field `{key}`")));
            }
            let value = map.next_value()?;
            object.insert(key, value);
        }
        Ok(object)
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

    #[derive(crate::SecureInput, Debug)]
    struct Point {
        #[mcp(range(min = -90, max = 90))]
        lat: i32,
    }

    #[derive(crate::SecureInput, Debug)]
    struct Place {
        #[mcp(length(max = 20))]
        city: String,
        at: Option<Point>,
    }

    #[derive(crate::SecureInput, Debug)]
    struct Trip {
        home: Place,
        #[mcp(items(max = 3))]
        stops: Vec<Place>,
    }

    /// A nested input's fault is named with its whole path, however deep, and with serde's
    /// message; a nested input is an object, never a list of its fields (the schema says
    /// object).
    #[test]
    fn nested_inputs_name_the_field_at_fault_at_any_depth() {
        let cases = [
            (
                json!({"home": {"city": 5}, "stops": []}),
                "home.city",
                "invalid type: integer `5`, expected a string",
            ),
            (
                json!({"home": {"city": "a", "x": 1}, "stops": []}),
                "home",
                "unknown field `x`, expected `city` or `at`",
            ),
            (
                json!({"home": {}, "stops": []}),
                "home",
                "missing field `city`",
            ),
            (
                json!({"home": {"city": "a", "at": {"lat": "n"}}, "stops": []}),
                "home.at.lat",
                "invalid type: string \"n\", expected i32",
            ),
            (
                json!({"home": {"city": "a"}, "stops": [{"city": "b"}, {"city": "c", "at": {}}]}),
                "stops[1].at",
                "missing field `lat`",
            ),
            (
                json!({"home": {"city": "a"}, "stops": [{"city": "b"}, 7]}),
                "stops[1]",
                "invalid type: integer `7`, expected an object",
            ),
            (
                json!({"home": ["a", null], "stops": []}),
                "home",
                "invalid type: sequence, expected an object",
            ),
        ];
        for (arguments, path, message) in cases {
            let fault = Trip::from_arguments(object(arguments.clone())).unwrap_err();
            assert_eq!(
                (fault.fault().path.as_str(), fault.fault().message.as_str()),
                (path, message),
                "{arguments}"
            );
        }
        let trip = Trip::from_arguments(object(json!({
            "home": {"city": "a", "at": {"lat": 1}},
            "stops": [{"city": "b"}, {"city": "c", "at": null}]
        })))
        .unwrap();
        // What the client reads names no internal type (it read `expected struct __McpShadow`
        // while a serde derive on a private struct parsed nested inputs).
        let errors = super::super::parse_arguments::<Trip>(Some(object(
            json!({"home": "Paris", "stops": []}),
        )))
        .unwrap_err();
        let violation = &errors.violations()[0];
        assert_eq!(
            (
                violation.field.as_str(),
                violation.rule,
                violation.message.as_str()
            ),
            ("home", "type", "invalid type: string, expected an object")
        );
        assert_eq!(trip.home.at.map(|p| p.lat), Some(1));
        assert_eq!(trip.stops[0].city, "b");
        assert!(trip.stops[1].at.is_none());
    }

    /// Deserializing an input with serde directly refuses what the parse refuses (and a
    /// repeated field, which a parsed object cannot hold), the path in the message.
    #[test]
    fn an_input_deserialized_directly_is_parsed_the_same() {
        let error =
            serde_json::from_value::<Trip>(json!({"home": {"city": 5}, "stops": []})).unwrap_err();
        assert_eq!(
            error.to_string(),
            "home.city: invalid type: integer `5`, expected a string"
        );
        let error = serde_json::from_str::<Place>(r#"{"city": "a", "admin": true}"#).unwrap_err();
        assert!(
            error.to_string().starts_with("unknown field `admin`"),
            "{error}"
        );
        assert!(serde_json::from_str::<Place>(r#"["a", null]"#).is_err());
        let error = serde_json::from_str::<Place>(r#"{"city": "a", "city": "b"}"#).unwrap_err();
        assert!(
            error.to_string().starts_with("duplicate field `city`"),
            "{error}"
        );
        let place = serde_json::from_str::<Place>(r#"{"city": "a"}"#).unwrap();
        assert_eq!(place.city, "a");
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
