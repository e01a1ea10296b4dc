//! Running [`Sql`] through sqlx, on SQLite (feature `sqlite`, the default) and PostgreSQL
//! (feature `postgres`). Nothing here takes SQL text: the only way in is a [`Sql`] from `sql!`.

use std::fmt;

use super::{Dialect, Sql, SqlError, SqlValue};
use crate::tool::ToolError;

/// A query failed. The details (which may include SQL) stay in the server log: converted into
/// a [`ToolError`] it is an `unavailable` error when the database is gone or busy (see
/// [`DbError::is_transient`]) and an `internal` error otherwise, both with an incident id.
#[derive(Debug)]
#[non_exhaustive]
pub enum DbError {
    /// The query could not be rendered (an empty `{x:list}`).
    Render(SqlError),
    /// The database refused or failed.
    Database(sqlx::Error),
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbError::Render(e) => write!(f, "query not rendered: {e}"),
            DbError::Database(e) => write!(f, "database error: {e}"),
        }
    }
}

impl std::error::Error for DbError {}

impl DbError {
    /// The database could not be reached or was busy (connection lost or refused, pool timed
    /// out, SQLite `BUSY`/`LOCKED`, PostgreSQL connection exceptions, shutdowns, too many
    /// connections, a database that does not exist (any more), serialization failures and
    /// deadlocks): the statement did not take effect and the same call may succeed later.
    pub fn is_transient(&self) -> bool {
        let DbError::Database(e) = self else {
            return false;
        };
        match e {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(db) => transient_code(db.as_ref()),
            _ => false,
        }
    }
}

/// Whether a database's own error code says "busy or gone".
fn transient_code(db: &dyn sqlx::error::DatabaseError) -> bool {
    #[cfg(feature = "sqlite")]
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        // The primary result code is the low byte of the extended one: 5 BUSY, 6 LOCKED.
        let code = db.code().and_then(|c| c.parse::<i32>().ok()).unwrap_or(0);
        return matches!(code & 0xff, 5 | 6);
    }
    #[cfg(feature = "postgres")]
    if let Some(e) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        let code = e.code();
        // 08: connection exception; 57P01-03: shutting down or starting; 53300: too many
        // connections; 3D000: no such database; 40001/40P01: serialization failure, deadlock.
        return code.starts_with("08")
            || matches!(
                code,
                "57P01" | "57P02" | "57P03" | "53300" | "3D000" | "40001" | "40P01"
            );
    }
    let _ = db;
    false
}

impl From<DbError> for ToolError {
    fn from(e: DbError) -> Self {
        if e.is_transient() {
            ToolError::unavailable("the database", e)
        } else {
            ToolError::internal(e)
        }
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A database `Sql` runs on: `sqlx::Sqlite` (feature `sqlite`) or `sqlx::Postgres` (feature
/// `postgres`). Each renders placeholders in its own [`Dialect`] and binds the values with
/// their natural types. Sealed: the list is this crate's.
#[diagnostic::on_unimplemented(
    message = "`sql!` queries do not run on `{Self}`",
    note = "enable the `sqlite` or `postgres` feature of mcp-secure and pass a pool, a connection or `&mut *transaction` of that database"
)]
pub trait SqlDatabase: sqlx::Database + sealed::Sealed {
    /// How placeholders and identifiers are written for this database.
    const DIALECT: Dialect;

    #[doc(hidden)]
    fn __bind<'q>(values: Vec<SqlValue>) -> Result<Self::Arguments<'q>, DbError>;

    #[doc(hidden)]
    fn __rows_affected(done: &Self::QueryResult) -> u64;
}

/// Arguments bound from a query's values: what sqlx runs the query with.
struct Bound<'q, DB: SqlDatabase>(DB::Arguments<'q>);

impl<'q, DB: SqlDatabase> sqlx::IntoArguments<'q, DB> for Bound<'q, DB> {
    fn into_arguments(self) -> DB::Arguments<'q> {
        self.0
    }
}

/// Implements [`SqlDatabase`] for one sqlx database: `bind` turns our values into its
/// arguments.
macro_rules! database {
    ($db:ty, $dialect:expr, $bind:ident) => {
        impl sealed::Sealed for $db {}

        impl SqlDatabase for $db {
            const DIALECT: Dialect = $dialect;

            fn __bind<'q>(values: Vec<SqlValue>) -> Result<Self::Arguments<'q>, DbError> {
                $bind(values)
            }

            fn __rows_affected(done: &Self::QueryResult) -> u64 {
                done.rows_affected()
            }
        }
    };
}

