//! JWT verification keys fetched from an issuer's JWKS URL (named, or found in the issuer's
//! metadata), and refreshed as it rotates them.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use jsonwebtoken::Algorithm;

use crate::fetch::{FetchPolicy, Fetcher};

use super::{
    Audience,
    jwk_set::parse_jwk_set,
    jwt::{JwtConfigError, JwtConfigErrorKind, JwtVerifier, KeyMap, Keys},
};

/// The cache of a JWKS URL.
pub(super) struct RemoteJwks {
    url: String,
    fetcher: Fetcher,
    keys: std::sync::RwLock<Arc<KeyMap>>,
    /// When the set was last fetched; one refresh at a time.
    fetched: tokio::sync::Mutex<Instant>,
    min_refresh: Duration,
    max_age: Duration,
}

/// The largest JWK Set document accepted.
const MAX_JWKS_BYTES: usize = 1 << 20;

impl RemoteJwks {
    async fn fetch(fetcher: &Fetcher, url: &str) -> Result<KeyMap, String> {
        let body = crate::fetch::get_capped(fetcher, url, MAX_JWKS_BYTES)
            .await
            .map_err(|e| format!("the JWK Set: {e}"))?;
        parse_jwk_set(
            std::str::from_utf8(&body).map_err(|_| "the JWK Set is not UTF-8".to_owned())?,
        )
        .map_err(|e| e.detail)
    }

    fn current(&self) -> Arc<KeyMap> {
        self.keys.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The keys, refreshed first if `kid` is unknown or the set is old, at most once per
    /// `min_refresh` (so tokens with made-up `kid`s cannot make us hammer the URL).
    pub(super) async fn keys_for(&self, kid: &str) -> Arc<KeyMap> {
        let keys = self.current();
        let mut fetched = self.fetched.lock().await;
        let stale = fetched.elapsed() >= self.max_age;
        if (keys.contains_key(kid) && !stale) || fetched.elapsed() < self.min_refresh {
            return self.current();
        }
        *fetched = Instant::now();
        match Self::fetch(&self.fetcher, &self.url).await {
            Ok(fresh) => {
                let fresh = Arc::new(fresh);
                *self.keys.write().unwrap_or_else(|p| p.into_inner()) = fresh.clone();
                fresh
            }
            Err(e) => {
                tracing::error!(target: "mcp_secure", url = %self.url, error = %e, "JWK Set refresh failed; keeping the keys we have");
                self.current()
            }
        }
    }
}

impl JwtVerifier {
    /// The JWK Set published at `url` (https, or http on a loopback host), fetched now and
    /// cached: refreshed when a token names an unknown `kid` or the set is older than ten
    /// minutes, at most once every 30 seconds. Fails if the set cannot be fetched now.
    ///
    /// Tokens may use every algorithm the fetched keys declare; each token is checked with the
    /// algorithm of the key its `kid` names.
    ///
    /// The set is fetched from public addresses only ([`FetchPolicy::default`]); a JWKS URL on
    /// loopback or a private network needs [`Self::jwks_url_with`] and a policy naming it.
    pub async fn jwks_url(
        url: &str,
        issuer: &str,
        audience: impl Into<Audience>,
    ) -> Result<Self, JwtConfigError> {
        Self::jwks_url_with(url, issuer, audience, &FetchPolicy::default()).await
    }

    /// [`Self::jwks_url`], connecting where `policy` allows: e.g.
    /// `FetchPolicy::default().allow_network("10.20.0.0/16".parse()?)` for an issuer on that
    /// private network.
    pub async fn jwks_url_with(
        url: &str,
        issuer: &str,
        audience: impl Into<Audience>,
        policy: &FetchPolicy,
    ) -> Result<Self, JwtConfigError> {
        Self::jwks_url_fetching(url, issuer, audience.into(), fetcher(policy)?).await
    }

