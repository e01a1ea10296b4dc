//! DPoP (RFC 9449): access tokens bound to a key the client holds, proven on every request.
//!
//! A token whose `cnf.jkt` names a key is only accepted with a `DPoP` proof signed by that key,
//! made for this request (method, URI, the token's hash), recent, and never seen before; a
//! stolen token is useless without the key, and a captured proof without a new request.

mod htu;
mod nonce;
mod proof;
#[cfg(feature = "redis")]
mod redis;
mod replay;

use std::{sync::Arc, time::Duration};

use jsonwebtoken::Algorithm;

pub(crate) use htu::normalize as normalize_htu;
use proof::Expected;
pub(crate) use proof::Proof;
pub use proof::ProofError;
#[cfg(feature = "redis")]
pub use redis::RedisReplayCache;
pub use replay::{
    DEFAULT_REPLAY_CAPACITY, MemoryReplayCache, ReplayCache, ReplayError, ReplayFuture,
};

/// The default window around the server's clock in which a proof's `iat` must fall, either way.
pub const DEFAULT_DPOP_WINDOW: Duration = Duration::from_secs(60);

/// The longest [`Dpop::window`] allowed: proofs are meant to be used at once.
pub const MAX_DPOP_WINDOW: Duration = Duration::from_secs(600);

/// The algorithms a proof may be signed with by default: the asymmetric ones of RFC 7518 and
/// RFC 8037 that DPoP clients use.
pub const DEFAULT_DPOP_ALGORITHMS: [Algorithm; 5] = [
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
    Algorithm::PS256,
    Algorithm::RS256,
];

/// Whether a server takes DPoP-bound tokens, and whether it takes anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DpopMode {
    /// Every token must be DPoP-bound and come with a proof: bearer tokens are refused.
    Required,
    /// Bearer tokens are accepted, and DPoP-bound tokens with their proof (the default).
    Allowed,
    /// The `DPoP` scheme is refused, and so is every DPoP-bound token (its binding cannot be
    /// checked, so it is never taken as a bearer token).
    Off,
}

impl std::str::FromStr for DpopMode {
    type Err = UnknownDpopMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "required" => Ok(Self::Required),
            "allowed" => Ok(Self::Allowed),
            "off" => Ok(Self::Off),
            _ => Err(UnknownDpopMode),
        }
    }
}

/// A DPoP mode that is not `required`, `allowed` or `off`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownDpopMode;

impl std::fmt::Display for UnknownDpopMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the DPoP mode is `required`, `allowed` or `off`")
    }
}

impl std::error::Error for UnknownDpopMode {}

/// Why a [`Dpop`] configuration was refused (reported when the layer or server using it is
/// built).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DpopConfigError {
    /// No algorithm, or a symmetric one (`HS256`…): a proof's key is public, and anyone could
    /// sign with a symmetric one.
    Algorithm,
    /// The window is zero or longer than [`MAX_DPOP_WINDOW`].
    Window,
    /// The secret of [`Dpop::nonces`] has fewer than 32 bytes.
    NonceSecret,
}

impl std::fmt::Display for DpopConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DpopConfigError::Algorithm => f.write_str(
                "DPoP: name at least one asymmetric algorithm (ES256, ES384, EdDSA, PS256, RS256, …); HS256, HS384 and HS512 are refused",
            ),
            DpopConfigError::Window => f.write_str("DPoP: the window is between 1 s and 600 s"),
            DpopConfigError::NonceSecret => {
                f.write_str("DPoP: the secret of server nonces has at least 32 bytes")
            }
        }
    }
}

impl std::error::Error for DpopConfigError {}

/// How a server checks DPoP proofs (RFC 9449): its [`DpopMode`], the algorithms it takes, the
/// window for `iat` and where it remembers the proofs it accepted.
///
/// ```
/// use mcp_secure::http::{Dpop, DpopMode};
/// let dpop = Dpop::required().window(std::time::Duration::from_secs(30));
/// assert_eq!(dpop.mode(), DpopMode::Required);
/// assert_eq!(dpop.algorithm_names(), "ES256 ES384 EdDSA PS256 RS256");
/// ```
#[derive(Clone)]
pub struct Dpop {
    mode: DpopMode,
    algorithms: Vec<Algorithm>,
    window: Duration,
    cache: Arc<dyn ReplayCache>,
    nonces: Option<Arc<nonce::Nonces>>,
    error: Option<DpopConfigError>,
}

