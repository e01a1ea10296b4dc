use mcp_secure::sql::sql;

fn main() {
    let name = "alice";
    let _ = sql!("SELECT * FROM notes WHERE owner = '{name}'");
    let _ = sql!("SELECT * FROM notes -- {name}\n");
}
