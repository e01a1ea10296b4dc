//! Secrets from AWS Secrets Manager: [`SecretsManager`] reads a secret's current value
//! (`GetSecretValue`, signed with AWS Signature Version 4 by AWS's `aws-sigv4`), and
//! [`CachedSecret`] keeps one for a time to live, so that a rotated secret (a new `AWSCURRENT`
//! version) is picked up by the first read after it.
//!
//! ```
//! use std::time::Duration;
//! use mcp_secure::secret::{SecretString, aws::{AwsCredentials, SecretsManager}};
//!
//! let credentials = AwsCredentials::new(
//!     "AKIAIOSFODNN7EXAMPLE",
//!     SecretString::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into()),
//! )?;
//! let manager = SecretsManager::new("eu-west-1", credentials)?;
//! assert_eq!(manager.endpoint_url(), "https://secretsmanager.eu-west-1.amazonaws.com/");
//!
//! // The `password` field of the JSON secret `prod/notes/db`, fetched on the first `get()` and
//! // again on the first one after 5 minutes.
//! let db_password = manager
//!     .secret("prod/notes/db")
//!     .json_key("password")
//!     .ttl(Duration::from_secs(300));
//! // let password: SecretString = db_password.get().await?;
//! # let _ = db_password;
//! # Ok::<(), mcp_secure::secret::aws::AwsConfigError>(())
//! ```
//!
//! What is kept of a secret is a [`SecretString`] (zeroed on drop, never printed). The HTTP
//! client's and the JSON parser's transient buffers are freed without being zeroed: the value
//! passes through them once per fetch.
//!
//! Errors ([`AwsSecretError`]) say what to do next and carry at most AWS's error code
//! (`ResourceNotFoundException`, …): never the answer's body, the secret or the credentials.

use std::{
    fmt,
    sync::Arc,
    time::{Duration, SystemTime},
};

use aws_sigv4::{
    http_request::{SignableBody, SignableRequest, SigningSettings, sign},
    sign::v4,
};
use aws_smithy_runtime_api::client::identity::Identity;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::{
    Secret, SecretError, SecretString,
    cache::Cache,
    json::{Field, Text, field_of},
};
use crate::fetch::{FetchPolicy, Fetcher};

mod error;

pub use error::{AwsSecretError, AwsSecretErrorKind};
use error::{error_code, error_from_answer, from_fetch};

/// The largest answer read: a secret holds at most 64 KiB, base64 makes a binary one 88 KiB.
const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// The largest error answer read (only its error code is kept).
const MAX_ERROR_BYTES: usize = 64 * 1024;

/// The credentials requests are signed with: an access key, and the session token of
/// temporary credentials. Printed with `{:?}` as `AwsCredentials { .. }`.
#[derive(Clone)]
pub struct AwsCredentials {
    access_key_id: String,
    secret_access_key: SecretString,
    session_token: Option<SecretString>,
}

impl AwsCredentials {
    /// An access key: its id (`AKIA…`, `ASIA…`) and its secret.
    pub fn new(
        access_key_id: &str,
        secret_access_key: SecretString,
    ) -> Result<Self, AwsConfigError> {
        let valid = (16..=128).contains(&access_key_id.len())
            && access_key_id.bytes().all(|b| b.is_ascii_alphanumeric());
        if !valid {
            return Err(AwsConfigError::AccessKeyId);
        }
        if secret_access_key.expose_secret().is_empty() {
            return Err(AwsConfigError::Credentials(SecretError::Empty {
                source: "the secret access key".into(),
            }));
        }
        Ok(Self {
            access_key_id: access_key_id.to_owned(),
            secret_access_key,
            session_token: None,
        })
    }

    /// With the session token of temporary credentials (from STS).
    pub fn with_session_token(mut self, token: SecretString) -> Self {
        self.session_token = Some(token);
        self
    }

