//! Why a tool's arguments did not parse, as a value: the kind of fault, recorded through
//! serde's `de::Error` hooks (`missing_field`, `invalid_type`, …) rather than read back out of
//! a message, and the path of the field at fault. What the caller then reads (rule, field,
//! message) is derived from the kind, and never holds the value that was sent.

use std::fmt;

use serde::de::{self, Expected, Unexpected};

/// Why arguments did not fit, and where (`""` for the arguments object).
///
/// Boxed, as serde_json's own error is: every value parsed returns a `Result` with this error
/// in it, and one pointer keeps those results as small as serde_json's, so they are cheap to
/// move between the parse's frames (BENCHMARKS.md, "The guard alone").
#[derive(Debug)]
pub struct ParseError(Box<Fault>);

#[derive(Debug)]
struct Fault {
    path: String,
    kind: FaultKind,
}

/// What went wrong, without the value that was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FaultKind {
    /// A required field was not sent.
    Missing(&'static str),
    /// A field the input does not have; `expected` lists those it has.
    Unknown {
        field: String,
        expected: &'static [&'static str],
    },
    /// A field sent twice.
    Duplicate(String),
    /// A value outside an enumeration; `expected` lists the allowed ones.
    UnknownVariant { expected: &'static [&'static str] },
    /// A value of the wrong JSON type (`unexpected` names the type that was sent).
    InvalidType {
        unexpected: &'static str,
        expected: String,
    },
    /// A value of the right type that the target type cannot hold (`300` for a `u8`).
    InvalidValue {
        unexpected: &'static str,
        expected: String,
    },
    /// A list of the wrong length.
    InvalidLength { length: usize, expected: String },
    /// A type's own `Deserialize` refused the value, with this message.
    Other(String),
}

/// What a caller reads of a [`ParseError`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Described {
    pub(crate) rule: &'static str,
    pub(crate) field: String,
    pub(crate) message: String,
}

/// At most this many characters of a name the caller chose (an unknown field, a map key) are
/// repeated back.
const NAME_MAX: usize = 64;

impl ParseError {
    pub(crate) fn new(kind: FaultKind) -> Self {
        Self(Box::new(Fault {
            path: String::new(),
            kind,
        }))
    }

    /// This error, found within the value at `outer` (`tags`, `[2]`, `address`).
    #[cold]
    pub(crate) fn within(mut self, outer: &str) -> Self {
        self.0.path = join(outer, &self.0.path);
        self
    }

    /// What went wrong.
    #[cfg(test)]
    pub(crate) fn kind(&self) -> &FaultKind {
        &self.0.kind
    }

    /// The rule, field and message a caller reads: a missing or unknown field is named by its
    /// own path, not its object's.
    pub(crate) fn describe(&self) -> Described {
        let path = self.0.path.as_str();
        let (rule, field, message) = match &self.0.kind {
            FaultKind::Missing(name) => ("required", join(path, name), "is required".to_owned()),
            FaultKind::Unknown { field, expected } => (
                "unknown_field",
                join(path, &shorten(field)),
                format!(
                    "is not a field of this input (expected {})",
                    one_of(expected, "no other fields")
                ),
            ),
            FaultKind::Duplicate(name) => (
                "duplicate_field",
                join(path, &shorten(name)),
                "appears more than once".to_owned(),
            ),
            FaultKind::UnknownVariant { expected } => (
                "one_of",
                path.to_owned(),
                format!(
                    "is not an allowed value (expected {})",
                    one_of(expected, "no values")
                ),
            ),
            FaultKind::InvalidType {
                unexpected,
                expected,
            } => (
                "type",
                path.to_owned(),
                format!("invalid type: {unexpected}, expected {expected}"),
            ),
            FaultKind::InvalidValue {
                unexpected,
                expected,
            } => (
                "type",
                path.to_owned(),
                format!("invalid value: {unexpected}, expected {expected}"),
            ),
            FaultKind::InvalidLength { length, expected } => (
                "type",
                path.to_owned(),
                format!("invalid length {length}, expected {expected}"),
            ),
            FaultKind::Other(message) => {
                ("type", path.to_owned(), message.chars().take(200).collect())
            }
        };
        Described {
            rule,
            field,
            message,
        }
    }
}

/// `field: message`, what a caller deserializing an input with serde directly reads.
impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Described { field, message, .. } = self.describe();
        if field.is_empty() {
            f.write_str(&message)
        } else {
            write!(f, "{field}: {message}")
        }
    }
}

impl std::error::Error for ParseError {}

impl de::Error for ParseError {
    #[cold]
    fn custom<T: fmt::Display>(message: T) -> Self {
        Self::new(FaultKind::Other(message.to_string()))
    }

    #[cold]
    fn invalid_type(unexpected: Unexpected<'_>, expected: &dyn Expected) -> Self {
        Self::new(FaultKind::InvalidType {
            unexpected: kind_of(&unexpected),
            expected: expected.to_string(),
        })
    }

    #[cold]
    fn invalid_value(unexpected: Unexpected<'_>, expected: &dyn Expected) -> Self {
        Self::new(FaultKind::InvalidValue {
            unexpected: kind_of(&unexpected),
            expected: expected.to_string(),
        })
    }