fn encode_error(e: sqlx::error::BoxDynError) -> DbError {
    DbError::Database(sqlx::Error::Encode(e))
}

#[cfg(feature = "sqlite")]
fn bind_sqlite<'q>(values: Vec<SqlValue>) -> Result<sqlx::sqlite::SqliteArguments<'q>, DbError> {
    use sqlx::Arguments;
    let mut args = sqlx::sqlite::SqliteArguments::default();
    args.reserve(values.len(), 0);
    for v in values {
        // Text and bytes are moved in: sqlx hands owned arguments to its SQLite thread as
        // they are, where borrowed ones would be copied again.
        match v {
            SqlValue::Null => args.add(None::<i64>),
            SqlValue::Int(i) => args.add(i),
            SqlValue::Float(f) => args.add(f),
            SqlValue::Bool(b) => args.add(b),
            SqlValue::Text(t) => args.add(t),
            SqlValue::Bytes(b) => args.add(b),
        }
        .map_err(encode_error)?;
    }
    Ok(args)
}

#[cfg(feature = "sqlite")]
database!(sqlx::Sqlite, Dialect::Sqlite, bind_sqlite);

/// `NULL` with no declared type, so PostgreSQL infers it from where it is used (a typed `NULL`
/// such as `None::<i64>` would be refused by a text column).
#[cfg(feature = "postgres")]
struct UntypedNull;

#[cfg(feature = "postgres")]
impl sqlx::Type<sqlx::Postgres> for UntypedNull {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        sqlx::postgres::PgTypeInfo::with_oid(sqlx::postgres::types::Oid(0))
    }
}

#[cfg(feature = "postgres")]
impl sqlx::Encode<'_, sqlx::Postgres> for UntypedNull {
    fn encode_by_ref(
        &self,
        _: &mut sqlx::postgres::PgArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        Ok(sqlx::encode::IsNull::Yes)
    }
}

#[cfg(feature = "postgres")]
fn bind_postgres(values: Vec<SqlValue>) -> Result<sqlx::postgres::PgArguments, DbError> {
    use sqlx::Arguments;
    let mut args = sqlx::postgres::PgArguments::default();
    args.reserve(values.len(), 0);
    for v in &values {
        // Encoded into the argument buffer right away: borrowed is enough.
        match v {
            SqlValue::Null => args.add(UntypedNull),
            SqlValue::Int(i) => args.add(*i),
            SqlValue::Float(f) => args.add(*f),
            SqlValue::Bool(b) => args.add(*b),
            SqlValue::Text(t) => args.add(t.as_str()),
            SqlValue::Bytes(b) => args.add(b.as_slice()),
        }
        .map_err(encode_error)?;
    }
    Ok(args)
}

#[cfg(feature = "postgres")]
database!(sqlx::Postgres, Dialect::Postgres, bind_postgres);

/// What the query functions take: only a [`Sql`] built by `sql!` is one.
#[diagnostic::on_unimplemented(
    message = "raw SQL strings are not accepted; build the query with `sql!`",
    label = "this is not a query built by `sql!`",
    note = "`sql!(\"SELECT title FROM notes WHERE id = {{id}}\")` binds values as parameters; text from a variable never becomes SQL"
)]
pub trait Query {
    /// The query.
    fn into_sql(self) -> Sql;
}

impl Query for Sql {
    fn into_sql(self) -> Sql {
        self
    }
}

/// A borrowed query runs a copy of itself.
impl Query for &Sql {
    fn into_sql(self) -> Sql {
        self.clone()
    }
}

/// Runs `query` on `executor`; the same as [`Sql::execute`], for code that takes any [`Query`]
/// (a `Sql`, or a `&Sql`, which runs a copy and leaves the query to be run again).
///
/// ```compile_fail
/// # async fn f(pool: &mcp_secure::sql::sqlx::SqlitePool) {
/// // error: raw SQL strings are not accepted; build the query with `sql!`
/// mcp_secure::sql::execute("DELETE FROM notes", pool).await;
/// # }
/// ```
pub async fn execute<'c, Q, E>(query: Q, executor: E) -> Result<u64, DbError>
where
    Q: Query,
    E: sqlx::Executor<'c> + 'c,
    E::Database: SqlDatabase,
{
    query.into_sql().execute(executor).await
}

/// Every row of `query`, as `T`; the same as [`Sql::fetch_all`].
pub async fn fetch_all<'c, Q, T, E>(query: Q, executor: E) -> Result<Vec<T>, DbError>
where
    Q: Query,
    E: sqlx::Executor<'c> + 'c,
    E::Database: SqlDatabase,
    T: for<'r> sqlx::FromRow<'r, <E::Database as sqlx::Database>::Row> + Send + Unpin + 'c,
{
    query.into_sql().fetch_all(executor).await
}

