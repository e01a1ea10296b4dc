//! A template parsed as SQL, by sqlparser with each backend's dialect: one statement, every
//! placeholder where the database will see a parameter (not inside a string or comment the
//! scanner misread), and every row of an owned table reached only through its owner.

use std::{
    collections::{BTreeMap, BTreeSet},
    ops::ControlFlow,
};

use sqlparser::{
    ast::{
        AssignmentTarget, BinaryOperator, Expr, FromTable, JoinConstraint, JoinOperator,
        ObjectName, ObjectNamePart, OnConflictAction, OnInsert, SetExpr, SqliteOnConflict,
        Statement, TableFactor, TableObject, TableWithJoins, UpdateTableFromKind, Value, Visit,
        Visitor,
    },
    dialect::{Dialect, PostgreSqlDialect, SQLiteDialect},
    parser::Parser,
    tokenizer::{Token, Tokenizer},
};

use super::{
    owners::{Key, OwnedTables},
    scan::Piece,
};

/// Where an `{x:ident}` placeholder stands while the template is parsed.
const IDENT_MARK: &str = "__mcp_ident_";

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

/// Tokens dialects or sqlparser read differently from the databases: comments (nested in
/// PostgreSQL, not in SQLite), escape and Unicode strings, identifiers with escapes.
fn refuse_ambiguous_tokens(tokens: &[Token]) -> Result<(), String> {
    use sqlparser::tokenizer::Whitespace;
    for t in tokens {
        let why = match t {
            Token::Whitespace(
                Whitespace::SingleLineComment { .. } | Whitespace::MultiLineComment(_),
            ) => "a comment (dialects end them differently)",
            Token::EscapedStringLiteral(_)
            | Token::UnicodeStringLiteral(_)
            | Token::NationalStringLiteral(_)
            | Token::DollarQuotedString(_) => {
                "an escape, Unicode, national or dollar-quoted string"
            }
            Token::Word(w)
                if w.quote_style.is_some()
                    && (w.value.contains('\\') || w.value.starts_with(IDENT_MARK)) =>
            {
                "a quoted identifier with an escape"
            }
            _ => continue,
        };
        return Err(format!(
            "a template of a crate with owned tables may not hold {why}: sqlparser could read it otherwise than the database does"
        ));
    }
    Ok(())
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
            "in a crate with owned tables, sql! takes queries, inserts, updates, deletes, CREATE TABLE, INDEX and VIEW, ALTER TABLE, DROP of a table, view or index, TRUNCATE and transaction statements; not this one (`{}`), which could reach an owned table without naming it",
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
    let mut calls = Calls::default();
    let _ = statement.visit(&mut calls);
    owners.errors.extend(calls.errors);
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
        Statement::Query(_)
        | Statement::Insert(_)
        | Statement::Update(_)
        | Statement::Delete(_)
        | Statement::CreateTable(_)
        | Statement::CreateIndex(_)
        | Statement::CreateView(_)
        | Statement::AlterTable(_)
        | Statement::Truncate(_)
        | Statement::StartTransaction { .. }
        | Statement::Commit { .. }
        | Statement::Rollback { .. }
        | Statement::Savepoint { .. } => true,
        _ => false,
    }
}

/// How many times `tokens` name an owned table other than as a column's qualifier
/// (`notes.owner`).
fn owned_names(tokens: &[Token], owned: &OwnedTables) -> usize {
    let significant: Vec<&Token> = tokens
        .iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .collect();
    significant
        .iter()
        .enumerate()
        .filter(|(i, t)| {
            matches!(t, Token::Word(w) if owned.is_owned(&fold(&w.value)))
                && !matches!(significant.get(i + 1), Some(Token::Period))
        })
        .count()
}

