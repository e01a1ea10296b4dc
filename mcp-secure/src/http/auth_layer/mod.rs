//! The HTTP front door of an MCP server, composed of one layer per concern: security headers,
//! hosts, origins, protected resource metadata, authentication (with the body limit and the
//! scope pre-check, which the challenges need), and session binding.
//!
//! Authentication, the body and the scope pre-check are one service: a `401` names the scopes
//! of the tool called, which only the body says, and a `403` is decided on the body the
//! authenticated caller sent.

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

mod authenticate;
mod bearer;
mod body;
mod failures;
mod proof;
mod scope_check;
#[cfg(test)]
mod tests;

pub use authenticate::AuthenticateService;
pub use failures::DEFAULT_FAILED_AUTHENTICATIONS;
pub use scope_check::{FORBIDDEN_CODE, HEADER_MISMATCH_CODE};

use self::{
    bearer::{Failure, challenge_401, presented, undecided},
    body::{read_body, read_prefix},
    failures::FailureLimit,
    proof::{NotAuthenticated, authenticate_presented},
    scope_check::{
        NameHeader, called_tools, challenge_403, header_mismatch, mcp_name, missing_scope,
        required_scope,
    },
};
use super::{
    announces_body,
    client_address::{ClientAddress, ClientAddressLayer, ClientAddressService, ForwardedHeader},
    error_response,
    host::{AllowedHosts, HostLayer, HostService},
    keep_or_close, last_on_connection,
    metadata::{MetadataLayer, MetadataService, PRM_PATH},
    origin::{OriginLayer, OriginService},
    security_headers::{SecurityHeaders, SecurityHeadersLayer},
    session::{SessionLayer, SessionService},
    session_registry::{DEFAULT_SESSIONS_PER_PRINCIPAL, SessionRegistry},
};
use crate::{
    Security,
    audit::SecurityEvent,
    auth::{
        AudienceMismatch, IssuerError, Principal, ScopeCatalog, ScopeSyntaxError, TokenVerifier,
    },
    tool::{Access, ToolPolicy, Tools},
};

/// The default request body limit: 4 MiB, as rmcp's.
pub const DEFAULT_MAX_BODY: usize = 4 << 20;

/// The default time a request body may take to arrive: 30 s.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// Builds an [`AuthLayer`].
pub struct AuthLayerBuilder {
    resource: String,
    verifiers: Vec<Arc<dyn TokenVerifier>>,
    /// The first verifier built for another resource, reported by `build`.
    audience_mismatch: Option<AudienceMismatch>,
    authorization_servers: Vec<String>,
    scopes: Vec<String>,
    policies: Vec<&'static ToolPolicy>,
    allowed_origins: Vec<String>,
    allowed_hosts: Vec<String>,
    trusted_proxies: Vec<String>,
    forwarded_header: ForwardedHeader,
    failed_authentications: Option<crate::rate::RateSpec>,
    max_body: usize,
    body_timeout: Duration,
    challenge_scopes: Option<String>,
    hsts: bool,
    anonymous: bool,
    sessions: Option<Arc<dyn SessionRegistry>>,
    sessions_per_principal: usize,
    #[cfg(feature = "dpop")]
    dpop: super::Dpop,
    security: Security,
}

/// Why an [`AuthLayer`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthLayerError {
    /// The resource is not an absolute URL.
    BadResource,
    /// No verifier, and anonymous callers are not allowed: every request would be refused.
    NoVerifier,
    /// A verifier's issuer is not a valid name, or is reserved (`local`, `anonymous`).
    BadIssuer {
        /// The issuer.
        issuer: String,
        /// Why.
        reason: IssuerError,
    },
    /// Two verifiers vouch under one issuer: their subjects would be one caller.
    DuplicateIssuer(String),
    /// A verifier takes tokens for another audience than this resource: it would refuse
    /// every token.
    Audience(AudienceMismatch),
    /// A challenge scope is not a valid scope.
    BadChallengeScope(ScopeSyntaxError),
    /// An allowed host is not `name[:port]`.
    BadHost(String),
    /// A trusted proxy is not an address or a CIDR block.
    BadTrustedProxy(String),
    /// The DPoP configuration ([`AuthLayerBuilder::dpop`]).
    #[cfg(feature = "dpop")]
    Dpop(super::DpopConfigError),
}

