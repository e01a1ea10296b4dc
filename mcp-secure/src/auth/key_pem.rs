//! JWT keys read from PEM: a public key as a SubjectPublicKeyInfo (`PUBLIC KEY`, what
//! `openssl pkey -pubout` writes), a private key as PKCS #8 (`PRIVATE KEY`) or, for RSA,
//! PKCS #1 (`RSA PRIVATE KEY`).
//!
//! rustls-pki-types reads the PEM. A public key's algorithm identifier must be the one of the
//! token algorithm's family and curve, byte for byte (`jsonwebtoken`'s own reader, left out for
//! its ten crates, took the first bit string of any structure).

use std::fmt;

#[cfg(feature = "http")]
use jsonwebtoken::EncodingKey;
use jsonwebtoken::{Algorithm, DecodingKey};
#[cfg(feature = "http")]
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::{SubjectPublicKeyInfoDer, pem::PemObject};

use super::key_check::{self, KeyRejected};

/// Why a PEM is not the key an algorithm needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyPemError {
    /// No `PUBLIC KEY` (or private key) section, or one that is not base64.
    NoSection,
    /// More than one PEM section, of any kind.
    Several,
    /// A public key of another algorithm, or not a SubjectPublicKeyInfo.
    OtherAlgorithm,
    /// An EC key in SEC 1 (`EC PRIVATE KEY`), which ring does not read.
    #[cfg(feature = "http")]
    Sec1,
    /// An algorithm that takes no key pair (HMAC).
    Symmetric,
    /// A key of the algorithm that ring would never verify with, or that forged signatures
    /// pass.
    Rejected(KeyRejected),
}

impl fmt::Display for KeyPemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoSection => "no key section of the kind asked for",
            Self::Several => "more than one PEM section; give the one public key alone",
            Self::OtherAlgorithm => "a key of another algorithm or curve",
            #[cfg(feature = "http")]
            Self::Sec1 => {
                "an `EC PRIVATE KEY` (SEC 1); convert it to PKCS #8 with `openssl pkcs8 -topk8 -nocrypt`"
            }
            Self::Symmetric => "the algorithm is symmetric; it takes a secret, not a key pair",
            Self::Rejected(why) => return write!(f, "a key ring refuses: {why}"),
        })
    }
}

// The DER of each AlgorithmIdentifier a JWT public key may carry (RFC 3279, 5480, 8410).
const RSA: &[u8] = &[
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
];
// Some encoders leave out rsaEncryption's NULL parameters.
const RSA_NO_NULL: &[u8] = &[
    0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
];
const P256: &[u8] = &[
    0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
    0xce, 0x3d, 0x03, 0x01, 0x07,
];
const P384: &[u8] = &[
    0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x05, 0x2b, 0x81, 0x04,
    0x00, 0x22,
];
const ED25519: &[u8] = &[0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70];

/// The public key in `pem` (one SubjectPublicKeyInfo), for verifying `alg`.
pub(crate) fn decoding_key(alg: Algorithm, pem: &[u8]) -> Result<DecodingKey, KeyPemError> {
    // A file of several sections (two keys, a certificate and a key) names no one key, and the
    // reader would take the first of the kind, which need not be the one meant.
    if pem.windows(11).filter(|w| w == b"-----BEGIN ").count() > 1 {
        return Err(KeyPemError::Several);
    }
    let spki = SubjectPublicKeyInfoDer::from_pem_slice(pem).map_err(|_| KeyPemError::NoSection)?;
    let (identifier, key) = split_spki(spki.as_ref()).ok_or(KeyPemError::OtherAlgorithm)?;
    let expected: &[&[u8]] = match alg {
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512 => &[RSA, RSA_NO_NULL],
        Algorithm::ES256 => &[P256],
        Algorithm::ES384 => &[P384],
        Algorithm::EdDSA => &[ED25519],
        _ => return Err(KeyPemError::Symmetric),
    };
    if !expected.contains(&identifier) {
        return Err(KeyPemError::OtherAlgorithm);
    }
    // The bit string holds a PKCS #1 RSAPublicKey, an uncompressed point, or 32 bytes.
    let key = match alg {
        Algorithm::ES256 | Algorithm::ES384 => DecodingKey::from_ec_der(key),
        Algorithm::EdDSA => DecodingKey::from_ed_der(key),
        _ => {
            let (n, e) = rsa_public_key(key).ok_or(KeyPemError::OtherAlgorithm)?;
            DecodingKey::from_rsa_raw_components(n, e)
        }
    };
    key_check::checked(alg, key).map_err(KeyPemError::Rejected)
}

/// A PKCS #1 RSAPublicKey's modulus and exponent, or `None` when `der` is not exactly one, in
/// DER (positive integers in their shortest form, as ring reads them).
fn rsa_public_key(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (body, rest) = element(der, 0x30)?;
    let (n, after_n) = element(body, 0x02)?;
    let (e, after_e) = element(after_n, 0x02)?;
    let positive = |int: &[u8]| !matches!(int, [] | [0x80..=0xff, ..] | [0] | [0, 0..=0x7f, ..]);
    (rest.is_empty() && after_e.is_empty() && positive(n) && positive(e)).then_some((n, e))
}

