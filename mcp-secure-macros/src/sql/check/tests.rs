use super::*;
use crate::sql::scan::scan;

fn owned() -> OwnedTables {
    OwnedTables::from_keys([
        ("notes", Key::Owner, "owner"),
        ("webhooks", Key::Owner, "owner"),
        ("projects", Key::Tenant, "tenant"),
        ("docs", Key::Owner, "owner"),
        ("docs", Key::Tenant, "tenant"),
    ])
}

fn kinds(template: &str) -> Vec<(usize, Key)> {
    let checked = check(&scan(template).unwrap(), &owned()).unwrap();
    checked.owner_slots.into_iter().collect()
}

#[test]
fn tenant_columns_bind_the_callers_tenant() {
    assert_eq!(
        kinds("SELECT id FROM projects WHERE tenant = {c}"),
        [(1, Key::Tenant)]
    );
    assert_eq!(
        kinds("SELECT id FROM docs WHERE owner = {c} AND tenant = {c}"),
        [(1, Key::Owner), (2, Key::Tenant)]
    );
    assert_eq!(
        kinds("INSERT INTO docs (tenant, owner, title) VALUES ({c}, {c}, {t})"),
        [(1, Key::Tenant), (2, Key::Owner)]
    );
    refused(
        "SELECT id FROM projects WHERE owner = {c}",
        "without binding its tenant: add `AND projects.tenant = {caller}`",
    );
    // A table owned both ways needs both.
    refused(
        "SELECT id FROM docs WHERE owner = {c}",
        "without binding its tenant",
    );
    refused(
        "SELECT id FROM docs WHERE tenant = {c}",
        "without binding its owner",
    );
    refused(
        "INSERT INTO docs (owner, title) VALUES ({c}, {t})",
        "must name its tenant column `tenant`",
    );
    refused(
        "UPDATE projects SET tenant = 'other' WHERE tenant = {c}",
        "the tenant of an owned table",
    );
}

fn run(template: &str) -> Result<Vec<usize>, String> {
    let pieces = scan(template)?;
    check(&pieces, &owned()).map(|c| c.owner_slots.into_keys().collect())
}

#[test]
fn in_a_crate_with_owned_tables_a_template_is_a_statement_or_a_condition() {
    let shape = |t: &str| check(&scan(t).unwrap(), &owned()).map(|c| c.shape);
    assert_eq!(
        shape("SELECT id FROM notes WHERE owner = {c}"),
        Ok(Shape::Statement)
    );
    assert_eq!(shape("SELECT id FROM tags"), Ok(Shape::Statement));
    assert_eq!(shape("tag = {t} OR tag = 'all'"), Ok(Shape::Condition));
    assert_eq!(
        shape("id IN (SELECT note FROM tags WHERE name = {t})"),
        Ok(Shape::Condition)
    );
    for fragment in [
        " AND tag = {t}",
        "SELECT id FROM",
        "1) OR (1 = 1",
        "SELEC 1",
    ] {
        let refused = shape(fragment).unwrap_err();
        assert!(
            refused.contains("one statement or one condition"),
            "{fragment}: {refused}"
        );
    }
    // Without owned tables, fragments compose as before.
    let free = |t: &str| check(&scan(t).unwrap(), &OwnedTables::default()).map(|c| c.shape);
    assert_eq!(free(" AND tag = {t}"), Ok(Shape::Free));
}

#[test]
fn what_dialects_or_the_parser_read_differently_is_refused() {
    // SQLite ends a comment at the first `*/`; PostgreSQL nests them.
    refused(
        "SELECT id FROM notes WHERE owner = {c} /* /* */ OR title NOT GLOB '' -- */",
        "may not hold a comment",
    );
    refused(
        "SELECT id FROM notes WHERE owner = {c} -- x",
        "may not hold a comment",
    );
    refused("SELECT id FROM U&\"\\006eotes\"", "");
    refused("SELECT id FROM tags WHERE name = E'x'", "escape, Unicode");
    // A template only some dialects read as a statement.
    refused(
        "SELECT id, title FROM notes WHERE owner = {c} AND title NOT GLOB ''",
        "",
    );
}

