//! Authorization with consent: the code flow's front channel.

use std::sync::Arc;

use axum::{body::Body, extract::State};
use http::{HeaderValue, Request, Response, StatusCode, header};
use subtle::ConstantTimeEq;

use super::{client_document, intersect, parse_unique, read_body, redirect_matches, valid_user};
use crate::dev_auth::{
    CODE_TTL, CONSENT_TTL, Code, Grant, Pending, Shared, User, hash, now_ms, page, random_token,
};

/// Redirects to the client's `redirect_uri` with `params` added to its query.
pub(in crate::dev_auth) fn redirect(redirect_uri: &str, params: &[(&str, &str)]) -> Response<Body> {
    let mut url = url::Url::parse(redirect_uri).expect("registered redirect URIs are URLs");
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in params {
            query.append_pair(name, value);
        }
    }
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::FOUND;
    let headers = response.headers_mut();
    if let Ok(location) = HeaderValue::from_str(url.as_str()) {
        headers.insert(header::LOCATION, location);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// An authorization error sent back to the client (after its redirect URI was checked).
pub(in crate::dev_auth) fn redirect_error(
    s: &Shared,
    grant: &Grant,
    error: &str,
    description: &str,
) -> Response<Body> {
    let mut params = vec![
        ("error", error),
        ("error_description", description),
        ("iss", s.issuer.as_str()),
    ];
    if let Some(state) = &grant.state {
        params.push(("state", state));
    }
    redirect(&grant.redirect_uri, &params)
}

/// Issues a code for `user` and sends it to the client.
pub(in crate::dev_auth) async fn approve(s: &Shared, grant: Grant, user: User) -> Response<Body> {
    let code = random_token();
    let mut params = vec![("code", code.as_str()), ("iss", s.issuer.as_str())];
    if let Some(state) = &grant.state {
        params.push(("state", state));
    }
    let response = redirect(&grant.redirect_uri, &params);
    let record = Code {
        grant,
        user,
        expires: now_ms() + CODE_TTL.as_millis() as u64,
    };
    match s.store.put_code(&code, &record).await {
        Ok(()) => response,
        Err(e) => page::unavailable(&e),
    }
}

/// `GET /authorize`.
pub(in crate::dev_auth) async fn authorize(
    State(s): State<Arc<Shared>>,
    request: Request<Body>,
) -> Response<Body> {
    let query = request.uri().query().unwrap_or("");
    let params = match parse_unique(query.as_bytes()) {
        Ok(p) => p,
        Err(name) => {
            return page::error(&format!("The parameter `{name}` is repeated."));
        }
    };
    let get = |name: &str| params.get(name).map(String::as_str);
    // The browser rules come before anything is done on the request's behalf (a client's
    // document is fetched below): another site's page may send the browser here only as a
    // top-level navigation, which the user sees, never as an image, a script or a frame.
    let foreign = sent_by_another_site(&s.issuer, request.headers());
    if foreign && !is_top_level_navigation(request.headers()) {
        return page::error(
            "Another site's page asked for this page without opening it. Open the authorization URL from the client application.",
        );
    }
    // Until the client and its redirect URI are known, errors stay on this server's page: a
    // redirect to an unchecked URI would make this an open redirector.
    let Some(client_id) = get("client_id") else {
        return page::error("The request names no client (`client_id`).");
    };
    if client_document::is_document_url(client_id)
        && let Err(why) = client_document::resolve(&s, client_id).await
    {
        return page::error(&format!("This client is refused: {why}."));
    }
    let client = match s.store.client(client_id).await {
        Ok(Some(client)) => client,
        Ok(None) => return page::error("This client is not registered here."),
        Err(e) => return page::unavailable(&e),
    };
    let Some(redirect_uri) =
        get("redirect_uri").filter(|r| redirect_matches(&client.redirect_uris, r))
    else {
        return page::error(
            "The redirect_uri is missing or is not one this client registered (they must match exactly, but for the port of a loopback http URI).",
        );
    };
    let mut grant = Grant {
        client_id: client_id.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        state: get("state").map(str::to_owned),
        challenge: String::new(),
        scopes: Vec::new(),
        dpop_jkt: None,
    };
    if get("response_type") != Some("code") {
        return redirect_error(
            &s,
            &grant,
            "unsupported_response_type",
            "only response_type=code is supported",
        );
    }
    if get("code_challenge_method") != Some("S256") {
        return redirect_error(
            &s,
            &grant,
            "invalid_request",
            "PKCE with code_challenge_method=S256 is required; plain is refused",
        );
    }
    match get("code_challenge") {
        Some(c) if c.len() == 43 && c.bytes().all(is_base64url) => grant.challenge = c.to_owned(),
        _ => {
            return redirect_error(
                &s,
                &grant,
                "invalid_request",
                "code_challenge must be the base64url SHA-256 of the code verifier (43 characters)",
            );
        }
    }
    // A thumbprint (RFC 7638, SHA-256: 43 base64url characters) the code is bound to; a server
    // with DPoP off ignores it, as it ignores any parameter it does not support.
    if s.dpop.mode() != crate::http::DpopMode::Off
        && let Some(jkt) = get("dpop_jkt")
    {
        if jkt.len() != 43 || !jkt.bytes().all(is_base64url) {
            return redirect_error(
                &s,
                &grant,
                "invalid_request",
                "dpop_jkt must be the base64url SHA-256 JWK thumbprint of a DPoP key (43 characters)",
            );
        }
        grant.dpop_jkt = Some(jkt.to_owned());
    }
    match get("resource") {
        Some(r) if s.is_resource(r) => {}
        Some(_) => {
            return redirect_error(
                &s,
                &grant,
                "invalid_target",
                "this server issues tokens for its own resource only",
            );
        }
        None => {
            return redirect_error(
                &s,
                &grant,
                "invalid_target",
                "name the resource the token is for (the `resource` parameter, RFC 8707)",
            );
        }
    }
    let requested = get("scope")
        .map(str::to_owned)
        .or_else(|| client.scope.clone())
        .unwrap_or_else(|| s.grantable.join(" "));
    grant.scopes = intersect(&requested, &s.grantable);
    if grant.scopes.is_empty() {
        return redirect_error(
            &s,
            &grant,
            "invalid_scope",
            "none of the requested scopes can be granted",
        );
    }
    // Approving at once is for clients that open this page themselves. A browser sent here
    // by another site's page gets the consent page: otherwise any page the developer visits
    // could mint tokens for a redirect URI its author registered.
    // The proxy always asks (spec 2026-07-28, Security Best Practices: consent per client
    // before the upstream provider is asked, so that a client cannot ride on an earlier
    // consent to another).
    if let Some(user) = &s.auto_approve
        && !foreign
        && s.upstream().is_none()
    {
        return approve(&s, grant, User::named(user.clone())).await;
    }
    if let Some(address) = crate::http::ClientAddress::of(request.extensions()) {
        let key = crate::rate::address_key(address).to_string();
        let decision = s
            .limiter
            .check("dev-auth/consent", &key, crate::dev_auth::CONSENT_PAGES)
            .await;
        match decision {
            Ok(crate::rate::Decision::Allow) => {}
            Ok(crate::rate::Decision::Deny { .. }) => {
                return page::error(
                    "Too many authorization requests from this address; wait a minute and start again.",
                );
            }
            Err(e) => {
                return page::unavailable(&e);
            }
        }
    }
    let ticket = random_token();
    // The browser keeps its consent cookie across pages (two tabs both answer); a new one gets
    // a fresh value.
    let browser = consent_cookie(request.headers()).unwrap_or_else(random_token);
    let pending = Pending {
        grant: grant.clone(),
        expires: now_ms() + CONSENT_TTL.as_millis() as u64,
        browser: hash(&browser),
    };
    if let Err(e) = s.store.put_pending(&ticket, &pending).await {
        return page::unavailable(&e);
    }
    let client_name = client
        .name
        // A document client's name is published at its URL, which says who chose it; a
        // registered client's is whatever it sent, said so (it could copy a document client's
        // look, URL included).
        .map(|name| match client_document::is_document_url(client_id) {
            true => format!("{name} (published at {client_id})"),
            false => format!("{name} (a name it gave itself; client {client_id})"),
        })
        .unwrap_or_else(|| client_id.to_owned());
    let mut page = page::consent(&s, &client_name, &grant, &ticket);
    // `__Host-`: set by this origin only, for every path, never by a sibling domain; not sent
    // with another site's form (`SameSite=Lax`), never read by a script.
    let cookie = format!(
        "{CONSENT_COOKIE}={browser}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={}",
        CONSENT_TTL.as_secs()
    );
    if let Ok(cookie) = HeaderValue::from_str(&cookie) {
        page.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    page
}

/// The cookie that binds a consent page to the browser it was shown in.
const CONSENT_COOKIE: &str = "__Host-mcp-secure-consent";

/// The request's consent cookie, if it carries one of the form this server sets.
pub(in crate::dev_auth) fn consent_cookie(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == CONSENT_COOKIE)
        .map(|(_, value)| value.to_owned())
        .filter(|v| v.len() == 43 && v.bytes().all(is_base64url))
}

/// `POST /authorize`: the consent form.
pub(in crate::dev_auth) async fn consent(
    State(s): State<Arc<Shared>>,
    request: Request<Body>,
) -> Response<Body> {
    let browser = consent_cookie(request.headers());
    let Some(body) = read_body(request.into_body()).await else {
        return page::error("The form could not be read.");
    };
    let Ok(form) = parse_unique(&body) else {
        return page::error("A form field is repeated.");
    };
    let pending = match form.get("ticket") {
        Some(ticket) => match s.store.take_pending(ticket).await {
            Ok(pending) => pending,
            Err(e) => return page::unavailable(&e),
        },
        None => None,
    };
    let Some(pending) = pending.filter(|p| p.expires > now_ms()) else {
        return page::error("This consent page has expired or was already answered; start again.");
    };
    // An answer from another browser than the page's (a form another site made it submit
    // with a ticket of its own) is no one's consent: the confused deputy's way in.
    let same_browser = browser.is_some_and(|b| bool::from(hash(&b).ct_eq(&pending.browser)));
    if !same_browser {
        return page::error(
            "This answer did not come from the browser the consent page was shown in; start again from the application.",
        );
    }
    if form.get("decision").map(String::as_str) != Some("approve") {
        return redirect_error(&s, &pending.grant, "access_denied", "the user declined");
    }
    // The proxy: consent given, the user now signs in at the upstream provider, with a
    // `state` made only now.
    #[cfg(feature = "oauth-proxy")]
    if let Some(upstream) = s.upstream() {
        return super::callback::sign_in_upstream(&s, upstream, pending.grant, pending.browser)
            .await;
    }
    let user = form.get("user").map(|u| u.trim()).unwrap_or("");
    if !valid_user(user) {
        return page::error("A user name has 1 to 64 letters, digits, `.`, `_`, `-` or `@`.");
    }
    approve(&s, pending.grant, User::named(user)).await
}

/// Whether the browser says another site sent this request: an `Origin` or `Referer` of
/// another origin than the issuer's, or `Sec-Fetch-Site` other than `none` (typed, or opened by
/// an application) and `same-origin` (which browsers send even when a page withholds its
/// `Referer`).
fn sent_by_another_site(issuer: &str, headers: &http::HeaderMap) -> bool {
    let own = url::Url::parse(issuer).map(|u| u.origin());
    let other = |value: &http::HeaderValue| {
        let parsed = value.to_str().ok().and_then(|v| url::Url::parse(v).ok());
        match (parsed, &own) {
            (Some(url), Ok(own)) => url.origin() != *own,
            _ => true,
        }
    };
    headers.get(header::ORIGIN).is_some_and(other)
        || headers.get(header::REFERER).is_some_and(other)
        || headers
            .get("sec-fetch-site")
            .is_some_and(|v| v != "none" && v != "same-origin")
}

/// Whether the browser says it is opening this as a page (`Sec-Fetch-Mode: navigate`,
/// `Sec-Fetch-Dest: document`): not an image, script, frame or `fetch()` another page made.
/// A browser that sends no `Sec-Fetch-*` cannot say so.
fn is_top_level_navigation(headers: &http::HeaderMap) -> bool {
    headers
        .get("sec-fetch-mode")
        .is_some_and(|v| v == "navigate")
        && headers
            .get("sec-fetch-dest")
            .is_some_and(|v| v == "document")
}

fn is_base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}
