//! Queries that cannot be concatenated: [`Sql`], built only by the `sql!` macro from a string
//! literal it checked at compile time, with every `{value}` bound as a parameter.
//!
//! ```
//! use mcp_secure::sql::{Dialect, SqlIdent, SqlValue, sql};
//!
//! #[derive(SqlIdent)]
//! enum SortBy {
//!     #[sql(name = "created_at")]
//!     Created,
//!     Title,
//! }
//!
//! let owner = "alice";
//! let sort = SortBy::Created;
//! let ids = [3, 5];
//! let q = sql!("SELECT id, title FROM notes WHERE owner = {owner} AND id IN {ids:list} ORDER BY {sort:ident} LIMIT {n}", n = 10);
//! let (text, params) = q.render(Dialect::Postgres).unwrap();
//! assert_eq!(text, r#"SELECT id, title FROM notes WHERE owner = $1 AND id IN ($2, $3) ORDER BY "created_at" LIMIT $4"#);
//! assert_eq!(params, [SqlValue::Text("alice".into()), SqlValue::Int(3), SqlValue::Int(5), SqlValue::Int(10)]);
//! assert_eq!(q.render(Dialect::Sqlite).unwrap().0.matches('?').count(), 4);
//! let _ = SortBy::Title;
//! ```
//!
//! What does not compile: a template that is not a string literal (`format!`, a `String`), a
//! placeholder inside quotes or a comment (`'{name}'`), two statements, `$1`/`?` written by
//! hand, an empty placeholder, an unknown modifier, an unused named argument, `{x:ident}` on a
//! type that is not `SqlIdent`, and a value that cannot be bound.

use std::{borrow::Cow, fmt};

pub use mcp_secure_macros::{SqlIdent, sql};

#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod exec;
pub mod owner;
pub(crate) mod template;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use exec::{DbError, Query, SqlDatabase, execute, fetch_all};
pub use owner::{AllOwners, SqlOwner};
use template::{SqlSlot, SqlTemplate};
/// What running a `sql!` query needs from the sqlx this crate runs queries with (features
/// `sqlite` and `postgres`): pools and their options, rows, transactions, errors. sqlx's query
/// builders, which take SQL as a string (`sqlx::query`, `raw_sql`, the `Executor` methods),
/// are left out: a string is what `sql!` rules out. A crate that depends on sqlx itself can
/// have clippy refuse them too, with `clippy-sqlx.toml` (the guide, docs/src/threat-model.md, "What does not compile").
///
/// ```compile_fail
/// # async fn f(pool: &mcp_secure::sql::sqlx::SqlitePool, table: &str) {
/// // error: `sqlx::query` takes SQL as a string; build the query with `sql!`
/// mcp_secure::sql::sqlx::query(&format!("DELETE FROM {table}"));
/// # }
/// ```
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub mod sqlx {
    pub use ::sqlx::{Database, Error, Pool, Row, Transaction, pool::PoolOptions};
    // The trait from sqlx; the derive (below, shadowing sqlx's in the macro namespace) is
    // mcp-secure's, which names this sqlx, so that rows need no direct sqlx dependency.
    pub use from_row::*;
    mod from_row {
        pub use ::sqlx::FromRow;
    }
    #[cfg(feature = "postgres")]
    pub use ::sqlx::{
        PgPool, Postgres,
        postgres::{PgConnectOptions, PgPoolOptions, PgRow},
    };
    #[cfg(feature = "sqlite")]
    pub use ::sqlx::{
        Sqlite, SqlitePool,
        sqlite::{SqliteConnectOptions, SqlitePoolOptions, SqliteRow},
    };
    pub use mcp_secure_macros::FromRow;

    /// Nothing is this: what stands in the place of sqlx's string-taking query builders.
    #[diagnostic::on_unimplemented(
        message = "sqlx's query builders take SQL as a string; build the query with `sql!`",
        label = "SQL as a string",
        note = "`sql!(\"DELETE FROM notes WHERE id = {{id}}\")` binds every value; a table or column name from a caller is an `SqlIdent` (`{{name:ident}}`)"
    )]
    pub trait BuildWithSqlMacro {
        /// Never called: nothing implements this trait.
        fn never(self) -> std::convert::Infallible;
    }

    /// Not re-exported: sqlx's `query` takes SQL as a string. Build the query with `sql!`.
    #[doc(hidden)]
    pub fn query<S: BuildWithSqlMacro>(sql: S) -> std::convert::Infallible {
        sql.never()
    }

    /// Not re-exported: sqlx's `raw_sql` takes SQL as a string. Build the query with `sql!`.
    #[doc(hidden)]
    pub fn raw_sql<S: BuildWithSqlMacro>(sql: S) -> std::convert::Infallible {
        sql.never()
    }
}

