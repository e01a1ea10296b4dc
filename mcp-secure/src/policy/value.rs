//! The values a policy sees, with Cedar's meaning, borrowed from where they already are: the
//! caller, a row and a call's arguments typed by the tool's schema. A set is a set (sorted,
//! without duplicates, so that equality and membership are Cedar's whatever the order sent);
//! a record has one value per name, sorted by name.

use std::borrow::Cow;

use cedar_policy_core::ast::EntityType;
use rmcp::model::JsonObject;
use serde_json::Value;

use super::schema::{Field, FieldType, dirs_name};
use crate::auth::{Attribute, Principal};

/// A Cedar value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Val<'a> {
    Bool(bool),
    Long(i64),
    Str(Cow<'a, str>),
    Entity(Uid<'a>),
    Set(Set<'a>),
    Record(Record<'a>),
}

/// An entity's type and id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Uid<'a> {
    pub ty: &'a EntityType,
    pub id: Cow<'a, str>,
}

/// A set: sorted, each value once.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Set<'a>(Vec<Val<'a>>);

impl<'a> Set<'a> {
    pub fn new(mut items: Vec<Val<'a>>) -> Self {
        items.sort_unstable();
        items.dedup();
        Self(items)
    }

    pub fn items(&self) -> &[Val<'a>] {
        &self.0
    }

    pub fn contains(&self, value: &Val<'_>) -> bool {
        self.0.binary_search_by(|item| item.cmp_with(value)).is_ok()
    }
}

/// A record: sorted by name, each name once.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(crate) struct Record<'a>(Vec<(Cow<'a, str>, Val<'a>)>);

impl<'a> Record<'a> {
    /// From pairs; `None` if two have the same name (Cedar refuses such a record).
    pub fn new(mut pairs: Vec<(Cow<'a, str>, Val<'a>)>) -> Option<Self> {
        pairs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        match pairs.windows(2).any(|w| w[0].0 == w[1].0) {
            true => None,
            false => Some(Self(pairs)),
        }
    }

    pub fn get(&self, name: &str) -> Option<&Val<'a>> {
        self.0
            .binary_search_by(|(key, _)| key.as_ref().cmp(name))
            .ok()
            .map(|at| &self.0[at].1)
    }

    pub fn pairs(&self) -> &[(Cow<'a, str>, Val<'a>)] {
        &self.0
    }
}

impl Val<'_> {
    /// The same value owning its text; `None` for an entity (whose type is borrowed from the
    /// policies), which no argument is.
    pub fn into_static(self) -> Option<Val<'static>> {
        let text = |s: Cow<'_, str>| Cow::Owned(s.into_owned());
        Some(match self {
            Val::Bool(b) => Val::Bool(b),
            Val::Long(n) => Val::Long(n),
            Val::Str(s) => Val::Str(text(s)),
            Val::Entity(_) => return None,
            Val::Set(Set(items)) => Val::Set(Set(items
                .into_iter()
                .map(Val::into_static)
                .collect::<Option<_>>()?)),
            Val::Record(Record(pairs)) => Val::Record(Record(
                pairs
                    .into_iter()
                    .map(|(name, value)| Some((text(name), value.into_static()?)))
                    .collect::<Option<_>>()?,
            )),
        })
    }

    /// `Ord` across two lifetimes: a borrowed value compared with a set's items.
    fn cmp_with(&self, other: &Val<'_>) -> std::cmp::Ordering {
        // Same data, two lifetimes: shorten both to compare.
        fn shorten<'s>(v: &'s Val<'_>) -> &'s Val<'s> {
            v
        }
        shorten(self).cmp(shorten(other))
    }
}

/// A caller's carried attribute.
pub(crate) fn attribute(value: &Attribute) -> Val<'_> {
    match value {
        Attribute::Text(s) => Val::Str(Cow::Borrowed(s)),
        Attribute::Number(n) => Val::Long(*n),
        Attribute::Flag(b) => Val::Bool(*b),
        Attribute::Texts(items) => Val::Set(Set::new(
            items
                .iter()
                .map(|s| Val::Str(Cow::Borrowed(s.as_str())))
                .collect(),
        )),
    }
}

