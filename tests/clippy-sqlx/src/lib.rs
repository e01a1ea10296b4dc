//! SQL built from strings, every way sqlx allows it: what `sql!` exists to rule out.

use sqlx::{Executor, SqlitePool};

/// A table name from a caller, pasted into the SQL.
pub async fn delete_everything(pool: &SqlitePool, table: &str) {
    let text = format!("DELETE FROM {table}");
    let _ = sqlx::query(&text).execute(pool).await;
    let _ = sqlx::query_as::<_, (i64,)>(&text).fetch_all(pool).await;
    let _ = sqlx::query_scalar::<_, i64>(&text).fetch_one(pool).await;
    let _ = sqlx::raw_sql(&text).execute(pool).await;
    let _ = pool.execute(text.as_str()).await;
}
