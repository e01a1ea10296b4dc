use mcp_secure::sql::sql;

struct Opaque;

fn main() {
    let column = String::from("title");
    let _ = sql!("SELECT * FROM notes ORDER BY {column:ident}");
    let value = Opaque;
    let _ = sql!("SELECT * FROM notes WHERE x = {value}");
}
