//! Pieces of template scanning shared by `sql!` and `html!` that need nothing from the
//! compiler: the fuzz targets (`fuzz/`) compile this file, and the scanners, on their own.

/// Splits the inside of `{…}` into the expression and an optional `:modifier` (a `::` path is
/// part of the expression). An empty expression is an error naming the fix.
pub fn split_placeholder(inner: &str) -> Result<(String, Option<String>), String> {
    let (expr, modifier) = match inner.rsplit_once(':') {
        Some((e, m))
            if !e.ends_with(':')
                && !m.is_empty()
                && m.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
        {
            (e.trim(), Some(m.trim().to_owned()))
        }
        _ => (inner.trim(), None),
    };
    if expr.is_empty() {
        return Err("an empty placeholder `{}` holds nothing: name the value, e.g. `{owner}`; write `{{}}` for literal braces".into());
    }
    Ok((expr.to_owned(), modifier))
}

/// The width in bytes of the UTF-8 character starting with `first`.
pub fn utf8_width(first: u8) -> usize {
    match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}
