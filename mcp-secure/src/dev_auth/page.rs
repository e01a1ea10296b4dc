//! The two pages a person sees: consent, and an error that cannot be sent back to a client.
//! Built with `html!`, so the client's name and the scopes are escaped for where they land.

use axum::body::Body;
use http::{HeaderValue, Response, StatusCode, header};

use super::{Grant, Shared};
use crate::html::{Html, SafeUrl, html};

fn page(status: StatusCode, title: &str, content: Html) -> Response<Body> {
    let document = html!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head><body><h1>{title}</h1>{content}<p><small>mcp-secure development authorization server: for development and tests only.</small></p></body></html>"#
    );
    let mut response = Response::new(Body::from(document.into_string()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // No scripts, no styles from anywhere, forms only to this server, never in a frame (a
    // framed consent page could be clicked through).
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; form-action 'self'; frame-ancestors 'none'"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// A `400` page for a request that cannot be answered by redirecting to the client.
pub(super) fn error(message: &str) -> Response<Body> {
    page(
        StatusCode::BAD_REQUEST,
        "Authorization request refused",
        html!("<p>{message}</p>"),
    )
}

/// The consent form for `grant`, answered with `ticket`.
pub(super) fn consent(s: &Shared, client: &str, grant: &Grant, ticket: &str) -> Response<Body> {
    let scopes = Html::join(
        grant
            .scopes
            .iter()
            .map(|scope| html!("<li><code>{scope}</code></li>")),
        &Html::default(),
    );
    let target = url::Url::parse(&grant.redirect_uri)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    let action = SafeUrl::parse(&format!("{}/authorize", s.path))
        .expect("the issuer path is a relative URL");
    let content = html!(
        r#"<p><strong>{client}</strong> asks for access to <code>{resource}</code> with these scopes:</p><ul>{scopes}</ul><p>The answer goes back to <code>{target}</code>.</p><form method="post" action="{action}"><input type="hidden" name="ticket" value="{ticket}"><p><label>Sign in as <input name="user" value="dev" required maxlength="64"></label></p><p><button name="decision" value="approve">Approve</button> <button name="decision" value="deny">Deny</button></p></form>"#,
        resource = s.resource,
    );
    page(StatusCode::OK, "Authorize access", content)
}