    /// The credentials in the standard environment variables: `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, and `AWS_SESSION_TOKEN` when it is set.
    ///
    /// ```
    /// use mcp_secure::secret::aws::{AwsConfigError, AwsCredentials};
    /// # if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
    /// // With AWS_ACCESS_KEY_ID unset, the error names the variable, and nothing else.
    /// let error = AwsCredentials::from_env().unwrap_err();
    /// assert!(matches!(error, AwsConfigError::Credentials(_)));
    /// assert!(error.to_string().contains("AWS_ACCESS_KEY_ID"));
    /// # }
    /// ```
    pub fn from_env() -> Result<Self, AwsConfigError> {
        let id =
            SecretString::from_env("AWS_ACCESS_KEY_ID").map_err(AwsConfigError::Credentials)?;
        let secret =
            SecretString::from_env("AWS_SECRET_ACCESS_KEY").map_err(AwsConfigError::Credentials)?;
        let credentials = Self::new(id.expose_secret(), secret)?;
        match SecretString::from_env("AWS_SESSION_TOKEN") {
            Ok(token) => Ok(credentials.with_session_token(token)),
            Err(SecretError::Missing { .. }) => Ok(credentials),
            Err(e) => Err(AwsConfigError::Credentials(e)),
        }
    }

    fn identity(&self) -> Identity {
        aws_credential_types::Credentials::new(
            &self.access_key_id,
            self.secret_access_key.expose_secret(),
            self.session_token
                .as_ref()
                .map(|t| t.expose_secret().to_owned()),
            None,
            "mcp-secure",
        )
        .into()
    }
}

impl fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AwsCredentials { .. }")
    }
}

/// Why a [`SecretsManager`] or its [`AwsCredentials`] could not be configured. Names the
/// setting and its rule, never a value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AwsConfigError {
    /// The region is not an AWS region's name.
    Region,
    /// Neither `AWS_REGION` nor `AWS_DEFAULT_REGION` is set.
    NoRegion,
    /// The access key id is not one.
    AccessKeyId,
    /// A credential could not be read (which variable, and why).
    Credentials(SecretError),
    /// The endpoint URL is not `https` (or `http` on a loopback host), or has a user, a query or
    /// a fragment.
    Endpoint,
    /// The HTTP client could not be built.
    Client(String),
}

impl fmt::Display for AwsConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Region => f.write_str(
                "AWS region: 1 to 32 lowercase letters, digits and dashes (e.g. `eu-west-1`)",
            ),
            Self::NoRegion => f.write_str(
                "AWS region: set AWS_REGION (or AWS_DEFAULT_REGION), or name it in `SecretsManager::new`",
            ),
            Self::AccessKeyId => {
                f.write_str("AWS access key id: 16 to 128 letters and digits (e.g. `AKIA…`)")
            }
            Self::Credentials(e) => write!(f, "AWS credentials: {e}"),
            Self::Endpoint => f.write_str(
                "AWS Secrets Manager endpoint: an absolute https URL (http only on a loopback host), without user, query or fragment",
            ),
            Self::Client(e) => write!(f, "AWS Secrets Manager: the HTTP client: {e}"),
        }
    }
}

impl std::error::Error for AwsConfigError {}

/// A client of AWS Secrets Manager in one region.
///
/// Requests go to the region's public endpoint, or to the one [`Self::endpoint`] names (a VPC
/// endpoint, a FIPS endpoint, a test server), are signed with the [`AwsCredentials`] given,
/// time out after 5 s, follow no redirect and use no proxy. The endpoint's address must be a
/// public one unless [`Self::fetch_policy`] allows its network (as for every fetch of this
/// crate, checked on the address connected to).
///
/// Cloning is cheap and shares the HTTP client.
#[derive(Clone)]
pub struct SecretsManager {
    region: String,
    endpoint: String,
    identity: Identity,
    fetcher: Fetcher,
}

