//! Opaque access tokens, checked by asking their authorization server (RFC 7662 token
//! introspection).

use std::{
    collections::HashMap,
    fmt,
    sync::Mutex,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{
    Audience, AudienceMismatch, Principal, TokenVerifier, VerifyError, VerifyFuture,
    scope::split_scope,
};
use crate::{
    fetch::{FetchPolicy, Fetcher},
    secret::SecretString,
};

/// Verifies tokens by introspection (RFC 7662): each token is posted to the authorization
/// server's introspection endpoint, with this server's client credentials (HTTP Basic, as
/// RFC 6749 §2.3.1 encodes them). A token passes when the answer says `active: true`, names
/// this resource in `aud`, a `sub`, and, when it says, the configured `iss`, an `exp` still
/// ahead and a `token_type` of an access token (`access_token` or `Bearer`, in any case, or
/// RFC 8693's access token URI): a refresh token, or one bound to a proof (`DPoP`), presented as
/// a bearer token is refused. An answer without `token_type` passes, as RFC 7662 makes it
/// optional and many servers omit it; [`Self::require_token_type`] refuses those too.
///
/// The endpoint is asked only at a public address ([`FetchPolicy::default`]); one on loopback
/// or a private network needs [`Self::fetch_policy`] naming it.
///
/// A positive answer is cached (by the token's SHA-256, never the token itself) until the
/// token's `exp` or the cache bound (default 60 s), whichever comes first, so that a revoked
/// token stops working within that bound. When the endpoint is down, answers with an error or
/// with something that is not an introspection response, a token not in the cache is refused
/// ([`VerifyError::unavailable`]: the HTTP layer answers `503` and audits the reason): fail
/// closed, never open.
///
/// ```no_run
/// use mcp_secure::{auth::{Audience, IntrospectionVerifier}, secret::SecretString};
/// let verifier = IntrospectionVerifier::new(
///     "https://auth.example.com/oauth2/introspect",
///     "https://auth.example.com",
///     "mcp-server",
///     SecretString::from_env("INTROSPECTION_SECRET").unwrap(),
/// )
/// .unwrap()
/// .audience(Audience::Resource);
/// # let _ = verifier;
/// ```
pub struct IntrospectionVerifier {
    endpoint: String,
    issuer: String,
    client_id: String,
    client_secret: SecretString,
    audience: Option<String>,
    cache_bound: Duration,
    require_token_type: bool,
    /// The tenant claim and attributes read into the caller.
    claims: super::claims::ClaimMap,
    fetcher: Fetcher,
    cache: Mutex<HashMap<[u8; 32], (Principal, Instant)>>,
}

/// Why an [`IntrospectionVerifier`] could not be configured.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IntrospectionConfigError {
    /// The endpoint is not an `https` URL (or `http` on a loopback host).
    Endpoint,
    /// The issuer is not a valid verifier issuer.
    Issuer(super::IssuerError),
    /// The client id is empty or holds a control character.
    ClientId,
    /// The HTTP client could not be built.
    Client(String),
}

impl fmt::Display for IntrospectionConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("introspection verifier: ")?;
        match self {
            Self::Endpoint => {
                f.write_str("the endpoint must be an https URL (http only on a loopback host)")
            }
            Self::Issuer(e) => write!(f, "issuer: {e}"),
            Self::ClientId => f.write_str("the client id is empty or holds a control character"),
            Self::Client(e) => write!(f, "HTTP client: {e}"),
        }
    }
}

impl std::error::Error for IntrospectionConfigError {}

/// The largest introspection response read.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// The most answers kept; past it, expired ones are dropped, then all.
const MAX_CACHED: usize = 10_000;

