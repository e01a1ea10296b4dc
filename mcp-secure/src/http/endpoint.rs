//! A whole streamable HTTP endpoint from a server value, its tools and its security: rmcp's
//! service and session manager, the [`AuthLayer`], the allowed hosts, and serving.

use std::{future::Future, io, sync::Arc, time::Duration};

use rmcp::{
    ServerHandler,
    transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService,
        session::{local::LocalSessionManager, store::SessionStore},
    },
};

use super::{AuthLayer, AuthLayerBuilder, AuthLayerError, ServeOptions};
use crate::{Security, auth::TokenVerifier, tool::Tools};

/// An MCP endpoint over streamable HTTP, wired from one server value.
///
/// [`Endpoint::new`] takes everything whose omission would change behaviour without an error:
/// the public URL (the token audience, the protected resource metadata, the allowed `Host`),
/// the server, its [`Tools`] (the scope checks answered `403` before rmcp, the scopes the
/// metadata advertises) and its [`Security`] (limiter, audit sinks, path roots, for every
/// session). The rest are the [`AuthLayer`]'s settings, with its defaults.
///
/// ```no_run
/// # use mcp_secure::prelude::*;
/// # mcp_secure::scopes! { "notes:read" }
/// # #[derive(Clone)] struct Notes { tools: Tools<Self> }
/// # #[mcp_tools] impl Notes {
/// #     #[mcp_tool(scope = "notes:read", rate = "10/s")] async fn notes_count(&self) -> String { "0".into() }
/// # }
/// # #[tool_handler(router = self.tools)] impl ServerHandler for Notes {}
/// use mcp_secure::{Security, auth::ApiKeys, http::Endpoint};
/// # fn main() {}
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let security = Security::builder().build()?;
/// let server = Notes { tools: Notes::tools() };
/// let keys = ApiKeys::parse(&std::env::var("NOTES_API_KEYS")?)?;
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// Endpoint::new("http://127.0.0.1:8080/mcp", server.clone(), &server.tools, security)
///     .verifier(keys)
///     .serve(listener, async { let _ = tokio::signal::ctrl_c().await; })
///     .await?;
/// # Ok(()) }
/// ```
pub struct Endpoint<S> {
    resource: String,
    server: S,
    security: Security,
    auth: AuthLayerBuilder,
    options: ServeOptions,
    beside: Option<axum::Router>,
    readiness: Vec<(String, super::health::Check)>,
    session_store: Option<Arc<dyn SessionStore>>,
    #[cfg(feature = "metrics")]
    metrics: Option<crate::metrics::Metrics>,
}

/// Why an [`Endpoint`] could not be built.
#[derive(Debug)]
#[non_exhaustive]
pub enum EndpointError {
    /// The [`AuthLayer`]'s settings are refused.
    Auth(AuthLayerError),
}

