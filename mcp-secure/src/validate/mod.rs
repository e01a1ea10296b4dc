//! Validated inputs: the [`SecureInput`] trait that `#[derive(SecureInput)]` implements, the
//! rules behind `#[mcp(...)]`, [`SafePath`], and the errors a caller sees.
//!
//! ```
//! use mcp_secure::prelude::*;
//!
//! #[derive(SecureInput)]
//! pub struct CreateNote {
//!     /// The note's title.
//!     #[mcp(length(min = 1, max = 200), no_control)]
//!     pub title: String,
//!     #[mcp(items(max = 10), each(regex = r"^[a-z0-9-]{1,32}$"))]
//!     pub tags: Vec<String>,
//! }
//!
//! let bad: CreateNote = serde_json::from_str(r#"{"title": "", "tags": ["ok", "Not OK"]}"#).unwrap();
//! let errors = bad.validate().unwrap_err();
//! let fields: Vec<_> = errors.violations().iter().map(|v| (v.field.as_str(), v.rule)).collect();
//! assert_eq!(fields, [("title", "length"), ("tags[1]", "regex")]);
//!
//! // Unknown fields are refused while parsing.
//! assert!(serde_json::from_str::<CreateNote>(r#"{"title": "t", "tags": [], "admin": true}"#).is_err());
//! ```

mod arguments;
mod error;
pub(crate) mod path;
pub mod rules;

pub use error::{FieldPath, ValidationErrors, Violation};
pub use path::{PATH_MAX_LENGTH, SafePath};

use serde::de::DeserializeOwned;

/// An input type whose every field is checked: what `#[derive(SecureInput)]` implements.
///
/// Deserializing refuses unknown and duplicate fields; [`validate`](Self::validate) then runs
/// every rule and reports every failure, not only the first.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a validated input",
    label = "a tool's input must implement `SecureInput`",
    note = "add `#[derive(mcp_secure::SecureInput)]` to `{Self}`, or declare the parameters inline with `#[mcp(...)]` rules"
)]
pub trait SecureInput: DeserializeOwned + schemars::JsonSchema + Send + 'static {
    /// Runs every rule, recording failures below `path`.
    fn validate_at(&self, path: &FieldPath<'_>, errors: &mut ValidationErrors);

    /// Runs every rule; `Err` lists every failure.
    fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        self.validate_at(&FieldPath::Root, &mut errors);
        errors.into_result()
    }
}

/// A type that may be a field of a [`SecureInput`]: scalars, strings, [`SafePath`], lists and
/// options of these, and other `SecureInput` types (validated recursively).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a field of a validated input",
    label = "mcp-secure does not know how to check this field",
    note = "derive `SecureInput` on `{Self}` so its fields are checked, or mark the field `#[mcp(unbounded)]` to accept it unchecked"
)]
pub trait InputField {
    /// Validates what is inside the value (nested inputs); scalars have nothing to check.
    fn validate_field(&self, path: &FieldPath<'_>, errors: &mut ValidationErrors) {
        let _ = (path, errors);
    }
}

macro_rules! scalar_fields {
    ($($t:ty),*) => { $(impl InputField for $t {})* };
}
scalar_fields!(
    String, bool, char, i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64,
    SafePath
);

impl<T: InputField> InputField for Option<T> {
    fn validate_field(&self, path: &FieldPath<'_>, errors: &mut ValidationErrors) {
        if let Some(v) = self {
            v.validate_field(path, errors);
        }
    }
}

impl<T: InputField> InputField for Vec<T> {
    fn validate_field(&self, path: &FieldPath<'_>, errors: &mut ValidationErrors) {
        for (i, v) in self.iter().enumerate() {
            v.validate_field(&path.index(i), errors);
        }
    }
}

impl<T: InputField> InputField for Box<T> {
    fn validate_field(&self, path: &FieldPath<'_>, errors: &mut ValidationErrors) {
        (**self).validate_field(path, errors);
    }
}

