//! A JWK Set's signing keys (RFC 7517), each with the algorithm it verifies: what a
//! [`JwtVerifier`](super::JwtVerifier) built from a set, a file or a JWKS URL trusts.

use std::{collections::HashMap, fmt};

use jsonwebtoken::{Algorithm, DecodingKey, jwk::JwkSet};

use super::jwt::{JwtConfigError, JwtConfigErrorKind, KeyMap};

/// The members of a JWK that hold private key material (RFC 7518 §6.2.2, §6.3.2).
const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "oth"];

/// The signing keys of a JWK Set, by `kid`, each with its algorithm. Keys that are not for
/// verifying signatures (`use` other than `sig`, `key_ops` without `verify`, an encryption
/// `alg`) are left out; a key with private members refuses the whole set.
pub(super) fn parse_jwk_set(json: &str) -> Result<KeyMap, JwtConfigError> {
    let document: serde_json::Value = serde_json::from_str(json).map_err(|e| {
        JwtConfigError::new(JwtConfigErrorKind::JwkSet, format!("not a JWK Set: {e}"))
    })?;
    // jsonwebtoken's `Jwk` drops unknown members, private ones included: look before.
    let published = document["keys"].as_array().into_iter().flatten();
    if let Some(member) = published
        .filter_map(|key| PRIVATE_MEMBERS.iter().find(|m| key.get(**m).is_some()))
        .next()
    {
        return Err(JwtConfigError::new(
            JwtConfigErrorKind::JwkSet,
            format!(
                "a key has the private member `{member}`: a published set holds public keys only"
            ),
        ));
    }
    // Keys of algorithms this library does not verify with are left out before `jsonwebtoken`
    // reads the set, which would refuse all of it for one such key.
    let mut document = document;
    if let Some(published) = document.get_mut("keys").and_then(|k| k.as_array_mut()) {
        published.retain(verifiable);
    }
    let set: JwkSet = serde_json::from_value(document).map_err(|e| {
        JwtConfigError::new(JwtConfigErrorKind::JwkSet, format!("not a JWK Set: {e}"))
    })?;
    let mut keys = HashMap::new();
    for jwk in set.keys.iter().filter(|jwk| for_signatures(jwk)) {
        let kid = jwk.common.key_id.as_deref().ok_or_else(|| {
            JwtConfigError::new(JwtConfigErrorKind::JwkSet, "every JWK needs a `kid`")
        })?;
        let kid = crate::sanitize::clean(kid).into_owned();
        let alg = match jwk.common.key_algorithm {
            Some(a) => {
                <Algorithm as std::str::FromStr>::from_str(&format!("{a:?}")).map_err(|_| {
                    JwtConfigError::new(
                        JwtConfigErrorKind::JwkSet,
                        format!("key {kid}: algorithm {a:?} is not for signatures"),
                    )
                })?
            }
            None => default_algorithm(jwk).ok_or_else(|| {
                JwtConfigError::new(
                    JwtConfigErrorKind::JwkSet,
                    format!("key {kid}: say its `alg`"),
                )
            })?,
        };
        if matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
            return Err(JwtConfigError::new(
                JwtConfigErrorKind::JwkSet,
                format!("key {kid}: symmetric keys do not belong in a published JWK Set"),
            ));
        }
        let refused = |why: &dyn fmt::Display| {
            JwtConfigError::new(JwtConfigErrorKind::JwkSet, format!("key {kid}: {why}"))
        };
        if !params_fit(alg, &jwk.algorithm) {
            return Err(refused(&format_args!(
                "its `kty`, `crv` or coordinates are not those of {alg:?}"
            )));
        }
        let key = DecodingKey::from_jwk(jwk).map_err(|e| refused(&e))?;
        let key = super::key_check::checked(alg, key).map_err(|e| refused(&e))?;
        let kid = jwk.common.key_id.clone().unwrap_or_default();
        keys.insert(kid, (alg, key));
    }
    if keys.is_empty() {
        return Err(JwtConfigError::new(
            JwtConfigErrorKind::JwkSet,
            "the JWK Set has no signing key of RS*, PS*, ES256, ES384 or EdDSA",
        ));
    }
    Ok(keys)
}

/// Whether a published key is of an algorithm this library knows: a signing algorithm ring
/// checks, or one that the checks below refuse or leave out by name (HMAC, RSA encryption).
/// Others (ES512 and P-521, secp256k1, an algorithm yet to come) are left out as encryption
/// keys are: an identity provider may publish them beside its RS256 key, and a token naming
/// one is refused as naming an unknown key. A key of a known algorithm whose members do not
/// fit it is not left out here: the checks below refuse the set for it.
fn verifiable(key: &serde_json::Value) -> bool {
    const KNOWN: [&str; 15] = [
        "RS256",
        "RS384",
        "RS512",
        "PS256",
        "PS384",
        "PS512",
        "ES256",
        "ES384",
        "EdDSA",
        "HS256",
        "HS384",
        "HS512",
        "RSA1_5",
        "RSA-OAEP",
        "RSA-OAEP-256",
    ];
    let text = |name: &str| key.get(name).and_then(serde_json::Value::as_str);
    match (text("alg"), text("kty"), text("crv")) {
        (Some(alg), _, _) => KNOWN.contains(&alg),
        (None, Some("EC"), crv) => matches!(crv, Some("P-256" | "P-384")),
        (None, Some("OKP"), crv) => crv == Some("Ed25519"),
        (None, Some(kty), _) => matches!(kty, "RSA" | "oct"),
        (None, None, _) => true,
    }
}

