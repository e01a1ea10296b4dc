//! What leaves a tool: text stripped of terminal control and bidi overrides, and a size cap.

use std::borrow::Cow;

use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::Value;

/// The characters that reorder displayed text: embeddings, overrides and isolates.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A character that starts what [`strip_terminal_control`] removes: ESC, a C1 control or a
/// bidi control.
fn starts_control(c: char) -> bool {
    c == '\u{1b}' || ('\u{80}'..='\u{9f}').contains(&c) || is_bidi_control(c)
}

/// Whether `text` has a byte that begins what [`strip_terminal_control`] removes: ESC, or the
/// first byte of the UTF-8 form of a C1 control (U+0080–U+009F: `0xC2`) or of a bidi control
/// (U+202A–U+2069: `0xE2`). A false positive only costs the exact test by character.
///
/// Sixteen bytes at a time without a branch inside, which the compiler turns into a few SIMD
/// instructions of the baseline target: a few cache lines of code. `memchr::memchr3`, which it
/// replaced, is faster in a loop that keeps it cached (`benches/output.rs`: 5.6 against 10.7 ns
/// for 45 bytes, 15 against 36 µs for 1 MiB), but in a tool call its code is fetched anew each
/// time; there this scan runs 81 fewer instructions and 27 fewer instruction-cache misses per
/// call (BENCHMARKS.md, "Tool call").
fn may_hold_control(text: &[u8]) -> bool {
    fn any_starts(chunk: &[u8; 16]) -> bool {
        chunk.iter().fold(false, |found, &b| {
            found | (b == 0x1b) | (b == 0xc2) | (b == 0xe2)
        })
    }
    let (chunks, rest) = text.as_chunks::<16>();
    if chunks.iter().any(any_starts) {
        return true;
    }
    // The last bytes, padded with zeros (which are not lead bytes).
    let mut last = [0; 16];
    last[..rest.len()].copy_from_slice(rest);
    any_starts(&last)
}