#[test]
fn conditions_and_other_statements_name_no_owned_table_in_any_spelling() {
    refused("id IN (SELECT id FROM notes)", "may not name `notes`");
    refused("id IN (SELECT id FROM 'notes')", "may not name `notes`");
    refused(
        "SELECT 1 FROM tags WHERE id IN (SELECT id FROM {t:ident})",
        "cannot be checked for its owner",
    );
    refused("DROP TABLE {t:ident}", "may not take `{x:ident}`");
    refused(
        "CREATE VIEW everything AS SELECT id FROM {t:ident}",
        "may not take `{x:ident}`",
    );
    refused("ALTER TABLE notes RENAME TO loot", "reaches `notes`");
    refused("ALTER TABLE tags RENAME TO notes", "reaches `notes`");
    refused(
        "CREATE TRIGGER steal AFTER INSERT ON tags BEGIN UPDATE 'notes' SET owner = NEW.who; END",
        "",
    );
    // Refused as no dialect-independent statement, and as a table that replaces rows.
    refused(
        "CREATE TABLE notes (id INTEGER PRIMARY KEY ON CONFLICT REPLACE, owner TEXT)",
        "",
    );
    passes("ALTER TABLE tags ADD COLUMN color TEXT", &[]);
}

#[test]
fn tables_sharing_a_name_and_replacing_updates_are_refused() {
    refused(
        "SELECT main.notes.id FROM main.notes, temp.notes WHERE temp.notes.owner = {c}",
        "give each an alias",
    );
    refused(
        "UPDATE main.notes SET owner = {c} FROM temp.notes WHERE temp.notes.owner = {c}",
        "give each an alias",
    );
    refused(
        "UPDATE OR REPLACE notes SET id = {v} WHERE id = {m} AND owner = {c}",
        "UPDATE OR REPLACE",
    );
}

#[test]
fn only_functions_known_to_read_no_table_are_called() {
    passes(
        "SELECT count(*), lower(title) FROM notes WHERE owner = {c} AND length(title) > {n}",
        &[1],
    );
    refused(
        "SELECT table_to_xml('notes', true, false, '')",
        "is not a function sql! knows",
    );
    refused(
        "SELECT query_to_xml('SELECT owner FROM ' || 'no' || 'tes', true, false, '')",
        "is not a function sql! knows",
    );
    refused(
        "SELECT pg_catalog.lower('x')",
        "is not a function sql! knows",
    );
    refused(
        "lower(title) = my_function({t})",
        "is not a function sql! knows",
    );
}

#[track_caller]
fn passes(template: &str, slots: &[usize]) {
    assert_eq!(run(template).as_deref(), Ok(slots), "{template}");
}

#[track_caller]
fn refused(template: &str, says: &str) {
    match run(template) {
        Ok(slots) => panic!("passed ({slots:?}): {template}"),
        Err(e) => assert!(e.contains(says), "{template}: {e}"),
    }
}

#[test]
fn reads_bind_the_owner() {
    passes("SELECT id FROM notes WHERE owner = {c}", &[1]);
    passes("SELECT id FROM notes WHERE {c} = owner", &[1]);
    passes("SELECT id FROM notes WHERE id = {id} AND owner = {c}", &[2]);
    passes(
        "SELECT id FROM notes WHERE (id = {id} AND (notes.owner = {c}))",
        &[2],
    );
    passes(
        "SELECT id FROM NOTES n WHERE n.OWNER = {c} ORDER BY {s:ident} LIMIT {l}",
        &[1],
    );
    passes("SELECT id FROM main.notes WHERE owner = {c}", &[1]);
    // Tables nobody owns are not checked.
    passes("SELECT id FROM tags WHERE name = {n}", &[]);
    passes("SELECT 1", &[]);
}

#[test]
fn reads_without_their_owner_are_refused() {
    let says = "without binding its owner: add `AND notes.owner = {caller}`";
    refused("SELECT id FROM notes", says);
    refused("SELECT id FROM notes WHERE id = {id}", says);
    refused("SELECT id FROM notes WHERE id = {id} OR owner = {c}", says);
    refused("SELECT id FROM notes WHERE NOT (owner = {c})", says);
    refused("SELECT id FROM notes WHERE owner <> {c}", says);
    refused("SELECT id FROM notes WHERE owner = owner", says);
    refused("SELECT id FROM notes WHERE owner = 'alice'", says);
    refused("SELECT id FROM notes WHERE owner IN {cs:list}", says);
    refused("SELECT id FROM notes WHERE title = {c}", says);
    refused("SELECT id FROM \"Notes\"", "without binding its owner");
    refused("SELECT count(*) FROM notes", says);
    // The other table's predicate does not bind this one.
    refused(
        "SELECT n.id FROM notes n JOIN webhooks w ON w.id = n.id WHERE w.owner = {c}",
        "rows of `notes`",
    );
    // Unqualified with two tables: ambiguous, so not taken as either's.
    refused(
        "SELECT n.id FROM notes n, tags t WHERE owner = {c}",
        "rows of `notes`",
    );
    // A second reference to the table needs its own.
    refused(
        "SELECT a.id FROM notes a JOIN notes b ON a.id = b.id WHERE a.owner = {c}",
        "AND b.owner = {caller}`",
    );
    // A right join keeps the right table's rows whatever its ON says.
    refused(
        "SELECT t.id FROM tags t RIGHT JOIN notes n ON n.owner = {c}",
        "rows of `notes`",
    );
}

