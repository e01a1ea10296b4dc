// mcp-secure's `FromRow` takes the field attributes it implements, and says which.
use mcp_secure::sql::sqlx::FromRow;

#[derive(FromRow)]
#[sqlx(rename_all = "camelCase")]
struct Note {
    id: i64,
    #[sqlx(try_from = "i64")]
    size: u32,
}

#[derive(FromRow)]
struct Borrowed<'r> {
    title: &'r str,
}

fn main() {}
