//! Secrets from the KV version 2 secrets engine of HashiCorp Vault or OpenBao (one API):
//! [`Vault`] reads a secret's latest version, and [`VaultSecret`] keeps one field of it for a
//! time to live, so that a new version is picked up by the first read after it.
//!
//! ```
//! use std::time::Duration;
//! use mcp_secure::{fetch::FetchPolicy, secret::{SecretString, vault::Vault}};
//!
//! let vault = Vault::new("https://vault.internal:8200", SecretString::new("hvs.example".into()))?
//!     // Vault's address is a private one: name its network.
//!     .fetch_policy(&FetchPolicy::default().allow_network("10.20.0.0/16".parse().unwrap()))?;
//! // The `password` field of `secret/notes/db`, fetched on the first `get()` and again on the
//! // first one after 5 minutes.
//! let db_password = vault.secret("notes/db", "password")?.ttl(Duration::from_secs(300));
//! assert_eq!(
//!     db_password.url(),
//!     "https://vault.internal:8200/v1/secret/data/notes/db"
//! );
//! // let password: SecretString = db_password.get().await?;
//! # Ok::<(), mcp_secure::secret::vault::VaultConfigError>(())
//! ```
//!
//! The token is sent in `X-Vault-Token` and is used as given: nothing here logs in or renews
//! it (use a token that lives as long as the server, or one from an agent that renews it).
//! What is kept of a secret is a [`SecretString`]; the HTTP client's and the JSON parser's
//! transient buffers are freed without being zeroed. Errors ([`VaultSecretError`]) carry the
//! HTTP status at most, never the answer's body, the secret or the token.

use std::{collections::HashMap, fmt, sync::Arc, time::Duration};

use serde::Deserialize;
use zeroize::Zeroizing;

use super::{
    SecretError, SecretString,
    cache::{Cache, RETRY_AFTER, StoreError},
    json::AnyValue,
};
use crate::fetch::{FetchError, FetchPolicy, Fetcher};

/// The largest answer read.
const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// The default time a [`VaultSecret`] keeps a value.
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);

/// The default time a [`VaultSecret`] serves a value past its time to live while Vault cannot
/// be reached, is sealed or is throttling.
pub const DEFAULT_SERVE_STALE_FOR: Duration = Duration::from_secs(300);

/// Why a [`Vault`] could not be configured. Names the setting and its rule, never a value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VaultConfigError {
    /// The address is not `https` (or `http` on a loopback host), or has a path, a user, a
    /// query or a fragment.
    Address,
    /// The token is empty, or not one HTTP header value.
    Token,
    /// A variable could not be read (which, and why).
    Environment(SecretError),
    /// A mount or secret path is empty, has an empty, `.` or `..` segment, or a character
    /// outside letters, digits and `-_.@+=`.
    Path,
    /// The namespace has a character outside letters, digits, `-_/.`.
    Namespace,
    /// The HTTP client could not be built.
    Client(String),
}

impl fmt::Display for VaultConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Address => f.write_str(
                "Vault address: an https URL of the server alone (http only on a loopback host), e.g. `https://vault.internal:8200`",
            ),
            Self::Token => f.write_str("Vault token: not empty, printable ASCII"),
            Self::Environment(e) => write!(f, "Vault: {e}"),
            Self::Path => f.write_str(
                "Vault path: `/`-separated segments of letters, digits and `-_.@+=`, none empty, `.` or `..`",
            ),
            Self::Namespace => {
                f.write_str("Vault namespace: letters, digits and `-_/.`, e.g. `team-a/`")
            }
            Self::Client(e) => write!(f, "Vault: the HTTP client: {e}"),
        }
    }
}

impl std::error::Error for VaultConfigError {}

/// A client of one Vault (or OpenBao) server's KV version 2 engine, with one token.
///
/// Requests time out after 5 s, follow no redirect (a standby's redirect to the active node
/// included: address the cluster's load balancer or the active node) and use no proxy. The
/// server's address must be a public one unless [`Self::fetch_policy`] allows its network,
/// checked on the address connected to. Cloning is cheap and shares the HTTP client.
#[derive(Clone)]
pub struct Vault {
    address: url::Url,
    token: SecretString,
    namespace: Option<String>,
    mount: String,
    fetcher: Fetcher,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault")
            .field("address", &self.address.as_str())
            .field("namespace", &self.namespace)
            .field("mount", &self.mount)
            .finish_non_exhaustive()
    }
}