impl std::fmt::Debug for Dpop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dpop")
            .field("mode", &self.mode)
            .field("algorithms", &self.algorithms)
            .field("window", &self.window)
            .field("nonces", &self.nonces.is_some())
            .finish_non_exhaustive()
    }
}

impl Dpop {
    fn new(mode: DpopMode) -> Self {
        Self {
            mode,
            algorithms: DEFAULT_DPOP_ALGORITHMS.to_vec(),
            window: DEFAULT_DPOP_WINDOW,
            cache: Arc::new(MemoryReplayCache::new()),
            nonces: None,
            error: None,
        }
    }

    /// [`DpopMode::Required`].
    pub fn required() -> Self {
        Self::new(DpopMode::Required)
    }

    /// [`DpopMode::Allowed`], the default.
    pub fn allowed() -> Self {
        Self::new(DpopMode::Allowed)
    }

    /// [`DpopMode::Off`].
    pub fn off() -> Self {
        Self::new(DpopMode::Off)
    }

    /// `mode`.
    pub fn with_mode(mode: DpopMode) -> Self {
        Self::new(mode)
    }

    /// The mode.
    pub fn mode(&self) -> DpopMode {
        self.mode
    }

    /// The algorithms a proof may be signed with (default [`DEFAULT_DPOP_ALGORITHMS`]);
    /// asymmetric ones only.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        if self.algorithms.is_empty()
            || self
                .algorithms
                .iter()
                .any(|a| matches!(a, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512))
        {
            self.error.get_or_insert(DpopConfigError::Algorithm);
        }
        self
    }

    /// How far a proof's `iat` may be from the server's clock, either way (default
    /// [`DEFAULT_DPOP_WINDOW`], at most [`MAX_DPOP_WINDOW`]). Accepted proofs are remembered
    /// for twice as long and a second more (`iat` is in whole seconds), so that none is
    /// accepted twice.
    pub fn window(mut self, window: Duration) -> Self {
        if window.is_zero() || window > MAX_DPOP_WINDOW {
            self.error.get_or_insert(DpopConfigError::Window);
        }
        self.window = window;
        self
    }

    /// Where accepted proofs are remembered (default: a [`MemoryReplayCache`] of this
    /// process). Replicas share one, e.g. a [`RedisReplayCache`](super::RedisReplayCache), or
    /// a proof accepted by one is accepted again by the next.
    pub fn replay_cache(mut self, cache: impl ReplayCache) -> Self {
        self.cache = Arc::new(cache);
        self
    }

    /// Requires server nonces (RFC 9449 §8, §9): a proof must carry a `nonce` this server
    /// issued within the last one or two windows. A request without one is answered
    /// `use_dpop_nonce` (`401` at the resource, `400` at a token endpoint) with a new nonce in
    /// the `DPoP-Nonce` header, which clients then put in their proofs; so a proof made in
    /// advance is useless once its nonce has expired. The nonces need no storage: they are
    /// keyed by `secret` (at least 32 bytes; replicas share it), and one accepted by a replica
    /// is accepted by all.
    pub fn nonces(mut self, secret: &crate::secret::SecretString) -> Self {
        if secret.expose_secret().len() < 32 {
            self.error.get_or_insert(DpopConfigError::NonceSecret);
        }
        self.nonces = Some(Arc::new(nonce::Nonces::new(secret)));
        self
    }

    /// The nonce a client must put in its proofs now, when nonces are required.
    pub(crate) fn nonce(&self) -> Option<String> {
        let nonces = self.nonces.as_ref()?;
        Some(nonces.current(unix_now() as u64, self.window.as_secs()))
    }

    /// The algorithms' names, space-separated: the `algs` of the `DPoP` challenge.
    pub fn algorithm_names(&self) -> String {
        self.algorithm_values().join(" ")
    }

    /// The algorithms' names, for the metadata's `dpop_signing_alg_values_supported`.
    pub(crate) fn algorithm_values(&self) -> Vec<String> {
        self.algorithms.iter().map(|a| format!("{a:?}")).collect()
    }

    /// The configuration's first error, if any.
    pub(crate) fn error(&self) -> Option<DpopConfigError> {
        self.error.clone()
    }

    /// `proof` checked for a request of `method` to one of `uris` (normalized with
    /// [`normalize_htu`]), carrying `access_token` if any; its `jti` is not yet recorded.
    pub(crate) fn check(
        &self,
        proof: &str,
        method: &str,
        uris: &[String],
        access_token: Option<&str>,
    ) -> Result<Proof, ProofError> {
        let now = unix_now();
        let proof = proof::check(
            proof,
            &Expected {
                method,
                uris,
                access_token,
                now,
                window: self.window.as_secs() as i64,
                algorithms: &self.algorithms,
            },
        )?;
        // After the signature: a forged proof is refused as forged, not asked for a nonce.
        if let Some(nonces) = &self.nonces {
            let period = self.window.as_secs();
            let fresh = proof
                .nonce
                .as_deref()
                .is_some_and(|n| nonces.accepts(n, now as u64, period));
            if !fresh {
                return Err(ProofError::Nonce);
            }
        }
        Ok(proof)
    }

    /// Records `proof`'s `jti`: `Err(Replayed)` if it was seen before.
    pub(crate) async fn first_use(&self, proof: &Proof) -> Result<(), DpopFailure> {
        // `iat` is compared in whole seconds, so a proof is accepted for up to 2 × window + 1 s
        // (from `iat - window` until `iat + window` has passed): remembered that long.
        match self
            .cache
            .first_use(&proof.replay_key, self.window * 2 + Duration::from_secs(1))
            .await
        {
            Ok(true) => Ok(()),
            Ok(false) => Err(DpopFailure::Refused(ProofError::Replayed)),
            Err(e) => Err(DpopFailure::Unavailable(e)),
        }
    }
}