    async fn jwks_url_fetching(
        url: &str,
        issuer: &str,
        audience: Audience,
        fetcher: Fetcher,
    ) -> Result<Self, JwtConfigError> {
        checked_url(url, JwtConfigErrorKind::JwksUrl, "JWKS URL")?;
        let keys = RemoteJwks::fetch(&fetcher, url)
            .await
            .map_err(|e| JwtConfigError::new(JwtConfigErrorKind::Fetch, e))?;
        // Every asymmetric algorithm is allowed by the validation; the key named by `kid`
        // decides which one a token may use.
        let algorithms = vec![
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::PS384,
            Algorithm::PS512,
            Algorithm::ES256,
            Algorithm::ES384,
            Algorithm::EdDSA,
        ];
        Self::new(
            Keys::Remote(Arc::new(RemoteJwks {
                url: url.to_owned(),
                fetcher,
                keys: std::sync::RwLock::new(Arc::new(keys)),
                fetched: tokio::sync::Mutex::new(Instant::now()),
                min_refresh: Duration::from_secs(30),
                max_age: Duration::from_secs(600),
            })),
            algorithms,
            issuer,
            audience,
        )
    }

    /// For a JWKS URL verifier: refresh at most once per `min` on unknown keys, and treat the
    /// set as stale after `max_age` (defaults 30 s and 10 min).
    pub fn with_refresh(mut self, min: Duration, max_age: Duration) -> Self {
        if let Keys::Remote(remote) = &self.keys {
            let remote = Arc::new(RemoteJwks {
                url: remote.url.clone(),
                fetcher: remote.fetcher.clone(),
                keys: std::sync::RwLock::new(remote.current()),
                fetched: tokio::sync::Mutex::new(Instant::now()),
                min_refresh: min,
                max_age,
            });
            self.keys = Keys::Remote(remote);
        }
        self
    }
}

/// `url` parsed, if it is `https`, or `http` on a loopback host (a test's or a sidecar's).
pub(crate) fn checked_url(
    url: &str,
    kind: JwtConfigErrorKind,
    what: &str,
) -> Result<url::Url, JwtConfigError> {
    let parsed = url::Url::parse(url)
        .map_err(|_| JwtConfigError::new(kind, format!("the {what} is not an absolute URL")))?;
    let loopback = matches!(parsed.host(), Some(url::Host::Domain("localhost")))
        || matches!(parsed.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
        || matches!(parsed.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback());
    if parsed.scheme() != "https" && !(parsed.scheme() == "http" && loopback) {
        return Err(JwtConfigError::new(
            kind,
            format!("a {what} must be https (http only on a loopback host)"),
        ));
    }
    Ok(parsed)
}

fn fetcher(policy: &FetchPolicy) -> Result<Fetcher, JwtConfigError> {
    Fetcher::new(policy)
        .map_err(|e| JwtConfigError::new(JwtConfigErrorKind::Fetch, format!("HTTP client: {e}")))
}

/// The JSON document at `url`, at most `max` bytes.
async fn fetch_json(fetcher: &Fetcher, url: &str, max: usize) -> Result<serde_json::Value, String> {
    let body = crate::fetch::get_capped(fetcher, url, max)
        .await
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&body).map_err(|_| "not JSON".to_owned())
}

/// The largest authorization server metadata document accepted.
const MAX_METADATA_BYTES: usize = 256 * 1024;

impl JwtVerifier {
    /// The verifier of a JWT issuer found from its metadata: RFC 8414 authorization server
    /// metadata (`/.well-known/oauth-authorization-server`), or OpenID Connect discovery
    /// (`/.well-known/openid-configuration`) when the issuer publishes none. The document's
    /// `issuer` must be `issuer`, character for character (RFC 8414 §3.3: a document that
    /// names another issuer is refused, so a look-alike cannot stand in for it), and its
    /// `jwks_uri` is then used as [`Self::jwks_url`] uses a URL: fetched now, and refreshed as
    /// the issuer rotates its keys.
    ///
    /// `issuer` is `https` (or `http` on a loopback host); redirects are not followed. The
    /// metadata and the keys are fetched from public addresses only
    /// ([`FetchPolicy::default`]); see [`Self::discover_with`].
    pub async fn discover(
        issuer: &str,
        audience: impl Into<Audience>,
    ) -> Result<Self, JwtConfigError> {
        Self::discover_with(issuer, audience, &FetchPolicy::default()).await
    }

