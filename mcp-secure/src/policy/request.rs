//! The entities and context of one decision as Cedar's, for its authorizer (a policy set the
//! evaluator of `evaluate.rs` does not take, and the tests that hold the two to one answer).

use std::collections::{HashMap, HashSet};

use cedar_policy::{Context, Entity, EntityId, EntityTypeName, EntityUid, RestrictedExpression};

use super::value::{Record, Val};
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
pub(super) fn resource_entity(uid: EntityUid, attributes: &[(&str, Attribute)]) -> Option<Entity> {
    let attrs = attributes
        .iter()
        .map(|(name, value)| ((*name).to_owned(), attribute(value)))
        .collect::<HashMap<_, _>>();
    // Two values for one name: no answer, as `value::row` gives none.
    if attrs.len() != attributes.len() {
        return None;
    }
    Entity::new(uid, attrs, HashSet::new()).ok()
}

/// A call's context (built by [`super::value::context`]) as Cedar's.
pub(super) fn context(context: &Val<'_>) -> Option<Context> {
    match context {
        Val::Record(record) => Context::from_pairs(pairs(record)?).ok(),
        _ => None,
    }
}

fn pairs(record: &Record<'_>) -> Option<Vec<(String, RestrictedExpression)>> {
    record
        .pairs()
        .iter()
        .map(|(name, value)| Some((name.to_string(), expression(value)?)))
        .collect()
}

fn expression(value: &Val<'_>) -> Option<RestrictedExpression> {
    Some(match value {
        Val::Str(s) => text(s),
        Val::Long(n) => RestrictedExpression::new_long(*n),
        Val::Bool(b) => RestrictedExpression::new_bool(*b),
        Val::Set(set) => RestrictedExpression::new_set(
            set.items()
                .iter()
                .map(expression)
                .collect::<Option<Vec<_>>>()?,
        ),
        Val::Record(record) => RestrictedExpression::new_record(pairs(record)?).ok()?,
        // No argument is an entity.
        Val::Entity(_) => return None,
    })
}
