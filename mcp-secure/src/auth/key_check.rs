//! A JWT verification key checked when a verifier is built, by the rules ring applies when it
//! verifies (and one it does not apply): a key no token could ever pass is refused at
//! configuration rather than by a `bad signature` on every request, and an Ed25519 key of small
//! order, which every forged signature passes, is never taken.

use std::fmt;

use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind};
use ring::{agreement, rand::SystemRandom};

/// Why a public key cannot verify tokens of an algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyRejected {
    /// A key of another kind (an RSA key for ES256, an EC key for EdDSA).
    Family,
    /// An RSA modulus outside 2 048 to 8 192 bits.
    RsaSize,
    /// An even RSA modulus.
    RsaModulus,
    /// An RSA exponent that is even, below 3 or above 2^33 - 1.
    RsaExponent,
    /// An EC key that is not an uncompressed point of the algorithm's curve.
    EcPoint,
    /// An Ed25519 key that is not 32 bytes.
    EdLength,
    /// An Ed25519 key of small order: every message has signatures it accepts that anyone can
    /// make.
    EdSmallOrder,
}

impl fmt::Display for KeyRejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Family => "a key of another kind than the algorithm's",
            Self::RsaSize => "an RSA modulus must have 2048 to 8192 bits",
            Self::RsaModulus => "an RSA modulus must be odd",
            Self::RsaExponent => "an RSA exponent must be odd, from 3 to 2^33 - 1",
            Self::EcPoint => "not an uncompressed point on the algorithm's curve",
            Self::EdLength => "an Ed25519 key has 32 bytes",
            Self::EdSmallOrder => "an Ed25519 key of small order, which forged signatures pass",
        })
    }
}

/// `key`, checked for verifying `alg`; an RSA key's components without leading zero bytes (the
/// value is the same; ring refuses them, and some JWK Sets carry one).
pub(crate) fn checked(alg: Algorithm, key: DecodingKey) -> Result<DecodingKey, KeyRejected> {
    let family = alg.family();
    if key.family() != family {
        return Err(KeyRejected::Family);
    }
    match (family, key.kind()) {
        (AlgorithmFamily::Hmac, _) => Ok(key),
        (AlgorithmFamily::Rsa, DecodingKeyKind::RsaModulusExponent { n, e }) => {
            let (n, e) = rsa(n, e)?;
            Ok(DecodingKey::from_rsa_raw_components(n, e))
        }
        (AlgorithmFamily::Ec, DecodingKeyKind::SecretOrDer(point)) => {
            ec(alg, point)?;
            Ok(key)
        }
        (AlgorithmFamily::Ed, DecodingKeyKind::SecretOrDer(public)) => {
            ed25519(public)?;
            Ok(key)
        }
        // An RSA key as DER is turned into components where it is read (key_pem.rs).
        _ => Err(KeyRejected::Family),
    }
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// ring's RSA verification bounds (`RSA_*_2048_8192_*`), on the bit length itself (ring counts
/// whole bytes, so it also takes a 2 041-bit modulus).
fn rsa<'k>(n: &'k [u8], e: &'k [u8]) -> Result<(&'k [u8], &'k [u8]), KeyRejected> {
    let (n, e) = (strip_zeros(n), strip_zeros(e));
    let bits = match n.first() {
        Some(&top) => n.len() * 8 - top.leading_zeros() as usize,
        None => 0,
    };
    if !(2048..=8192).contains(&bits) {
        return Err(KeyRejected::RsaSize);
    }
    if n.last().is_some_and(|low| low & 1 == 0) {
        return Err(KeyRejected::RsaModulus);
    }
    if e.is_empty() || e.len() > 5 {
        return Err(KeyRejected::RsaExponent);
    }
    let value = e.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b));
    if !(3..=(1 << 33) - 1).contains(&value) || value & 1 == 0 {
        return Err(KeyRejected::RsaExponent);
    }
    Ok((n, e))
}