/// `text` without ANSI/VT escape sequences (CSI, OSC, DCS and the like, in their 7-bit and
/// 8-bit forms) and without bidi embeddings, overrides and isolates. Everything else,
/// newlines and tabs included, is kept.
///
/// ```
/// use mcp_secure::tool::strip_terminal_control;
/// assert_eq!(strip_terminal_control("\u{1b}[31mred\u{1b}[0m"), "red");
/// assert_eq!(strip_terminal_control("\u{1b}]0;title\u{7}text"), "text");
/// assert_eq!(strip_terminal_control("abc\u{202E}fed"), "abcfed");
/// assert_eq!(strip_terminal_control("plain\ttext\n"), "plain\ttext\n");
/// ```
pub fn strip_terminal_control(text: &str) -> Cow<'_, str> {
    if !may_hold_control(text.as_bytes()) || !text.chars().any(starts_control) {
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
            c if ('\u{80}'..='\u{9f}').contains(&c) || is_bidi_control(c) => None,
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

fn strip_value(value: &mut Value) {
    match value {
        Value::String(s) => {
            if let Cow::Owned(clean) = strip_terminal_control(s) {
                *s = clean;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_value),
        Value::Object(map) => map.values_mut().for_each(strip_value),
        _ => {}
    }
}

/// Strips the text blocks and the strings of the structured content of `result`.
pub(crate) fn sanitize(result: &mut CallToolResult) {
    for block in &mut result.content {
        if let ContentBlock::Text(t) = block
            && let Cow::Owned(clean) = strip_terminal_control(&t.text)
        {
            t.text = clean;
        }
    }
    if let Some(v) = &mut result.structured_content {
        strip_value(v);
    }
}

/// `Some(size)` when `result` is larger than `cap` bytes as JSON. Serializes to measure only
/// when the cheap upper bound does not settle it.
pub(crate) fn oversize(result: &CallToolResult, cap: usize) -> Option<usize> {
    if size_bound(result).is_some_and(|bound| bound <= cap) {
        return None;
    }
    let size = size(result);
    (size > cap).then_some(size)
}

/// An upper bound of `result`'s size as JSON, cheap to compute (no serialization), for results
/// made of text blocks and structured content; `None` for anything else.
fn size_bound(result: &CallToolResult) -> Option<usize> {
    // Fields, brackets and flags; every byte of a string may become `\u00XX` (6 bytes).
    let mut bound = 256usize;
    if result.meta.is_some() {
        return None;
    }
    for block in &result.content {
        match block {
            ContentBlock::Text(t) if t.meta.is_none() && t.annotations.is_none() => {
                bound = bound.checked_add(64 + t.text.len().checked_mul(6)?)?;
            }
            _ => return None,
        }
    }
    if let Some(v) = &result.structured_content {
        bound = bound.checked_add(value_bound(v)?)?;
    }
    Some(bound)
}

fn value_bound(value: &serde_json::Value) -> Option<usize> {
    use serde_json::Value;
    Some(match value {
        Value::Null | Value::Bool(_) => 5,
        Value::Number(_) => 32,
        Value::String(s) => 2 + s.len().checked_mul(6)?,
        Value::Array(items) => items
            .iter()
            .try_fold(2usize, |n, v| n.checked_add(1 + value_bound(v)?))?,
        Value::Object(map) => map.iter().try_fold(2usize, |n, (k, v)| {
            n.checked_add(4 + k.len().checked_mul(6)? + value_bound(v)?)
        })?,
    })
}

/// The size of `result` as JSON, in bytes.
fn size(result: &CallToolResult) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    match serde_json::to_writer(&mut count, result) {
        Ok(()) => count.0,
        Err(_) => usize::MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_size_bound_is_never_below_the_size() {
        let text = "plain, \"quoted\", \u{1} control, é, \\ and \u{10348}".repeat(3);
        for result in [
            CallToolResult::success(vec![ContentBlock::text(text.clone())]),
            CallToolResult::success(vec![
                ContentBlock::text(""),
                ContentBlock::text(text.clone()),
            ]),
            CallToolResult::structured(serde_json::json!({
                "a": [1, 2.5, -3e100, null, true, text.clone()],
                text.clone(): {"nested": [{"k": "\u{0}\u{1f}"}]},
            })),
            CallToolResult::structured_error(serde_json::json!({"error": {"code": "x"}})),
        ] {
            let bound = size_bound(&result).unwrap();
            assert!(bound >= size(&result), "{bound} < {}", size(&result));
        }
        let image = CallToolResult::success(vec![ContentBlock::image("AAAA", "image/png")]);
        assert_eq!(
            size_bound(&image),
            None,
            "other blocks are measured exactly"
        );
    }

    #[test]
    fn oversize_gives_the_exact_size_over_the_cap_only() {
        let text = CallToolResult::success(vec![ContentBlock::text("x".repeat(1000))]);
        assert_eq!(oversize(&text, 1 << 20), None);
        assert_eq!(oversize(&text, 100), Some(size(&text)));
        // Over the cheap bound but not over the cap: measured, and it fits.
        assert_eq!(oversize(&text, size(&text)), None);
        let image =
            CallToolResult::success(vec![ContentBlock::image("A".repeat(500), "image/png")]);
        assert_eq!(oversize(&image, 100), Some(size(&image)));
        assert_eq!(oversize(&image, 10_000), None);
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
            ("\u{1b}]0;pwned\u{7}x", "x"),
            ("\u{9b}31mc1 csi", "c1 csi"),
            ("\u{1b}Pdcs payload\u{1b}\\after", "after"),
            ("\u{1b}7saved\u{1b}8", "saved"),
            ("trailing\u{1b}", "trailing"),
            ("\u{202E}gnp.exe", "gnp.exe"),
            ("\u{2066}iso\u{2069}", "iso"),
            ("عربي and עברית stay", "عربي and עברית stay"),
            ("emoji 😀 stays", "emoji 😀 stays"),
        ] {
            assert_eq!(strip_terminal_control(input), expected, "{input:?}");
        }
    }

    #[test]
    fn the_byte_prefilter_sees_every_control_wherever_it_is() {
        let controls = std::iter::once('\u{1b}')
            .chain('\u{80}'..='\u{9f}')
            .chain('\u{2000}'..='\u{206f}')
            .filter(|&c| starts_control(c));
        let mut seen = 0;
        for c in controls {
            seen += 1;
            for at in 0..40 {
                let text = format!("{}{c}{}", "x".repeat(at), "y".repeat(at % 7));
                assert!(may_hold_control(text.as_bytes()), "{c:?} at {at}");
                assert!(!strip_terminal_control(&text).contains(c), "{c:?} at {at}");
            }
        }
        assert_eq!(seen, 1 + 32 + 9);
        assert!(!may_hold_control(
            "plain text, tabs\t and newlines\n, é ü ß 日本".as_bytes()
        ));
    }

    #[test]
    fn structured_strings_are_stripped_too() {
        let mut r = CallToolResult::structured(
            serde_json::json!({"a": ["\u{1b}[31mx"], "b": {"c": "\u{202E}y"}, "n": 1}),
        );
        sanitize(&mut r);
        assert_eq!(
            r.structured_content.unwrap(),
            serde_json::json!({"a": ["x"], "b": {"c": "y"}, "n": 1})
        );
    }
}
