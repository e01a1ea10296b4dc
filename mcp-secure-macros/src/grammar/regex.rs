//! Regexes that mean the same in Rust's `regex` crate (which runs the check) and in ECMA-262
//! (the dialect of JSON Schema's `pattern`, which clients see).

use regex_syntax::ast::{
    self, AssertionKind, Ast, ClassPerlKind, ClassSet, ClassSetItem, GroupKind, HexLiteralKind,
    LiteralKind, RepetitionKind, RepetitionRange, SpecialLiteralKind,
};
use regex_syntax::hir::Look;

/// What the macro needs to know about a checked regex.
#[derive(Debug)]
pub struct RegexInfo {
    /// Anchored at both ends with a finite longest match: it bounds the value's length.
    pub bounded: bool,
}

/// Parses `pattern` with the `regex` crate's parser and refuses syntax outside the subset both
/// dialects read the same way.
pub fn check(pattern: &str) -> Result<RegexInfo, String> {
    let ast = ast::parse::Parser::new().parse(pattern).map_err(|e| {
        format!(
            "invalid regex: {} (at character {})",
            e.kind(),
            e.span().start.offset
        )
    })?;
    portable(&ast, pattern)?;
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(pattern)
        .map_err(|e| format!("invalid regex: {e}"))?;
    // The same build the runtime makes: a pattern over the regex crate's size limit would
    // otherwise compile here and refuse every value at run time.
    regex::Regex::new(pattern).map_err(|e| match e {
        regex::Error::CompiledTooBig(limit) => format!(
            "this regex compiles to more than {limit} bytes, the regex crate's limit, so it could never run: lower the repetition counts (`{{n}}`, `{{n,}}` and `{{n,m}}` copy what they repeat up to n or m times)"
        ),
        e => format!("invalid regex: {e}"),
    })?;
    let props = hir.properties();
    let bounded = props.maximum_len().is_some()
        && props.look_set_prefix().contains(Look::Start)
        && props.look_set_suffix().contains(Look::End);
    Ok(RegexInfo { bounded })
}

const NOT_PORTABLE: &str =
    "is not portable between Rust's regex and ECMA-262 (JSON Schema's `pattern`)";

fn portable(ast: &Ast, pattern: &str) -> Result<(), String> {
    match ast {
        Ast::Empty(_) => Ok(()),
        Ast::Flags(_) => Err(format!(
            "the inline flag `(?i)` {NOT_PORTABLE}: spell the cases out, e.g. `[Aa]`"
        )),
        Ast::Literal(lit) => literal(lit, false),
        Ast::Dot(_) => Err(format!(
            "`.` {NOT_PORTABLE}: Rust's excludes only `\\n`, ECMA's also `\\r`, U+2028 and U+2029; write a class such as `[^\\n\\r]`"
        )),
        Ast::Assertion(a) => match a.kind {
            AssertionKind::StartLine | AssertionKind::EndLine => Ok(()),
            AssertionKind::StartText | AssertionKind::EndText => {
                Err(format!("`\\A` and `\\z` {NOT_PORTABLE}: write `^` and `$`"))
            }
            _ => Err(format!(
                "the word boundary `\\b` {NOT_PORTABLE}: Rust's is Unicode-aware, ECMA's is ASCII-only; match the characters instead"
            )),
        },
        Ast::ClassUnicode(_) => Err(format!(
            "a Unicode class such as `\\p{{L}}` {NOT_PORTABLE} (ECMA needs a flag JSON Schema does not promise); list the characters"
        )),
        Ast::ClassPerl(c) => Err(perl_class(&c.kind)),
        Ast::ClassBracketed(c) => class_set(&c.kind),
        Ast::Repetition(rep) => {
            if let RepetitionKind::Range(range) = &rep.op.kind {
                let text = &pattern[rep.op.span.start.offset..rep.op.span.end.offset];
                if text.starts_with("{,") {
                    return Err(format!(
                        "`{{,n}}` {NOT_PORTABLE} (ECMA reads it as literal text): write `{{0,n}}`"
                    ));
                }
                if let RepetitionRange::Bounded(min, max) = range
                    && min > max
                {
                    return Err(format!(
                        "invalid regex: repetition `{{{min},{max}}}` has min > max"
                    ));
                }
            }
            portable(&rep.ast, pattern)
        }
        Ast::Group(g) => {
            match &g.kind {
                GroupKind::CaptureIndex(_) => {}
                GroupKind::CaptureName {
                    starts_with_p: true,
                    ..
                } => {
                    return Err(format!(
                        "`(?P<name>...)` {NOT_PORTABLE}: write `(?<name>...)`"
                    ));
                }
                GroupKind::CaptureName { .. } => {}
                GroupKind::NonCapturing(flags) if flags.items.is_empty() => {}
                GroupKind::NonCapturing(_) => {
                    return Err(format!(
                        "a flag group such as `(?i:...)` {NOT_PORTABLE}: spell the cases out, e.g. `[Aa]`"
                    ));
                }
            }
            portable(&g.ast, pattern)
        }
        Ast::Alternation(alt) => alt.asts.iter().try_for_each(|a| portable(a, pattern)),
        Ast::Concat(c) => c.asts.iter().try_for_each(|a| portable(a, pattern)),
    }
}