/// ring parses an ECDH peer's point exactly as it parses an ECDSA public key (uncompressed, on
/// the curve, not the point at infinity), and says which failed; its ECDSA verification does
/// not tell a bad key from a bad signature.
fn ec(alg: Algorithm, point: &[u8]) -> Result<(), KeyRejected> {
    let curve = match alg {
        Algorithm::ES256 => &agreement::ECDH_P256,
        Algorithm::ES384 => &agreement::ECDH_P384,
        _ => return Err(KeyRejected::Family),
    };
    let mine = agreement::EphemeralPrivateKey::generate(curve, &SystemRandom::new())
        .map_err(|_| KeyRejected::EcPoint)?;
    let peer = agreement::UnparsedPublicKey::new(curve, point);
    agreement::agree_ephemeral(mine, &peer, |_| ()).map_err(|_| KeyRejected::EcPoint)
}

/// The encodings of the points of order 1, 2, 4 and 8 (as y, little-endian; `p`, `p + 1` the
/// non-canonical ones ring reads as 0 and 1), compared without the sign bit: the list
/// libsodium's `has_small_order` keeps. With such a key `[s]B - [h]A` does not depend on the
/// message, so a signature made without any private key passes ring's check.
const SMALL_ORDER: [[u8; 32]; 7] = [
    [0; 32],
    {
        let mut y = [0; 32];
        y[0] = 1;
        y
    },
    [
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98,
        0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53,
        0xfc, 0x05,
    ],
    [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67,
        0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac,
        0x03, 0x7a,
    ],
    high(0xec),
    high(0xed),
    high(0xee),
];

/// `low`, then `0xff`s, then `0x7f`: p - 1, p and p + 1 for `0xec`, `0xed`, `0xee`.
const fn high(low: u8) -> [u8; 32] {
    let mut y = [0xff; 32];
    y[0] = low;
    y[31] = 0x7f;
    y
}

fn ed25519(public: &[u8]) -> Result<(), KeyRejected> {
    let Ok(mut y) = <[u8; 32]>::try_from(public) else {
        return Err(KeyRejected::EdLength);
    };
    y[31] &= 0x7f;
    if SMALL_ORDER.contains(&y) {
        return Err(KeyRejected::EdSmallOrder);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_order_keys_are_refused_with_either_sign() {
        for y in SMALL_ORDER {
            let mut signed = y;
            signed[31] |= 0x80;
            for key in [y, signed] {
                assert_eq!(ed25519(&key), Err(KeyRejected::EdSmallOrder));
            }
        }
        assert_eq!(ed25519(&[9; 32]), Ok(()));
        assert_eq!(ed25519(&[9; 31]), Err(KeyRejected::EdLength));
    }

    #[test]
    fn rsa_bounds_are_on_the_bit_length() {
        let n = |bits: usize| {
            let mut n = vec![0xff; bits.div_ceil(8)];
            n[0] = 0xff >> ((8 - bits % 8) % 8);
            n
        };
        assert_eq!(rsa(&n(2047), &[1, 0, 1]), Err(KeyRejected::RsaSize));
        assert!(rsa(&n(2048), &[1, 0, 1]).is_ok());
        assert!(rsa(&n(8192), &[3]).is_ok());
        assert_eq!(rsa(&n(8193), &[3]), Err(KeyRejected::RsaSize));
        let mut even = n(2048);
        *even.last_mut().unwrap() = 0xfe;
        assert_eq!(rsa(&even, &[3]), Err(KeyRejected::RsaModulus));
        for e in [
            &[1][..],
            &[2],
            &[0],
            &[],
            &[2, 0, 0, 0, 1],
            &[1, 0, 0, 0, 0, 1],
        ] {
            assert_eq!(rsa(&n(2048), e), Err(KeyRejected::RsaExponent), "{e:?}");
        }
        // Leading zero bytes change nothing.
        let mut padded = vec![0];
        padded.extend(n(2048));
        assert_eq!(rsa(&padded, &[0, 1, 0, 1]).unwrap().0.len(), 256);
    }
}
