use mcp_secure::sql::SqlIdent;

#[derive(SqlIdent)]
enum Column {
    #[sql(name = "title; DROP TABLE notes")]
    Title,
    #[sql(name = "1st")]
    First,
}

fn main() {}
