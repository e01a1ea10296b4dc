//! Reading a template in each dialect: its tokens (with the placeholders checked to be where
//! the dialect sees parameters), one statement, or one expression.

use sqlparser::{
    ast::{Expr, Statement},
    dialect::Dialect,
    parser::Parser,
    tokenizer::{Token, Tokenizer},
};

use super::super::scan::Piece;

/// Where an `{x:ident}` placeholder stands while the template is parsed.
pub(super) const IDENT_MARK: &str = "__mcp_ident_";

/// Tokens dialects or sqlparser read differently from the databases: comments (nested in
/// PostgreSQL, not in SQLite), escape and Unicode strings, identifiers with escapes.
pub(super) fn refuse_ambiguous_tokens(tokens: &[Token]) -> Result<(), String> {
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

/// One expression, the whole of `text`, in `dialect`.
pub(super) fn expression(text: &str, dialect: &dyn Dialect) -> Result<Expr, String> {
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

/// The template's text in `dialect`, its placeholders written `<sigil>N`, and its tokens.
pub(super) fn tokens(
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
pub(super) enum Unread {
    Several,
    Not(String),
}

/// The one statement of `text` in `dialect`.
pub(super) fn statement(text: &str, dialect: &dyn Dialect) -> Result<Statement, Unread> {
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