fn perl_class(kind: &ClassPerlKind) -> String {
    match kind {
        ClassPerlKind::Digit => format!(
            "`\\d` {NOT_PORTABLE}: Rust's matches every Unicode digit, ECMA's only 0-9; write `[0-9]`"
        ),
        ClassPerlKind::Word => format!(
            "`\\w` {NOT_PORTABLE}: Rust's is Unicode-aware, ECMA's ASCII-only; write `[A-Za-z0-9_]`"
        ),
        ClassPerlKind::Space => format!(
            "`\\s` {NOT_PORTABLE}: the two whitespace sets differ; list what you mean, e.g. `[ \\t]`"
        ),
    }
}

fn literal(lit: &ast::Literal, in_class: bool) -> Result<(), String> {
    match &lit.kind {
        LiteralKind::Verbatim => Ok(()),
        LiteralKind::Meta if "^$\\.*+?()[]{}|/".contains(lit.c) || (in_class && lit.c == '-') => {
            Ok(())
        }
        LiteralKind::Meta | LiteralKind::Superfluous => Err(format!(
            "the escape `\\{}` {NOT_PORTABLE}: write the character without `\\`",
            lit.c
        )),
        LiteralKind::HexFixed(HexLiteralKind::X | HexLiteralKind::UnicodeShort) => Ok(()),
        LiteralKind::HexFixed(_) | LiteralKind::HexBrace(_) => Err(format!(
            "this escape {NOT_PORTABLE}: write `\\xHH` or `\\uHHHH`"
        )),
        LiteralKind::Octal => Err(format!("an octal escape {NOT_PORTABLE}: write `\\xHH`")),
        LiteralKind::Special(kind) => match kind {
            SpecialLiteralKind::FormFeed
            | SpecialLiteralKind::Tab
            | SpecialLiteralKind::LineFeed
            | SpecialLiteralKind::CarriageReturn
            | SpecialLiteralKind::VerticalTab => Ok(()),
            _ => Err(format!("this escape {NOT_PORTABLE}: write `\\xHH`")),
        },
    }
}

fn class_set(set: &ClassSet) -> Result<(), String> {
    match set {
        ClassSet::BinaryOp(_) => Err(format!(
            "a class operation (`&&`, `--`, `~~`) {NOT_PORTABLE}: list the characters"
        )),
        ClassSet::Item(item) => class_item(item),
    }
}

fn class_item(item: &ClassSetItem) -> Result<(), String> {
    match item {
        ClassSetItem::Empty(_) => Ok(()),
        ClassSetItem::Literal(lit) => literal(lit, true),
        ClassSetItem::Range(r) => {
            literal(&r.start, true)?;
            literal(&r.end, true)
        }
        ClassSetItem::Ascii(_) => Err(format!(
            "a POSIX class such as `[[:alpha:]]` {NOT_PORTABLE}: write `[A-Za-z]`"
        )),
        ClassSetItem::Unicode(_) => Err(format!(
            "a Unicode class such as `\\p{{L}}` {NOT_PORTABLE}; list the characters"
        )),
        ClassSetItem::Perl(p) => Err(perl_class(&p.kind)),
        ClassSetItem::Bracketed(_) => Err(format!(
            "a nested class {NOT_PORTABLE}: merge them into one"
        )),
        ClassSetItem::Union(u) => u.items.iter().try_for_each(class_item),
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn portable_patterns_pass() {
        for p in [
            r"^[a-z0-9-]{1,32}$",
            r"^(?:ab|cd)+$",
            r"^[^\n\r]*$",
            r"^\x41\u00e9[\-.]$",
            r"^(?<year>[0-9]{4})$",
            r"a*?",
            r"^\.\*$",
        ] {
            assert!(check(p).is_ok(), "{p}: {:?}", check(p).err());
        }
        assert!(check(r"^[a-z]{1,32}$").unwrap().bounded);
        assert!(!check(r"^[a-z]+$").unwrap().bounded);
        assert!(!check(r"[a-z]{1,3}").unwrap().bounded);
    }

    #[test]
    fn unportable_patterns_fail() {
        for p in [
            r"(?i)abc",
            r"^.{1,3}$",
            r"\d+",
            r"\w",
            r"\s",
            r"\bword\b",
            r"\Aabc\z",
            r"\p{L}",
            r"[[:alpha:]]",
            r"[a-z&&[^x]]",
            r"(?P<n>a)",
            r"a{,3}",
            r"\x{41}",
            r"\U00000041",
            r"(?i:a)",
            r"[\d]",
            r"\#",
            r"[a[b]]",
        ] {
            assert!(check(p).is_err(), "{p} should be refused");
        }
        assert!(
            check(r"(unclosed")
                .unwrap_err()
                .starts_with("invalid regex")
        );
        assert!(check(r"(?=lookahead)").is_err());
        // Found by the `grammars` fuzz target: portable, but over the regex crate's size limit,
        // so the runtime could never build it.
        let too_big = check("aa{113,}{754,}{113,}{754,}").unwrap_err();
        assert!(
            too_big.starts_with("this regex compiles to more than"),
            "{too_big}"
        );
    }
}