impl fmt::Debug for SecretsManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretsManager")
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl SecretsManager {
    /// The client of `region`'s Secrets Manager, signing with `credentials`.
    pub fn new(region: &str, credentials: AwsCredentials) -> Result<Self, AwsConfigError> {
        let valid = (1..=32).contains(&region.len())
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid {
            return Err(AwsConfigError::Region);
        }
        // The China regions are in their own partition, with their own domain.
        let domain = if region.starts_with("cn-") {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        };
        let fetcher = Fetcher::new(&FetchPolicy::default())
            .map_err(|e| AwsConfigError::Client(e.to_string()))?;
        Ok(Self {
            region: region.to_owned(),
            endpoint: format!("https://secretsmanager.{region}.{domain}/"),
            identity: credentials.identity(),
            fetcher,
        })
    }

    /// The client configured as the AWS tools are by the environment: the region from
    /// `AWS_REGION` (or `AWS_DEFAULT_REGION`), the credentials from
    /// [`AwsCredentials::from_env`]. (`AWS_ENDPOINT_URL` is not read: an endpoint is named in
    /// code, with the fetch policy that allows it.)
    pub fn from_env() -> Result<Self, AwsConfigError> {
        let region = ["AWS_REGION", "AWS_DEFAULT_REGION"]
            .into_iter()
            .find_map(|name| std::env::var(name).ok().filter(|r| !r.is_empty()))
            .ok_or(AwsConfigError::NoRegion)?;
        Self::new(&region, AwsCredentials::from_env()?)
    }

    /// Sends requests to `url` instead of the region's public endpoint: a VPC endpoint
    /// (`https://vpce-….secretsmanager.eu-west-1.vpce.amazonaws.com`), a FIPS endpoint, or a
    /// test server (`http://127.0.0.1:5000`, with [`Self::fetch_policy`] allowing loopback).
    ///
    /// ```
    /// use mcp_secure::{fetch::FetchPolicy, secret::{SecretString, aws::*}};
    /// let credentials = AwsCredentials::new("AKIAIOSFODNN7EXAMPLE", SecretString::new("k".into()))?;
    /// let manager = SecretsManager::new("us-east-1", credentials)?
    ///     .endpoint("http://127.0.0.1:5000")?
    ///     .fetch_policy(&FetchPolicy::default().allow_loopback())?;
    /// assert_eq!(manager.endpoint_url(), "http://127.0.0.1:5000/");
    ///
    /// // Plain http is for loopback only.
    /// let credentials = AwsCredentials::new("AKIAIOSFODNN7EXAMPLE", SecretString::new("k".into()))?;
    /// let refused = SecretsManager::new("us-east-1", credentials)?.endpoint("http://10.0.0.5");
    /// assert_eq!(refused.unwrap_err(), AwsConfigError::Endpoint);
    /// # Ok::<(), AwsConfigError>(())
    /// ```
    pub fn endpoint(mut self, url: &str) -> Result<Self, AwsConfigError> {
        let parsed = url::Url::parse(url).map_err(|_| AwsConfigError::Endpoint)?;
        let loopback = match parsed.host() {
            Some(url::Host::Domain(name)) => name == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => return Err(AwsConfigError::Endpoint),
        };
        let scheme_ok = parsed.scheme() == "https" || (parsed.scheme() == "http" && loopback);
        let plain = parsed.username().is_empty()
            && parsed.password().is_none()
            && parsed.query().is_none()
            && parsed.fragment().is_none();
        if !scheme_ok || !plain {
            return Err(AwsConfigError::Endpoint);
        }
        self.endpoint = parsed.into();
        Ok(self)
    }

    /// Connects where `policy` allows: the endpoint's network when it is not a public address
    /// (a VPC endpoint's `10.…` addresses, loopback for a test server).
    pub fn fetch_policy(mut self, policy: &FetchPolicy) -> Result<Self, AwsConfigError> {
        self.fetcher = Fetcher::new(policy).map_err(|e| AwsConfigError::Client(e.to_string()))?;
        Ok(self)
    }

    /// The region requests are signed for.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The URL requests are sent to.
    pub fn endpoint_url(&self) -> &str {
        &self.endpoint
    }

    /// The current (`AWSCURRENT`) value of the secret `secret_id` (its name or ARN), fetched
    /// now, uncached: text, or the bytes of a binary secret.
    pub async fn fetch(&self, secret_id: &str) -> Result<SecretValue, AwsSecretError> {
        let body = self.get_secret_value(secret_id).await?;
        parse_value(secret_id, &body)
    }

    /// The secret `secret_id` (its name or ARN) as a [`CachedSecret`]: fetched on its first
    /// read, then kept for a time to live (default 5 minutes).
    pub fn secret(&self, secret_id: &str) -> CachedSecret {
        CachedSecret {
            manager: self.clone(),
            secret_id: secret_id.to_owned(),
            key: None,
            ttl: DEFAULT_TTL,
            serve_stale_for: DEFAULT_SERVE_STALE_FOR,
            cache: Arc::new(Cache::new(DEFAULT_TTL, DEFAULT_SERVE_STALE_FOR)),
        }
    }

    /// The body of a successful `GetSecretValue` answer.
    async fn get_secret_value(
        &self,
        secret_id: &str,
    ) -> Result<Zeroizing<Vec<u8>>, AwsSecretError> {
        let error = |kind| AwsSecretError::new(kind, secret_id);
        let body = serde_json::to_vec(&serde_json::json!({ "SecretId": secret_id }))
            .map_err(|_| error(AwsSecretErrorKind::Signing))?;
        let headers = [
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", "secretsmanager.GetSecretValue"),
        ];
        let params = v4::SigningParams::builder()
            .identity(&self.identity)
            .region(&self.region)
            .name("secretsmanager")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|_| error(AwsSecretErrorKind::Signing))?
            .into();
        let signable = SignableRequest::new(
            "POST",
            self.endpoint.as_str(),
            headers.iter().copied(),
            SignableBody::Bytes(&body),
        )
        .map_err(|_| error(AwsSecretErrorKind::Signing))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|_| error(AwsSecretErrorKind::Signing))?
            .into_parts();

        let mut request = self
            .fetcher
            .request(reqwest::Method::POST, &self.endpoint)
            .map_err(|e| from_fetch(secret_id, e))?;
        for (name, value) in headers {
            request = request.header(name, value);
        }
        for (name, value) in instructions.headers() {
            let mut value = reqwest::header::HeaderValue::from_str(value)
                .map_err(|_| error(AwsSecretErrorKind::Signing))?;
            // The signature and the session token stay out of the HTTP stack's logs.
            value.set_sensitive(true);
            request = request.header(name, value);
        }
        let response = Fetcher::send(request.body(body))
            .await
            .map_err(|e| from_fetch(secret_id, e))?;
        let status = response.status();
        if !status.is_success() {
            let header_code = response
                .headers()
                .get("x-amzn-errortype")
                .and_then(|v| v.to_str().ok())
                .and_then(error_code);
            // The body is read only for its error code; an unreadable one leaves the header's.
            let body = crate::fetch::read_capped(response, MAX_ERROR_BYTES)
                .await
                .map(Zeroizing::new)
                .unwrap_or_default();
            return Err(error_from_answer(
                secret_id,
                status.as_u16(),
                header_code,
                &body,
            ));
        }
        crate::fetch::read_capped(response, MAX_RESPONSE_BYTES)
            .await
            .map(Zeroizing::new)
            .map_err(|e| from_fetch(secret_id, e))
    }
}

