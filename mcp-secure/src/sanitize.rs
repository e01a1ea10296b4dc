//! One cleaner for every string that leaves the server: tool results (text blocks, structured
//! content, and JSON carried inside text), refusals, and the messages of tool errors.
//!
//! What is done with each class of character:
//!
//! | class | characters | done |
//! |---|---|---|
//! | terminal escape sequences | ESC and the C1 introducers (CSI, OSC, DCS, SOS, PM, APC), 7- and 8-bit, with their parameters and strings (OSC-8 hyperlinks, titles) | removed whole |
//! | other C1 controls | U+0080–U+009F | removed |
//! | other C0 controls and DEL | NUL, BEL, BS, VT, FF, a CR not followed by LF, U+007F, ... | replaced by U+FFFD `�`, so that damaged text shows |
//! | bidi controls | LRM, RLM, ALM, embeddings, overrides, isolates (U+200E, U+200F, U+061C, U+202A–U+202E, U+2066–U+2069) | removed |
//! | invisible characters | zero-width space, joiners (U+200B–U+200D), word joiner and invisible operators (U+2060–U+2064), U+FEFF | removed |
//! | tag characters | U+E0000–U+E007F (text a person cannot see and a model reads) | removed |
//! | everything else | TAB, LF, CR LF, every visible character | kept |
//!
//! A tool opts out with `#[mcp_tool(raw_output)]`; its errors are still cleaned.
//!
//! ```
//! use mcp_secure::sanitize::clean;
//! assert_eq!(clean("\u{1b}[31mred\u{1b}[0m"), "red");
//! assert_eq!(clean("\u{1b}]0;title\u{7}text"), "text");
//! assert_eq!(clean("abc\u{202E}fed"), "abcfed");
//! assert_eq!(clean("hid\u{E0068}\u{E0069}den\u{200B}"), "hidden");
//! assert_eq!(clean("bell\u{7} and back\u{8}space"), "bell\u{FFFD} and back\u{FFFD}space");
//! assert_eq!(clean("plain\ttext\r\n"), "plain\ttext\r\n");
//! ```

use std::borrow::Cow;

use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::Value;

/// The characters that display as nothing or reorder what is displayed, and are removed from
/// output: bidi marks and controls, zero-width characters, invisible operators, U+FEFF and the
/// tag characters. Audit logs escape them ([`crate::audit::escape`]).
pub const INVISIBLE_RANGES: &[(char, char)] = &[
    ('\u{061C}', '\u{061C}'),
    ('\u{200B}', '\u{200F}'),
    ('\u{202A}', '\u{202E}'),
    ('\u{2060}', '\u{2064}'),
    ('\u{2066}', '\u{2069}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{E0000}', '\u{E007F}'),
];

/// What takes the place of a C0 control or DEL.
pub const REPLACEMENT: char = '\u{FFFD}';

/// Whether `c` is in [`INVISIBLE_RANGES`].
pub fn is_invisible(c: char) -> bool {
    INVISIBLE_RANGES
        .iter()
        .any(|&(lo, hi)| (lo..=hi).contains(&c))
}

/// Whether `c` is a C0 control other than TAB and LF, or DEL (CR is judged with what follows).
fn is_replaced_control(c: char) -> bool {
    (c < '\u{20}' && c != '\t' && c != '\n') || c == '\u{7f}'
}

/// Whether `text` has a byte that begins what [`clean`] changes: a C0 control other than TAB
/// and LF, DEL, or the first byte of the UTF-8 form of a C1 control (`0xC2`), of ALM (`0xD8`),
/// of U+2000–U+2FFF (`0xE2`), of U+FEFF (`0xEF`) or of a tag character (`0xF3`). A false
/// positive only costs the exact test by character.
///
/// Sixteen bytes at a time without a branch inside, which the compiler turns into a few SIMD
/// instructions of the baseline target: a few cache lines of code, fetched anew on each tool
/// call (BENCHMARKS.md, "Tool call").
fn may_need_cleaning(text: &[u8]) -> bool {
    fn any_starts(chunk: &[u8; 16]) -> bool {
        chunk.iter().fold(false, |found, &b| {
            found
                | ((b < 0x20) & (b != b'\t') & (b != b'\n'))
                | (b == 0x7f)
                | (b == 0xc2)
                | (b == 0xd8)
                | (b == 0xe2)
                | (b == 0xef)
                | (b == 0xf3)
        })
    }
    let (chunks, rest) = text.as_chunks::<16>();
    if chunks.iter().any(any_starts) {
        return true;
    }
    // The last bytes, padded with spaces (which nothing changes).
    let mut last = [b' '; 16];
    last[..rest.len()].copy_from_slice(rest);
    any_starts(&last)
}

