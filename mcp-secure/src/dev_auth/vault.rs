//! The proxy's vault: the upstream provider's refresh tokens, encrypted while they are kept
//! (AES-256-GCM, a key derived from the proxy's secret), each bound to the user it belongs to.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use zeroize::Zeroizing;

use crate::secret::SecretString;

/// Seals and opens the provider's tokens.
pub(super) struct Vault {
    key: LessSafeKey,
}

impl Vault {
    /// The vault whose key is HKDF-SHA256 of `secret`, for this use only.
    pub(super) fn new(secret: &SecretString) -> Self {
        struct Len;
        impl ring::hkdf::KeyType for Len {
            fn len(&self) -> usize {
                32
            }
        }
        let prk = ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, b"mcp-secure")
            .extract(secret.expose_secret().as_bytes());
        let mut bytes = Zeroizing::new([0u8; 32]);
        let filled = prk
            .expand(&[b"oauth-proxy upstream tokens"], Len)
            .and_then(|okm| okm.fill(&mut bytes[..]));
        let key = filled
            .and_then(|()| UnboundKey::new(&AES_256_GCM, &bytes[..]))
            .unwrap_or_else(|_| unreachable!("32 bytes are an AES-256 key"));
        Self {
            key: LessSafeKey::new(key),
        }
    }

    /// `token`, encrypted for `owner`: a fresh nonce, then the ciphertext and its tag.
    pub(super) fn seal(&self, owner: &str, token: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).expect("the operating system's random source");
        let mut sealed = token.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(owner.as_bytes()),
                &mut sealed,
            )
            .unwrap_or_else(|_| unreachable!("a token is far below AES-GCM's limit"));
        [&nonce[..], &sealed].concat()
    }

    /// The token `sealed` for `owner`; `None` if it was sealed for another or altered.
    pub(super) fn open(&self, owner: &str, sealed: &[u8]) -> Option<Zeroizing<String>> {
        let (nonce, ciphertext) = sealed.split_at_checked(NONCE_LEN)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buffer = Zeroizing::new(ciphertext.to_vec());
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(owner.as_bytes()), &mut buffer[..])
            .ok()?;
        String::from_utf8(plain.to_vec()).ok().map(Zeroizing::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_opens_for_its_owner_only_and_unaltered() {
        let vault = Vault::new(&SecretString::new(
            "a-proxy-secret-of-32-bytes-or-more".into(),
        ));
        let sealed = vault.seal("johndoe", "upstream-refresh-token");
        assert!(!sealed.windows(7).any(|w| w == b"refresh"), "encrypted");
        assert_eq!(
            vault
                .open("johndoe", &sealed)
                .as_deref()
                .map(String::as_str),
            Some("upstream-refresh-token")
        );
        assert!(
            vault.open("mallory", &sealed).is_none(),
            "bound to its owner"
        );
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert!(vault.open("johndoe", &altered).is_none(), "authenticated");
        let other = Vault::new(&SecretString::new(
            "another-proxy-secret-of-32-bytes!!".into(),
        ));
        assert!(
            other.open("johndoe", &sealed).is_none(),
            "keyed by the secret"
        );
        assert_ne!(
            vault.seal("johndoe", "t"),
            vault.seal("johndoe", "t"),
            "fresh nonces"
        );
    }
}
