//! `\uXXXX` escapes of hidden characters, wherever they stand in a string: JSON inside text
//! is decoded by whoever reads it, whether or not the whole text parses as JSON (JSON Lines,
//! JSON after a BOM or with prose around it, a token serde refuses but JavaScript accepts, JSON
//! held in a string value). No parse is needed: every escape is found by a scan.
//!
//! An escape is a run of backslashes (each a `\` or the escape of one, `\u005c`, as double
//! encoding writes it) followed by `u` and four hex digits; a high surrogate followed by the
//! same run and a low one is one character. An escape whose character is hidden
//! ([`super::class`]; a lone surrogate is) is rewritten as the escape of U+FFFD with the same
//! run, so that the JSON stays valid at every level of encoding and the damage shows. The
//! emoji exception applies to escapes next to each other (`\ud83d\udc68\u200d\ud83d\udc69`, as
//! `ensure_ascii` writes it).

use std::borrow::Cow;

use super::class;

/// One escape found in the text.
struct Escape {
    /// Where its `u` is (the last unit of the run ends here).
    u: usize,
    /// Where it ends.
    end: usize,
    /// The character, or `None` for a lone surrogate.
    decoded: Option<char>,
}

/// The run of backslash units starting at `at`, as its end (`at` itself if none).
fn run_end(bytes: &[u8], mut at: usize) -> usize {
    loop {
        if bytes.get(at) != Some(&b'\\') {
            return at;
        }
        // `\u005c` is a unit when what follows it goes on to an escape; otherwise it is an
        // escape itself, found by the caller.
        if hex4(bytes, at + 2) == Some(0x5c)
            && bytes.get(at + 1) == Some(&b'u')
            && matches!(bytes.get(at + 6), Some(b'\\' | b'u'))
        {
            at += 6;
        } else {
            at += 1;
        }
    }
}

fn hex4(bytes: &[u8], at: usize) -> Option<u32> {
    let digits = bytes.get(at..at + 4)?;
    digits
        .iter()
        .try_fold(0u32, |n, &d| Some(n * 16 + char::from(d).to_digit(16)?))
}

/// The escape whose run starts at `start`, if one does.
fn escape_at(bytes: &[u8], start: usize) -> Option<Escape> {
    let u = run_end(bytes, start);
    if u == start || bytes.get(u) != Some(&b'u') {
        return None;
    }
    let unit = hex4(bytes, u + 1)?;
    let mut end = u + 5;
    let decoded = match unit {
        0xD800..=0xDBFF => {
            // The low half must follow with the same run.
            let run = &bytes[start..u];
            let low = bytes
                .get(end..end + run.len())
                .filter(|r| *r == run)
                .and_then(|_| {
                    let lu = end + run.len();
                    (bytes.get(lu) == Some(&b'u')).then_some(lu)
                })
                .and_then(|lu| Some((lu, hex4(bytes, lu + 1)?)))
                .filter(|&(_, low)| (0xDC00..=0xDFFF).contains(&low));
            match low {
                Some((lu, low)) => {
                    end = lu + 5;
                    char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                }
                None => None,
            }
        }
        unit => char::from_u32(unit),
    };
    Some(Escape { u, end, decoded })
}

/// Whether an escaped character is rewritten: hidden, less TAB, LF and CR (which JSON text
/// escapes as a matter of course; CR only before LF), less the emoji exception; and every
/// character of escape syntax (a backslash, `/`, ASCII letters and digits, among them `u` and
/// the hex digits), which no JSON encoder escapes, and whose escape spells another escape
/// once decoded (`\\\u0075001b`, `\\u\u0030\u0030\u0031\u0062`: ESC after two decodings).
fn rewritten(before: Option<char>, c: Option<char>, after: Option<char>) -> bool {
    match c {
        None => true,
        Some('\t' | '\n') => false,
        Some('\r') => after != Some('\n'),
        Some(c) if c.is_ascii_alphanumeric() || c == '\\' || c == '/' => true,
        Some(c) => class::is_hidden_at(before, c, after),
    }
}

