//! A small OAuth 2.1 authorization server for development and tests (feature `dev-auth`), so
//! that real MCP clients can run the whole flow against a server on this machine: discovery,
//! dynamic registration, the authorization code flow with PKCE, refresh, and scope step-up.
//!
//! **Not for production.** It authenticates nobody: whoever reaches it is granted tokens for
//! the configured user (or, on the consent page, for the user name they type), within the
//! scopes you allow. It therefore serves loopback issuers only (`127.0.0.1`, `[::1]`,
//! `localhost`), keeps everything in memory, and forgets it all on restart. In production,
//! point [`AuthLayer`](crate::http::AuthLayer) at your real authorization server.
//!
//! What it implements, and checks:
//!
//! - Authorization server metadata (RFC 8414) at `/.well-known/oauth-authorization-server`.
//! - Client ID Metadata Documents (spec 2026-07-28): a `client_id` that is an `https` URL on a
//!   public host (or an `http` one on loopback) is the client's metadata document, fetched
//!   within 5 s, without redirects, at most 64 KiB, kept 5 minutes; it must name itself as
//!   `client_id`, hold no secret, and its redirect URIs pass the registration's checks. The
//!   fetch connects only to public addresses, checked on the resolved address (a name that
//!   resolves to loopback or a private network is refused), unless
//!   [`DevAuthBuilder::fetch_policy`] allows more: documents served on this machine need
//!   `FetchPolicy::default().allow_loopback()`.
//! - Dynamic client registration (RFC 7591) at `/register`: redirect URIs must be `https` or
//!   loopback `http`, without wildcards, fragments or credentials; a client id, and a secret
//!   for confidential clients (stored hashed); registrations limited in rate and number.
//! - `/authorize`: the code flow with PKCE `S256` only (`plain` refused), `state` echoed, the
//!   issuer in `iss` (RFC 9207), `resource` (RFC 8707) required and naming the served
//!   resource (compared as URLs: scheme and host case do not matter), requested scopes
//!   intersected with the grantable ones, and `dpop_jkt` (RFC 9449 §10) binding the code to a
//!   DPoP key. The redirect URI is one the client registered, or a
//!   registered loopback `http` one on another port (RFC 8252 §7.3). Consent is a small HTML
//!   page built with [`html!`](crate::html::html), or automatic for a configured user, except
//!   for a browser that another site sent (`Origin`, `Referer`, `Sec-Fetch-Site`). Another
//!   site may send the browser here only as a top-level navigation (`Sec-Fetch-Mode: navigate`,
//!   `Sec-Fetch-Dest: document`); an image, script or frame of its page is refused before the
//!   request is read further (before any document is fetched).
//! - `/token`: codes are single use, expire after 60 s, and are bound to the client, the
//!   redirect URI and the PKCE verifier (a reused code revokes what it was exchanged for);
//!   refresh tokens rotate on every use, and presenting a used one revokes its whole family;
//!   refresh may narrow the scope, never widen it (a refresh refused for its scope does not
//!   spend the token). Access tokens are HS256 JWTs that
//!   [`JwtVerifier::hmac`](crate::auth::JwtVerifier::hmac) accepts with the same secret
//!   (`iss` = the issuer, `aud` = the resource).
//! - Browsers: served with [`Endpoint::beside`](crate::http::Endpoint::beside), the endpoints
//!   follow the MCP endpoint's `Host` and `Origin` rules; CORS headers name an allowed origin,
//!   never `*`.
//! - Errors as RFC 6749 has them (`invalid_grant`, `invalid_client`, …); a wrong client
//!   secret is `invalid_client` with nothing about why.
//!
//! ```
//! use mcp_secure::{dev_auth::DevAuthServer, secret::SecretString};
//! let secret = SecretString::new("a-development-secret-of-32-bytes-or-more".into());
//! let auth = DevAuthServer::builder("http://127.0.0.1:8787", "http://127.0.0.1:8787/mcp", secret)
//!     .scopes(["notes:read", "notes:write"])
//!     .auto_approve("alice")
//!     .build()
//!     .unwrap();
//! # let mcp = axum::Router::new();
//! // `mcp` is the MCP service behind its AuthLayer; the authorization server answers its own
//! // paths without a token and hands every other request to it:
//! let app: axum::Router = auth.router().fallback_service(mcp);
//! # let _ = app;
//! ```

