//! `jsonwebtoken`'s signatures computed by ring.
//!
//! `jsonwebtoken` leaves its cryptography to a provider. Its own ones are RustCrypto (about 45
//! crates, and a P-256 check four times ring's cost under callgrind) and aws-lc-rs (a second C
//! library to build). ring is already here (rustls, DPoP proofs), and its API is the one
//! `jsonwebtoken`'s aws-lc-rs provider is written against, so this provider follows that one.
//!
//! `jsonwebtoken` keeps its provider process-wide: [`install`] registers this one before any
//! key of this library is used. A provider fixed before (by the application) is kept, and
//! verifiers refuse to be built on it.

use std::sync::OnceLock;

use jsonwebtoken::{
    Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind, EncodingKey,
    crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils},
    errors::{ErrorKind, Result},
    jwk::{EllipticCurve, ThumbprintHash},
    signature::{self, Signer, Verifier},
};
use ring::{
    digest, hmac,
    rand::SystemRandom,
    signature::{self as ring_sig, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair},
};

static RING: CryptoProvider = CryptoProvider {
    signer_factory: new_signer,
    verifier_factory: new_verifier,
    key_utils: KeyUtils {
        rsa_pub_components_from_private_key: rsa_components_from_private_key,
        rsa_pub_components_from_public_key: rsa_components_from_public_key,
        ec_pub_components_from_private_key: ec_components_from_private_key,
        ed_pub_components_from_private_key: ed_component_from_private_key,
        compute_digest,
    },
};

/// Registers ring as `jsonwebtoken`'s cryptography, unless a provider is registered already.
///
/// This library's JWT types call it when they are made. An application that also calls
/// `jsonwebtoken` itself (to mint tokens in its tests, say), without one of `jsonwebtoken`'s own
/// crypto features, calls it first: `jsonwebtoken` fixes its provider at its first signature.
///
/// ```
/// mcp_secure::auth::install_jwt_crypto();
/// let key = jsonwebtoken::EncodingKey::from_secret(b"a secret of 32 bytes or more....");
/// let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
/// let token = jsonwebtoken::encode(&header, &serde_json::json!({"sub": "ada"}), &key).unwrap();
/// assert_eq!(token.split('.').count(), 3);
/// ```
///
/// `jsonwebtoken` keeps the first provider for the life of the process, and fixes one at its
/// first signature or verification even when it has none to offer (a placeholder that panics).
/// A provider other than this one stays the application's, but a
/// [`JwtVerifier`](super::JwtVerifier) refuses to be built on it
/// ([`JwtConfigErrorKind::CryptoProvider`](super::JwtConfigErrorKind::CryptoProvider)): its
/// promises (RSA of 2 048 to 8 192 bits, P-256, P-384, Ed25519) are ring's.
pub fn install() {
    installed();
}

/// Whether ring is `jsonwebtoken`'s provider in this process.
///
/// `jsonwebtoken` does not say which provider it holds (a refused `install_default` hands back
/// the one offered), and never changes it once fixed: so the answer of the first attempt here
/// is the answer for the life of the process. This static mirrors `jsonwebtoken`'s own; it is
/// no configuration.
pub(crate) fn installed() -> bool {
    static RING_FIXED: OnceLock<bool> = OnceLock::new();
    *RING_FIXED.get_or_init(|| RING.install_default().is_ok())
}

/// A key of the wrong family for the algorithm: the confusion this refuses is, for example, an
/// RSA public key used as an HMAC secret.
fn family(found: AlgorithmFamily, wanted: AlgorithmFamily) -> Result<()> {
    if found == wanted {
        Ok(())
    } else {
        Err(ErrorKind::InvalidKeyFormat.into())
    }
}

