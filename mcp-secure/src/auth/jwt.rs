//! JWT access tokens, verified as the MCP authorization spec asks.

use std::{collections::HashMap, fmt, time::Duration};

use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind, jwk::JwkSet};
use serde::Deserialize;

use super::{Principal, TokenVerifier, VerifyError, VerifyFuture};
use crate::secret::SecretString;

/// Verifies JWT access tokens: signature with a key and algorithm fixed by configuration (never
/// taken from the token, so `alg: none` and HS/RS confusion are refused), then the required
/// claims `exp`, `iss` (the configured issuer) and `aud` (containing this server's canonical
/// resource URL, RFC 8707: a token meant for another service is refused), and `nbf` when
/// present, with a small leeway (default 30 s).
///
/// The principal: `sub` is the subject; scopes come from `scope` (space-separated) or `scp`
/// (an array); the client from `client_id` or `azp`.
///
/// ```
/// use mcp_secure::{auth::JwtVerifier, secret::SecretString};
/// let verifier = JwtVerifier::hmac(
///     jsonwebtoken::Algorithm::HS256,
///     SecretString::new("a-secret-of-at-least-32-bytes-long!".into()),
///     "https://auth.example.com",
///     "https://mcp.example.com/mcp",
/// ).unwrap();
/// # let _ = verifier;
/// ```
pub struct JwtVerifier {
    keys: Keys,
    validation: Validation,
}

enum Keys {
    /// One key, for one algorithm.
    Single(DecodingKey),
    /// Keys by `kid`, each with its algorithm (a JWK Set).
    ById(HashMap<String, (Algorithm, DecodingKey)>),
}

/// Why a verifier could not be configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtConfigError(String);

impl fmt::Display for JwtConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JWT verifier: {}", self.0)
    }
}

impl std::error::Error for JwtConfigError {}

#[derive(Deserialize)]
struct Claims {
    sub: Option<String>,
    scope: Option<String>,
    scp: Option<Vec<String>>,
    client_id: Option<String>,
    azp: Option<String>,
}

fn validation(algorithms: Vec<Algorithm>, issuer: &str, audience: &str) -> Validation {
    let mut v = Validation::new(algorithms[0]);
    v.algorithms = algorithms;
    v.set_issuer(&[issuer]);
    v.set_audience(&[audience]);
    v.set_required_spec_claims(&["exp", "iss", "aud"]);
    v.validate_exp = true;
    v.validate_nbf = true;
    v.leeway = 30;
    v
}

