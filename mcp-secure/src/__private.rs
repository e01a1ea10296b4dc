//! Paths for generated code. Not public API: anything here may change in any release.

pub use ::regex;
pub use ::rmcp;
pub use ::schemars;
pub use ::serde;
pub use ::serde_json;

pub use crate::html::__private as html;
pub use crate::tool::tools::ToolListing;
pub use crate::validate::path::check_path;
pub use crate::{
    tool::guard::{Guarded, Outcome, Returned, ToolInput, ViaAny, ViaToolError, call, tool_attr},
    validate::{
        FieldPath, InputField, RootsOf, SecureInput, ValidationErrors, ViaInputField, ViaNothing,
        rules::{self, NO_CONTROL_PATTERN},
    },
};
pub use mcp_secure_macros::__undeclared_scope as undeclared_scope;

/// What `#[derive(SecureInput)]`'s parse of a tool's arguments calls.
pub mod arguments {
    pub use crate::validate::arguments::{
        Argument, Nested, Parse, ParseError, ViaNested, ViaSerde, deserialize, field, missing,
        object, unknown,
    };
}

/// The type generated code boxes a tool call's future into.
pub type BoxFuture<'a, T> =
    ::core::pin::Pin<::std::boxed::Box<dyn ::core::future::Future<Output = T> + Send + 'a>>;

/// A lazily compiled regex, for `regex = "..."` rules; the pattern was checked at compile time.
pub struct LazyRegex {
    pattern: &'static str,
    cell: ::std::sync::OnceLock<Option<::regex::Regex>>,
}

impl LazyRegex {
    /// A regex compiled on first use.
    pub const fn new(pattern: &'static str) -> Self {
        Self {
            pattern,
            cell: ::std::sync::OnceLock::new(),
        }
    }

    /// The compiled regex; `None` only if it exceeds the regex crate's size limits.
    pub fn get(&self) -> Option<&::regex::Regex> {
        self.cell
            .get_or_init(|| match ::regex::Regex::new(self.pattern) {
                Ok(r) => Some(r),
                Err(e) => {
                    ::tracing::error!(target: "mcp_secure", pattern = self.pattern, error = %e, "regex rule cannot be built; values are refused");
                    None
                }
            })
            .as_ref()
    }

    /// The pattern as written.
    pub fn pattern(&self) -> &'static str {
        self.pattern
    }
}

/// Schema surgery for the constraints of `#[mcp(...)]` rules.
pub mod schema {
    use ::schemars::Schema;
    use ::serde_json::{Map, Value};

    /// The schema as a JSON object.
    pub fn object(schema: &mut Schema) -> &mut Map<String, Value> {
        schema.ensure_object()
    }

    /// Sets a keyword.
    pub fn set(object: &mut Map<String, Value>, key: &str, value: impl Into<Value>) {
        object.insert(key.to_owned(), value.into());
    }

    /// Adds a `pattern`; a second one goes into `allOf` so that both apply.
    pub fn pattern(object: &mut Map<String, Value>, pattern: &str) {
        if object.contains_key("pattern") {
            let all = object
                .entry("allOf")
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(all) = all {
                all.push(::serde_json::json!({ "pattern": pattern }));
            }
        } else {
            set(object, "pattern", pattern);
        }
    }

    /// Restricts to the listed strings (and `null` when the field is optional).
    pub fn one_of(object: &mut Map<String, Value>, values: &[&str], nullable: bool) {
        let mut list: Vec<Value> = values.iter().map(|v| Value::from(*v)).collect();
        if nullable {
            list.push(Value::Null);
        }
        set(object, "enum", list);
    }

    /// The element schema of an array schema.
    pub fn items(object: &mut Map<String, Value>) -> &mut Map<String, Value> {
        let items = object
            .entry("items")
            .or_insert_with(|| Value::Object(Map::new()));
        if !items.is_object() {
            *items = Value::Object(Map::new());
        }
        match items {
            Value::Object(map) => map,
            _ => unreachable!("made an object above"),
        }
    }

    /// The root object schema of a `SecureInput`: properties, required names, no others.
    pub fn input_object(
        properties: Vec<(&'static str, Schema)>,
        required: &[&str],
        description: Option<&str>,
    ) -> Schema {
        let mut props = Map::new();
        for (name, schema) in properties {
            props.insert(name.to_owned(), schema.to_value());
        }
        let mut object = Map::new();
        object.insert("type".into(), "object".into());
        if let Some(d) = description {
            object.insert("description".into(), d.into());
        }
        object.insert("properties".into(), Value::Object(props));
        if !required.is_empty() {
            object.insert(
                "required".into(),
                required.iter().map(|r| Value::from(*r)).collect(),
            );
        }
        object.insert("additionalProperties".into(), false.into());
        Schema::from(object)
    }

    /// Adds a description to a property schema (`$ref` siblings are allowed in 2020-12).
    pub fn describe(schema: &mut Schema, description: &str) {
        schema
            .ensure_object()
            .insert("description".into(), description.into());
    }
}

/// What `#[derive(FromRow)]` generates code against: reading rows, nothing that takes SQL.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub mod sqlx {
    pub use ::sqlx::{ColumnIndex, Decode, Error, FromRow, Row, Type, types::Json};
}

/// What `sql!` and `#[derive(SqlIdent)]` generate code against.
pub mod sql {
    pub use crate::sql::{
        owner::{all_owners, owner, owner_arg, tenant, tenant_arg},
        template::{
            DerivedSqlIdent, Shape, SqlArg, SqlSlot, SqlTemplate, Template, arg, assemble,
            governed, ident, list, param, template,
        },
    };
}
