//! The Cedar schema of a server: the caller (`Caller`) with its built-in and declared
//! attributes, one action per tool whose context is the tool's validated input (typed from the
//! input's JSON Schema), and the resource types a server declares for rows.

use serde_json::{Map, Value, json};

use crate::auth::{AttributeKind, Attributes};

/// The principal's entity type in policies.
pub const CALLER: &str = "Caller";
/// The entity type of the tool a call is to: the resource of a call's own check.
pub const TOOL: &str = "Tool";

/// A context field's type, as policies see it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FieldType {
    String,
    Long,
    Bool,
    Set(Box<FieldType>),
    Record(Vec<Field>),
}

/// One field of a tool's input, in its action's context.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Field {
    pub name: String,
    pub ty: FieldType,
    pub required: bool,
    /// A `SafePath` (its directories are in the context too, as `<name>_dirs`), or a list of
    /// them (each as opened; no directories: Cedar cannot say "each of").
    pub path: bool,
}

/// The fields of a tool input's JSON Schema a policy can name. A field of a type Cedar has no
/// value for (a fraction, free JSON, a choice of shapes), and a secret, are left out: a policy
/// naming one fails validation, as a policy naming a missing argument does.
pub(crate) fn fields(schema: &Map<String, Value>) -> Vec<Field> {
    let defs = schema.get("$defs").and_then(Value::as_object);
    record_fields(schema, defs, 0)
}

fn record_fields(
    schema: &Map<String, Value>,
    defs: Option<&Map<String, Value>>,
    depth: usize,
) -> Vec<Field> {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, property) in properties {
        // A field its own type parses (`#[mcp(unbounded)]` serde types, free JSON): the JSON
        // sent is not what the tool gets (aliases, defaults), so no policy decides on it.
        if property.get("x-mcp-secure-unbounded") == Some(&Value::Bool(true)) {
            continue;
        }
        // A secret (`SecretString`, `writeOnly`), alone or in a list, never reaches a policy.
        if holds_secret(property, defs, 0) {
            continue;
        }
        let Some(property) = resolve(property, defs) else {
            continue;
        };
        let (ty, nullable) = match field_type(property, defs, depth) {
            Some(found) => found,
            None => continue,
        };
        let is_path = |schema: &Map<String, Value>| {
            schema.get("pattern").and_then(Value::as_str)
                == Some(crate::validate::path::PATH_PATTERN)
        };
        // A `SafePath`, or a list of them.
        let path = is_path(property)
            || property
                .get("items")
                .and_then(|items| resolve(items, defs))
                .is_some_and(is_path);
        out.push(Field {
            name: name.clone(),
            ty,
            required: required.contains(&name.as_str()) && !nullable,
            path,
        });
    }
    out
}

/// Whether `schema` or anything in it (items, properties, choices, references) is
/// `writeOnly`.
fn holds_secret(schema: &Value, defs: Option<&Map<String, Value>>, depth: usize) -> bool {
    let Some(object) = resolve(schema, defs) else {
        return false;
    };
    if object.get("writeOnly") == Some(&Value::Bool(true)) {
        return true;
    }
    // Past this depth the field is left out anyway (`field_type`).
    if depth > 8 {
        return true;
    }
    let nested = |v: &Value| holds_secret(v, defs, depth + 1);
    object.get("items").is_some_and(nested)
        || ["anyOf", "oneOf", "allOf", "prefixItems"].iter().any(|k| {
            object
                .get(*k)
                .and_then(Value::as_array)
                .is_some_and(|choices| choices.iter().any(nested))
        })
        || object
            .get("properties")
            .and_then(Value::as_object)
            .is_some_and(|p| p.values().any(nested))
}

/// `$ref` followed into `$defs`.
fn resolve<'a>(
    schema: &'a Value,
    defs: Option<&'a Map<String, Value>>,
) -> Option<&'a Map<String, Value>> {
    let object = schema.as_object()?;
    match object.get("$ref").and_then(Value::as_str) {
        Some(reference) => defs?
            .get(reference.strip_prefix("#/$defs/")?)
            .and_then(Value::as_object),
        None => Some(object),
    }
}

