//! What leaves a tool: the size cap (the cleaning is [`crate::sanitize`]).

use rmcp::model::{CallToolResult, ContentBlock};

/// For a tool that declares an `outputSchema`: an error result made from a
/// [`ToolError`](super::ToolError) keeps its error in `_meta` only, since structured content
/// must conform to the schema. A result the tool built itself is left as it is.
pub(crate) fn conform_error(result: &mut CallToolResult) {
    if result.is_error == Some(true)
        && result
            .meta
            .as_ref()
            .is_some_and(|meta| meta.0.contains_key(super::ERROR_META_KEY))
    {
        result.structured_content = None;
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
}
