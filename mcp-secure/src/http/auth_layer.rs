//! The HTTP front door of an MCP server: bearer authentication with the challenges the MCP
//! authorization spec asks for, protected resource metadata, scope checks before rmcp, Origin
//! checks, a body limit and security headers.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use axum::body::Body;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, header};
use serde_json::{Value, json};
use tower::{Layer, Service, ServiceExt};

use super::{announces_body, bearer_token, error_response, last_on_connection};
use crate::{
    audit::{SecurityEvent, emit},
    auth::{Principal, ScopeCatalog, TokenVerifier},
    tool::{Access, ToolPolicy},
};

/// The default request body limit: 4 MiB, as rmcp's.
pub const DEFAULT_MAX_BODY: usize = 4 << 20;

/// The default time a request body may take to arrive: 30 s.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);

const PRM_PATH: &str = "/.well-known/oauth-protected-resource";
/// The header naming a streamable HTTP session.
const MCP_SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
/// The header naming the tool a `tools/call` request calls.
const MCP_NAME: HeaderName = HeaderName::from_static("mcp-name");

/// Builds an [`AuthLayer`].
pub struct AuthLayerBuilder {
    resource: String,
    verifiers: Vec<Arc<dyn TokenVerifier>>,
    authorization_servers: Vec<String>,
    scopes: Vec<String>,
    policies: Vec<&'static ToolPolicy>,
    allowed_origins: Vec<String>,
    max_body: usize,
    body_timeout: Duration,
    challenge_scopes: Option<String>,
    hsts: bool,
    anonymous: bool,
}

/// Why an [`AuthLayer`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthLayerError(String);

impl std::fmt::Display for AuthLayerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "auth layer: {}", self.0)
    }
}

impl std::error::Error for AuthLayerError {}

impl AuthLayerBuilder {
    /// Accepts tokens this verifier accepts (verifiers are tried in the order added). Each
    /// verifier vouches under its own [`TokenVerifier::issuer`], which the principals it
    /// accepts carry; [`build`](Self::build) refuses two verifiers of one issuer, and the
    /// reserved names `local` and `anonymous`.
    pub fn verifier(mut self, verifier: impl TokenVerifier) -> Self {
        self.verifiers.push(Arc::new(verifier));
        self
    }

    /// An authorization server clients should get tokens from (listed in the metadata).
    pub fn authorization_server(mut self, url: impl Into<String>) -> Self {
        self.authorization_servers.push(url.into());
        self
    }

    /// The scopes of `scopes!`, listed as `scopes_supported` in the metadata.
    pub fn scopes(mut self, catalog: &ScopeCatalog) -> Self {
        self.scopes = catalog.scopes().iter().map(|d| d.name.to_owned()).collect();
        self
    }

    /// The policies of the tools behind this layer (`tool_policies()`), so that a call without
    /// the tool's scope is answered `403` with a challenge naming it, before rmcp sees it.
    pub fn tools(mut self, policies: &'static [ToolPolicy]) -> Self {
        self.policies.extend(policies.iter());
        self
    }

    /// Allows browser requests from `origin` (`scheme://host[:port]`, compared exactly): they
    /// get CORS headers naming that origin (never `*`), and preflights are answered. Without
    /// any, a request carrying an `Origin` header is refused (`403`); requests without one are
    /// unaffected.
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Self {
        self.allowed_origins.push(origin.into());
        self
    }

