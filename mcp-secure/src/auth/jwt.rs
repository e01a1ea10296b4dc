//! JWT access tokens, verified as the MCP authorization spec asks.

#[cfg(feature = "jwks")]
use std::sync::Arc;
use std::{collections::HashMap, fmt, time::Duration};

use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};
use serde::Deserialize;

use super::{
    Audience, AudienceMismatch, Principal, TokenVerifier, VerifyError, VerifyFuture,
    scope::{is_scope_char, split_scope},
};
use crate::secret::SecretString;

/// Verifies JWT access tokens: signature with a key and algorithm fixed by configuration (never
/// taken from the token, so `alg: none` and HS/RS confusion are refused), then the required
/// claims `exp`, `iss` (the configured issuer) and `aud` (containing this server's canonical
/// resource URL, RFC 8707: a token meant for another service is refused), and `nbf` when
/// present, with a small leeway (default 30 s).
///
/// The principal: `sub` is the subject and the configured issuer its [`Principal::issuer`];
/// scopes come from `scope` (separated by U+0020 only: a token whose `scope` holds any other
/// whitespace or a control character is refused, RFC 6749 §3.3) or `scp` (an array); the client
/// from `client_id` or `azp`. A token whose header lists `crit` extensions is refused
/// (RFC 7515 §4.1.11: this verifier understands none).
///
/// ```
/// use mcp_secure::{auth::JwtVerifier, secret::SecretString};
/// let verifier = JwtVerifier::hmac(
///     jsonwebtoken::Algorithm::HS256,
///     SecretString::new("a-secret-of-at-least-32-bytes-long!".into()),
///     "https://auth.example.com",
///     "https://mcp.example.com/mcp",
/// ).unwrap();
/// # let _ = verifier;
/// ```
pub struct JwtVerifier {
    pub(super) keys: Keys,
    validation: Validation,
    issuer: String,
    /// `None` until [`Audience::Resource`] is bound to the layer's resource: no token passes.
    audience: Option<String>,
    /// Whether the header must say `typ: at+jwt` (RFC 9068).
    require_at_jwt: bool,
    /// The tenant claim and attributes read into the caller.
    claims: super::claims::ClaimMap,
}

pub(super) enum Keys {
    /// One key, for one algorithm.
    Single(DecodingKey),
    /// Keys by `kid`, each with its algorithm (a JWK Set).
    ById(KeyMap),
    /// A JWK Set fetched from a URL, refreshed when a token names an unknown key.
    #[cfg(feature = "jwks")]
    Remote(Arc<super::jwks::RemoteJwks>),
}

pub(super) type KeyMap = HashMap<String, (Algorithm, DecodingKey)>;

/// Why a verifier could not be configured: what was wrong ([`JwtConfigErrorKind`]) and a
/// sentence saying how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtConfigError {
    kind: JwtConfigErrorKind,
    pub(super) detail: String,
}

/// What was wrong with a verifier's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwtConfigErrorKind {
    /// The issuer is not a valid verifier issuer.
    Issuer,
    /// The audience is empty.
    Audience,
    /// The algorithm does not fit the key (HMAC for a secret, asymmetric for a PEM).
    Algorithm,
    /// The key itself: a secret too short, a PEM that is not a key of the algorithm.
    Key,
    /// A key file could not be read.
    Read,
    /// The JWKS URL is not an absolute `https` URL (or `http` on loopback).
    JwksUrl,
    /// The JWK Set could not be fetched.
    Fetch,
    /// The issuer's metadata (RFC 8414, OpenID Connect discovery) could not be found or read,
    /// or names no `jwks_uri`.
    Discovery,
    /// The issuer's metadata names another issuer than the one configured.
    IssuerMismatch,
    /// The JWK Set is not usable: not JSON, no keys for signatures, a key without `kid` or
    /// `alg`, a symmetric key, private members, a key whose `kty` or `crv` is not its
    /// algorithm's, a key ring refuses.
    JwkSet,
    /// `jsonwebtoken`'s process-wide cryptography was fixed before this library could make it
    /// ring: the application used `jsonwebtoken` first (see
    /// [`install_jwt_crypto`](super::install_jwt_crypto)).
    CryptoProvider,
}

