//! The [`TokenVerifier`] trait: who a bearer token belongs to.

use std::{fmt, future::Future, pin::Pin};

use super::{ApiKeys, Principal};

/// Why a token was refused. The reason goes to the audit log; a client only ever sees
/// `invalid_token` and a generic description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyError {
    reason: String,
    unavailable: bool,
}

impl VerifyError {
    /// A refusal with a reason for the audit log (never the token itself).
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            unavailable: false,
        }
    }

    /// The verifier could not decide (its authorization server is down or answered
    /// nonsense): the token is refused all the same (fail closed), but a client is told to
    /// retry (`503`), not that its token is bad.
    pub fn unavailable(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            unavailable: true,
        }
    }

    /// Whether the verifier could not decide ([`Self::unavailable`]).
    pub fn is_unavailable(&self) -> bool {
        self.unavailable
    }

    /// The reason, for the audit log.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "token refused: {}", self.reason)
    }
}

impl std::error::Error for VerifyError {}

/// The future a [`TokenVerifier`] returns.
pub type VerifyFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Principal, VerifyError>> + Send + 'a>>;

/// Turns a bearer token into the [`Principal`] it stands for, or refuses it.
///
/// Implemented by [`ApiKeys`] and [`super::JwtVerifier`]; implement it for anything else (token
/// introspection, a session store). The HTTP layer tries its verifiers in order and takes the
/// first that accepts, and stamps the principal with that verifier's [`issuer`](Self::issuer):
/// the same subject from two verifiers is two callers. Two verifiers of one layer must have
/// different issuers.
///
/// ```
/// use mcp_secure::auth::{Principal, TokenVerifier, VerifyError, VerifyFuture};
///
/// /// Accepts exactly one token (for tests).
/// struct Fixed;
///
/// impl TokenVerifier for Fixed {
///     fn issuer(&self) -> &str {
///         "test-fixed"
///     }
///
///     fn verify<'a>(&'a self, token: &'a str) -> VerifyFuture<'a> {
///         Box::pin(async move {
///             if token == "let-me-in" {
///                 Ok(Principal::new("tester", ["notes:read"]))
///             } else {
///                 Err(VerifyError::new("not the test token"))
///             }
///         })
///     }
/// }
/// ```
pub trait TokenVerifier: Send + Sync + 'static {
    /// Who vouches for the principals this verifier returns: a JWT issuer URL, or a name such
    /// as `api-key`; see [`super::check_issuer`] for the form.
    fn issuer(&self) -> &str;

    /// The principal of `token`.
    fn verify<'a>(&'a self, token: &'a str) -> VerifyFuture<'a>;

    /// Called once, before any token, by the layer this verifier is added to, with its
    /// canonical resource URL. A verifier that checks tokens' audience takes it as its audience
    /// when it was built without one, and refuses it when it was built for another URL (the
    /// layer's build then fails, rather than every token). The default accepts any resource.
    fn bind_resource(&mut self, resource: &str) -> Result<(), AudienceMismatch> {
        let _ = resource;
        Ok(())
    }
}

/// A verifier built for another audience than the resource of the layer it was added to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudienceMismatch {
    /// The verifier's issuer.
    pub issuer: String,
    /// The audience it was built with.
    pub audience: String,
}

impl fmt::Display for AudienceMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the verifier of `{}` takes tokens for `{}`, which is not this server's resource URL; build it with `Audience::Resource`",
            self.issuer, self.audience
        )
    }
}

impl std::error::Error for AudienceMismatch {}

/// What a verifier of `issuer` built for `audience` (`None`: [`Audience::Resource`]) does when
/// bound to `resource`: `Ok(Some(resource))` to take it as its audience, `Ok(None)` when it
/// already is, `Err` when the verifier was built for another.
#[cfg(any(feature = "jwt", feature = "introspection"))]
pub(crate) fn bind_audience(
    issuer: &str,
    audience: Option<&str>,
    resource: &str,
) -> Result<Option<String>, AudienceMismatch> {
    match audience {
        None => Ok(Some(resource.to_owned())),
        Some(audience) if audience == resource => Ok(None),
        Some(audience) => Err(AudienceMismatch {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        }),
    }
}

impl TokenVerifier for ApiKeys {
    fn issuer(&self) -> &str {
        ApiKeys::issuer(self)
    }

    fn verify<'a>(&'a self, token: &'a str) -> VerifyFuture<'a> {
        let result =
            ApiKeys::verify(self, token).ok_or_else(|| VerifyError::new("unknown API key"));
        Box::pin(std::future::ready(result))
    }
}

/// Whom a token must be meant for: its `aud` must hold this (RFC 8707).
///
/// A string is an audience of its own; [`Audience::Resource`] is the canonical resource URL of
/// the [`AuthLayer`](crate::http::AuthLayer) or [`Endpoint`](crate::http::Endpoint) the
/// verifier is added to, so the URL is written once. A verifier whose audience is another URL
/// than that layer's resource is refused when the layer is built, rather than refusing every
/// token.
///
/// ```
/// # #[cfg(feature = "jwt")] {
/// use mcp_secure::{auth::{Audience, JwtVerifier}, secret::SecretString};
/// let secret = SecretString::new("a-secret-of-at-least-32-bytes-long!".into());
/// let verifier = JwtVerifier::hs256(secret, "https://auth.example.com", Audience::Resource);
/// assert!(verifier.is_ok());
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// The resource URL of the layer this verifier serves.
    Resource,
    /// This URL.
    Url(String),
}

impl From<&str> for Audience {
    fn from(url: &str) -> Self {
        Self::Url(url.to_owned())
    }
}

impl From<String> for Audience {
    fn from(url: String) -> Self {
        Self::Url(url)
    }
}