impl Sql {
    /// The text for `DB` and the values bound for it (moved out of `self`): what every way of
    /// running the query hands to sqlx.
    fn prepared<'q, DB: SqlDatabase>(
        self,
    ) -> Result<(std::borrow::Cow<'static, str>, Bound<'q, DB>), DbError> {
        let text = self.text(DB::DIALECT).map_err(DbError::Render)?;
        Ok((text, Bound(DB::__bind(self.values)?)))
    }

    /// Runs a statement on `executor` (`&pool`, a connection, or `&mut *transaction` inside
    /// `pool.begin()`); returns the number of rows it changed.
    ///
    /// Running a query consumes it (its values are moved into sqlx's arguments, not copied):
    /// to run the same query twice, run a `clone()`, or pass `&query` to [`execute`].
    pub async fn execute<'c, E>(self, executor: E) -> Result<u64, DbError>
    where
        E: sqlx::Executor<'c> + 'c,
        E::Database: SqlDatabase,
    {
        let (text, args) = self.prepared::<E::Database>()?;
        let done = sqlx::query_with(&text, args)
            .execute(executor)
            .await
            .map_err(DbError::Database)?;
        Ok(<E::Database as SqlDatabase>::__rows_affected(&done))
    }

    /// Every row, as `T` (a struct with `#[derive(mcp_secure::sql::sqlx::FromRow)]`, or a tuple).
    pub async fn fetch_all<'c, T, E>(self, executor: E) -> Result<Vec<T>, DbError>
    where
        E: sqlx::Executor<'c> + 'c,
        E::Database: SqlDatabase,
        T: for<'r> sqlx::FromRow<'r, <E::Database as sqlx::Database>::Row> + Send + Unpin + 'c,
    {
        let (text, args) = self.prepared::<E::Database>()?;
        sqlx::query_as_with(&text, args)
            .fetch_all(executor)
            .await
            .map_err(DbError::Database)
    }

    /// The first row, if any.
    pub async fn fetch_optional<'c, T, E>(self, executor: E) -> Result<Option<T>, DbError>
    where
        E: sqlx::Executor<'c> + 'c,
        E::Database: SqlDatabase,
        T: for<'r> sqlx::FromRow<'r, <E::Database as sqlx::Database>::Row> + Send + Unpin + 'c,
    {
        let (text, args) = self.prepared::<E::Database>()?;
        sqlx::query_as_with(&text, args)
            .fetch_optional(executor)
            .await
            .map_err(DbError::Database)
    }

    /// Exactly one row; no row is `sqlx::Error::RowNotFound`.
    pub async fn fetch_one<'c, T, E>(self, executor: E) -> Result<T, DbError>
    where
        E: sqlx::Executor<'c> + 'c,
        E::Database: SqlDatabase,
        T: for<'r> sqlx::FromRow<'r, <E::Database as sqlx::Database>::Row> + Send + Unpin + 'c,
    {
        self.fetch_optional(executor)
            .await?
            .ok_or(DbError::Database(sqlx::Error::RowNotFound))
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use super::*;
    use sqlx::SqlitePool;

    use crate::sql::{SqlIdent, sql};

    #[derive(SqlIdent, Clone, Copy)]
    enum Sort {
        Title,
        #[sql(name = "id")]
        Newest,
    }

    #[derive(sqlx::FromRow, Debug, PartialEq)]
    struct Row {
        id: i64,
        title: String,
    }

    #[tokio::test]
    async fn injection_payloads_are_data() {
        let pool = SqlitePool::connect("sqlite::memory:").await.unwrap();
        sql!(
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL)"
        )
        .execute(&pool)
        .await
        .unwrap();
        let payloads = [
            "' OR '1'='1",
            "1; DROP TABLE notes",
            "'--",
            "x' UNION SELECT id, owner, title FROM notes --",
            "a\0b",
            "\u{2019} OR \u{2019}1\u{2019}=\u{2019}1",
            "100%_off",
            "Robert'); DROP TABLE notes;--",
        ];
        for p in payloads {
            sql!(
                "INSERT INTO notes (owner, title) VALUES ({owner}, {p})",
                owner = "mallory"
            )
            .execute(&pool)
            .await
            .unwrap();
        }
        sql!("INSERT INTO notes (owner, title) VALUES ('alice', 'secret of alice')")
            .execute(&pool)
            .await
            .unwrap();
        for p in payloads {
            let rows: Vec<Row> = sql!(
                "SELECT id, title FROM notes WHERE owner = {o} AND title = {p}",
                o = "mallory"
            )
            .fetch_all(&pool)
            .await
            .unwrap();
            assert_eq!(rows.len(), 1, "{p:?} stored and read back as data");
            assert_eq!(rows[0].title, p, "byte for byte");
            let by_owner: Vec<Row> = sql!("SELECT id, title FROM notes WHERE owner = {p}")
                .fetch_all(&pool)
                .await
                .unwrap();
            assert!(by_owner.is_empty(), "{p:?} as an owner matches nobody");
        }
        let pattern = crate::sql::like_contains("%");
        let literal: Vec<Row> =
            sql!("SELECT id, title FROM notes WHERE title LIKE {pattern} ESCAPE '\\'")
                .fetch_all(&pool)
                .await
                .unwrap();
        assert_eq!(
            literal.iter().map(|r| r.title.as_str()).collect::<Vec<_>>(),
            ["100%_off"],
            "% matched literally"
        );
        let sort = Sort::Title;
        let sorted: Vec<Row> = sql!(
            "SELECT id, title FROM notes ORDER BY {sort:ident} LIMIT {n}",
            n = 3
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(sorted.len(), 3);
        let ids = [1i64, 2];
        let listed: Vec<Row> = sql!(
            "SELECT id, title FROM notes WHERE id IN {ids:list} ORDER BY {s:ident}",
            s = Sort::Newest
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(listed.iter().map(|r| r.id).collect::<Vec<_>>(), [1, 2]);
        let none: Vec<i64> = Vec::new();
        assert!(matches!(
            sql!("SELECT id, title FROM notes WHERE id IN {none:list}")
                .fetch_all::<Row, _>(&pool)
                .await,
            Err(DbError::Render(_))
        ));
        let count = sql!("DELETE FROM notes WHERE owner = {o}", o = "nobody")
            .execute(&pool)
            .await
            .unwrap();
        assert_eq!(count, 0, "the table survived every payload");
        let alice: Option<Row> = sql!("SELECT id, title FROM notes WHERE owner = {o}", o = "alice")
            .fetch_optional(&pool)
            .await
            .unwrap();
        assert_eq!(alice.unwrap().title, "secret of alice");
    }

    #[tokio::test]
    async fn transactions_commit_or_roll_back() {
        let pool = SqlitePool::connect("sqlite::memory:").await.unwrap();
        sql!("CREATE TABLE t (v INTEGER NOT NULL)")
            .execute(&pool)
            .await
            .unwrap();
        let mut tx = pool.begin().await.unwrap();
        sql!("INSERT INTO t (v) VALUES ({v})", v = 1)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        let mut tx = pool.begin().await.unwrap();
        sql!("INSERT INTO t (v) VALUES ({v})", v = 2)
            .execute(&mut *tx)
            .await
            .unwrap();
        let inside: (i64,) = sql!("SELECT count(*) FROM t")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(inside.0, 1);
        tx.commit().await.unwrap();
        let rows: Vec<(i64,)> = sql!("SELECT v FROM t").fetch_all(&pool).await.unwrap();
        assert_eq!(
            rows,
            [(2,)],
            "the rolled-back insert is gone, the committed one stays"
        );
    }

    #[tokio::test]
    async fn every_kind_of_value_is_moved_in_and_a_borrowed_query_runs_again() {
        let pool = SqlitePool::connect("sqlite::memory:").await.unwrap();
        sql!("CREATE TABLE t (i INTEGER, f REAL, b INTEGER, s TEXT, x BLOB, n TEXT)")
            .execute(&pool)
            .await
            .unwrap();
        let (text, bytes) = (String::from("it's \u{1F600}"), vec![0_u8, 0xff, 7]);
        let none: Option<String> = None;
        let insert = sql!(
            "INSERT INTO t (i, f, b, s, x, n) VALUES ({i}, {f}, {yes}, {text}, {bytes}, {none})",
            i = -3,
            f = 2.5,
            yes = true
        );
        // Through the free function with a reference: the query stays, and runs again.
        assert_eq!(execute(&insert, &pool).await.unwrap(), 1);
        assert_eq!(insert.execute(&pool).await.unwrap(), 1);
        type Row = (i64, f64, bool, String, Vec<u8>, Option<String>);
        let rows: Vec<Row> = sql!("SELECT i, f, b, s, x, n FROM t")
            .fetch_all(&pool)
            .await
            .unwrap();
        let row = (-3, 2.5, true, text, bytes, None);
        assert_eq!(rows, [row.clone(), row]);
    }
}