impl JwtConfigError {
    pub(super) fn new(kind: JwtConfigErrorKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }

    /// What was wrong.
    pub fn kind(&self) -> JwtConfigErrorKind {
        self.kind
    }
}

impl fmt::Display for JwtConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JWT verifier: {}", self.detail)
    }
}

impl std::error::Error for JwtConfigError {}

#[derive(Deserialize)]
struct Claims {
    sub: Option<String>,
    scope: Option<String>,
    scp: Option<Vec<String>>,
    client_id: Option<String>,
    azp: Option<String>,
    /// The key the token is bound to (RFC 7800; RFC 9449 §6).
    cnf: Option<serde_json::Value>,
}

impl JwtVerifier {
    pub(super) fn new(
        keys: Keys,
        algorithms: Vec<Algorithm>,
        issuer: &str,
        audience: Audience,
    ) -> Result<Self, JwtConfigError> {
        // `jsonwebtoken` fixes its provider once per process; a verifier on another one (or on
        // the placeholder that panics, fixed by a first use without a crypto feature) would
        // keep none of ring's bounds, or panic on every token.
        if !super::jwt_crypto::installed() {
            return Err(JwtConfigError::new(
                JwtConfigErrorKind::CryptoProvider,
                "jsonwebtoken's cryptography was fixed before this library's (the application \
                 signed or verified with jsonwebtoken first, or installed another provider); \
                 call `mcp_secure::auth::install_jwt_crypto()` before any other use of jsonwebtoken",
            ));
        }
        super::check_verifier_issuer(issuer)
            .map_err(|e| JwtConfigError::new(JwtConfigErrorKind::Issuer, format!("issuer: {e}")))?;
        let audience = match audience {
            Audience::Resource => None,
            Audience::Url(url) if url.is_empty() => {
                return Err(JwtConfigError::new(
                    JwtConfigErrorKind::Audience,
                    "the audience is empty; name the resource URL or use `Audience::Resource`",
                ));
            }
            Audience::Url(url) => Some(url),
        };
        let mut verifier = Self {
            keys,
            validation: validation(algorithms, issuer),
            issuer: issuer.to_owned(),
            audience: None,
            require_at_jwt: false,
            claims: super::claims::ClaimMap::default(),
        };
        if let Some(url) = audience {
            verifier.set_audience(url);
        }
        Ok(verifier)
    }

    fn set_audience(&mut self, url: String) {
        self.validation.set_audience(&[&url]);
        self.audience = Some(url);
    }

    /// The audience tokens must name; `None` for [`Audience::Resource`] not yet bound to a
    /// layer (every token is refused until it is).
    pub fn audience(&self) -> Option<&str> {
        self.audience.as_deref()
    }
}

fn validation(algorithms: Vec<Algorithm>, issuer: &str) -> Validation {
    let mut v = Validation::new(algorithms[0]);
    v.algorithms = algorithms;
    v.set_issuer(&[issuer]);
    v.set_required_spec_claims(&["exp", "iss", "aud"]);
    v.validate_exp = true;
    v.validate_nbf = true;
    v.leeway = 30;
    v
}

impl JwtVerifier {
    /// HS256 with a shared secret of at least 32 bytes: [`hmac`](Self::hmac) without naming
    /// the algorithm (and without depending on `jsonwebtoken` for its name).
    ///
    /// ```
    /// use mcp_secure::{auth::JwtVerifier, secret::SecretString};
    /// let secret = SecretString::new("a-secret-of-at-least-32-bytes-long!".into());
    /// let verifier = JwtVerifier::hs256(secret, "https://auth.example.com", "https://mcp.example.com/mcp");
    /// assert!(verifier.is_ok());
    /// let short = JwtVerifier::hs256(SecretString::new("short".into()), "https://a.example", "https://m.example/mcp");
    /// assert!(short.unwrap_err().to_string().contains("at least 32 bytes"));
    /// ```
    pub fn hs256(
        secret: SecretString,
        issuer: &str,
        audience: impl Into<Audience>,
    ) -> Result<Self, JwtConfigError> {
        Self::hmac(Algorithm::HS256, secret, issuer, audience)
    }