    /// Refuses request bodies over `bytes` with `413` (default [`DEFAULT_MAX_BODY`]).
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Lets requests without a token through, without a [`Principal`]: only `public` tools
    /// answer them, and a `tools/call` of a scoped tool gets the `401` challenge, so that
    /// OAuth clients know to authenticate. A token that is presented must still be valid.
    /// Answers `408` to a request whose body has not fully arrived `timeout` after its head
    /// (default [`DEFAULT_BODY_TIMEOUT`]), so that a client trickling its body cannot hold the
    /// connection. Pair it with [`ServeOptions::header_timeout`](super::ServeOptions) for the
    /// request head.
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// The scopes a client without a token should ask for first, sent as `scope="…"` in the
    /// `401` challenge (MCP clients request exactly these; by default they ask for every scope
    /// in the metadata). Least privilege: name the scopes of the common read-only tools and let
    /// clients step up, through the `403` challenge, when a call needs more.
    pub fn challenge_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let joined = scopes
            .into_iter()
            .map(|s| s.as_ref().to_owned())
            .collect::<Vec<_>>()
            .join(" ");
        self.challenge_scopes = (!joined.is_empty()).then_some(joined);
        self
    }

    /// For servers whose tools are public (a conformance or demo server); off by default.
    pub fn allow_anonymous(mut self, on: bool) -> Self {
        self.anonymous = on;
        self
    }

    /// Sends `Strict-Transport-Security` (for servers behind TLS).
    pub fn hsts(mut self, on: bool) -> Self {
        self.hsts = on;
        self
    }

    /// The layer.
    pub fn build(self) -> Result<AuthLayer, AuthLayerError> {
        let url = url::Url::parse(&self.resource)
            .map_err(|_| AuthLayerError("the resource is not an absolute URL".into()))?;
        if self.verifiers.is_empty() && !self.anonymous {
            return Err(AuthLayerError(
                "add at least one verifier; without one every request is refused".into(),
            ));
        }
        let mut issuers: Vec<&str> = Vec::new();
        for verifier in &self.verifiers {
            let issuer = verifier.issuer();
            crate::auth::check_verifier_issuer(issuer)
                .map_err(|e| AuthLayerError(format!("verifier issuer `{issuer}`: {e}")))?;
            if issuers.contains(&issuer) {
                return Err(AuthLayerError(format!(
                    "two verifiers vouch as `{issuer}`; give each its own issuer, or their subjects would be one caller"
                )));
            }
            issuers.push(issuer);
        }
        for scope in self.challenge_scopes.iter().flat_map(|s| s.split(' ')) {
            crate::auth::check_scope(scope)
                .map_err(|e| AuthLayerError(format!("challenge scope: {e}")))?;
        }
        let path = url.path().trim_end_matches('/');
        let origin = url.origin().ascii_serialization();
        let loopback = url.host_str().is_some_and(is_loopback_host);
        let mut tool_scopes: Vec<(&'static str, &'static ScopeCatalog)> = Vec::new();
        for policy in &self.policies {
            if let Access::Scope(scope, catalog) = policy.access()
                && !tool_scopes
                    .iter()
                    .any(|&(s, c)| s == scope && std::ptr::eq(c, catalog))
            {
                tool_scopes.push((scope, catalog));
            }
        }
        Ok(AuthLayer {
            config: Arc::new(Config {
                tool_scopes,
                loopback,
                sessions: Default::default(),
                metadata_url: format!("{origin}{PRM_PATH}{path}"),
                metadata_path: format!("{PRM_PATH}{path}"),
                settings: self,
            }),
        })
    }
}

/// The built configuration: the builder's settings, plus what is derived from them and the
/// session bindings.
struct Config {
    settings: AuthLayerBuilder,
    /// Which principal ([`Principal::id`]) opened each legacy session (`Mcp-Session-Id`).
    sessions: std::sync::Mutex<std::collections::HashMap<String, String>>,
    metadata_url: String,
    metadata_path: String,
    /// The resource is on a loopback address: only loopback `Host`s are served (DNS rebinding).
    loopback: bool,
    /// Every scope a tool behind the layer requires, once each: a caller granted all of them
    /// cannot fail the scope pre-check, which then does not read the body's JSON.
    tool_scopes: Vec<(&'static str, &'static ScopeCatalog)>,
}

impl std::ops::Deref for Config {
    type Target = AuthLayerBuilder;

    fn deref(&self) -> &AuthLayerBuilder {
        &self.settings
    }
}

/// A tower layer in front of rmcp's `StreamableHttpService` (or an axum router holding it):
///
/// - serves protected resource metadata (RFC 9728) at `/.well-known/oauth-protected-resource`
///   and its path-aware variant;
/// - refuses a present `Origin` that is not allowed (`403`);
/// - authenticates `Authorization: Bearer` with its [`TokenVerifier`]s, answering `401` with
///   `WWW-Authenticate: Bearer resource_metadata="…"` (and `error="invalid_token"` when a token
///   was refused);
/// - reads the JSON-RPC body (up to a limit, `413` past it), and for `tools/call` of a tool
///   whose scope the caller lacks (implication honoured) answers `403` with
///   `WWW-Authenticate: Bearer error="insufficient_scope", scope="…", resource_metadata="…"`,
///   which is what lets clients step up; an `Mcp-Name` header that disagrees with the body is
///   a `400`;
/// - binds each legacy session (`Mcp-Session-Id`) to the principal that opened it: another
///   principal presenting it gets `404`, as for an unknown session;
/// - puts the [`Principal`] into the request for the tools, and security headers on every
///   response.
///
/// A refusal given before the request's body was read to its end (an Origin, Host or
/// authentication refusal of a request with a body, a `408`, a `413`) carries
/// `Connection: close`: the connection ends with it.
///
/// The tool guard checks the scope again (defence in depth, and the only check over stdio).
#[derive(Clone)]
pub struct AuthLayer {
    config: Arc<Config>,
}

impl AuthLayer {
    /// A builder for the server whose canonical resource URL is `resource`, e.g.
    /// `https://mcp.example.com/mcp` (tokens must carry it in `aud`).
    pub fn builder(resource: impl Into<String>) -> AuthLayerBuilder {
        AuthLayerBuilder {
            resource: resource.into(),
            verifiers: Vec::new(),
            authorization_servers: Vec::new(),
            scopes: Vec::new(),
            policies: Vec::new(),
            allowed_origins: Vec::new(),
            max_body: DEFAULT_MAX_BODY,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            challenge_scopes: None,
            hsts: false,
            anonymous: false,
        }
    }

