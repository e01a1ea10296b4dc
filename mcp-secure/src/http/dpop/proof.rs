//! One DPoP proof (RFC 9449 §4.3), checked on its own: its header, key, signature and claims.
//! Whether its `jti` was seen before is the replay cache's question, asked last.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::Algorithm;
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::htu;

/// The longest proof read: an RSA-4096 key in the header and its signature fit several times.
const MAX_PROOF: usize = 8 * 1024;

/// The longest `jti` kept: a random identifier needs far fewer bytes.
const MAX_JTI: usize = 256;

/// The smallest RSA modulus a proof key may have, in bits.
const MIN_RSA_BITS: usize = 2048;

/// JWK members that hold private or symmetric key material (RFC 7518 §6.2.2, §6.3.2, §6.4.1;
/// RFC 8037 §2). A proof's `jwk` is the public key; a header carrying any of these leaked it.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Why a proof was refused; the reason goes to the audit log, the client sees
/// `invalid_dpop_proof`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProofError {
    /// No `DPoP` header came with a DPoP-bound token.
    Missing,
    /// More than one `DPoP` header (RFC 9449 §4.3 allows one).
    Several,
    /// Not a compact JWS, too long, or a header or claim of the wrong type or missing.
    Malformed,
    /// The header's `typ` is not `dpop+jwt`.
    Type,
    /// `alg` is not one of the server's (asymmetric) algorithms.
    Algorithm,
    /// The header lists `crit` extensions, none of which this server understands.
    Critical,
    /// `jwk` is missing, holds private or symmetric key material, does not fit `alg`, or is an
    /// RSA key under 2048 bits.
    Key,
    /// The signature does not verify with `jwk`.
    Signature,
    /// `htm` is not the request's method.
    Method,
    /// `htu` is not the request's URI.
    Uri,
    /// `iat` is outside the server's window.
    Time,
    /// `ath` is missing or is not the hash of the access token presented with the proof.
    TokenHash,
    /// The proof's key is not the key the access token is bound to (`cnf.jkt`).
    KeyMismatch,
    /// The proof's `jti` was used before.
    Replayed,
    /// The server requires a nonce it issued (`Dpop::nonces`) and the proof carries none, or
    /// one that expired or that it did not issue: the client is answered `use_dpop_nonce`
    /// with a new one.
    Nonce,
}

impl std::fmt::Display for ProofError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ProofError::Missing => "no DPoP proof came with a DPoP-bound token",
            ProofError::Several => "more than one DPoP header",
            ProofError::Malformed => "the DPoP proof is not a well-formed JWT",
            ProofError::Type => "the DPoP proof's `typ` is not `dpop+jwt`",
            ProofError::Algorithm => "the DPoP proof's `alg` is not an allowed asymmetric algorithm",
            ProofError::Critical => "the DPoP proof has critical header extensions (`crit`)",
            ProofError::Key => {
                "the DPoP proof's `jwk` is not a public key of its `alg` (private or symmetric material, another curve, or RSA under 2048 bits)"
            }
            ProofError::Signature => "the DPoP proof's signature does not verify with its `jwk`",
            ProofError::Method => "the DPoP proof's `htm` is not the request's method",
            ProofError::Uri => "the DPoP proof's `htu` is not the request's URI",
            ProofError::Time => "the DPoP proof's `iat` is outside the accepted window",
            ProofError::TokenHash => "the DPoP proof's `ath` is not the hash of the access token",
            ProofError::KeyMismatch => "the DPoP proof's key is not the one the token is bound to",
            ProofError::Replayed => "the DPoP proof's `jti` was used before",
            ProofError::Nonce => {
                "the DPoP proof carries no nonce this server issued lately (use_dpop_nonce)"
            }
        })
    }
}

impl std::error::Error for ProofError {}

/// What a request must match: its method, the URIs it may be named by (normalized), the access
/// token it carries (for `ath`), and the clock.
pub(crate) struct Expected<'a> {
    pub(crate) method: &'a str,
    /// [`htu::normalize`]d; the proof's `htu` must equal one of them.
    pub(crate) uris: &'a [String],
    pub(crate) access_token: Option<&'a str>,
    /// Seconds since the epoch.
    pub(crate) now: i64,
    /// How far `iat` may be from `now`, either way, in seconds.
    pub(crate) window: i64,
    pub(crate) algorithms: &'a [Algorithm],
}