/// The default time a [`CachedSecret`] keeps a value: the AWS Secrets Manager Agent's.
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);

/// The default time a [`CachedSecret`] serves a value past its time to live while AWS cannot
/// be reached.
pub const DEFAULT_SERVE_STALE_FOR: Duration = Duration::from_secs(300);

/// A secret's value as AWS Secrets Manager holds it: what [`SecretsManager::fetch`] answers.
///
/// ```
/// use mcp_secure::secret::{Secret, aws::{AwsSecretError, SecretValue, SecretsManager}};
/// /// A DER private key, stored as a binary secret or as base64 text.
/// async fn tls_key(manager: &SecretsManager) -> Result<Option<Secret<Vec<u8>>>, AwsSecretError> {
///     Ok(match manager.fetch("prod/notes/tls-key").await? {
///         SecretValue::Binary(der) => Some(der),
///         _ => None,
///     })
/// }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum SecretValue {
    /// A `SecretString`.
    Text(SecretString),
    /// A `SecretBinary`, decoded.
    Binary(Secret<Vec<u8>>),
}

/// One secret of a [`SecretsManager`], kept for a time to live.
///
/// [`Self::get`] answers from the cache while the value is younger than [`Self::ttl`]; the first
/// read after that fetches the current version again, so a rotation is picked up within the
/// time to live. Readers that arrive while one fetches wait for its answer: at expiry, many
/// readers make one request.
///
/// When that fetch fails:
/// - if AWS is throttling, answers a 5xx, or cannot be reached or answer in 5 s, the value
///   fetched before is served for up to [`Self::serve_stale_for`] past its expiry (default 5
///   minutes; zero to never serve it), with a warning logged: a rotation keeps the previous
///   version valid for a while (`AWSPREVIOUS`), and an outage of the store should not become
///   one of every server that reads from it. Past that bound reads fail;
/// - if AWS says the secret is not found, access is denied, or the request is invalid (a
///   secret scheduled for deletion), or the answer or the secret is not what was asked for,
///   reads fail at once and the cached value is forgotten: its owner deleted it or revoked
///   this server's access, and a security library does not go on using it.
///
/// After a failed fetch the next read fetches again no sooner than one second later (reads in
/// between get the same answer), so a failing store is not asked on every read.
///
/// Nothing is fetched until the first [`Self::get`]: call it at start-up to fail fast.
/// Clones share the cache.
///
/// ```
/// use std::time::Duration;
/// use mcp_secure::secret::{SecretString, aws::{AwsCredentials, SecretsManager}};
/// let credentials = AwsCredentials::new("AKIAIOSFODNN7EXAMPLE", SecretString::new("k".into()))?;
/// let api_key = SecretsManager::new("eu-west-1", credentials)?
///     .secret("prod/notes/api-key")
///     .ttl(Duration::from_secs(60))
///     // Fail rather than use a value AWS has not confirmed for more than a minute.
///     .serve_stale_for(Duration::ZERO);
/// assert_eq!(
///     format!("{api_key:?}"),
///     "CachedSecret { secret_id: \"prod/notes/api-key\", key: None, ttl: 60s, serve_stale_for: 0ns, .. }"
/// );
/// # Ok::<(), mcp_secure::secret::aws::AwsConfigError>(())
/// ```
#[derive(Clone)]
pub struct CachedSecret {
    manager: SecretsManager,
    secret_id: String,
    key: Option<String>,
    ttl: Duration,
    serve_stale_for: Duration,
    cache: Arc<Cache<AwsSecretError>>,
}

