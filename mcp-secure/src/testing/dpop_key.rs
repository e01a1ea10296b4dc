//! A DPoP key for tests: proofs (RFC 9449) for requests, and the thumbprint a token is bound to.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, jwk::Jwk};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// A client's DPoP key, from a PEM private key: it makes the proofs a client sends, and names
/// the thumbprint ([`thumbprint`](Self::thumbprint)) a token bound to it carries in
/// `cnf.jkt` ([`TokenMinter::bound_to`](super::TokenMinter::bound_to)).
///
/// ```
/// use mcp_secure::{auth::JwtAlgorithm, testing::DpopKey};
/// let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIOvQW1PP4KG1pxZArj4q/K8h56kawy2b+P1bYogrXqUH\n-----END PRIVATE KEY-----\n";
/// let key = DpopKey::from_pem(JwtAlgorithm::EdDSA, pem.as_bytes()).unwrap();
/// let proof = key.proof("POST", "https://mcp.example.com/mcp", Some("the-access-token"));
/// assert_eq!(proof.split('.').count(), 3);
/// assert_eq!(key.thumbprint().len(), 43);
/// ```
pub struct DpopKey {
    key: EncodingKey,
    alg: Algorithm,
    jwk: Value,
    thumbprint: String,
}

/// Why a PEM could not be a [`DpopKey`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpopKeyError(String);

impl std::fmt::Display for DpopKeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DPoP key: {}", self.0)
    }
}

impl std::error::Error for DpopKeyError {}

impl DpopKey {
    /// The PKCS #8 private key in `pem`, signing with `alg` (ES256, ES384, EdDSA, RS256, PS256…).
    pub fn from_pem(alg: Algorithm, pem: &[u8]) -> Result<Self, DpopKeyError> {
        crate::auth::jwt_crypto::install();
        let bad = |e: jsonwebtoken::errors::Error| DpopKeyError(e.to_string());
        let key = crate::auth::private_key_pem(alg, pem).map_err(|e| match e {
            crate::auth::KeyPemError::Symmetric => DpopKeyError("a DPoP key is asymmetric".into()),
            e => DpopKeyError(e.to_string()),
        })?;
        let mut jwk = Jwk::from_encoding_key(&key, alg).map_err(bad)?;
        jwk.common.key_algorithm = None;
        let thumbprint = jwk
            .thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
            .map_err(bad)?;
        let jwk = serde_json::to_value(&jwk).map_err(|e| DpopKeyError(e.to_string()))?;
        Ok(Self {
            key,
            alg,
            jwk,
            thumbprint,
        })
    }

    /// The public key's RFC 7638 SHA-256 thumbprint, base64url: what `cnf.jkt` names.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// The public key, as a JWK.
    pub fn jwk(&self) -> &Value {
        &self.jwk
    }

    /// A proof for a `method` request to `url`, now, with a fresh `jti`, and `ath` for
    /// `access_token` when it carries one.
    pub fn proof(&self, method: &str, url: &str, access_token: Option<&str>) -> String {
        let mut claims = Map::new();
        claims.insert("jti".into(), json!(fresh_jti()));
        claims.insert("htm".into(), json!(method));
        claims.insert("htu".into(), json!(url));
        claims.insert("iat".into(), json!(now()));
        if let Some(token) = access_token {
            claims.insert("ath".into(), json!(token_hash(token)));
        }
        self.sign(&self.header(), &claims)
    }

    /// The header of this key's proofs: `typ`, `alg` and `jwk`.
    pub fn header(&self) -> Map<String, Value> {
        let mut header = Map::new();
        header.insert("typ".into(), json!("dpop+jwt"));
        header.insert("alg".into(), json!(format!("{:?}", self.alg)));
        header.insert("jwk".into(), self.jwk.clone());
        header
    }

    /// `header` and `claims` signed with this key, as they are: for proofs a server must refuse.
    pub fn sign(&self, header: &Map<String, Value>, claims: &Map<String, Value>) -> String {
        let b64 = |v: &Map<String, Value>| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(serde_json::to_vec(v).unwrap_or_default())
        };
        let message = format!("{}.{}", b64(header), b64(claims));
        let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &self.key, self.alg)
            .unwrap_or_else(|e| unreachable!("a key signs with its own algorithm: {e}"));
        format!("{message}.{signature}")
    }
}

impl std::fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpopKey")
            .field("alg", &self.alg)
            .field("thumbprint", &self.thumbprint)
            .finish_non_exhaustive()
    }
}

/// The `ath` of `access_token`: its SHA-256, base64url.
pub fn token_hash(access_token: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

fn fresh_jti() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).unwrap_or_else(|e| unreachable!("system randomness: {e}"));
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
