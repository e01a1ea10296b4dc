//! API keys: stored as SHA-256 hashes, compared in constant time, each mapped to a principal.

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::auth::{IssuerError, Principal, check_scope, check_verifier_issuer};

/// A set of API keys, each mapped to the principal it authenticates.
///
/// Only the SHA-256 hash of each key is kept. Verification hashes the presented key and
/// compares it with every stored hash in constant time, so neither the position of a match nor
/// the length of a common prefix shows in the timing.
///
/// ```
/// use mcp_secure::auth::{ApiKeys, Principal};
/// let keys = ApiKeys::new().with_key("k-123", Principal::new("alice", ["notes:read"]));
/// assert_eq!(keys.verify("k-123").unwrap().subject(), "alice");
/// assert_eq!(keys.verify("k-123").unwrap().issuer(), "api-key", "stamped with the set's issuer");
/// assert!(keys.verify("k-124").is_none());
///
/// // The text form, for an environment variable or a file: one key per line (or `;`),
/// // `<key or sha256:HEX> <subject> [scope ...]`.
/// let keys = ApiKeys::parse("key-one-0123456789 alice notes:read notes:write; key-two-0123456789 bob").unwrap();
/// assert!(keys.verify("key-two-0123456789").unwrap().scopes().is_empty());
/// ```
pub struct ApiKeys {
    issuer: String,
    entries: Vec<Entry>,
}

/// The issuer of the principals an [`ApiKeys`] set vouches for, unless renamed with
/// [`ApiKeys::with_issuer`].
pub const API_KEY_ISSUER: &str = "api-key";

impl Default for ApiKeys {
    fn default() -> Self {
        Self {
            issuer: API_KEY_ISSUER.to_owned(),
            entries: Vec::new(),
        }
    }
}

struct Entry {
    hash: [u8; 32],
    principal: Principal,
}

/// Why an API key configuration was refused: the entry (counted from 1, by line or `;`) and
/// what was wrong with it. Never contains a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyConfigError {
    entry: usize,
    kind: ApiKeyConfigErrorKind,
}

/// What was wrong with an API key entry.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApiKeyConfigErrorKind {
    /// Not `<key> <subject> [scope ...]`.
    Syntax,
    /// This word in the scope list is not a scope (`resource:action`).
    Scope(String),
    /// A `sha256:` hash that is not 64 hex digits.
    Hash,
    /// A key in clear shorter than 16 characters.
    ShortKey,
}

impl ApiKeyConfigError {
    /// The entry at fault, counted from 1.
    pub fn entry(&self) -> usize {
        self.entry
    }

    /// What was wrong.
    pub fn kind(&self) -> &ApiKeyConfigErrorKind {
        &self.kind
    }
}

impl fmt::Display for ApiKeyConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "API key entry {}: ", self.entry)?;
        match &self.kind {
            ApiKeyConfigErrorKind::Syntax => f.write_str("expected `<key> <subject> [scope ...]`"),
            // The word is printed as written (a scope list holds no key), cleaned of controls.
            ApiKeyConfigErrorKind::Scope(word) => write!(
                f,
                "`{}` is not a scope (write `resource:action`)",
                crate::sanitize::clean(word)
            ),
            ApiKeyConfigErrorKind::Hash => {
                f.write_str("a hash is written `sha256:` and 64 hex digits")
            }
            ApiKeyConfigErrorKind::ShortKey => f.write_str("a key has at least 16 characters"),
        }
    }
}

impl std::error::Error for ApiKeyConfigError {}

impl ApiKeys {
    /// An empty set: every key is refused.
    pub fn new() -> Self {
        Self::default()
    }

    /// Names who vouches for these keys' principals (default [`API_KEY_ISSUER`]): give each
    /// set of keys served side by side a name of its own, so that their subjects stay apart.
    pub fn with_issuer(mut self, issuer: &str) -> Result<Self, IssuerError> {
        check_verifier_issuer(issuer)?;
        self.issuer = issuer.to_owned();
        for entry in &mut self.entries {
            entry.principal = entry.principal.clone().issued_by(issuer);
        }
        Ok(self)
    }

    /// Adds a key given in clear; only its hash is stored. The principal is stamped with this
    /// set's issuer.
    pub fn with_key(mut self, key: &str, principal: Principal) -> Self {
        let principal = principal.issued_by(&self.issuer);
        self.entries.push(Entry {
            hash: sha256(key.as_bytes()),
            principal,
        });
        self
    }

    /// Adds a key given as the hex SHA-256 of the key.
    pub fn with_hash(
        mut self,
        sha256_hex: &str,
        principal: Principal,
    ) -> Result<Self, ApiKeyConfigError> {
        let hash = decode_hex32(sha256_hex).ok_or_else(|| ApiKeyConfigError {
            entry: self.entries.len() + 1,
            kind: ApiKeyConfigErrorKind::Hash,
        })?;
        let principal = principal.issued_by(&self.issuer);
        self.entries.push(Entry { hash, principal });
        Ok(self)
    }