mod flow;
mod page;
#[cfg(feature = "oauth-proxy")]
mod proxy;
mod state;
#[cfg(feature = "oauth-proxy")]
mod upstream;
#[cfg(feature = "oauth-proxy")]
mod vault;

#[cfg(feature = "oauth-proxy")]
pub use proxy::{OAuthProxy, OAuthProxyBuilder, ProxyVerifier};
#[cfg(feature = "oauth-proxy")]
pub use upstream::{Upstream, UpstreamError};

use std::{
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{
    Router,
    body::Body,
    extract::State,
    routing::{get, post},
};
use http::{HeaderValue, Response, StatusCode, header};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{
    rate::{MemoryLimiter, RateSpec},
    secret::SecretString,
};

/// How long an authorization code may wait for its exchange.
const CODE_TTL: Duration = Duration::from_secs(60);
/// How long a consent page stays valid.
const CONSENT_TTL: Duration = Duration::from_secs(600);
/// Largest request body the endpoints read.
const MAX_BODY: usize = 16 * 1024;
/// Most consent pages, and most sign-ins at the provider, waiting at once in memory (the
/// nearest its expiry is dropped beyond).
const MAX_PENDING: usize = 1000;
/// Most client metadata documents kept at once in memory.
const MAX_DOCUMENTS: usize = 100;
/// How many consent pages one client address may open (IPv6 per /64): a flood from one
/// address cannot push other users' pages and sign-ins out of `MAX_PENDING`.
const CONSENT_PAGES: RateSpec = RateSpec::per_minute(60);

/// Why a [`DevAuthServer`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevAuthError(String);

impl std::fmt::Display for DevAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "development authorization server: {}", self.0)
    }
}

impl std::error::Error for DevAuthError {}

/// Builds a [`DevAuthServer`].
pub struct DevAuthBuilder {
    issuer: String,
    resource: String,
    secret: SecretString,
    scopes: Vec<String>,
    grantable: Option<Vec<String>>,
    auto_approve: Option<String>,
    access_ttl: Duration,
    refresh_ttl: Duration,
    max_clients: usize,
    registrations: RateSpec,
    fetch_policy: crate::fetch::FetchPolicy,
    dpop: crate::http::Dpop,
}

impl DevAuthBuilder {
    /// How `/token` treats DPoP proofs (RFC 9449; default [`Dpop::allowed`](crate::http::Dpop::allowed)):
    /// a token request with a valid proof gets tokens bound to its key (`cnf.jkt`,
    /// `token_type: DPoP`), and the refresh tokens of such a grant refresh only with a proof
    /// of the same key. Under [`Dpop::off`](crate::http::Dpop::off) proofs are ignored and
    /// every token is a bearer token.
    pub fn dpop(mut self, dpop: crate::http::Dpop) -> Self {
        self.dpop = dpop;
        self
    }

    /// Where client metadata documents may be fetched from (default: public addresses only).
    /// `FetchPolicy::default().allow_loopback()` lets clients on this machine serve theirs
    /// over loopback `http`; any page the developer's browser opens can then make this
    /// server send a `GET` to a loopback port.
    pub fn fetch_policy(mut self, policy: crate::fetch::FetchPolicy) -> Self {
        self.fetch_policy = policy;
        self
    }

    /// The scopes the server knows (its metadata lists them); by default also the ones it
    /// grants.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The scopes a user may be granted (a subset of [`scopes`](Self::scopes)); requests are
    /// intersected with them. Default: every scope.
    pub fn grantable<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.grantable = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// Skips the consent page: every authorization request is approved at once for `user`
    /// (for tests and headless clients). Without it, a consent page asks for a user name and
    /// an approval.
    pub fn auto_approve(mut self, user: impl Into<String>) -> Self {
        self.auto_approve = Some(user.into());
        self
    }

