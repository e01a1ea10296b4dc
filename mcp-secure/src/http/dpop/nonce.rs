//! Server nonces (RFC 9449 §8, §9): a proof must carry a nonce this server issued lately, so
//! that a proof made in advance (by someone who held the client's key for a while, or a client
//! with a clock set ahead) is useless once its nonce has expired.
//!
//! Stateless, so that replicas need nothing shared but a secret: a nonce is the number of the
//! period it was issued in and an HMAC-SHA256 of that number, under a key derived from the
//! secret. One is accepted in its period and the next, so a client's nonce lives one to two
//! periods; a client whose nonce expired is answered `use_dpop_nonce` with a new one.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use ring::hmac;
use zeroize::Zeroizing;

use crate::secret::SecretString;

/// The period number's bytes and the HMAC's.
const NONCE_BYTES: usize = 8 + 32;

pub(crate) struct Nonces {
    key: hmac::Key,
}

impl Nonces {
    /// Nonces keyed by HKDF-SHA256 of `secret`, for this use only.
    pub(crate) fn new(secret: &SecretString) -> Self {
        struct Len;
        impl ring::hkdf::KeyType for Len {
            fn len(&self) -> usize {
                32
            }
        }
        let prk = ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, b"mcp-secure")
            .extract(secret.expose_secret().as_bytes());
        let mut bytes = Zeroizing::new([0u8; 32]);
        prk.expand(&[b"dpop nonces"], Len)
            .and_then(|okm| okm.fill(&mut bytes[..]))
            .unwrap_or_else(|_| unreachable!("32 bytes are within HKDF-SHA256's output"));
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, &bytes[..]),
        }
    }

    /// The nonce of the period `now` (seconds since the epoch) falls in.
    pub(crate) fn current(&self, now: u64, period: u64) -> String {
        let number = (now / period.max(1)).to_be_bytes();
        let tag = hmac::sign(&self.key, &number);
        URL_SAFE_NO_PAD.encode([&number[..], tag.as_ref()].concat())
    }

    /// Whether `nonce` was issued by this key in the period of `now` or the one before.
    pub(crate) fn accepts(&self, nonce: &str, now: u64, period: u64) -> bool {
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(nonce) else {
            return false;
        };
        let Some((number, tag)) = bytes
            .split_first_chunk::<8>()
            .filter(|_| bytes.len() == NONCE_BYTES)
        else {
            return false;
        };
        let current = now / period.max(1);
        let issued = u64::from_be_bytes(*number);
        (issued == current || issued.checked_add(1) == Some(current))
            && hmac::verify(&self.key, number, tag).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_lives_in_its_period_and_the_next_under_its_key_only() {
        let nonces = Nonces::new(&SecretString::new(
            "a-secret-of-32-bytes-or-more!!!!".into(),
        ));
        let other = Nonces::new(&SecretString::new(
            "another-secret-of-32-bytes-!!!!!".into(),
        ));
        let nonce = nonces.current(6_000, 60);
        assert!(nonces.accepts(&nonce, 6_000, 60));
        assert!(nonces.accepts(&nonce, 6_119, 60), "the next period");
        assert!(!nonces.accepts(&nonce, 6_120, 60), "two periods on");
        assert!(!nonces.accepts(&nonce, 5_999, 60), "before it was issued");
        assert!(!other.accepts(&nonce, 6_000, 60), "another key");
        let mut altered = URL_SAFE_NO_PAD.decode(&nonce).unwrap();
        altered[7] ^= 1;
        assert!(!nonces.accepts(&URL_SAFE_NO_PAD.encode(&altered), 6_000, 60));
        for bad in ["", "x", &nonce[..nonce.len() - 1], &format!("{nonce}AA")] {
            assert!(!nonces.accepts(bad, 6_000, 60), "{bad}");
        }
    }
}