/// The private key in `pem`, for signing with `alg` (`testing::DpopKey`, built with `http`). ring checks it when it
/// is first used.
#[cfg(feature = "http")]
pub(crate) fn encoding_key(alg: Algorithm, pem: &[u8]) -> Result<EncodingKey, KeyPemError> {
    let der = match PrivateKeyDer::from_pem_slice(pem).map_err(|_| KeyPemError::NoSection)? {
        PrivateKeyDer::Pkcs8(der) => der.secret_pkcs8_der().to_vec(),
        PrivateKeyDer::Pkcs1(der) if is_rsa(alg) => der.secret_pkcs1_der().to_vec(),
        PrivateKeyDer::Sec1(_) => return Err(KeyPemError::Sec1),
        _ => return Err(KeyPemError::OtherAlgorithm),
    };
    let der = zeroize::Zeroizing::new(der);
    Ok(match alg {
        Algorithm::ES256 | Algorithm::ES384 => EncodingKey::from_ec_der(&der),
        Algorithm::EdDSA => EncodingKey::from_ed_der(&der),
        _ if is_rsa(alg) => EncodingKey::from_rsa_der(&der),
        _ => return Err(KeyPemError::Symmetric),
    })
}

#[cfg(feature = "http")]
fn is_rsa(alg: Algorithm) -> bool {
    matches!(
        alg,
        Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512
    )
}

/// A SubjectPublicKeyInfo's AlgorithmIdentifier (its whole DER) and its key (the bit string's
/// bytes), or `None` when `der` is not exactly that.
fn split_spki(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (body, rest) = element(der, 0x30)?;
    if !rest.is_empty() {
        return None;
    }
    let (_, after_identifier) = element(body, 0x30)?;
    let identifier = &body[..body.len() - after_identifier.len()];
    let (bits, rest) = element(after_identifier, 0x03)?;
    match (bits.split_first(), rest.is_empty()) {
        // No unused bits: a key is whole bytes.
        (Some((&0, key)), true) if !key.is_empty() => Some((identifier, key)),
        _ => None,
    }
}

/// One DER element with `tag`: its contents and what follows it. Lengths in the definite,
/// shortest form, up to 65 535 bytes (an 8 192-bit RSA key's is about 1 100).
fn element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&found, input) = input.split_first()?;
    if found != tag {
        return None;
    }
    let (&first, input) = input.split_first()?;
    let (len, input) = match first {
        0..=0x7f => (usize::from(first), input),
        0x81 => {
            let (&len, input) = input.split_first()?;
            (len >= 0x80).then_some((usize::from(len), input))?
        }
        0x82 => {
            let [high, low, input @ ..] = input else {
                return None;
            };
            let len = usize::from(u16::from_be_bytes([*high, *low]));
            (len >= 0x100).then_some((len, input))?
        }
        _ => return None,
    };
    (input.len() >= len).then(|| input.split_at(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn public_keys_are_read_for_their_own_algorithm_only() {
        let cases = [
            ("rsa_public.pem", Algorithm::RS256),
            ("ec_public.pem", Algorithm::ES256),
            ("ed_public.pem", Algorithm::EdDSA),
        ];
        for (file, alg) in cases {
            for (_, other) in cases {
                let read = decoding_key(other, &key(file));
                assert_eq!(read.is_ok(), alg == other, "{file} for {other:?}");
            }
            assert_eq!(
                decoding_key(Algorithm::HS256, &key(file)).unwrap_err(),
                KeyPemError::Symmetric
            );
        }
        // A P-256 key is not a P-384 key.
        assert_eq!(
            decoding_key(Algorithm::ES384, &key("ec_public.pem")).unwrap_err(),
            KeyPemError::OtherAlgorithm
        );
        // A private key where a public one is asked for.
        assert_eq!(
            decoding_key(Algorithm::ES256, &key("ec_private.pem")).unwrap_err(),
            KeyPemError::NoSection
        );
    }

    #[test]
    fn a_public_key_must_be_one_whole_spki() {
        let spki = SubjectPublicKeyInfoDer::from_pem_slice(&key("ec_public.pem")).unwrap();
        let der = spki.as_ref();
        assert!(split_spki(der).is_some());
        let mut trailing = der.to_vec();
        trailing.push(0);
        assert_eq!(split_spki(&trailing), None);
        for cut in 0..der.len() {
            assert_eq!(split_spki(&der[..cut]), None, "cut at {cut}");
        }
        // A length in a longer form than it needs.
        assert_eq!(element(&[0x04, 0x81, 0x01, 0xaa], 0x04), None);
        assert_eq!(element(&[0x04, 0x82, 0x00, 0x01, 0xaa], 0x04), None);
        assert_eq!(
            element(&[0x04, 0x01, 0xaa], 0x04),
            Some((&[0xaa][..], &[][..]))
        );
    }

    #[test]
    #[cfg(feature = "http")]
    fn private_keys_are_pkcs8_or_pkcs1_for_rsa() {
        assert!(encoding_key(Algorithm::ES256, &key("ec_private.pem")).is_ok());
        assert!(encoding_key(Algorithm::EdDSA, &key("ed_private.pem")).is_ok());
        assert!(encoding_key(Algorithm::RS256, &key("rsa_private.pem")).is_ok());
        assert_eq!(
            encoding_key(Algorithm::HS256, &key("ec_private.pem")).unwrap_err(),
            KeyPemError::Symmetric
        );
        assert_eq!(
            encoding_key(Algorithm::ES256, &key("ec_public.pem")).unwrap_err(),
            KeyPemError::NoSection
        );
    }
}
