//! A tool's arguments parsed field by field, what `#[derive(SecureInput)]`'s
//! [`SecureInput::from_arguments`](super::SecureInput::from_arguments) calls: each value by
//! value (strings moved into the input, not copied), with the path of the field at fault when
//! it does not fit. The derive writes the loop over the arguments and the match on their keys,
//! rather than going through serde's visitor for the input: that parse is faster than
//! `serde_json::from_value`, which names no field (`benches/guard.rs`, `parts`).

use std::{fmt, marker::PhantomData};

use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde_json::{Map, Value};

pub use super::fault::ParseError;
use super::value::ValueDeserializer;

/// A type a tool argument's value parses into: any type serde can deserialize, named here so
/// that a field of a type it cannot says what to do.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be parsed from a tool's arguments",
    label = "serde cannot deserialize this field's type",
    note = "derive `SecureInput` on `{Self}` so its fields are parsed and checked, or, for a field marked `#[mcp(unbounded)]`, implement or derive `serde::Deserialize` for it"
)]
pub trait Argument: DeserializeOwned {}

impl<T: DeserializeOwned> Argument for T {}

/// The value of the argument `key` as a `T`, through serde: by value (strings are moved, not
/// copied), its errors naming `key`, and the element within it for a nested object or array
/// (`tags[1]`, `address.city`). Nothing is tracked for a scalar, which costs no more than
/// serde's own parse.
pub fn field<T: Argument>(key: &str, value: Value) -> Result<T, ParseError> {
    if let Value::Object(_) | Value::Array(_) = value {
        return tracked(key, value);
    }
    T::deserialize(ValueDeserializer(value)).map_err(|e| e.within(key))
}

/// [`field`] for an object or an array, its path tracked to name the element at fault.
#[inline(never)]
fn tracked<T: DeserializeOwned>(key: &str, value: Value) -> Result<T, ParseError> {
    let mut track = serde_path_to_error::Track::new();
    T::deserialize(serde_path_to_error::Deserializer::new(
        ValueDeserializer(value),
        &mut track,
    ))
    .map_err(|e| e.within(&super::fault::join(key, &track.path().to_string())))
}

/// A `#[derive(SecureInput)]` struct, or an `Option`, `Vec` or `Box` of one: a value parsed
/// by the inputs' own parse rather than through serde, so that a fault deep inside reaches the
/// caller as it was found (its kind and whole path), which serde's `Deserializer` interface,
/// whose errors are built from messages, could not carry.
pub trait Nested: Sized {
    /// Parses `value`; an error's path is within it.
    fn parse_nested(value: Value) -> Result<Self, ParseError>;
}

impl<T: Nested> Nested for Option<T> {
    fn parse_nested(value: Value) -> Result<Self, ParseError> {
        match value {
            Value::Null => Ok(None),
            value => T::parse_nested(value).map(Some),
        }
    }
}

impl<T: Nested> Nested for Box<T> {
    fn parse_nested(value: Value) -> Result<Self, ParseError> {
        T::parse_nested(value).map(Box::new)
    }
}

impl<T: Nested> Nested for Vec<T> {
    fn parse_nested(value: Value) -> Result<Self, ParseError> {
        match value {
            Value::Array(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, item)| T::parse_nested(item).map_err(|e| e.within(&format!("[{i}]"))))
                .collect(),
            other => Err(invalid_type(&other, &"a sequence")),
        }
    }
}

/// The object a nested input is parsed from: anything else is the wrong type.
pub fn object(value: Value) -> Result<Map<String, Value>, ParseError> {
    match value {
        Value::Object(object) => Ok(object),
        other => Err(invalid_type(&other, &"an object")),
    }
}

#[cold]
fn invalid_type(value: &Value, expected: &dyn de::Expected) -> ParseError {
    de::Error::invalid_type(super::value::unexpected(value), expected)
}

/// How the derive parses a field of type `T`: `(&Parse::<T>::NEW).parse(key, value)` picks
/// [`ViaNested`] when `T` is [`Nested`] (an input, or an option, list or box of one), and
/// [`ViaSerde`] otherwise, which is found one auto-reference later.
pub struct Parse<T>(PhantomData<fn() -> T>);

impl<T> Parse<T> {
    /// The selector for `T`.
    pub const NEW: Self = Self(PhantomData);
}

/// A field parsed by the inputs' own parse.
pub trait ViaNested {
    /// The field's type.
    type Out;
    /// Parses the argument `key`.
    fn parse(&self, key: &str, value: Value) -> Result<Self::Out, ParseError>;
}

impl<T: Nested> ViaNested for Parse<T> {
    type Out = T;

    #[inline]
    fn parse(&self, key: &str, value: Value) -> Result<T, ParseError> {
        T::parse_nested(value).map_err(|e| e.within(key))
    }
}

/// A field parsed through serde ([`field`]).
pub trait ViaSerde<T> {
    /// Parses the argument `key`.
    fn parse(&self, key: &str, value: Value) -> Result<T, ParseError>
    where
        T: Argument;
}