    /// Where the protected resource metadata is served.
    pub fn metadata_url(&self) -> &str {
        &self.config.metadata_url
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner: Arc::new(inner),
            config: self.config.clone(),
        }
    }
}

/// The service [`AuthLayer`] wraps around an inner service.
///
/// Always ready: each admitted request is served by a fresh clone of the inner service, made
/// ready first (`ServiceExt::oneshot`, as axum's routes do); a refused request clones nothing,
/// and cloning this service (axum does, per request) only counts a reference.
pub struct AuthService<S> {
    inner: Arc<S>,
    config: Arc<Config>,
}

impl<S> Clone for AuthService<S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            config: self.config.clone(),
        }
    }
}

impl<S> Service<Request<Body>> for AuthService<S>
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
        let origin = request.headers().get(header::ORIGIN).cloned();
        Box::pin(async move {
            let mut response = match admit(&config, request).await {
                // On a session this caller opened: nothing to bind.
                Ok((request, Session::Own)) if request.method() != Method::DELETE => {
                    S::clone(&inner).oneshot(request).await?
                }
                Ok((request, _)) => {
                    let subject = request
                        .extensions()
                        .get::<Principal>()
                        .map(|p| p.id().to_owned());
                    let closing = request.method() == Method::DELETE;
                    let asked = session_id(request.headers());
                    let response = S::clone(&inner).oneshot(request).await?;
                    bind_session(&config, subject, asked, closing, response.headers());
                    response
                }
                Err(response) => response,
            };
            security_headers(response.headers_mut(), config.hsts);
            if let Some(origin) = origin.filter(|o| {
                config
                    .allowed_origins
                    .iter()
                    .any(|a| a.as_bytes() == o.as_bytes())
            }) {
                cors_headers(response.headers_mut(), origin);
            }
            Ok(response)
        })
    }
}

/// The session a request names (`Mcp-Session-Id`), as [`admit`] found it.
enum Session {
    /// None named, or one not bound (yet) to a principal.
    Unbound,
    /// Bound to the request's principal.
    Own,
}

/// Decides a request: `Ok` to pass it on (with its principal and its body re-attached, and
/// whether the session it names is the caller's), `Err` with the answer.
async fn admit(
    config: &Config,
    request: Request<Body>,
) -> Result<(Request<Body>, Session), Response<Body>> {
    let (mut parts, body) = request.into_parts();
    let principal = match screen(config, &parts).await {
        Ok(principal) => principal,
        // Refused on its head alone: the body stays unread.
        Err(response) if announces_body(parts.version, &parts.headers) => {
            return Err(last_on_connection(response));
        }
        Err(response) => return Err(response),
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
    let header_name = parts.headers.get(MCP_NAME);
    // A caller granted every scope passes the pre-check whatever it calls: unless the body
    // must be compared with an `Mcp-Name` header, it is not parsed for it.
    let all_granted = principal.as_ref().is_some_and(|p| {
        config
            .tool_scopes
            .iter()
            .all(|&(scope, catalog)| p.is_granted(scope, catalog))
    });
    if parts.method == Method::POST && (header_name.is_some() || !all_granted) {
        let header_name = header_name.map(|v| v.to_str().unwrap_or("\u{0}"));
        let called = called_tools(&bytes);
        if let Some(header_name) = header_name
            && !called.is_empty()
            && called.iter().any(|(c, _)| c != header_name)
        {
            return Err(error_response(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "the Mcp-Name header does not match the tool called in the body",
            ));
        }
        for (tool, id) in &called {
            let Some(principal) = &principal else {
                // Anonymous: a scoped tool needs a token first.
                if required_scope(config, tool).is_some() {
                    emit(&SecurityEvent::AuthenticationFailed {
                        reason: "no bearer token",
                        path: parts.uri.path(),
                    });
                    return Err(challenge_401(config, false));
                }
                continue;
            };
            if let Some(scope) = missing_scope(config, principal, tool) {
                emit(&SecurityEvent::AuthorizationDenied {
                    tool: config
                        .policies
                        .iter()
                        .find(|p| p.name() == tool)
                        .map_or("", |p| p.name()),
                    issuer: principal.issuer(),
                    subject: principal.subject(),
                    required_scope: scope,
                    held_scopes: principal.scopes(),
                });
                return Err(challenge_403(config, scope, id));
            }
        }
    }
    let mut session = Session::Unbound;
    if let Some(id) = parts.headers.get(MCP_SESSION_ID) {
        let subject = principal.as_ref().map(|p| p.id());
        let owned_by = |owner: &String| Some(owner.as_str()) == subject;
        let owner = config
            .sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id.to_str().unwrap_or_default())
            .map(owned_by);
        if owner == Some(true) {
            session = Session::Own;
        }
        if owner == Some(false) {
            emit(&SecurityEvent::AuthenticationFailed {
                reason: "session belongs to another principal",
                path: parts.uri.path(),
            });
            // As for an unknown session: the caller learns nothing about whose it is.
            return Err(error_response(
                StatusCode::NOT_FOUND,
                "session_not_found",
                "no such session",
            ));
        }
    }
    if let Some(principal) = principal {
        parts.extensions.insert(principal);
    }
    Ok((Request::from_parts(parts, Body::from(bytes)), session))
}

