//! The `htu` comparison: RFC 9449 §4.3 compares the proof's URI with the request's without
//! query or fragment, after RFC 3986's syntax- and scheme-based normalization (§6.2.2, §6.2.3).

/// `uri` normalized for the comparison: scheme and host in lower case, the default port
/// dropped, dot segments removed, an empty path as `/`, percent-encodings of unreserved
/// characters decoded and the others in upper case; no query, fragment or credentials. `None`
/// for anything but an absolute `http` or `https` URI without credentials.
pub(crate) fn normalize(uri: &str) -> Option<String> {
    let url = url::Url::parse(uri).ok()?;
    if !matches!(url.scheme(), "http" | "https")
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return None;
    }
    let host = url.host_str()?;
    let mut out = format!("{}://{host}", url.scheme());
    if let Some(port) = url.port() {
        out.push(':');
        out.push_str(&port.to_string());
    }
    normalize_percent(url.path(), &mut out)?;
    Some(out)
}

/// Appends `path` with each `%XX` of an unreserved character decoded and every other in upper
/// case (RFC 3986 §6.2.2.1, §6.2.2.2). `None` for a `%` not followed by two hex digits.
fn normalize_percent(path: &str, out: &mut String) -> Option<()> {
    let bytes = path.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = path.get(i + 1..i + 3)?;
            let byte = u8::from_str_radix(hex, 16).ok()?;
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
                out.push(byte as char);
            } else {
                out.push('%');
                out.push_str(&hex.to_ascii_uppercase());
            }
            i += 3;
        } else {
            out.push(bytes[i] as char);
            i += 1;
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn spellings_of_one_uri_normalize_alike() {
        let canonical = normalize("https://mcp.example.com/mcp").unwrap();
        for same in [
            "HTTPS://MCP.Example.COM/mcp",
            "https://mcp.example.com:443/mcp",
            "https://mcp.example.com/mcp?x=1",
            "https://mcp.example.com/mcp#f",
            "https://mcp.example.com/a/../mcp",
            "https://mcp.example.com/./mcp",
            "https://mcp.example.com/%6Dcp",
            "https://mcp.example.com/%6dcp",
        ] {
            assert_eq!(
                normalize(same).as_deref(),
                Some(canonical.as_str()),
                "{same}"
            );
        }
        assert_eq!(
            normalize("http://127.0.0.1:8080").as_deref(),
            Some("http://127.0.0.1:8080/")
        );
        assert_eq!(
            normalize("https://h.example/a%2fb").as_deref(),
            Some("https://h.example/a%2Fb")
        );
    }

    #[test]
    fn other_uris_stay_other() {
        let canonical = normalize("https://mcp.example.com/mcp").unwrap();
        for other in [
            "http://mcp.example.com/mcp",
            "https://mcp.example.com:8443/mcp",
            "https://mcp.example.com/MCP",
            "https://mcp.example.com/mcp/",
            "https://mcp.example.com.evil.example/mcp",
            "https://mcp.example.com/mcp%2F",
        ] {
            assert_ne!(
                normalize(other).as_deref(),
                Some(canonical.as_str()),
                "{other}"
            );
        }
        for refused in [
            "/mcp",
            "ftp://mcp.example.com/mcp",
            "https://u:p@mcp.example.com/mcp",
            "https://u@mcp.example.com/mcp",
            "data:text/plain,x",
        ] {
            assert_eq!(normalize(refused), None, "{refused}");
        }
    }
}