/// Whether [`clean`] would change `text`.
fn needs_cleaning(text: &str) -> bool {
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let changed = match c {
            '\r' => chars.peek() != Some(&'\n'),
            c => is_replaced_control(c) || ('\u{80}'..='\u{9f}').contains(&c) || is_invisible(c),
        };
        if changed {
            return true;
        }
    }
    false
}

/// `text` cleaned as the [module](self) table says.
pub fn clean(text: &str) -> Cow<'_, str> {
    if !may_need_cleaning(text.as_bytes()) || !needs_cleaning(text) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let introducer = match c {
            '\u{1b}' => match chars.next() {
                Some('[') => Some('['),
                Some(k @ (']' | 'P' | 'X' | '^' | '_')) => Some(k),
                // Any other escape is two characters long (or a lone ESC at the end).
                _ => None,
            },
            '\u{9b}' => Some('['),
            '\u{9d}' => Some(']'),
            '\u{90}' => Some('P'),
            '\u{98}' | '\u{9e}' | '\u{9f}' => Some('X'),
            c if ('\u{80}'..='\u{9f}').contains(&c) || is_invisible(c) => None,
            '\r' if chars.peek() == Some(&'\n') => {
                out.push('\r');
                continue;
            }
            c if c == '\r' || is_replaced_control(c) => {
                out.push(REPLACEMENT);
                continue;
            }
            c => {
                out.push(c);
                continue;
            }
        };
        match introducer {
            // CSI: parameter and intermediate bytes, then one final byte.
            Some('[') => {
                for c in chars.by_ref() {
                    if ('\u{40}'..='\u{7e}').contains(&c) {
                        break;
                    }
                }
            }
            // OSC, DCS, SOS, PM, APC: a string up to BEL or the string terminator.
            Some(_) => {
                while let Some(c) = chars.next() {
                    if c == '\u{7}' || c == '\u{9c}' {
                        break;
                    }
                    if c == '\u{1b}' && chars.peek() == Some(&'\\') {
                        chars.next();
                        break;
                    }
                }
            }
            None => {}
        }
    }
    Cow::Owned(out)
}

/// Cleans every string of `value`, object keys included; `true` if anything changed.
pub fn clean_value(value: &mut Value) -> bool {
    match value {
        Value::String(s) => match clean(s) {
            Cow::Owned(cleaned) => {
                *s = cleaned;
                true
            }
            Cow::Borrowed(_) => false,
        },
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |changed, v| clean_value(v) | changed),
        Value::Object(map) => {
            let mut changed = false;
            if map.keys().any(|k| !matches!(clean(k), Cow::Borrowed(_))) {
                let entries = std::mem::take(map);
                for (k, v) in entries {
                    map.insert(clean(&k).into_owned(), v);
                }
                changed = true;
            }
            map.values_mut()
                .fold(changed, |changed, v| clean_value(v) | changed)
        }
        _ => false,
    }
}

/// A text block cleaned: first any JSON it holds, whose escapes (`\u001b`, `\b`, `\r`) would
/// otherwise carry a control past a character scan to every client that decodes it, then the
/// text.
fn clean_text(text: &mut String) {
    let json_like = matches!(
        text.trim_start().as_bytes().first(),
        Some(b'{' | b'[' | b'"')
    );
    if json_like
        && text.contains('\\')
        && let Ok(mut value) = serde_json::from_str::<Value>(text)
        && clean_value(&mut value)
    {
        let json = if text.contains('\n') {
            serde_json::to_string_pretty(&value)
        } else {
            serde_json::to_string(&value)
        };
        if let Ok(json) = json {
            *text = json;
        }
    }
    if let Cow::Owned(cleaned) = clean(text) {
        *text = cleaned;
    }
}