impl std::fmt::Display for EndpointError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EndpointError::Auth(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for EndpointError {}

impl From<AuthLayerError> for EndpointError {
    fn from(e: AuthLayerError) -> Self {
        EndpointError::Auth(e)
    }
}

impl From<EndpointError> for io::Error {
    fn from(e: EndpointError) -> Self {
        io::Error::new(io::ErrorKind::InvalidInput, e)
    }
}

impl<S> Endpoint<S>
where
    S: ServerHandler + Clone,
{
    /// The endpoint whose public URL is `resource` (e.g. `https://mcp.example.com/mcp`),
    /// serving a clone of `server` to each session, with the policies of `tools` and with
    /// `security`.
    pub fn new(
        resource: impl Into<String>,
        server: S,
        tools: &Tools<S>,
        security: Security,
    ) -> Self {
        let resource = resource.into();
        let auth = AuthLayer::builder(resource.as_str(), &security).tools(tools);
        Self {
            resource,
            server,
            security,
            auth,
            options: ServeOptions::default(),
            beside: None,
            readiness: Vec::new(),
            session_store: None,
            #[cfg(feature = "metrics")]
            metrics: None,
        }
    }

    /// Accepts tokens this verifier accepts ([`AuthLayerBuilder::verifier`]).
    pub fn verifier(mut self, verifier: impl TokenVerifier) -> Self {
        self.auth = self.auth.verifier(verifier);
        self
    }

    /// Allows browser requests from `origin` ([`AuthLayerBuilder::allow_origin`]).
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Self {
        self.auth = self.auth.allow_origin(origin);
        self
    }

    /// Also serves requests whose `Host` is `host` (`name` or `name:port`), besides the
    /// resource URL's own (e.g. a name the load balancer's health checks use).
    pub fn allow_host(mut self, host: impl Into<String>) -> Self {
        self.auth = self.auth.allow_host(host);
        self
    }

    /// Believes the client address forwarded by the proxy at `cidr`
    /// ([`AuthLayerBuilder::trusted_proxy`]).
    pub fn trusted_proxy(mut self, cidr: impl Into<String>) -> Self {
        self.auth = self.auth.trusted_proxy(cidr);
        self
    }

    /// The one header the trusted proxies write the client's address into
    /// ([`AuthLayerBuilder::forwarded_header`]; default `X-Forwarded-For`).
    pub fn forwarded_header(mut self, header: super::ForwardedHeader) -> Self {
        self.auth = self.auth.forwarded_header(header);
        self
    }

    /// Shares legacy sessions with every replica that uses the same `sessions`: their owners
    /// and each principal's count ([`AuthLayerBuilder::session_registry`]), and rmcp's state
    /// of each session, so that a request on a session another replica opened is served here
    /// (rmcp replays the client's `initialize`) and still refused to any other principal.
    #[cfg(feature = "redis")]
    pub fn shared_sessions(mut self, sessions: super::RedisSessions) -> Self {
        self.session_store = Some(Arc::new(sessions.clone()));
        self.auth = self.auth.session_registry(sessions);
        self
    }

    /// Any other setting of the [`AuthLayer`] (authorization servers, challenge scopes, body
    /// limit, HSTS, anonymous access).
    pub fn auth(mut self, configure: impl FnOnce(AuthLayerBuilder) -> AuthLayerBuilder) -> Self {
        self.auth = configure(self.auth);
        self
    }

    /// How long a request's head (and an idle connection) and then its body may take to
    /// arrive ([`ServeOptions::header_timeout`], [`AuthLayerBuilder::body_timeout`]).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.options = self.options.header_timeout(timeout);
        self.auth = self.auth.body_timeout(timeout);
        self
    }

    /// Serves `routes` beside the endpoint, outside its [`AuthLayer`] (they are tried first;
    /// every other path, the protected resource metadata included, goes through the layer):
    /// e.g. a development authorization server's, which signing in reaches without a token.
    /// They keep the layer's browser rules: its `Host` check, and its `Origin` check (the
    /// allowed origins and the server's own; CORS headers name the origin, never `*`).
    pub fn beside(mut self, routes: axum::Router) -> Self {
        self.beside = Some(match self.beside.take() {
            Some(before) => before.merge(routes),
            None => routes,
        });
        self
    }

    /// Makes `/readyz` answer `503` (naming `name`) while `check` does not resolve to `true`
    /// within [`READINESS_TIMEOUT`](super::READINESS_TIMEOUT): e.g. a database ping. The rate
    /// limiter's backend is always checked. `/healthz` answers while the process serves. Both
    /// are served beside the endpoint, without authentication or a `Host` check, for the load
    /// balancer; they say nothing but `ok`, `ready` or the names of the failing checks.
    pub fn readiness<F, Fut>(mut self, name: impl Into<String>, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        self.readiness
            .push((name.into(), Arc::new(move || Box::pin(check()))));
        self
    }

    /// Keeps `metrics`' gauges (bound sessions, the in-memory limiter's keys) up to date. The
    /// counts come from the audit events: install `metrics` as an audit sink of the
    /// [`Security`] too ([`crate::metrics`]).
    #[cfg(feature = "metrics")]
    pub fn metrics(mut self, metrics: &crate::metrics::Metrics) -> Self {
        self.metrics = Some(metrics.clone());
        self
    }

    /// The configuration its sessions share.
    pub fn security(&self) -> &Security {
        &self.security
    }

    /// The endpoint as an axum router (rmcp's service at the resource URL's path, behind the
    /// [`AuthLayer`]), to merge with other routes or serve otherwise.
    pub fn into_router(self) -> Result<axum::Router, EndpointError> {
        let url = url::Url::parse(&self.resource).map_err(|_| AuthLayerError::BadResource)?;
        let layer = self.auth.build()?;
        #[cfg(feature = "metrics")]
        if let Some(metrics) = &self.metrics {
            let sessions = layer.sessions();
            metrics.count_sessions(move || sessions.len().unwrap_or(0));
            let security = self.security.clone();
            metrics.count_limiter_keys(move || security.limiter().keys().unwrap_or(0));
        }
        let server = self.server;
        // Hosts are checked by the layer, in one place (`AuthLayerBuilder::allow_host`).
        let mut config = StreamableHttpServerConfig::default().disable_allowed_hosts();
        config.session_store = self.session_store;
        // Every answer but a tool's (its guard cleans it) leaves cleaned of hidden characters.
        let service = StreamableHttpService::new(
            move || Ok(crate::sanitize::Cleaned(server.clone())),
            Arc::new(LocalSessionManager::default()),
            config,
        );
        let path = match url.path().trim_end_matches('/') {
            "" => "/",
            path => path,
        };
        // So is every message a tool sends through its peer (log messages, progress, requests
        // to the client), which rmcp writes into the event streams without any handler.
        let service = tower::Layer::layer(&crate::sanitize::events::layer(), service);
        let router = if path == "/" {
            axum::Router::new().fallback_service(service)
        } else {
            axum::Router::new().nest_service(path, service)
        };
        // Routes beside the endpoint follow its browser rules (a page of another site can
        // neither call them nor read their answers); the health probes, for load balancers,
        // do not.
        let (client_address, host, origin) = layer.browser_layers();
        let router = router.layer(layer);
        let health = super::health::routes(self.security.clone(), self.readiness);
        let beside = match self.beside {
            Some(beside) => health.merge(beside.layer(origin).layer(host).layer(client_address)),
            None => health,
        };
        Ok(beside.fallback_service(router))
    }

    /// Serves the endpoint on `listener` until `shutdown` completes, then lets the requests in
    /// flight finish ([`super::serve`]).
    pub async fn serve<L>(
        self,
        listener: L,
        shutdown: impl Future<Output = ()> + Send,
    ) -> io::Result<()>
    where
        L: axum::serve::Listener,
        L::Addr: Clone + Send + Sync + 'static,
    {
        let options = self.options;
        let router = self.into_router()?;
        super::serve(listener, router, options, shutdown).await
    }
}
