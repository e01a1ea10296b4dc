//! Who is calling and what they may do: [`Principal`], scopes and their implication, and the
//! verifiers behind [`TokenVerifier`]: API keys and JWTs.

mod api_key;
mod attributes;
#[cfg(feature = "introspection")]
mod introspection;
#[cfg(feature = "jwks")]
mod jwks;
#[cfg(feature = "jwt")]
mod jwt;
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
pub use key_file::{ApiKeyFile, ApiKeyFileError, MISSING_GRACE, WATCH_INTERVAL};
pub use owned::Owned;
pub(crate) use principal::CallMark;
pub(crate) use principal::check_verifier_issuer;
pub use principal::{ANONYMOUS_ISSUER, IssuerError, LOCAL_ISSUER, Principal, check_issuer};
pub use scope::{ScopeCatalog, ScopeDecl, ScopeSyntaxError, check_scope};
pub use tenant::{MAX_TENANT_LEN, TenantError, check_tenant};
pub use verifier::{Audience, AudienceMismatch, TokenVerifier, VerifyError, VerifyFuture};
