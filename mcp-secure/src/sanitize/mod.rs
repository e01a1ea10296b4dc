//! One cleaner for every string that leaves the server: the results of every request (tool
//! results, prompts, resources, completions), refusals, the messages of tool errors, and every
//! message a server sends of its own accord: log messages, progress, requests to the client
//! ([`CleanedTransport`] over stdio and other transports; over streamable HTTP,
//! [`Endpoint`](crate::http::Endpoint) cleans its event streams).
//!
//! Which characters are hidden is one classification from the Unicode Character Database
//! ([`class`], Unicode [`UNICODE_VERSION`]); what is done with each:
//!
//! | class | characters | done |
//! |---|---|---|
//! | terminal escape sequences | ESC and the C1 introducers (CSI, OSC, DCS, SOS, PM, APC), 7- and 8-bit, with their parameters and strings (OSC-8 hyperlinks, titles) | removed whole |
//! | other C1 controls | U+0080–U+009F | removed |
//! | other C0 controls and DEL | NUL, BEL, BS, VT, FF, a CR not followed by LF, U+007F, ... | replaced by U+FFFD `�`, so that damaged text shows |
//! | hidden characters | `Default_Ignorable_Code_Point` (zero-width characters, bidi controls, variation selectors, tags, soft hyphen, ...), categories Cf, Co, Cs, Zl, Zp, Cn, blank letters (Hangul fillers, braille blank) | removed, but for ZWJ and VS15/VS16 inside emoji sequences ([`class`]) |
//! | escapes of these | `\u001b`, `\u200b`, `\udb40\udc41`, a lone surrogate, `\\u001b` as double-encoded JSON has it, a CR not followed by LF, anywhere in the text; and escapes of escape syntax (`\u005c`, `\u0075`, letters and digits), which spell another escape once decoded | rewritten as `\ufffd` ([`escapes`]) |
//! | everything else | TAB, LF, CR LF, every visible character | kept |
//!
//! A tool opts out with `#[mcp_tool(raw_output)]`; its errors are still cleaned.
//!
//! ```
//! use mcp_secure::sanitize::clean;
//! assert_eq!(clean("\u{1b}[31mred\u{1b}[0m"), "red");
//! assert_eq!(clean("\u{1b}]0;title\u{7}text"), "text");
//! assert_eq!(clean("abc\u{202E}fed"), "abcfed");
//! assert_eq!(clean("hid\u{E0068}\u{E0069}den\u{200B}\u{FE0F}"), "hidden");
//! assert_eq!(clean("bell\u{7} and back\u{8}space"), "bell\u{FFFD} and back\u{FFFD}space");
//! assert_eq!(clean("plain\ttext\r\n"), "plain\ttext\r\n");
//! assert_eq!(clean(r#"{"a":"\u001b[31m"}"#), r#"{"a":"\ufffd[31m"}"#);
//! assert_eq!(clean("family 👨\u{200D}👩\u{200D}👧 ❤\u{FE0F}"), "family 👨\u{200D}👩\u{200D}👧 ❤\u{FE0F}");
//! ```

pub mod class;
pub mod escapes;
#[cfg(feature = "http")]
pub(crate) mod events;
mod handler;
pub(crate) mod outgoing;
mod transport;

pub use handler::Cleaned;
pub use transport::CleanedTransport;

use std::borrow::Cow;

use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::Value;

pub use class::{UNICODE_VERSION, is_hidden};

/// What takes the place of a C0 control or DEL.
pub const REPLACEMENT: char = '\u{FFFD}';

/// Whether `c` is hidden, context aside ([`class::is_hidden`]): what audit logs escape and a
/// client name may not hold.
pub fn is_invisible(c: char) -> bool {
    class::is_hidden(c)
}