/// The type of a property, and whether it may be null.
fn field_type(
    property: &Map<String, Value>,
    defs: Option<&Map<String, Value>>,
    depth: usize,
) -> Option<(FieldType, bool)> {
    // An `Option<Enum>` is `anyOf: [{$ref}, {type: null}]`.
    if let Some(Value::Array(choices)) = property.get("anyOf") {
        let (nulls, others): (Vec<_>, Vec<_>) = choices
            .iter()
            .partition(|c| c.get("type").and_then(Value::as_str) == Some("null"));
        if nulls.len() == 1 && others.len() == 1 {
            let inner = resolve(others[0], defs)?;
            return field_type(inner, defs, depth).map(|(ty, _)| (ty, true));
        }
        return None;
    }
    let (name, nullable) = match property.get("type") {
        Some(Value::String(t)) => (t.as_str(), false),
        Some(Value::Array(types)) => {
            let named: Vec<&str> = types.iter().filter_map(Value::as_str).collect();
            match named.as_slice() {
                [t, "null"] | ["null", t] => (*t, true),
                _ => return None,
            }
        }
        // A string enum (schemars writes `enum`, sometimes `oneOf` of `const`s, no `type`).
        _ if property.get("enum").is_some() => ("string", false),
        _ => return None,
    };
    let ty = match name {
        "string" => FieldType::String,
        "integer" => FieldType::Long,
        "boolean" => FieldType::Bool,
        "array" => {
            let items = resolve(property.get("items")?, defs)?;
            let (item, _) = field_type(items, defs, depth)?;
            FieldType::Set(Box::new(item))
        }
        // Nested inputs, a few levels deep (the validator's depth bound is the real limit).
        "object" if depth < 8 => FieldType::Record(record_fields(property, defs, depth + 1)),
        _ => return None,
    };
    Some((ty, nullable))
}

fn cedar_type(ty: &FieldType) -> Value {
    match ty {
        FieldType::String => json!({ "type": "String" }),
        FieldType::Long => json!({ "type": "Long" }),
        FieldType::Bool => json!({ "type": "Boolean" }),
        FieldType::Set(item) => json!({ "type": "Set", "element": cedar_type(item) }),
        FieldType::Record(fields) => record_type(fields),
    }
}

pub(crate) fn record_type(fields: &[Field]) -> Value {
    let mut attributes = Map::new();
    for f in fields {
        let mut ty = cedar_type(&f.ty);
        ty["required"] = json!(f.required);
        attributes.insert(f.name.clone(), ty);
        if f.path
            && f.ty == FieldType::String
            && !fields.iter().any(|g| g.name == dirs_name(&f.name))
        {
            attributes.insert(
                dirs_name(&f.name),
                json!({ "type": "Set", "element": { "type": "String" }, "required": f.required }),
            );
        }
    }
    json!({ "type": "Record", "attributes": attributes })
}

/// The context field holding the directories of the path field `name`.
pub(crate) fn dirs_name(name: &str) -> String {
    format!("{name}_dirs")
}

pub(crate) fn kind_type(kind: AttributeKind) -> Value {
    match kind {
        AttributeKind::Text => json!({ "type": "String" }),
        AttributeKind::Number => json!({ "type": "Long" }),
        AttributeKind::Flag => json!({ "type": "Boolean" }),
        AttributeKind::Texts => json!({ "type": "Set", "element": { "type": "String" } }),
    }
}

/// A resource type's schema entry: its attributes, each required.
pub(crate) fn resource_type(shape: &[(&str, AttributeKind)]) -> Value {
    let attributes: Map<String, Value> = shape
        .iter()
        .map(|(name, kind)| ((*name).to_owned(), kind_type(*kind)))
        .collect();
    json!({ "shape": { "type": "Record", "attributes": attributes } })
}

/// The whole schema, in Cedar's JSON schema format (empty namespace).
pub(crate) fn schema(
    attributes: &Attributes,
    actions: &[(String, Vec<Field>)],
    resources: &[(&'static str, &'static [(&'static str, AttributeKind)])],
) -> Value {
    let mut caller = Map::new();
    for name in ["id", "subject", "issuer", "tenant_key"] {
        caller.insert(name.into(), json!({ "type": "String" }));
    }
    caller.insert(
        "scopes".into(),
        json!({ "type": "Set", "element": { "type": "String" } }),
    );
    for name in ["tenant", "client_id"] {
        caller.insert(name.into(), json!({ "type": "String", "required": false }));
    }
    for (name, kind) in attributes.iter() {
        let mut ty = kind_type(kind);
        ty["required"] = json!(false);
        caller.insert(name.to_owned(), ty);
    }
    let mut entity_types = Map::new();
    entity_types.insert(
        CALLER.into(),
        json!({ "shape": { "type": "Record", "attributes": caller } }),
    );
    entity_types.insert(TOOL.into(), json!({}));
    let mut resource_types = vec![json!(TOOL)];
    for (name, shape) in resources {
        entity_types.insert((*name).to_owned(), resource_type(shape));
        resource_types.push(json!(name));
    }
    let actions: Map<String, Value> = actions
        .iter()
        .map(|(tool, fields)| {
            let applies = json!({
                "principalTypes": [CALLER],
                "resourceTypes": resource_types,
                "context": record_type(fields),
            });
            (tool.clone(), json!({ "appliesTo": applies }))
        })
        .collect();
    json!({ "": { "entityTypes": entity_types, "actions": actions } })
}