/// The checks a request's head decides (metadata, Origin, Host, the bearer token): `Ok` with
/// the caller (`None`: anonymous), `Err` with the answer.
async fn screen(
    config: &Config,
    request: &http::request::Parts,
) -> Result<Option<Principal>, Response<Body>> {
    let path = request.uri.path();
    if path == PRM_PATH || path == config.metadata_path {
        return Err(metadata(config, &request.method));
    }
    if let Some(origin) = request.headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if !config.allowed_origins.iter().any(|o| o == origin) {
            emit(&SecurityEvent::OriginRefused { origin });
            return Err(error_response(
                StatusCode::FORBIDDEN,
                "forbidden",
                "this Origin is not allowed",
            ));
        }
        if request.method == Method::OPTIONS {
            return Err(preflight());
        }
    }
    if config.loopback {
        let host = request
            .headers
            .get(header::HOST)
            .map(|h| h.to_str().unwrap_or("\u{0}"))
            .or(request.uri.host());
        if let Some(host) = host
            && !is_loopback_host(host_name(host))
        {
            emit(&SecurityEvent::HostRefused { host });
            return Err(error_response(
                StatusCode::FORBIDDEN,
                "forbidden",
                "this server answers on loopback names only (localhost, 127.0.0.1, [::1])",
            ));
        }
    }
    let principal = match bearer_token(&request.headers) {
        Some(token) => Some(authenticate(config, token, path).await?),
        None if config.anonymous => None,
        None => {
            emit(&SecurityEvent::AuthenticationFailed {
                reason: "no bearer token",
                path,
            });
            return Err(challenge_401(config, false));
        }
    };
    Ok(principal)
}

/// The principal `token` stands for, or the `401` answer.
async fn authenticate(
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
    emit(&SecurityEvent::AuthenticationFailed {
        reason: &reason,
        path,
    });
    Err(challenge_401(config, true))
}

/// `localhost`, `127.0.0.1` (any `127.x`), `::1`/`[::1]`.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The name part of a `Host` header (`name[:port]`, `[v6][:port]`).
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    host.rsplit_once(':').map_or(host, |(name, _)| name)
}

fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get(MCP_SESSION_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Remembers which principal a new session belongs to; forgets it when the session is closed.
fn bind_session(
    config: &Config,
    subject: Option<String>,
    asked: Option<String>,
    closing: bool,
    response: &HeaderMap,
) {
    const MAX_SESSIONS: usize = 100_000;
    let mut sessions = config.sessions.lock().unwrap_or_else(|p| p.into_inner());
    if closing {
        if let Some(id) = asked {
            sessions.remove(&id);
        }
        return;
    }
    if let (Some(subject), Some(id)) = (subject, session_id(response))
        && !sessions.contains_key(&id)
    {
        if sessions.len() >= MAX_SESSIONS {
            // Bounded: forget an arbitrary binding rather than grow without end (rmcp expires
            // idle sessions on its side too).
            if let Some(old) = sessions.keys().next().cloned() {
                sessions.remove(&old);
            }
        }
        sessions.insert(id, subject);
    }
}

/// The body, up to `limit` bytes. A larger body is read on and thrown away (up to four times
/// the limit), so that the `413` reaches a client still sending instead of a reset connection.
async fn read_body(body: Body, limit: usize) -> Result<axum::body::Bytes, StatusCode> {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut kept = Vec::new();
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| StatusCode::BAD_REQUEST)?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        total += data.len();
        if total <= limit {
            kept.extend_from_slice(&data);
        } else if total > limit.saturating_mul(4) {
            break;
        }
    }
    if total > limit {
        Err(StatusCode::PAYLOAD_TOO_LARGE)
    } else {
        Ok(kept.into())
    }
}

/// The names of the tools a JSON-RPC message (or batch) calls, with the request ids.
fn called_tools(body: &[u8]) -> Vec<(String, Value)> {
    // The fast path reads only `method`, `id` and `params.name`, skipping the arguments
    // without building them; anything it cannot read that way (positional params, duplicate
    // keys, a batch with non-objects) takes the general path, which decides the same.
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    let typed = if first == Some(&b'[') {
        serde_json::from_slice::<Vec<Envelope<'_>>>(body)
    } else {
        serde_json::from_slice::<Envelope<'_>>(body).map(|m| vec![m])
    };
    match typed {
        Ok(messages) => messages
            .into_iter()
            .filter(|m| m.method.as_deref() == Some("tools/call"))
            .filter_map(|m| {
                let name = m.params?.name?;
                Some((name, m.id.unwrap_or(Value::Null)))
            })
            .collect(),
        Err(_) => called_tools_general(body),
    }
}