    /// Parses entries separated by newlines or `;`: `<key> <subject> [scope ...]`, where the key
    /// may be written `sha256:<64 hex digits>` to keep only its hash in the configuration.
    /// Blank entries and lines starting with `#` are skipped.
    pub fn parse(text: &str) -> Result<Self, ApiKeyConfigError> {
        let mut keys = Self::new();
        for (index, raw) in text.split(['\n', ';']).enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let entry = index + 1;
            let mut words = line.split_whitespace();
            let (Some(key), Some(subject)) = (words.next(), words.next()) else {
                return Err(ApiKeyConfigError {
                    entry,
                    kind: ApiKeyConfigErrorKind::Syntax,
                });
            };
            let scopes: Vec<&str> = words.collect();
            if let Some(bad) = scopes.iter().find(|s| check_scope(s).is_err()) {
                return Err(ApiKeyConfigError {
                    entry,
                    kind: ApiKeyConfigErrorKind::Scope((*bad).to_owned()),
                });
            }
            let principal = Principal::new(subject, scopes);
            keys = match key.strip_prefix("sha256:") {
                Some(hex) => keys
                    .with_hash(hex, principal)
                    .map_err(|e| ApiKeyConfigError { entry, ..e })?,
                None if key.len() < 16 => {
                    return Err(ApiKeyConfigError {
                        entry,
                        kind: ApiKeyConfigErrorKind::ShortKey,
                    });
                }
                None => keys.with_key(key, principal),
            };
        }
        Ok(keys)
    }

    /// A new random key (256 bits from the OS, URL-safe), for a server that has none configured.
    pub fn generate_key() -> String {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).expect("the operating system's random number generator failed");
        let mut key = String::from("msk_");
        for b in bytes {
            key.push_str(&format!("{b:02x}"));
        }
        key
    }

    /// The hex SHA-256 of a key, for writing `sha256:<hex>` into a configuration.
    pub fn hash_key(key: &str) -> String {
        sha256(key.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Who vouches for these keys' principals.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// How many keys are configured.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no key is configured.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The principal of `presented`, or `None` when it matches no key.
    pub fn verify(&self, presented: &str) -> Option<Principal> {
        let hash = sha256(presented.as_bytes());
        let mut found = None;
        for entry in &self.entries {
            if bool::from(entry.hash.ct_eq(&hash)) && found.is_none() {
                found = Some(entry.principal.clone());
            }
        }
        found
    }
}

impl fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeys")
            .field("keys", &self.entries.len())
            .finish_non_exhaustive()
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn decode_hex32(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_entries_verify_the_clear_key() {
        let hash = ApiKeys::hash_key("a-long-enough-key");
        let keys = ApiKeys::parse(&format!("sha256:{hash} svc files:read")).unwrap();
        let p = keys.verify("a-long-enough-key").unwrap();
        assert_eq!(p.subject(), "svc");
        assert_eq!(p.scopes(), ["files:read"]);
        assert!(keys.verify("a-long-enough-keY").is_none());
        assert!(keys.verify("").is_none());
    }

    #[test]
    fn bad_entries_name_the_entry_and_never_the_key() {
        let err = ApiKeys::parse("short alice").unwrap_err();
        assert_eq!(
            err.to_string(),
            "API key entry 1: a key has at least 16 characters"
        );
        let err = ApiKeys::parse("# c\nsecret-key-123456789 alice Bad:Scope").unwrap_err();
        assert!(err.to_string().starts_with("API key entry 2: `Bad:Scope`"));
        assert!(!err.to_string().contains("secret-key"));
        assert_eq!(
            err.kind(),
            &ApiKeyConfigErrorKind::Scope("Bad:Scope".into())
        );
        assert_eq!(err.entry(), 2);
        let err = ApiKeys::parse("short alice").unwrap_err();
        assert_eq!(err.kind(), &ApiKeyConfigErrorKind::ShortKey);
        let err = ApiKeys::parse("x-long-enough-key-1 a; sha256:abcd alice").unwrap_err();
        assert_eq!((err.entry(), err.kind()), (2, &ApiKeyConfigErrorKind::Hash));
        let err = ApiKeys::parse("lonely-key-without-subject").unwrap_err();
        assert_eq!(err.kind(), &ApiKeyConfigErrorKind::Syntax);
        // A control character in the word at fault does not reach a log raw.
        let err = ApiKeys::parse("secret-key-123456789 alice a:\u{1b}[2J").unwrap_err();
        assert!(!err.to_string().contains('\u{1b}'), "{err}");
    }

    #[test]
    fn generated_keys_are_distinct_and_long() {
        let (a, b) = (ApiKeys::generate_key(), ApiKeys::generate_key());
        assert_ne!(a, b);
        assert_eq!(a.len(), 4 + 64);
    }
}
