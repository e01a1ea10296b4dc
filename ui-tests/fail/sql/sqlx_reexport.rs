use mcp_secure::sql::sqlx::SqlitePool;

async fn delete_everything(_pool: &SqlitePool, table: &str) {
    let text = format!("DELETE FROM {table}");
    let _ = mcp_secure::sql::sqlx::query(text.as_str());
    let _ = mcp_secure::sql::sqlx::raw_sql(&text);
    // What `#[derive(FromRow)]` generates code against reads rows; it builds no query.
    let _ = mcp_secure::__private::sqlx::query(&text);
}

fn main() {
    let _ = delete_everything;
}