/// Parses tool arguments into `I` and validates them.
///
/// A parse failure (wrong type, unknown, duplicate or missing field) is reported as one
/// violation with the field's path; a parsed input reports every failing rule. Values never
/// appear in the messages.
///
/// ```
/// use mcp_secure::prelude::*;
/// use mcp_secure::validate::parse_arguments;
///
/// #[derive(SecureInput)]
/// struct Get { #[mcp(range(min = 1, max = 100))] limit: u32 }
///
/// let args = serde_json::json!({"limit": "ten"});
/// let Err(err) = parse_arguments::<Get>(args.as_object().cloned()) else { panic!("must fail") };
/// assert_eq!(err.violations()[0].field, "limit");
/// assert_eq!(err.violations()[0].rule, "type");
/// assert_eq!(err.violations()[0].message, "invalid type: string, expected u32");
/// ```
pub fn parse_arguments<I: SecureInput>(
    arguments: Option<serde_json::Map<String, serde_json::Value>>,
) -> Result<I, ValidationErrors> {
    let arguments = arguments::Arguments(arguments.unwrap_or_default());
    let input = <I as serde::Deserialize>::deserialize(arguments).map_err(|e| {
        let mut errors = ValidationErrors::new();
        let fault = e.fault();
        let (rule, field, message) = describe_parse_error(&fault.path, &fault.message);
        errors.push_rendered(field, rule, message);
        errors
    })?;
    input.validate()?;
    Ok(input)
}

/// Turns a serde error into (rule, field path, message) without the submitted value.
fn describe_parse_error(path: &str, message: &str) -> (&'static str, String, String) {
    let path = if path == "." { "" } else { path };
    let join = |name: &str| {
        if path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    let quoted = |m: &str| {
        m.split('`')
            .nth(1)
            .map(|s| s.chars().take(64).collect::<String>())
    };
    if message.starts_with("missing field") {
        let name = quoted(message).unwrap_or_default();
        return ("required", join(&name), "is required".into());
    }
    if message.starts_with("unknown field") {
        let name = quoted(message).unwrap_or_default();
        let expected = message
            .split_once(", expected ")
            .map(|(_, e)| e)
            .unwrap_or("no other fields");
        let field = if path.ends_with(&name) {
            path.to_owned()
        } else {
            join(&name)
        };
        return (
            "unknown_field",
            field,
            format!("is not a field of this input (expected {expected})"),
        );
    }
    if message.starts_with("duplicate field") {
        let name = quoted(message).unwrap_or_default();
        let field = if path.ends_with(&name) {
            path.to_owned()
        } else {
            join(&name)
        };
        return ("duplicate_field", field, "appears more than once".into());
    }
    let rule = if message.starts_with("unknown variant") {
        "one_of"
    } else {
        "type"
    };
    (rule, path.to_owned(), strip_unexpected_value(message))
}

/// `invalid type: string "hunter2", expected u32` → `invalid type: string, expected u32`.
fn strip_unexpected_value(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            let (unexpected, expected) = rest.rsplit_once(", expected ").unwrap_or((rest, ""));
            let kind = match unexpected.split([' ', '`']).next().unwrap_or("") {
                "floating" => "number",
                "integer" => "integer",
                k @ ("string" | "boolean" | "map" | "sequence" | "null" | "unit" | "character") => {
                    k
                }
                _ => "value",
            };
            let kind = if unexpected == "null" { "null" } else { kind };
            return if expected.is_empty() {
                format!("{prefix}{kind}")
            } else {
                format!("{prefix}{kind}, expected {expected}")
            };
        }
    }
    if message.starts_with("unknown variant") {
        let expected = message
            .split_once(", expected ")
            .map(|(_, e)| e)
            .unwrap_or("a listed value");
        return format!("is not an allowed value (expected {expected})");
    }
    message.chars().take(200).collect()
}