    /// HS256/384/512 with a shared secret of at least 32 bytes.
    pub fn hmac(
        alg: Algorithm,
        secret: SecretString,
        issuer: &str,
        audience: impl Into<Audience>,
    ) -> Result<Self, JwtConfigError> {
        if !matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
            return Err(JwtConfigError::new(
                JwtConfigErrorKind::Algorithm,
                format!("{alg:?} is not an HMAC algorithm"),
            ));
        }
        if secret.expose_secret().len() < 32 {
            return Err(JwtConfigError::new(
                JwtConfigErrorKind::Key,
                "an HMAC secret has at least 32 bytes",
            ));
        }
        Self::new(
            Keys::Single(DecodingKey::from_secret(secret.expose_secret().as_bytes())),
            vec![alg],
            issuer,
            audience.into(),
        )
    }

    /// RS*, PS*, ES256/384 or EdDSA with a public key in PEM.
    pub fn public_key_pem(
        alg: Algorithm,
        pem: &[u8],
        issuer: &str,
        audience: impl Into<Audience>,
    ) -> Result<Self, JwtConfigError> {
        let key = super::key_pem::decoding_key(alg, pem).map_err(|e| match e {
            super::key_pem::KeyPemError::Symmetric => JwtConfigError::new(
                JwtConfigErrorKind::Algorithm,
                format!("{alg:?} does not use a public key; use `hmac`"),
            ),
            e => JwtConfigError::new(
                JwtConfigErrorKind::Key,
                format!("the PEM is not a {alg:?} public key ({e})"),
            ),
        })?;
        Self::new(Keys::Single(key), vec![alg], issuer, audience.into())
    }

    /// The keys of a JWK Set (JSON text, e.g. a file's contents). Tokens must name their key
    /// with `kid`, and each key's algorithm is the one its JWK declares (`alg`), or, without
    /// one, the family default (RS256, ES256 for P-256, ES384 for P-384, EdDSA).
    pub fn jwk_set(
        json: &str,
        issuer: &str,
        audience: impl Into<Audience>,
    ) -> Result<Self, JwtConfigError> {
        let keys = super::jwk_set::parse_jwk_set(json)?;
        let algorithms = super::jwk_set::algorithms_of(&keys);
        Self::new(Keys::ById(keys), algorithms, issuer, audience.into())
    }

    /// The keys of the JWK Set in the file at `path` (see [`Self::jwk_set`]).
    pub fn jwk_set_file(
        path: impl AsRef<std::path::Path>,
        issuer: &str,
        audience: impl Into<Audience>,
    ) -> Result<Self, JwtConfigError> {
        let path = path.as_ref();
        let json = std::fs::read_to_string(path).map_err(|e| {
            JwtConfigError::new(
                JwtConfigErrorKind::Read,
                format!("reading {}: {}", path.display(), e.kind()),
            )
        })?;
        Self::jwk_set(&json, issuer, audience)
    }

    /// Allows this much clock difference for `exp` and `nbf` (default 30 s).
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.validation.leeway = leeway.as_secs();
        self
    }

    /// Takes the caller's tenant from the claim `name` (e.g. `tenant`, Entra ID's `tid`): a
    /// string checked as [`check_tenant`](super::check_tenant) does, or the token is refused;
    /// a token without the claim makes a principal with no tenant.
    pub fn tenant_claim(mut self, name: &str) -> Self {
        self.claims.tenant = Some(name.to_owned());
        self
    }

    /// Reads each of `attributes` from the claim of its name into the caller's attributes
    /// ([`Principal::attribute`](super::Principal::attribute)): a claim of another kind, or
    /// whose value [`check_attribute`](super::check_attribute) refuses, refuses the token; a
    /// token without the claim makes a principal without the attribute.
    pub fn attributes(mut self, attributes: &super::Attributes) -> Self {
        self.claims.attributes = attributes.clone();
        self
    }

    /// Requires RFC 9068's access token type in the header (`typ: at+jwt`, or
    /// `application/at+jwt`), so that an ID token or another JWT signed by the same issuer for
    /// the same audience is not taken for an access token. Off by default: many issuers do not
    /// set it; turn it on when yours does.
    pub fn require_at_jwt(mut self) -> Self {
        self.require_at_jwt = true;
        self
    }

    /// The claims of `token`, once its header, signature and registered claims (`exp`, `iss`,
    /// `aud`, `nbf`) have passed.
    pub(crate) async fn verified_claims<T: serde::de::DeserializeOwned>(
        &self,
        token: &str,
    ) -> Result<T, VerifyError> {
        if self.audience.is_none() {
            return Err(VerifyError::new(
                "this verifier has no audience yet: add it to an AuthLayer, or name one",
            ));
        }
        if token.len() > 16 * 1024 {
            return Err(VerifyError::new("token longer than 16 KiB"));
        }
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| VerifyError::new(describe(e.kind())))?;
        // RFC 7515 §4.1.11: a recipient MUST refuse a token whose `crit` lists an extension it
        // does not understand, and this verifier understands none.
        if header.crit.is_some() {
            return Err(VerifyError::new(
                "token has critical header extensions (`crit`)",
            ));
        }
        // RFC 9068 §4: `at+jwt`, compared without case, with or without `application/`.
        if self.require_at_jwt
            && !header.typ.as_deref().is_some_and(|t| {
                let t = t.to_ascii_lowercase();
                t == "at+jwt" || t == "application/at+jwt"
            })
        {
            return Err(VerifyError::new(
                "token is not an access token (its header's `typ` is not `at+jwt`)",
            ));
        }
        let data = match &self.keys {
            Keys::Single(key) => jsonwebtoken::decode::<T>(token, key, &self.validation),
            Keys::ById(keys) => self.decode_by_kid(token, &header, keys)?,
            #[cfg(feature = "jwks")]
            Keys::Remote(remote) => {
                let kid = header
                    .kid
                    .as_deref()
                    .ok_or_else(|| VerifyError::new("token names no key (`kid`)"))?;
                let keys = remote.keys_for(kid).await;
                self.decode_by_kid(token, &header, &keys)?
            }
        }
        .map_err(|e| VerifyError::new(describe(e.kind())))?;
        Ok(data.claims)
    }

    async fn check(&self, token: &str) -> Result<Principal, VerifyError> {
        let members: super::claims::Members = self.verified_claims(token).await?;
        let claims: Claims = members
            .view()
            .map_err(|_| VerifyError::new("malformed token"))?;
        let subject = claims
            .sub
            .filter(|s| !s.is_empty())
            .ok_or_else(|| VerifyError::new("token has no `sub`"))?;
        let scopes: Vec<String> = match (claims.scope, claims.scp) {
            (Some(scope), _) => split_scope(&scope)?,
            (None, Some(scp)) => {
                if !scp
                    .iter()
                    .all(|s| !s.is_empty() && s.bytes().all(is_scope_char))
                {
                    return Err(VerifyError::new(
                        "`scp` holds a character outside RFC 6749's scope-token",
                    ));
                }
                scp
            }
            (None, None) => Vec::new(),
        };
        let mut principal = self.claims.apply(
            Principal::issued(&self.issuer, &subject, scopes),
            members.all(),
        )?;
        if let Some(jkt) = super::bound_key(claims.cnf.as_ref())? {
            principal = principal.with_bound_key(jkt);
        }
        Ok(match claims.client_id.or(claims.azp) {
            Some(client) => principal.with_client_id(client),
            None => principal,
        })
    }

    /// Decodes with the key `kid` names, and only with that key's algorithm.
    fn decode_by_kid<T: serde::de::DeserializeOwned>(
        &self,
        token: &str,
        header: &jsonwebtoken::Header,
        keys: &KeyMap,
    ) -> Result<jsonwebtoken::errors::Result<jsonwebtoken::TokenData<T>>, VerifyError> {
        let kid = header
            .kid
            .as_deref()
            .ok_or_else(|| VerifyError::new("token names no key (`kid`)"))?;
        let (alg, key) = keys
            .get(kid)
            .ok_or_else(|| VerifyError::new("token names an unknown key"))?;
        if header.alg != *alg {
            return Err(VerifyError::new(
                "token's algorithm does not match its key's",
            ));
        }
        let mut validation = self.validation.clone();
        validation.algorithms = vec![*alg];
        Ok(jsonwebtoken::decode::<T>(token, key, &validation))
    }
}

