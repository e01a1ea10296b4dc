//! A template parsed as SQL, by sqlparser with each backend's dialect: one statement, every
//! placeholder where the database will see a parameter (not inside a string or comment the
//! scanner misread), and every row of an owned table reached only through its owner.

use std::collections::BTreeMap;

use sqlparser::{
    ast::{ObjectName, ObjectNamePart, Statement, Visit},
    dialect::{Dialect, PostgreSqlDialect, SQLiteDialect},
    tokenizer::Token,
};

use super::{
    owners::{Key, OwnedTables},
    scan::Piece,
};
use binding::Owners;
use calls::Calls;
use definition::owned_definition;
use read::{IDENT_MARK, Unread, expression, refuse_ambiguous_tokens, statement, tokens};

/// What a template is, in a crate that declares owned tables.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Shape {
    /// No owned tables are declared: statements and fragments compose freely.
    #[default]
    Free,
    /// One statement, read alike by every dialect and checked.
    Statement,
    /// One expression, read alike by every dialect, naming no owned table: what
    /// [`push_and`] adds to a statement.
    Condition,
}

/// What the check learned: the placeholders (numbered from 1) bound to an owner or tenant
/// column, which must be given the caller; and what the template is.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Checked {
    pub owner_slots: BTreeMap<usize, Key>,
    pub shape: Shape,
}

const DIALECTS: [(&str, &dyn Dialect, char); 2] = [
    ("PostgreSQL", &PostgreSqlDialect {}, '$'),
    ("SQLite", &SQLiteDialect {}, '?'),
];

const ONE_STATEMENT: &str =
    "sql! takes one statement: remove the `;` and write each statement in its own sql!";

/// Parses `pieces` and, when the crate declares owned tables, checks them. Without owned
/// tables, a template some dialect reads as one statement is a statement, and any other is a
/// fragment to compose (with its placeholders where a dialect sees parameters, and no `;`).
/// With them, see [`governed`].
pub fn check(pieces: &[Piece], owned: &OwnedTables) -> Result<Checked, String> {
    if !owned.is_empty() {
        return governed(pieces, owned);
    }
    let mut read = false;
    let mut fragment = None;
    let mut unreadable = Vec::new();
    for (name, dialect, sigil) in DIALECTS {
        let (text, tokens) = match tokens(pieces, dialect, sigil) {
            Ok(found) => found,
            Err(e) => {
                unreadable.push(format!("{name}: {e}"));
                continue;
            }
        };
        match statement(&text, dialect) {
            Ok(_) => read = true,
            Err(Unread::Several) => return Err(ONE_STATEMENT.into()),
            Err(Unread::Not(e)) => {
                unreadable.push(format!("{name}: {e}"));
                fragment.get_or_insert(tokens);
            }
        }
    }
    if read {
        return Ok(Checked::default());
    }
    let Some(tokens) = fragment else {
        return Err(format!(
            "sql! reads its template as SQL and could not: {}",
            unreadable.join("; ")
        ));
    };
    if tokens.iter().any(|t| matches!(t, Token::SemiColon)) {
        return Err(ONE_STATEMENT.into());
    }
    Ok(Checked::default())
}