    /// How long access tokens live (default 10 minutes).
    pub fn access_token_ttl(mut self, ttl: Duration) -> Self {
        self.access_ttl = ttl;
        self
    }

    /// How long a refresh token may wait to be used (default 1 day).
    pub fn refresh_token_ttl(mut self, ttl: Duration) -> Self {
        self.refresh_ttl = ttl;
        self
    }

    /// The most clients that may register (default 100).
    pub fn max_clients(mut self, max: usize) -> Self {
        self.max_clients = max;
        self
    }

    /// How fast clients may register, all together (default 20 a minute).
    pub fn registration_rate(mut self, rate: RateSpec) -> Self {
        self.registrations = rate;
        self
    }

    /// Checks the configuration: a loopback `http(s)` issuer without query or fragment, an
    /// absolute resource URL, a secret of at least 32 bytes, valid scopes, a valid user.
    pub fn build(self) -> Result<DevAuthServer, DevAuthError> {
        Ok(DevAuthServer {
            state: Arc::new(self.shared(None)?),
        })
    }

    /// The server's state; `proxy` the proxy's upstream and copied claims (then the issuer may
    /// be any `https` URL: the upstream provider authenticates the users).
    fn shared(self, proxy: Option<ProxyParts>) -> Result<Shared, DevAuthError> {
        let err = |m: String| Err(DevAuthError(m));
        let issuer = match url::Url::parse(&self.issuer) {
            Ok(u) => u,
            Err(_) => return err(format!("the issuer `{}` is not a URL", self.issuer)),
        };
        if !matches!(issuer.scheme(), "http" | "https")
            || issuer.query().is_some()
            || issuer.fragment().is_some()
        {
            return err("the issuer is an http(s) URL without query or fragment".into());
        }
        let loopback = issuer.host_str().is_some_and(flow::is_loopback_host);
        if proxy.is_some() && issuer.scheme() != "https" && !loopback {
            return err("the proxy's issuer is an https URL (http only on loopback)".into());
        }
        if proxy.is_none() && !loopback {
            return err(
                "it grants tokens to anyone who asks, so it serves loopback issuers only (127.0.0.1, [::1], localhost); use a real authorization server elsewhere"
                    .into(),
            );
        }
        if url::Url::parse(&self.resource).is_err() {
            return err(format!("the resource `{}` is not a URL", self.resource));
        }
        if self.secret.expose_secret().len() < 32 {
            return err("the signing secret has at least 32 bytes".into());
        }
        for scope in self.scopes.iter().chain(self.grantable.iter().flatten()) {
            if let Err(e) = crate::auth::check_scope(scope) {
                return err(e.to_string());
            }
        }
        let grantable = self.grantable.unwrap_or_else(|| self.scopes.clone());
        if let Some(extra) = grantable.iter().find(|s| !self.scopes.contains(s)) {
            return err(format!("`{extra}` is grantable but not among the scopes"));
        }
        if let Some(user) = &self.auto_approve
            && !flow::valid_user(user)
        {
            return err(format!(
                "`{user}` is not a user name: 1 to 64 of letters, digits, `.`, `_`, `-`, `@`"
            ));
        }
        if let Some(e) = self.dpop.error() {
            return err(e.to_string());
        }
        let path = issuer.path().trim_end_matches('/').to_owned();
        let memory = || Arc::new(MemoryLimiter::new()) as Arc<dyn crate::rate::RateLimiter>;
        #[cfg(feature = "oauth-proxy")]
        let limiter = proxy
            .as_ref()
            .and_then(|p| p.limiter.clone())
            .unwrap_or_else(memory);
        #[cfg(not(feature = "oauth-proxy"))]
        let limiter = memory();
        crate::auth::jwt_crypto::install();
        let key = jsonwebtoken::EncodingKey::from_secret(self.secret.expose_secret().as_bytes());
        let http = crate::fetch::Fetcher::new(&self.fetch_policy)
            .map_err(|e| DevAuthError(format!("the HTTP client of metadata documents: {e}")))?;
        #[cfg(not(feature = "oauth-proxy"))]
        let _ = proxy;
        Ok(Shared {
            issuer: self.issuer.trim_end_matches('/').to_owned(),
            path,
            resource: self.resource,
            scopes: self.scopes,
            grantable,
            auto_approve: self.auto_approve,
            access_ttl: self.access_ttl,
            refresh_ttl: self.refresh_ttl,
            max_clients: self.max_clients,
            registrations: self.registrations,
            key,
            http,
            limiter,
            dpop: self.dpop,
            #[cfg(feature = "oauth-proxy")]
            upstream: proxy.as_ref().map(|p| p.upstream.clone()),
            #[cfg(feature = "oauth-proxy")]
            vault: proxy.as_ref().map(|_| vault::Vault::new(&self.secret)),
            #[cfg(feature = "oauth-proxy")]
            copied_claims: proxy
                .as_ref()
                .map(|p| p.copied_claims.clone())
                .unwrap_or_default(),
            #[cfg(feature = "oauth-proxy")]
            store: proxy
                .and_then(|p| p.state)
                .unwrap_or_else(state::StateStore::memory),
            #[cfg(not(feature = "oauth-proxy"))]
            store: state::StateStore::memory(),
        })
    }
}