impl std::fmt::Display for AuthLayerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("auth layer: ")?;
        match self {
            AuthLayerError::BadResource => f.write_str("the resource is not an absolute URL"),
            AuthLayerError::NoVerifier => {
                f.write_str("add at least one verifier; without one every request is refused")
            }
            AuthLayerError::BadIssuer { issuer, reason } => {
                write!(f, "verifier issuer `{issuer}`: {reason}")
            }
            AuthLayerError::DuplicateIssuer(issuer) => write!(
                f,
                "two verifiers vouch as `{issuer}`; give each its own issuer, or their subjects would be one caller"
            ),
            AuthLayerError::BadChallengeScope(e) => write!(f, "challenge scope: {e}"),
            AuthLayerError::BadTrustedProxy(proxy) => write!(
                f,
                "trusted proxy `{}` is not an address or a CIDR block (`10.0.0.0/8`, `2001:db8::/32`)",
                proxy.escape_debug()
            ),
            AuthLayerError::BadHost(host) => write!(
                f,
                "allowed host `{}` is not `name` or `name:port`",
                host.escape_debug()
            ),
            AuthLayerError::Audience(e) => e.fmt(f),
            #[cfg(feature = "dpop")]
            AuthLayerError::Dpop(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for AuthLayerError {}

impl AuthLayerBuilder {
    /// Accepts tokens this verifier accepts (verifiers are tried in the order added). Each
    /// verifier vouches under its own [`TokenVerifier::issuer`], which the principals it
    /// accepts carry; [`build`](Self::build) refuses two verifiers of one issuer, and the
    /// reserved names `local` and `anonymous`. A JWT verifier built with
    /// [`Audience::Resource`](crate::auth::Audience::Resource) takes this layer's resource as
    /// its audience; one built for another URL is refused by `build`.
    pub fn verifier(mut self, mut verifier: impl TokenVerifier) -> Self {
        if let Err(mismatch) = verifier.bind_resource(&self.resource) {
            self.audience_mismatch.get_or_insert(mismatch);
        }
        self.verifiers.push(Arc::new(verifier));
        self
    }

    /// An authorization server clients should get tokens from (listed in the metadata).
    pub fn authorization_server(mut self, url: impl Into<String>) -> Self {
        self.authorization_servers.push(url.into());
        self
    }

    /// The tools behind this layer (`Self::tools()` of `#[mcp_tools]`): a call without the
    /// tool's scope is answered `403` with a challenge naming it, before rmcp sees it, and the
    /// scopes they were declared against (`scopes!`) are listed as `scopes_supported` in the
    /// metadata. [`Endpoint`](super::Endpoint) passes them; a layer built without them
    /// advertises no scopes and leaves scope checks to the tools' guard.
    pub fn tools<S: Send + Sync + 'static>(mut self, tools: &Tools<S>) -> Self {
        self.policies.extend(tools.policies().iter().copied());
        if let Some(catalog) = tools.scopes() {
            for decl in catalog.scopes() {
                if !self.scopes.iter().any(|s| s == decl.name) {
                    self.scopes.push(decl.name.to_owned());
                }
            }
        }
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

    /// Also serves requests whose `Host` is `host` (`name`, or `name:port` to allow that port
    /// only), besides the resource URL's own host (and, for a loopback resource, the loopback
    /// names): e.g. the address a load balancer's health checks use. Any other `Host` is
    /// refused (`403`), as is a request with several `Host`s, or a `Host` that disagrees with
    /// an HTTP/2 `:authority` (`400`).
    pub fn allow_host(mut self, host: impl Into<String>) -> Self {
        self.allowed_hosts.push(host.into());
        self
    }

    /// Believes the client address that the proxy at `cidr` (an address, or a block such as
    /// `10.0.0.0/8`) appends to the [`forwarded_header`](Self::forwarded_header)
    /// (`X-Forwarded-For` unless set), read from the right past every trusted proxy. Without
    /// any, or from any other peer, forwarding headers are ignored and the client is the
    /// connection's peer. The address is put into each request as a
    /// [`ClientAddress`](super::ClientAddress).
    pub fn trusted_proxy(mut self, cidr: impl Into<String>) -> Self {
        self.trusted_proxies.push(cidr.into());
        self
    }

    /// The one header the trusted proxies write the client's address into (default
    /// [`ForwardedHeader::XForwardedFor`], what nginx, HAProxy and cloud load balancers
    /// append to). Every other forwarding header (`Forwarded`, `X-Real-IP`, …) is ignored:
    /// proxies pass a client's own through untouched, so it says what the client wants.
    pub fn forwarded_header(mut self, header: ForwardedHeader) -> Self {
        self.forwarded_header = header;
        self
    }

    /// How many refused tokens a client address may present (default
    /// [`DEFAULT_FAILED_AUTHENTICATIONS`]: 10 at once, then one per 6 s), counted by the
    /// server's rate limiter (with a Redis limiter, across replicas); past it, its requests are
    /// refused with `429` and `Retry-After` before any verifier runs, audited as
    /// `authentication_throttled`. IPv6 addresses count per /64. `None` turns the limit off.
    /// The client address is the peer's, or the one a trusted proxy forwarded
    /// ([`trusted_proxy`](Self::trusted_proxy)); a request without a peer address (served
    /// without [`serve`](super::serve) or axum's `ConnectInfo`) is not limited.
    pub fn failed_authentications(mut self, limit: Option<crate::rate::RateSpec>) -> Self {
        self.failed_authentications = limit;
        self
    }

    /// Keeps the sessions' bindings in `registry` instead of this process's memory: with
    /// [`RedisSessions`](super::RedisSessions), every replica on one Redis knows every
    /// session's owner and counts one bound per principal. [`Endpoint::shared_sessions`](super::Endpoint::shared_sessions)
    /// also gives rmcp the sessions' state, so that a session opened on one replica is served
    /// by another.
    pub fn session_registry(mut self, registry: impl SessionRegistry) -> Self {
        self.sessions = Some(Arc::new(registry));
        self
    }

    /// How many legacy sessions one principal may have open at once (default
    /// [`DEFAULT_SESSIONS_PER_PRINCIPAL`]); anonymous callers are counted per client address
    /// (IPv6 per /64). Past it, opening another is refused with `429` (`too_many_sessions`),
    /// audited as `session_refused`, before rmcp creates it; the sessions already open keep
    /// working. A session ends when its client closes it (`DELETE`) or after
    /// [`SESSION_IDLE`](super::SESSION_IDLE) without a request. Stateless requests (spec
    /// 2026-07-28) open no session and are not counted.
    pub fn sessions_per_principal(mut self, max: usize) -> Self {
        self.sessions_per_principal = max;
        self
    }

    /// Whether DPoP-bound tokens (RFC 9449) are taken, and how their proofs are checked
    /// (default [`Dpop::allowed`](super::Dpop::allowed): bearer tokens, and DPoP-bound tokens
    /// with a proof, remembered in this process's memory). A token whose `cnf.jkt` binds it to
    /// a key is accepted only as `Authorization: DPoP` with a `DPoP` proof of that key, for
    /// this request, within the window and never seen before; as `Bearer` it is refused, and
    /// so is every bearer token under [`Dpop::required`](super::Dpop::required). Replicas
    /// share one replay cache ([`RedisReplayCache`](super::RedisReplayCache)).
    #[cfg(feature = "dpop")]
    pub fn dpop(mut self, dpop: super::Dpop) -> Self {
        self.dpop = dpop;
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
        let url = url::Url::parse(&self.resource).map_err(|_| AuthLayerError::BadResource)?;
        if self.verifiers.is_empty() && !self.anonymous {
            return Err(AuthLayerError::NoVerifier);
        }
        if let Some(mismatch) = self.audience_mismatch {
            return Err(AuthLayerError::Audience(mismatch));
        }
        let mut issuers: Vec<&str> = Vec::new();
        for verifier in &self.verifiers {
            let issuer = verifier.issuer();
            crate::auth::check_verifier_issuer(issuer).map_err(|reason| {
                AuthLayerError::BadIssuer {
                    issuer: issuer.to_owned(),
                    reason,
                }
            })?;
            if issuers.contains(&issuer) {
                return Err(AuthLayerError::DuplicateIssuer(issuer.to_owned()));
            }
            issuers.push(issuer);
        }
        #[cfg(feature = "dpop")]
        if let Some(e) = self.dpop.error() {
            return Err(AuthLayerError::Dpop(e));
        }
        for scope in self.challenge_scopes.iter().flat_map(|s| s.split(' ')) {
            crate::auth::check_scope(scope).map_err(AuthLayerError::BadChallengeScope)?;
        }
        let path = url.path().trim_end_matches('/');
        let origin = url.origin().ascii_serialization();
        let hosts = AllowedHosts::new(&url, self.allowed_hosts.iter().map(String::as_str))
            .map_err(AuthLayerError::BadHost)?;
        let mut trusted = Vec::new();
        for proxy in &self.trusted_proxies {
            let net = proxy
                .parse::<ipnet::IpNet>()
                .or_else(|_| proxy.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| AuthLayerError::BadTrustedProxy(proxy.clone()))?;
            trusted.push(net);
        }
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
        let security = self.security.clone();
        Ok(AuthLayer {
            client_address: ClientAddressLayer::new(trusted, self.forwarded_header),
            host: HostLayer::new(hosts, security.clone()),
            origin: OriginLayer::new(self.allowed_origins.clone(), security.clone()),
            metadata: MetadataLayer::new(
                &self.resource,
                path,
                &self.scopes,
                &self.authorization_servers,
                proof::metadata(&self),
            ),
            headers: SecurityHeadersLayer::new(self.hsts),
            session: SessionLayer::new(
                security,
                self.sessions.clone(),
                self.sessions_per_principal,
            ),
            config: Arc::new(Config {
                failures: self.failed_authentications.map(FailureLimit::new),
                tool_scopes,
                metadata_url: format!("{origin}{PRM_PATH}{path}"),
                resource_origin: origin,
                settings: self,
            }),
        })
    }
}

/// What authentication and the scope pre-check read: the builder's settings, plus what is
/// derived from them.
struct Config {
    settings: AuthLayerBuilder,
    metadata_url: String,
    /// The resource URL's origin: what a DPoP proof's `htu` names, with the request's path.
    #[cfg_attr(not(feature = "dpop"), allow(dead_code))]
    resource_origin: String,
    /// Failed authentications per client address.
    failures: Option<FailureLimit>,
    /// Every scope a tool behind the layer requires, once each: a caller granted all of them
    /// cannot fail the scope pre-check, which then does not read the body's JSON.
    tool_scopes: Vec<(&'static str, &'static ScopeCatalog)>,
}

impl Config {
    fn emit(&self, event: &SecurityEvent<'_>) {
        self.security.emit(event);
    }
}

impl std::ops::Deref for Config {
    type Target = AuthLayerBuilder;

    fn deref(&self) -> &AuthLayerBuilder {
        &self.settings
    }
}

/// A tower layer in front of rmcp's `StreamableHttpService` (or an axum router holding it),
/// the composition, outermost first, of:
///
/// - security headers on every response, refusals included (tower-http's
///   `SetResponseHeaderLayer`; `Strict-Transport-Security` with [`AuthLayerBuilder::hsts`]);
/// - the client's address, forwarded by trusted proxies only
///   ([`AuthLayerBuilder::trusted_proxy`]);
/// - hosts: only the resource's host and those allowed ([`AuthLayerBuilder::allow_host`]);
/// - origins: a present `Origin` that is not allowed is refused (`403`), an allowed one's
///   preflight answered and its responses given CORS headers;
/// - protected resource metadata (RFC 9728) at `/.well-known/oauth-protected-resource` and its
///   path-aware variant;
/// - authentication of `Authorization: Bearer` with its [`TokenVerifier`]s, answering `401`
///   with `WWW-Authenticate: Bearer resource_metadata="…"` (and `error="invalid_token"` when a
///   token was refused); the JSON-RPC body read (up to a limit, `413` past it), and for
///   `tools/call` of a tool whose scope the caller lacks (implication honoured) a `403` with
///   `WWW-Authenticate: Bearer error="insufficient_scope", scope="…", resource_metadata="…"`,
///   which is what lets clients step up (the `scope` names the held scopes the server
///   advertises and every missing one); an `Mcp-Name` header that disagrees with the body is a
///   `400` with JSON-RPC error [`HEADER_MISMATCH_CODE`]. The [`Principal`] is put into the
///   request for the tools;
/// - session binding: each legacy session (`Mcp-Session-Id`) belongs to the principal that
///   opened it; another principal presenting it gets `404`, as for an unknown session.
///
/// A refusal given before the request's body was read to its end (an Origin, Host or
/// authentication refusal of a request with a body, a `408`, a `413`) carries
/// `Connection: close`: the connection ends with it.
///
/// The tool guard checks the scope again (defence in depth, and the only check over stdio).
#[derive(Clone)]
pub struct AuthLayer {
    config: Arc<Config>,
    client_address: ClientAddressLayer,
    host: HostLayer,
    origin: OriginLayer,
    metadata: MetadataLayer,
    headers: SecurityHeadersLayer,
    session: SessionLayer,
}

impl AuthLayer {
    /// The browser rules of routes served beside the layer ([`super::Endpoint::beside`]): its
    /// `Host` check, and its `Origin` check that also allows the server's own origin (its
    /// pages, e.g. a consent form, post to it).
    /// Also the client's address, as the layer reads it (trusted proxies), for the limits of
    /// those routes.
    pub(crate) fn browser_layers(&self) -> (ClientAddressLayer, HostLayer, OriginLayer) {
        let own = url::Url::parse(&self.config.settings.resource)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default();
        (
            self.client_address.clone(),
            self.host.clone(),
            self.origin.also_allowing(own),
        )
    }

    /// A builder for the server whose canonical resource URL is `resource`, e.g.
    /// `https://mcp.example.com/mcp` (tokens must carry it in `aud`), and whose configuration
    /// is `security`: the layer's events go to its audit sinks, and every admitted request
    /// carries it to the tools' guard (which refuses a call that arrives without one).
    pub fn builder(resource: impl Into<String>, security: &Security) -> AuthLayerBuilder {
        AuthLayerBuilder {
            resource: resource.into(),
            verifiers: Vec::new(),
            audience_mismatch: None,
            authorization_servers: Vec::new(),
            scopes: Vec::new(),
            policies: Vec::new(),
            allowed_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            trusted_proxies: Vec::new(),
            forwarded_header: ForwardedHeader::XForwardedFor,
            failed_authentications: Some(DEFAULT_FAILED_AUTHENTICATIONS),
            max_body: DEFAULT_MAX_BODY,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            challenge_scopes: None,
            hsts: false,
            anonymous: false,
            sessions: None,
            sessions_per_principal: DEFAULT_SESSIONS_PER_PRINCIPAL,
            #[cfg(feature = "dpop")]
            dpop: super::Dpop::allowed(),
            security: security.clone(),
        }
    }

    /// The session binding layer (for the sessions gauge).
    #[cfg(feature = "metrics")]
    pub(crate) fn sessions(&self) -> SessionLayer {
        self.session.clone()
    }

    /// Where the protected resource metadata is served.
    pub fn metadata_url(&self) -> &str {
        &self.config.metadata_url
    }
}

/// The service [`AuthLayer`] wraps around an inner service: its layers, composed.
pub type AuthService<S> = SecurityHeaders<
    ClientAddressService<
        HostService<OriginService<MetadataService<AuthenticateService<SessionService<S>>>>>,
    >,
>;

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        let authenticate = AuthenticateService {
            inner: Arc::new(self.session.layer(inner)),
            config: self.config.clone(),
        };
        self.headers.layer(
            self.client_address.layer(
                self.host
                    .layer(self.origin.layer(self.metadata.layer(authenticate))),
            ),
        )
    }
}