#[test]
fn every_query_inside_is_checked() {
    let says = "rows of `notes`";
    refused(
        "SELECT id FROM tags WHERE id IN (SELECT id FROM notes)",
        says,
    );
    refused("SELECT (SELECT title FROM notes LIMIT 1)", says);
    refused("SELECT * FROM (SELECT * FROM notes) AS x", says);
    refused("WITH x AS (SELECT * FROM notes) SELECT * FROM x", says);
    refused(
        "SELECT id FROM notes WHERE owner = {c} UNION SELECT id FROM notes",
        says,
    );
    refused(
        "SELECT id FROM tags WHERE EXISTS (SELECT 1 FROM notes WHERE notes.id = tags.id)",
        says,
    );
    passes(
        "SELECT id FROM tags WHERE id IN (SELECT id FROM notes WHERE owner = {c})",
        &[1],
    );
    passes(
        "WITH mine AS (SELECT * FROM notes WHERE owner = {c}) SELECT * FROM mine",
        &[1],
    );
    passes(
        "SELECT n.id FROM notes n JOIN webhooks w ON w.owner = {c} AND w.id = n.id WHERE n.owner = {d}",
        &[1, 2],
    );
    passes(
        "SELECT t.id FROM tags t LEFT JOIN notes n ON n.id = t.id AND n.owner = {c}",
        &[1],
    );
}

#[test]
fn writes_bind_the_owner() {
    passes(
        "UPDATE notes SET title = {t} WHERE id = {id} AND owner = {c}",
        &[3],
    );
    passes("DELETE FROM notes WHERE id = {id} AND owner = {c}", &[2]);
    passes(
        "INSERT INTO notes (owner, title) VALUES ({c}, {t}) RETURNING id",
        &[1],
    );
    passes(
        "INSERT INTO notes (title, owner) VALUES ({t}, {c}), ({u}, {d})",
        &[2, 4],
    );
    passes(
        "INSERT INTO notes (owner, title) VALUES ({c}, {t}) ON CONFLICT DO NOTHING",
        &[1],
    );
    refused(
        "UPDATE notes SET title = {t}",
        "this query updates rows of `notes`",
    );
    refused(
        "UPDATE notes SET title = {t} WHERE id = {id}",
        "updates rows of `notes`",
    );
    refused("DELETE FROM notes", "deletes rows of `notes`");
    refused(
        "DELETE FROM notes WHERE id = {id} OR owner = {c}",
        "deletes rows of `notes`",
    );
    // Setting the owner to the caller again is binding it, not handing the row over.
    passes("UPDATE notes SET owner = {c} WHERE owner = {d}", &[1, 2]);
}

#[test]
fn rows_cannot_change_owner_or_be_overwritten() {
    refused(
        "UPDATE notes SET owner = 'mallory' WHERE owner = {c}",
        "a row cannot be handed over",
    );
    refused(
        "UPDATE notes SET {col:ident} = {v} WHERE owner = {c}",
        "could be its owner or tenant column",
    );
    refused(
        "INSERT INTO notes (title) VALUES ({t})",
        "must name its owner column `owner`",
    );
    refused(
        "INSERT INTO notes (owner, title) VALUES ('mallory', {t})",
        "must bind its owner column `owner` to the caller",
    );
    refused(
        "INSERT INTO notes (owner, title) VALUES ({c}, {t}), ('mallory', {u})",
        "must bind its owner column",
    );
    refused(
        "INSERT INTO notes (owner, title) SELECT owner, title FROM notes",
        "must take its rows from VALUES",
    );
    refused(
        "INSERT INTO notes (id, owner, title) VALUES ({id}, {c}, {t}) ON CONFLICT (id) DO UPDATE SET title = excluded.title",
        "must not update on conflict",
    );
    refused(
        "INSERT OR REPLACE INTO notes (id, owner) VALUES ({id}, {c})",
        "must not replace rows",
    );
    // MySQL's and SQLite's REPLACE: no statement to PostgreSQL, so refused either way.
    refused("REPLACE INTO notes (id, owner) VALUES ({id}, {c})", "");
}

#[test]
fn statements_over_every_row_are_refused_and_definitions_pass() {
    refused("TRUNCATE notes", "where its owner cannot be checked");
    refused("DROP TABLE notes", "where its owner cannot be checked");
    refused("SELECT * FROM {t:ident}", "cannot be checked for its owner");
    passes(
        "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, owner TEXT NOT NULL)",
        &[],
    );
    passes("CREATE INDEX notes_owner ON notes (owner)", &[]);
    refused(
        "CREATE TABLE copy AS SELECT * FROM notes",
        "rows of `notes`",
    );
}

