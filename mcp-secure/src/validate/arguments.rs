//! A tool's arguments deserialized by value (strings moved into the input, not copied), with
//! the path of the field at fault when they do not fit: a top-level value that fails names
//! its key, and a nested object or array is parsed with its path tracked, so its errors name
//! the element too (`tags[1]`, `address.city`). Nothing is tracked for top-level scalars, which
//! cost nothing more than serde's own parse.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value, map::IntoIter};

/// Why arguments did not fit: serde's message and where (`""` for the arguments object).
#[derive(Debug)]
pub(crate) struct ParseError {
    pub(crate) path: String,
    pub(crate) message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for ParseError {}

impl de::Error for ParseError {
    fn custom<T: fmt::Display>(message: T) -> Self {
        Self {
            path: String::new(),
            message: message.to_string(),
        }
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
            value: None,
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
    value: Option<Value>,
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
        self.value = Some(value);
        seed.deserialize(de::value::StrDeserializer::<ParseError>::new(&self.key))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ParseError> {
        let Some(value) = self.value.take() else {
            return Err(de::Error::custom("a value was asked for before its key"));
        };
        let at = |inner: &str, e: serde_json::Error| ParseError {
            path: match inner {
                "." => self.key.clone(),
                nested if nested.starts_with('[') => format!("{}{nested}", self.key),
                nested => format!("{}.{nested}", self.key),
            },
            message: e.to_string(),
        };
        match value {
            Value::Object(_) | Value::Array(_) => {
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
