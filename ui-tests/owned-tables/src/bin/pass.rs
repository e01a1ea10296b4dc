//! What compiles over owned tables: each reference bound to the caller.

use mcp_secure::{auth::Principal, sql::sql};

fn main() {
    let caller = Principal::new("alice", ["notes:read"]);
    let (id, title, tag) = (7, "groceries", Some("home"));
    let _read = sql!("SELECT id, title FROM notes WHERE id = {id} AND owner = {caller}");
    let _joined = sql!(
        "SELECT n.id FROM notes n JOIN webhooks w ON w.owner = {caller} AND w.id = n.id WHERE n.owner = {caller}"
    );
    let _inner = sql!(
        "SELECT id FROM tags WHERE note IN (SELECT id FROM notes WHERE owner = {caller})"
    );
    let _insert = sql!("INSERT INTO notes (owner, title) VALUES ({caller}, {title}) RETURNING id");
    let _update = sql!("UPDATE notes SET title = {title} WHERE id = {id} AND owner = {caller}");
    let _delete = sql!("DELETE FROM notes WHERE id = {id} AND owner = {caller}");
    let _schema = sql!("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, owner TEXT NOT NULL)");
    // Optional filters narrow an owned statement, and a fragment that names no owned table is
    // fine.
    let mut search = sql!("SELECT id FROM notes WHERE owner = {caller}");
    search.push_and(tag.map(|t| sql!("tag = {t} OR tag = 'all'")));
}
