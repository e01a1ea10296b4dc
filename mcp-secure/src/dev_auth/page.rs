//! The two pages a person sees: consent, and an error that cannot be sent back to a client.
//! Built with `html!`, so the client's name and the scopes are escaped for where they land.

use axum::body::Body;
use http::{HeaderValue, Response, StatusCode, header};

use super::{Grant, Shared};
use crate::html::{Html, SafeUrl, html};

/// `form_targets`: the origins a submitted form may end up at besides this server (the
/// client's redirect URI, where the answer to the consent form is redirected; the proxy's
/// identity provider, where an approval goes), space-separated.
fn page(
    status: StatusCode,
    title: &str,
    content: Html,
    form_targets: Option<&str>,
) -> Response<Body> {
    let document = html!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head><body><h1>{title}</h1>{content}<p><small>mcp-secure authorization server.</small></p></body></html>"#
    );
    let mut response = Response::new(Body::from(document.into_string()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // No scripts, no styles from anywhere, forms only to this server (and the redirect that
    // answers them: browsers apply `form-action` to it), never in a frame (a framed consent page
    // could be clicked through).
    let form_action = match form_targets {
        Some(origins) => format!("'self' {origins}"),
        None => "'self'".to_owned(),
    };
    let csp = format!("default-src 'none'; form-action {form_action}; frame-ancestors 'none'");
    if let Ok(csp) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
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
        None,
    )
}

/// The state store or the limiter failed: a `503` page that says to retry; why goes to the
/// log only.
pub(super) fn unavailable(e: &dyn std::fmt::Display) -> Response<Body> {
    tracing::warn!(target: "mcp_secure", reason = %e, "authorization server: a request could not be served");
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Authorization unavailable",
        html!("<p>The authorization server cannot serve this request now; try again shortly.</p>"),
        None,
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
    let redirect = url::Url::parse(&grant.redirect_uri).ok();
    let target = redirect
        .as_ref()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    // CSP sources: only the characters an origin of a checked URL needs.
    let source = |url: Option<url::Url>| {
        url.map(|u| u.origin().ascii_serialization()).filter(|o| {
            o.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".:/-[]".contains(&b))
        })
    };
    #[cfg_attr(not(feature = "oauth-proxy"), allow(unused_mut))]
    let mut origins: Vec<String> = source(redirect).into_iter().collect();
    #[cfg(feature = "oauth-proxy")]
    if let Some(upstream) = s.upstream() {
        origins.extend(source(upstream.authorization_url()));
    }
    let origin = (!origins.is_empty()).then(|| origins.join(" "));
    let action = SafeUrl::parse(&format!("{}/authorize", s.path))
        .expect("the issuer path is a relative URL");
    // The proxy names the whole redirect URI (spec 2026-07-28: the page names the client and
    // where its answer goes), and its user signs in at the identity provider, not here.
    let content = match s.upstream() {
        None => html!(
            r#"<p><strong>{client}</strong> asks for access to <code>{resource}</code> with these scopes:</p><ul>{scopes}</ul><p>The answer goes back to <code>{target}</code>.</p><form method="post" action="{action}"><input type="hidden" name="ticket" value="{ticket}"><p><label>Sign in as <input name="user" value="dev" required maxlength="64"></label></p><p><button name="decision" value="approve">Approve</button> <button name="decision" value="deny">Deny</button></p></form><p><small>A development server: for development and tests only.</small></p>"#,
            resource = s.resource,
        ),
        Some(_) => html!(
            r#"<p><strong>{client}</strong> asks for access to <code>{resource}</code> with these scopes:</p><ul>{scopes}</ul><p>The answer goes back to <code>{redirect_uri}</code>.</p><p>If you approve, you sign in at your identity provider next.</p><form method="post" action="{action}"><input type="hidden" name="ticket" value="{ticket}"><p><button name="decision" value="approve">Approve</button> <button name="decision" value="deny">Deny</button></p></form>"#,
            resource = s.resource,
            redirect_uri = grant.redirect_uri,
        ),
    };
    page(
        StatusCode::OK,
        "Authorize access",
        content,
        origin.as_deref(),
    )
}
