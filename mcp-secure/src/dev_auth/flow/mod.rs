//! The endpoints: registration, authorization (with consent) and the token exchange, one
//! module each; what they share is here.

mod authorize;
#[cfg(feature = "oauth-proxy")]
mod callback;
mod client_document;
mod register;
mod token;

use std::collections::HashMap;

use axum::body::Body;

pub(super) use authorize::{authorize, consent};
#[cfg(feature = "oauth-proxy")]
pub(super) use callback::callback;
pub(super) use client_document::is_document_url;
pub(super) use register::register;
pub(super) use token::token;

use super::MAX_BODY;
pub(super) use crate::http::is_loopback_host;

/// 1 to 64 of ASCII letters, digits, `.`, `_`, `-`, `@`.
pub(super) fn valid_user(user: &str) -> bool {
    (1..=64).contains(&user.len())
        && user
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'))
}

/// Form or query parameters; a repeated one is an error naming it (RFC 6749 §3.1).
fn parse_unique(text: &[u8]) -> Result<HashMap<String, String>, String> {
    let mut params = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(text) {
        if params
            .insert(name.clone().into_owned(), value.into_owned())
            .is_some()
        {
            return Err(name.into_owned());
        }
    }
    Ok(params)
}

async fn read_body(body: Body) -> Option<axum::body::Bytes> {
    axum::body::to_bytes(body, MAX_BODY).await.ok()
}

/// Whether `presented` is one of the `registered` redirect URIs: the same string, or the same
/// loopback `http` URI on another port (RFC 8252 §7.3: a native app listens on whatever port
/// the system gives it). The texts are compared, never parsed URLs: parsing removes dot
/// segments and folds case, so `/cb/../cb` would pass for `/cb`.
pub(super) fn redirect_matches(registered: &[String], presented: &str) -> bool {
    registered
        .iter()
        .any(|r| r == presented || same_but_port(r, presented))
}

fn same_but_port(registered: &str, presented: &str) -> bool {
    let (Some((r_host, r_rest)), Some((p_host, p_rest))) =
        (loopback_parts(registered), loopback_parts(presented))
    else {
        return false;
    };
    r_host == p_host && r_rest == p_rest
}

/// An `http` URI on a loopback host, split around its port: the host as written and the text
/// after the authority. `None` for anything else, or an authority with credentials.
fn loopback_parts(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("http://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, after) = rest.split_at(end);
    let host = match authority.rsplit_once(':') {
        // A bracketed IPv6 address holds colons of its own: the port follows the `]`.
        Some((host, port))
            if (host.ends_with(']') || !host.contains(':'))
                && port.bytes().all(|b| b.is_ascii_digit()) =>
        {
            host
        }
        _ => authority,
    };
    (!host.contains('@') && is_loopback_host(host)).then_some((host, after))
}

/// The scopes of `requested` (space-separated) that are in `allowed`, in request order.
pub(super) fn intersect(requested: &str, allowed: &[String]) -> Vec<String> {
    let mut granted: Vec<String> = Vec::new();
    for scope in requested.split_whitespace() {
        if allowed.iter().any(|a| a == scope) && !granted.iter().any(|g| g == scope) {
            granted.push(scope.to_owned());
        }
    }
    granted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameters_are_named() {
        assert_eq!(parse_unique(b"a=1&b=2&a=3"), Err("a".to_owned()));
        assert_eq!(parse_unique(b"a=%20x").unwrap()["a"], " x");
    }

    /// Issue 34: only the port of a loopback `http` URI may differ from what was registered;
    /// every other spelling of "the same URL" is another URI.
    #[test]
    fn redirect_uris_match_as_text_but_a_loopback_port() {
        let registered = [
            "http://127.0.0.1:9/cb".to_owned(),
            "http://[::1]/cb?x=1".to_owned(),
            "https://app.example.com/cb".to_owned(),
        ];
        for ok in [
            "http://127.0.0.1:9/cb",
            "http://127.0.0.1:51234/cb",
            "http://127.0.0.1/cb",
            "http://[::1]:8080/cb?x=1",
            "https://app.example.com/cb",
        ] {
            assert!(redirect_matches(&registered, ok), "{ok}");
        }
        for bad in [
            "http://127.0.0.1:9/cb/../cb",
            "http://127.0.0.1:9/cb/./",
            "http://127.0.0.1:9/x/../cb",
            "http://127.0.0.1:9/%63b",
            "http://127.0.0.1:9/CB",
            "HTTP://127.0.0.1:9/cb",
            "http://127.0.0.1:9/cb?",
            "http://127.0.0.1:9/cb#",
            "http://127.0.0.1:9/cb?x=1",
            "http://user@127.0.0.1:9/cb",
            "http://127.0.0.1:9@evil.example/cb",
            "http://127.1:9/cb",
            "http://localhost:9/cb",
            "http://127.0.0.1:9x/cb",
            "http://[::1]:8080/cb",
            "http://[::1]:8080/cb?x=2",
            "https://app.example.com:443/cb",
            "https://app.example.com/cb/../cb",
            "https://APP.example.com/cb",
            "http://app.example.com/cb",
        ] {
            assert!(!redirect_matches(&registered, bad), "{bad}");
        }
    }

    #[test]
    fn scopes_intersect_in_request_order() {
        let allowed = vec!["a:r".to_owned(), "a:w".to_owned()];
        assert_eq!(intersect("a:w x:y a:r a:w", &allowed), ["a:w", "a:r"]);
        assert!(intersect("x:y", &allowed).is_empty());
    }
}