/// Keywords the definition of an owned table may hold, besides its name, its column names and
/// identifiers: column types, `NOT NULL`, `DEFAULT`, keys, `CHECK` and plain references. Not
/// `COLLATE` (it changes what `owner = {caller}` matches), `ON` (cascades that carry changes of
/// other tables into owned rows, conflict clauses that replace rows), `INHERITS`, `PARTITION`,
/// `AS`, `GENERATED`, ….
const DEFINITION_KEYWORDS: &[&str] = &[
    "AND",
    "AUTOINCREMENT",
    "BIGINT",
    "BIGSERIAL",
    "BLOB",
    "BOOL",
    "BOOLEAN",
    "BYTEA",
    "CHAR",
    "CHARACTER",
    "CHECK",
    "CONSTRAINT",
    "CREATE",
    "DATE",
    "DECIMAL",
    "DEFAULT",
    "DOUBLE",
    "EXISTS",
    "FALSE",
    "FLOAT",
    "IF",
    "IN",
    "INT",
    "INTEGER",
    "IS",
    "JSON",
    "JSONB",
    "KEY",
    "NOT",
    "NULL",
    "NUMERIC",
    "OR",
    "PRECISION",
    "PRIMARY",
    "REAL",
    "REFERENCES",
    "SERIAL",
    "SMALLINT",
    "STRICT",
    "TABLE",
    "TEXT",
    "TIME",
    "TIMESTAMP",
    "TIMESTAMPTZ",
    "TRUE",
    "UNIQUE",
    "UUID",
    "VARCHAR",
    "VARYING",
    "WITH",
    "WITHOUT",
    "ZONE",
];