/// What the OAuth proxy adds to the server's state.
#[cfg(feature = "oauth-proxy")]
struct ProxyParts {
    upstream: Arc<upstream::Upstream>,
    copied_claims: Vec<String>,
    /// Where the flows are kept when not in memory (Redis, shared by replicas).
    state: Option<state::StateStore>,
    /// The limiter of registrations and consent pages when not in memory (Redis).
    limiter: Option<Arc<dyn crate::rate::RateLimiter>>,
}

/// The development server has no proxy parts.
#[cfg(not(feature = "oauth-proxy"))]
type ProxyParts = std::convert::Infallible;

/// A development authorization server; [`router`](Self::router) serves it. See the
/// [module documentation](self) for what it does and does not do.
#[derive(Clone)]
pub struct DevAuthServer {
    state: Arc<Shared>,
}

impl DevAuthServer {
    /// Starts a configuration: tokens are issued by `issuer` (a loopback URL, usually the MCP
    /// server's origin) for `resource` (the MCP endpoint's URL, the tokens' `aud`), signed
    /// with HS256 and `secret`.
    pub fn builder(
        issuer: impl Into<String>,
        resource: impl Into<String>,
        secret: SecretString,
    ) -> DevAuthBuilder {
        DevAuthBuilder {
            issuer: issuer.into(),
            resource: resource.into(),
            secret,
            scopes: Vec::new(),
            grantable: None,
            auto_approve: None,
            access_ttl: Duration::from_secs(600),
            refresh_ttl: Duration::from_secs(86_400),
            max_clients: 100,
            registrations: RateSpec::per_minute(20),
            fetch_policy: crate::fetch::FetchPolicy::default(),
            dpop: crate::http::Dpop::allowed(),
        }
    }

    /// The issuer, as tokens carry it in `iss`.
    pub fn issuer(&self) -> &str {
        &self.state.issuer
    }

    /// The routes: the metadata, `/authorize`, `/token` and `/register` under the issuer's
    /// path. Serve them with [`Endpoint::beside`](crate::http::Endpoint::beside): outside the
    /// MCP service's `AuthLayer` (they need no token) but under its browser rules (`Host`, and
    /// `Origin`: another site's page can neither call them nor read their answers). Served
    /// otherwise, e.g. `auth.router().fallback_service(mcp_app)`, they answer no browser's
    /// preflight and carry no CORS header.
    pub fn router(&self) -> Router {
        router_of(&self.state)
    }
}

