//! The OAuth proxy: the authorization server MCP clients sign in at, for an identity provider
//! that does not register them (Entra ID, Google, GitHub, most corporate providers).

use std::sync::Arc;

use axum::Router;

use super::{DevAuthBuilder, DevAuthError, DevAuthServer, ProxyParts, Shared, upstream::Upstream};
use crate::{
    auth::{Attributes, Audience, AudienceMismatch, JwtVerifier, TokenVerifier, VerifyFuture},
    rate::RateSpec,
    secret::SecretString,
};

/// An OAuth authorization server in front of one upstream identity provider (feature
/// `oauth-proxy`).
///
/// Towards MCP clients it is the development server's authorization server (RFC 8414
/// metadata, registration and Client ID Metadata Documents, PKCE S256, `resource`, refresh
/// rotation, `iss` in the callback, DPoP-bound tokens), with one difference: who the user is
/// comes from the [`Upstream`] provider, where the proxy signs them in as one pre-registered
/// confidential client. Every client gets a consent page before the provider is asked (spec
/// 2026-07-28, Security Best Practices: a client cannot ride on the consent given to another).
///
/// It never passes the provider's tokens on: it issues its own, for this server's resource,
/// short-lived, with a `jti`, signed with the secret it holds. Its [`verifier`](Self::verifier)
/// accepts them as principals of the provider: issuer the provider's issuer, subject the
/// provider's `sub`, attributes the configured ID token claims. A provider's token presented
/// to the MCP endpoint is refused (another audience, another signer).
#[derive(Clone)]
pub struct OAuthProxy {
    state: Arc<Shared>,
    verifier_secret: SecretString,
    attributes: Attributes,
    tenant_claim: Option<String>,
}

/// Builds an [`OAuthProxy`].
pub struct OAuthProxyBuilder {
    inner: DevAuthBuilder,
    secret: SecretString,
    upstream: Upstream,
    attributes: Attributes,
    tenant_claim: Option<String>,
    #[cfg(feature = "redis")]
    redis: Option<(crate::rate::RedisLimiter, String)>,
}

impl OAuthProxy {
    /// A proxy at `issuer` (its public `https` origin, usually the MCP server's) issuing tokens
    /// for `resource` (the MCP endpoint's URL), signed with `secret` (at least 32 bytes, from a
    /// file or the environment; replicas share it), for the users `upstream` signs in.
    pub fn builder(
        issuer: impl Into<String>,
        resource: impl Into<String>,
        secret: SecretString,
        upstream: Upstream,
    ) -> OAuthProxyBuilder {
        // The proxy signs with a key of its own, derived from `secret`: a server that also
        // verifies other tokens with `secret` (the demo's own) never takes the proxy's for
        // its own, and the principal is always the provider's.
        let secret = derive_key(&secret);
        OAuthProxyBuilder {
            inner: DevAuthServer::builder(issuer, resource, secret.clone()),
            secret,
            upstream,
            attributes: Attributes::new(),
            tenant_claim: None,
            #[cfg(feature = "redis")]
            redis: None,
        }
    }

    /// The issuer, as its tokens carry it in `iss`.
    pub fn issuer(&self) -> &str {
        &self.state.issuer
    }

    /// The routes: the metadata, `/authorize`, `/token`, `/register` and `/callback` (where
    /// the provider answers) under the issuer's path. Serve them with
    /// [`Endpoint::beside`](crate::http::Endpoint::beside), as the development server's.
    pub fn router(&self) -> Router {
        super::router_of(&self.state)
    }

    /// The verifier of the proxy's tokens, for the MCP endpoint: its principals are the
    /// upstream provider's (issuer and subject), with the configured attributes.
    pub fn verifier(&self) -> ProxyVerifier {
        let inner = JwtVerifier::hs256(
            self.verifier_secret.clone(),
            &self.state.issuer,
            Audience::Url(self.state.resource.clone()),
        )
        .unwrap_or_else(|e| unreachable!("checked when the proxy was built: {e}"))
        .attributes(&self.attributes);
        let inner = match &self.tenant_claim {
            Some(claim) => inner.tenant_claim(claim),
            None => inner,
        };
        ProxyVerifier {
            inner,
            issuer: self.upstream().issuer().to_owned(),
        }
    }

    fn upstream(&self) -> &Upstream {
        match &self.state.upstream {
            Some(upstream) => upstream,
            None => unreachable!("a proxy is built with its upstream"),
        }
    }
}