impl fmt::Debug for CachedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedSecret")
            .field("secret_id", &self.secret_id)
            .field("key", &self.key)
            .field("ttl", &self.ttl)
            .field("serve_stale_for", &self.serve_stale_for)
            .finish_non_exhaustive()
    }
}

impl CachedSecret {
    fn rebuilt(mut self) -> Self {
        self.cache = Arc::new(Cache::new(self.ttl, self.serve_stale_for));
        self
    }

    /// Reads the string field `key` of a secret that is a JSON object (the shape of the
    /// console's key/value secrets and of rotated database credentials:
    /// `{"username": …, "password": …}`); the other fields are skipped unread.
    pub fn json_key(mut self, key: &str) -> Self {
        self.key = Some(key.to_owned());
        self.rebuilt()
    }

    /// How long a fetched value is used before it is fetched again (default 5 minutes).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self.rebuilt()
    }

    /// How long past its time to live a value is still served while AWS is throttling,
    /// failing (5xx) or unreachable (default 5 minutes; `Duration::ZERO` fails reads then).
    pub fn serve_stale_for(mut self, bound: Duration) -> Self {
        self.serve_stale_for = bound;
        self.rebuilt()
    }

    /// The secret's id (name or ARN).
    pub fn secret_id(&self) -> &str {
        &self.secret_id
    }

    /// The secret (or its JSON field): from the cache while it is fresh, else fetched now.
    pub async fn get(&self) -> Result<SecretString, AwsSecretError> {
        self.cache
            .get(|| async {
                let value = self.manager.fetch(&self.secret_id).await?;
                let SecretValue::Text(text) = value else {
                    return Err(AwsSecretError::new(
                        AwsSecretErrorKind::Binary,
                        &self.secret_id,
                    ));
                };
                let secret = match &self.key {
                    Some(key) => json_field(&self.secret_id, key, text.expose_secret())?,
                    None => text,
                };
                if secret.expose_secret().is_empty() {
                    let mut e = AwsSecretError::new(AwsSecretErrorKind::Empty, &self.secret_id);
                    e.key.clone_from(&self.key);
                    return Err(e);
                }
                Ok(secret)
            })
            .await
    }
}

fn parse_value(secret_id: &str, body: &[u8]) -> Result<SecretValue, AwsSecretError> {
    #[derive(Deserialize)]
    struct Answer {
        #[serde(rename = "SecretString")]
        text: Option<Text>,
        #[serde(rename = "SecretBinary")]
        binary: Option<Text>,
    }
    let malformed = || AwsSecretError::new(AwsSecretErrorKind::Malformed, secret_id);
    let answer: Answer = serde_json::from_slice(body).map_err(|_| malformed())?;
    match (answer.text, answer.binary) {
        (Some(Text(text)), _) => Ok(SecretValue::Text(text)),
        (None, Some(Text(encoded))) => {
            use base64::Engine as _;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(encoded.expose_secret())
                .map_err(|_| malformed())?;
            Ok(SecretValue::Binary(Secret::from_value(bytes)))
        }
        (None, None) => Err(malformed()),
    }
}