/// The routes of a server's state: the proxy's also its upstream provider's callback.
fn router_of(state: &Arc<Shared>) -> Router {
    let p = &state.path;
    let router = Router::new()
        .route(
            &format!("/.well-known/oauth-authorization-server{p}"),
            get(metadata),
        )
        .route(
            &format!("{p}/authorize"),
            get(flow::authorize).post(flow::consent),
        )
        .route(&format!("{p}/token"), post(flow::token))
        .route(&format!("{p}/register"), post(flow::register));
    #[cfg(feature = "oauth-proxy")]
    let router = match state.upstream {
        Some(_) => router.route(&format!("{p}/callback"), get(flow::callback)),
        None => router,
    };
    router.with_state(state.clone())
}

/// The configuration and the in-memory state.
struct Shared {
    issuer: String,
    path: String,
    resource: String,
    scopes: Vec<String>,
    grantable: Vec<String>,
    auto_approve: Option<String>,
    access_ttl: Duration,
    refresh_ttl: Duration,
    max_clients: usize,
    registrations: RateSpec,
    key: jsonwebtoken::EncodingKey,
    /// Fetches client metadata documents.
    http: crate::fetch::Fetcher,
    /// Limits registrations and consent pages: in memory, or the proxy's Redis limiter, so
    /// that replicas share the limits.
    limiter: Arc<dyn crate::rate::RateLimiter>,
    /// How `/token` checks DPoP proofs, and remembers them.
    dpop: crate::http::Dpop,
    /// The proxy's identity provider; `None` on the development server.
    #[cfg(feature = "oauth-proxy")]
    upstream: Option<Arc<upstream::Upstream>>,
    /// The ID token claims the proxy copies into its access tokens.
    #[cfg(feature = "oauth-proxy")]
    copied_claims: Vec<String>,
    /// Where the proxy keeps the provider's refresh tokens, encrypted.
    #[cfg(feature = "oauth-proxy")]
    vault: Option<vault::Vault>,
    store: state::StateStore,
}

impl Shared {
    /// Whether `resource` names the served resource: compared as URLs, so the scheme's and
    /// host's case and a default port do not matter (RFC 3986 §6.2.2); anything else does.
    fn is_resource(&self, resource: &str) -> bool {
        match (url::Url::parse(resource), url::Url::parse(&self.resource)) {
            (Ok(given), Ok(served)) => given == served,
            _ => false,
        }
    }

    fn endpoint(&self, name: &str) -> String {
        format!("{}/{name}", self.issuer)
    }

    /// The proxy's upstream provider, if this is the proxy.
    #[cfg(feature = "oauth-proxy")]
    fn upstream(&self) -> Option<&upstream::Upstream> {
        self.upstream.as_deref()
    }

    /// The development server never has one.
    #[cfg(not(feature = "oauth-proxy"))]
    fn upstream(&self) -> Option<&std::convert::Infallible> {
        None
    }

    /// How the client ids this server registers begin: an operator reading a log tells the
    /// development server's clients from the proxy's, which serves production.
    fn client_id_prefix(&self) -> &'static str {
        if self.upstream().is_some() {
            "mcp-"
        } else {
            "dev-"
        }
    }
}

/// How a client proves who it is at `/token`.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum AuthMethod {
    /// A public client: its id only.
    None,
    /// `client_secret` in the form.
    Post,
    /// HTTP Basic.
    Basic,
}