#[test]
fn the_template_is_one_statement_with_its_placeholders_in_place() {
    let none = OwnedTables::default();
    let parsed = |t: &str| check(&scan(t).unwrap(), &none);
    assert!(parsed("SELECT 1;").is_ok());
    assert!(
        parsed("SELECT 1; SELECT 2")
            .unwrap_err()
            .contains("one statement")
    );
    // What no dialect reads as a statement is a fragment: no `;`, no owned table.
    assert!(parsed("SELEC 1").is_ok());
    assert!(parsed(" AND tag = {t}").is_ok());
    assert!(parsed("").is_ok());
    assert!(
        parsed("a = 1; DROP TABLE t")
            .unwrap_err()
            .contains("one statement")
    );
    refused(
        " AND id IN (SELECT id FROM notes)",
        "one statement or one condition",
    );
    refused("SELEC * FROM notes", "one statement or one condition");
    // Where a dialect's reading of quotes differs from the scanner's (PostgreSQL's escape
    // strings: the placeholder would be inside `E'\' = $1 || '`), the dialect's own tokens
    // are compared with the placeholders, and the template is refused.
    let pieces = vec![
        Piece::Text("SELECT E'\\' = ".into()),
        Piece::Placeholder {
            expr: "x".into(),
            modifier: None,
            at: 0,
        },
        Piece::Text(" || '".into()),
    ];
    let refused = check(&pieces, &none).unwrap_err();
    assert!(
        refused.contains("would not reach the database as a parameter"),
        "{refused}"
    );
    // A statement either dialect reads passes: ILIKE is PostgreSQL's.
    assert!(parsed("SELECT id FROM t WHERE a ILIKE {p} ESCAPE '\\'").is_ok());
}

#[test]
fn a_second_attack_is_refused() {
    // `TABLE notes` keeps no table reference in sqlparser's tree.
    refused(
        "SELECT id, title FROM notes WHERE owner = {c} UNION ALL SELECT id, title FROM (TABLE notes) AS t",
        "where its owner cannot be checked",
    );
    refused(
        "WITH x AS (TABLE notes) SELECT id, title FROM x",
        "where its owner cannot be checked",
    );
    refused("CREATE TABLE loot AS TABLE notes", "");
    // Functions in a FROM.
    refused(
        "SELECT x FROM query_to_xml('SELECT owner, title FROM notes', true, false, '') AS t(x)",
        "is not a FROM item sql! knows",
    );
    refused(
        "SELECT x FROM table_to_xml('notes', true, false, '') AS t(x)",
        "is not a FROM item sql! knows",
    );
    passes("SELECT value FROM json_each({j})", &[]);
    // What the owned table's own definition could change.
    for definition in [
        "CREATE TABLE notes (id BIGINT PRIMARY KEY, owner TEXT NOT NULL) INHERITS (notes_all)",
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, owner TEXT NOT NULL REFERENCES accounts (id) ON UPDATE CASCADE)",
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, owner TEXT NOT NULL COLLATE NOCASE)",
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, FOREIGN KEY (owner) REFERENCES accounts (id) ON DELETE SET NULL)",
    ] {
        refused(definition, "");
    }
    passes(
        "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL DEFAULT '', folder INTEGER REFERENCES folders (id), CHECK (title <> ''))",
        &[],
    );
    // Statements that reach tables without naming them.
    refused("DROP SCHEMA probe CASCADE", "");
    refused("TRUNCATE accounts CASCADE", "");
    refused("DROP TABLE accounts CASCADE", "no statement cascades");
    passes("DROP TABLE IF EXISTS scratch", &[]);
}

#[test]
fn a_third_attack_is_refused() {
    // Functions in statements the ownership rules do not otherwise check.
    refused(
        "CREATE VIEW loot AS SELECT CAST(query_to_xml('select id, owner, title from notes', true, false, '') AS TEXT) AS x",
        "is not a function sql! knows",
    );
    refused(
        "CREATE VIEW loot2 AS SELECT CAST(t AS TEXT) AS x FROM table_to_xml('public.notes', true, false, '') AS t",
        "is not a FROM item sql! knows",
    );
    refused(
        "ALTER TABLE stash ADD COLUMN x TEXT DEFAULT CAST(query_to_xml('select title from notes', true, false, '') AS TEXT)",
        "",
    );
    // Transaction statements on a pooled connection: another caller's statements run inside.
    for statement in ["BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT s"] {
        refused(statement, "a transaction is `pool.begin()`");
    }
    passes(
        "CREATE VIEW recent AS SELECT id FROM tags WHERE length(name) > 0",
        &[],
    );
}
