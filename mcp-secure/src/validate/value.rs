//! A JSON value as a serde `Deserializer` whose error is a [`ParseError`]: what an argument's
//! value is parsed through, so that a type's `Deserialize` reports its fault through the
//! `de::Error` hooks as a kind (serde_json's own value deserializer would turn it into a
//! message). It reads values as serde_json's does: the same number, option and enum forms.

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, Unexpected, VariantAccess,
    Visitor,
    value::{MapDeserializer, SeqDeserializer},
};
use serde_json::{Map, Number, Value};

use super::fault::ParseError;

/// `value`, to be deserialized by value (strings are moved, not copied).
pub(crate) struct ValueDeserializer(pub(crate) Value);

impl<'de> IntoDeserializer<'de, ParseError> for ValueDeserializer {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

fn visit_number<'de, V: Visitor<'de>>(n: Number, visitor: V) -> Result<V::Value, ParseError> {
    if let Some(u) = n.as_u64() {
        visitor.visit_u64(u)
    } else if let Some(i) = n.as_i64() {
        visitor.visit_i64(i)
    } else {
        // Without serde_json's `arbitrary_precision`, a number is a u64, an i64 or an f64.
        visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
    }
}

fn visit_array<'de, V: Visitor<'de>>(
    items: Vec<Value>,
    visitor: V,
) -> Result<V::Value, ParseError> {
    let mut seq = SeqDeserializer::new(items.into_iter().map(ValueDeserializer));
    let value = visitor.visit_seq(&mut seq)?;
    seq.end()?;
    Ok(value)
}

fn visit_object<'de, V: Visitor<'de>>(
    object: Map<String, Value>,
    visitor: V,
) -> Result<V::Value, ParseError> {
    let mut map = MapDeserializer::new(object.into_iter().map(|(k, v)| (k, ValueDeserializer(v))));
    let value = visitor.visit_map(&mut map)?;
    map.end()?;
    Ok(value)
}

/// What `value` is, for an `invalid_type` error: its JSON type only.
pub(crate) fn unexpected(value: &Value) -> Unexpected<'static> {
    match value {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(n) if n.is_f64() => Unexpected::Float(0.0),
        Value::Number(_) => Unexpected::Unsigned(0),
        Value::String(_) => Unexpected::Str(""),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

impl<'de> Deserializer<'de> for ValueDeserializer {
    type Error = ParseError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParseError> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Number(n) => visit_number(n, visitor),
            Value::String(s) => visitor.visit_string(s),
            Value::Array(items) => visit_array(items, visitor),
            Value::Object(object) => visit_object(object, visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParseError> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, ParseError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ParseError> {
        match self.0 {
            Value::String(variant) => visitor.visit_enum(Enum {
                variant,
                value: None,
            }),
            Value::Object(object) if object.len() == 1 => {
                let Some((variant, value)) = object.into_iter().next() else {
                    unreachable!("an object of one entry has one entry")
                };
                visitor.visit_enum(Enum {
                    variant,
                    value: Some(value),
                })
            }
            Value::Object(_) => Err(de::Error::invalid_value(
                Unexpected::Map,
                &"map with a single key",
            )),
            other => Err(de::Error::invalid_type(
                unexpected(&other),
                &"string or map",
            )),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParseError> {
        drop(self);
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct identifier
    }
}

/// An enum's variant (a string, or the key of a one-entry object) and its value.
struct Enum {
    variant: String,
    value: Option<Value>,
}

impl<'de> EnumAccess<'de> for Enum {
    type Error = ParseError;
    type Variant = Variant;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Variant), ParseError> {
        let variant = seed.deserialize(self.variant.into_deserializer())?;
        Ok((variant, Variant(self.value)))
    }
}

/// The value of an enum's variant, if it has one.
struct Variant(Option<Value>);

impl<'de> VariantAccess<'de> for Variant {
    type Error = ParseError;

    fn unit_variant(self) -> Result<(), ParseError> {
        match self.0 {
            None | Some(Value::Null) => Ok(()),
            Some(other) => Err(de::Error::invalid_type(unexpected(&other), &"unit variant")),
        }
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<S::Value, ParseError> {
        match self.0 {
            Some(value) => seed.deserialize(ValueDeserializer(value)),
            None => Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"newtype variant",
            )),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, ParseError> {
        match self.0 {
            Some(Value::Array(items)) => visit_array(items, visitor),
            Some(other) => Err(de::Error::invalid_type(
                unexpected(&other),
                &"tuple variant",
            )),
            None => Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"tuple variant",
            )),
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ParseError> {
        match self.0 {
            Some(Value::Object(object)) => visit_object(object, visitor),
            Some(Value::Array(items)) => visit_array(items, visitor),
            Some(other) => Err(de::Error::invalid_type(
                unexpected(&other),
                &"struct variant",
            )),
            None => Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"struct variant",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;
    use serde_json::json;

    use super::*;
    use crate::validate::fault::FaultKind;

    #[derive(Deserialize, Debug, PartialEq)]
    enum Shape {
        Dot,
        Circle(f64),
        Rect { w: u32, h: u32 },
        Pair(i8, i8),
    }

    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Everything {
        a: Option<u8>,
        b: Vec<String>,
        c: BTreeMap<String, i64>,
        d: (bool, char),
        e: Vec<Shape>,
        f: f32,
        #[serde(default)]
        g: Option<Box<Everything>>,
    }

    /// What serde_json's own value deserializer accepts, this one accepts with the same
    /// result; what it refuses, this one refuses.
    #[test]
    fn reads_values_as_serde_json_does() {
        let cases = [
            json!({"a": 1, "b": ["x"], "c": {"k": -3}, "d": [true, "c"], "e": ["Dot", {"Circle": 1.5}, {"Rect": {"w": 1, "h": 2}}, {"Pair": [1, -1]}], "f": 2}),
            json!({"a": null, "b": [], "c": {}, "d": [false, "x"], "e": [], "f": 0.5, "g": {"a": 3, "b": [], "c": {}, "d": [true, "y"], "e": [], "f": 1}}),
            json!({"a": 300, "b": [], "c": {}, "d": [true, "c"], "e": [], "f": 1}),
            json!({"a": -1, "b": [], "c": {}, "d": [true, "c"], "e": [], "f": 1}),
            json!({"a": 1, "b": [1], "c": {}, "d": [true, "c"], "e": [], "f": 1}),
            json!({"a": 1, "b": [], "c": {}, "d": [true, "cc"], "e": [], "f": 1}),
            json!({"a": 1, "b": [], "c": {}, "d": [true], "e": [], "f": 1}),
            json!({"a": 1, "b": [], "c": {}, "d": [true, "c", 1], "e": [], "f": 1}),
            json!({"a": 1, "b": [], "c": {}, "d": [true, "c"], "e": ["Square"], "f": 1}),
            json!({"a": 1, "b": [], "c": {}, "d": [true, "c"], "e": [{"Dot": 1}], "f": 1}),
            json!({"a": 1, "b": [], "c": {}, "d": [true, "c"], "e": [{"Dot": null, "Circle": 1}], "f": 1}),
            json!({"a": 1, "b": [], "c": {}, "d": [true, "c"], "e": [], "f": "1"}),
            json!({"a": 1, "b": [], "c": {}, "d": [true, "c"], "e": [], "f": 1, "z": 0}),
            json!({"b": [], "c": {}, "d": [true, "c"], "e": []}),
        ];
        for value in cases {
            let ours = Everything::deserialize(ValueDeserializer(value.clone()));
            let theirs = Everything::deserialize(value.clone());
            match (ours, theirs) {
                (Ok(ours), Ok(theirs)) => assert_eq!(ours, theirs, "{value}"),
                (Err(_), Err(_)) => {}
                (ours, theirs) => panic!("{value}: ours {ours:?}, serde_json's {theirs:?}"),
            }
        }
    }

    /// Faults arrive as kinds, through serde's hooks.
    #[test]
    fn faults_are_kinds() {
        let kind = |value: Value| {
            Everything::deserialize(ValueDeserializer(value))
                .unwrap_err()
                .kind()
                .clone()
        };
        assert_eq!(
            kind(json!({"b": [], "c": {}, "d": [true, "c"], "e": []})),
            FaultKind::Missing("f")
        );
        assert!(matches!(
            kind(json!({"a": "x", "b": [], "c": {}, "d": [true, "c"], "e": [], "f": 1})),
            FaultKind::InvalidType {
                unexpected: "string",
                ..
            }
        ));
        assert!(matches!(
            kind(json!({"a": 300, "b": [], "c": {}, "d": [true, "c"], "e": [], "f": 1})),
            FaultKind::InvalidValue {
                unexpected: "integer",
                ..
            }
        ));
        assert!(matches!(
            kind(json!({"a": 1, "b": [], "c": {}, "d": [true, "c"], "e": ["Square"], "f": 1})),
            FaultKind::UnknownVariant { .. }
        ));
        assert!(matches!(
            kind(json!({"a": 1, "b": [], "c": {}, "d": [true], "e": [], "f": 1})),
            FaultKind::InvalidLength { length: 1, .. }
        ));
        assert!(matches!(
            kind(json!({"a": 1, "b": [], "c": {}, "d": [true, "c"], "e": [], "f": 1, "z": 0})),
            FaultKind::Unknown { .. }
        ));
    }
}
