//! Who may read the metrics: the endpoint's `Host` rules (loopback names and the names the
//! operator lists, so that a DNS-rebinding page, which names its own host, is refused), no
//! browser `Origin`, and, when one is configured, a bearer token for the scraper.

use std::{
    sync::Arc,
    task::{Context, Poll},
};

use axum::body::Body;
use futures_util::future::{Either, Ready, ready};
use http::{HeaderValue, Request, Response, StatusCode, header};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tower::{Layer, Service};

use crate::{
    Security,
    audit::SecurityEvent,
    http::{
        AllowedHosts, ClientAddress, HostLayer, OriginLayer, bearer_token, json_response,
        keep_or_close,
    },
    secret::{Secret, SecretString},
};

/// The fewest characters a scrape token has: shorter ones can be guessed.
pub const MIN_SCRAPE_TOKEN_CHARS: usize = 16;

/// Who may scrape: built by [`ScrapeAccess::builder`], taken by
/// [`Metrics::router`](super::Metrics::router) and [`Metrics::serve`](super::Metrics::serve).
/// [`ScrapeAccess::default`] answers loopback `Host` names only, without a token.
#[derive(Clone)]
pub struct ScrapeAccess {
    pub(super) host: HostLayer,
    pub(super) origin: OriginLayer,
    pub(super) token: TokenLayer,
}

impl Default for ScrapeAccess {
    fn default() -> Self {
        ScrapeAccess::new(
            AllowedHosts::loopback([]).unwrap_or_default(),
            None,
            Security::default(),
        )
    }
}

impl std::fmt::Debug for ScrapeAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScrapeAccess")
            .field("token", &self.token.token.is_some())
            .finish_non_exhaustive()
    }
}

impl ScrapeAccess {
    fn new(hosts: AllowedHosts, token: Option<ScrapeToken>, security: Security) -> Self {
        ScrapeAccess {
            host: HostLayer::new(hosts, security.clone()),
            // Scrapers send no `Origin`; a browser page does.
            origin: OriginLayer::new(Vec::new(), security.clone()),
            token: TokenLayer { token, security },
        }
    }

    /// A builder answering loopback `Host` names only (`localhost`, `127.0.0.1`, `::1`, any
    /// port), without a token.
    ///
    /// ```
    /// use mcp_secure::{metrics::ScrapeAccess, secret::SecretString};
    /// let access = ScrapeAccess::builder()
    ///     .allow_host("10.0.0.5:9090")
    ///     .bearer_token(SecretString::new("a-scrape-token-of-32-characters!".into()))
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn builder() -> ScrapeAccessBuilder {
        ScrapeAccessBuilder {
            hosts: Vec::new(),
            token: None,
            security: Security::default(),
        }
    }
}

/// Builds a [`ScrapeAccess`].
pub struct ScrapeAccessBuilder {
    hosts: Vec<String>,
    token: Option<SecretString>,
    security: Security,
}

impl ScrapeAccessBuilder {
    /// Also answers scrapes whose `Host` is `host` (`name`, or `name:port` for that port only),
    /// e.g. the address a scraper on another machine uses. Any other `Host` is refused (`403`),
    /// as is a request with several (`400`).
    pub fn allow_host(mut self, host: impl Into<String>) -> Self {
        self.hosts.push(host.into());
        self
    }

    /// Requires `Authorization: Bearer <token>` (compared in constant time; at least
    /// [`MIN_SCRAPE_TOKEN_CHARS`] characters): a request without it, or with another, is
    /// answered `401`. Load it with [`SecretString::from_file`].
    pub fn bearer_token(mut self, token: SecretString) -> Self {
        self.token = Some(token);
        self
    }

    /// Records refused scrapes (`host_refused`, `origin_refused`, `authentication_failed`)
    /// to `security`'s audit sinks.
    pub fn audit(mut self, security: &Security) -> Self {
        self.security = security.clone();
        self
    }

    /// The access rules.
    pub fn build(self) -> Result<ScrapeAccess, ScrapeAccessError> {
        let hosts = AllowedHosts::loopback(self.hosts.iter().map(String::as_str))
            .map_err(ScrapeAccessError::BadHost)?;
        let token = match self.token {
            Some(token) if token.expose_secret().chars().count() < MIN_SCRAPE_TOKEN_CHARS => {
                return Err(ScrapeAccessError::ShortToken);
            }
            Some(token) => Some(ScrapeToken::new(&token)),
            None => None,
        };
        Ok(ScrapeAccess::new(hosts, token, self.security))
    }
}

