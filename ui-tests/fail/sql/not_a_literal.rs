use mcp_secure::sql::sql;

fn main() {
    let name = "alice";
    let text = format!("SELECT * FROM notes WHERE owner = '{name}'");
    let _ = sql!(text);
    let _ = sql!(concat!("SELECT * FROM notes WHERE owner = ", "x"));
}
