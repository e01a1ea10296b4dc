//! Bearer authentication: the verifiers tried in order, and the `401` challenges.

use super::*;

/// The principal `token` stands for, or the `401` answer.
pub(super) async fn authenticate(
    config: &Config,
    token: &str,
    path: &str,
) -> Result<Principal, Response<Body>> {
    let mut refusals = Vec::new();
    for verifier in &config.verifiers {
        match verifier.verify(token).await {
            // Whatever a verifier returns, its principal is of that verifier's issuer.
            Ok(p) => return Ok(p.issued_by(verifier.issuer())),
            Err(e) => refusals.push(e.reason().to_owned()),
        }
    }
    // Every verifier's reason, in order: the audit log tells which kind of token it was.
    let reason = refusals.join("; ");
    config.emit(&SecurityEvent::AuthenticationFailed {
        reason: &reason,
        path,
    });
    Err(challenge_401(config, true))
}

pub(super) fn challenge(mut response: Response<Body>, value: String) -> Response<Body> {
    if let Ok(value) = HeaderValue::from_str(&value) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

pub(super) fn challenge_401(config: &Config, token_given: bool) -> Response<Body> {
    let meta = &config.metadata_url;
    let scope = config
        .challenge_scopes
        .as_deref()
        .map(|s| format!(r#", scope="{s}""#))
        .unwrap_or_default();
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