/// A value bound to a query.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    /// `NULL`.
    Null,
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// Text.
    Text(String),
    /// Bytes.
    Bytes(Vec<u8>),
}

/// A type whose values can be bound as SQL parameters.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be bound as an SQL parameter",
    label = "sql! binds this value",
    note = "bind integers, floats, booleans, strings, byte vectors or `Option`s of them; for a column or table name use `{{x:ident}}` with a `#[derive(SqlIdent)]` enum"
)]
pub trait ToSqlValue {
    /// The value to bind.
    fn to_sql_value(&self) -> SqlValue;
}

macro_rules! int_values {
    ($($t:ty),*) => {$(
        impl ToSqlValue for $t {
            fn to_sql_value(&self) -> SqlValue {
                SqlValue::Int(i64::from(*self))
            }
        }
    )*};
}
int_values!(i8, i16, i32, i64, u8, u16, u32);

impl ToSqlValue for bool {
    fn to_sql_value(&self) -> SqlValue {
        SqlValue::Bool(*self)
    }
}

impl ToSqlValue for f64 {
    fn to_sql_value(&self) -> SqlValue {
        SqlValue::Float(*self)
    }
}

impl ToSqlValue for str {
    fn to_sql_value(&self) -> SqlValue {
        SqlValue::Text(self.to_owned())
    }
}

impl ToSqlValue for String {
    fn to_sql_value(&self) -> SqlValue {
        SqlValue::Text(self.clone())
    }
}

impl ToSqlValue for [u8] {
    fn to_sql_value(&self) -> SqlValue {
        SqlValue::Bytes(self.to_vec())
    }
}

impl ToSqlValue for Vec<u8> {
    fn to_sql_value(&self) -> SqlValue {
        SqlValue::Bytes(self.clone())
    }
}

impl<T: ToSqlValue + ?Sized> ToSqlValue for &T {
    fn to_sql_value(&self) -> SqlValue {
        (**self).to_sql_value()
    }
}

impl<T: ToSqlValue> ToSqlValue for Option<T> {
    fn to_sql_value(&self) -> SqlValue {
        self.as_ref()
            .map_or(SqlValue::Null, ToSqlValue::to_sql_value)
    }
}

/// A column or table name chosen at run time from names fixed at compile time: derive it on an
/// enum (`#[derive(SqlIdent)]`, names `snake_case` or `#[sql(name = "...")]`, checked as plain
/// identifiers). Rendered quoted.
///
/// Only the derive implements it: the names are constants, so no text from a caller can become
/// one, and rendering checks and quotes them again.
///
/// ```compile_fail
/// use mcp_secure::sql::SqlIdent;
/// struct Column(String);
/// // error: `Column` implements `SqlIdent` by hand; derive it
/// impl SqlIdent for Column {}
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an SQL identifier",
    label = "`{{x:ident}}` splices this into the SQL text",
    note = "derive `SqlIdent` on an enum whose variants are the allowed names; strings are never spliced into SQL"
)]
pub trait SqlIdent: template::DerivedSqlIdent {
    /// Every name, in variant order: constants, written by the derive (none by default, which
    /// renders as an error).
    #[doc(hidden)]
    const __NAMES: &'static [&'static str] = &[];

    /// Which of [`SqlIdent::__NAMES`] this value is.
    #[doc(hidden)]
    fn __index(&self) -> usize {
        usize::MAX
    }
}

/// The placeholder syntax to render for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `?1`, `?2`, … and `"ident"`.
    Sqlite,
    /// `$1`, `$2`, … and `"ident"`.
    Postgres,
    /// `?` and `` `ident` ``.
    MySql,
}

impl Dialect {
    /// Where this dialect's text is in [`SqlTemplate::text`].
    fn index(self) -> usize {
        match self {
            Dialect::Sqlite => 0,
            Dialect::Postgres => 1,
            Dialect::MySql => 2,
        }
    }
}

