//! Bearer authentication: the verifiers tried in order, and the `401` challenges.

use super::*;

/// Why no verifier accepted a token (recorded as `authentication_failed`).
#[derive(Debug)]
pub(super) enum InvalidToken {
    /// Every verifier refused it: answered with a `401`.
    Refused,
    /// A verifier that might have accepted it could not decide (its authorization server is
    /// down): refused all the same, with a `503` that asks the client to retry.
    Undecided,
}

/// The principal `token` stands for.
pub(super) async fn authenticate(
    config: &Config,
    token: &str,
    path: &str,
    client: Option<std::net::IpAddr>,
) -> Result<Principal, InvalidToken> {
    let mut refusals = Vec::new();
    let mut undecided = false;
    for verifier in &config.verifiers {
        match verifier.verify(token).await {
            // Whatever a verifier returns, its principal is of that verifier's issuer.
            Ok(p) => return Ok(p.issued_by(verifier.issuer())),
            Err(e) => {
                undecided |= e.is_unavailable();
                refusals.push(e.reason().to_owned());
            }
        }
    }
    // Every verifier's reason, in order: the audit log tells which kind of token it was.
    let reason = refusals.join("; ");
    config.emit(&SecurityEvent::AuthenticationFailed {
        reason: &reason,
        path,
        client,
    });
    Err(match undecided {
        true => InvalidToken::Undecided,
        false => InvalidToken::Refused,
    })
}

/// `503` for a token no verifier could decide on: retry shortly.
pub(super) fn undecided() -> Response<Body> {
    let mut response = error_response(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        "the access token cannot be checked now; retry shortly",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    response
}

pub(super) fn challenge(mut response: Response<Body>, value: String) -> Response<Body> {
    if let Ok(value) = HeaderValue::from_str(&value) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// The `401` challenge: `error="invalid_token"` when a token was refused. Its `scope` names the
/// configured challenge scopes and `tool_scopes`, the scopes of what the request calls, so that
/// a client authorizes once for the call it is making.
pub(super) fn challenge_401(
    config: &Config,
    token_given: bool,
    tool_scopes: &[&str],
) -> Response<Body> {
    let meta = &config.metadata_url;
    let mut scopes: Vec<&str> = config
        .challenge_scopes
        .as_deref()
        .map(|s| s.split(' ').collect())
        .unwrap_or_default();
    for scope in tool_scopes {
        if !scopes.contains(scope) {
            scopes.push(scope);
        }
    }
    let scope = match scopes.is_empty() {
        true => String::new(),
        false => format!(r#", scope="{}""#, scopes.join(" ")),
    };
    if token_given {
        challenge(
            error_response(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "the access token is not valid",
            ),
            format!(
                r#"Bearer error="invalid_token", error_description="the access token is not valid", resource_metadata="{meta}"{scope}"#
            ),
        )
    } else {
        challenge(
            error_response(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "this server needs an access token",
            ),
            format!(r#"Bearer resource_metadata="{meta}"{scope}"#),
        )
    }
}
