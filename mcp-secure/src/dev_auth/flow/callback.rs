//! The proxy's side of its upstream provider: the sign-in sent there once the user consented,
//! and the callback that turns the provider's answer into a code for the MCP client.

use std::sync::Arc;

use axum::{body::Body, extract::State};
use http::{HeaderValue, Request, Response, StatusCode, header};

use subtle::ConstantTimeEq;

use super::{
    authorize::{approve, consent_cookie, redirect_error},
    parse_unique,
};
use crate::dev_auth::{
    CONSENT_TTL, Grant, PendingUpstream, Shared, User, hash, now_ms, page, upstream::Upstream,
};

/// Sends the browser to the upstream provider for `grant`, with a `state`, `nonce` and PKCE
/// verifier made now (after consent) and kept for one callback.
pub(in crate::dev_auth) async fn sign_in_upstream(
    s: &Shared,
    upstream: &Upstream,
    grant: Grant,
    browser: [u8; 32],
) -> Response<Body> {
    let request = upstream.request(&s.endpoint("callback"));
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::FOUND;
    if let Ok(location) = HeaderValue::from_str(&request.url) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let state = request.state.clone();
    let pending = PendingUpstream {
        grant,
        request,
        expires: now_ms() + CONSENT_TTL.as_millis() as u64,
        browser,
    };
    match s.store.put_upstream(&state, &pending).await {
        Ok(()) => response,
        Err(e) => page::unavailable(&e),
    }
}

/// `GET /callback`: the upstream provider's answer.
pub(in crate::dev_auth) async fn callback(
    State(s): State<Arc<Shared>>,
    request: Request<Body>,
) -> Response<Body> {
    let Some(upstream) = s.upstream() else {
        return page::error("This server has no identity provider.");
    };
    let query = request.uri().query().unwrap_or("");
    let params = match parse_unique(query.as_bytes()) {
        Ok(p) => p,
        Err(name) => return page::error(&format!("The parameter `{name}` is repeated.")),
    };
    let get = |name: &str| params.get(name).map(String::as_str);
    // The state is single-use: whatever the answer, the sign-in it names is over.
    let pending = match get("state") {
        Some(state) => match s.store.take_upstream(state).await {
            Ok(pending) => pending,
            Err(e) => return page::unavailable(&e),
        },
        None => None,
    };
    let Some(pending) = pending.filter(|p| p.expires > now_ms()) else {
        return page::error(
            "This sign-in has expired, was already answered, or was not started here; start again from the application.",
        );
    };
    // The browser that returns must be the one that consented: otherwise an attacker who
    // consented for its own client hands the victim the provider's sign-in URL, and the
    // victim's sign-in would end at the attacker's redirect URI (the confused deputy). The
    // consent cookie is `SameSite=Lax`: the provider's redirect here, a top-level navigation,
    // carries it.
    let browser = consent_cookie(request.headers());
    if !browser.is_some_and(|b| bool::from(hash(&b).ct_eq(&pending.browser))) {
        tracing::warn!(target: "mcp_secure", "oauth proxy: a sign-in returned in another browser than the one that consented; refused");
        return page::error(
            "This sign-in was not started in this browser; start again from the application.",
        );
    }
    if !upstream.accepts_iss(get("iss")) {
        tracing::warn!(target: "mcp_secure", "oauth proxy: an answer named another issuer than the identity provider (RFC 9207); refused");
        return redirect_error(
            &s,
            &pending.grant,
            "access_denied",
            "the identity provider's answer could not be trusted",
        );
    }
    if get("error").is_some() {
        return redirect_error(
            &s,
            &pending.grant,
            "access_denied",
            "the identity provider did not sign the user in",
        );
    }
    let Some(code) = get("code") else {
        return redirect_error(
            &s,
            &pending.grant,
            "access_denied",
            "the identity provider sent no code",
        );
    };
    match upstream
        .finish(code, &pending.request, &s.endpoint("callback"))
        .await
    {
        Ok(identity) => {
            let claims = s
                .copied_claims
                .iter()
                .filter_map(|name| identity.claims.get(name).map(|v| (name.clone(), v.clone())))
                .collect();
            let upstream = match (&s.vault, &identity.refresh_token) {
                (Some(vault), Some(token)) => Some(vault.seal(&identity.subject, token)),
                _ => None,
            };
            let user = User {
                subject: identity.subject,
                claims,
                upstream,
            };
            approve(&s, pending.grant, user).await
        }
        Err(e) => {
            tracing::warn!(target: "mcp_secure", reason = %e, "oauth proxy: a sign-in failed");
            redirect_error(
                &s,
                &pending.grant,
                "server_error",
                "the sign-in at the identity provider could not be completed",
            )
        }
    }
}
