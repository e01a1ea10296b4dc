use mcp_secure::sql::sql;

fn main() {
    let id = 1;
    let _ = sql!("DELETE FROM notes WHERE id = {id}; DROP TABLE notes");
    let _ = sql!("SELECT * FROM notes WHERE id = {}");
    let _ = sql!("SELECT * FROM notes WHERE id = {id:raw}");
    let _ = sql!("SELECT * FROM notes WHERE id = $1");
    let _ = sql!("SELECT * FROM notes WHERE id = {id}", unused = 5);
}
