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

/// How a token was presented: `Authorization: Bearer` or `Authorization: DPoP` (RFC 9449 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scheme {
    Bearer,
    Dpop,
}

/// A token from the `Authorization` header, and its scheme (compared without case).
pub(super) fn presented(headers: &http::HeaderMap) -> Option<(Scheme, &str)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    if token.is_empty() {
        return None;
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        Some((Scheme::Bearer, token))
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Some((Scheme::Dpop, token))
    } else {
        None
    }
}

/// What a `401` says was wrong with what the client sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Failure {
    /// The token, presented with this scheme, was refused.
    Token(Scheme),
    /// The DPoP proof was refused.
    Proof,
    /// The DPoP proof carries no nonce this server issued lately: `use_dpop_nonce`, with a
    /// new one in `DPoP-Nonce`.
    #[cfg_attr(not(feature = "dpop"), allow(dead_code))]
    Nonce,
}

/// The `401` challenges: `Bearer` unless DPoP is required, `DPoP algs="…"` unless it is off
/// (Bearer first: clients that read only the first challenge still find the metadata). The
/// scheme the client used carries the error (`invalid_token`, or `invalid_dpop_proof`). Their
/// `scope` names the configured challenge scopes and `tool_scopes`, the scopes of what the
/// request calls, so that a client authorizes once for the call it is making.
pub(super) fn challenge_401(
    config: &Config,
    failure: Option<Failure>,
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
    let offers = super::proof::offers(config);
    // A bearer token where only DPoP is taken: the DPoP challenge says it.
    let failure = match failure {
        Some(Failure::Token(Scheme::Bearer)) if !offers.bearer => {
            Some(Failure::Token(Scheme::Dpop))
        }
        other => other,
    };
    let (code, description) = match failure {
        None => ("unauthorized", "this server needs an access token"),
        Some(Failure::Token(_)) => ("invalid_token", "the access token is not valid"),
        Some(Failure::Proof) => ("invalid_dpop_proof", "the DPoP proof is not valid"),
        Some(Failure::Nonce) => (
            "use_dpop_nonce",
            "this server requires a nonce it issued in the DPoP proof",
        ),
    };
    let error_of = |scheme: Scheme| match failure {
        Some(Failure::Token(s)) if s == scheme => {
            format!(r#"error="{code}", error_description="{description}", "#)
        }
        Some(Failure::Proof | Failure::Nonce) if scheme == Scheme::Dpop => {
            format!(r#"error="{code}", error_description="{description}", "#)
        }
        _ => String::new(),
    };
    let mut values = Vec::new();
    if offers.bearer {
        let error = error_of(Scheme::Bearer);
        values.push(format!(
            r#"Bearer {error}resource_metadata="{meta}"{scope}"#
        ));
    }
    if let Some(algs) = &offers.dpop_algs {
        let error = error_of(Scheme::Dpop);
        values.push(format!(
            r#"DPoP {error}algs="{algs}", resource_metadata="{meta}"{scope}"#
        ));
    }
    let mut response = error_response(StatusCode::UNAUTHORIZED, code, description);
    // The nonce to use next (RFC 9449 §9), on every challenge of a server that requires them:
    // a client learns it from its first refusal, whatever that was.
    #[cfg(feature = "dpop")]
    if offers.dpop_algs.is_some()
        && let Some(nonce) = config.dpop.nonce()
        && let Ok(value) = HeaderValue::from_str(&nonce)
    {
        response.headers_mut().insert("dpop-nonce", value);
    }
    for value in values {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response
                .headers_mut()
                .append(header::WWW_AUTHENTICATE, value);
        }
    }
    response
}
