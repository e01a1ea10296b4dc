//! The entities and context of one decision, built from checked values: the caller, the row,
//! and the tool's validated arguments typed by its schema.

use std::collections::{HashMap, HashSet};

use cedar_policy::{Context, Entity, EntityId, EntityTypeName, EntityUid, RestrictedExpression};
use rmcp::model::JsonObject;
use serde_json::Value;

use super::{
    PolicyResource,
    schema::{Field, FieldType, dirs_name},
};
use crate::auth::{Attribute, Principal};

fn text(s: &str) -> RestrictedExpression {
    RestrictedExpression::new_string(s.to_owned())
}

fn attribute(value: &Attribute) -> RestrictedExpression {
    match value {
        Attribute::Text(s) => text(s),
        Attribute::Number(n) => RestrictedExpression::new_long(*n),
        Attribute::Flag(b) => RestrictedExpression::new_bool(*b),
        Attribute::Texts(items) => RestrictedExpression::new_set(items.iter().map(|s| text(s))),
    }
}

/// The caller as a `Caller` entity: its built-in attributes and those it carries.
pub(super) fn caller_entity(ty: &EntityTypeName, caller: &Principal) -> Option<Entity> {
    let uid = EntityUid::from_type_name_and_id(ty.clone(), EntityId::new(caller.id()));
    // The carried attributes first: a built-in written after them always wins (their names
    // are refused by `check_attribute`; this holds even if that check were bypassed).
    let mut attrs: HashMap<String, RestrictedExpression> = caller
        .attributes()
        .map(|(name, value)| (name.to_owned(), attribute(value)))
        .collect();
    for name in crate::auth::BUILT_IN_ATTRIBUTES {
        attrs.remove(*name);
    }
    attrs.insert("id".to_owned(), text(caller.id()));
    attrs.insert("subject".to_owned(), text(caller.subject()));
    attrs.insert("issuer".to_owned(), text(caller.issuer()));
    attrs.insert("tenant_key".to_owned(), text(&caller.tenant_key()));
    attrs.insert(
        "scopes".to_owned(),
        RestrictedExpression::new_set(caller.scopes().iter().map(|s| text(s))),
    );
    if let Some(tenant) = caller.tenant() {
        attrs.insert("tenant".to_owned(), text(tenant));
    }
    if let Some(client) = caller.client_id() {
        attrs.insert("client_id".to_owned(), text(client));
    }
    Entity::new(uid, attrs, HashSet::new()).ok()
}

/// A row as an entity of its declared type.
pub(super) fn resource_entity<R: PolicyResource>(uid: EntityUid, row: &R) -> Option<Entity> {
    let attrs = row
        .attributes()
        .iter()
        .map(|(name, value)| ((*name).to_owned(), attribute(value)))
        .collect();
    Entity::new(uid, attrs, HashSet::new()).ok()
}

/// The context of a call: each argument the schema types, as that type; `None` when an
/// argument does not have its type (validation let through what the schema does not say).
pub(super) fn context(fields: &[Field], arguments: &JsonObject) -> Option<Context> {
    Context::from_pairs(record(fields, arguments)?).ok()
}

fn record(fields: &[Field], object: &JsonObject) -> Option<Vec<(String, RestrictedExpression)>> {
    let mut pairs = Vec::with_capacity(fields.len());
    for field in fields {
        match object.get(&field.name) {
            None | Some(Value::Null) if !field.required => {}
            None | Some(Value::Null) => return None,
            Some(Value::Array(items)) if field.path => {
                let opened = items
                    .iter()
                    .map(|item| Some(text(&opened(item.as_str()?).join("/"))))
                    .collect::<Option<Vec<_>>>()?;
                pairs.push((field.name.clone(), RestrictedExpression::new_set(opened)));
            }
            Some(value) if field.path => {
                let segments = opened(value.as_str()?);
                let dirs = (1..segments.len()).map(|n| text(&segments[..n].join("/")));
                pairs.push((dirs_name(&field.name), RestrictedExpression::new_set(dirs)));
                pairs.push((field.name.clone(), text(&segments.join("/"))));
            }
            Some(value) => pairs.push((field.name.clone(), expression(&field.ty, value)?)),
        }
    }
    Some(pairs)
}

/// A path's segments as the open resolves it: `./a//b` is `a/b`, so that no spelling of a path
/// slips past a rule on its text or directories.
fn opened(path: &str) -> Vec<&str> {
    path.split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect()
}

fn expression(ty: &FieldType, value: &Value) -> Option<RestrictedExpression> {
    Some(match (ty, value) {
        (FieldType::String, Value::String(s)) => text(s),
        (FieldType::Long, Value::Number(n)) => RestrictedExpression::new_long(n.as_i64()?),
        (FieldType::Bool, Value::Bool(b)) => RestrictedExpression::new_bool(*b),
        (FieldType::Set(item), Value::Array(items)) => RestrictedExpression::new_set(
            items
                .iter()
                .map(|i| expression(item, i))
                .collect::<Option<Vec<_>>>()?,
        ),
        (FieldType::Record(fields), Value::Object(object)) => {
            RestrictedExpression::new_record(record(fields, object)?).ok()?
        }
        _ => return None,
    })
}
