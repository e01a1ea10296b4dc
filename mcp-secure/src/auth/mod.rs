//! Who is calling and what they may do: [`Principal`], scopes and their implication, and the
//! verifiers behind [`TokenVerifier`]: API keys and JWTs.

mod api_key;
mod attributes;
#[cfg(any(feature = "jwt", feature = "introspection"))]
mod claims;
#[cfg(feature = "introspection")]
mod introspection;
#[cfg(feature = "jwks")]
mod jwks;
#[cfg(feature = "oauth-proxy")]
pub(crate) use jwks::checked_url;
#[cfg(feature = "jwt")]
mod jwk_set;
#[cfg(feature = "jwt")]
mod jwt;
#[cfg(feature = "jwt")]
pub(crate) mod jwt_crypto;
#[cfg(feature = "jwt")]
mod key_check;
#[cfg(feature = "jwt")]
mod key_pem;
#[cfg(all(feature = "jwt", feature = "http"))]
pub(crate) use key_pem::{KeyPemError, encoding_key as private_key_pem};
mod key_file;
mod owned;
mod principal;
mod scope;
mod tenant;
mod verifier;

pub use api_key::{API_KEY_ISSUER, ApiKeyConfigError, ApiKeyConfigErrorKind, ApiKeys};
pub use attributes::{
    Attribute, AttributeError, AttributeKind, Attributes, BUILT_IN_ATTRIBUTES,
    MAX_ATTRIBUTE_ENTRIES, MAX_ATTRIBUTE_TEXT, check_attribute,
};
#[cfg(feature = "introspection")]
pub use introspection::{IntrospectionConfigError, IntrospectionVerifier};
/// The JWT signing algorithms [`JwtVerifier::hmac`] and [`JwtVerifier::public_key_pem`] take.
#[cfg(feature = "jwt")]
pub use jsonwebtoken::Algorithm as JwtAlgorithm;
#[cfg(feature = "jwt")]
pub use jwt::{JwtConfigError, JwtConfigErrorKind, JwtVerifier};
#[cfg(feature = "jwt")]
pub use jwt_crypto::install as install_jwt_crypto;
pub use key_file::{ApiKeyFile, ApiKeyFileError, MISSING_GRACE, WATCH_INTERVAL};
pub use owned::Owned;
pub(crate) use principal::CallMark;
pub(crate) use principal::check_verifier_issuer;
pub use principal::{ANONYMOUS_ISSUER, IssuerError, LOCAL_ISSUER, Principal, check_issuer};
pub use scope::{ScopeCatalog, ScopeDecl, ScopeSyntaxError, check_scope};
pub use tenant::{MAX_TENANT_LEN, TenantError, check_tenant};
pub use verifier::{Audience, AudienceMismatch, TokenVerifier, VerifyError, VerifyFuture};

/// The key thumbprint a token's `cnf` claim (RFC 7800) binds it to: `jkt` (RFC 9449 §6.1), a
/// base64url SHA-256. A `cnf` of any other form binds the token by a method this library does
/// not check (an mTLS certificate, a raw key): the token is refused rather than taken as a
/// bearer token.
#[cfg(any(feature = "jwt", feature = "introspection"))]
pub(crate) fn bound_key(cnf: Option<&serde_json::Value>) -> Result<Option<&str>, VerifyError> {
    use serde_json::Value;
    let members = match cnf {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(members)) => members,
        Some(_) => return Err(VerifyError::new("token's `cnf` claim is not an object")),
    };
    match (members.get("jkt"), members.len()) {
        (Some(Value::String(jkt)), 1)
            if jkt.len() == 43
                && jkt
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_')) =>
        {
            Ok(Some(jkt))
        }
        _ => Err(VerifyError::new(
            "token's `cnf` binds it by another method than a DPoP key thumbprint (`jkt`); it cannot be checked here",
        )),
    }
}