/// [`called_tools`] through a full `Value`.
fn called_tools_general(body: &[u8]) -> Vec<(String, Value)> {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    let messages = match value {
        Value::Array(items) => items,
        single => vec![single],
    };
    messages
        .iter()
        .filter(|m| m["method"] == "tools/call")
        .filter_map(|m| {
            let name = m["params"]["name"].as_str()?;
            Some((name.to_owned(), m["id"].clone()))
        })
        .collect()
}

/// What [`called_tools`] reads of a JSON-RPC message; the rest is skipped unparsed.
#[derive(serde::Deserialize)]
struct Envelope<'a> {
    #[serde(default, borrow)]
    method: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    params: Option<CallParams>,
}

/// `params.name` of an object `params` (an array, as positional params, has no name).
struct CallParams {
    name: Option<String>,
}

impl<'de> serde::Deserialize<'de> for CallParams {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::{Error, IgnoredAny, MapAccess, Visitor};
        /// A key, read only as far as "is it `name`".
        struct IsName(bool);
        impl<'de> serde::Deserialize<'de> for IsName {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct Key;
                impl Visitor<'_> for Key {
                    type Value = IsName;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("a key")
                    }
                    fn visit_str<E: Error>(self, key: &str) -> Result<IsName, E> {
                        Ok(IsName(key == "name"))
                    }
                }
                d.deserialize_str(Key)
            }
        }
        struct Params;
        impl<'de> Visitor<'de> for Params {
            type Value = CallParams;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<CallParams, A::Error> {
                let mut name = None;
                while let Some(IsName(is_name)) = map.next_key()? {
                    if !is_name {
                        map.next_value::<IgnoredAny>()?;
                    } else if name.is_some() {
                        return Err(A::Error::duplicate_field("name"));
                    } else {
                        name = Some(map.next_value::<Option<String>>()?);
                    }
                }
                Ok(CallParams {
                    name: name.flatten(),
                })
            }
        }
        deserializer.deserialize_map(Params)
    }
}

/// The scope `tool` needs and the catalog that decides implication, if it is not public.
fn required_scope(config: &Config, tool: &str) -> Option<(&'static str, &'static ScopeCatalog)> {
    let policy = config.policies.iter().find(|p| p.name() == tool)?;
    match policy.access() {
        Access::Scope(scope, catalog) => Some((scope, catalog)),
        _ => None,
    }
}

/// The scope `principal` lacks to call `tool`, if any.
fn missing_scope(config: &Config, principal: &Principal, tool: &str) -> Option<&'static str> {
    let (scope, catalog) = required_scope(config, tool)?;
    (!principal.is_granted(scope, catalog)).then_some(scope)
}

fn metadata(config: &Config, method: &Method) -> Response<Body> {
    if method != Method::GET && method != Method::HEAD {
        return error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "use GET",
        );
    }
    let doc = json!({
        "resource": config.resource,
        "authorization_servers": config.authorization_servers,
        "scopes_supported": config.scopes,
        "bearer_methods_supported": ["header"],
    });
    let mut response = Response::new(Body::from(doc.to_string()));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn challenge(mut response: Response<Body>, value: String) -> Response<Body> {
    if let Ok(value) = HeaderValue::from_str(&value) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

fn challenge_401(config: &Config, token_given: bool) -> Response<Body> {
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

/// The JSON-RPC error code in the body of a `403` (in the server-defined range): a missing scope
/// (`data.code` is then `insufficient_scope`), or a refused `Origin` or `Host`.
pub const FORBIDDEN_CODE: i64 = -32003;

/// `403` with the `insufficient_scope` challenge in `WWW-Authenticate` (what OAuth clients read
/// to step up) and, as the body, the JSON-RPC error for request `id`, so that a client without
/// OAuth support shows its user which scope is missing instead of a bare status.
fn challenge_403(config: &Config, scope: &str, id: &Value) -> Response<Body> {
    let meta = &config.metadata_url;
    let body = json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {
            "code": FORBIDDEN_CODE,
            "message": format!("insufficient_scope: this call needs the scope {scope}"),
            "data": {"code": "insufficient_scope", "required_scope": scope},
        },
    });
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = StatusCode::FORBIDDEN;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    challenge(
        response,
        format!(
            r#"Bearer error="insufficient_scope", scope="{scope}", resource_metadata="{meta}""#
        ),
    )
}

/// The answer to a CORS preflight from an allowed origin (the origin header is added with the
/// other CORS headers on the way out).
fn preflight() -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let h = response.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, DELETE"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(
            "authorization, content-type, accept, mcp-session-id, mcp-protocol-version, mcp-method, mcp-name, last-event-id",
        ),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    response
}

/// CORS headers for a response to an allowed origin: that origin only, never `*`.
fn cors_headers(headers: &mut HeaderMap, origin: HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("mcp-session-id, www-authenticate"),
    );
}