/// A template of a crate that declares owned tables. It is read by every dialect, and alike:
/// no comments (dialects nest them differently), no escaped strings or identifiers (sqlparser
/// does not decode them as the databases do). It is one statement every dialect parses, checked
/// for every owned table it reaches and every function it calls; or one expression every
/// dialect parses (a condition for `push_and`), which names no owned table. Nothing else
/// compiles: a fragment could become any statement once composed.
fn governed(pieces: &[Piece], owned: &OwnedTables) -> Result<Checked, String> {
    let mut read = Vec::new();
    for (name, dialect, sigil) in DIALECTS {
        let (text, tokens) = tokens(pieces, dialect, sigil).map_err(|e| {
            format!("sql! reads each template of a crate with owned tables in every dialect, and {name} could not: {e}")
        })?;
        refuse_ambiguous_tokens(&tokens)?;
        read.push((name, dialect, text, tokens));
    }
    let mut statements = Vec::new();
    let mut unread = Vec::new();
    for (name, dialect, text, tokens) in &read {
        match statement(text, *dialect) {
            Ok(statement) => statements.push((statement, tokens)),
            Err(Unread::Several) => return Err(ONE_STATEMENT.into()),
            Err(Unread::Not(e)) => unread.push((*name, *dialect, text, tokens, e)),
        }
    }
    if statements.len() == read.len() {
        let mut checked = Checked {
            shape: Shape::Statement,
            ..Checked::default()
        };
        for (statement, tokens) in &statements {
            checked
                .owner_slots
                .extend(check_statement(statement, tokens, owned)?);
        }
        return Ok(checked);
    }
    if !statements.is_empty() {
        let (name, _, _, _, e) = &unread[0];
        return Err(format!(
            "in a crate with owned tables, each dialect must read a template alike; this is a statement to some, and {name} could not read it ({e})"
        ));
    }
    // Not a statement to any dialect: a condition, or nothing that may compile.
    for (name, dialect, text, tokens, statement_error) in &unread {
        let expr = expression(text, *dialect).map_err(|e| {
            format!(
                "in a crate with owned tables, a template is one statement or one condition (for `push_and`); {name} reads neither here (as a statement: {statement_error}; as a condition: {e})"
            )
        })?;
        if let Some(table) = names_owned(tokens, owned) {
            return Err(format!(
                "a condition may not name `{table}`, an owned table: write the statement whole, so that its owner is checked"
            ));
        }
        let mut calls = Calls::default();
        let _ = expr.visit(&mut calls);
        if let Some(e) = calls.errors.into_iter().next() {
            return Err(e);
        }
        if tokens
            .iter()
            .any(|t| matches!(t, Token::Word(w) if w.value.starts_with(IDENT_MARK)))
            && calls.relations > 0
        {
            return Err("a condition with a subquery may not name a table by `{x:ident}`".into());
        }
    }
    Ok(Checked {
        shape: Shape::Condition,
        ..Checked::default()
    })
}

