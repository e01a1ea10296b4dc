//! Reading secrets out of a store's JSON answers without keeping copies of them: strings go
//! straight into [`SecretString`]s, and the values not asked for are skipped unread.

#[cfg(feature = "aws-secrets")]
use std::borrow::Cow;
use std::fmt;

#[cfg(feature = "aws-secrets")]
use serde::de::DeserializeSeed;
use serde::{
    Deserialize, Deserializer,
    de::{self, IgnoredAny},
};

use super::SecretString;

// AWS secrets are JSON text holding JSON; Vault's fields are read by `AnyValue` alone.
#[cfg(feature = "aws-secrets")]
/// A JSON string read straight into a [`SecretString`] (no intermediate copy kept).
pub(crate) struct Text(pub(crate) SecretString);

#[cfg(feature = "aws-secrets")]
impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(SecretString::new(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text, E> {
                Ok(Text(SecretString::new(v)))
            }
        }
        deserializer.deserialize_string(Visitor)
    }
}

#[cfg(feature = "aws-secrets")]
/// What a JSON object holds under one key; the other values are skipped unread.
pub(crate) enum Field {
    Missing,
    NotString,
    Text(SecretString),
}

#[cfg(feature = "aws-secrets")]
struct FieldOf<'a>(&'a str);

#[cfg(feature = "aws-secrets")]
impl<'de> DeserializeSeed<'de> for FieldOf<'_> {
    type Value = Field;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Field, D::Error> {
        deserializer.deserialize_map(self)
    }
}

#[cfg(feature = "aws-secrets")]
impl<'de> de::Visitor<'de> for FieldOf<'_> {
    type Value = Field;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Field, A::Error> {
        let mut found = Field::Missing;
        while let Some(name) = map.next_key::<Cow<'de, str>>()? {
            if name != self.0 {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            if !matches!(found, Field::Missing) {
                return Err(de::Error::custom("duplicate field"));
            }
            found = match map.next_value::<AnyValue>()? {
                AnyValue(Some(text)) => Field::Text(text),
                AnyValue(None) => Field::NotString,
            };
        }
        Ok(found)
    }
}

/// Any JSON value: a string as a secret, anything else skipped.
pub(crate) struct AnyValue(pub(crate) Option<SecretString>);

impl<'de> Deserialize<'de> for AnyValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> de::Visitor<'de> for Visitor {
            type Value = AnyValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<AnyValue, E> {
                Ok(AnyValue(Some(SecretString::new(v.to_owned()))))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<AnyValue, E> {
                Ok(AnyValue(Some(SecretString::new(v))))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<AnyValue, E> {
                Ok(AnyValue(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<AnyValue, E> {
                Ok(AnyValue(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<AnyValue, E> {
                Ok(AnyValue(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<AnyValue, E> {
                Ok(AnyValue(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<AnyValue, E> {
                Ok(AnyValue(None))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<AnyValue, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(AnyValue(None))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<AnyValue, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(AnyValue(None))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[cfg(feature = "aws-secrets")]
/// The field `key` of the JSON object `text`; `Err` when `text` is not one JSON object, or
/// names `key` twice.
pub(crate) fn field_of(text: &str, key: &str) -> Result<Field, ()> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    FieldOf(key)
        .deserialize(&mut deserializer)
        .and_then(|field| deserializer.end().map(|()| field))
        .map_err(|_| ())
}