impl<T> ViaSerde<T> for &Parse<T> {
    #[inline(always)]
    fn parse(&self, key: &str, value: Value) -> Result<T, ParseError>
    where
        T: Argument,
    {
        field(key, value)
    }
}

/// `Deserialize` of a `#[derive(SecureInput)]` struct: an object (a repeated or unknown field
/// refused), parsed by its `from_arguments`. For whoever deserializes an input with serde
/// directly, or inside a type of their own: the error then reads `path: message`, as serde
/// errors are messages. (A field of an input that is itself an input is parsed by [`Nested`],
/// not through here.)
pub fn deserialize<'de, T, D>(deserializer: D) -> Result<T, D::Error>
where
    T: super::SecureInput,
    D: Deserializer<'de>,
{
    let arguments = deserializer.deserialize_map(Object)?;
    T::from_arguments(arguments).map_err(de::Error::custom)
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
                return Err(de::Error::custom(format_args!(
                    "duplicate field `{}`",
                    super::fault::shorten(&key)
                )));
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
        boxed: Option<Box<Place>>,
    }

    /// A nested input's fault is named with its whole path, however deep, and its rule; a
    /// nested input is an object, never a list of its fields (the schema says object).
    #[test]
    fn nested_inputs_name_the_field_at_fault_at_any_depth() {
        let cases = [
            (
                json!({"home": {"city": 5}, "stops": []}),
                (
                    "type",
                    "home.city",
                    "invalid type: integer, expected a string",
                ),
            ),
            (
                json!({"home": {"city": "a", "x": 1}, "stops": []}),
                (
                    "unknown_field",
                    "home.x",
                    "is not a field of this input (expected `city` or `at`)",
                ),
            ),
            (
                json!({"home": {}, "stops": []}),
                ("required", "home.city", "is required"),
            ),
            (
                json!({"home": {"city": "a", "at": {"lat": "n"}}, "stops": []}),
                ("type", "home.at.lat", "invalid type: string, expected i32"),
            ),
            (
                json!({"home": {"city": "a"}, "stops": [{"city": "b"}, {"city": "c", "at": {}}]}),
                ("required", "stops[1].at.lat", "is required"),
            ),
            (
                json!({"home": {"city": "a"}, "stops": [{"city": "b"}, 7]}),
                (
                    "type",
                    "stops[1]",
                    "invalid type: integer, expected an object",
                ),
            ),
            (
                json!({"home": ["a", null], "stops": []}),
                ("type", "home", "invalid type: sequence, expected an object"),
            ),
            (
                json!({"home": {"city": "a"}, "stops": {"city": "b"}}),
                ("type", "stops", "invalid type: map, expected a sequence"),
            ),
            (
                json!({"home": {"city": "a"}, "stops": [], "boxed": {"city": "b", "at": {"lat": null}}}),
                ("type", "boxed.at.lat", "invalid type: null, expected i32"),
            ),
        ];
        for (arguments, (rule, path, message)) in cases {
            let fault = Trip::from_arguments(object(arguments.clone())).unwrap_err();
            let described = fault.describe();
            assert_eq!(
                (
                    described.rule,
                    described.field.as_str(),
                    described.message.as_str()
                ),
                (rule, path, message),
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
            "home.city: invalid type: integer, expected a string"
        );
        let error = serde_json::from_str::<Place>(r#"{"city": "a", "admin": true}"#).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("admin: is not a field of this input"),
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

    #[derive(crate::SecureInput, Debug)]
    struct Atlas {
        #[mcp(unbounded)]
        by_name: std::collections::BTreeMap<String, Place>,
    }

    /// An input inside a type serde parses (here a map, accepted unchecked) is reached through
    /// serde's `Deserializer`, whose errors are messages: the fault is named down to the entry,
    /// and the message names the rest of the path.
    #[test]
    fn an_input_inside_a_serde_type_names_the_entry_and_the_rest() {
        let fault =
            Atlas::from_arguments(object(json!({"by_name": {"x": {"city": 5}}}))).unwrap_err();
        let described = fault.describe();
        assert_eq!(
            (
                described.rule,
                described.field.as_str(),
                described.message.as_str()
            ),
            (
                "type",
                "by_name.x",
                "city: invalid type: integer, expected a string"
            )
        );
        let atlas =
            Atlas::from_arguments(object(json!({"by_name": {"x": {"city": "c"}}}))).unwrap();
        assert_eq!(atlas.by_name["x"].city, "c");
    }

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    /// The generated parse accepts what serde's derive accepts and refuses what it refuses,
    /// naming the field (and the element) at fault.
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
            (json!({"count": 1, "tags": []}), Some("name")),
            (json!({"name": "a", "tags": []}), Some("count")),
            (json!({}), Some("name")),
            (
                json!({"name": "a", "count": 1, "tags": [], "admin": true}),
                Some("admin"),
            ),
            (json!({"admin": true, "name": 5}), Some("admin")),
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
                (Err(ours), Err(_), Some(path)) => {
                    assert_eq!(ours.describe().field, path, "{arguments}");
                }
                (ours, serde, expected) => {
                    panic!("{arguments}: ours {ours:?}, serde's {serde:?}, expected {expected:?}")
                }
            }
        }
    }
}