/// Why a [`ScrapeAccess`] could not be built. Never contains the token.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScrapeAccessError {
    /// An allowed host is not `name[:port]`.
    BadHost(String),
    /// The token has fewer than [`MIN_SCRAPE_TOKEN_CHARS`] characters.
    ShortToken,
}

impl std::fmt::Display for ScrapeAccessError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScrapeAccessError::BadHost(host) => write!(
                f,
                "metrics: allowed host `{}` is not `name` or `name:port`",
                host.escape_debug()
            ),
            ScrapeAccessError::ShortToken => write!(
                f,
                "metrics: the scrape token has fewer than {MIN_SCRAPE_TOKEN_CHARS} characters; use a long random one"
            ),
        }
    }
}

impl std::error::Error for ScrapeAccessError {}

/// The token's SHA-256: what is compared, so that the comparison takes the same time whatever
/// the presented token's length and content.
#[derive(Clone)]
struct ScrapeToken(Arc<Secret<[u8; 32]>>);

impl ScrapeToken {
    fn new(token: &SecretString) -> Self {
        ScrapeToken(Arc::new(Secret::from_value(sha256(
            token.expose_secret().as_bytes(),
        ))))
    }

    fn matches(&self, presented: &str) -> bool {
        bool::from(self.0.expose_secret().ct_eq(&sha256(presented.as_bytes())))
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Refuses a scrape without the token (`401`); passes every request when none is configured.
#[derive(Clone)]
pub(super) struct TokenLayer {
    token: Option<ScrapeToken>,
    security: Security,
}

impl<S> Layer<S> for TokenLayer {
    type Service = TokenService<S>;

    fn layer(&self, inner: S) -> TokenService<S> {
        TokenService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`TokenLayer`] wraps around the scrape route.
#[derive(Clone)]
pub(super) struct TokenService<S> {
    inner: S,
    layer: TokenLayer,
}

impl<S> Service<Request<Body>> for TokenService<S>
where
    S: Service<Request<Body>, Response = Response<Body>>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Either<Ready<Result<Response<Body>, S::Error>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let Some(token) = &self.layer.token else {
            return Either::Right(self.inner.call(request));
        };
        let reason = match bearer_token(request.headers()) {
            Some(presented) if token.matches(presented) => {
                return Either::Right(self.inner.call(request));
            }
            Some(_) => "wrong scrape token",
            None => "no scrape token",
        };
        let (parts, _) = request.into_parts();
        self.layer
            .security
            .emit(&SecurityEvent::AuthenticationFailed {
                reason,
                path: parts.uri.path(),
                client: ClientAddress::of(&parts.extensions),
            });
        let mut response = json_response(
            StatusCode::UNAUTHORIZED,
            &serde_json::json!({
                "error": "invalid_token",
                "error_description": "send the scrape token as `Authorization: Bearer <token>`",
            }),
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"metrics\""),
        );
        Either::Left(ready(Ok(keep_or_close(&parts, response))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_matches_itself_only() {
        let token = ScrapeToken::new(&SecretString::new("scrape-token-0123456789".into()));
        assert!(token.matches("scrape-token-0123456789"));
        for other in [
            "",
            "scrape-token-012345678",
            "scrape-token-0123456789 ",
            "SCRAPE-TOKEN-0123456789",
        ] {
            assert!(!token.matches(other), "{other:?}");
        }
    }

    #[test]
    fn bad_settings_are_refused_without_the_token() {
        let short = ScrapeAccess::builder()
            .bearer_token(SecretString::new("fifteen-chars-x".into()))
            .build()
            .unwrap_err();
        assert_eq!(short, ScrapeAccessError::ShortToken);
        assert!(!short.to_string().contains("fifteen"));
        let host = ScrapeAccess::builder()
            .allow_host("metrics.internal/x")
            .build()
            .unwrap_err();
        assert_eq!(
            host,
            ScrapeAccessError::BadHost("metrics.internal/x".into())
        );
        let access = ScrapeAccess::builder()
            .bearer_token(SecretString::new("scrape-token-0123456789".into()))
            .build()
            .unwrap();
        assert_eq!(format!("{access:?}"), "ScrapeAccess { token: true, .. }");
    }
}