/// What a signer holds: a key parsed once, for the algorithm it was made for.
enum SigningKey {
    Hmac(hmac::Key),
    Rsa(RsaKeyPair, &'static dyn ring_sig::RsaEncoding),
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

struct RingSigner {
    algorithm: Algorithm,
    key: SigningKey,
}

impl Signer<Vec<u8>> for RingSigner {
    fn try_sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
        match &self.key {
            SigningKey::Hmac(key) => Ok(hmac::sign(key, message).as_ref().to_vec()),
            SigningKey::Rsa(pair, padding) => {
                let mut signature = vec![0; pair.public().modulus_len()];
                pair.sign(*padding, &SystemRandom::new(), message, &mut signature)
                    .map_err(|_| signature::Error::new())?;
                Ok(signature)
            }
            SigningKey::Ecdsa(pair) => pair
                .sign(&SystemRandom::new(), message)
                .map(|signature| signature.as_ref().to_vec())
                .map_err(|_| signature::Error::new()),
            SigningKey::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }
}

impl JwtSigner for RingSigner {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

fn new_signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    let hmac = |alg| -> Result<SigningKey> {
        family(key.family(), AlgorithmFamily::Hmac)?;
        Ok(SigningKey::Hmac(hmac::Key::new(alg, key.as_bytes())))
    };
    let rsa = |padding| -> Result<SigningKey> {
        family(key.family(), AlgorithmFamily::Rsa)?;
        let pair = RsaKeyPair::from_der(key.as_bytes())
            .or_else(|_| RsaKeyPair::from_pkcs8(key.as_bytes()))
            .map_err(|rejected| ErrorKind::InvalidRsaKey(rejected.to_string()))?;
        Ok(SigningKey::Rsa(pair, padding))
    };
    let ecdsa = |alg| -> Result<SigningKey> {
        family(key.family(), AlgorithmFamily::Ec)?;
        EcdsaKeyPair::from_pkcs8(alg, key.as_bytes(), &SystemRandom::new())
            .map(SigningKey::Ecdsa)
            .map_err(|_| ErrorKind::InvalidEcdsaKey.into())
    };
    let key = match algorithm {
        Algorithm::HS256 => hmac(hmac::HMAC_SHA256)?,
        Algorithm::HS384 => hmac(hmac::HMAC_SHA384)?,
        Algorithm::HS512 => hmac(hmac::HMAC_SHA512)?,
        Algorithm::RS256 => rsa(&ring_sig::RSA_PKCS1_SHA256)?,
        Algorithm::RS384 => rsa(&ring_sig::RSA_PKCS1_SHA384)?,
        Algorithm::RS512 => rsa(&ring_sig::RSA_PKCS1_SHA512)?,
        Algorithm::PS256 => rsa(&ring_sig::RSA_PSS_SHA256)?,
        Algorithm::PS384 => rsa(&ring_sig::RSA_PSS_SHA384)?,
        Algorithm::PS512 => rsa(&ring_sig::RSA_PSS_SHA512)?,
        Algorithm::ES256 => ecdsa(&ring_sig::ECDSA_P256_SHA256_FIXED_SIGNING)?,
        Algorithm::ES384 => ecdsa(&ring_sig::ECDSA_P384_SHA384_FIXED_SIGNING)?,
        Algorithm::EdDSA => {
            family(key.family(), AlgorithmFamily::Ed)?;
            SigningKey::Ed25519(
                Ed25519KeyPair::from_pkcs8_maybe_unchecked(key.as_bytes())
                    .map_err(|_| ErrorKind::InvalidEddsaKey)?,
            )
        }
        // An algorithm a later `jsonwebtoken` adds is refused until ring is asked for it here.
        _ => return Err(ErrorKind::InvalidAlgorithm.into()),
    };
    Ok(Box::new(RingSigner {
        algorithm: *algorithm,
        key,
    }))
}

/// What a verifier checks with: ring's algorithm (its key sizes and curve included) and the key.
enum Check {
    Hmac(hmac::Key),
    Public(&'static dyn ring_sig::VerificationAlgorithm, DecodingKey),
    RsaComponents(&'static ring_sig::RsaParameters, DecodingKey),
}

struct RingVerifier {
    algorithm: Algorithm,
    check: Check,
}

impl Verifier<Vec<u8>> for RingVerifier {
    fn verify(
        &self,
        message: &[u8],
        signature: &Vec<u8>,
    ) -> std::result::Result<(), signature::Error> {
        let checked = match &self.check {
            Check::Hmac(key) => hmac::verify(key, message, signature),
            Check::Public(alg, key) => match key.kind() {
                DecodingKeyKind::SecretOrDer(bytes) => {
                    ring_sig::UnparsedPublicKey::new(*alg, bytes).verify(message, signature)
                }
                DecodingKeyKind::RsaModulusExponent { .. } => return Err(signature::Error::new()),
            },
            Check::RsaComponents(params, key) => match key.kind() {
                DecodingKeyKind::RsaModulusExponent { n, e } => {
                    ring_sig::RsaPublicKeyComponents { n, e }.verify(params, message, signature)
                }
                DecodingKeyKind::SecretOrDer(der) => {
                    ring_sig::UnparsedPublicKey::new(*params, der).verify(message, signature)
                }
            },
        };
        checked.map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for RingVerifier {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

fn new_verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    let hmac = |alg| -> Result<Check> {
        family(key.family(), AlgorithmFamily::Hmac)?;
        Ok(Check::Hmac(hmac::Key::new(alg, key.try_get_as_bytes()?)))
    };
    let rsa = |params| -> Result<Check> {
        family(key.family(), AlgorithmFamily::Rsa)?;
        Ok(Check::RsaComponents(params, key.clone()))
    };
    let public = |alg, wanted| -> Result<Check> {
        family(key.family(), wanted)?;
        Ok(Check::Public(alg, key.clone()))
    };
    let check = match algorithm {
        Algorithm::HS256 => hmac(hmac::HMAC_SHA256)?,
        Algorithm::HS384 => hmac(hmac::HMAC_SHA384)?,
        Algorithm::HS512 => hmac(hmac::HMAC_SHA512)?,
        Algorithm::RS256 => rsa(&ring_sig::RSA_PKCS1_2048_8192_SHA256)?,
        Algorithm::RS384 => rsa(&ring_sig::RSA_PKCS1_2048_8192_SHA384)?,
        Algorithm::RS512 => rsa(&ring_sig::RSA_PKCS1_2048_8192_SHA512)?,
        Algorithm::PS256 => rsa(&ring_sig::RSA_PSS_2048_8192_SHA256)?,
        Algorithm::PS384 => rsa(&ring_sig::RSA_PSS_2048_8192_SHA384)?,
        Algorithm::PS512 => rsa(&ring_sig::RSA_PSS_2048_8192_SHA512)?,
        Algorithm::ES256 => public(&ring_sig::ECDSA_P256_SHA256_FIXED, AlgorithmFamily::Ec)?,
        Algorithm::ES384 => public(&ring_sig::ECDSA_P384_SHA384_FIXED, AlgorithmFamily::Ec)?,
        Algorithm::EdDSA => public(&ring_sig::ED25519, AlgorithmFamily::Ed)?,
        _ => return Err(ErrorKind::InvalidAlgorithm.into()),
    };
    Ok(Box::new(RingVerifier {
        algorithm: *algorithm,
        check,
    }))
}

fn rsa_components_from_private_key(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>)> {
    let pair = RsaKeyPair::from_der(der)
        .or_else(|_| RsaKeyPair::from_pkcs8(der))
        .map_err(|rejected| ErrorKind::InvalidRsaKey(rejected.to_string()))?;
    let components = ring_sig::RsaPublicKeyComponents::<Vec<u8>>::from(pair.public());
    Ok((components.n, components.e))
}

/// ring does not take a DER public key apart; nothing in this library asks it to (a JWK made from
/// a decoding key).
fn rsa_components_from_public_key(_der: &[u8]) -> Result<(Vec<u8>, Vec<u8>)> {
    Err(ErrorKind::InvalidRsaKey("a JWK from an RSA decoding key is not supported".into()).into())
}

fn ec_components_from_private_key(
    pkcs8: &[u8],
    algorithm: Algorithm,
) -> Result<(EllipticCurve, Vec<u8>, Vec<u8>)> {
    let (signing, curve, coordinate) = match algorithm {
        Algorithm::ES256 => (
            &ring_sig::ECDSA_P256_SHA256_FIXED_SIGNING,
            EllipticCurve::P256,
            32,
        ),
        Algorithm::ES384 => (
            &ring_sig::ECDSA_P384_SHA384_FIXED_SIGNING,
            EllipticCurve::P384,
            48,
        ),
        _ => return Err(ErrorKind::InvalidEcdsaKey.into()),
    };
    let pair = EcdsaKeyPair::from_pkcs8(signing, pkcs8, &SystemRandom::new())
        .map_err(|_| ErrorKind::InvalidEcdsaKey)?;
    // An uncompressed point: 0x04, then x and y.
    match pair.public_key().as_ref().split_first() {
        Some((4, point)) if point.len() == 2 * coordinate => {
            let (x, y) = point.split_at(coordinate);
            Ok((curve, x.to_vec(), y.to_vec()))
        }
        _ => Err(ErrorKind::InvalidEcdsaKey.into()),
    }
}

fn ed_component_from_private_key(pkcs8: &[u8], curve: &EllipticCurve) -> Result<Vec<u8>> {
    match curve {
        EllipticCurve::Ed25519 => Ok(Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8)
            .map_err(|_| ErrorKind::InvalidEddsaKey)?
            .public_key()
            .as_ref()
            .to_vec()),
        _ => Err(ErrorKind::InvalidAlgorithm.into()),
    }
}

fn compute_digest(data: &[u8], hash: ThumbprintHash) -> Result<Vec<u8>> {
    let algorithm = match hash {
        ThumbprintHash::SHA256 => &digest::SHA256,
        ThumbprintHash::SHA384 => &digest::SHA384,
        ThumbprintHash::SHA512 => &digest::SHA512,
        _ => return Err(ErrorKind::InvalidAlgorithm.into()),
    };
    Ok(digest::digest(algorithm, data).as_ref().to_vec())
}
