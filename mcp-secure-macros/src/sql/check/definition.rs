//! What the definition (`CREATE TABLE`) of an owned table may hold.

use sqlparser::tokenizer::Token;

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
pub(super) fn owned_definition(tokens: &[Token]) -> Result<(), String> {
    use sqlparser::keywords::Keyword;
    let significant = super::significant(tokens);
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
