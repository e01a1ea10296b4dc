//! SQL built from strings, every way sqlx allows it: what `sql!` exists to rule out.

use sqlx::{Connection, Executor, QueryBuilder, Sqlite, SqliteConnection, SqlitePool};

/// A table name from a caller, pasted into the SQL.
pub async fn delete_everything(pool: &SqlitePool, conn: &mut SqliteConnection, table: &str) {
    let text = format!("DELETE FROM {table}");
    let _ = sqlx::query(&text).execute(pool).await;
    let _ = sqlx::query_as::<_, (i64,)>(&text).fetch_all(pool).await;
    let _ = sqlx::query_scalar::<_, i64>(&text).fetch_one(pool).await;
    let _ = sqlx::raw_sql(&text).execute(pool).await;
    let _ = pool.execute(text.as_str()).await;
    let _ = pool.fetch_optional(text.as_str()).await;
    let _ = pool.prepare(text.as_str()).await;

    let mut builder = QueryBuilder::<Sqlite>::new("DELETE FROM ");
    builder.push(table);
    builder.separated(", ").push(table);
    let _ = builder.build().execute(pool).await;

    let leaked: &'static str = Box::leak(text.into_boxed_str());
    let _ = pool.begin_with(leaked).await;
    let _ = conn.begin_with(leaked).await;
}