/// Cleans the structured content, the text blocks and `_meta` of `result`, so that every form
/// of a structured result says the same.
pub(crate) fn clean_result(result: &mut CallToolResult) {
    if let Some(v) = &mut result.structured_content {
        clean_value(v);
    }
    // `_meta` carries a refusal's error, which may quote what the caller sent.
    if let Some(meta) = &mut result.meta {
        let mut value = Value::Object(std::mem::take(&mut meta.0));
        clean_value(&mut value);
        if let Value::Object(cleaned) = value {
            meta.0 = cleaned;
        }
    }
    for block in &mut result.content {
        if let ContentBlock::Text(t) = block {
            clean_text(&mut t.text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_every_kind_of_escape() {
        for (input, expected) in [
            ("\u{1b}[1;31mbold red\u{1b}[0m", "bold red"),
            ("\u{1b}[2J\u{1b}[Hcleared", "cleared"),
            (
                "a\u{1b}]8;;https://evil.example\u{1b}\\link\u{1b}]8;;\u{1b}\\b",
                "alinkb",
            ),
            ("a\u{1b}]8;;https://evil\u{7}link", "alink"),
            ("\u{1b}]0;pwned\u{7}x", "x"),
            ("\u{9b}31mc1 csi", "c1 csi"),
            ("\u{1b}Pdcs payload\u{1b}\\after", "after"),
            ("\u{1b}7saved\u{1b}8", "saved"),
            ("trailing\u{1b}", "trailing"),
            ("\u{202E}gnp.exe", "gnp.exe"),
            ("\u{2066}iso\u{2069}", "iso"),
            ("l\u{200E}r\u{200F}a\u{61C}", "lra"),
            ("z\u{200B}w\u{200C}j\u{200D}w\u{2060}b\u{FEFF}", "zwjwb"),
            ("\u{FEFF}bom", "bom"),
            ("tag\u{E0001}\u{E0041}\u{E007F}s", "tags"),
            ("nul\u{0}bel\u{7}bs\u{8}del\u{7f}", "nul�bel�bs�del�"),
            ("over\rwrite", "over�write"),
            ("end\r", "end�"),
            ("crlf\r\nstays\n\ttab", "crlf\r\nstays\n\ttab"),
            ("عربي and עברית stay", "عربي and עברית stay"),
            (
                "emoji 😀 and ‘quotes’ — stay",
                "emoji 😀 and ‘quotes’ — stay",
            ),
        ] {
            assert_eq!(clean(input), expected, "{input:?}");
        }
    }

    /// Every character the table changes, at every position of a 16-byte chunk and of the
    /// remainder, is seen by the byte prefilter and changed.
    #[test]
    fn the_byte_prefilter_sees_every_character_wherever_it_is() {
        let changed = ('\u{0}'..='\u{2fff}')
            .chain('\u{fe00}'..='\u{ffff}')
            .chain('\u{E0000}'..='\u{E00FF}')
            .filter(|&c| c != '\t' && c != '\n' && clean(&c.to_string()) != c.to_string());
        let mut seen = 0;
        for c in changed {
            seen += 1;
            for at in 0..40 {
                let text = format!("{}{c}{}", "x".repeat(at), "y".repeat(at % 7));
                assert!(may_need_cleaning(text.as_bytes()), "{c:?} at {at}");
                let cleaned = clean(&text);
                assert!(!cleaned.contains(c), "{c:?} at {at}");
            }
        }
        // C0 less TAB and LF (30), DEL, C1 (32), ALM, U+200B–U+200F (5), the embeddings and
        // overrides (5), U+2060–U+2064 (5), the isolates (4), U+FEFF, the tags (128).
        assert_eq!(seen, 30 + 1 + 32 + 1 + 5 + 5 + 5 + 4 + 1 + 128);
        assert!(!may_need_cleaning(
            "plain text, tabs\t and newlines\n, é ü ß 日本".as_bytes()
        ));
    }

    #[test]
    fn structured_strings_and_keys_are_cleaned() {
        let mut r = CallToolResult::structured(
            serde_json::json!({"a": ["\u{1b}[31mx"], "b": {"c": "\u{202E}y"}, "k\u{E0041}": 1}),
        );
        clean_result(&mut r);
        let expected = serde_json::json!({"a": ["x"], "b": {"c": "y"}, "k": 1});
        assert_eq!(r.structured_content.unwrap(), expected);
        let ContentBlock::Text(t) = &r.content[0] else {
            panic!()
        };
        assert_eq!(
            serde_json::from_str::<Value>(&t.text).unwrap(),
            expected,
            "the text block says what the structured content says"
        );
        assert!(!t.text.contains("\\u001b"), "{}", t.text);
    }

    #[test]
    fn json_inside_text_loses_its_escaped_controls() {
        let mut text = r#"{"a":"\u001b]8;;https://evil\u0007link","b":"\u202e"}"#.to_owned();
        clean_text(&mut text);
        assert_eq!(text, r#"{"a":"link","b":""}"#);
        // Every escape JSON has for a control, the short ones too.
        for (escaped, shown) in [
            (r#"["a\bb"]"#, "[\"a\u{fffd}b\"]"),
            (r#"["a\fb"]"#, "[\"a\u{fffd}b\"]"),
            (r#"["a\rb"]"#, "[\"a\u{fffd}b\"]"),
            (r#""\u0000""#, "\"\u{fffd}\""),
            (r#"{"k\u200b":"x\udb40\udc41"}"#, r#"{"k":"x"}"#),
        ] {
            let mut text = escaped.to_owned();
            clean_text(&mut text);
            assert_eq!(text, shown, "{escaped}");
        }
        let mut text = r#"["a\r\nb\t"]"#.to_owned();
        clean_text(&mut text);
        assert_eq!(text, r#"["a\r\nb\t"]"#, "nothing to clean: left as it was");
        // Not JSON: the escape is text that displays as itself.
        let mut text = r"a literal \u001b".to_owned();
        clean_text(&mut text);
        assert_eq!(text, r"a literal \u001b");
    }
}