/// The caller's attribute `name`: a built-in one (always these, whatever it carries under the
/// same name), else one it carries.
pub(crate) fn caller_attribute<'a>(caller: &'a Principal, name: &str) -> Option<Val<'a>> {
    let text = |s: &'a str| Some(Val::Str(Cow::Borrowed(s)));
    match name {
        "id" => text(caller.id()),
        "subject" => text(caller.subject()),
        "issuer" => text(caller.issuer()),
        "tenant_key" => Some(Val::Str(Cow::Owned(caller.tenant_key()))),
        "scopes" => Some(Val::Set(Set::new(
            caller
                .scopes()
                .iter()
                .map(|s| Val::Str(Cow::Borrowed(s.as_str())))
                .collect(),
        ))),
        "tenant" => caller.tenant().and_then(text),
        "client_id" => caller.client_id().and_then(text),
        _ if crate::auth::BUILT_IN_ATTRIBUTES.contains(&name) => None,
        _ => caller
            .attributes()
            .find(|(carried, _)| *carried == name)
            .map(|(_, value)| attribute(value)),
    }
}

/// A row's attributes as a record; `None` if two have the same name.
pub(crate) fn row<'a>(attributes: &'a [(&'static str, Attribute)]) -> Option<Record<'a>> {
    Record::new(
        attributes
            .iter()
            .map(|(name, value)| (Cow::Borrowed(*name), attribute(value)))
            .collect(),
    )
}

/// The context of a call: each argument the schema types, as that type; `None` when an
/// argument does not have its type (validation let through what the schema does not say).
pub(crate) fn context<'a>(fields: &[Field], arguments: &'a JsonObject) -> Option<Record<'a>> {
    let mut pairs = Vec::with_capacity(fields.len() + 1);
    for field in fields {
        // A few arguments are found sooner by their names than by hashing them.
        let found = match arguments.len() {
            0..=8 => arguments.iter().find(|(name, _)| **name == field.name),
            _ => arguments.get_key_value(&field.name),
        };
        match found {
            None | Some((_, Value::Null)) if !field.required => {}
            None | Some((_, Value::Null)) => return None,
            Some((name, Value::Array(items))) if field.path => {
                let opened = items
                    .iter()
                    .map(|item| Some(Val::Str(Cow::Owned(opened(item.as_str()?).join("/")))))
                    .collect::<Option<Vec<_>>>()?;
                pairs.push((Cow::Borrowed(name.as_str()), Val::Set(Set::new(opened))));
            }
            Some((name, value)) if field.path => {
                let segments = opened(value.as_str()?);
                let dirs = (1..segments.len())
                    .map(|n| Val::Str(Cow::Owned(segments[..n].join("/"))))
                    .collect();
                pairs.push((Cow::Owned(dirs_name(name)), Val::Set(Set::new(dirs))));
                pairs.push((
                    Cow::Borrowed(name.as_str()),
                    Val::Str(Cow::Owned(segments.join("/"))),
                ));
            }
            Some((name, value)) => {
                pairs.push((Cow::Borrowed(name.as_str()), typed(&field.ty, value)?))
            }
        }
    }
    Record::new(pairs)
}

/// A path's segments as the open resolves it: `./a//b` is `a/b`, so that no spelling of a path
/// slips past a rule on its text or directories.
fn opened(path: &str) -> Vec<&str> {
    path.split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect()
}

fn typed<'a>(ty: &FieldType, value: &'a Value) -> Option<Val<'a>> {
    Some(match (ty, value) {
        (FieldType::String, Value::String(s)) => Val::Str(Cow::Borrowed(s)),
        (FieldType::Long, Value::Number(n)) => Val::Long(n.as_i64()?),
        (FieldType::Bool, Value::Bool(b)) => Val::Bool(*b),
        (FieldType::Set(item), Value::Array(items)) => Val::Set(Set::new(
            items
                .iter()
                .map(|i| typed(item, i))
                .collect::<Option<Vec<_>>>()?,
        )),
        (FieldType::Record(fields), Value::Object(object)) => Val::Record(context(fields, object)?),
        _ => return None,
    })
}