impl IntrospectionVerifier {
    /// Introspects at `endpoint` as `client_id` with `client_secret`; principals are of
    /// `issuer`. The audience is the resource of the layer it is added to
    /// ([`Audience::Resource`]) unless [`Self::audience`] names one.
    pub fn new(
        endpoint: &str,
        issuer: &str,
        client_id: &str,
        client_secret: SecretString,
    ) -> Result<Self, IntrospectionConfigError> {
        let url = url::Url::parse(endpoint).map_err(|_| IntrospectionConfigError::Endpoint)?;
        let loopback = url
            .host_str()
            .is_some_and(|h| matches!(h, "localhost" | "127.0.0.1" | "[::1]"));
        if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
            return Err(IntrospectionConfigError::Endpoint);
        }
        super::check_verifier_issuer(issuer).map_err(IntrospectionConfigError::Issuer)?;
        if client_id.is_empty() || client_id.chars().any(char::is_control) {
            return Err(IntrospectionConfigError::ClientId);
        }
        let fetcher = Fetcher::new(&FetchPolicy::default())
            .map_err(|e| IntrospectionConfigError::Client(e.to_string()))?;
        Ok(Self {
            endpoint: endpoint.to_owned(),
            issuer: issuer.to_owned(),
            client_id: client_id.to_owned(),
            client_secret,
            audience: None,
            cache_bound: Duration::from_secs(60),
            require_token_type: false,
            claims: super::claims::ClaimMap::default(),
            fetcher,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The audience tokens must name (default [`Audience::Resource`]).
    pub fn audience(mut self, audience: impl Into<Audience>) -> Self {
        self.audience = match audience.into() {
            Audience::Resource => None,
            Audience::Url(url) => Some(url),
        };
        self
    }

    /// Asks the endpoint where `policy` allows (default: public addresses only), e.g.
    /// `FetchPolicy::default().allow_network("10.20.0.0/16".parse()?)` for an authorization
    /// server on that private network.
    pub fn fetch_policy(mut self, policy: &FetchPolicy) -> Result<Self, IntrospectionConfigError> {
        self.fetcher =
            Fetcher::new(policy).map_err(|e| IntrospectionConfigError::Client(e.to_string()))?;
        Ok(self)
    }

    /// Refuses an answer that does not say the token's `token_type` (by default such an answer
    /// passes; one naming another type than an access token never does).
    pub fn require_token_type(mut self, required: bool) -> Self {
        self.require_token_type = required;
        self
    }

    /// Takes the caller's tenant from the answer's member `name` (e.g. `tenant`): a string
    /// checked as [`check_tenant`](super::check_tenant) does, or the token is refused; an
    /// answer without it makes a principal with no tenant (as `JwtVerifier::tenant_claim` reads
    /// a claim).
    pub fn tenant_claim(mut self, name: &str) -> Self {
        self.claims.tenant = Some(name.to_owned());
        self
    }

    /// Reads each of `attributes` from the answer's member of its name into the caller's
    /// attributes ([`Principal::attribute`](super::Principal::attribute)), as
    /// `JwtVerifier::attributes` reads claims: a member
    /// of another kind, or whose value [`check_attribute`](super::check_attribute) refuses,
    /// refuses the token; an answer without it makes a principal without the attribute.
    pub fn attributes(mut self, attributes: &super::Attributes) -> Self {
        self.claims.attributes = attributes.clone();
        self
    }

    /// Keeps a positive answer at most this long (default 60 s; zero asks every time). A
    /// revoked token may pass for this long after its revocation.
    pub fn cache_for(mut self, bound: Duration) -> Self {
        self.cache_bound = bound;
        self
    }

    async fn check(&self, token: &str) -> Result<Principal, VerifyError> {
        let Some(audience) = &self.audience else {
            return Err(VerifyError::new(
                "this verifier has no audience yet: add it to an AuthLayer, or name one",
            ));
        };
        if token.len() > 16 * 1024 {
            return Err(VerifyError::new("token longer than 16 KiB"));
        }
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(principal) = self.cached(&key) {
            return Ok(principal);
        }
        let answer = self.introspect(token).await?;
        let (principal, until) = self.judge(&answer, audience)?;
        self.remember(key, principal.clone(), until);
        Ok(principal)
    }

    fn cached(&self, key: &[u8; 32]) -> Option<Principal> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let (principal, until) = cache.get(key)?;
        (Instant::now() < *until).then(|| principal.clone())
    }

    fn remember(&self, key: [u8; 32], principal: Principal, until: Instant) {
        if self.cache_bound.is_zero() {
            return;
        }
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= MAX_CACHED {
            let now = Instant::now();
            cache.retain(|_, (_, until)| *until > now);
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
        }
        cache.insert(key, (principal, until));
    }

    /// The endpoint's answer; [`VerifyError::unavailable`] when there is none to go by.
    async fn introspect(&self, token: &str) -> Result<super::claims::Members, VerifyError> {
        let form = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let request = self
            .fetcher
            .request(reqwest::Method::POST, &self.endpoint)
            .map_err(unreachable)?
            .basic_auth(
                form(&self.client_id),
                Some(form(self.client_secret.expose_secret())),
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&[("token", token), ("token_type_hint", "access_token")]);
        let response = Fetcher::send(request).await.map_err(unreachable)?;
        if !response.status().is_success() {
            return Err(unreachable(crate::fetch::FetchError::Status(
                response.status(),
            )));
        }
        let body = crate::fetch::read_capped(response, MAX_RESPONSE_BYTES)
            .await
            .map_err(|e| unreachable(format_args!("its answer: {e}")))?;
        serde_json::from_slice(&body)
            .map_err(|_| unreachable("its answer is not an introspection response"))
    }

    /// The principal an active answer stands for, and until when it may be cached.
    fn judge(
        &self,
        members: &super::claims::Members,
        audience: &str,
    ) -> Result<(Principal, Instant), VerifyError> {
        let answer: Answer = members
            .view()
            .map_err(|_| unreachable("its answer is not an introspection response"))?;
        if !answer.active {
            return Err(VerifyError::new(
                "the authorization server says the token is not active",
            ));
        }
        match answer.token_type.as_deref() {
            Some(kind) if is_access_token_type(kind) => {}
            // RFC 9449 §6.2: a DPoP-bound access token; its binding (`cnf`) is read below and
            // the HTTP layer asks for its proof.
            Some(kind) if kind.eq_ignore_ascii_case("DPoP") && answer.cnf.is_some() => {}
            Some(_) => {
                return Err(VerifyError::new(
                    "the authorization server says this is not an access token (`token_type`)",
                ));
            }
            None if self.require_token_type => {
                return Err(VerifyError::new(
                    "the authorization server does not say the token's type (`token_type`)",
                ));
            }
            None => {}
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let left = match answer.exp {
            Some(exp) if exp <= now => return Err(VerifyError::new("token expired")),
            Some(exp) => Duration::from_secs(exp - now),
            None => self.cache_bound,
        };
        if let Some(iss) = &answer.iss
            && iss != &self.issuer
        {
            return Err(VerifyError::new("token of another issuer"));
        }
        let meant_for_us = match &answer.aud {
            Some(Aud::One(aud)) => aud == audience,
            Some(Aud::Many(auds)) => auds.iter().any(|a| a == audience),
            None => false,
        };
        if !meant_for_us {
            return Err(VerifyError::new("wrong audience"));
        }
        let subject = answer
            .sub
            .filter(|s| !s.is_empty())
            .ok_or_else(|| VerifyError::new("token has no `sub`"))?;
        let scopes = match &answer.scope {
            Some(scope) => split_scope(scope)?,
            None => Vec::new(),
        };
        let principal = self.claims.apply(
            Principal::issued(&self.issuer, &subject, scopes),
            members.all(),
        )?;
        let principal = match super::bound_key(answer.cnf.as_ref())? {
            Some(jkt) => principal.with_bound_key(jkt),
            None => principal,
        };
        let principal = match answer.client_id {
            Some(client) => principal.with_client_id(client),
            None => principal,
        };
        Ok((principal, Instant::now() + left.min(self.cache_bound)))
    }
}

/// Whether an introspection `token_type` names an access token usable as a bearer token:
/// RFC 6749's `Bearer` (RFC 7662 §2.2 points there), the hint name `access_token` that many
/// servers answer with, or RFC 8693's URI for access tokens.
fn is_access_token_type(kind: &str) -> bool {
    [
        "bearer",
        "access_token",
        "urn:ietf:params:oauth:token-type:access_token",
    ]
    .iter()
    .any(|k| kind.eq_ignore_ascii_case(k))
}

/// The endpoint could not be asked: the token is refused, as undecided.
fn unreachable(why: impl fmt::Display) -> VerifyError {
    VerifyError::unavailable(format!(
        "the introspection endpoint could not decide: {why}"
    ))
}

/// What an introspection response says (RFC 7662 §2.2); the rest is ignored.
#[derive(Deserialize)]
struct Answer {
    active: bool,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
    /// The key the token is bound to (RFC 9449 §6.2).
    #[serde(default)]
    cnf: Option<serde_json::Value>,
    #[serde(default)]
    exp: Option<u64>,
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    aud: Option<Aud>,
    #[serde(default)]
    token_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Aud {
    One(String),
    Many(Vec<String>),
}

impl TokenVerifier for IntrospectionVerifier {
    fn issuer(&self) -> &str {
        &self.issuer
    }

    fn verify<'a>(&'a self, token: &'a str) -> VerifyFuture<'a> {
        Box::pin(self.check(token))
    }

    fn bind_resource(&mut self, resource: &str) -> Result<(), AudienceMismatch> {
        let bound =
            super::verifier::bind_audience(&self.issuer, self.audience.as_deref(), resource)?;
        if let Some(audience) = bound {
            self.audience = Some(audience);
        }
        Ok(())
    }
}

impl fmt::Debug for IntrospectionVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntrospectionVerifier")
            .field("endpoint", &self.endpoint)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("audience", &self.audience)
            .field("cache_bound", &self.cache_bound)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> SecretString {
        SecretString::new("a-client-secret".into())
    }

    #[test]
    fn configurations_that_would_leak_or_mislead_are_refused() {
        let new = |endpoint: &str, issuer: &str, client: &str| {
            IntrospectionVerifier::new(endpoint, issuer, client, secret()).map(|_| ())
        };
        let ok = (
            "https://idp.example/introspect",
            "https://idp.example",
            "mcp",
        );
        assert_eq!(new(ok.0, ok.1, ok.2), Ok(()));
        assert_eq!(new("http://127.0.0.1:9/introspect", ok.1, ok.2), Ok(()));
        // The client secret would cross the network in clear.
        for endpoint in [
            "http://idp.example/introspect",
            "ftp://idp.example/x",
            "/introspect",
        ] {
            assert_eq!(
                new(endpoint, ok.1, ok.2),
                Err(IntrospectionConfigError::Endpoint)
            );
        }
        assert!(matches!(
            new(ok.0, "local", ok.2),
            Err(IntrospectionConfigError::Issuer(_))
        ));
        for client in ["", "mcp\r\nX-Injected: 1"] {
            assert_eq!(
                new(ok.0, ok.1, client),
                Err(IntrospectionConfigError::ClientId)
            );
        }
    }

    /// The guide (docs/src/http.md): "A positive answer is cached by the token's hash until its `exp` or
    /// `.cache_for(..)` (60 s)": the deadline `judge` gives an active answer without `exp`, or
    /// with one an hour away, is 60 s from now (between the clock reads before and after it:
    /// nothing waits).
    #[test]
    fn by_default_a_positive_answer_is_kept_60_s_at_most() {
        let verifier = IntrospectionVerifier::new(
            "https://idp.example/introspect",
            "https://idp.example",
            "mcp",
            secret(),
        )
        .unwrap();
        let audience = "https://mcp.example/mcp";
        let in_an_hour = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 3600;
        for exp in [None, Some(in_an_hour)] {
            let answer =
                serde_json::json!({"active": true, "sub": "ann", "aud": audience, "exp": exp});
            let answer: crate::auth::claims::Members = serde_json::from_value(answer).unwrap();
            let before = Instant::now();
            let (_, until) = verifier.judge(&answer, audience).unwrap();
            let after = Instant::now();
            let kept = Duration::from_secs(60);
            assert!(before + kept <= until && until <= after + kept, "{exp:?}");
        }
    }

    #[tokio::test]
    async fn an_unbound_verifier_asks_nobody_and_refuses() {
        // Port 9 (discard): were a request made, it would fail as unavailable, not as unbound.
        let verifier = IntrospectionVerifier::new(
            "http://127.0.0.1:9/x",
            "https://idp.example",
            "mcp",
            secret(),
        )
        .unwrap();
        let refused = verifier.verify("some-token").await.unwrap_err();
        assert!(!refused.is_unavailable(), "{refused}");
        assert!(refused.reason().contains("no audience"), "{refused}");
    }
}