/// Why a query could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SqlError {
    /// A `{x:list}` placeholder got no values (`IN ()` is not SQL).
    EmptyList,
    /// An identifier was empty or held a control character.
    Identifier,
    /// The query's values do not fit its template: it was not built by `sql!`.
    Malformed,
    /// A query of a crate that declares owned tables was extended otherwise than with
    /// [`Sql::push_and`] of a condition: what was appended could widen its rows past their
    /// owner. Or a condition was run on its own.
    OwnedExtended,
    /// An owner or tenant column was bound to a [`Principal`](crate::auth::Principal) that is
    /// not the caller being served (made by `Principal::new`, or changed since).
    NotTheCaller,
}

impl fmt::Display for SqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqlError::EmptyList => f.write_str(
                "a `{x:list}` placeholder got an empty list; handle the empty case before querying",
            ),
            SqlError::Identifier => f.write_str(
                "an identifier is empty or holds a control character; name columns and tables with a `#[derive(SqlIdent)]` enum",
            ),
            SqlError::Malformed => f.write_str(
                "the query's values do not fit its template; build queries with `sql!`",
            ),
            SqlError::OwnedExtended => f.write_str(
                "in a crate with owned tables, a statement is extended only with push_and of conditions, and a condition is not run alone; write the rest in the statement",
            ),
            SqlError::NotTheCaller => f.write_str(
                "an owner or tenant column is bound to a principal that is not the caller being served; bind the `Principal` the tool received",
            ),
        }
    }
}

impl std::error::Error for SqlError {}

