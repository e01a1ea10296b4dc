//! The endpoints: registration, authorization (with consent) and the token exchange.

use std::{collections::HashMap, sync::Arc};

use axum::{body::Body, extract::State};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use serde_json::{Map, Value, json};
use sha2::Digest;
use subtle::ConstantTimeEq;

use super::{
    AuthMethod, CODE_TTL, CONSENT_TTL, Client, Code, Family, Grant, MAX_BODY, Pending, Refresh,
    Shared, base64url, hash, json_response, now_ms, oauth_error, page, random_token,
};
pub(super) use crate::http::is_loopback_host;
use crate::rate::Decision;

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

/// Redirects to the client's `redirect_uri` with `params` added to its query.
fn redirect(redirect_uri: &str, params: &[(&str, &str)]) -> Response<Body> {
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
fn redirect_error(s: &Shared, grant: &Grant, error: &str, description: &str) -> Response<Body> {
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
fn approve(s: &Shared, grant: Grant, user: String) -> Response<Body> {
    let code = random_token();
    let now = now_ms();
    let mut params = vec![("code", code.as_str()), ("iss", s.issuer.as_str())];
    if let Some(state) = &grant.state {
        params.push(("state", state));
    }
    let response = redirect(&grant.redirect_uri, &params);
    let mut store = s.store();
    store.prune(now, s.refresh_ttl.as_millis() as u64);
    store.codes.insert(
        hash(&code),
        Code {
            grant,
            user,
            expires: now + CODE_TTL.as_millis() as u64,
            used: false,
            family: None,
        },
    );
    response
}

/// `GET /authorize`.
pub(super) async fn authorize(
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
    // Until the client and its redirect URI are known, errors stay on this server's page: a
    // redirect to an unchecked URI would make this an open redirector.
    let Some(client_id) = get("client_id") else {
        return page::error("The request names no client (`client_id`).");
    };
    let (redirect_uris, registered_scope) = {
        let store = s.store();
        match store.clients.get(client_id) {
            Some(c) => (c.redirect_uris.clone(), c.scope.clone()),
            None => return page::error("This client is not registered here."),
        }
    };
    let Some(redirect_uri) = get("redirect_uri").filter(|r| redirect_uris.iter().any(|u| u == r))
    else {
        return page::error(
            "The redirect_uri is missing or is not one this client registered (they must match exactly).",
        );
    };
    let mut grant = Grant {
        client_id: client_id.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        state: get("state").map(str::to_owned),
        challenge: String::new(),
        scopes: Vec::new(),
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
    match get("resource") {
        Some(r) if r == s.resource => {}
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
        .or(registered_scope)
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
    if let Some(user) = &s.auto_approve {
        return approve(&s, grant, user.clone());
    }
    let ticket = random_token();
    let client_name = {
        let mut store = s.store();
        let now = now_ms();
        store.prune(now, s.refresh_ttl.as_millis() as u64);
        store.pending.insert(
            hash(&ticket),
            Pending {
                grant: grant.clone(),
                expires: now + CONSENT_TTL.as_millis() as u64,
            },
        );
        store
            .clients
            .get(client_id)
            .and_then(|c| c.name.clone())
            .unwrap_or_else(|| client_id.to_owned())
    };
    page::consent(&s, &client_name, &grant, &ticket)
}

/// `POST /authorize`: the consent form.
pub(super) async fn consent(
    State(s): State<Arc<Shared>>,
    request: Request<Body>,
) -> Response<Body> {
    let Some(body) = read_body(request.into_body()).await else {
        return page::error("The form could not be read.");
    };
    let Ok(form) = parse_unique(&body) else {
        return page::error("A form field is repeated.");
    };
    let pending = form
        .get("ticket")
        .and_then(|t| s.store().pending.remove(&hash(t)));
    let Some(pending) = pending.filter(|p| p.expires > now_ms()) else {
        return page::error("This consent page has expired or was already answered; start again.");
    };
    if form.get("decision").map(String::as_str) != Some("approve") {
        return redirect_error(&s, &pending.grant, "access_denied", "the user declined");
    }
    let user = form.get("user").map(|u| u.trim()).unwrap_or("");
    if !valid_user(user) {
        return page::error("A user name has 1 to 64 letters, digits, `.`, `_`, `-` or `@`.");
    }
    approve(&s, pending.grant, user.to_owned())
}

fn is_base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// The scopes of `requested` (space-separated) that are in `allowed`, in request order.
fn intersect(requested: &str, allowed: &[String]) -> Vec<String> {
    let mut granted: Vec<String> = Vec::new();
    for scope in requested.split_whitespace() {
        if allowed.iter().any(|a| a == scope) && !granted.iter().any(|g| g == scope) {
            granted.push(scope.to_owned());
        }
    }
    granted
}

/// A `/token` refusal.
struct TokenError {
    status: StatusCode,
    error: &'static str,
    description: &'static str,
    /// The client authenticated with HTTP Basic: a `401` says how to retry.
    basic: bool,
}

fn refuse(error: &'static str, description: &'static str) -> TokenError {
    TokenError {
        status: StatusCode::BAD_REQUEST,
        error,
        description,
        basic: false,
    }
}

/// Bad client credentials, the same whatever was wrong.
fn client_failed(basic: bool) -> TokenError {
    TokenError {
        status: StatusCode::UNAUTHORIZED,
        error: "invalid_client",
        description: "client authentication failed",
        basic,
    }
}

impl TokenError {
    fn into_response(self) -> Response<Body> {
        let mut response = oauth_error(self.status, self.error, self.description);
        if self.basic {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Basic realm="token""#),
            );
        }
        response
    }
}

/// `client_id:client_secret` from `Authorization: Basic`, form-decoded (RFC 6749 §2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Option<Result<(String, String), ()>> {
    use base64::Engine;
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok());
    let Some((id, secret)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
        return Some(Err(()));
    };
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some(Ok((decode(id), decode(secret))))
}

/// `POST /token`.
pub(super) async fn token(State(s): State<Arc<Shared>>, request: Request<Body>) -> Response<Body> {
    let (parts, body) = request.into_parts();
    match exchange(&s, &parts.headers, body).await {
        Ok(body) => json_response(StatusCode::OK, &body),
        Err(e) => e.into_response(),
    }
}

async fn exchange(s: &Shared, headers: &HeaderMap, body: Body) -> Result<Value, TokenError> {
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form_type {
        return Err(refuse(
            "invalid_request",
            "send the parameters as application/x-www-form-urlencoded",
        ));
    }
    let body = read_body(body)
        .await
        .ok_or_else(|| refuse("invalid_request", "the body could not be read"))?;
    let form =
        parse_unique(&body).map_err(|_| refuse("invalid_request", "a parameter is repeated"))?;
    let get = |name: &str| form.get(name).map(String::as_str);
    let client_id = authenticate_client(s, headers, &form)?;
    // Either grant: a token for another resource is not this server's to issue (RFC 8707).
    if get("resource").is_some_and(|r| r != s.resource) {
        return Err(refuse(
            "invalid_target",
            "this server issues tokens for its own resource only; send its URL as `resource`",
        ));
    }
    match get("grant_type") {
        Some("authorization_code") => exchange_code(s, &client_id, &form),
        Some("refresh_token") => refresh(s, &client_id, &form),
        Some(_) => Err(refuse(
            "unsupported_grant_type",
            "grant_type is authorization_code or refresh_token",
        )),
        None => Err(refuse("invalid_request", "grant_type is missing")),
    }
}

/// The id of the client the request authenticates, by the method it registered.
fn authenticate_client(
    s: &Shared,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<String, TokenError> {
    let basic = basic_credentials(headers);
    let is_basic = basic.is_some();
    let (client_id, secret, method) = match basic {
        Some(Err(())) => return Err(client_failed(true)),
        Some(Ok((id, secret))) => {
            if form.contains_key("client_secret") {
                return Err(refuse(
                    "invalid_request",
                    "use one way of sending client credentials",
                ));
            }
            if form.get("client_id").is_some_and(|f| f != &id) {
                return Err(client_failed(true));
            }
            (id, Some(secret), AuthMethod::Basic)
        }
        None => {
            let id = form
                .get("client_id")
                .cloned()
                .ok_or_else(|| client_failed(false))?;
            match form.get("client_secret") {
                Some(secret) => (id, Some(secret.clone()), AuthMethod::Post),
                None => (id, None, AuthMethod::None),
            }
        }
    };
    let store = s.store();
    let client = store
        .clients
        .get(&client_id)
        .ok_or_else(|| client_failed(is_basic))?;
    if client.method != method {
        return Err(client_failed(is_basic));
    }
    if let (Some(expected), Some(given)) = (&client.secret_hash, &secret) {
        if !bool::from(expected.ct_eq(&hash(given))) {
            return Err(client_failed(is_basic));
        }
    } else if client.secret_hash.is_some() || secret.is_some() {
        return Err(client_failed(is_basic));
    }
    Ok(client_id)
}

/// `grant_type=authorization_code`.
fn exchange_code(
    s: &Shared,
    client_id: &str,
    form: &HashMap<String, String>,
) -> Result<Value, TokenError> {
    const INVALID: &str = "the authorization code is invalid, expired, already used or issued to another client; start the authorization again";
    let get = |name: &str| form.get(name).map(String::as_str);
    let code = get("code").ok_or_else(|| refuse("invalid_request", "code is missing"))?;
    let verifier = get("code_verifier")
        .ok_or_else(|| refuse("invalid_request", "code_verifier is missing (PKCE)"))?;
    let now = now_ms();
    let mut store = s.store();
    let Some(entry) = store.codes.get_mut(&hash(code)) else {
        return Err(refuse("invalid_grant", INVALID));
    };
    if entry.used {
        // A code presented twice was stolen or replayed: what it bought is revoked.
        let family = entry.family;
        tracing::warn!(target: "mcp_secure", client_id, "dev-auth: authorization code reused; its tokens are revoked");
        if let Some(family) = family {
            store.revoke(family);
        }
        return Err(refuse("invalid_grant", INVALID));
    }
    // Whatever happens next, the code is spent.
    entry.used = true;
    if entry.expires <= now || entry.grant.client_id != client_id {
        return Err(refuse("invalid_grant", INVALID));
    }
    if get("redirect_uri") != Some(entry.grant.redirect_uri.as_str()) {
        return Err(refuse(
            "invalid_grant",
            "redirect_uri differs from the authorization request's",
        ));
    }
    let valid_verifier = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    let computed = base64url(&sha2::Sha256::digest(verifier.as_bytes()));
    if !valid_verifier || !bool::from(computed.as_bytes().ct_eq(entry.grant.challenge.as_bytes())) {
        return Err(refuse(
            "invalid_grant",
            "the code_verifier does not match the code_challenge",
        ));
    }
    let user = entry.user.clone();
    let scopes = entry.grant.scopes.clone();
    let wants_refresh = store.clients.get(client_id).is_some_and(|c| c.refresh);
    let refresh = wants_refresh.then(|| {
        let family = store.next_family;
        store.next_family += 1;
        store.families.insert(
            family,
            Family {
                client_id: client_id.to_owned(),
                user: user.clone(),
                scopes: scopes.clone(),
                revoked: false,
            },
        );
        if let Some(entry) = store.codes.get_mut(&hash(code)) {
            entry.family = Some(family);
        }
        new_refresh(s, &mut store, family, now)
    });
    drop(store);
    tokens(s, client_id, &user, &scopes, refresh)
}

fn new_refresh(s: &Shared, store: &mut super::Store, family: u64, now: u64) -> String {
    let token = random_token();
    store.prune(now, s.refresh_ttl.as_millis() as u64);
    store.refresh.insert(
        hash(&token),
        Refresh {
            family,
            used: false,
            expires: now + s.refresh_ttl.as_millis() as u64,
        },
    );
    token
}

/// `grant_type=refresh_token`.
fn refresh(
    s: &Shared,
    client_id: &str,
    form: &HashMap<String, String>,
) -> Result<Value, TokenError> {
    const INVALID: &str = "the refresh token is invalid, expired, revoked or issued to another client; start the authorization again";
    let get = |name: &str| form.get(name).map(String::as_str);
    let presented = get("refresh_token")
        .ok_or_else(|| refuse("invalid_request", "refresh_token is missing"))?;
    let now = now_ms();
    let mut store = s.store();
    let Some(entry) = store.refresh.get_mut(&hash(presented)) else {
        return Err(refuse("invalid_grant", INVALID));
    };
    let family_id = entry.family;
    let reused = entry.used;
    let expired = entry.expires <= now;
    entry.used = true;
    let Some(family) = store.families.get(&family_id) else {
        return Err(refuse("invalid_grant", INVALID));
    };
    if family.client_id != client_id {
        return Err(refuse("invalid_grant", INVALID));
    }
    if reused {
        // Rotation means each refresh token works once: a second use is a stolen copy (or
        // the stolen original), so the whole family goes.
        tracing::warn!(target: "mcp_secure", client_id, "dev-auth: refresh token reused; its family is revoked");
        store.revoke(family_id);
        return Err(refuse("invalid_grant", INVALID));
    }
    if family.revoked || expired {
        return Err(refuse("invalid_grant", INVALID));
    }
    let scopes = match get("scope") {
        Some(requested) => {
            let narrowed = intersect(requested, &family.scopes);
            if narrowed.is_empty()
                || requested
                    .split_whitespace()
                    .any(|r| !family.scopes.iter().any(|f| f == r))
            {
                return Err(refuse(
                    "invalid_scope",
                    "a refresh may ask for the granted scopes or fewer, never more",
                ));
            }
            narrowed
        }
        None => family.scopes.clone(),
    };
    let user = family.user.clone();
    let token = new_refresh(s, &mut store, family_id, now);
    drop(store);
    tokens(s, client_id, &user, &scopes, Some(token))
}

/// The token response: a signed access token, and the refresh token if there is one.
fn tokens(
    s: &Shared,
    client_id: &str,
    user: &str,
    scopes: &[String],
    refresh: Option<String>,
) -> Result<Value, TokenError> {
    let now = now_ms() / 1000;
    let ttl = s.access_ttl.as_secs();
    let scope = scopes.join(" ");
    let claims = json!({
        "iss": s.issuer,
        "aud": s.resource,
        "sub": user,
        "scope": scope,
        "client_id": client_id,
        "iat": now,
        "exp": now + ttl,
        "jti": random_token(),
    });
    let access = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &s.key,
    )
    .map_err(|e| {
        tracing::error!(target: "mcp_secure", error = %e, "dev-auth: signing an access token failed");
        TokenError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error: "server_error",
            description: "the token could not be issued",
            basic: false,
        }
    })?;
    let mut body = json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": ttl,
        "scope": scope,
    });
    if let Some(refresh) = refresh {
        body["refresh_token"] = Value::String(refresh);
    }
    Ok(body)
}

