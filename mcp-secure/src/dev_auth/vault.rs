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
    /// The vault whose key is HKDF-SHA256 of `secret`, for the provider's tokens only.
    pub(super) fn new(secret: &SecretString) -> Self {
        Self::for_use(secret, b"oauth-proxy upstream tokens")
    }

    /// The vault whose key is HKDF-SHA256 of `secret` for the use `info` names: a key made
    /// for one use opens nothing sealed for another.
    pub(super) fn for_use(secret: &SecretString, info: &[u8]) -> Self {
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
            .expand(&[info], Len)
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
        self.seal_bytes(owner.as_bytes(), token.as_bytes())
    }

    /// The token `sealed` for `owner`; `None` if it was sealed for another or altered.
    pub(super) fn open(&self, owner: &str, sealed: &[u8]) -> Option<Zeroizing<String>> {
        let plain = self.open_bytes(owner.as_bytes(), sealed)?;
        String::from_utf8(plain.to_vec()).ok().map(Zeroizing::new)
    }

    /// `plain`, encrypted and bound to `context` (which opening must name again).
    pub(super) fn seal_bytes(&self, context: &[u8], plain: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).expect("the operating system's random source");
        let mut sealed = plain.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context),
                &mut sealed,
            )
            .unwrap_or_else(|_| unreachable!("a record is far below AES-GCM's limit"));
        [&nonce[..], &sealed].concat()
    }

    /// What `sealed` holds for `context`; `None` if sealed for another context or key, or
    /// altered.
    pub(super) fn open_bytes(&self, context: &[u8], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let (nonce, ciphertext) = sealed.split_at_checked(NONCE_LEN)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buffer = Zeroizing::new(ciphertext.to_vec());
        let len = self
            .key
            .open_in_place(nonce, Aad::from(context), &mut buffer[..])
            .ok()?
            .len();
        buffer.truncate(len);
        Some(buffer)
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