/// One piece of a query: template text (compile-time text, see [`template`]), or where a bound
/// value, an identifier or a list of values goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// Template text.
    Text(&'static str),
    /// The next value.
    Param,
    /// An identifier from an `SqlIdent`'s constant names.
    Ident(&'static str),
    /// The next `n` values, as `(…, …)`.
    List(usize),
    /// Values that did not fit their template: rendering refuses the query.
    Invalid,
}

/// A query's pieces.
#[derive(Debug, Clone)]
enum Parts {
    /// One `sql!` template with value placeholders only, its text rendered at compile time.
    Template(&'static SqlTemplate),
    /// Anything else: identifiers, lists, composition.
    Assembled(Vec<Part>),
}

/// A query: template text from `sql!` and bound values, never text from a value.
#[derive(Debug, Clone)]
pub struct Sql {
    parts: Parts,
    values: Vec<SqlValue>,
    owned: Ownership,
}

/// What `sql!` made of a query in a crate that declares owned tables (see [`owner`]), and how
/// it was extended since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ownership {
    /// From a crate without owned tables: composes freely.
    Unowned,
    /// One statement, checked.
    Checked,
    /// One condition naming no owned table: for [`Sql::push_and`] only.
    Condition,
    /// Extended otherwise than by conditions `AND`ed, or a condition alone: does not render.
    Extended,
    /// An owner or tenant bound to a principal that is not the caller: does not render.
    NotTheCaller,
}

impl Ownership {
    /// The more refusing of two: a query bound to someone else stays refused as such.
    fn worst(self, other: Ownership) -> Ownership {
        use Ownership::*;
        match (self, other) {
            (NotTheCaller, _) | (_, NotTheCaller) => NotTheCaller,
            (Extended, _) | (_, Extended) => Extended,
            (a, _) => a,
        }
    }
}

impl Default for Sql {
    fn default() -> Self {
        Self {
            parts: Parts::Assembled(Vec::new()),
            values: Vec::new(),
            owned: Ownership::Unowned,
        }
    }
}

impl PartialEq for Sql {
    fn eq(&self, other: &Self) -> bool {
        self.parts().eq(other.parts()) && self.values == other.values
    }
}

impl Sql {
    /// The pieces, whichever way they are kept.
    fn parts(&self) -> impl Iterator<Item = Part> + '_ {
        let (template, assembled) = match &self.parts {
            Parts::Template(t) => (t.slots, &[][..]),
            Parts::Assembled(parts) => (&[][..], parts.as_slice()),
        };
        template
            .iter()
            .map(|slot| match *slot {
                SqlSlot::Text(t) => Part::Text(t),
                SqlSlot::Value => Part::Param,
                // Never kept as a template: `template::template` refuses them.
                SqlSlot::Ident | SqlSlot::List => Part::Invalid,
            })
            .chain(assembled.iter().copied())
    }

    /// The pieces, to be added to.
    fn parts_mut(&mut self) -> &mut Vec<Part> {
        if let Parts::Template(_) = self.parts {
            self.parts = Parts::Assembled(self.parts().collect());
        }
        match &mut self.parts {
            Parts::Assembled(parts) => parts,
            Parts::Template(_) => unreachable!("assembled above"),
        }
    }

    /// Appends another query's pieces (composition without strings).
    ///
    /// ```
    /// use mcp_secure::sql::{Dialect, sql};
    /// let mut q = sql!("SELECT id FROM notes WHERE owner = {o}", o = "alice");
    /// let tag: Option<&str> = Some("home");
    /// if let Some(tag) = tag {
    ///     q.push(sql!(" AND tag = {tag}"));
    /// }
    /// assert_eq!(q.render(Dialect::Postgres).unwrap().0, "SELECT id FROM notes WHERE owner = $1 AND tag = $2");
    /// ```
    pub fn push(&mut self, other: Sql) -> &mut Self {
        if self.is_empty() {
            // Nothing to renumber: `other` keeps its text rendered at compile time.
            *self = other;
            return self;
        }
        if self.owned != Ownership::Unowned || other.owned != Ownership::Unowned {
            self.owned = self.owned.worst(Ownership::Extended).worst(other.owned);
        }
        let parts: Vec<Part> = other.parts().collect();
        self.parts_mut().extend(parts);
        self.values.extend(other.values);
        self
    }

    /// `items` one after the other with `separator` between them.
    pub fn join(items: impl IntoIterator<Item = Sql>, separator: &Sql) -> Sql {
        let mut out = Sql::default();
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                out.push(separator.clone());
            }
            out.push(item);
        }
        out
    }

    /// Appends ` WHERE (c1) AND (c2) …` for the conditions given, or nothing when there are
    /// none: optional filters without string building. Each condition is parenthesized, so an
    /// `OR` inside one cannot escape it.
    ///
    /// ```
    /// use mcp_secure::sql::{Dialect, Sql, sql};
    /// let (tag, after): (Option<&str>, Option<i64>) = (Some("home"), None);
    /// let mut q = sql!("SELECT id FROM notes");
    /// q.push_where(
    ///     [tag.map(|t| sql!("tag = {t} OR tag = 'all'")), after.map(|a| sql!("id > {a}"))]
    ///         .into_iter()
    ///         .flatten(),
    /// );
    /// assert_eq!(q.render(Dialect::Sqlite).unwrap().0, "SELECT id FROM notes WHERE (tag = ?1 OR tag = 'all')");
    /// let mut all = sql!("SELECT id FROM notes");
    /// all.push_where(std::iter::empty::<Sql>());
    /// assert_eq!(all.render(Dialect::Sqlite).unwrap().0, "SELECT id FROM notes");
    /// ```
    pub fn push_where(&mut self, conditions: impl IntoIterator<Item = Sql>) -> &mut Self {
        for (i, condition) in conditions.into_iter().enumerate() {
            self.parts_mut()
                .push(Part::Text(if i == 0 { " WHERE (" } else { " AND (" }));
            self.push(condition);
            self.parts_mut().push(Part::Text(")"));
        }
        self
    }

    /// Appends ` AND (c1) AND (c2) …` for the conditions given: how a statement over an owned
    /// table takes optional filters, since each condition is parenthesized and `AND`ed, and can
    /// only narrow the rows its owner predicate selects. Write the statement so that its
    /// `WHERE` comes last.
    ///
    /// ```
    /// use mcp_secure::sql::{Dialect, sql};
    /// let mut q = sql!("SELECT id FROM notes WHERE owner = {o}", o = "alice");
    /// let tag: Option<&str> = Some("home");
    /// q.push_and(tag.map(|t| sql!("tag = {t} OR tag = 'all'")));
    /// assert_eq!(
    ///     q.render(Dialect::Postgres).unwrap().0,
    ///     "SELECT id FROM notes WHERE owner = $1 AND (tag = $2 OR tag = 'all')"
    /// );
    /// ```
    pub fn push_and(&mut self, conditions: impl IntoIterator<Item = Sql>) -> &mut Self {
        for condition in conditions {
            // A checked statement takes checked conditions; a query of a crate without owned
            // tables takes its own kind. Anything else could widen what was checked.
            match (self.owned, condition.owned) {
                (Ownership::Checked, Ownership::Condition)
                | (Ownership::Unowned, Ownership::Unowned) => {}
                (mine, theirs) => {
                    self.owned = mine.worst(Ownership::Extended).worst(theirs);
                }
            }
            let parts: Vec<Part> = condition.parts().collect();
            let all = self.parts_mut();
            all.push(Part::Text(" AND ("));
            all.extend(parts);
            all.push(Part::Text(")"));
            self.values.extend(condition.values);
        }
        self
    }

    /// Marks what `sql!` made of a template in a crate with owned tables.
    pub(crate) fn governed(mut self, owned: Ownership) -> Self {
        self.owned = owned;
        self
    }

    /// Whether the query has no pieces at all (`Sql::default()`).
    pub fn is_empty(&self) -> bool {
        self.parts().next().is_none()
    }

    /// The SQL text for `dialect` and the values to bind, in order.
    pub fn render(&self, dialect: Dialect) -> Result<(String, Vec<SqlValue>), SqlError> {
        Ok((self.text(dialect)?.into_owned(), self.values.clone()))
    }

    /// The SQL text for `dialect`: the one rendered at compile time when there is one, else
    /// written from the pieces.
    pub(crate) fn text(&self, dialect: Dialect) -> Result<Cow<'static, str>, SqlError> {
        use std::fmt::Write as _;
        match self.owned {
            Ownership::Unowned | Ownership::Checked => {}
            Ownership::Condition | Ownership::Extended => return Err(SqlError::OwnedExtended),
            Ownership::NotTheCaller => return Err(SqlError::NotTheCaller),
        }
        if let Parts::Template(template) = self.parts {
            return Ok(Cow::Borrowed(template.text[dialect.index()]));
        }
        let capacity = self
            .parts()
            .map(|p| match p {
                Part::Text(t) => t.len(),
                Part::Ident(name) => name.len() + 2,
                Part::Param => 4,
                Part::List(n) => 2 + n * 6,
                Part::Invalid => 0,
            })
            .sum();
        let mut text = String::with_capacity(capacity);
        let mut n = 0;
        // Writing into a `String` cannot fail.
        let mut mark = |text: &mut String| {
            n += 1;
            let _ = match dialect {
                Dialect::Sqlite => write!(text, "?{n}"),
                Dialect::Postgres => write!(text, "${n}"),
                Dialect::MySql => write!(text, "?"),
            };
        };
        for part in self.parts() {
            match part {
                Part::Text(t) => text.push_str(t),
                Part::Param => mark(&mut text),
                Part::Ident(name) => quote_ident(&mut text, name, dialect)?,
                Part::List(0) => return Err(SqlError::EmptyList),
                Part::List(items) => {
                    text.push('(');
                    for i in 0..items {
                        if i > 0 {
                            text.push_str(", ");
                        }
                        mark(&mut text);
                    }
                    text.push(')');
                }
                Part::Invalid => return Err(SqlError::Malformed),
            }
        }
        Ok(Cow::Owned(text))
    }
}

