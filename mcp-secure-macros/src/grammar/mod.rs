//! The little languages inside string literals, checked while expanding: scopes, rates, tool
//! names and regexes.

pub mod regex;

/// `resource:action`: lowercase ASCII letters, digits, `-`, `_`, `.`; two or more segments.
/// Mirrors `mcp_secure::auth::check_scope`.
pub fn check_scope(scope: &str) -> Result<(), String> {
    let example = "write it as `resource:action`, e.g. \"notes:read\"";
    if scope.is_empty() {
        return Err(format!("a scope cannot be empty; {example}"));
    }
    let segments: Vec<&str> = scope.split(':').collect();
    if segments.len() < 2 {
        return Err(format!("`{scope}` has a single segment; {example}"));
    }
    if segments.iter().any(|s| s.is_empty()) {
        return Err(format!("`{scope}` has an empty segment; {example}"));
    }
    if let Some(bad) = scope.chars().find(|&c| {
        !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.' | ':'))
    }) {
        let hint = if bad.is_ascii_uppercase() {
            " (scopes are lowercase)"
        } else {
            ""
        };
        return Err(format!(
            "`{bad}` is not allowed in a scope{hint}: use lowercase ASCII letters, digits, `-`, `_`, `.`, with `:` between segments"
        ));
    }
    Ok(())
}

/// A parsed `rate = "..."`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rate {
    /// `"unlimited"`: an explicit opt-out.
    Unlimited,
    /// `count` calls per `period_ms`, at most `burst` at once.
    Limited {
        count: u32,
        period_ms: u64,
        burst: u32,
    },
}

/// `N/unit` with unit `s`, `min`, `h` or `d` (also `sec`, `second`, `minute`, `hour`, `day`),
/// optionally `, burst = B` with 1 <= B <= N; or `unlimited`.
pub fn parse_rate(rate: &str) -> Result<Rate, String> {
    let usage = "write a rate as \"N/s\", \"N/min\", \"N/h\" or \"N/d\", optionally with \", burst = B\", or \"unlimited\"";
    let rate = rate.trim();
    if rate == "unlimited" {
        return Ok(Rate::Unlimited);
    }
    let (spec, options) = match rate.split_once(',') {
        Some((spec, options)) => (spec.trim(), Some(options.trim())),
        None => (rate, None),
    };
    let Some((count, unit)) = spec.split_once('/') else {
        return Err(format!("`{rate}` is not a rate; {usage}"));
    };
    let (count, unit) = (count.trim(), unit.trim());
    let (period_ms, word): (u64, &str) = match unit {
        "s" | "sec" | "second" => (1_000, "second"),
        "min" | "minute" => (60_000, "minute"),
        "h" | "hour" => (3_600_000, "hour"),
        "d" | "day" => (86_400_000, "day"),
        other => return Err(format!("unknown unit `{other}`; {usage}")),
    };
    let count = positive(
        count,
        &format!("calls per {word}"),
        &format!("\"10/{unit}\""),
    )?;
    let burst = match options {
        None => count,
        Some(options) => {
            let Some(("burst", value)) = options.split_once('=').map(|(k, v)| (k.trim(), v.trim()))
            else {
                return Err(format!(
                    "`{options}` is not a rate option; the only one is `burst = B`, e.g. \"{count}/{unit}, burst = 5\""
                ));
            };
            let burst = positive(
                value,
                "calls in a burst",
                &format!("\"{count}/{unit}, burst = 5\""),
            )?;
            if burst > count {
                return Err(format!(
                    "a burst of {burst} is larger than the {count} calls the rate allows per {word}; use a burst of at most {count}, or raise the rate"
                ));
            }
            burst
        }
    };
    Ok(Rate::Limited {
        count,
        period_ms,
        burst,
    })
}

fn positive(text: &str, what: &str, example: &str) -> Result<u32, String> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "`{text}` is not a number of {what}; write it in digits, e.g. {example}"
        ));
    }
    match text.parse::<u32>() {
        Ok(0) => Err(format!(
            "0 {what} refuses every call; give a positive number, or remove the tool"
        )),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("{text} {what} is too many (at most {})", u32::MAX)),
    }
}