/// A proof that passed every check but the replay cache's.
#[derive(Debug)]
pub(crate) struct Proof {
    /// The key's RFC 7638 SHA-256 thumbprint, base64url: what `cnf.jkt` names.
    pub(crate) jkt: String,
    /// What the replay cache remembers: the hash of the key's thumbprint and the `jti`, so that
    /// one client's identifiers never collide with another's.
    pub(crate) replay_key: [u8; 32],
    /// The server nonce the proof carries, if any (checked by the caller when it requires one).
    pub(crate) nonce: Option<String>,
}

#[derive(Deserialize)]
struct Header {
    typ: Option<String>,
    alg: String,
    jwk: Option<Map<String, Value>>,
    crit: Option<Value>,
}

#[derive(Deserialize)]
struct Claims {
    jti: String,
    htm: String,
    htu: String,
    iat: i64,
    ath: Option<String>,
    nonce: Option<String>,
}

/// `proof` checked against `expected`.
///
/// The JWS is taken apart here and its signature checked by ring rather than by
/// `jsonwebtoken`, whose RustCrypto P-256 check costs several times ring's on every call
/// (BENCHMARKS.md has the figures): the compact form, the header and the claims are parsed
/// with serde, the key is built from the `jwk` members this module has checked.
pub(crate) fn check(proof: &str, expected: &Expected<'_>) -> Result<Proof, ProofError> {
    if proof.len() > MAX_PROOF {
        return Err(ProofError::Malformed);
    }
    let mut segments = proof.split('.');
    let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return Err(ProofError::Malformed);
    };
    let header: Header = decode_segment(header_b64)?;
    if !header
        .typ
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("dpop+jwt"))
    {
        return Err(ProofError::Type);
    }
    let alg = header
        .alg
        .parse::<Algorithm>()
        .ok()
        .filter(|a| expected.algorithms.contains(a) && !is_symmetric(*a))
        .ok_or(ProofError::Algorithm)?;
    if header.crit.is_some() {
        return Err(ProofError::Critical);
    }
    let jwk = header.jwk.ok_or(ProofError::Key)?;
    let key = PublicKey::from_jwk(&jwk, alg)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .map_err(|_| ProofError::Malformed)?;
    let signed = &proof.as_bytes()[..header_b64.len() + 1 + claims_b64.len()];
    key.verify(signed, &signature)?;
    let claims: Claims = decode_segment(claims_b64)?;
    if claims.jti.is_empty() || claims.jti.len() > MAX_JTI {
        return Err(ProofError::Malformed);
    }
    if claims.htm != expected.method {
        return Err(ProofError::Method);
    }
    let htu = htu::normalize(&claims.htu).ok_or(ProofError::Uri)?;
    if !expected.uris.contains(&htu) {
        return Err(ProofError::Uri);
    }
    if claims.iat.abs_diff(expected.now) > expected.window.unsigned_abs() {
        return Err(ProofError::Time);
    }
    if let Some(token) = expected.access_token {
        let hash = URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()));
        if claims.ath.as_deref() != Some(hash.as_str()) {
            return Err(ProofError::TokenHash);
        }
    }
    let mut replay = Sha256::new();
    replay.update(key.thumbprint.as_bytes());
    replay.update([0]);
    replay.update(claims.jti.as_bytes());
    Ok(Proof {
        jkt: key.thumbprint,
        replay_key: replay.finalize().into(),
        nonce: claims.nonce,
    })
}

fn decode_segment<T: serde::de::DeserializeOwned>(segment: &str) -> Result<T, ProofError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| ProofError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| ProofError::Malformed)
}

