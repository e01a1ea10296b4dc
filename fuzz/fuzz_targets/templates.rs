//! The `sql!` and `html!` template scanners on arbitrary templates (any bytes of UTF-8, braces,
//! quotes, comments, multi-byte characters): they answer without panicking, and every
//! placeholder they accept holds an expression and starts at a `{` of the template.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_secure_fuzz::{html_scan, sql_scan};

fuzz_target!(|data: &[u8]| {
    let Ok(template) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(pieces) = sql_scan::scan(template) {
        for piece in &pieces {
            if let sql_scan::Piece::Placeholder { expr, at, .. } = piece {
                assert!(!expr.trim().is_empty(), "{template:?}");
                assert_eq!(template.as_bytes()[*at], b'{', "{template:?}");
            }
        }
    }
    if let Ok(pieces) = html_scan::scan(template) {
        let braces = template.matches('{').count();
        let mut placeholders = 0;
        for piece in &pieces {
            if let html_scan::Piece::Placeholder { expr, .. } = piece {
                assert!(!expr.trim().is_empty(), "{template:?}");
                placeholders += 1;
            }
        }
        assert!(placeholders <= braces, "{template:?}");
    }
});
