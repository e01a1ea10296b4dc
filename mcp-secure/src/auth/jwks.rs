//! JWT verification keys fetched from an issuer's JWKS URL, and refreshed as it rotates them.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use jsonwebtoken::Algorithm;

use super::jwt::{
    Audience, JwtConfigError, JwtConfigErrorKind, JwtVerifier, KeyMap, Keys, parse_jwk_set,
};

/// The cache of a JWKS URL.
pub(super) struct RemoteJwks {
    url: String,
    client: reqwest::Client,
    keys: std::sync::RwLock<Arc<KeyMap>>,
    /// When the set was last fetched; one refresh at a time.
    fetched: tokio::sync::Mutex<Instant>,
    min_refresh: Duration,
    max_age: Duration,
}

/// The largest JWK Set document accepted.
const MAX_JWKS_BYTES: usize = 1 << 20;

impl RemoteJwks {
    async fn fetch(client: &reqwest::Client, url: &str) -> Result<KeyMap, String> {
        let response = client
            .get(url)
            .send()
            .await
            .map_err(|e| format!("fetching the JWK Set failed: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("the JWK Set URL answered {}", response.status()));
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| format!("reading the JWK Set failed: {e}"))?;
        if body.len() > MAX_JWKS_BYTES {
            return Err("the JWK Set is larger than 1 MiB".into());
        }
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
        match Self::fetch(&self.client, &self.url).await {
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
    pub async fn jwks_url(
        url: &str,
        issuer: &str,
        audience: impl Into<Audience>,
    ) -> Result<Self, JwtConfigError> {
        let parsed = url::Url::parse(url).map_err(|_| {
            JwtConfigError::new(
                JwtConfigErrorKind::JwksUrl,
                "the JWKS URL is not an absolute URL",
            )
        })?;
        let loopback = matches!(parsed.host(), Some(url::Host::Domain("localhost")))
            || matches!(parsed.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
            || matches!(parsed.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback());
        if parsed.scheme() != "https" && !(parsed.scheme() == "http" && loopback) {
            return Err(JwtConfigError::new(
                JwtConfigErrorKind::JwksUrl,
                "a JWKS URL must be https (http only on a loopback host)",
            ));
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                JwtConfigError::new(JwtConfigErrorKind::Fetch, format!("HTTP client: {e}"))
            })?;
        let keys = RemoteJwks::fetch(&client, url)
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
                client,
                keys: std::sync::RwLock::new(Arc::new(keys)),
                fetched: tokio::sync::Mutex::new(Instant::now()),
                min_refresh: Duration::from_secs(30),
                max_age: Duration::from_secs(600),
            })),
            algorithms,
            issuer,
            audience.into(),
        )
    }

    /// For a JWKS URL verifier: refresh at most once per `min` on unknown keys, and treat the
    /// set as stale after `max_age` (defaults 30 s and 10 min).
    pub fn with_refresh(mut self, min: Duration, max_age: Duration) -> Self {
        if let Keys::Remote(remote) = &self.keys {
            let remote = Arc::new(RemoteJwks {
                url: remote.url.clone(),
                client: remote.client.clone(),
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