impl JwtVerifier {
    /// HS256/384/512 with a shared secret of at least 32 bytes.
    pub fn hmac(
        alg: Algorithm,
        secret: SecretString,
        issuer: &str,
        audience: &str,
    ) -> Result<Self, JwtConfigError> {
        if !matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
            return Err(JwtConfigError(format!("{alg:?} is not an HMAC algorithm")));
        }
        if secret.expose_secret().len() < 32 {
            return Err(JwtConfigError(
                "an HMAC secret has at least 32 bytes".into(),
            ));
        }
        Ok(Self {
            keys: Keys::Single(DecodingKey::from_secret(secret.expose_secret().as_bytes())),
            validation: validation(vec![alg], issuer, audience),
        })
    }

    /// RS*, PS*, ES256/384 or EdDSA with a public key in PEM.
    pub fn public_key_pem(
        alg: Algorithm,
        pem: &[u8],
        issuer: &str,
        audience: &str,
    ) -> Result<Self, JwtConfigError> {
        let key = match alg {
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => DecodingKey::from_rsa_pem(pem),
            Algorithm::ES256 | Algorithm::ES384 => DecodingKey::from_ec_pem(pem),
            Algorithm::EdDSA => DecodingKey::from_ed_pem(pem),
            other => {
                return Err(JwtConfigError(format!(
                    "{other:?} does not use a public key; use `hmac`"
                )));
            }
        }
        .map_err(|e| JwtConfigError(format!("the PEM is not a {alg:?} public key ({e})")))?;
        Ok(Self {
            keys: Keys::Single(key),
            validation: validation(vec![alg], issuer, audience),
        })
    }

    /// The keys of a JWK Set (JSON text, e.g. a file's contents). Tokens must name their key
    /// with `kid`, and each key's algorithm is the one its JWK declares (`alg`), or, without
    /// one, the family default (RS256, ES256 for P-256, ES384 for P-384, EdDSA).
    pub fn jwk_set(json: &str, issuer: &str, audience: &str) -> Result<Self, JwtConfigError> {
        let set: JwkSet = serde_json::from_str(json)
            .map_err(|e| JwtConfigError(format!("not a JWK Set: {e}")))?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let kid = jwk
                .common
                .key_id
                .clone()
                .ok_or_else(|| JwtConfigError("every JWK needs a `kid`".into()))?;
            let alg = match jwk.common.key_algorithm {
                Some(a) => {
                    <Algorithm as std::str::FromStr>::from_str(&format!("{a:?}")).map_err(|_| {
                        JwtConfigError(format!("key {kid}: algorithm {a:?} is not for signatures"))
                    })?
                }
                None => default_algorithm(jwk)
                    .ok_or_else(|| JwtConfigError(format!("key {kid}: say its `alg`")))?,
            };
            if matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
                return Err(JwtConfigError(format!(
                    "key {kid}: symmetric keys do not belong in a published JWK Set"
                )));
            }
            let key = DecodingKey::from_jwk(jwk)
                .map_err(|e| JwtConfigError(format!("key {kid}: {e}")))?;
            keys.insert(kid, (alg, key));
        }
        if keys.is_empty() {
            return Err(JwtConfigError("the JWK Set has no keys".into()));
        }
        let mut algorithms: Vec<Algorithm> = keys.values().map(|(a, _)| *a).collect();
        algorithms.dedup();
        Ok(Self {
            keys: Keys::ById(keys),
            validation: validation(algorithms, issuer, audience),
        })
    }

    /// Allows this much clock difference for `exp` and `nbf` (default 30 s).
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.validation.leeway = leeway.as_secs();
        self
    }

    fn check(&self, token: &str) -> Result<Principal, VerifyError> {
        if token.len() > 16 * 1024 {
            return Err(VerifyError::new("token longer than 16 KiB"));
        }
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| VerifyError::new(describe(e.kind())))?;
        let data = match &self.keys {
            Keys::Single(key) => jsonwebtoken::decode::<Claims>(token, key, &self.validation),
            Keys::ById(keys) => {
                let kid = header
                    .kid
                    .as_deref()
                    .ok_or_else(|| VerifyError::new("token names no key (`kid`)"))?;
                let (alg, key) = keys
                    .get(kid)
                    .ok_or_else(|| VerifyError::new("token names an unknown key"))?;
                if header.alg != *alg {
                    return Err(VerifyError::new(
                        "token's algorithm does not match its key's",
                    ));
                }
                let mut validation = self.validation.clone();
                validation.algorithms = vec![*alg];
                jsonwebtoken::decode::<Claims>(token, key, &validation)
            }
        }
        .map_err(|e| VerifyError::new(describe(e.kind())))?;
        let claims = data.claims;
        let subject = claims
            .sub
            .filter(|s| !s.is_empty())
            .ok_or_else(|| VerifyError::new("token has no `sub`"))?;
        let scopes: Vec<String> = match (claims.scope, claims.scp) {
            (Some(scope), _) => scope.split_whitespace().map(str::to_owned).collect(),
            (None, Some(scp)) => scp,
            (None, None) => Vec::new(),
        };
        let principal = Principal::new(subject, scopes);
        Ok(match claims.client_id.or(claims.azp) {
            Some(client) => principal.with_client_id(client),
            None => principal,
        })
    }
}

fn default_algorithm(jwk: &jsonwebtoken::jwk::Jwk) -> Option<Algorithm> {
    use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve};
    match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Some(Algorithm::RS256),
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => Some(Algorithm::ES256),
            EllipticCurve::P384 => Some(Algorithm::ES384),
            _ => None,
        },
        AlgorithmParameters::OctetKeyPair(_) => Some(Algorithm::EdDSA),
        _ => None,
    }
}

/// The audit reason for a failed decode; never includes the token.
fn describe(kind: &ErrorKind) -> String {
    match kind {
        ErrorKind::ExpiredSignature => "expired".into(),
        ErrorKind::ImmatureSignature => "not valid yet (nbf)".into(),
        ErrorKind::InvalidAudience => "wrong audience".into(),
        ErrorKind::InvalidIssuer => "wrong issuer".into(),
        ErrorKind::InvalidSignature => "bad signature".into(),
        ErrorKind::InvalidAlgorithm => "algorithm not allowed".into(),
        ErrorKind::MissingRequiredClaim(c) => format!("missing claim `{c}`"),
        ErrorKind::InvalidClaimFormat(c) => format!("malformed claim `{c}`"),
        ErrorKind::InvalidAlgorithmName | ErrorKind::UnsupportedAlgorithm => {
            "unsupported algorithm".into()
        }
        _ => "malformed token".into(),
    }
}

impl TokenVerifier for JwtVerifier {
    fn verify<'a>(&'a self, token: &'a str) -> VerifyFuture<'a> {
        Box::pin(std::future::ready(self.check(token)))
    }
}

impl fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("algorithms", &self.validation.algorithms)
            .field("issuer", &self.validation.iss)
            .field("audience", &self.validation.aud)
            .finish_non_exhaustive()
    }
}
