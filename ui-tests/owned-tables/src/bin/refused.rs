//! What does not compile over owned tables: each `sql!` below forgets, loosens or hands over
//! an owner. Every one is refused at its template, with the predicate to add.

use mcp_secure::{auth::Principal, sql::sql};

fn main() {
    let caller = Principal::new("alice", ["notes:read"]);
    let (id, title) = (7, "groceries");
    // A read without its owner.
    let _ = sql!("SELECT id, title FROM notes WHERE id = {id}");
    // The owner only on one side of an OR.
    let _ = sql!("SELECT id FROM notes WHERE id = {id} OR owner = {caller}");
    // A subquery that reads every owner's rows.
    let _ = sql!("SELECT id FROM tags WHERE note IN (SELECT id FROM notes)");
    // A second reference to the table, unbound.
    let _ = sql!("SELECT a.id FROM notes a JOIN notes b ON a.id = b.id WHERE a.owner = {caller}");
    // A delete and an update without their owner.
    let _ = sql!("DELETE FROM notes WHERE id = {id}");
    let _ = sql!("UPDATE notes SET title = {title} WHERE id = {id}");
    // A row handed to another owner.
    let _ = sql!("UPDATE notes SET owner = 'mallory' WHERE owner = {caller}");
    // An insert that does not store its owner, and an upsert that could overwrite another's row.
    let _ = sql!("INSERT INTO notes (title) VALUES ({title})");
    let _ = sql!(
        "INSERT INTO notes (id, owner, title) VALUES ({id}, {caller}, {title}) ON CONFLICT (id) DO UPDATE SET title = excluded.title"
    );
    // A statement over every row.
    let _ = sql!("DROP TABLE notes");
    // A fragment that would carry an owned table into another statement.
    let _ = sql!(" AND id IN (SELECT id FROM notes)");
    // The owner bound to text rather than the caller.
    let owner = caller.id().to_owned();
    let _ = sql!("SELECT id FROM notes WHERE owner = {owner}");
    // A grant of every owner's rows is a tool's, by its attribute: nothing else stands for it.
    let _ = sql!("SELECT id FROM notes", all_owners = &"because");
}