    /// [`Self::discover`], connecting where `policy` allows, for the metadata and for the
    /// keys: an issuer on loopback or a private network is named there explicitly.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
    /// use mcp_secure::{auth::{Audience, JwtVerifier}, fetch::FetchPolicy};
    /// let policy = FetchPolicy::default().allow_network("10.20.0.0/16".parse()?);
    /// let verifier =
    ///     JwtVerifier::discover_with("https://idp.corp.example", Audience::Resource, &policy)
    ///         .await?;
    /// # let _ = verifier;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn discover_with(
        issuer: &str,
        audience: impl Into<Audience>,
        policy: &FetchPolicy,
    ) -> Result<Self, JwtConfigError> {
        Ok(Self::discover_document(issuer, audience.into(), policy)
            .await?
            .0)
    }

    /// [`Self::discover_with`], and the metadata document it read (the OAuth proxy also needs
    /// the issuer's endpoints).
    pub(crate) async fn discover_document(
        issuer: &str,
        audience: Audience,
        policy: &FetchPolicy,
    ) -> Result<(Self, serde_json::Map<String, serde_json::Value>), JwtConfigError> {
        let url = checked_url(issuer, JwtConfigErrorKind::Issuer, "issuer")?;
        let fetcher = fetcher(policy)?;
        let document = fetch_metadata(&fetcher, &url).await?;
        let named = document.get("issuer").and_then(|v| v.as_str());
        if named != Some(issuer) {
            return Err(JwtConfigError::new(
                JwtConfigErrorKind::IssuerMismatch,
                format!(
                    "the metadata of `{issuer}` names the issuer {}; it must be `{issuer}` exactly",
                    match named {
                        Some(other) => format!("`{}`", crate::sanitize::clean(other)),
                        None => "nowhere".to_owned(),
                    }
                ),
            ));
        }
        let Some(jwks_uri) = document.get("jwks_uri").and_then(|v| v.as_str()) else {
            return Err(JwtConfigError::new(
                JwtConfigErrorKind::Discovery,
                format!("the metadata of `{issuer}` has no `jwks_uri`"),
            ));
        };
        let verifier = Self::jwks_url_fetching(jwks_uri, issuer, audience, fetcher).await?;
        Ok((verifier, document))
    }
}

/// The issuer's metadata document: RFC 8414's well-known location first (inserted before the
/// issuer's path), then OpenID Connect's (appended to it).
async fn fetch_metadata(
    fetcher: &Fetcher,
    issuer: &url::Url,
) -> Result<serde_json::Map<String, serde_json::Value>, JwtConfigError> {
    let path = issuer.path().trim_end_matches('/');
    let origin = issuer.origin().ascii_serialization();
    let candidates = [
        format!("{origin}/.well-known/oauth-authorization-server{path}"),
        format!("{origin}{path}/.well-known/openid-configuration"),
    ];
    let mut failures = Vec::new();
    for candidate in &candidates {
        match fetch_json(fetcher, candidate, MAX_METADATA_BYTES).await {
            Ok(serde_json::Value::Object(document)) => return Ok(document),
            Ok(_) => failures.push(format!("{candidate}: not a JSON object")),
            Err(e) => failures.push(format!("{candidate}: {e}")),
        }
    }
    Err(JwtConfigError::new(
        JwtConfigErrorKind::Discovery,
        format!("no metadata found ({})", failures.join("; ")),
    ))
}