/// Writes `name` as a quoted identifier: the quote character doubled inside (the SQL standard's
/// escape, and MySQL's for backticks), and a name that is empty or holds a NUL or another
/// control character refused. The names come from `SqlIdent` constants checked when derived;
/// this holds whatever reaches it.
fn quote_ident(out: &mut String, name: &str, dialect: Dialect) -> Result<(), SqlError> {
    if name.is_empty() || name.chars().any(char::is_control) {
        return Err(SqlError::Identifier);
    }
    let quote = if dialect == Dialect::MySql { '`' } else { '"' };
    out.push(quote);
    for c in name.chars() {
        if c == quote {
            out.push(quote);
        }
        out.push(c);
    }
    out.push(quote);
    Ok(())
}

/// `text` made safe to use inside `LIKE` with `ESCAPE '\'`: `\`, `%` and `_` lose their meaning,
/// so user text matches literally.
///
/// ```
/// use mcp_secure::sql::{Dialect, like_contains, sql};
/// let pattern = like_contains("50%_off");
/// assert_eq!(pattern, "%50\\%\\_off%");
/// let q = sql!("SELECT id FROM notes WHERE title LIKE {pattern} ESCAPE '\\'");
/// assert_eq!(q.render(Dialect::Sqlite).unwrap().0, "SELECT id FROM notes WHERE title LIKE ?1 ESCAPE '\\'");
/// ```
pub fn like_contains(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[cfg(test)]
mod tests;
