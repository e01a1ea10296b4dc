//! The little languages of the attributes: whatever the text, the checks answer without
//! panicking, the macro's scope check agrees with the runtime one, an accepted rate survives
//! the round trip through `RateSpec`'s display, and an accepted regex compiles with `regex`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_secure::rate::RateSpec;
use mcp_secure_fuzz::grammar::{self, Rate};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    assert_eq!(
        grammar::check_scope(text).is_ok(),
        mcp_secure::auth::check_scope(text).is_ok(),
        "the macro and the runtime disagree on the scope {text:?}"
    );
    if let Ok(Rate::Limited {
        count,
        period_ms,
        burst,
    }) = grammar::parse_rate(text)
    {
        assert!(
            count > 0 && burst > 0 && burst <= count && period_ms > 0,
            "{text:?}"
        );
        let spec = RateSpec::new(count, period_ms).with_burst(burst);
        let shown = spec.to_string();
        // Periods the grammar has no unit for are shown in milliseconds, which it does not read.
        if !shown.contains("ms") {
            assert_eq!(
                grammar::parse_rate(&shown),
                Ok(Rate::Limited {
                    count,
                    period_ms,
                    burst
                }),
                "{text:?} shown as {shown:?}"
            );
        }
    }
    let _ = grammar::check_rate_key(text);
    if let Ok(size) = grammar::parse_size(text) {
        assert!(size > 0, "{text:?}");
    }
    if grammar::check_tool_name(text).is_ok() {
        assert!(!text.is_empty() && text.len() <= 128, "{text:?}");
    }
    if grammar::regex::check(text).is_ok() {
        regex::Regex::new(text).unwrap_or_else(|e| panic!("accepted {text:?} but regex says {e}"));
    }
});
