//! How the code `sql!` generates builds a [`Sql`]. A template's text is an associated constant,
//! so it is text fixed at compile time, never text from a caller; values, identifiers (constant
//! names of an [`SqlIdent`]) and lists fill its slots in order, and a value that does not fit
//! makes a query that refuses to render. Reached through `mcp_secure::__private::sql`.

use super::{Ownership, Part, Parts, Sql, SqlIdent, SqlValue, ToSqlValue};

/// One slot of a template: its text, or where a value, an identifier or a list goes.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlSlot {
    /// Template text.
    Text(&'static str),
    /// A value.
    Value,
    /// An identifier.
    Ident,
    /// A list of values.
    List,
}

/// A template: its slots, and, when all of them are text or values, its text for
/// `Dialect::Sqlite`, `Dialect::Postgres` and `Dialect::MySql`, in that order.
#[doc(hidden)]
#[derive(Debug)]
pub struct SqlTemplate {
    /// The slots.
    pub slots: &'static [SqlSlot],
    /// The text rendered at compile time.
    pub text: [&'static str; 3],
}

/// A template, as a constant: what [`template`] and [`assemble`] build a query from.
#[doc(hidden)]
pub trait Template {
    /// The template.
    const TEMPLATE: &'static SqlTemplate;
}

/// What seals [`SqlIdent`]: implemented by `#[derive(SqlIdent)]`, next to it.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` implements `SqlIdent` by hand; derive it",
    label = "`SqlIdent` is derived, not implemented",
    note = "`#[derive(SqlIdent)]` on an enum whose variants are the allowed names (`#[sql(name = \"created_at\")]` to rename one); a name from a caller is never spliced into SQL"
)]
pub trait DerivedSqlIdent {}

/// What fills one slot of a template.
#[doc(hidden)]
#[derive(Debug)]
pub struct SqlArg(Arg);

impl SqlArg {
    pub(crate) fn value(value: SqlValue) -> Self {
        SqlArg(Arg::Value(value))
    }
}

#[derive(Debug)]
enum Arg {
    Value(SqlValue),
    Ident(&'static str),
    List(Vec<SqlValue>),
}

/// The value of a `{value}` placeholder, in a template of values only.
pub fn param<T: ToSqlValue + ?Sized>(value: &T) -> SqlValue {
    value.to_sql_value()
}

/// The value of a `{value}` placeholder, in a template with identifiers or lists.
pub fn arg<T: ToSqlValue + ?Sized>(value: &T) -> SqlArg {
    SqlArg(Arg::Value(value.to_sql_value()))
}

/// The identifier of an `{x:ident}` placeholder: one of `T`'s constant names.
pub fn ident<T: SqlIdent + ?Sized>(value: &T) -> SqlArg {
    const {
        assert!(
            plain_identifiers(T::__NAMES),
            "an `SqlIdent`'s names are plain identifiers: derive `SqlIdent`"
        )
    };
    // An index out of range is an empty name, which rendering refuses.
    SqlArg(Arg::Ident(
        T::__NAMES.get(value.__index()).copied().unwrap_or(""),
    ))
}

/// The values of an `{x:list}` placeholder.
pub fn list<'a, I, T>(items: &'a I) -> SqlArg
where
    &'a I: IntoIterator<Item = &'a T>,
    T: ToSqlValue + 'a,
    I: ?Sized,
{
    SqlArg(Arg::List(
        items.into_iter().map(ToSqlValue::to_sql_value).collect(),
    ))
}

/// A query from a template of text and values only, keeping its text rendered at compile time.
pub fn template<T: Template>(values: Vec<SqlValue>) -> Sql {
    let expected = const { values_only(T::TEMPLATE.slots) };
    if expected != Some(values.len()) {
        return invalid();
    }
    Sql {
        parts: Parts::Template(T::TEMPLATE),
        values,
        owned: Ownership::Unowned,
    }
}

/// A query from a template with identifiers or lists: its slots filled in order.
pub fn assemble<T: Template>(args: Vec<SqlArg>) -> Sql {
    let slots = T::TEMPLATE.slots;
    let mut parts = Vec::with_capacity(slots.len());
    let mut values = Vec::with_capacity(args.len());
    let mut args = args.into_iter();
    for slot in slots {
        let part = match *slot {
            SqlSlot::Text(text) => Part::Text(text),
            slot => match (slot, args.next()) {
                (SqlSlot::Value, Some(SqlArg(Arg::Value(v)))) => {
                    values.push(v);
                    Part::Param
                }
                (SqlSlot::Ident, Some(SqlArg(Arg::Ident(name)))) => Part::Ident(name),
                (SqlSlot::List, Some(SqlArg(Arg::List(items)))) => {
                    let n = items.len();
                    values.extend(items);
                    Part::List(n)
                }
                _ => return invalid(),
            },
        };
        parts.push(part);
    }
    if args.next().is_some() {
        return invalid();
    }
    Sql {
        parts: Parts::Assembled(parts),
        values,
        owned: Ownership::Unowned,
    }
}

/// A query that refuses to render: its values did not fit its template.
fn invalid() -> Sql {
    Sql {
        parts: Parts::Assembled(vec![Part::Invalid]),
        values: Vec::new(),
        owned: Ownership::Unowned,
    }
}

/// What a template of a crate with owned tables is.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    /// One statement, checked.
    Statement,
    /// One condition, for `push_and`.
    Condition,
}

/// A query of a crate with owned tables: a checked statement (refused if an owner or tenant
/// placeholder was bound to someone other than the caller), or a condition.
pub fn governed(sql: Sql, shape: Shape, callers: bool) -> Sql {
    sql.governed(match shape {
        _ if !callers => Ownership::NotTheCaller,
        Shape::Statement => Ownership::Checked,
        Shape::Condition => Ownership::Condition,
    })
}

/// How many values a template of text and values takes; `None` if it has other slots.
const fn values_only(slots: &[SqlSlot]) -> Option<usize> {
    let (mut i, mut n) = (0, 0);
    while i < slots.len() {
        match slots[i] {
            SqlSlot::Text(_) => {}
            SqlSlot::Value => n += 1,
            SqlSlot::Ident | SqlSlot::List => return None,
        }
        i += 1;
    }
    Some(n)
}

/// Whether every name is a plain identifier: ASCII letters, digits and `_`, not starting with a
/// digit, 1 to 63 bytes (what `#[derive(SqlIdent)]` checks).
const fn plain_identifiers(names: &[&str]) -> bool {
    let mut i = 0;
    while i < names.len() {
        let name = names[i].as_bytes();
        if name.is_empty() || name.len() > 63 || name[0].is_ascii_digit() {
            return false;
        }
        let mut j = 0;
        while j < name.len() {
            if !(name[j].is_ascii_alphanumeric() || name[j] == b'_') {
                return false;
            }
            j += 1;
        }
        i += 1;
    }
    true
}