/// The position (in characters) of the first character of `text` that [`clean`] would remove
/// or replace, emoji sequences judged in context; `None` if there is none.
///
/// ```
/// use mcp_secure::sanitize::first_hidden;
/// assert_eq!(first_hidden("tab\tline\nend\r\n❤\u{FE0F}"), None);
/// assert_eq!(first_hidden("a\rb"), Some(1));
/// assert_eq!(first_hidden("ab\u{FE0F}"), Some(2));
/// ```
pub fn first_hidden(text: &str) -> Option<usize> {
    let mut before = None;
    let mut chars = text.chars().enumerate().peekable();
    while let Some((at, c)) = chars.next() {
        let after = chars.peek().map(|&(_, c)| c);
        let changed = match c {
            '\r' => after != Some('\n'),
            '\t' | '\n' => false,
            c => class::is_hidden_at(before, c, after),
        };
        if changed {
            return Some(at);
        }
        before = Some(c);
    }
    None
}

/// Whether `c` is a C0 control other than TAB and LF, or DEL (CR is judged with what follows).
fn is_replaced_control(c: char) -> bool {
    (c < '\u{20}' && c != '\t' && c != '\n') || c == '\u{7f}'
}

/// Whether `text` has a byte that may begin what [`clean`] changes: a C0 control other than
/// TAB and LF, DEL, or any byte of a character outside ASCII (whose class is looked up). Text
/// in ASCII is the common case, and passes at the speed of this scan.
///
/// Sixteen bytes at a time without a branch inside, which the compiler turns into a few SIMD
/// instructions of the baseline target.
fn may_need_cleaning(text: &[u8]) -> bool {
    fn any_starts(chunk: &[u8; 16]) -> bool {
        chunk.iter().fold(false, |found, &b| {
            found | ((b < 0x20) & (b != b'\t') & (b != b'\n')) | (b >= 0x7f)
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

/// Whether [`clean_chars`] would change `text`.
fn needs_cleaning(text: &str) -> bool {
    first_hidden(text).is_some()
}

/// `text` cleaned as the [module](self) table says: characters, then escapes.
pub fn clean(text: &str) -> Cow<'_, str> {
    let cleaned = clean_chars(text);
    if let Cow::Owned(rewritten) = escapes::neutralize(&cleaned) {
        return Cow::Owned(rewritten);
    }
    cleaned
}

/// The characters of `text` cleaned (the table less its escapes row).
fn clean_chars(text: &str) -> Cow<'_, str> {
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
            c if ('\u{80}'..='\u{9f}').contains(&c) => None,
            '\r' if chars.peek() == Some(&'\n') => {
                out.push('\r');
                continue;
            }
            c if c == '\r' || is_replaced_control(c) => {
                out.push(REPLACEMENT);
                continue;
            }
            c if c.is_ascii() => {
                out.push(c);
                continue;
            }
            c if class::is_hidden_at(out.chars().next_back(), c, chars.peek().copied()) => None,
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

    /// A joiner before a pictograph that is itself removed (reserved, Cn) is removed too, so
    /// that cleaning twice changes nothing and nothing hidden is left.
    #[test]
    fn a_joiner_before_a_removed_pictograph_goes_with_it() {
        for text in [
            "A😀\u{200D}\u{1FC00}B",
            "😀\u{200D}\u{1FFFD}y",
            "😀\u{200D}\u{1F0FF}",
            "❤\u{FE0F}\u{200D}\u{1FC00}",
        ] {
            let once = clean(text);
            assert_eq!(first_hidden(&once), None, "{text:?} -> {once:?}");
            assert_eq!(clean(&once), once, "{text:?}");
        }
        assert_eq!(clean("A😀\u{200D}\u{1FC00}B"), "A😀B");
    }

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

    /// Every character of Unicode: `clean` changes it exactly when the classification hides
    /// it, and the byte prefilter sees it at every position of a 16-byte chunk and of the
    /// remainder.
    #[test]
    fn every_hidden_character_is_seen_and_changed() {
        let mut hidden = 0;
        for c in ('\u{0}'..=char::MAX).filter(|&c| c != '\\') {
            let alone = c.to_string();
            let changed = clean(&alone) != alone;
            assert_eq!(changed, is_hidden(c) && c != '\t' && c != '\n', "{c:?}");
            if !changed {
                continue;
            }
            hidden += 1;
            assert!(!clean(&alone).contains(c), "{c:?}");
            if c.is_ascii() || hidden % 97 == 0 {
                for at in 0..40 {
                    let text = format!("{}{c}{}", "x".repeat(at), "y".repeat(at % 7));
                    assert!(may_need_cleaning(text.as_bytes()), "{c:?} at {at}");
                    assert!(!clean(&text).contains(c), "{c:?} at {at}");
                }
            }
        }
        // The surrogates are no `char`; everything else hidden is some 970 000 characters, most
        // of them private use or unassigned.
        assert!(hidden > 900_000, "{hidden}");
        assert!(!may_need_cleaning(
            "plain text, tabs\t and newlines\n, with \\ and \" inside".as_bytes()
        ));
    }

    #[test]
    fn emoji_sequences_keep_their_joiners_in_text() {
        for (input, expected) in [
            ("👨\u{200D}👩\u{200D}👧", "👨\u{200D}👩\u{200D}👧"),
            ("🏳\u{FE0F}\u{200D}🌈", "🏳\u{FE0F}\u{200D}🌈"),
            ("1\u{FE0F}\u{20E3}", "1\u{FE0F}\u{20E3}"),
            (
                "Meeting notes 😀\u{FE00}\u{E0149}\u{E0120}",
                "Meeting notes 😀",
            ),
            ("😀\u{FE0F}\u{FE0F}\u{FE0E}", "😀\u{FE0F}"),
            // Of two joiners, the one left joins two pictographs: an ordinary sequence.
            ("a\u{200D}b😀\u{200D}\u{200D}😀", "ab😀\u{200D}😀"),
            (
                "🏴\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}",
                "🏴",
            ),
        ] {
            assert_eq!(clean(input), expected, "{input:?}");
        }
    }

    #[test]
    fn hidden_by_property_is_removed_in_text() {
        for c in [
            '\u{AD}',
            '\u{34F}',
            '\u{115F}',
            '\u{1160}',
            '\u{3164}',
            '\u{FFA0}',
            '\u{180E}',
            '\u{206A}',
            '\u{206F}',
            '\u{FFF9}',
            '\u{FFFB}',
            '\u{1D173}',
            '\u{1D17A}',
            '\u{2800}',
            '\u{2028}',
            '\u{2029}',
            '\u{E000}',
            '\u{0378}',
            '\u{FE00}',
            '\u{E0100}',
            '\u{E01EF}',
        ] {
            assert_eq!(clean(&format!("a{c}b")), "ab", "{c:?}");
        }
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

    /// JSON that serde does not take whole, or that is not alone: every shape still loses the
    /// escapes of hidden characters, and what a lenient parser makes of it holds none.
    #[test]
    fn json_in_any_shape_loses_its_escaped_hidden_characters() {
        let esc = r#"{"a":"\u001b]8;;https://evil\u0007x\u200b\udb40\udc41"}"#;
        let deep = format!("{}{esc}{}", "[".repeat(200), "]".repeat(200));
        let double = serde_json::to_string(&serde_json::json!({ "text": esc })).unwrap();
        for text in [
            format!("\u{FEFF}{esc}"),
            format!("\u{200B}{esc}"),
            format!("\u{1b}[0m{esc}"),
            format!("{esc}\n{esc}\n"),
            format!("{esc} and some prose"),
            format!("Result: {esc}"),
            r#"{"a":"\udead\u001b"}"#.to_owned(),
            r#"{"n":1e400,"a":"\u001b"}"#.to_owned(),
            deep,
            double,
        ] {
            let mut cleaned = text.clone();
            clean_text(&mut cleaned);
            for escape in ["\\u001b", "\\u0007", "\\u200b", "\\udb40", "\\udead"] {
                assert!(
                    !cleaned.contains(escape),
                    "{escape} in {cleaned} from {text}"
                );
            }
            assert!(!cleaned.chars().any(is_hidden_but_layout), "{cleaned:?}");
        }
    }

    fn is_hidden_but_layout(c: char) -> bool {
        is_hidden(c) && c != '\n'
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
        // Not JSON: the escape is still rewritten, for whoever decodes it later.
        let mut text = r"a literal \u001b".to_owned();
        clean_text(&mut text);
        assert_eq!(text, r"a literal \ufffd");
    }
}
