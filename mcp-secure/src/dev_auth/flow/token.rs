//! The token endpoint: client authentication, the code exchange and refresh rotation.

use std::{collections::HashMap, sync::Arc};

use axum::{body::Body, extract::State};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use serde_json::{Value, json};
use sha2::Digest;
use subtle::ConstantTimeEq;

use super::{client_document, intersect, parse_unique, read_body};
use crate::dev_auth::{
    AuthMethod, Family, Refresh, Shared, User, base64url, hash, json_response, now_ms, oauth_error,
    random_token,
    state::{Spent, StoreError},
};

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

impl From<StoreError> for TokenError {
    /// The request is refused and may be retried: the spend is the last step that needs the
    /// store, so nothing was spent unless the spend itself failed.
    fn from(e: StoreError) -> Self {
        tracing::warn!(target: "mcp_secure", reason = %e, "authorization server: a token request could not be served");
        TokenError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            error: "temporarily_unavailable",
            description: "the authorization server cannot serve this request now; retry shortly",
            basic: false,
        }
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
pub(in crate::dev_auth) async fn token(
    State(s): State<Arc<Shared>>,
    request: Request<Body>,
) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let mut response = match exchange(&s, &parts.headers, body).await {
        Ok(body) => json_response(StatusCode::OK, &body),
        Err(e) => e.into_response(),
    };
    // The nonce to use next, on every answer of a server that requires them (RFC 9449 §8).
    if let Some(nonce) = s.dpop.nonce()
        && let Ok(value) = HeaderValue::from_str(&nonce)
    {
        response.headers_mut().insert("dpop-nonce", value);
    }
    response
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
    // A client known by its metadata document is fetched again once its copy is stale.
    if let Some(id) = form.get("client_id")
        && client_document::is_document_url(id)
    {
        client_document::resolve(s, id)
            .await
            .map_err(|_| client_failed(false))?;
    }
    let client_id = authenticate_client(s, headers, &form).await?;
    let jkt = bind_to_proof(s, headers).await?;
    // Either grant: a token for another resource is not this server's to issue (RFC 8707).
    if get("resource").is_some_and(|r| !s.is_resource(r)) {
        return Err(refuse(
            "invalid_target",
            "this server issues tokens for its own resource only; send its URL as `resource`",
        ));
    }
    match get("grant_type") {
        Some("authorization_code") => exchange_code(s, &client_id, &form, jkt).await,
        Some("refresh_token") => {
            // Before the refresh token is spent: a provider that cannot be asked now leaves it
            // usable for the client's retry.
            #[cfg(feature = "oauth-proxy")]
            ask_upstream_again(s, &client_id, &form, jkt.as_deref()).await?;
            refresh(s, &client_id, &form, jkt).await
        }
        Some(_) => Err(refuse(
            "unsupported_grant_type",
            "grant_type is authorization_code or refresh_token",
        )),
        None => Err(refuse("invalid_request", "grant_type is missing")),
    }
}

/// The key of the request's DPoP proof (RFC 9449 §5), checked and its `jti` recorded: the
/// tokens issued are bound to it. `None` without a proof, or when DPoP is off.
async fn bind_to_proof(s: &Shared, headers: &HeaderMap) -> Result<Option<String>, TokenError> {
    use crate::http::{DpopMode, normalize_htu, proof_header};
    if s.dpop.mode() == DpopMode::Off {
        return Ok(None);
    }
    let invalid = TokenError {
        status: StatusCode::BAD_REQUEST,
        error: "invalid_dpop_proof",
        description: "the DPoP proof is not valid",
        basic: false,
    };
    let proof = match proof_header(headers) {
        Ok(None) => return Ok(None),
        Ok(Some(proof)) => proof,
        Err(e) => {
            tracing::info!(target: "mcp_secure", reason = %e, "authorization server: DPoP proof refused");
            return Err(invalid);
        }
    };
    let uris: Vec<String> = normalize_htu(&s.endpoint("token")).into_iter().collect();
    let checked = match s.dpop.check(proof, "POST", &uris, None) {
        Ok(checked) => checked,
        Err(crate::http::ProofError::Nonce) => {
            return Err(TokenError {
                status: StatusCode::BAD_REQUEST,
                error: "use_dpop_nonce",
                description: "this server requires a nonce it issued in the DPoP proof; the DPoP-Nonce header has it",
                basic: false,
            });
        }
        Err(e) => {
            tracing::info!(target: "mcp_secure", reason = %e, "authorization server: DPoP proof refused");
            return Err(invalid);
        }
    };
    match s.dpop.first_use(&checked).await {
        Ok(()) => Ok(Some(checked.jkt)),
        Err(e) => {
            tracing::info!(target: "mcp_secure", reason = ?e, "authorization server: DPoP proof refused");
            Err(invalid)
        }
    }
}