/// The audit reason for a failed decode; never includes the token.
fn describe(kind: &ErrorKind) -> String {
    match kind {
        ErrorKind::ExpiredSignature => "expired".into(),
        ErrorKind::ImmatureSignature => "not valid yet (nbf)".into(),
        ErrorKind::InvalidAudience => "wrong audience".into(),
        ErrorKind::InvalidIssuer => "wrong issuer".into(),
        ErrorKind::InvalidSignature => "bad signature".into(),
        ErrorKind::InvalidAlgorithm => "algorithm not allowed".into(),
        ErrorKind::MissingRequiredClaim(c) => format!("missing claim `{c}`"),
        ErrorKind::InvalidClaimFormat(c) => format!("malformed claim `{c}`"),
        ErrorKind::InvalidAlgorithmName | ErrorKind::UnsupportedAlgorithm => {
            "unsupported algorithm".into()
        }
        _ => "malformed token".into(),
    }
}

impl TokenVerifier for JwtVerifier {
    fn issuer(&self) -> &str {
        &self.issuer
    }

    fn verify<'a>(&'a self, token: &'a str) -> VerifyFuture<'a> {
        Box::pin(self.check(token))
    }

    fn bind_resource(&mut self, resource: &str) -> Result<(), AudienceMismatch> {
        let bound =
            super::verifier::bind_audience(&self.issuer, self.audience.as_deref(), resource)?;
        if let Some(audience) = bound {
            self.set_audience(audience);
        }
        Ok(())
    }
}