/// `path` if its segments are plain names.
fn checked_path(path: &str) -> Result<&str, VaultConfigError> {
    let plain = |segment: &str| {
        !segment.is_empty()
            && segment != "."
            && segment != ".."
            && segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.@+=".contains(&b))
    };
    if path.split('/').all(plain) {
        Ok(path)
    } else {
        Err(VaultConfigError::Path)
    }
}

impl Vault {
    /// The server at `address` (e.g. `https://vault.internal:8200`), with `token`; the KV engine
    /// mounted at `secret` (change it with [`Self::mount`]).
    pub fn new(address: &str, token: SecretString) -> Result<Self, VaultConfigError> {
        let parsed = url::Url::parse(address).map_err(|_| VaultConfigError::Address)?;
        let loopback = match parsed.host() {
            Some(url::Host::Domain(name)) => name == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => return Err(VaultConfigError::Address),
        };
        let scheme_ok = parsed.scheme() == "https" || (parsed.scheme() == "http" && loopback);
        let bare = parsed.path() == "/"
            && parsed.username().is_empty()
            && parsed.password().is_none()
            && parsed.query().is_none()
            && parsed.fragment().is_none();
        if !scheme_ok || !bare {
            return Err(VaultConfigError::Address);
        }
        let token_ok = !token.expose_secret().is_empty()
            && token.expose_secret().bytes().all(|b| b.is_ascii_graphic());
        if !token_ok {
            return Err(VaultConfigError::Token);
        }
        let fetcher = Fetcher::new(&FetchPolicy::default())
            .map_err(|e| VaultConfigError::Client(e.to_string()))?;
        Ok(Self {
            address: parsed,
            token,
            namespace: None,
            mount: "secret".into(),
            fetcher,
        })
    }

    /// The server and token the Vault and OpenBao tools read: `VAULT_ADDR` (or `BAO_ADDR`),
    /// `VAULT_TOKEN` (or `BAO_TOKEN`), and `VAULT_NAMESPACE` (or `BAO_NAMESPACE`) when set.
    ///
    /// ```
    /// use mcp_secure::secret::vault::{Vault, VaultConfigError};
    /// # if std::env::var_os("VAULT_ADDR").is_none() && std::env::var_os("BAO_ADDR").is_none() {
    /// // Unset, the error names the variable, and nothing else.
    /// let error = Vault::from_env().unwrap_err();
    /// assert!(matches!(error, VaultConfigError::Environment(_)));
    /// assert_eq!(
    ///     error.to_string(),
    ///     "Vault: secret not found: environment variable VAULT_ADDR (or BAO_ADDR) does not exist"
    /// );
    /// # }
    /// ```
    pub fn from_env() -> Result<Self, VaultConfigError> {
        let address = first_set(&["VAULT_ADDR", "BAO_ADDR"])?;
        let token = first_set(&["VAULT_TOKEN", "BAO_TOKEN"])?;
        let vault = Self::new(address.expose_secret(), token)?;
        match first_set(&["VAULT_NAMESPACE", "BAO_NAMESPACE"]) {
            Ok(namespace) => vault.namespace(namespace.expose_secret()),
            Err(VaultConfigError::Environment(SecretError::Missing { .. })) => Ok(vault),
            Err(e) => Err(e),
        }
    }

    /// Sends `X-Vault-Namespace: namespace` (Vault Enterprise, OpenBao namespaces).
    pub fn namespace(mut self, namespace: &str) -> Result<Self, VaultConfigError> {
        let valid = !namespace.is_empty()
            && namespace
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_/.".contains(&b));
        if !valid {
            return Err(VaultConfigError::Namespace);
        }
        self.namespace = Some(namespace.to_owned());
        Ok(self)
    }

    /// The path the KV version 2 engine is mounted at (default `secret`).
    pub fn mount(mut self, mount: &str) -> Result<Self, VaultConfigError> {
        self.mount = checked_path(mount.trim_matches('/'))?.to_owned();
        Ok(self)
    }

    /// Connects where `policy` allows: Vault's network when its address is not a public one.
    pub fn fetch_policy(mut self, policy: &FetchPolicy) -> Result<Self, VaultConfigError> {
        self.fetcher = Fetcher::new(policy).map_err(|e| VaultConfigError::Client(e.to_string()))?;
        Ok(self)
    }

    /// The field `key` of the secret at `path` (under the mount) as a [`VaultSecret`]: fetched
    /// on its first read, then kept for a time to live (default 5 minutes).
    pub fn secret(&self, path: &str, key: &str) -> Result<VaultSecret, VaultConfigError> {
        let path = checked_path(path.trim_matches('/'))?;
        let mut url = self.address.clone();
        url.path_segments_mut()
            .map_err(|()| VaultConfigError::Address)?
            .pop_if_empty()
            .push("v1")
            .extend(self.mount.split('/'))
            .push("data")
            .extend(path.split('/'));
        Ok(VaultSecret {
            vault: self.clone(),
            url: url.into(),
            path: path.to_owned(),
            key: key.to_owned(),
            ttl: DEFAULT_TTL,
            serve_stale_for: DEFAULT_SERVE_STALE_FOR,
            cache: Arc::new(Cache::new(DEFAULT_TTL, DEFAULT_SERVE_STALE_FOR)),
        })
    }
}