fn security_headers(headers: &mut HeaderMap, hsts: bool) {
    // Room for all of them at once: the map would otherwise grow twice on the way.
    headers.reserve(6);
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if hsts {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::auth::ApiKeys;

    /// An inner service that panics when called without having been made ready, and counts
    /// its clones and calls.
    struct Strict {
        ready: bool,
        clones: Arc<AtomicUsize>,
        calls: Arc<AtomicUsize>,
    }

    impl Clone for Strict {
        fn clone(&self) -> Self {
            self.clones.fetch_add(1, Ordering::SeqCst);
            Strict {
                ready: false,
                clones: self.clones.clone(),
                calls: self.calls.clone(),
            }
        }
    }

    impl Service<Request<Body>> for Strict {
        type Response = Response<Body>;
        type Error = std::convert::Infallible;
        type Future = std::future::Ready<Result<Response<Body>, Self::Error>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            self.ready = true;
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, request: Request<Body>) -> Self::Future {
            assert!(self.ready, "called without poll_ready");
            self.ready = false;
            assert!(request.extensions().get::<Principal>().is_some());
            self.calls.fetch_add(1, Ordering::SeqCst);
            std::future::ready(Ok(Response::new(Body::empty())))
        }
    }

    #[tokio::test]
    async fn the_inner_service_is_made_ready_before_each_call_and_refusals_never_reach_it() {
        let (clones, calls) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let inner = Strict {
            ready: false,
            clones: clones.clone(),
            calls: calls.clone(),
        };
        let layer = AuthLayer::builder("http://127.0.0.1/mcp")
            .verifier(
                ApiKeys::new().with_key("a-long-enough-key-0000", Principal::new("ann", ["x"])),
            )
            .build()
            .unwrap();
        let mut service = layer.layer(inner);
        let request = |key: Option<&str>| {
            let mut request = Request::post("http://127.0.0.1/mcp");
            if let Some(key) = key {
                request = request.header(header::AUTHORIZATION, format!("Bearer {key}"));
            }
            request.body(Body::from("{}")).unwrap()
        };
        for key in [None, Some("a-wrong-key-00000000000")] {
            assert_eq!(
                status(&service, request(key)).await,
                StatusCode::UNAUTHORIZED
            );
        }
        assert_eq!(clones.load(Ordering::SeqCst), 0, "a refusal clones nothing");
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        for n in 1..=3 {
            let response = service
                .ready()
                .await
                .unwrap()
                .call(request(Some("a-long-enough-key-0000")))
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(calls.load(Ordering::SeqCst), n);
            assert_eq!(
                clones.load(Ordering::SeqCst),
                n,
                "one clone per admitted call"
            );
        }
    }

    static CATALOG: ScopeCatalog = ScopeCatalog::new(&[
        crate::auth::ScopeDecl {
            name: "t:read",
            description: "Read.",
            implies: &[],
        },
        crate::auth::ScopeDecl {
            name: "t:write",
            description: "Write.",
            implies: &["t:read"],
        },
        crate::auth::ScopeDecl {
            name: "t:admin",
            description: "Administer.",
            implies: &[],
        },
    ]);
    static POLICIES: [ToolPolicy; 4] = [
        ToolPolicy::new(
            "read",
            Access::Scope("t:read", &CATALOG),
            crate::rate::RateLimit::Unlimited,
        ),
        ToolPolicy::new(
            "read_more",
            Access::Scope("t:read", &CATALOG),
            crate::rate::RateLimit::Unlimited,
        ),
        ToolPolicy::new(
            "write",
            Access::Scope("t:write", &CATALOG),
            crate::rate::RateLimit::Unlimited,
        ),
        ToolPolicy::new("open", Access::Public, crate::rate::RateLimit::Unlimited),
    ];

    /// A layer over an inner service that answers every request with session `s-1`, in front
    /// of the tools above, with keys for a reader, a writer (who may read) and an
    /// administrator who holds every tool's scope.
    fn layered() -> (
        impl Service<
            Request<Body>,
            Response = Response<Body>,
            Error = std::convert::Infallible,
            Future: Send,
        > + Clone,
        Arc<Config>,
    ) {
        let layer = AuthLayer::builder("http://127.0.0.1/mcp")
            .verifier(
                ApiKeys::new()
                    .with_key("reader-key-000000000000", Principal::new("rea", ["t:read"]))
                    .with_key(
                        "writer-key-000000000000",
                        Principal::new("wri", ["t:write"]),
                    )
                    .with_key(
                        "admin-key-0000000000000",
                        Principal::new("adm", ["t:write", "t:admin"]),
                    ),
            )
            // The same subject, vouched for by another set of keys: another caller.
            .verifier(
                ApiKeys::new()
                    .with_issuer("partner-keys")
                    .unwrap()
                    .with_key(
                        "partner-wri-key-0000000",
                        Principal::new("wri", ["t:write"]),
                    ),
            )
            .tools(&POLICIES)
            .build()
            .unwrap();
        let config = layer.config.clone();
        let inner = tower::service_fn(|request: Request<Body>| async move {
            assert!(request.extensions().get::<Principal>().is_some());
            let mut response = Response::new(Body::empty());
            response
                .headers_mut()
                .insert(MCP_SESSION_ID, HeaderValue::from_static("s-1"));
            Ok::<_, std::convert::Infallible>(response)
        });
        (layer.layer(inner), config)
    }

    /// The status `service` answers `request` with.
    async fn status<S>(service: &S, request: Request<Body>) -> StatusCode
    where
        S: Service<Request<Body>, Response = Response<Body>, Error = std::convert::Infallible>
            + Clone,
    {
        service.clone().oneshot(request).await.unwrap().status()
    }

    fn call_request(key: &str, tool: &str, mcp_name: Option<&str>, session: bool) -> Request<Body> {
        let mut request = Request::post("http://127.0.0.1/mcp")
            .header(header::AUTHORIZATION, format!("Bearer {key}"));
        if let Some(name) = mcp_name {
            request = request.header(MCP_NAME, name);
        }
        if session {
            request = request.header(MCP_SESSION_ID, "s-1");
        }
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": tool, "arguments": {}}});
        request.body(Body::from(body.to_string())).unwrap()
    }

    #[test]
    fn the_tool_scopes_are_known_to_the_layer_once_each() {
        let (_, config) = layered();
        let scopes: Vec<_> = config.tool_scopes.iter().map(|&(s, _)| s).collect();
        assert_eq!(scopes, ["t:read", "t:write"]);
    }

    #[tokio::test]
    async fn the_scope_pre_check_refuses_what_is_lacking_and_reads_mcp_name_for_everyone() {
        let (service, _) = layered();
        let status = |request| status(&service, request);
        let reader = "reader-key-000000000000";
        let writer = "writer-key-000000000000";
        let admin = "admin-key-0000000000000";
        assert_eq!(status(call_request(reader, "read", None, false)).await, 200);
        assert_eq!(status(call_request(reader, "open", None, false)).await, 200);
        assert_eq!(
            status(call_request(reader, "write", None, false)).await,
            403
        );
        assert_eq!(
            status(call_request(writer, "read", None, false)).await,
            200,
            "implied"
        );
        assert_eq!(
            status(call_request(writer, "write", None, false)).await,
            200
        );
        // The administrator holds every tool's scope: nothing to refuse, but a disagreeing
        // Mcp-Name header is still a 400, for it as for the others.
        assert_eq!(status(call_request(admin, "write", None, false)).await, 200);
        for key in [reader, writer, admin] {
            let refused = call_request(key, "read", Some("write"), false);
            assert_eq!(status(refused).await, 400, "{key}");
            let agreed = call_request(key, "read", Some("read"), false);
            assert_eq!(status(agreed).await, 200, "{key}");
        }
    }

    /// Accepts every token as `wri`, claiming to be of the API-key issuer.
    struct Impostor;

    impl TokenVerifier for Impostor {
        fn issuer(&self) -> &str {
            "impostor"
        }
        fn verify<'a>(&'a self, _: &'a str) -> crate::auth::VerifyFuture<'a> {
            let p = Principal::new("wri", ["t:write"]).with_issuer("api-key");
            Box::pin(std::future::ready(Ok(p.unwrap())))
        }
    }

    /// Refuses every token, under the name it is given.
    struct Named(&'static str);

    impl TokenVerifier for Named {
        fn issuer(&self) -> &str {
            self.0
        }
        fn verify<'a>(&'a self, _: &'a str) -> crate::auth::VerifyFuture<'a> {
            Box::pin(std::future::ready(Err(crate::auth::VerifyError::new("no"))))
        }
    }

    #[test]
    fn verifiers_must_vouch_under_names_of_their_own() {
        let build = |second: ApiKeys| {
            AuthLayer::builder("http://127.0.0.1/mcp")
                .verifier(ApiKeys::new())
                .verifier(second)
                .build()
                .map(|_| ())
        };
        let err = build(ApiKeys::new()).unwrap_err();
        assert!(
            err.to_string().contains("two verifiers vouch as `api-key`"),
            "{err}"
        );
        assert!(build(ApiKeys::new().with_issuer("other").unwrap()).is_ok());
        for reserved in ["local", "anonymous"] {
            assert!(ApiKeys::new().with_issuer(reserved).is_err(), "{reserved}");
            let err = AuthLayer::builder("http://127.0.0.1/mcp")
                .verifier(Named(reserved))
                .build()
                .map(|_| ())
                .unwrap_err();
            assert!(err.to_string().contains("no verifier made"), "{err}");
        }
        assert!(ApiKeys::new().with_issuer("a#b").is_err());
        assert!(ApiKeys::new().with_issuer("a b").is_err());
    }

    #[tokio::test]
    async fn a_principal_is_of_the_issuer_of_the_verifier_that_accepted_it() {
        let layer = AuthLayer::builder("http://127.0.0.1/mcp")
            .verifier(Impostor)
            .build()
            .unwrap();
        let principal = authenticate(&layer.config, "anything", "/mcp")
            .await
            .unwrap();
        assert_eq!(principal.id(), "impostor#wri");
    }

    #[tokio::test]
    async fn a_session_stays_its_openers_until_it_is_closed() {
        let (service, config) = layered();
        let send = |request| status(&service, request);
        let owner = "writer-key-000000000000";
        let other = "admin-key-0000000000000";
        let bound = || config.sessions.lock().unwrap().get("s-1").cloned();
        // Opened (the inner service names the session in its answer): bound to its opener.
        assert_eq!(send(call_request(owner, "read", None, false)).await, 200);
        assert_eq!(bound().as_deref(), Some("api-key#wri"));
        let same_subject_other_issuer = "partner-wri-key-0000000";
        for _ in 0..2 {
            assert_eq!(send(call_request(owner, "read", None, true)).await, 200);
            assert_eq!(send(call_request(other, "read", None, true)).await, 404);
            assert_eq!(
                send(call_request(same_subject_other_issuer, "read", None, true)).await,
                404,
                "`wri` of another issuer is another caller"
            );
        }
        assert_eq!(bound().as_deref(), Some("api-key#wri"));
        let close = |key: &str| {
            Request::delete("http://127.0.0.1/mcp")
                .header(header::AUTHORIZATION, format!("Bearer {key}"))
                .header(MCP_SESSION_ID, "s-1")
                .body(Body::empty())
                .unwrap()
        };
        assert_eq!(send(close(other)).await, 404, "only its owner closes it");
        assert_eq!(bound().as_deref(), Some("api-key#wri"));
        assert_eq!(send(close(owner)).await, 200);
        assert_eq!(bound(), None, "closed: forgotten");
    }

    /// A body that arrives in the given pieces.
    struct Pieces(std::collections::VecDeque<&'static [u8]>);

    impl axum::body::HttpBody for Pieces {
        type Data = axum::body::Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<http_body::Frame<axum::body::Bytes>, Self::Error>>> {
            let piece = self.get_mut().0.pop_front();
            Poll::Ready(piece.map(|p| Ok(http_body::Frame::data(p.into()))))
        }
    }

    #[tokio::test]
    async fn a_body_is_read_whole_in_one_piece_or_many_and_refused_over_the_limit() {
        let read = |pieces: &[&'static [u8]], limit| {
            let body = Body::new(Pieces(pieces.iter().copied().collect()));
            read_body(body, limit)
        };
        let cases: &[&[&[u8]]] = &[
            &[],
            &[b""],
            &[b"{\"a\":1}"],
            &[b"", b"{\"a\":1}"],
            &[b"{\"a\"", b":1}"],
            &[b"{", b"", b"\"a\":", b"1}"],
            &[b"{\"a\":1}", b""],
        ];
        for pieces in cases {
            let whole: Vec<u8> = pieces.concat();
            assert_eq!(read(pieces, 7).await.unwrap(), whole, "{pieces:?}");
        }
        assert_eq!(
            read(&[b"{\"a\":12}"], 7).await,
            Err(StatusCode::PAYLOAD_TOO_LARGE)
        );
        assert_eq!(
            read(&[b"{\"a\"", b":12}"], 7).await,
            Err(StatusCode::PAYLOAD_TOO_LARGE)
        );
    }

    #[test]
    fn the_fast_path_reads_calls_as_the_general_one_does() {
        let bodies: &[&str] = &[
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{"x":[1,{"y":"z"}]}}}"#,
            r#"{"jsonrpc":"2.0","id":"s","method":"tools/call","params":{"arguments":{},"name":"b\u0062"}}"#,
            r#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"no-id"}}"#,
            r#"{"jsonrpc":"2.0","id":null,"method":"tools/call","params":{"name":"null-id"}}"#,
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"name":"not-a-call"}}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":["positional"]}"#,
            r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":5}}"#,
            r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"a","name":"b"}}"#,
            r#"{"jsonrpc":"2.0","id":6,"method":"tools/call","method":"x","params":{"name":"a"}}"#,
            r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":null}"#,
            r#"  [{"id":1,"method":"tools/call","params":{"name":"a"}},{"id":2,"method":"tools/call","params":{"name":"b"}}]"#,
            r#"[1, {"id":2,"method":"tools/call","params":{"name":"c"}}]"#,
            r#"[{"id":1,"method":"x","params":[1]},{"id":2,"method":"tools/call","params":{"name":"d"}}]"#,
            r#"{"method":"tools/call","params":{"name":"a"}"#,
            "",
            "not json",
        ];
        for body in bodies {
            assert_eq!(
                called_tools(body.as_bytes()),
                called_tools_general(body.as_bytes()),
                "{body}"
            );
        }
        assert_eq!(
            called_tools(bodies[10].as_bytes())
                .into_iter()
                .map(|(name, _)| name)
                .collect::<Vec<_>>(),
            ["a", "b"]
        );
    }
}