/// `caller`, `client`, `ip` or `global`: whose calls share one limit.
pub fn check_rate_key(key: &str) -> Result<(), String> {
    match key {
        "caller" | "client" | "ip" | "global" => Ok(()),
        other => Err(format!(
            "`{other}` is not a rate key; write \"caller\" (each caller, the default), \"client\" (each OAuth client), \"ip\" (each client address) or \"global\" (everyone together)"
        )),
    }
}

/// A size: `N` followed by `B`, `KB`, `KiB`, `MB` or `MiB` (e.g. `"64KiB"`); positive.
pub fn parse_size(size: &str) -> Result<u64, String> {
    let usage = "write a size as \"N\" with a unit: B, KB, KiB, MB or MiB, e.g. \"64KiB\"";
    let size = size.trim();
    let digits = size
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '_')
        .count();
    let (number, unit) = size.split_at(digits);
    let number: u64 = number
        .replace('_', "")
        .parse()
        .map_err(|_| format!("`{size}` does not start with a number; {usage}"))?;
    let factor: u64 = match unit.trim() {
        "B" => 1,
        "KB" => 1_000,
        "KiB" => 1 << 10,
        "MB" => 1_000_000,
        "MiB" => 1 << 20,
        "" => return Err(format!("`{size}` has no unit; {usage}")),
        other => return Err(format!("unknown unit `{other}`; {usage}")),
    };
    match number.checked_mul(factor) {
        Some(0) => Err("a size of 0 refuses every result; give a positive size".into()),
        Some(n) if n > 1 << 30 => Err(format!(
            "`{size}` is more than 1 GiB; a tool result that large is not a tool result"
        )),
        Some(n) => Ok(n),
        None => Err(format!("`{size}` is too large")),
    }
}

/// An MCP tool name: 1 to 128 of `A-Z a-z 0-9 _ - .`.
pub fn check_tool_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 128 {
        return Err("a tool name has 1 to 128 characters".into());
    }
    if let Some(bad) = name
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return Err(format!(
            "`{bad}` is not allowed in a tool name: use ASCII letters, digits, `_`, `-` and `.`"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates() {
        let limited = |count, period_ms, burst| {
            Ok(Rate::Limited {
                count,
                period_ms,
                burst,
            })
        };
        assert_eq!(parse_rate("10/s"), limited(10, 1_000, 10));
        assert_eq!(parse_rate("10/sec"), limited(10, 1_000, 10));
        assert_eq!(parse_rate("30/min"), limited(30, 60_000, 30));
        assert_eq!(parse_rate("1/h"), limited(1, 3_600_000, 1));
        assert_eq!(parse_rate("5/day"), limited(5, 86_400_000, 5));
        assert_eq!(parse_rate("100/min, burst = 20"), limited(100, 60_000, 20));
        assert_eq!(parse_rate(" 100 / min ,burst=1 "), limited(100, 60_000, 1));
        assert_eq!(parse_rate("unlimited"), Ok(Rate::Unlimited));
        for bad in [
            "10/secs",
            "0/s",
            "ten/s",
            "10",
            "/s",
            "-1/s",
            "99999999999/s",
            "1.5/s",
            "10/s, burst = 0",
            "10/s, burst = 11",
            "10/s, bust = 2",
            "10/s, burst = x",
            "unlimited, burst = 2",
            "Unlimited",
        ] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64KiB"), Ok(65_536));
        assert_eq!(parse_size("1MB"), Ok(1_000_000));
        assert_eq!(parse_size("2 MiB"), Ok(2 << 20));
        assert_eq!(parse_size("100B"), Ok(100));
        for bad in ["", "64", "64kb", "0KiB", "KiB", "2GiB", "4096MiB"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn scopes() {
        for good in ["notes:read", "a:b:c", "api.v2:x-y_z"] {
            assert!(check_scope(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "notes",
            "notes:",
            ":read",
            "Notes:read",
            "notes:re ad",
            "notes::read",
        ] {
            assert!(check_scope(bad).is_err(), "{bad}");
        }
    }
}
