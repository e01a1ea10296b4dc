//! Dynamic client registration (RFC 7591).

use std::sync::Arc;

use axum::{body::Body, extract::State};
use http::{HeaderValue, Request, Response, StatusCode, header};
use serde_json::{Map, Value, json};

use super::{intersect, is_loopback_host, read_body};
use crate::dev_auth::{
    AuthMethod, Client, Shared, hash, json_response, now_ms, oauth_error, random_token,
};
use crate::rate::Decision;

/// `POST /register` (RFC 7591).
pub(in crate::dev_auth) async fn register(
    State(s): State<Arc<Shared>>,
    request: Request<Body>,
) -> Response<Body> {
    let invalid =
        |error: &str, description: &str| oauth_error(StatusCode::BAD_REQUEST, error, description);
    let decision = match s
        .limiter
        .check("dev-auth/register", "", s.registrations)
        .await
    {
        Ok(decision) => decision,
        Err(e) => {
            tracing::warn!(target: "mcp_secure", reason = %e, "authorization server: the registration limit could not be decided");
            return oauth_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the registration cannot be decided now; retry shortly",
            );
        }
    };
    if let Decision::Deny { retry_after } = decision {
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
    let client_id = format!("{}{}", s.client_id_prefix(), &random_token()[..22]);
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
    // Clients known from their metadata documents have a cap of their own.
    match s.store.register(&client_id, &client, s.max_clients).await {
        Ok(true) => json_response(StatusCode::CREATED, &answer),
        Ok(false) => oauth_error(
            StatusCode::FORBIDDEN,
            "access_denied",
            "this server holds no more clients",
        ),
        Err(e) => {
            tracing::warn!(target: "mcp_secure", reason = %e, "authorization server: a registration could not be kept");
            oauth_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the registration cannot be kept now; retry shortly",
            )
        }
    }
}

pub(super) type Refusal = (&'static str, String);

/// The client a registration describes, or why it cannot be registered.
pub(super) fn client_from(s: &Shared, metadata: &Map<String, Value>) -> Result<Client, Refusal> {
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
        expires: None,
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
}