/// The string field `key` of the JSON object `text`.
fn json_field(secret_id: &str, key: &str, text: &str) -> Result<SecretString, AwsSecretError> {
    let error = |kind| {
        let mut e = AwsSecretError::new(kind, secret_id);
        e.key = Some(key.to_owned());
        e
    };
    match field_of(text, key).map_err(|()| error(AwsSecretErrorKind::NotJson))? {
        Field::Text(secret) => Ok(secret),
        Field::NotString => Err(error(AwsSecretErrorKind::KeyNotString)),
        Field::Missing => Err(error(AwsSecretErrorKind::MissingKey)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_field_is_read_without_the_others() {
        let text = r#"{"username":"app","password":"s3cr3t","port":5432,"nested":{"a":[1,"x"]}}"#;
        assert_eq!(
            json_field("s", "password", text).unwrap().expose_secret(),
            "s3cr3t"
        );
        for (key, text, kind) in [
            ("nope", text, AwsSecretErrorKind::MissingKey),
            ("port", text, AwsSecretErrorKind::KeyNotString),
            ("nested", text, AwsSecretErrorKind::KeyNotString),
            ("password", "s3cr3t", AwsSecretErrorKind::NotJson),
            ("password", r#"["s3cr3t"]"#, AwsSecretErrorKind::NotJson),
            (
                "password",
                r#"{"password":"a","password":"b"}"#,
                AwsSecretErrorKind::NotJson,
            ),
            (
                "password",
                r#"{"password":"s3cr3t"} trailing"#,
                AwsSecretErrorKind::NotJson,
            ),
        ] {
            let e = json_field("s", key, text).unwrap_err();
            assert_eq!(e.kind(), kind, "{key} {text}");
            assert!(!format!("{e} {e:?}").contains("s3cr3t"));
        }
    }

    #[test]
    fn answers_are_text_or_binary() {
        let text = parse_value(
            "s",
            br#"{"ARN":"arn","SecretString":"v\"1","VersionId":"x"}"#,
        );
        assert!(matches!(text, Ok(SecretValue::Text(t)) if t.expose_secret() == "v\"1"));
        let binary = parse_value("s", br#"{"SecretBinary":"AAEC/w=="}"#);
        assert!(
            matches!(binary, Ok(SecretValue::Binary(b)) if b.expose_secret() == &[0, 1, 2, 255])
        );
        for bad in [&b"{}"[..], b"[]", b"<html>", br#"{"SecretBinary":"%%"}"#] {
            let e = parse_value("s", bad).unwrap_err();
            assert_eq!(e.kind(), AwsSecretErrorKind::Malformed);
        }
    }

    #[test]
    fn configuration_names_the_setting_and_its_rule() {
        let key = || SecretString::new("k".into());
        assert_eq!(
            AwsCredentials::new("AKIA\nX-Injected: 1", key()).unwrap_err(),
            AwsConfigError::AccessKeyId
        );
        let credentials = AwsCredentials::new("AKIAIOSFODNN7EXAMPLE", key()).unwrap();
        assert_eq!(format!("{credentials:?}"), "AwsCredentials { .. }");
        for region in ["", "EU-WEST-1", "eu-west-1.evil.example#", "a/b"] {
            assert_eq!(
                SecretsManager::new(region, credentials.clone()).unwrap_err(),
                AwsConfigError::Region
            );
        }
        let china = SecretsManager::new("cn-north-1", credentials.clone()).unwrap();
        assert_eq!(
            china.endpoint_url(),
            "https://secretsmanager.cn-north-1.amazonaws.com.cn/"
        );
        for endpoint in [
            "http://secretsmanager.example",
            "https://user:pw@vpce.example",
            "https://vpce.example/?x=1",
            "not a url",
        ] {
            assert_eq!(
                china.clone().endpoint(endpoint).unwrap_err(),
                AwsConfigError::Endpoint,
                "{endpoint}"
            );
        }
    }
}