fn is_symmetric(alg: Algorithm) -> bool {
    matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

/// The bit length of a big-endian unsigned integer.
fn modulus_bits(n: &[u8]) -> usize {
    match n.iter().position(|&b| b != 0) {
        Some(first) => (n.len() - first - 1) * 8 + (8 - n[first].leading_zeros() as usize),
        None => 0,
    }
}

/// A proof's public key, checked against its `alg`, and its RFC 7638 thumbprint.
struct PublicKey {
    alg: Algorithm,
    material: Material,
    thumbprint: String,
}

enum Material {
    /// An uncompressed elliptic curve point (`0x04 ‖ x ‖ y`), or an Ed25519 key.
    Bytes(Vec<u8>),
    /// An RSA modulus and exponent, big-endian.
    Rsa { n: Vec<u8>, e: Vec<u8> },
}

impl PublicKey {
    /// The key in `jwk` if it is a public key that fits `alg`: no private or symmetric member,
    /// the curve of `alg` with coordinates of its size, an RSA modulus of 2048 bits or more.
    fn from_jwk(jwk: &Map<String, Value>, alg: Algorithm) -> Result<Self, ProofError> {
        if PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m)) {
            return Err(ProofError::Key);
        }
        let text = |name: &str| jwk.get(name).and_then(Value::as_str).ok_or(ProofError::Key);
        // A member decoded, and its text kept for the thumbprint: base64url without padding,
        // so that it is written into the thumbprint's JSON as it came.
        let bytes = |name: &str| -> Result<(Vec<u8>, &str), ProofError> {
            let value = text(name)?;
            let decoded = URL_SAFE_NO_PAD.decode(value).map_err(|_| ProofError::Key)?;
            Ok((decoded, value))
        };
        let kty = text("kty")?;
        let (material, canonical) = match (kty, alg) {
            ("EC", Algorithm::ES256 | Algorithm::ES384) => {
                let (crv, size) = match alg {
                    Algorithm::ES256 => ("P-256", 32),
                    _ => ("P-384", 48),
                };
                if text("crv")? != crv {
                    return Err(ProofError::Key);
                }
                let ((x, x_text), (y, y_text)) = (bytes("x")?, bytes("y")?);
                if x.len() != size || y.len() != size {
                    return Err(ProofError::Key);
                }
                let point = [&[0x04][..], &x, &y].concat();
                let canonical =
                    format!(r#"{{"crv":"{crv}","kty":"EC","x":"{x_text}","y":"{y_text}"}}"#);
                (Material::Bytes(point), canonical)
            }
            ("OKP", Algorithm::EdDSA) => {
                if text("crv")? != "Ed25519" {
                    return Err(ProofError::Key);
                }
                let (x, x_text) = bytes("x")?;
                if x.len() != 32 {
                    return Err(ProofError::Key);
                }
                let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x_text}"}}"#);
                (Material::Bytes(x), canonical)
            }
            (
                "RSA",
                Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512,
            ) => {
                let ((n, n_text), (e, e_text)) = (bytes("n")?, bytes("e")?);
                if modulus_bits(&n) < MIN_RSA_BITS {
                    return Err(ProofError::Key);
                }
                let canonical = format!(r#"{{"e":"{e_text}","kty":"RSA","n":"{n_text}"}}"#);
                (Material::Rsa { n, e }, canonical)
            }
            _ => return Err(ProofError::Key),
        };
        Ok(Self {
            alg,
            material,
            thumbprint: URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())),
        })
    }

    /// Whether `signature` is this key's over `signed` (JWS: ECDSA as `r ‖ s`, RFC 7518 §3.4).
    fn verify(&self, signed: &[u8], signature: &[u8]) -> Result<(), ProofError> {
        use ring::signature as sig;
        let verified = match &self.material {
            Material::Bytes(key) => {
                let algorithm: &dyn sig::VerificationAlgorithm = match self.alg {
                    Algorithm::ES256 => &sig::ECDSA_P256_SHA256_FIXED,
                    Algorithm::ES384 => &sig::ECDSA_P384_SHA384_FIXED,
                    Algorithm::EdDSA => &sig::ED25519,
                    _ => return Err(ProofError::Key),
                };
                sig::UnparsedPublicKey::new(algorithm, key).verify(signed, signature)
            }
            Material::Rsa { n, e } => {
                let params: &sig::RsaParameters = match self.alg {
                    Algorithm::RS256 => &sig::RSA_PKCS1_2048_8192_SHA256,
                    Algorithm::RS384 => &sig::RSA_PKCS1_2048_8192_SHA384,
                    Algorithm::RS512 => &sig::RSA_PKCS1_2048_8192_SHA512,
                    Algorithm::PS256 => &sig::RSA_PSS_2048_8192_SHA256,
                    Algorithm::PS384 => &sig::RSA_PSS_2048_8192_SHA384,
                    Algorithm::PS512 => &sig::RSA_PSS_2048_8192_SHA512,
                    _ => return Err(ProofError::Key),
                };
                sig::RsaPublicKeyComponents { n, e }.verify(params, signed, signature)
            }
        };
        verified.map_err(|_| ProofError::Signature)
    }
}