/// `POST /register` (RFC 7591).
pub(super) async fn register(
    State(s): State<Arc<Shared>>,
    request: Request<Body>,
) -> Response<Body> {
    let invalid =
        |error: &str, description: &str| oauth_error(StatusCode::BAD_REQUEST, error, description);
    if let Decision::Deny { retry_after } =
        s.limiter
            .decide_at("dev-auth/register", "", s.registrations, s.limiter.now())
    {
        let mut response = oauth_error(
            StatusCode::TOO_MANY_REQUESTS,
            "temporarily_unavailable",
            "too many registrations; retry later",
        );
        let seconds = retry_after.as_secs().max(1).to_string();
        if let Ok(value) = HeaderValue::from_str(&seconds) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    let Some(body) = read_body(request.into_body()).await else {
        return invalid("invalid_client_metadata", "the body is over 16 KiB");
    };
    let Ok(Value::Object(metadata)) = serde_json::from_slice::<Value>(&body) else {
        return invalid(
            "invalid_client_metadata",
            "the body is a JSON object of client metadata",
        );
    };
    let client = match client_from(&s, &metadata) {
        Ok(c) => c,
        Err((error, description)) => return invalid(error, &description),
    };
    let client_id = format!("dev-{}", &random_token()[..22]);
    let secret = (client.method != AuthMethod::None).then(random_token);
    let client = Client {
        secret_hash: secret.as_deref().map(hash),
        ..client
    };
    let mut answer = json!({
        "client_id": client_id,
        "client_id_issued_at": now_ms() / 1000,
        "redirect_uris": client.redirect_uris,
        "token_endpoint_auth_method": client.method.name(),
        "grant_types": if client.refresh { json!(["authorization_code", "refresh_token"]) } else { json!(["authorization_code"]) },
        "response_types": ["code"],
    });
    if let Some(secret) = &secret {
        answer["client_secret"] = json!(secret);
        answer["client_secret_expires_at"] = json!(0);
    }
    if let Some(name) = &client.name {
        answer["client_name"] = json!(name);
    }
    if let Some(scope) = &client.scope {
        answer["scope"] = json!(scope);
    }
    {
        let mut store = s.store();
        if store.clients.len() >= s.max_clients {
            return oauth_error(
                StatusCode::FORBIDDEN,
                "access_denied",
                "this development server holds no more clients; restart it",
            );
        }
        store.clients.insert(client_id, client);
    }
    json_response(StatusCode::CREATED, &answer)
}

type Refusal = (&'static str, String);

/// The client a registration describes, or why it cannot be registered.
fn client_from(s: &Shared, metadata: &Map<String, Value>) -> Result<Client, Refusal> {
    let bad = |m: &str| ("invalid_client_metadata", m.to_owned());
    let uris = match metadata.get("redirect_uris") {
        Some(Value::Array(list)) if (1..=5).contains(&list.len()) => list,
        _ => {
            return Err((
                "invalid_redirect_uri",
                "redirect_uris is a list of 1 to 5 URIs".into(),
            ));
        }
    };
    let mut redirect_uris = Vec::new();
    for uri in uris {
        let Some(uri) = uri.as_str() else {
            return Err((
                "invalid_redirect_uri",
                "each redirect URI is a string".into(),
            ));
        };
        check_redirect_uri(uri).map_err(|m| ("invalid_redirect_uri", m))?;
        redirect_uris.push(uri.to_owned());
    }
    let method = match metadata.get("token_endpoint_auth_method") {
        None => AuthMethod::Basic,
        Some(Value::String(m)) if m == "none" => AuthMethod::None,
        Some(Value::String(m)) if m == "client_secret_post" => AuthMethod::Post,
        Some(Value::String(m)) if m == "client_secret_basic" => AuthMethod::Basic,
        Some(_) => {
            return Err(bad(
                "token_endpoint_auth_method is none, client_secret_post or client_secret_basic",
            ));
        }
    };
    let strings = |name: &str, default: &[&str]| -> Result<Vec<String>, Refusal> {
        match metadata.get(name) {
            None => Ok(default.iter().map(|s| (*s).to_owned()).collect()),
            Some(Value::Array(list)) => list
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| bad(&format!("{name} is a list of strings"))),
            Some(_) => Err(bad(&format!("{name} is a list of strings"))),
        }
    };
    let grant_types = strings("grant_types", &["authorization_code"])?;
    if !grant_types.iter().any(|g| g == "authorization_code")
        || grant_types
            .iter()
            .any(|g| g != "authorization_code" && g != "refresh_token")
    {
        return Err(bad(
            "grant_types is authorization_code, optionally with refresh_token",
        ));
    }
    let response_types = strings("response_types", &["code"])?;
    if response_types.iter().any(|r| r != "code") {
        return Err(bad("response_types is [\"code\"]"));
    }
    let name = match metadata.get("client_name") {
        None | Some(Value::Null) => None,
        // Shown on the consent page: nothing that hides or reorders what the user reads.
        Some(Value::String(n))
            if n.chars().count() <= 100
                && !n
                    .chars()
                    .any(|c| c.is_control() || crate::sanitize::is_invisible(c)) =>
        {
            Some(n.clone())
        }
        Some(_) => {
            return Err(bad(
                "client_name has at most 100 characters and no control, bidi, zero-width or tag characters",
            ));
        }
    };
    let scope = match metadata.get("scope") {
        None | Some(Value::Null) => None,
        Some(Value::String(requested)) => {
            let known = intersect(requested, &s.scopes);
            (!known.is_empty()).then(|| known.join(" "))
        }
        Some(_) => return Err(bad("scope is a space-separated string")),
    };
    Ok(Client {
        secret_hash: None,
        method,
        redirect_uris,
        refresh: grant_types.iter().any(|g| g == "refresh_token"),
        name,
        scope,
    })
}

/// `https` anywhere, or `http` on a loopback host; no wildcard, fragment or credentials.
fn check_redirect_uri(uri: &str) -> Result<(), String> {
    if uri.contains('*') {
        return Err("a redirect URI cannot hold wildcards (`*`)".into());
    }
    let url = url::Url::parse(uri).map_err(|_| "a redirect URI is an absolute URL".to_owned())?;
    if url.fragment().is_some() {
        return Err("a redirect URI has no fragment (`#…`)".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("a redirect URI has no credentials".into());
    }
    match (url.scheme(), url.host_str()) {
        ("https", Some(_)) => Ok(()),
        ("http", Some(host)) if is_loopback_host(host) => Ok(()),
        ("http", _) => Err(
            "an http redirect URI must be on loopback (127.0.0.1, [::1], localhost); use https elsewhere"
                .into(),
        ),
        _ => Err("a redirect URI is https, or http on loopback".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris() {
        for ok in [
            "http://127.0.0.1:33418/callback",
            "http://localhost/cb",
            "http://[::1]:9/cb?x=1",
            "https://app.example.com/oauth/callback",
        ] {
            assert!(check_redirect_uri(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://app.example.com/cb",
            "https://*.example.com/cb",
            "https://app.example.com/cb#frag",
            "https://user:pw@app.example.com/cb",
            "javascript:alert(1)",
            "/relative",
            "http://127.0.0.1.example.com/cb",
        ] {
            assert!(check_redirect_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn scopes_intersect_in_request_order() {
        let allowed = vec!["a:r".to_owned(), "a:w".to_owned()];
        assert_eq!(intersect("a:w x:y a:r a:w", &allowed), ["a:w", "a:r"]);
        assert!(intersect("x:y", &allowed).is_empty());
    }

    #[test]
    fn repeated_parameters_are_named() {
        assert_eq!(parse_unique(b"a=1&b=2&a=3"), Err("a".to_owned()));
        assert_eq!(parse_unique(b"a=%20x").unwrap()["a"], " x");
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let mut headers = HeaderMap::new();
        // "my%3Aid:s%20ecret" in base64.
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic bXklM0FpZDpzJTIwZWNyZXQ="),
        );
        assert_eq!(
            basic_credentials(&headers),
            Some(Ok(("my:id".to_owned(), "s ecret".to_owned())))
        );
    }
}
