//! The endpoints: registration, authorization (with consent) and the token exchange, one
//! module each; what they share is here.

mod authorize;
mod client_document;
mod register;
mod token;

use std::collections::HashMap;

use axum::body::Body;

pub(super) use authorize::{authorize, consent};
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
/// the system gives it). Nothing else may differ: host, path, query, no credentials or
/// fragment.
pub(super) fn redirect_matches(registered: &[String], presented: &str) -> bool {
    registered
        .iter()
        .any(|r| r == presented || same_but_port(r, presented))
}

fn same_but_port(registered: &str, presented: &str) -> bool {
    let (Ok(r), Ok(p)) = (url::Url::parse(registered), url::Url::parse(presented)) else {
        return false;
    };
    r.scheme() == "http"
        && p.scheme() == "http"
        && r.host_str().is_some_and(is_loopback_host)
        && r.host_str() == p.host_str()
        && p.username().is_empty()
        && p.password().is_none()
        && p.fragment().is_none()
        && r.path() == p.path()
        && r.query() == p.query()
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

    #[test]
    fn scopes_intersect_in_request_order() {
        let allowed = vec!["a:r".to_owned(), "a:w".to_owned()];
        assert_eq!(intersect("a:w x:y a:r a:w", &allowed), ["a:w", "a:r"]);
        assert!(intersect("x:y", &allowed).is_empty());
    }
}