/// Whether a JWK may verify signatures: `use` absent or `sig`, `key_ops` absent or holding
/// `verify`, and no encryption `alg` (RFC 7517 §4.2, §4.3).
fn for_signatures(jwk: &jsonwebtoken::jwk::Jwk) -> bool {
    use jsonwebtoken::jwk::{KeyAlgorithm, KeyOperations, PublicKeyUse};
    let common = &jwk.common;
    let usable = common
        .public_key_use
        .as_ref()
        .is_none_or(|u| matches!(u, PublicKeyUse::Signature));
    let operations = common
        .key_operations
        .as_ref()
        .is_none_or(|ops| ops.iter().any(|op| matches!(op, KeyOperations::Verify)));
    let encryption = matches!(
        common.key_algorithm,
        Some(KeyAlgorithm::RSA1_5 | KeyAlgorithm::RSA_OAEP | KeyAlgorithm::RSA_OAEP_256)
    );
    usable && operations && !encryption
}

/// Whether a JWK's `kty`, `crv` and coordinate sizes are those of `alg` (RFC 7518 §6.2.1: each
/// coordinate is the full size of the curve's field; a shorter `x` and a longer `y` would
/// still make 65 bytes).
fn params_fit(alg: Algorithm, params: &jsonwebtoken::jwk::AlgorithmParameters) -> bool {
    use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve};
    // Strict base64url without padding: `len * 6 / 8` bytes.
    let bytes = |text: &str| text.len() * 6 / 8;
    match (alg, params) {
        (Algorithm::ES256, AlgorithmParameters::EllipticCurve(ec)) => {
            ec.curve == EllipticCurve::P256 && bytes(&ec.x) == 32 && bytes(&ec.y) == 32
        }
        (Algorithm::ES384, AlgorithmParameters::EllipticCurve(ec)) => {
            ec.curve == EllipticCurve::P384 && bytes(&ec.x) == 48 && bytes(&ec.y) == 48
        }
        (Algorithm::EdDSA, AlgorithmParameters::OctetKeyPair(okp)) => {
            okp.curve == EllipticCurve::Ed25519
        }
        (
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512,
            AlgorithmParameters::RSA(_),
        ) => true,
        _ => false,
    }
}

/// The algorithms of a set's keys, each once.
pub(super) fn algorithms_of(keys: &KeyMap) -> Vec<Algorithm> {
    let mut algorithms: Vec<Algorithm> = keys.values().map(|(a, _)| *a).collect();
    algorithms.sort_by_key(|a| format!("{a:?}"));
    algorithms.dedup();
    algorithms
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
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
            Some(Algorithm::EdDSA)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(bytes: &[u8]) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    #[test]
    fn keys_of_algorithms_not_verified_here_are_left_out_not_the_set() {
        let ed =
            serde_json::json!({"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": b64(&[9; 32])});
        let p521 = serde_json::json!({"kty": "EC", "crv": "P-521", "kid": "p521",
            "x": b64(&[1; 66]), "y": b64(&[2; 66])});
        let es512 = serde_json::json!({"kty": "EC", "crv": "P-521", "alg": "ES512", "kid": "es512",
            "x": b64(&[1; 66]), "y": b64(&[2; 66])});
        let k256 = serde_json::json!({"kty": "EC", "crv": "secp256k1", "alg": "ES256K",
            "kid": "k256", "x": b64(&[1; 32]), "y": b64(&[2; 32])});
        let set = |keys: &[&serde_json::Value]| serde_json::json!({ "keys": keys }).to_string();
        let keys = parse_jwk_set(&set(&[&p521, &ed, &es512, &k256])).unwrap();
        assert_eq!(keys.keys().collect::<Vec<_>>(), ["ed"]);
        assert_eq!(keys["ed"].0, Algorithm::EdDSA);
        // Such keys alone are no set.
        let refused = parse_jwk_set(&set(&[&p521, &es512, &k256])).unwrap_err();
        assert_eq!(refused.kind(), JwtConfigErrorKind::JwkSet);
        // A known algorithm on a curve that is not its own still refuses the set.
        let mut mismatched = p521.clone();
        mismatched["alg"] = "ES256".into();
        let refused = parse_jwk_set(&set(&[&mismatched, &ed])).unwrap_err();
        assert_eq!(refused.kind(), JwtConfigErrorKind::JwkSet);
    }
}