/// `text` with the escape of every hidden character rewritten (the [module](self) rule).
pub fn neutralize(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    if !bytes.contains(&b'\\') {
        return Cow::Borrowed(text);
    }
    let mut out: Option<String> = None;
    let mut copied = 0;
    // The character before the next escape when they are adjacent, for the emoji exception.
    let mut before: Option<(usize, char)> = None;
    let mut at = 0;
    while let Some(i) = bytes[at..].iter().position(|&b| b == b'\\') {
        let start = at + i;
        let Some(escape) = escape_at(bytes, start) else {
            at = run_end(bytes, start).max(start + 1);
            continue;
        };
        let prior = match before {
            Some((end, c)) if end == start => Some(c),
            _ => text[..start].chars().next_back(),
        };
        let next = escape_at(bytes, escape.end)
            .and_then(|e| e.decoded)
            .or_else(|| text[escape.end..].chars().next());
        if rewritten(prior, escape.decoded, next) {
            let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
            out.push_str(&text[copied..escape.u]);
            out.push_str("ufffd");
            copied = escape.end;
            before = Some((escape.end, '\u{FFFD}'));
        } else {
            before = escape.decoded.map(|c| (escape.end, c));
        }
        at = escape.end;
    }
    match out {
        Some(mut out) => {
            out.push_str(&text[copied..]);
            Cow::Owned(out)
        }
        None => Cow::Borrowed(text),
    }
}

#[cfg(test)]
mod tests {
    use super::neutralize;

    #[test]
    fn escapes_of_hidden_characters_are_rewritten_wherever_they_are() {
        for (text, expected) in [
            (r"\u001b[31m", r"\ufffd[31m"),
            (r"prose \u001B and more", r"prose \ufffd and more"),
            (r#"{"a":"\u200b"}"#, r#"{"a":"\ufffd"}"#),
            (r#""\udead""#, r#""\ufffd""#),
            (r#""\udb40\udc41""#, r#""\ufffd""#),
            (r#""\ud83d\ude00""#, r#""\ud83d\ude00""#),
            (r"\\u001b", r"\\ufffd"),
            (r"\\\\u001b", r"\\\\ufffd"),
            (
                r"\\ud83d\\ude00\\u200d\\ud83d\\ude00",
                r"\\ud83d\\ude00\\u200d\\ud83d\\ude00",
            ),
            (r"\u005cu001b", r"\u005cufffd"),
            (r"\u005c\u005cu001b", r"\u005c\u005cufffd"),
            (r"\u005c", r"\ufffd"),
            // Escape syntax written as escapes: another escape once decoded.
            (r"\\\u0075001b[2J", r"\\\ufffd001b[2J"),
            (
                r"\\u\u0030\u0030\u0031\u0062",
                r"\\u\ufffd\ufffd\ufffd\ufffd",
            ),
            (r"\u005c\u0075001b", r"\u005c\ufffd001b"),
            (r"\u005cb", r"\ufffdb"),
            (r"\u002f \u0041", r"\ufffd \ufffd"),
            // Escapes JSON encoders do write stay.
            (
                r"\u0022\u0027\u003c\u003e\u0026\u00e9",
                r"\u0022\u0027\u003c\u003e\u0026\u00e9",
            ),
            // CR before LF stays; a lone CR does not.
            (r"a\u000d\u000ab\u000dc", r"a\u000d\u000ab\ufffdc"),
            (r"\ufe0f\ufe00", r"\ufffd\ufffd"),
            (
                r"\ud83d\udc68\u200d\ud83d\udc69",
                r"\ud83d\udc68\u200d\ud83d\udc69",
            ),
            (r"😀\u200d😀", r"😀\u200d😀"),
            (r"a\u200db", r"a\ufffdb"),
            (r"\u2764\ufe0f", r"\u2764\ufe0f"),
            (r"\udb40\udc01\udb40\udc41", r"\ufffd\ufffd"),
            (
                r"tab\u0009lf\u000acrlf\u000d\u000a",
                r"tab\u0009lf\u000acrlf\u000d\u000a",
            ),
            (r"C:\users\u00e9\n\t", r"C:\users\u00e9\n\t"),
            (r"\u00", r"\u00"),
            (r"\", r"\"),
            (r"\uzzzz", r"\uzzzz"),
        ] {
            assert_eq!(neutralize(text), expected, "{text}");
        }
    }

    /// What the rewrite leaves decodes to no hidden character, at any level.
    #[test]
    fn json_decodes_to_no_hidden_character() {
        let inner = r#"{"note":"\u001b]8;;https://evil\u0007x\u200b\udead"}"#;
        let outer = serde_json::to_string(&serde_json::json!({ "text": inner })).unwrap();
        let cleaned = neutralize(&outer);
        let once: serde_json::Value = serde_json::from_str(&cleaned).unwrap();
        let twice: serde_json::Value =
            serde_json::from_str(once["text"].as_str().unwrap()).unwrap();
        let note = twice["note"].as_str().unwrap();
        assert!(!note.chars().any(super::class::is_hidden), "{note:?}");
    }
}