/// The definition of an owned table holds only [`DEFINITION_KEYWORDS`] (and any word where a
/// column's name goes: first in a column definition or a list of columns).
fn owned_definition(tokens: &[Token]) -> Result<(), String> {
    use sqlparser::keywords::Keyword;
    let significant: Vec<&Token> = tokens
        .iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .collect();
    let mut depth = 0usize;
    for (i, t) in significant.iter().enumerate() {
        match t {
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            Token::Word(w) if w.keyword != Keyword::NoKeyword && w.quote_style.is_none() => {
                // First in a column definition, or in a list of columns (a key, a reference).
                let names_a_column = depth >= 1
                    && matches!(
                        significant.get(i.wrapping_sub(1)),
                        Some(Token::LParen | Token::Comma)
                    );
                let word = w.value.to_ascii_uppercase();
                if !names_a_column && !DEFINITION_KEYWORDS.contains(&word.as_str()) {
                    return Err(format!(
                        "the definition of an owned table may not hold `{word}`: it could change which rows `owner = {{caller}}` reaches or carry other tables' changes into them; it holds column types, NOT NULL, DEFAULT, keys, CHECK and plain REFERENCES"
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// One expression, the whole of `text`, in `dialect`.
fn expression(text: &str, dialect: &dyn Dialect) -> Result<Expr, String> {
    let mut parser = Parser::new(dialect)
        .try_with_sql(text)
        .map_err(|e| e.to_string())?;
    let expr = parser.parse_expr().map_err(|e| e.to_string())?;
    if parser.peek_token().token != Token::EOF {
        return Err(format!(
            "more follows the expression: {}",
            parser.peek_token().token
        ));
    }
    Ok(expr)
}

/// Functions a template of a crate with owned tables may call: scalar, aggregate and window
/// functions that read no table. Any other (PostgreSQL's `query_to_xml`, `table_to_xml`,
/// `dblink`, a user's function) could read an owned table by a name in a string.
const FUNCTIONS: &[&str] = &[
    "abs",
    "array_agg",
    "avg",
    "bool_and",
    "bool_or",
    "btrim",
    "ceil",
    "ceiling",
    "char",
    "char_length",
    "character_length",
    "coalesce",
    "concat",
    "concat_ws",
    "count",
    "date",
    "date_trunc",
    "datetime",
    "dense_rank",
    "exp",
    "first_value",
    "floor",
    "greatest",
    "group_concat",
    "hex",
    "ifnull",
    "iif",
    "instr",
    "json",
    "json_agg",
    "json_array",
    "json_array_length",
    "json_build_array",
    "json_build_object",
    "json_extract",
    "json_group_array",
    "json_group_object",
    "json_object",
    "json_type",
    "json_valid",
    "jsonb_agg",
    "jsonb_array_length",
    "jsonb_build_array",
    "jsonb_build_object",
    "jsonb_typeof",
    "julianday",
    "lag",
    "last_value",
    "lead",
    "least",
    "left",
    "length",
    "ln",
    "log",
    "lower",
    "lpad",
    "ltrim",
    "max",
    "min",
    "mod",
    "now",
    "ntile",
    "nullif",
    "octet_length",
    "position",
    "power",
    "rank",
    "repeat",
    "replace",
    "reverse",
    "right",
    "round",
    "row_number",
    "rpad",
    "rtrim",
    "sign",
    "split_part",
    "sqrt",
    "starts_with",
    "strftime",
    "string_agg",
    "strpos",
    "substr",
    "substring",
    "sum",
    "time",
    "to_char",
    "to_json",
    "to_jsonb",
    "to_timestamp",
    "total",
    "trim",
    "trunc",
    "typeof",
    "unicode",
    "unixepoch",
    "upper",
];

/// The functions an expression or statement calls, refused unless known to read no table.
#[derive(Default)]
struct Calls {
    errors: Vec<String>,
    relations: usize,
}

impl Visitor for Calls {
    type Break = ();

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        if let Expr::Function(f) = expr {
            let name = last(&f.name).unwrap_or_default();
            if f.name.0.len() != 1 || !FUNCTIONS.contains(&name.as_str()) {
                self.errors.push(format!(
                    "`{}` is not a function sql! knows to read no table; in a crate with owned tables a template calls only those: {}",
                    f.name,
                    FUNCTIONS.join(", ")
                ));
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_relation(&mut self, _: &ObjectName) -> ControlFlow<()> {
        self.relations += 1;
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        // A table, a subquery, a join, or a function known to read no table (PostgreSQL's
        // `query_to_xml` in a FROM reads a table named in a string).
        let function = match factor {
            TableFactor::Table { args: None, .. }
            | TableFactor::Derived { .. }
            | TableFactor::NestedJoin { .. }
            | TableFactor::UNNEST { .. } => return ControlFlow::Continue(()),
            TableFactor::Table {
                name,
                args: Some(_),
                ..
            }
            | TableFactor::Function { name, .. } => Some(name),
            _ => None,
        };
        let known = function.is_some_and(|name| {
            name.0.len() == 1 && TABLE_FUNCTIONS.contains(&last(name).unwrap_or_default().as_str())
        });
        if !known {
            self.errors.push(format!(
                "`{factor}` is not a FROM item sql! knows to read no table; in a crate with owned tables a FROM holds tables, subqueries, joins, UNNEST and {}",
                TABLE_FUNCTIONS.join(", ")
            ));
        }
        ControlFlow::Continue(())
    }
}

/// Set-returning functions a FROM may call in a crate with owned tables: they read only their
/// arguments.
const TABLE_FUNCTIONS: &[&str] = &[
    "generate_series",
    "json_array_elements",
    "json_each",
    "json_tree",
    "jsonb_array_elements",
    "jsonb_each",
];

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

/// The template's text in `dialect`, its placeholders written `<sigil>N`, and its tokens.
fn tokens(
    pieces: &[Piece],
    dialect: &dyn Dialect,
    sigil: char,
) -> Result<(String, Vec<Token>), String> {
    let mut text = String::new();
    let mut expected = Vec::new();
    let mut n = 0;
    for piece in pieces {
        match piece {
            Piece::Text(t) => text.push_str(t),
            Piece::Placeholder { modifier, .. } => {
                n += 1;
                let mark = match modifier.as_deref() {
                    Some("ident") => format!("{IDENT_MARK}{n}"),
                    _ => format!("{sigil}{n}"),
                };
                if modifier.as_deref() == Some("list") {
                    text.push_str(&format!("({mark})"));
                } else {
                    // Spaced, so that no neighbouring character joins the token.
                    text.push_str(&format!(" {mark} "));
                }
                expected.push(mark);
            }
        }
    }
    // The scanner found the placeholders by its own reading of quotes and comments; the
    // dialect's tokenizer must find the same ones, in the same order, as parameters.
    let tokens = Tokenizer::new(dialect, &text)
        .tokenize()
        .map_err(|e| e.to_string())?;
    let found: Vec<&str> = tokens
        .iter()
        .filter_map(|t| match t {
            Token::Placeholder(p) => Some(p.as_str()),
            Token::Word(w) if w.value.starts_with(IDENT_MARK) && w.quote_style.is_none() => {
                Some(w.value.as_str())
            }
            _ => None,
        })
        .collect();
    if found != expected {
        return Err(
            "a placeholder would not reach the database as a parameter (inside a string, an identifier or a comment as this dialect reads them)"
                .into(),
        );
    }
    Ok((text, tokens))
}

/// Why a text is not one statement.
enum Unread {
    Several,
    Not(String),
}

/// The one statement of `text` in `dialect`.
fn statement(text: &str, dialect: &dyn Dialect) -> Result<Statement, Unread> {
    let mut statements = Parser::new(dialect)
        .try_with_sql(text)
        .and_then(|mut p| p.parse_statements())
        .map_err(|e| Unread::Not(e.to_string()))?;
    match statements.len() {
        1 => Ok(statements.remove(0)),
        0 => Err(Unread::Not("no statement".into())),
        _ => Err(Unread::Several),
    }
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

/// The visitor that finds each reference to an owned table and what binds its owner.
struct Owners<'o> {
    owned: &'o OwnedTables,
    /// Every owned table named anywhere (by address in the tree), and those a rule covered.
    seen: Vec<(usize, String)>,
    covered: BTreeSet<usize>,
    slots: BTreeMap<usize, Key>,
    errors: Vec<String>,
}

/// A table in a `FROM` (or an update's or delete's target): its name, what qualifies its
/// columns, and the join condition that filters it, if any.
struct InScope<'a> {
    name: &'a ObjectName,
    qualifier: String,
    on: Option<&'a Expr>,
}

impl<'o> Owners<'o> {
    fn new(owned: &'o OwnedTables) -> Self {
        Owners {
            owned,
            seen: Vec::new(),
            covered: BTreeSet::new(),
            slots: BTreeMap::new(),
            errors: Vec::new(),
        }
    }

    fn keys_of(&self, name: &ObjectName) -> Option<(String, &'o [(Key, String)])> {
        let table = last(name)?;
        let keys = self.owned.keys(&table);
        (!keys.is_empty()).then_some((table, keys))
    }

    /// Each key column of each owned table of a scope must be bound to the caller:
    /// `alias.owner = {p}` (or `owner = {p}` when it is the scope's only table) among the
    /// top-level `AND`s of the `WHERE`, or of the `ON` of the join that brings it in.
    fn require_bound(&mut self, scope: &[InScope<'_>], filter: Option<&Expr>, verb: &str) {
        // `main.notes` and `temp.notes` are both qualified `notes`: one predicate would seem
        // to bind both.
        for (i, table) in scope.iter().enumerate() {
            let shared = scope[..i]
                .iter()
                .any(|other| !table.qualifier.is_empty() && other.qualifier == table.qualifier);
            let owned = self.keys_of(table.name).is_some();
            if shared && owned {
                self.errors.push(format!(
                    "two tables of one FROM go by `{}`: give each an alias, so that each owner predicate names its table",
                    table.qualifier
                ));
                return;
            }
        }
        for table in scope {
            let Some((name, keys)) = self.keys_of(table.name) else {
                continue;
            };
            let alone = scope.len() == 1;
            let mut all = true;
            for (key, column) in keys {
                let bound = conjuncts(filter)
                    .into_iter()
                    .chain(conjuncts(table.on))
                    .find_map(|e| owner_predicate(e, &table.qualifier, column, alone));
                match bound {
                    Some(slot) => {
                        self.slots.insert(slot, *key);
                    }
                    None => {
                        all = false;
                        self.errors.push(format!(
                            "this query {verb} rows of `{name}`, an owned table ({} in Cargo.toml), without binding its {}: add `AND {}.{column} = {{caller}}` to its WHERE clause, `caller` being the `Principal` whose rows these are",
                            super::owners::SECTION,
                            key.word(),
                            table.qualifier,
                        ));
                    }
                }
            }
            if all {
                self.covered.insert(address(table.name));
            }
        }
    }

    /// Assignments must not hand a row of an owned table to another owner or tenant.
    fn check_assignments(&mut self, scope: &[InScope<'_>], targets: &[(&AssignmentTarget, &Expr)]) {
        let owned: Vec<(String, &[(Key, String)])> =
            scope.iter().filter_map(|t| self.keys_of(t.name)).collect();
        if owned.is_empty() {
            return;
        }
        for (target, value) in targets {
            let names: Vec<&ObjectName> = match target {
                AssignmentTarget::ColumnName(n) => vec![n],
                AssignmentTarget::Tuple(ns) => ns.iter().collect(),
            };
            for n in names {
                let Some(column) = last(n) else { continue };
                if column.starts_with(IDENT_MARK) {
                    self.errors.push(format!(
                        "a column named by an `{{x:ident}}` placeholder is assigned in an update of `{}`, an owned table: it could be its owner or tenant column; name the columns in the template",
                        owned[0].0
                    ));
                    continue;
                }
                for (table, keys) in &owned {
                    for (key, key_column) in keys.iter() {
                        if column != *key_column {
                            continue;
                        }
                        match placeholder(value) {
                            Some(slot) => {
                                self.slots.insert(slot, *key);
                            }
                            None => self.errors.push(format!(
                                "this update sets `{table}.{key_column}`, the {} of an owned table, to something other than the caller's: a row cannot be handed over; leave the column out of SET",
                                key.word()
                            )),
                        }
                    }
                }
            }
        }
    }

    fn insert(&mut self, insert: &sqlparser::ast::Insert) {
        let TableObject::TableName(name) = &insert.table else {
            return;
        };
        let Some((table, keys)) = self.keys_of(name) else {
            return;
        };
        let column = keys[0].1.as_str();
        self.covered.insert(address(name));
        let refuse = |why: &str| {
            format!(
                "an insert into `{table}`, an owned table, must {why}; write `INSERT INTO {table} ({column}, ...) VALUES ({{caller}}, ...)`"
            )
        };
        // Replacing or updating the row a key collides with could touch another owner's row.
        let overwrite = |how: &str| {
            format!(
                "an insert into `{table}`, an owned table, must not {how}: the row it collides with could be another owner's; write `ON CONFLICT DO NOTHING`, or an UPDATE bound to the caller"
            )
        };
        if insert.replace_into || matches!(insert.or, Some(SqliteOnConflict::Replace)) {
            self.errors.push(overwrite("replace rows"));
            return;
        }
        match &insert.on {
            Some(OnInsert::DuplicateKeyUpdate(_)) => {
                self.errors.push(overwrite("update on a duplicate key"));
                return;
            }
            Some(OnInsert::OnConflict(c)) if matches!(c.action, OnConflictAction::DoUpdate(_)) => {
                self.errors.push(overwrite("update on conflict"));
                return;
            }
            _ => {}
        }
        if !insert.assignments.is_empty() {
            self.errors
                .push(refuse("give its rows with VALUES, not SET"));
            return;
        }
        let rows = match insert.source.as_deref().map(|q| q.body.as_ref()) {
            Some(SetExpr::Values(values)) => &values.rows,
            _ => {
                self.errors.push(refuse("take its rows from VALUES"));
                return;
            }
        };
        for (key, column) in keys {
            let Some(position) = insert
                .columns
                .iter()
                .position(|c| last(c).as_deref() == Some(column.as_str()))
            else {
                self.errors.push(refuse(&format!(
                    "name its {} column `{column}`",
                    key.word()
                )));
                return;
            };
            for row in rows {
                match row.content.get(position).and_then(placeholder) {
                    Some(slot) => {
                        self.slots.insert(slot, *key);
                    }
                    None => {
                        self.errors.push(refuse(&format!(
                            "bind its {} column `{column}` to the caller in every row",
                            key.word()
                        )));
                        return;
                    }
                }
            }
        }
    }

    /// Owned tables named somewhere no rule looked (a `TRUNCATE`, a `DROP`, a function): refused.
    fn unreached(&mut self) {
        for (at, table) in &self.seen {
            if !self.covered.contains(at) && self.errors.is_empty() {
                self.errors.push(format!(
                    "this statement reaches `{table}`, an owned table, where its owner cannot be checked (only a query's FROM, an update's or a delete's target and an insert's table are)"
                ));
            }
        }
    }
}

impl Visitor for Owners<'_> {
    type Break = ();

    fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<()> {
        if let Some(name) = last(relation) {
            if name.starts_with(IDENT_MARK) {
                self.errors.push(
                    "a table named by an `{x:ident}` placeholder cannot be checked for its owner; name the table in the template".into(),
                );
            } else if self.owned.is_owned(&name) {
                self.seen.push((address(relation), name));
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &sqlparser::ast::Select) -> ControlFlow<()> {
        let scope = scope_of(&select.from);
        self.require_bound(&scope, select.selection.as_ref(), "reads");
        ControlFlow::Continue(())
    }

    fn pre_visit_statement(&mut self, statement: &Statement) -> ControlFlow<()> {
        match statement {
            Statement::Update(u) => {
                let mut scope = scope_of(std::slice::from_ref(&u.table));
                if let Some(
                    UpdateTableFromKind::BeforeSet(from) | UpdateTableFromKind::AfterSet(from),
                ) = &u.from
                {
                    scope.extend(scope_of(from));
                }
                if matches!(u.or, Some(SqliteOnConflict::Replace))
                    && scope.iter().any(|t| self.keys_of(t.name).is_some())
                {
                    self.errors.push(
                        "an update of an owned table may not be `UPDATE OR REPLACE`: the row its new key collides with could be another owner's".into(),
                    );
                }
                self.require_bound(&scope, u.selection.as_ref(), "updates");
                let targets: Vec<_> = u
                    .assignments
                    .iter()
                    .map(|a| (&a.target, &a.value))
                    .collect();
                self.check_assignments(&scope, &targets);
            }
            Statement::Delete(d) => {
                let (FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from)) = &d.from;
                let mut scope = scope_of(from);
                if let Some(using) = &d.using {
                    scope.extend(scope_of(using));
                }
                self.require_bound(&scope, d.selection.as_ref(), "deletes");
            }
            Statement::Insert(i) => self.insert(i),
            // Definitions name a table without reading its rows; a query inside one (CREATE
            // TABLE AS) is visited as any other.
            Statement::CreateTable(c) if self.keys_of(&c.name).is_some() => {
                self.covered.insert(address(&c.name));
            }
            Statement::CreateIndex(c) if self.keys_of(&c.table_name).is_some() => {
                self.covered.insert(address(&c.table_name));
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

/// The tables of a `FROM` list with their joins, nested joins flattened.
fn scope_of(from: &[TableWithJoins]) -> Vec<InScope<'_>> {
    let mut scope = Vec::new();
    for t in from {
        add_factor(&t.relation, None, &mut scope);
        for join in &t.joins {
            add_factor(
                &join.relation,
                filtering_on(&join.join_operator),
                &mut scope,
            );
        }
    }
    scope
}

fn add_factor<'a>(factor: &'a TableFactor, on: Option<&'a Expr>, scope: &mut Vec<InScope<'a>>) {
    match factor {
        TableFactor::Table { name, alias, .. } => scope.push(InScope {
            name,
            qualifier: alias
                .as_ref()
                .map(|a| a.name.value.to_ascii_lowercase())
                .or_else(|| last(name))
                .unwrap_or_default(),
            on,
        }),
        TableFactor::NestedJoin {
            table_with_joins, ..
        } => scope.extend(scope_of(std::slice::from_ref(table_with_joins))),
        // A derived table or function counts as a table of the scope (an unqualified owner
        // column is then ambiguous), and its own query is checked where it is visited.
        _ => scope.push(InScope {
            name: &EMPTY,
            qualifier: String::new(),
            on: None,
        }),
    }
}

static EMPTY: ObjectName = ObjectName(Vec::new());

/// The `ON` condition of a join that filters its right-hand table's rows (inner and left
/// joins); a right or full join keeps that table's rows whatever its condition says.
fn filtering_on(op: &JoinOperator) -> Option<&Expr> {
    match op {
        JoinOperator::Join(JoinConstraint::On(e))
        | JoinOperator::Inner(JoinConstraint::On(e))
        | JoinOperator::Left(JoinConstraint::On(e))
        | JoinOperator::LeftOuter(JoinConstraint::On(e)) => Some(e),
        _ => None,
    }
}

/// The top-level `AND`ed terms of a condition.
fn conjuncts(e: Option<&Expr>) -> Vec<&Expr> {
    let mut out = Vec::new();
    let mut stack: Vec<&Expr> = e.into_iter().collect();
    while let Some(e) = stack.pop() {
        match e {
            Expr::BinaryOp {
                left,
                op: BinaryOperator::And,
                right,
            } => {
                stack.push(left);
                stack.push(right);
            }
            Expr::Nested(inner) => stack.push(inner),
            other => out.push(other),
        }
    }
    out
}

/// The placeholder of `qualifier.column = {p}` (either way round), or of `column = {p}` when
/// the table is alone in its scope.
fn owner_predicate(e: &Expr, qualifier: &str, column: &str, alone: bool) -> Option<usize> {
    let Expr::BinaryOp {
        left,
        op: BinaryOperator::Eq,
        right,
    } = e
    else {
        return None;
    };
    let is_column = |e: &Expr| match e {
        Expr::Identifier(id) => alone && fold(&id.value) == column,
        Expr::CompoundIdentifier(parts) if parts.len() >= 2 => {
            fold(&parts[parts.len() - 1].value) == column
                && fold(&parts[parts.len() - 2].value) == qualifier
        }
        _ => false,
    };
    if is_column(left) {
        placeholder(right)
    } else if is_column(right) {
        placeholder(left)
    } else {
        None
    }
}

/// The number of a value placeholder (`$3`, `?3`).
fn placeholder(e: &Expr) -> Option<usize> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::Placeholder(p) => p.get(1..)?.parse().ok(),
            _ => None,
        },
        _ => None,
    }
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

fn address(name: &ObjectName) -> usize {
    std::ptr::from_ref(name) as usize
}

#[cfg(test)]
mod tests;
