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

/// A rate: `N/s`, `N/min` or `N/h`, N a positive integer.
pub fn parse_rate(rate: &str) -> Result<(u32, u64), String> {
    let usage = "write a rate as \"N/s\", \"N/min\" or \"N/h\", e.g. \"10/s\"";
    let Some((count, unit)) = rate.split_once('/') else {
        return Err(format!("`{rate}` is not a rate; {usage}"));
    };
    let (count, unit) = (count.trim(), unit.trim());
    let period_ms = match unit {
        "s" => 1_000,
        "min" => 60_000,
        "h" => 3_600_000,
        other => return Err(format!("unknown unit `{other}`; {usage}")),
    };
    if count.is_empty() || !count.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "`{count}` is not a number of calls; write the count in digits, e.g. \"10/{unit}\""
        ));
    }
    let count: u32 = count.parse().map_err(|_| {
        format!(
            "{count} calls per {unit} is too many (at most {})",
            u32::MAX
        )
    })?;
    if count == 0 {
        return Err(format!(
            "a rate of 0/{unit} refuses every call; give a positive count, or remove the tool"
        ));
    }
    Ok((count, period_ms))
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
        assert_eq!(parse_rate("10/s"), Ok((10, 1_000)));
        assert_eq!(parse_rate("30/min"), Ok((30, 60_000)));
        assert_eq!(parse_rate("1/h"), Ok((1, 3_600_000)));
        for bad in [
            "10/sec",
            "0/s",
            "ten/s",
            "10",
            "/s",
            "-1/s",
            "99999999999/s",
            "1.5/s",
        ] {
            assert!(parse_rate(bad).is_err(), "{bad}");
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
