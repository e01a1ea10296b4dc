use mcp_secure::sql::sqlx::SqlitePool;

async fn delete_everything(pool: &SqlitePool, table: &str) {
    let text = format!("DELETE FROM {table}");
    let _ = mcp_secure::sql::execute(text.as_str(), pool).await;
}

fn main() {
    let _ = delete_everything;
}