impl ValidationErrors {
    fn push_rendered(&mut self, field: String, rule: &'static str, message: String) {
        self.push_violation(Violation {
            field,
            rule,
            message,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_do_not_repeat_values() {
        assert_eq!(
            strip_unexpected_value("invalid type: string \"hunter2\", expected u32"),
            "invalid type: string, expected u32"
        );
        assert_eq!(
            strip_unexpected_value("invalid type: integer `5`, expected a string"),
            "invalid type: integer, expected a string"
        );
        assert_eq!(
            strip_unexpected_value("invalid value: floating point `1.5`, expected u8"),
            "invalid value: number, expected u8"
        );
        assert_eq!(
            strip_unexpected_value("invalid type: null, expected a string"),
            "invalid type: null, expected a string"
        );
        assert_eq!(
            strip_unexpected_value("unknown variant `hunter2`, expected `title` or `created`"),
            "is not an allowed value (expected `title` or `created`)"
        );
    }

    #[derive(crate::SecureInput, Debug)]
    struct Address {
        #[mcp(length(min = 1, max = 50))]
        city: String,
        zip: u32,
    }

    #[derive(crate::SecureInput, Debug)]
    struct Person {
        #[mcp(length(min = 1, max = 50))]
        name: String,
        age: Option<u8>,
        #[mcp(items(max = 5), each(length(max = 10)))]
        tags: Vec<String>,
        address: Address,
        #[mcp(items(max = 5))]
        homes: Vec<Address>,
    }

    /// (rule, field, message) of the one violation parsing `arguments` gives.
    fn parse_failure(arguments: serde_json::Value) -> (&'static str, String, String) {
        let err = parse_arguments::<Person>(arguments.as_object().cloned()).unwrap_err();
        let [v] = err.violations() else {
            panic!("one violation expected: {err:?}")
        };
        (v.rule, v.field.clone(), v.message.clone())
    }

    #[test]
    fn arguments_parse_by_value_and_failures_name_the_field_at_any_depth() {
        let ok = serde_json::json!({"name": "Ada", "age": 36, "tags": ["a", "b"],
            "address": {"city": "London", "zip": 1}, "homes": [{"city": "Paris", "zip": 2}]});
        let person = parse_arguments::<Person>(ok.as_object().cloned()).unwrap();
        assert_eq!((person.name.as_str(), person.age), ("Ada", Some(36)));
        assert_eq!(person.tags, ["a", "b"]);
        assert_eq!(person.homes[0].city, "Paris");
        assert_eq!(person.address.zip, 1);

        let base = |patch: serde_json::Value| {
            let mut v = ok.clone();
            for (k, x) in patch.as_object().unwrap() {
                if x.is_null() {
                    v.as_object_mut().unwrap().remove(k);
                } else {
                    v[k] = x.clone();
                }
            }
            parse_failure(v)
        };
        let field = |(rule, field, _): (&'static str, String, String)| (rule, field);
        // Top level: wrong type, missing, unknown.
        assert_eq!(
            base(serde_json::json!({"name": 5})),
            (
                "type",
                "name".into(),
                "invalid type: integer, expected a string".into()
            )
        );
        assert_eq!(
            field(base(serde_json::json!({"age": 300}))),
            ("type", "age".into())
        );
        assert_eq!(
            field(base(serde_json::json!({"name": null}))),
            ("required", "name".into())
        );
        assert_eq!(
            field(base(serde_json::json!({"admin": true}))),
            ("unknown_field", "admin".into())
        );
        // Inside an array, an object, and an object in an array.
        assert_eq!(
            field(base(serde_json::json!({"tags": ["a", 7]}))),
            ("type", "tags[1]".into())
        );
        assert_eq!(
            field(base(serde_json::json!({"tags": "a"}))),
            ("type", "tags".into())
        );
        assert_eq!(
            field(base(
                serde_json::json!({"address": {"city": "x", "zip": "1"}})
            )),
            ("type", "address.zip".into())
        );
        assert_eq!(
            field(base(serde_json::json!({"address": {"city": "x"}}))),
            ("required", "address.zip".into())
        );
        assert_eq!(
            field(base(
                serde_json::json!({"address": {"city": "x", "zip": 1, "admin": 1}})
            )),
            ("unknown_field", "address.admin".into())
        );
        assert_eq!(
            field(base(
                serde_json::json!({"homes": [{"city": "x", "zip": 1}, {"city": 1, "zip": 1}]})
            )),
            ("type", "homes[1].city".into())
        );
        // The arguments themselves missing or empty.
        let err = parse_arguments::<Person>(None).unwrap_err();
        assert_eq!(err.violations()[0].rule, "required");
        // Rules still run on what parsed.
        let err = parse_arguments::<Person>(
            serde_json::json!({"name": "", "tags": [], "address": {"city": "", "zip": 1}, "homes": []})
                .as_object()
                .cloned(),
        )
        .unwrap_err();
        let fields: Vec<_> = err.violations().iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["name", "address.city"]);
    }

    #[test]
    fn parse_errors_name_the_field_and_rule() {
        assert_eq!(
            describe_parse_error(".", "missing field `title`"),
            ("required", "title".into(), "is required".into())
        );
        let (rule, field, _) = describe_parse_error("address", "missing field `city`");
        assert_eq!((rule, field.as_str()), ("required", "address.city"));
        let (rule, field, msg) =
            describe_parse_error("admin", "unknown field `admin`, expected `title` or `body`");
        assert_eq!((rule, field.as_str()), ("unknown_field", "admin"));
        assert_eq!(
            msg,
            "is not a field of this input (expected `title` or `body`)"
        );
        let (rule, field, _) =
            describe_parse_error("tags[2]", "invalid type: integer `3`, expected a string");
        assert_eq!((rule, field.as_str()), ("type", "tags[2]"));
    }
}