fn first_set(names: &[&str]) -> Result<SecretString, VaultConfigError> {
    for name in names {
        match SecretString::from_env(name) {
            Ok(value) => return Ok(value),
            Err(SecretError::Missing { .. }) => {}
            Err(e) => return Err(VaultConfigError::Environment(e)),
        }
    }
    Err(VaultConfigError::Environment(SecretError::Missing {
        source: format!("environment variable {}", names.join(" (or ") + ")"),
    }))
}

/// One field of one Vault secret, kept for a time to live.
///
/// The semantics are those of [`aws::CachedSecret`](super::aws::CachedSecret): answered from
/// the cache while younger than [`Self::ttl`]; then fetched again (the latest version) by one
/// reader while the others wait; when that fails because Vault is unreachable, sealed, failing
/// (5xx) or throttling (429), the last value is served for up to [`Self::serve_stale_for`] past
/// its expiry; when Vault answers that the secret is missing or deleted, or the token may not
/// read it, reads fail at once and the value is forgotten. After a failure, the next fetch
/// waits a second. Nothing is fetched before the first [`Self::get`]. Clones share the cache.
///
/// ```
/// use std::time::Duration;
/// use mcp_secure::{fetch::FetchPolicy, secret::{SecretString, vault::*}};
/// let vault = Vault::new("http://127.0.0.1:8200", SecretString::new("dev-root".into()))?
///     .mount("kv")?
///     .fetch_policy(&FetchPolicy::default().allow_loopback())?;
/// let key = vault.secret("notes/api", "key")?.ttl(Duration::from_secs(60)).serve_stale_for(Duration::ZERO);
/// assert_eq!(key.url(), "http://127.0.0.1:8200/v1/kv/data/notes/api");
/// // A path that would leave the mount is refused.
/// assert_eq!(vault.secret("notes/../../sys/raw", "key").unwrap_err(), VaultConfigError::Path);
/// # Ok::<(), VaultConfigError>(())
/// ```
#[derive(Clone)]
pub struct VaultSecret {
    vault: Vault,
    url: String,
    path: String,
    key: String,
    ttl: Duration,
    serve_stale_for: Duration,
    cache: Arc<Cache<VaultSecretError>>,
}

impl fmt::Debug for VaultSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultSecret")
            .field("url", &self.url)
            .field("key", &self.key)
            .field("ttl", &self.ttl)
            .field("serve_stale_for", &self.serve_stale_for)
            .finish_non_exhaustive()
    }
}

impl VaultSecret {
    fn rebuilt(mut self) -> Self {
        self.cache = Arc::new(Cache::new(self.ttl, self.serve_stale_for));
        self
    }

