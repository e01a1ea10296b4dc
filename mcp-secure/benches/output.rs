//! The output check's scan for terminal control on text that holds none, the common case:
//! `sanitize::clean` (a 16-byte chunk scan, then nothing to clean) against
//! `memchr::memchr3` over the same bytes for the same three lead bytes, the run-time
//! dispatched search it replaced; on an answer of 45 bytes and on one of 1 MiB.
//!
//! `cargo bench -p mcp-secure --bench output`

use std::hint::black_box;

use mcp_secure::sanitize::clean;

const LENGTHS: [usize; 2] = [45, 1 << 20];

/// `len` bytes of text without control characters.
fn clean_text(len: usize) -> String {
    let text: String = "plain text, numbers 12345 and words; "
        .chars()
        .cycle()
        .take(len)
        .collect();
    assert!(matches!(clean(&text), std::borrow::Cow::Borrowed(_)));
    text
}

#[divan::bench(args = LENGTHS)]
fn clean_scan(bencher: divan::Bencher, len: usize) {
    let text = clean_text(len);
    bencher
        .counter(divan::counter::BytesCount::new(len))
        .bench(|| clean(black_box(&text)).len());
}

/// `len` bytes (about) of text in several scripts, with emoji, and nothing to clean: every
/// character is looked up.
fn unicode_text(len: usize) -> String {
    let text: String = "café, naïve, Grüße; 日本語のテキスト; עברית; emoji 😀👍🏽 and ‘quotes’ — "
        .chars()
        .cycle()
        .scan(0, |bytes, c| {
            *bytes += c.len_utf8();
            (*bytes <= len).then_some(c)
        })
        .collect();
    assert!(matches!(clean(&text), std::borrow::Cow::Borrowed(_)));
    text
}

#[divan::bench(args = LENGTHS)]
fn clean_scan_unicode(bencher: divan::Bencher, len: usize) {
    let text = unicode_text(len);
    bencher
        .counter(divan::counter::BytesCount::new(text.len()))
        .bench(|| clean(black_box(&text)).len());
}

#[divan::bench(args = LENGTHS)]
fn memchr3_baseline(bencher: divan::Bencher, len: usize) {
    let text = clean_text(len);
    // The first call picks the implementation for this CPU; not what is measured.
    assert_eq!(memchr::memchr3(0x1b, 0xc2, 0xe2, text.as_bytes()), None);
    bencher
        .counter(divan::counter::BytesCount::new(len))
        .bench(|| memchr::memchr3(0x1b, 0xc2, 0xe2, black_box(text.as_bytes())));
}

fn main() {
    divan::main();
}