    #[cold]
    fn invalid_length(length: usize, expected: &dyn Expected) -> Self {
        Self::new(FaultKind::InvalidLength {
            length,
            expected: expected.to_string(),
        })
    }

    #[cold]
    fn unknown_variant(_: &str, expected: &'static [&'static str]) -> Self {
        Self::new(FaultKind::UnknownVariant { expected })
    }

    #[cold]
    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        Self::new(FaultKind::Unknown {
            field: field.to_owned(),
            expected,
        })
    }

    #[cold]
    fn missing_field(field: &'static str) -> Self {
        Self::new(FaultKind::Missing(field))
    }

    #[cold]
    fn duplicate_field(field: &'static str) -> Self {
        Self::new(FaultKind::Duplicate(field.to_owned()))
    }
}

/// The JSON type of what was sent, never its value.
fn kind_of(unexpected: &Unexpected<'_>) -> &'static str {
    match unexpected {
        Unexpected::Bool(_) => "boolean",
        Unexpected::Unsigned(_) | Unexpected::Signed(_) => "integer",
        Unexpected::Float(_) => "number",
        Unexpected::Char(_) => "character",
        Unexpected::Str(_) => "string",
        Unexpected::Unit => "null",
        Unexpected::Seq => "sequence",
        Unexpected::Map => "map",
        _ => "value",
    }
}

/// `` `a` ``, `` `a` or `b` ``, `` one of `a`, `b`, `c` ``, as serde words its lists.
fn one_of(names: &[&str], none: &str) -> String {
    match names {
        [] => none.to_owned(),
        [one] => format!("`{one}`"),
        [a, b] => format!("`{a}` or `{b}`"),
        _ => {
            let quoted: Vec<_> = names.iter().map(|n| format!("`{n}`")).collect();
            format!("one of {}", quoted.join(", "))
        }
    }
}

/// A name the caller chose, cut to [`NAME_MAX`] characters.
pub(crate) fn shorten(name: &str) -> String {
    name.chars().take(NAME_MAX).collect()
}

/// The path `outer` joined with `inner`, a path within it (`.` or `""` for `outer` itself).
pub(crate) fn join(outer: &str, inner: &str) -> String {
    match inner {
        "." | "" => outer.to_owned(),
        nested if outer.is_empty() => nested.trim_start_matches('.').to_owned(),
        nested if nested.starts_with('[') => format!("{outer}{nested}"),
        nested => format!("{outer}.{nested}"),
    }
}

#[cfg(test)]
mod tests {
    use serde::de::Error as _;

    use super::*;

    fn described(error: ParseError) -> (&'static str, String, String) {
        let Described {
            rule,
            field,
            message,
        } = error.describe();
        (rule, field, message)
    }

    /// Each kind reads as its rule, names the field at fault, and holds no value that was sent.
    #[test]
    fn every_kind_names_its_rule_and_field_without_the_value() {
        assert_eq!(
            described(ParseError::missing_field("title")),
            ("required", "title".into(), "is required".into())
        );
        assert_eq!(
            described(ParseError::missing_field("city").within("address")),
            ("required", "address.city".into(), "is required".into())
        );
        assert_eq!(
            described(ParseError::unknown_field("admin", &["title", "body"])),
            (
                "unknown_field",
                "admin".into(),
                "is not a field of this input (expected `title` or `body`)".into()
            )
        );
        assert_eq!(
            described(ParseError::unknown_field("x", &["a", "b", "c"]).within("[1]")),
            (
                "unknown_field",
                "[1].x".into(),
                "is not a field of this input (expected one of `a`, `b`, `c`)".into()
            )
        );
        assert_eq!(
            described(ParseError::unknown_field(&"y".repeat(500), &[])).1,
            "y".repeat(NAME_MAX)
        );
        assert_eq!(
            described(
                ParseError::invalid_type(Unexpected::Str("hunter2"), &"u32").within("tags[2]")
            ),
            (
                "type",
                "tags[2]".into(),
                "invalid type: string, expected u32".into()
            )
        );
        assert_eq!(
            described(ParseError::invalid_value(Unexpected::Float(1.5), &"u8")).2,
            "invalid value: number, expected u8"
        );
        assert_eq!(
            described(ParseError::unknown_variant(
                "hunter2",
                &["title", "created"]
            )),
            (
                "one_of",
                String::new(),
                "is not an allowed value (expected `title` or `created`)".into()
            )
        );
        assert_eq!(
            described(ParseError::invalid_length(3, &"a tuple of size 2")).2,
            "invalid length 3, expected a tuple of size 2"
        );
        assert_eq!(
            described(ParseError::duplicate_field("city")).0,
            "duplicate_field"
        );
        assert_eq!(described(ParseError::custom("x".repeat(500))).2.len(), 200);
    }

    #[test]
    fn paths_join_fields_and_indices() {
        assert_eq!(join("stops", "[1].at"), "stops[1].at");
        assert_eq!(join("home", "at.lat"), "home.at.lat");
        assert_eq!(join("", "[1]"), "[1]");
        assert_eq!(join("", ".a"), "a");
        assert_eq!(join("tags", "."), "tags");
    }
}
