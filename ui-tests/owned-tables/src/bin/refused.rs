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
    // An outside attack's probes, each of which compiled and leaked before:
    // a comment SQLite ends where PostgreSQL nests it;
    let _ = sql!("SELECT id FROM notes WHERE owner = {caller} /* /* */ OR title NOT GLOB '' -- */");
    // a condition that closes its own parenthesis, for push_and;
    let _ = sql!("1) OR (1 = 1");
    // a table named as a string, in a template no dialect reads as a statement;
    let _ = sql!("SELECT id, title FROM 'notes' WHERE title NOT GLOB ''");
    // definitions that rename, drop or act on an owned table later;
    let _ = sql!("ALTER TABLE notes RENAME TO loot");
    let _ = sql!("CREATE TRIGGER steal AFTER INSERT ON tags BEGIN UPDATE 'notes' SET owner = NEW.who; END");
    // two tables by one name, one predicate;
    let _ = sql!("SELECT main.notes.id FROM main.notes, temp.notes WHERE temp.notes.owner = {caller}");
    // an update that replaces the row its new key collides with;
    let _ = sql!("UPDATE OR REPLACE notes SET id = {id} WHERE owner = {caller}");
    // a function that reads a table named in a string.
    let _ = sql!("SELECT query_to_xml('SELECT * FROM ' || 'no' || 'tes', true, false, '')");
    // A second attack's: a query form without a table reference,
    let _ = sql!("WITH x AS (TABLE notes) SELECT id, title FROM x");
    // a function in a FROM,
    let _ = sql!("SELECT x FROM table_to_xml('notes', true, false, '') AS t(x)");
    // definitions of the owned table that change what `owner = {caller}` reaches,
    let _ = sql!("CREATE TABLE notes (id INTEGER PRIMARY KEY, owner TEXT NOT NULL COLLATE NOCASE)");
    let _ = sql!("CREATE TABLE notes (id INTEGER PRIMARY KEY, owner TEXT NOT NULL REFERENCES accounts (id) ON UPDATE CASCADE)");
    // a statement that drops tables it does not name,
    let _ = sql!("DROP SCHEMA probe CASCADE");
    // and the test helper that makes any principal the caller, outside a dev-dependency.
    let _ = mcp_secure::testing::as_caller(Principal::new("alice", ["notes:read"]));
    // A grant of every owner's rows is a tool's, by its attribute: nothing else stands for it.
    let _ = sql!("SELECT id FROM notes", all_owners = &"because");
}