impl OAuthProxyBuilder {
    /// The scopes the proxy knows (its metadata lists them); by default also those it grants.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.inner = self.inner.scopes(scopes);
        self
    }

    /// The scopes a user may be granted (a subset of [`scopes`](Self::scopes)).
    pub fn grantable<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.inner = self.inner.grantable(scopes);
        self
    }

    /// The ID token claims copied into the proxy's access tokens and read by its
    /// [`verifier`](OAuthProxy::verifier) as the principal's attributes (checked as such).
    pub fn attributes(mut self, attributes: &Attributes) -> Self {
        self.attributes = attributes.clone();
        self
    }

    /// The ID token claim that names the user's tenant (copied, and read as
    /// [`JwtVerifier::tenant_claim`] reads it).
    pub fn tenant_claim(mut self, claim: impl Into<String>) -> Self {
        self.tenant_claim = Some(claim.into());
        self
    }

    /// How long access tokens live (default 10 minutes).
    pub fn access_token_ttl(mut self, ttl: std::time::Duration) -> Self {
        self.inner = self.inner.access_token_ttl(ttl);
        self
    }

    /// How long a refresh token may wait to be used (default 1 day).
    pub fn refresh_token_ttl(mut self, ttl: std::time::Duration) -> Self {
        self.inner = self.inner.refresh_token_ttl(ttl);
        self
    }

    /// The most clients that may register (default 100).
    pub fn max_clients(mut self, max: usize) -> Self {
        self.inner = self.inner.max_clients(max);
        self
    }

    /// How fast clients may register, all together (default 20 a minute).
    pub fn registration_rate(mut self, rate: RateSpec) -> Self {
        self.inner = self.inner.registration_rate(rate);
        self
    }

    /// Where client metadata documents may be fetched from (default: public addresses only).
    pub fn fetch_policy(mut self, policy: crate::fetch::FetchPolicy) -> Self {
        self.inner = self.inner.fetch_policy(policy);
        self
    }

    /// How `/token` treats DPoP proofs (default: tokens bound to the key of a valid proof).
    pub fn dpop(mut self, dpop: crate::http::Dpop) -> Self {
        self.inner = self.inner.dpop(dpop);
        self
    }

    /// Keeps the flows (clients, consent pages, sign-ins, codes, refresh families and tokens,
    /// the provider's sealed tokens) in Redis on `limiter`'s connection, under the key prefix
    /// `mcp-secure:oauth`, so that replicas behind one load balancer share them: a sign-in
    /// started at one finishes at another, and a code or refresh token spent at one is spent
    /// at all (each is spent by one atomic script). Values are sealed with a key derived from
    /// the proxy's secret, which the replicas share. The limits of registrations and consent
    /// pages are kept there too, shared. Without this, all of it lives in this process's
    /// memory.
    #[cfg(feature = "redis")]
    pub fn redis(mut self, limiter: &crate::rate::RedisLimiter) -> Self {
        self.redis = Some((limiter.clone(), "mcp-secure:oauth".to_owned()));
        self
    }

    /// The key prefix in Redis instead of `mcp-secure:oauth` (e.g. one per deployment);
    /// effective after [`redis`](Self::redis).
    #[cfg(feature = "redis")]
    pub fn redis_prefix(mut self, prefix: impl Into<String>) -> Self {
        if let Some((_, p)) = &mut self.redis {
            *p = prefix.into();
        }
        self
    }

    /// Checks the configuration as the development server's, but for the issuer, which may be
    /// any `https` URL.
    pub fn build(self) -> Result<OAuthProxy, DevAuthError> {
        let mut copied: Vec<String> = self
            .attributes
            .iter()
            .map(|(name, _)| name.to_owned())
            .collect();
        if let Some(claim) = &self.tenant_claim {
            copied.push(claim.clone());
        }
        #[cfg(feature = "redis")]
        let limiter = self
            .redis
            .as_ref()
            .map(|(limiter, _)| Arc::new(limiter.clone()) as Arc<dyn crate::rate::RateLimiter>);
        #[cfg(feature = "redis")]
        let store = self.redis.map(|(limiter, prefix)| {
            super::state::StateStore::redis(super::state::RedisKv::new(
                &limiter,
                prefix,
                &self.secret,
            ))
        });
        #[cfg(not(feature = "redis"))]
        let (store, limiter) = (None, None);
        let state = self.inner.shared(Some(ProxyParts {
            upstream: Arc::new(self.upstream),
            copied_claims: copied,
            state: store,
            limiter,
        }))?;
        Ok(OAuthProxy {
            state: Arc::new(state),
            verifier_secret: self.secret,
            attributes: self.attributes,
            tenant_claim: self.tenant_claim,
        })
    }
}

/// The [`TokenVerifier`] of an [`OAuthProxy`]'s tokens: a JWT verifier of the proxy's issuer
/// whose principals are the upstream provider's ([`TokenVerifier::issuer`] is the provider's).
pub struct ProxyVerifier {
    inner: JwtVerifier,
    issuer: String,
}

impl TokenVerifier for ProxyVerifier {
    fn issuer(&self) -> &str {
        &self.issuer
    }

    fn verify<'a>(&'a self, token: &'a str) -> VerifyFuture<'a> {
        self.inner.verify(token)
    }

    fn bind_resource(&mut self, resource: &str) -> Result<(), AudienceMismatch> {
        self.inner.bind_resource(resource)
    }
}

/// The proxy's signing key: HKDF-SHA256 (RFC 5869) of `secret`, for this use only. A secret
/// under 32 bytes gives one too; the development server's check refuses it when it is built.
fn derive_key(secret: &SecretString) -> SecretString {
    struct Len;
    impl ring::hkdf::KeyType for Len {
        fn len(&self) -> usize {
            32
        }
    }
    if secret.expose_secret().len() < 32 {
        return secret.clone();
    }
    let prk = ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, b"mcp-secure")
        .extract(secret.expose_secret().as_bytes());
    let mut key = zeroize::Zeroizing::new([0u8; 32]);
    let filled = prk
        .expand(&[b"oauth-proxy access tokens"], Len)
        .and_then(|okm| okm.fill(&mut key[..]));
    match filled {
        Ok(()) => SecretString::new(super::base64url(&key[..])),
        Err(_) => unreachable!("32 bytes is within HKDF-SHA256's output"),
    }
}