impl AuthMethod {
    fn name(self) -> &'static str {
        match self {
            AuthMethod::None => "none",
            AuthMethod::Post => "client_secret_post",
            AuthMethod::Basic => "client_secret_basic",
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Client {
    /// Until when a client known from its metadata document is used before it is fetched
    /// again; `None` for a registered client.
    expires: Option<u64>,
    secret_hash: Option<[u8; 32]>,
    method: AuthMethod,
    redirect_uris: Vec<String>,
    refresh: bool,
    name: Option<String>,
    scope: Option<String>,
}

/// An authorization request that passed its checks, waiting for consent or a code.
#[derive(Clone, Serialize, Deserialize)]
struct Grant {
    client_id: String,
    redirect_uri: String,
    state: Option<String>,
    challenge: String,
    scopes: Vec<String>,
    /// The DPoP key the client bound the code to (`dpop_jkt`, RFC 9449 §10): only a proof of
    /// that key exchanges it.
    #[serde(default)]
    dpop_jkt: Option<String>,
}

/// Who a grant is for: the name typed on the development server's page, or the identity the
/// proxy's upstream provider signed in, with the claims its access tokens carry.
#[derive(Clone, Serialize, Deserialize)]
struct User {
    subject: String,
    /// Claims copied into access tokens (the proxy's mapped ID token claims).
    claims: serde_json::Map<String, Value>,
    /// The provider's refresh token for this user, sealed by the proxy's vault: each refresh
    /// of the grant asks the provider again, so a user it stops signing in loses the grant.
    #[cfg(feature = "oauth-proxy")]
    upstream: Option<Vec<u8>>,
}

impl User {
    fn named(subject: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
            claims: serde_json::Map::new(),
            #[cfg(feature = "oauth-proxy")]
            upstream: None,
        }
    }
}

/// An authorization code waiting for its exchange; spent once (the store's mark), and then
/// linked to the family it bought.
#[derive(Serialize, Deserialize)]
struct Code {
    grant: Grant,
    user: User,
    expires: u64,
}

#[derive(Serialize, Deserialize)]
struct Pending {
    grant: Grant,
    expires: u64,
    /// The hash of the consent cookie of the browser the page was shown to: only that browser
    /// answers it.
    browser: [u8; 32],
}

/// What a code bought: its refresh tokens rotate within it, and a reuse revokes it whole.
#[derive(Serialize, Deserialize)]
struct Family {
    client_id: String,
    user: User,
    /// What was granted: refreshes may ask for less, never more.
    scopes: Vec<String>,
    /// The DPoP key the grant was bound to: its refreshes need a proof of that key.
    jkt: Option<String>,
    /// The store's mark, read with the record.
    #[serde(skip)]
    revoked: bool,
}

#[derive(Serialize, Deserialize)]
struct Refresh {
    family: String,
    expires: u64,
    /// The store's mark, read with the record.
    #[serde(skip)]
    used: bool,
}

/// A sign-in sent to the proxy's upstream provider after consent, waiting for its callback:
/// found by its `state`, used once.
#[cfg(feature = "oauth-proxy")]
#[derive(Serialize, Deserialize)]
struct PendingUpstream {
    grant: Grant,
    request: upstream::UpstreamRequest,
    expires: u64,
    /// The consent cookie's hash of the browser that consented: only that browser's return
    /// from the provider completes the sign-in.
    browser: [u8; 32],
}

/// Milliseconds since the Unix epoch.
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A new random token: 32 bytes, base64url.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    base64url(&bytes)
}

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Base64url without padding (RFC 7636's encoding of the S256 challenge).
fn base64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// An RFC 6749 error response: `{"error": …, "error_description": …}`.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response<Body> {
    json_response(
        status,
        &json!({ "error": error, "error_description": description }),
    )
}

fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    let mut response = crate::http::json_response(status, body);
    let headers = response.headers_mut();
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    // No CORS header here: served beside an `Endpoint`, its `Origin` check answers allowed
    // origins (naming them) and refuses the others.
    response
}

async fn metadata(State(s): State<Arc<Shared>>) -> Response<Body> {
    let mut document = json!({
            "issuer": s.issuer,
            "authorization_endpoint": s.endpoint("authorize"),
            "token_endpoint": s.endpoint("token"),
            "registration_endpoint": s.endpoint("register"),
            "scopes_supported": s.scopes,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": true,
            "client_id_metadata_document_supported": true,
    });
    if s.dpop.mode() != crate::http::DpopMode::Off {
        document["dpop_signing_alg_values_supported"] = json!(s.dpop.algorithm_values());
    }
    json_response(StatusCode::OK, &document)
}
