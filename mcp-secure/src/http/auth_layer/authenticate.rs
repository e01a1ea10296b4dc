//! Authentication, the body and the scope pre-check: one service, because the `401` names the
//! scope of the tool called (which only the body says) and the `403` is decided on the body the
//! authenticated caller sent.

use super::*;
use crate::http::session::{MCP_SESSION_ID, OpensNoSession, may_open_session};
use crate::tool::span::refused_over_http;

/// Authentication, the body and the scope pre-check, in front of an inner service (in an
/// [`AuthLayer`], the session binding).
///
/// Always ready: each admitted request is served by a fresh clone of the inner service, made
/// ready first (`ServiceExt::oneshot`, as axum's routes do); a refused request clones nothing,
/// and cloning this service (axum does, per request) only counts a reference.
pub struct AuthenticateService<S> {
    pub(super) inner: Arc<S>,
    pub(super) config: Arc<Config>,
}

impl<S> Clone for AuthenticateService<S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            config: self.config.clone(),
        }
    }
}

impl<S> Service<Request<Body>> for AuthenticateService<S>
where
    S: Service<Request<Body>, Response = Response<Body>> + Clone + Send + Sync + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // The inner service is made ready per request, on its own clone (see `call`).
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let inner = self.inner.clone();
        let config = self.config.clone();
        Box::pin(async move {
            match admit(&config, request).await {
                Ok(request) => {
                    let nonce = next_nonce(&config, &request);
                    let mut response = S::clone(&inner).oneshot(request).await?;
                    if let Some(nonce) = nonce {
                        response.headers_mut().insert("dpop-nonce", nonce);
                    }
                    Ok(response)
                }
                Err(response) => Ok(response),
            }
        })
    }
}

/// For a DPoP caller of a server that requires nonces, the current nonce, sent with every
/// answer (RFC 9449 §8.2): a client that keeps calling never holds an expired nonce, so it is
/// answered `use_dpop_nonce` (a counted failure) only at its first call, or after an idle spell.
#[cfg(feature = "dpop")]
fn next_nonce(config: &Config, request: &Request<Body>) -> Option<http::HeaderValue> {
    let nonce = config.dpop.nonce()?;
    request
        .extensions()
        .get::<Principal>()
        .is_some_and(|p| p.bound_key().is_some())
        .then(|| http::HeaderValue::from_str(&nonce).ok())
        .flatten()
}

#[cfg(not(feature = "dpop"))]
fn next_nonce(_config: &Config, _request: &Request<Body>) -> Option<http::HeaderValue> {
    None
}

