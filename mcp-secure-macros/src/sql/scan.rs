//! The SQL template scanner: where placeholders are, and whether they are in code (bound as
//! parameters) or somewhere they would be text (quotes, comments).

use crate::lexical::{split_placeholder, utf8_width};

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// SQL text, with `{{`/`}}` already turned into `{`/`}`.
    Text(String),
    /// A `{...}` placeholder: its expression text and modifier, with its byte offset.
    Placeholder {
        expr: String,
        modifier: Option<String>,
        at: usize,
    },
}

/// Splits `template` into text and placeholders, refusing what cannot be made safe.
pub fn scan(template: &str) -> Result<Vec<Piece>, String> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Code,
        Quoted,
        QuotedIdent,
        LineComment,
        BlockComment,
    }
    let bytes = template.as_bytes();
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut state = State::Code;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let next = bytes.get(i + 1).copied();
        match state {
            State::Code => {
                match c {
                    b'\'' => state = State::Quoted,
                    b'"' => state = State::QuotedIdent,
                    b'-' if next == Some(b'-') => state = State::LineComment,
                    b'/' if next == Some(b'*') => state = State::BlockComment,
                    b'$' if next == Some(b'$')
                        || next.is_some_and(|n| n.is_ascii_alphabetic() || n == b'_')
                            && is_dollar_tag(&bytes[i..]) =>
                    {
                        return Err("dollar-quoted strings (`$$...$$`) are not supported in sql!; bind the value with {name} instead".into());
                    }
                    b'$' if next.is_some_and(|n| n.is_ascii_digit()) => {
                        return Err("positional parameters are numbered by sql!: write {name} instead of `$1`".into());
                    }
                    b'?' => {
                        return Err("positional parameters are numbered by sql!: write {name} instead of `?`".into());
                    }
                    // A final `;` is dropped; one before more text is left for the parser,
                    // which counts the statements.
                    b';' if template[i + 1..].trim().is_empty() => {
                        i += 1;
                        continue;
                    }
                    b'{' if next == Some(b'{') => {
                        text.push('{');
                        i += 2;
                        continue;
                    }
                    b'}' if next == Some(b'}') => {
                        text.push('}');
                        i += 2;
                        continue;
                    }
                    b'}' => {
                        return Err(
                            "unmatched `}` in the template; write `}}` for a literal brace".into(),
                        );
                    }
                    b'{' => {
                        let close = template[i + 1..].find('}').ok_or(
                            "unclosed `{` in the template; write `{{` for a literal brace",
                        )?;
                        let inner = &template[i + 1..i + 1 + close];
                        if !text.is_empty() {
                            pieces.push(Piece::Text(std::mem::take(&mut text)));
                        }
                        pieces.push(placeholder(inner, i)?);
                        i += close + 2;
                        continue;
                    }
                    _ => {}
                }
            }
            State::Quoted if c == b'\'' => {
                if next == Some(b'\'') {
                    text.push_str("''");
                    i += 2;
                    continue;
                }
                state = State::Code;
            }
            State::QuotedIdent if c == b'"' => state = State::Code,
            State::LineComment if c == b'\n' => state = State::Code,
            State::BlockComment if c == b'*' && next == Some(b'/') => {
                text.push_str("*/");
                i += 2;
                state = State::Code;
                continue;
            }
            State::Quoted | State::QuotedIdent | State::LineComment | State::BlockComment
                if c == b'{' || c == b'}' =>
            {
                let place = match state {
                    State::Quoted => "a quoted string",
                    State::QuotedIdent => "a quoted identifier",
                    _ => "a comment",
                };
                if c == b'{' && template[i..].find('}').is_some() {
                    return Err(format!(
                        "a placeholder inside {place} would be text, not a parameter: write it unquoted, e.g. `WHERE title = {{title}}`, and sql! binds it"
                    ));
                }
            }
            _ => {}
        }
        // Multi-byte characters are copied whole.
        let width = utf8_width(c);
        text.push_str(&template[i..i + width]);
        i += width;
    }
    match state {
        State::Quoted => return Err("unclosed `'` in the template".into()),
        State::QuotedIdent => return Err("unclosed `\"` in the template".into()),
        State::BlockComment => return Err("unclosed `/*` in the template".into()),
        State::Code | State::LineComment => {}
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

fn is_dollar_tag(rest: &[u8]) -> bool {
    let tag_end = rest[1..]
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'));
    matches!(tag_end.map(|e| rest[1 + e]), Some(b'$'))
}

fn placeholder(inner: &str, at: usize) -> Result<Piece, String> {
    let (expr, modifier) = split_placeholder(inner)?;
    if let Some(m) = &modifier
        && !matches!(m.as_str(), "ident" | "list")
    {
        return Err(format!(
            "unknown placeholder modifier `:{m}`; the modifiers are `:ident` (an SqlIdent value) and `:list` (a list of values)"
        ));
    }
    Ok(Piece::Placeholder { expr, modifier, at })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ph(expr: &str, modifier: Option<&str>, at: usize) -> Piece {
        Piece::Placeholder {
            expr: expr.into(),
            modifier: modifier.map(Into::into),
            at,
        }
    }

    #[test]
    fn placeholders_in_code_are_parameters() {
        assert_eq!(
            scan("SELECT id FROM notes WHERE owner = {owner} AND tag IN {tags:list} ORDER BY {sort:ident}").unwrap(),
            vec![
                Piece::Text("SELECT id FROM notes WHERE owner = ".into()),
                ph("owner", None, 35),
                Piece::Text(" AND tag IN ".into()),
                ph("tags", Some("list"), 54),
                Piece::Text(" ORDER BY ".into()),
                ph("sort", Some("ident"), 75),
            ]
        );
        assert!(
            scan("SELECT '{{x}}' , {{}}")
                .unwrap_err()
                .contains("quoted string")
        );
        assert_eq!(
            scan("SELECT {{}}").unwrap(),
            vec![Piece::Text("SELECT {}".into())]
        );
        assert_eq!(
            scan("SELECT {input.title}, {caller.subject()}, {a::b}")
                .unwrap()
                .len(),
            6
        );
        assert_eq!(
            scan("SELECT 1;").unwrap(),
            vec![Piece::Text("SELECT 1".into())]
        );
        assert_eq!(
            scan("SELECT 'it''s', \"col\" -- note\n FROM t /* c */")
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            scan("SELECT 'é' = {x}").unwrap()[0],
            Piece::Text("SELECT 'é' = ".into())
        );
    }

    #[test]
    fn unsafe_templates_are_refused() {
        for (template, expected) in [
            ("SELECT * FROM t WHERE name = '{name}'", "quoted string"),
            ("SELECT \"{col}\" FROM t", "quoted identifier"),
            ("SELECT 1 -- {x}\n", "comment"),
            ("SELECT 1 /* {x} */", "comment"),
            ("SELECT {}", "empty placeholder"),
            ("SELECT { }", "empty placeholder"),
            ("SELECT {x:raw}", "unknown placeholder modifier"),
            ("SELECT {x", "unclosed `{`"),
            ("SELECT x}", "unmatched `}`"),
            ("SELECT 'open", "unclosed `'`"),
            ("SELECT $$ {x} $$", "dollar-quoted"),
            ("SELECT $tag$ x $tag$", "dollar-quoted"),
        ] {
            let err = scan(template).unwrap_err();
            assert!(err.contains(expected), "{template}: {err}");
        }
        assert!(scan("SELECT $1").unwrap_err().contains("positional"));
        assert!(scan("SELECT ?").unwrap_err().contains("positional"));
        assert!(
            scan("SELECT '?', '$1'").is_ok(),
            "inside quotes they are text"
        );
    }
}