    /// How long a fetched value is used before it is fetched again (default 5 minutes).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self.rebuilt()
    }

    /// How long past its time to live a value is still served while Vault is unreachable,
    /// sealed, failing or throttling (default 5 minutes; `Duration::ZERO` fails reads then).
    pub fn serve_stale_for(mut self, bound: Duration) -> Self {
        self.serve_stale_for = bound;
        self.rebuilt()
    }

    /// The URL the secret is read from.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The field: from the cache while it is fresh, else fetched now.
    pub async fn get(&self) -> Result<SecretString, VaultSecretError> {
        self.cache.get(|| self.fetch()).await
    }

    async fn fetch(&self) -> Result<SecretString, VaultSecretError> {
        let error = |kind| VaultSecretError {
            kind,
            path: self.path.clone(),
            key: self.key.clone(),
            status: None,
        };
        let from_fetch = |e| {
            error(match e {
                FetchError::Refused => VaultSecretErrorKind::Refused,
                FetchError::TooLarge(_) => VaultSecretErrorKind::Malformed,
                _ => VaultSecretErrorKind::Network,
            })
        };
        let mut token = reqwest::header::HeaderValue::from_str(self.vault.token.expose_secret())
            .map_err(|_| error(VaultSecretErrorKind::Malformed))?;
        token.set_sensitive(true);
        let mut request = self
            .vault
            .fetcher
            .request(reqwest::Method::GET, &self.url)
            .map_err(from_fetch)?
            .header("x-vault-token", token);
        if let Some(namespace) = &self.vault.namespace {
            request = request.header("x-vault-namespace", namespace);
        }
        let response = Fetcher::send(request).await.map_err(from_fetch)?;
        let status = response.status().as_u16();
        let body = crate::fetch::read_capped(response, MAX_RESPONSE_BYTES)
            .await
            .map(Zeroizing::new);
        if status != 200 {
            let deleted = body.as_ref().is_ok_and(|b| deleted(b));
            let kind = match status {
                404 if deleted => VaultSecretErrorKind::Deleted,
                404 => VaultSecretErrorKind::NotFound,
                401 | 403 => VaultSecretErrorKind::AccessDenied,
                429 => VaultSecretErrorKind::Throttled,
                500.. => VaultSecretErrorKind::Unavailable,
                _ => VaultSecretErrorKind::Rejected,
            };
            let mut e = error(kind);
            e.status = Some(status);
            return Err(e);
        }
        let body = body.map_err(from_fetch)?;
        #[derive(Deserialize)]
        struct Answer {
            data: Data,
        }
        #[derive(Deserialize)]
        struct Data {
            data: UniqueFields,
        }
        let mut answer: Answer =
            serde_json::from_slice(&body).map_err(|_| error(VaultSecretErrorKind::Malformed))?;
        let secret = match answer.data.data.0.remove(&self.key) {
            Some(AnyValue(Some(secret))) => secret,
            Some(AnyValue(None)) => return Err(error(VaultSecretErrorKind::KeyNotString)),
            None => return Err(error(VaultSecretErrorKind::MissingKey)),
        };
        if secret.expose_secret().is_empty() {
            return Err(error(VaultSecretErrorKind::Empty));
        }
        Ok(secret)
    }
}

/// A secret's fields, refused when one is named twice: which of two values a reader takes
/// would otherwise depend on the parser (AWS's `json_key` refuses the same).
struct UniqueFields(HashMap<String, AnyValue>);

impl<'de> Deserialize<'de> for UniqueFields {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = UniqueFields;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object whose keys are distinct")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<UniqueFields, A::Error> {
                let mut fields = HashMap::new();
                while let Some((key, value)) = map.next_entry::<String, AnyValue>()? {
                    if fields.insert(key, value).is_some() {
                        return Err(serde::de::Error::custom("a field is named twice"));
                    }
                }
                Ok(UniqueFields(fields))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

/// Whether a 404 answer says the latest version was deleted or destroyed (its metadata does).
fn deleted(body: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Answer {
        data: Option<Data>,
    }
    #[derive(Deserialize)]
    struct Data {
        metadata: Option<Metadata>,
    }
    #[derive(Deserialize)]
    struct Metadata {
        #[serde(default)]
        deletion_time: String,
        #[serde(default)]
        destroyed: bool,
    }
    serde_json::from_slice::<Answer>(body)
        .ok()
        .and_then(|a| a.data?.metadata)
        .is_some_and(|m| !m.deletion_time.is_empty() || m.destroyed)
}

/// What went wrong, as a [`VaultSecretError`] says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum VaultSecretErrorKind {
    /// No secret at that path (or no engine at that mount).
    NotFound,
    /// The secret's latest version is deleted or destroyed.
    Deleted,
    /// The token is invalid or expired, or its policies do not allow reading the path.
    AccessDenied,
    /// Vault is rate limiting (429).
    Throttled,
    /// Vault answered with a server error (5xx; 503: sealed or standby).
    Unavailable,
    /// Vault answered with another status.
    Rejected,
    /// Vault could not be reached, or did not answer within 5 s.
    Network,
    /// Vault's address is not allowed by the fetch policy.
    Refused,
    /// The answer is not a KV version 2 secret (or is larger than 256 KiB).
    Malformed,
    /// The secret has no field of that name.
    MissingKey,
    /// The field is not a string.
    KeyNotString,
    /// The field is empty.
    Empty,
}

/// Why a secret could not be read from Vault: its [kind](Self::kind), the path and field, and
/// the HTTP status when Vault answered. Never the answer's body, the secret or the token.
///
/// Match on [`Self::kind`], never on the message:
///
/// ```
/// use mcp_secure::{fetch::FetchPolicy, secret::{SecretString, vault::*}};
/// # let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
/// # runtime.block_on(async {
/// // Nothing listens on port 9 here.
/// let vault = Vault::new("http://127.0.0.1:9", SecretString::new("hvs.example".into()))?
///     .fetch_policy(&FetchPolicy::default().allow_loopback())?;
/// let error = vault.secret("notes/db", "password")?.get().await.unwrap_err();
/// assert_eq!((error.kind(), error.status()), (VaultSecretErrorKind::Network, None));
/// # Ok::<(), VaultConfigError>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultSecretError {
    kind: VaultSecretErrorKind,
    path: String,
    key: String,
    status: Option<u16>,
}