/// Decides a request: `Ok` to pass it on (with its principal and its body re-attached), `Err`
/// with the answer.
async fn admit(config: &Config, request: Request<Body>) -> Result<Request<Body>, Response<Body>> {
    let (mut parts, body) = request.into_parts();
    let principal = match screen(config, &parts).await {
        Ok(principal) => principal,
        Err(Refused::Unauthenticated { failure }) => {
            let (scopes, body_read) =
                scopes_called_before_authentication(config, &parts, body).await;
            let response = challenge_401(config, failure, &scopes);
            return Err(match body_read {
                true => response,
                false => keep_or_close(&parts, response),
            });
        }
        // Refused on its head alone: the body stays unread.
        Err(Refused::Answer(response)) => return Err(keep_or_close(&parts, response)),
    };
    let read = tokio::time::timeout(config.body_timeout, read_body(body, config.max_body));
    let bytes = match read.await {
        Ok(Ok(bytes)) => bytes,
        // Too slow, too large or broken: the rest of the body is still on its way.
        Err(_elapsed) => {
            return Err(last_on_connection(error_response(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                &format!(
                    "the request body did not arrive within {} ms; send it again",
                    config.body_timeout.as_millis()
                ),
            )));
        }
        Ok(Err(status)) => {
            return Err(last_on_connection(
                if status == StatusCode::PAYLOAD_TOO_LARGE {
                    error_response(
                        status,
                        "payload_too_large",
                        &format!(
                            "the request body is over {} bytes; send less",
                            config.max_body
                        ),
                    )
                } else {
                    error_response(
                        status,
                        "invalid_request",
                        "the request body could not be read; send it again",
                    )
                },
            ));
        }
    };
    let header_name = mcp_name(&parts.headers);
    // A caller granted every scope passes the pre-check whatever it calls: unless the body
    // must be compared with an `Mcp-Name` header, it is not parsed for it.
    let all_granted = principal.as_ref().is_some_and(|p| {
        config
            .tool_scopes
            .iter()
            .all(|&(scope, catalog)| p.is_granted(scope, catalog))
    });
    if parts.method == Method::POST && (header_name != NameHeader::Absent || !all_granted) {
        let called = called_tools(&bytes);
        if header_name != NameHeader::Absent
            && let Some((_, id)) = called
                .iter()
                .find(|(tool, _)| header_name != NameHeader::Name(tool.clone()))
        {
            return Err(header_mismatch(id));
        }
        match &principal {
            // Anonymous: a scoped tool needs a token first; the challenge names its scope.
            None => {
                let scopes: Vec<&str> = called
                    .iter()
                    .filter_map(|(tool, _)| required_scope(config, tool).map(|(scope, _)| scope))
                    .collect();
                if !scopes.is_empty() {
                    // One span per tool refused, as for a missing scope.
                    let mut spans: Vec<(&str, tracing::Span)> = Vec::new();
                    for (tool, id) in &called {
                        if required_scope(config, tool).is_some()
                            && !spans.iter().any(|(seen, _)| seen == tool)
                        {
                            let span = refused_over_http(tool, id, &parts, None, "unauthenticated");
                            spans.push((tool, span));
                        }
                    }
                    let _in_call = spans.first().map(|(_, span)| span.enter());
                    config.emit(&SecurityEvent::AuthenticationFailed {
                        reason: "no bearer token",
                        path: parts.uri.path(),
                        client: ClientAddress::of(&parts.extensions),
                    });
                    return Err(challenge_401(config, None, &scopes));
                }
            }
            Some(principal) => refuse_missing_scopes(config, principal, &called, &parts)?,
        }
    }
    if let Some(principal) = principal {
        parts.extensions.insert(principal);
    }
    if parts.method == Method::POST
        && !parts.headers.contains_key(MCP_SESSION_ID)
        && !may_open_session(&bytes)
    {
        parts.extensions.insert(OpensNoSession);
    }
    parts.extensions.insert(config.security.clone());
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// The `403` for every scope `principal` lacks for the tools `called`, in one challenge.
// An answer, not an error value: it is sent as is, as `screen`'s are.
#[allow(clippy::result_large_err)]
fn refuse_missing_scopes(
    config: &Config,
    principal: &Principal,
    called: &[(String, Value)],
    parts: &http::request::Parts,
) -> Result<(), Response<Body>> {
    let client = ClientAddress::of(&parts.extensions);
    let mut missing: Vec<&'static str> = Vec::new();
    let mut first_refused = None;
    // One span and one event per tool refused, not per call: a batch of thousands of calls to
    // one tool would otherwise be thousands of records, crowding others' out of the telemetry.
    let mut recorded: Vec<&str> = Vec::new();
    for (tool, id) in called {
        if recorded.contains(&tool.as_str()) {
            continue;
        }
        if let Some(scope) = missing_scope(config, principal, tool) {
            recorded.push(tool);
            let span = refused_over_http(tool, id, parts, Some(principal), "insufficient_scope");
            let _in_call = span.enter();
            config.emit(&SecurityEvent::authorization_denied(
                tool, principal, scope, client,
            ));
            first_refused.get_or_insert(id);
            if !missing.contains(&scope) {
                missing.push(scope);
            }
        }
    }
    match first_refused {
        Some(id) => Err(challenge_403(config, principal, &missing, id)),
        None => Ok(()),
    }
}

/// Why [`screen`] refused a request.
enum Refused {
    /// No token, or none a verifier accepted: answered with a `401` whose scopes may depend on
    /// what the body calls.
    Unauthenticated {
        /// What was wrong with what was presented; `None` when nothing was.
        failure: Option<Failure>,
    },
    /// Answered on the head alone.
    Answer(Response<Body>),
}

impl From<Response<Body>> for Refused {
    fn from(response: Response<Body>) -> Self {
        Refused::Answer(response)
    }
}

/// The bearer token: `Ok` with the caller (`None`: anonymous), `Err` with why not.
async fn screen(
    config: &Config,
    request: &http::request::Parts,
) -> Result<Option<Principal>, Refused> {
    let path = request.uri.path();
    let client = ClientAddress::of(&request.extensions);
    let limited = config.failures.as_ref().zip(client);
    // Two credentials are ambiguous: a proxy in front may read the other one.
    if request
        .headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .nth(1)
        .is_some()
    {
        config.emit(&SecurityEvent::AuthenticationFailed {
            reason: "several Authorization headers",
            path,
            client,
        });
        return Err(Refused::Answer(error_response(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "send one Authorization header",
        )));
    }
    let principal = match presented(&request.headers) {
        Some((scheme, token)) => {
            if let Some((failures, client)) = limited
                && let Some(wait) = failures.refused(client)
            {
                return Err(throttled(config, client, path, wait).into());
            }
            match authenticate_presented(config, request, scheme, token, client).await {
                Ok(principal) => Some(principal),
                Err(NotAuthenticated::Refused(failure)) => {
                    if let Some((failures, client)) = limited
                        && let Some(wait) = failures.failed(&config.security, client).await
                    {
                        return Err(throttled(config, client, path, wait).into());
                    }
                    return Err(Refused::Unauthenticated {
                        failure: Some(failure),
                    });
                }
                Err(NotAuthenticated::Undecided) => return Err(Refused::Answer(undecided())),
            }
        }
        None if config.anonymous => None,
        None => {
            config.emit(&SecurityEvent::AuthenticationFailed {
                reason: "no bearer token",
                path,
                client,
            });
            return Err(Refused::Unauthenticated { failure: None });
        }
    };
    Ok(principal)
}

/// `429` for a client address that has spent its failed authentications, audited.
fn throttled(
    config: &Config,
    client: std::net::IpAddr,
    path: &str,
    wait: Duration,
) -> Response<Body> {
    config.emit(&SecurityEvent::AuthenticationThrottled {
        client,
        path,
        retry_after_ms: wait.as_millis() as u64,
    });
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let mut response = error_response(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_failed_authentications",
        &format!("too many refused tokens from this address; retry after {seconds} s"),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

/// How much of an unauthenticated request's body is read to name, in the `401`, the scopes of
/// the tools it calls: a `tools/call` fits; a larger body is not read (the connection closes).
const UNAUTHENTICATED_PEEK: usize = 64 * 1024;

/// The scopes of the tools an unauthenticated request calls, from its `Mcp-Name` header or a
/// small body, and whether the body was read to its end. Nothing is authorized by this: it only
/// shapes the challenge, so that a client authorizes once for the call it is making.
async fn scopes_called_before_authentication(
    config: &Config,
    parts: &http::request::Parts,
    body: Body,
) -> (Vec<&'static str>, bool) {
    let scopes_of = |tools: &mut dyn Iterator<Item = &str>| -> Vec<&'static str> {
        let mut scopes = Vec::new();
        for (scope, _) in tools.filter_map(|tool| required_scope(config, tool)) {
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        scopes
    };
    if let NameHeader::Name(tool) = mcp_name(&parts.headers) {
        return (scopes_of(&mut std::iter::once(tool.as_str())), false);
    }
    if parts.method != Method::POST || !announces_body(parts.version, &parts.headers) {
        return (Vec::new(), false);
    }
    let timeout = config.body_timeout.min(Duration::from_secs(5));
    let Ok(Some(bytes)) =
        tokio::time::timeout(timeout, read_prefix(body, UNAUTHENTICATED_PEEK)).await
    else {
        return (Vec::new(), false);
    };
    let called = called_tools(&bytes);
    (
        scopes_of(&mut called.iter().map(|(tool, _)| tool.as_str())),
        true,
    )
}
