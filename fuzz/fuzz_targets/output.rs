//! The sanitizer on arbitrary text, alone and with JSON fragments around and inside it (the
//! text as a JSON string, as a key, as JSON held inside a string, JSON text inside prose):
//! what a client reads afterwards, directly or through its JSON parser, holds no hidden
//! character and no escape of one, and cleaning again changes nothing.

#![no_main]

use std::borrow::Cow;

use libfuzzer_sys::fuzz_target;
use mcp_secure::sanitize::{clean, clean_value, escapes::neutralize, first_hidden};
use serde_json::{Value, json};

/// Text a client reads: nothing hidden, no escape of anything hidden, and stable.
fn check_read(text: &str, from: &str) {
    check(text, from);
}

/// Text a client gets by decoding JSON it found in what it read: the same, less what JSON's
/// short escapes `\b`, `\f` and `\r` decode to, which the sanitizer keeps (the guide, docs/src/known-limits.md:
/// they are everyday text in regular expressions and Windows paths).
fn check_decoded(text: &str, from: &str) {
    // Each shown as a space: removing them would join what stood around them.
    let text: String = text
        .chars()
        .map(|c| match c {
            '\u{8}' | '\u{c}' | '\r' => ' ',
            c => c,
        })
        .collect();
    check(&text, from);
}

fn check(text: &str, from: &str) {
    assert_eq!(first_hidden(text), None, "hidden in {text:?} from {from:?}");
    assert!(
        matches!(neutralize(text), Cow::Borrowed(_)),
        "an escape left in {text:?} from {from:?}"
    );
    assert_eq!(
        clean(text),
        text,
        "cleaning {text:?} again changed it, from {from:?}"
    );
}

/// Every string a JSON parser reads from `value`, keys included; JSON held inside a string is
/// read again, as a client that parses it would.
fn check_strings(value: &Value, from: &str, depth: u32) {
    let read = |s: &str| match depth {
        0 => check_read(s, from),
        _ => check_decoded(s, from),
    };
    match value {
        Value::String(s) => {
            read(s);
            if depth < 4
                && let Ok(inner) = serde_json::from_str::<Value>(s)
            {
                check_strings(&inner, from, depth + 1);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| check_strings(v, from, depth)),
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            read(k);
            check_strings(v, from, depth);
        }),
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    check_read(&clean(&text), &text);

    // The text as JSON values, and as JSON text held in a string.
    let mut value = json!({
        "text": text,
        "keys": { text.as_ref(): [text] },
        "held": json!({ "inner": text }).to_string(),
    });
    clean_value(&mut value);
    check_strings(&value, &text, 0);
    let sent = serde_json::to_string(&value).unwrap();
    // serde_json reads a key spelled as its raw-value marker as no map: such a text is not read
    // back here (nor by the server, which refuses it in a request).
    if let Ok(read) = serde_json::from_str::<Value>(&sent) {
        check_strings(&read, &text, 0);
    }

    // JSON text inside prose, behind a BOM, and as JSON Lines: what leaves is text.
    let document = json!({ "t": text }).to_string();
    for framed in [
        format!("see {document} and more"),
        format!("\u{FEFF}{document}"),
        format!("{document}\n{document}\n"),
    ] {
        check_read(&clean(&framed), &framed);
    }
});