impl VaultSecretError {
    /// What went wrong.
    pub fn kind(&self) -> VaultSecretErrorKind {
        self.kind
    }

    /// The HTTP status of Vault's answer, when it answered with an error.
    pub fn status(&self) -> Option<u16> {
        self.status
    }
}

impl StoreError for VaultSecretError {
    fn is_transient(&self) -> bool {
        matches!(
            self.kind,
            VaultSecretErrorKind::Throttled
                | VaultSecretErrorKind::Unavailable
                | VaultSecretErrorKind::Network
        )
    }
}

impl fmt::Display for VaultSecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use VaultSecretErrorKind as K;
        let (path, key) = (&self.path, &self.key);
        let status = self.status.map(|s| format!(" ({s})")).unwrap_or_default();
        match self.kind {
            K::NotFound => write!(
                f,
                "Vault has no secret `{path}`{status}: check the path and the mount"
            ),
            K::Deleted => write!(
                f,
                "Vault secret `{path}`{status}: its latest version is deleted; undelete it or write a new one"
            ),
            K::AccessDenied => write!(
                f,
                "Vault denied reading secret `{path}`{status}: check that the token is valid and that its policies allow `read` on the path's data"
            ),
            K::Throttled => write!(
                f,
                "Vault is rate limiting{status} (secret `{path}`): tried again after {} s at the soonest",
                RETRY_AFTER.as_secs()
            ),
            K::Unavailable => write!(
                f,
                "Vault failed{status} reading secret `{path}` (503: sealed or standby); it is tried again on a later read"
            ),
            K::Rejected => write!(f, "Vault refused to read secret `{path}`{status}"),
            K::Network => write!(
                f,
                "Vault could not be reached, or did not answer within 5 s (secret `{path}`)"
            ),
            K::Refused => write!(
                f,
                "Vault (secret `{path}`): its address is not public; allow its network with `Vault::fetch_policy`"
            ),
            K::Malformed => write!(
                f,
                "Vault's answer for secret `{path}` is not a KV version 2 secret"
            ),
            K::MissingKey => write!(f, "Vault secret `{path}` has no field `{key}`"),
            K::KeyNotString => write!(f, "field `{key}` of Vault secret `{path}` is not a string"),
            K::Empty => write!(f, "field `{key}` of Vault secret `{path}` is empty"),
        }
    }
}

impl std::error::Error for VaultSecretError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_names_the_setting_and_its_rule() {
        let token = || SecretString::new("hvs.x".into());
        for address in [
            "http://vault.internal:8200",
            "https://vault.internal:8200/v1",
            "https://u:p@vault.internal",
            "https://vault.internal?x",
            "vault.internal",
        ] {
            assert_eq!(
                Vault::new(address, token()).unwrap_err(),
                VaultConfigError::Address,
                "{address}"
            );
        }
        for bad in ["", "a\nb", "a b"] {
            assert_eq!(
                Vault::new("https://v", SecretString::new(bad.into())).unwrap_err(),
                VaultConfigError::Token
            );
        }
        let vault = Vault::new("https://v:8200", token()).unwrap();
        assert_eq!(
            format!("{vault:?}"),
            r#"Vault { address: "https://v:8200/", namespace: None, mount: "secret", .. }"#
        );
        for path in ["", "a//b", "../sys", "a/./b", "a/b?x", "a/%2e%2e", "a b"] {
            assert_eq!(
                vault.secret(path, "k").unwrap_err(),
                VaultConfigError::Path,
                "{path}"
            );
        }
        assert_eq!(
            vault
                .clone()
                .mount("kv/team")
                .unwrap()
                .secret("/a/b/", "k")
                .unwrap()
                .url(),
            "https://v:8200/v1/kv/team/data/a/b"
        );
        assert_eq!(
            vault.namespace("a b").unwrap_err(),
            VaultConfigError::Namespace
        );
    }

    #[test]
    fn a_deleted_version_is_told_from_a_missing_secret() {
        assert!(deleted(br#"{"data":{"data":null,"metadata":{"deletion_time":"2026-01-01T00:00:00Z","destroyed":false}}}"#));
        assert!(deleted(
            br#"{"data":{"data":null,"metadata":{"deletion_time":"","destroyed":true}}}"#
        ));
        assert!(!deleted(br#"{"errors":[]}"#));
        assert!(!deleted(b"<html>"));
    }
}