/// The owner and tenant slots of one statement, or why it is refused.
fn check_statement(
    statement: &Statement,
    tokens: &[Token],
    owned: &OwnedTables,
) -> Result<BTreeMap<usize, Key>, String> {
    let marks = tokens
        .iter()
        .any(|t| matches!(t, Token::Word(w) if w.value.starts_with(IDENT_MARK)));
    if !known_kind(statement) {
        return Err(format!(
            "in a crate with owned tables, sql! takes queries, inserts, updates, deletes, CREATE TABLE, INDEX and VIEW, ALTER TABLE, DROP of a table, view or index and TRUNCATE; not this one (`{}`), which could reach an owned table without naming it or share a connection's state between callers (a transaction is `pool.begin()`)",
            statement
                .to_string()
                .split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    if tokens
        .iter()
        .any(|t| matches!(t, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("cascade")))
    {
        return Err("in a crate with owned tables, no statement cascades (a cascade reaches tables it does not name)".into());
    }
    // Every statement calls only functions known to read no table: a view's body or a
    // column's default is evaluated later, by whoever reads it.
    let mut calls = Calls::default();
    let _ = statement.visit(&mut calls);
    if let Some(e) = calls.errors.into_iter().next() {
        return Err(e);
    }
    if !checkable(statement) {
        // The rules know queries, inserts, updates, deletes, tables and indexes; any other
        // statement (DROP, TRUNCATE, ALTER, a view, a trigger, …) may name no owned table, in
        // any spelling, and no table by `{x:ident}`.
        if let Some(table) = names_owned(tokens, owned) {
            return Err(format!(
                "this statement reaches `{table}`, an owned table, where its owner cannot be checked; only queries, inserts, updates, deletes, CREATE TABLE and CREATE INDEX may name an owned table"
            ));
        }
        if marks {
            return Err("a statement other than a query, insert, update or delete may not take `{x:ident}`: it could name an owned table".into());
        }
        return Ok(BTreeMap::new());
    }
    if let Statement::CreateTable(c) = statement
        && owned.is_owned(&last(&c.name).unwrap_or_default())
    {
        owned_definition(tokens)?;
    }
    let mut owners = Owners::new(owned);
    let _ = statement.visit(&mut owners);
    owners.unreached();
    // Every place the statement names an owned table (not as a column's qualifier) must be a
    // table reference a rule covered: `TABLE notes`, an alias or a column of that name are
    // places the parser keeps no table reference for.
    let named = owned_names(tokens, owned);
    if named > owners.covered.len() && owners.errors.is_empty() {
        owners.errors.push(format!(
            "this statement names an owned table ({}) where its owner cannot be checked (`TABLE notes`, or an alias or column of that name); write it as a FROM of its own with its owner predicate",
            super::owners::SECTION
        ));
    }

    match owners.errors.into_iter().next() {
        Some(e) => Err(e),
        None => Ok(owners.slots),
    }
}

/// The statement kinds sql! takes in a crate with owned tables.
fn known_kind(statement: &Statement) -> bool {
    use sqlparser::ast::ObjectType;
    match statement {
        Statement::Drop { object_type, .. } => {
            matches!(
                object_type,
                ObjectType::Table | ObjectType::View | ObjectType::Index
            )
        }
        _ if checkable(statement) => true,
        // Not BEGIN, COMMIT or ROLLBACK: on a pooled connection, another caller's statements
        // would run inside them (a transaction is `pool.begin()`, which holds its connection).
        Statement::CreateView(_) | Statement::AlterTable(_) | Statement::Truncate(_) => true,
        _ => false,
    }
}

/// How many times `tokens` name an owned table other than as a column's qualifier
/// (`notes.owner`).
fn owned_names(tokens: &[Token], owned: &OwnedTables) -> usize {
    let significant = significant(tokens);
    significant
        .iter()
        .enumerate()
        .filter(|(i, t)| {
            matches!(t, Token::Word(w) if owned.is_owned(&fold(&w.value)))
                && !matches!(significant.get(i + 1), Some(Token::Period))
        })
        .count()
}

/// An owned table named by any token of `tokens`: a word, a quoted name, or a string (SQLite
/// takes `'notes'` for a table name); a column of the same name counts too (never fewer
/// refusals).
fn names_owned(tokens: &[Token], owned: &OwnedTables) -> Option<String> {
    tokens.iter().find_map(|t| {
        let text = match t {
            Token::Word(w) => &w.value,
            Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) => s,
            _ => return None,
        };
        let folded = fold(text);
        owned.is_owned(&folded).then_some(folded)
    })
}

/// The tokens that are not whitespace (nor, since they are refused, comments).
fn significant(tokens: &[Token]) -> Vec<&Token> {
    tokens
        .iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .collect()
}

/// Whether the ownership rules know this kind of statement.
fn checkable(statement: &Statement) -> bool {
    matches!(
        statement,
        Statement::Query(_)
            | Statement::Insert(_)
            | Statement::Update(_)
            | Statement::Delete(_)
            | Statement::CreateTable(_)
            | Statement::CreateIndex(_)
    )
}

/// A name's last part, folded: SQLite compares even quoted names without case, so the check
/// treats `"Notes"` as `notes` (never fewer refusals).
fn last(name: &ObjectName) -> Option<String> {
    match name.0.last()? {
        ObjectNamePart::Identifier(id) => Some(fold(&id.value)),
        ObjectNamePart::Function(_) => None,
    }
}

fn fold(s: &str) -> String {
    s.to_ascii_lowercase()
}

mod binding;
mod calls;
mod definition;
mod read;
#[cfg(test)]
mod tests;
