//! Client ID Metadata Documents (spec 2026-07-28; draft-ietf-oauth-client-id-metadata-document):
//! a client whose id is the URL of its metadata, fetched when it is first seen, instead of
//! registering.
//!
//! The URL comes from whoever sends `/authorize` or `/token`, so fetching it is a request on a
//! stranger's behalf: `https` to a public host only (or `http` to loopback, for development,
//! when the server's [`FetchPolicy`](crate::fetch::FetchPolicy) allows loopback), checked on
//! the address connected to; 5 s, no redirects, 64 KiB, and fetches of unknown documents share
//! the registration rate.

use std::time::Duration;

use serde_json::Value;

use super::{is_loopback_host, register::client_from};
use crate::{
    dev_auth::{AuthMethod, Shared, now_ms},
    rate::Decision,
};

/// How long a fetched document is used before it is fetched again.
const DOCUMENT_TTL: Duration = Duration::from_secs(300);
/// The largest document accepted.
const MAX_DOCUMENT: usize = 64 * 1024;
/// Whether `client_id` is a URL, naming a metadata document rather than a registration.
pub(in crate::dev_auth) fn is_document_url(client_id: &str) -> bool {
    client_id.starts_with("https://") || client_id.starts_with("http://")
}

/// Makes sure the client at `url` is known and fresh: fetched, checked and kept when it is
/// not. `Err` says why the document is refused, in words for the developer.
pub(in crate::dev_auth) async fn resolve(s: &Shared, url: &str) -> Result<(), String> {
    let now = now_ms();
    let kept = s.store.client(url).await.map_err(|e| unavailable(&e))?;
    if kept.is_some_and(|c| c.expires.is_some_and(|e| e > now)) {
        return Ok(());
    }
    check_document_url(url)?;
    let decision = s
        .limiter
        .check("dev-auth/register", "", s.registrations)
        .await
        .map_err(|e| unavailable(&e))?;
    if let Decision::Deny { .. } = decision {
        return Err("too many new clients; retry in a minute".into());
    }
    let body = crate::fetch::get_capped(&s.http, url, MAX_DOCUMENT)
        .await
        .map_err(|e| format!("its metadata document could not be fetched ({e})"))?;
    let Ok(Value::Object(mut metadata)) = serde_json::from_slice::<Value>(&body) else {
        return Err("its metadata document is not a JSON object".into());
    };
    // The document names itself: one served at another URL is not this client's.
    if metadata.get("client_id").and_then(Value::as_str) != Some(url) {
        return Err("its metadata document's client_id is not its own URL".into());
    }
    // Anyone can read the document, so it cannot hold a shared secret.
    if metadata.contains_key("client_secret") || metadata.contains_key("client_secret_expires_at") {
        return Err("its metadata document holds a client secret".into());
    }
    match metadata.get("token_endpoint_auth_method") {
        None => {
            metadata.insert("token_endpoint_auth_method".into(), "none".into());
        }
        Some(Value::String(m)) if m == "none" => {}
        Some(_) => {
            return Err(
                "its token_endpoint_auth_method must be none (this server checks no client keys)"
                    .into(),
            );
        }
    }
    let mut client = client_from(s, &metadata).map_err(|(_, why)| why)?;
    debug_assert!(client.method == AuthMethod::None);
    client.expires = Some(now + DOCUMENT_TTL.as_millis() as u64);
    s.store
        .remember_document(url, &client)
        .await
        .map_err(|e| unavailable(&e))?;
    Ok(())
}

/// Why a document could not be resolved when the state store or the limiter failed (logged
/// with the reason).
fn unavailable(e: &dyn std::fmt::Display) -> String {
    tracing::warn!(target: "mcp_secure", reason = %e, "authorization server: a client document could not be kept");
    "this server cannot keep its document now; try again shortly".into()
}

/// A document URL this server fetches: `https` with a path, on a public host, or `http` on
/// loopback; no credentials, query or fragment.
fn check_document_url(value: &str) -> Result<(), String> {
    let url = url::Url::parse(value).map_err(|_| "its client_id is not a URL".to_owned())?;
    let loopback_http = url.scheme() == "http" && url.host_str().is_some_and(is_loopback_host);
    if !loopback_http {
        crate::validate::rules::check_url(value, &["https"], false)
            .map_err(|why| format!("its client_id URL {why}"))?;
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("its client_id URL carries credentials".into());
    }
    if url.path() == "/" || url.query().is_some() || url.fragment().is_some() {
        return Err("its client_id URL needs a path, and no query or fragment".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_urls() {
        for ok in [
            "https://app.example.com/oauth/client.json",
            "http://127.0.0.1:9000/client.json",
            "http://localhost/c",
        ] {
            assert!(check_document_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "https://app.example.com",
            "https://app.example.com/",
            "https://app.example.com/c?x=1",
            "https://app.example.com/c#f",
            "https://user@app.example.com/c",
            "https://10.0.0.1/c",
            "https://169.254.169.254/latest/meta-data",
            "https://metadata/c",
            "https://[::ffff:127.0.0.1]/c",
            "http://app.example.com/c",
            "http://10.0.0.1/c",
            "ftp://app.example.com/c",
            "https://app.example.com\\@evil.example/c",
        ] {
            assert!(check_document_url(bad).is_err(), "{bad}");
        }
    }
}