impl fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("algorithms", &self.validation.algorithms)
            .field("issuer", &self.validation.iss)
            .field("audience", &self.validation.aud)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::testing::TokenMinter;

    /// The guide (docs/src/http.md): "`exp`, `iss` and `aud` are required, `nbf` honoured, 30 s leeway". Tokens are
    /// minted 20 s and 40 s either side of now: well inside and well outside the leeway, so
    /// the time the test takes does not matter.
    #[tokio::test]
    async fn exp_and_nbf_are_given_30_s_of_leeway() {
        let (issuer, audience) = ("https://auth.example.com", "https://mcp.example.com/mcp");
        let secret = SecretString::new("a-test-secret-of-32-bytes-or-more".into());
        let minter = TokenMinter::hs256(&secret, issuer, audience);
        let verifier = JwtVerifier::hs256(secret, issuer, audience).unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let token = |exp: i64, nbf: i64| {
            let claims =
                json!({"iss": issuer, "aud": audience, "sub": "ann", "exp": exp, "nbf": nbf});
            let serde_json::Value::Object(claims) = claims else {
                unreachable!()
            };
            minter.mint_claims(claims)
        };
        let verifier = &verifier;
        let verify = |token: String| async move { verifier.verify(&token).await };
        assert!(
            verify(token(now - 20, now - 60)).await.is_ok(),
            "expired 20 s ago"
        );
        let refused = verify(token(now - 40, now - 60)).await.unwrap_err();
        assert_eq!(refused.reason(), "expired", "expired 40 s ago");
        assert!(
            verify(token(now + 600, now + 20)).await.is_ok(),
            "valid in 20 s"
        );
        let refused = verify(token(now + 600, now + 40)).await.unwrap_err();
        assert_eq!(refused.reason(), "not valid yet (nbf)", "valid in 40 s");
    }
}