/// Seconds since the Unix epoch.
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Why a request's proof was not accepted.
#[derive(Debug)]
pub(crate) enum DpopFailure {
    /// The proof is refused.
    Refused(ProofError),
    /// The replay cache could not decide: refused, and the client asked to retry.
    Unavailable(ReplayError),
}

/// The one `DPoP` header of a request: `Err(Several)` for more than one, `Ok(None)` for none.
pub(crate) fn proof_header(headers: &http::HeaderMap) -> Result<Option<&str>, ProofError> {
    let mut values = headers.get_all("dpop").iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ProofError::Several);
    }
    first.to_str().map(Some).map_err(|_| ProofError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The guide (docs/src/http.md): "an asymmetric `alg` of the configured set", "within 60 s … (`Dpop::window`)",
    /// at most 600 s: a configuration outside those is refused when the layer is built.
    #[test]
    fn symmetric_algorithms_and_odd_windows_are_refused() {
        assert_eq!(Dpop::allowed().error(), None);
        assert_eq!(
            Dpop::allowed().algorithm_values(),
            ["ES256", "ES384", "EdDSA", "PS256", "RS256"]
        );
        for refused in [
            Dpop::allowed().algorithms([Algorithm::ES256, Algorithm::HS256]),
            Dpop::allowed().algorithms([]),
        ] {
            assert_eq!(refused.error(), Some(DpopConfigError::Algorithm));
        }
        for window in [Duration::ZERO, MAX_DPOP_WINDOW + Duration::from_secs(1)] {
            assert_eq!(
                Dpop::required().window(window).error(),
                Some(DpopConfigError::Window),
                "{window:?}"
            );
        }
        assert_eq!(Dpop::required().window(MAX_DPOP_WINDOW).error(), None);
        let security = crate::Security::default();
        let layer = crate::http::AuthLayer::builder("https://mcp.example.com/mcp", &security)
            .allow_anonymous(true)
            .dpop(Dpop::allowed().algorithms([Algorithm::HS512]))
            .build();
        assert!(matches!(
            layer,
            Err(crate::http::AuthLayerError::Dpop(
                DpopConfigError::Algorithm
            ))
        ));
        assert_eq!("required".parse(), Ok(DpopMode::Required));
        assert_eq!("Required".parse::<DpopMode>(), Err(UnknownDpopMode));
    }
}