/// The id of the client the request authenticates, by the method it registered.
async fn authenticate_client(
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
    let client = s
        .store
        .client(&client_id)
        .await?
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
///
/// Everything the exchange keeps (the family, its first refresh token) is written before the
/// code is spent, and the spend (one atomic step, recording the family it bought) is the last
/// step that needs the store: a store that fails before it leaves the code for the retry, and
/// the exchange that loses a race for the code finds the winner's family and revokes it.
async fn exchange_code(
    s: &Shared,
    client_id: &str,
    form: &HashMap<String, String>,
    jkt: Option<String>,
) -> Result<Value, TokenError> {
    let get = |name: &str| form.get(name).map(String::as_str);
    let code = get("code").ok_or_else(|| refuse("invalid_request", "code is missing"))?;
    let verifier = get("code_verifier")
        .ok_or_else(|| refuse("invalid_request", "code_verifier is missing (PKCE)"))?;
    let now = now_ms();
    let Some((entry, spent)) = s.store.code(code).await? else {
        return Err(refuse("invalid_grant", INVALID_CODE));
    };
    let refusal = if spent {
        Some(refuse("invalid_grant", INVALID_CODE))
    } else {
        check_code(
            &entry,
            client_id,
            get("redirect_uri"),
            verifier,
            jkt.as_deref(),
        )
        .err()
    };
    let wants_refresh =
        refusal.is_none() && s.store.client(client_id).await?.is_some_and(|c| c.refresh);
    let (family, refresh) = if wants_refresh {
        let family = Family {
            client_id: client_id.to_owned(),
            user: entry.user.clone(),
            scopes: entry.grant.scopes.clone(),
            jkt: jkt.clone(),
            revoked: false,
        };
        let family = s.store.add_family(&family, s.refresh_ttl).await?;
        let refresh = new_refresh(s, family.clone(), now).await?;
        (Some(family), Some(refresh))
    } else {
        (None, None)
    };
    // Whatever was wrong, the code is spent; the family it bought is kept with it as long as
    // that may be refreshed, to revoke it if the code comes back.
    match s
        .store
        .spend_code(code, family.as_deref(), s.refresh_ttl)
        .await?
    {
        None => return Err(refuse("invalid_grant", INVALID_CODE)),
        Some(Spent::Again { link }) => {
            // A code presented twice was stolen or replayed: what it bought is revoked (and
            // what this request made, which no one will see).
            tracing::warn!(target: "mcp_secure", client_id, "authorization server: authorization code reused; its tokens are revoked");
            for family in link.iter().chain(family.iter()) {
                s.store.revoke(family).await?;
            }
            return Err(refuse("invalid_grant", INVALID_CODE));
        }
        Some(Spent::First) => {}
    }
    if let Some(refusal) = refusal {
        return Err(refusal);
    }
    tokens(
        s,
        client_id,
        &entry.user,
        &entry.grant.scopes,
        refresh,
        jkt.as_deref(),
    )
}

const INVALID_CODE: &str = "the authorization code is invalid, expired, already used or issued to another client; start the authorization again";

/// Whether `code` may be exchanged by `client_id` with this `redirect_uri`, PKCE `verifier`
/// and DPoP key.
fn check_code(
    code: &super::super::Code,
    client_id: &str,
    redirect_uri: Option<&str>,
    verifier: &str,
    jkt: Option<&str>,
) -> Result<(), TokenError> {
    if code.expires <= now_ms() || code.grant.client_id != client_id {
        return Err(refuse("invalid_grant", INVALID_CODE));
    }
    if redirect_uri != Some(code.grant.redirect_uri.as_str()) {
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
    if !valid_verifier || !bool::from(computed.as_bytes().ct_eq(code.grant.challenge.as_bytes())) {
        return Err(refuse(
            "invalid_grant",
            "the code_verifier does not match the code_challenge",
        ));
    }
    // A code bound to a key at `/authorize` is exchanged with a proof of that key only (RFC
    // 9449 §10): a stolen code is useless without it.
    if let Some(bound) = &code.grant.dpop_jkt
        && jkt != Some(bound.as_str())
    {
        return Err(refuse(
            "invalid_dpop_proof",
            "this code is bound to a DPoP key (dpop_jkt); send a DPoP proof of that key",
        ));
    }
    Ok(())
}

async fn new_refresh(s: &Shared, family: String, now: u64) -> Result<String, StoreError> {
    let token = random_token();
    let record = Refresh {
        family,
        expires: now + s.refresh_ttl.as_millis() as u64,
        used: false,
    };
    s.store.put_refresh(&token, &record).await?;
    Ok(token)
}

/// `grant_type=refresh_token`.
async fn refresh(
    s: &Shared,
    client_id: &str,
    form: &HashMap<String, String>,
    jkt: Option<String>,
) -> Result<Value, TokenError> {
    const INVALID: &str = "the refresh token is invalid, expired, revoked or issued to another client; start the authorization again";
    let get = |name: &str| form.get(name).map(String::as_str);
    let presented = get("refresh_token")
        .ok_or_else(|| refuse("invalid_request", "refresh_token is missing"))?;
    let now = now_ms();
    let Some(entry) = s.store.refresh_token(presented).await? else {
        return Err(refuse("invalid_grant", INVALID));
    };
    let expired = entry.expires <= now;
    let family = s.store.family(&entry.family).await?;
    // A refresh that would succeed but asks for more than was granted is refused before the
    // token is spent: the client's retry without `scope` must still work.
    if let Some(family) = &family
        && family.client_id == client_id
        && !entry.used
        && !family.revoked
        && !expired
        && let Some(requested) = get("scope")
        && (intersect(requested, &family.scopes).is_empty()
            || requested
                .split_whitespace()
                .any(|r| !family.scopes.iter().any(|f| f == r)))
    {
        return Err(refuse(
            "invalid_scope",
            "a refresh may ask for the granted scopes or fewer, never more",
        ));
    }
    // A grant bound to a key refreshes only with a proof of that key (RFC 9449 §5): a stolen
    // refresh token is useless without it, and presenting it without the key does not spend
    // it (which would revoke the family under its holder).
    if family
        .as_ref()
        .is_some_and(|f| f.jkt.is_some() && f.jkt != jkt)
    {
        return Err(refuse(
            "invalid_grant",
            "this refresh token is bound to a DPoP key; send a DPoP proof of that key",
        ));
    }
    // The next token is kept before this one is spent, and the spend is the last step that
    // needs the store: a store that fails before it leaves this token for the retry.
    let valid = !entry.used
        && !expired
        && family
            .as_ref()
            .is_some_and(|f| f.client_id == client_id && !f.revoked);
    let next = match valid {
        true => Some(new_refresh(s, entry.family.clone(), now).await?),
        false => None,
    };
    // Spent in one atomic step: of two requests with one token (at two replicas too), the
    // second finds it spent and revokes the family.
    let first = s.store.spend_refresh(presented).await? == Some(true);
    let Some(family) = family else {
        return Err(refuse("invalid_grant", INVALID));
    };
    if family.client_id != client_id {
        return Err(refuse("invalid_grant", INVALID));
    }
    if !first {
        // Rotation means each refresh token works once: a second use is a stolen copy (or
        // the stolen original), so the whole family goes.
        tracing::warn!(target: "mcp_secure", client_id, "authorization server: refresh token reused; its family is revoked");
        s.store.revoke(&entry.family).await?;
        return Err(refuse("invalid_grant", INVALID));
    }
    let Some(next) = next.filter(|_| !family.revoked && !expired) else {
        return Err(refuse("invalid_grant", INVALID));
    };
    let scopes = match get("scope") {
        Some(requested) => intersect(requested, &family.scopes),
        None => family.scopes.clone(),
    };
    tokens(
        s,
        client_id,
        &family.user,
        &scopes,
        Some(next),
        jkt.as_deref(),
    )
}

/// The proxy: a refresh of a grant whose user the provider signed in with a refresh token asks
/// the provider again, so that a user it no longer signs in (disabled, logged out, revoked)
/// loses the grant at its next refresh: a refusal revokes the family. A provider that cannot
/// be asked refuses this refresh only (`503`), before the refresh token is spent. Only a
/// refresh token that would pass asks (nothing to ask for an unknown or spent one).
#[cfg(feature = "oauth-proxy")]
async fn ask_upstream_again(
    s: &Shared,
    client_id: &str,
    form: &HashMap<String, String>,
    jkt: Option<&str>,
) -> Result<(), TokenError> {
    let (Some(upstream), Some(vault)) = (s.upstream(), &s.vault) else {
        return Ok(());
    };
    let Some(presented) = form.get("refresh_token") else {
        return Ok(());
    };
    let Some(entry) = s
        .store
        .refresh_token(presented)
        .await?
        .filter(|r| !r.used && r.expires > now_ms())
    else {
        return Ok(());
    };
    let Some(mut record) = s.store.family(&entry.family).await? else {
        return Ok(());
    };
    // Its client, not revoked, and (a bound grant) with a proof of its key.
    let passes = record.client_id == client_id
        && !record.revoked
        && (record.jkt.is_none() || record.jkt.as_deref() == jkt);
    let family = entry.family;
    let Some(sealed) = record.user.upstream.clone().filter(|_| passes) else {
        return Ok(());
    };
    let subject = record.user.subject.clone();
    let refused = || {
        refuse(
            "invalid_grant",
            "the identity provider no longer signs this user in; start the authorization again",
        )
    };
    let Some(token) = vault.open(&subject, &sealed) else {
        s.store.revoke(&family).await?;
        return Err(refused());
    };
    match upstream.refresh(&token).await {
        Ok(rotated) => {
            if let Some(rotated) = rotated {
                record.user.upstream = Some(vault.seal(&subject, &rotated));
                s.store.replace_family(&family, &record).await?;
            }
            Ok(())
        }
        Err(super::super::upstream::UpstreamRefresh::Refused) => {
            tracing::info!(target: "mcp_secure", "oauth proxy: the identity provider refused a user's refresh; its grant is revoked");
            s.store.revoke(&family).await?;
            Err(refused())
        }
        Err(super::super::upstream::UpstreamRefresh::Unavailable(why)) => {
            tracing::warn!(target: "mcp_secure", reason = %why, "oauth proxy: the identity provider could not renew a sign-in");
            Err(TokenError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                error: "temporarily_unavailable",
                description: "the identity provider cannot be asked now; retry shortly",
                basic: false,
            })
        }
    }
}

/// The token response: a signed access token, bound to the DPoP key `jkt` when there is one,
/// and the refresh token if there is one.
fn tokens(
    s: &Shared,
    client_id: &str,
    user: &User,
    scopes: &[String],
    refresh: Option<String>,
    jkt: Option<&str>,
) -> Result<Value, TokenError> {
    let now = now_ms() / 1000;
    let ttl = s.access_ttl.as_secs();
    let scope = scopes.join(" ");
    let mut claims = json!({
        "iss": s.issuer,
        "aud": s.resource,
        "sub": user.subject,
        "scope": scope,
        "client_id": client_id,
        "iat": now,
        "exp": now + ttl,
        "jti": random_token(),
    });
    // The registered claims above are the server's own; copied claims never replace them.
    for (name, value) in &user.claims {
        if claims.get(name).is_none() {
            claims[name] = value.clone();
        }
    }
    if let Some(jkt) = jkt {
        claims["cnf"] = json!({ "jkt": jkt });
    }
    let access = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &s.key,
    )
    .map_err(|e| {
        tracing::error!(target: "mcp_secure", error = %e, "authorization server: signing an access token failed");
        TokenError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error: "server_error",
            description: "the token could not be issued",
            basic: false,
        }
    })?;
    let mut body = json!({
        "access_token": access,
        "token_type": if jkt.is_some() { "DPoP" } else { "Bearer" },
        "expires_in": ttl,
        "scope": scope,
    });
    if let Some(refresh) = refresh {
        body["refresh_token"] = Value::String(refresh);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// The guide (docs/src/known-limits.md): the development server's access tokens "cannot be revoked before they expire
    /// (10 minutes)": a default server's token says `expires_in: 600` and carries an `exp`
    /// 600 s after its `iat`.
    #[test]
    fn by_default_an_access_token_lives_10_minutes() {
        use base64::Engine;
        let server = crate::dev_auth::DevAuthServer::builder(
            "http://127.0.0.1:8787",
            "http://127.0.0.1:8787/mcp",
            crate::secret::SecretString::new("a-dev-secret-of-32-bytes-or-more!".into()),
        )
        .scopes(["notes:read"])
        .build()
        .unwrap();
        let scopes = ["notes:read".to_owned()];
        let Ok(body) = tokens(
            &server.state,
            "cli",
            &User::named("ann"),
            &scopes,
            None,
            None,
        ) else {
            panic!("a token is issued");
        };
        assert_eq!(body["expires_in"], 600);
        let token = body["access_token"].as_str().unwrap();
        let payload = token.split('.').nth(1).unwrap();
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap();
        let claims: Value = serde_json::from_slice(&payload).unwrap();
        let (iat, exp) = (
            claims["iat"].as_u64().unwrap(),
            claims["exp"].as_u64().unwrap(),
        );
        assert_eq!(exp - iat, 600);
    }
}
