//! A tool's arguments deserialized by value (strings moved into the input, not copied), with
//! the path of the field at fault when they do not fit: a top-level value that fails names
//! its key, and a nested object or array is parsed with its path tracked, so its errors name
//! the element too (`tags[1]`, `address.city`). Nothing is tracked for top-level scalars, which
//! cost nothing more than serde's own parse.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value, map::IntoIter};

/// Why arguments did not fit: serde's message and where (`""` for the arguments object).
/// Boxed, as serde_json's own error is: every value parsed returns a `Result` with this error
/// in it, and one pointer keeps those results as small as serde_json's. With two `String`s
/// inline the parse took ~6 % longer for the same instructions (`benches/guard.rs`,
/// `parts::parse_and_validate`): the larger results are copied between the parse's frames.
#[derive(Debug)]
pub(crate) struct ParseError(Box<Fault>);

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

/// `arguments` as the deserializer of a tool's input.
pub(crate) struct Arguments(pub(crate) Map<String, Value>);

impl<'de> Deserializer<'de> for Arguments {
    type Error = ParseError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParseError> {
        visitor.visit_map(Fields {
            iter: self.0.into_iter(),
            key: String::new(),
            value: Value::Null,
            pending: false,
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

/// The arguments' fields, one key and then its value at a time.
struct Fields {
    iter: IntoIter,
    /// The key whose value comes next, to name it if the value does not fit.
    key: String,
    /// That value (`Null` once taken).
    value: Value,
    /// Whether `value` is still to be read. A flag beside a `Value` rather than an
    /// `Option<Value>`: taking the value out of an `Option` made the compiler copy it through
    /// memory at offsets its stores did not match, a stall the processor pays on every field
    /// (parse and validate 111-117 -> 109 ns, `benches/guard.rs`).
    pending: bool,
}

impl<'de> MapAccess<'de> for Fields {
    type Error = ParseError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ParseError> {
        let Some((key, value)) = self.iter.next() else {
            return Ok(None);
        };
        self.key = key;
        self.value = value;
        self.pending = true;
        seed.deserialize(de::value::StrDeserializer::<ParseError>::new(&self.key))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ParseError> {
        let key = &self.key;
        let at = |inner: &str, e: serde_json::Error| {
            let path = match inner {
                "." => key.clone(),
                nested if nested.starts_with('[') => format!("{key}{nested}"),
                nested => format!("{key}.{nested}"),
            };
            ParseError::new(path, e.to_string())
        };
        if !std::mem::take(&mut self.pending) {
            return Err(de::Error::custom("a value was asked for before its key"));
        }
        match std::mem::take(&mut self.value) {
            value @ (Value::Object(_) | Value::Array(_)) => {
                let mut track = serde_path_to_error::Track::new();
                seed.deserialize(serde_path_to_error::Deserializer::new(value, &mut track))
                    .map_err(|e| at(&track.path().to_string(), e))
            }
            scalar => seed.deserialize(scalar).map_err(|e| at(".", e)),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}
