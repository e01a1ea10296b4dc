//! Tokens for testing a server and for development: HS256 JWTs that a
//! [`JwtVerifier::hs256`](crate::auth::JwtVerifier::hs256) with the same secret, issuer and
//! audience accepts. Never a way to issue tokens in production: use an authorization server.
//!
//! ```
//! use mcp_secure::{auth::{JwtVerifier, TokenVerifier}, secret::SecretString, testing::TokenMinter};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let secret = SecretString::new("a-test-secret-of-32-bytes-or-more".to_owned());
//! let url = "http://127.0.0.1:8787/mcp";
//! let minter = TokenMinter::hs256(&secret, "http://127.0.0.1:8787", url);
//! let token = minter.mint("alice", ["notes:read"]).unwrap();
//! let verifier = JwtVerifier::hs256(secret, "http://127.0.0.1:8787", url).unwrap();
//! let alice = verifier.verify(&token).await.unwrap();
//! assert_eq!(alice.subject(), "alice");
//! assert!(alice.has_scope("notes:read"));
//! assert!(minter.mint("bob", ["notes:read\tnotes:write"]).is_err(), "not a scope-token");
//! let other = TokenMinter::hs256(&SecretString::new("another-secret-of-32-bytes-or-more".into()), "http://127.0.0.1:8787", url);
//! assert!(verifier.verify(&other.mint("alice", ["notes:read"]).unwrap()).await.is_err());
//! # }
//! ```

#[cfg(feature = "http")]
mod dpop_key;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Map, Value, json};

#[cfg(feature = "http")]
pub use dpop_key::{DpopKey, DpopKeyError, token_hash};

use crate::{
    auth::{ScopeSyntaxError, check_scope},
    secret::SecretString,
};

/// Mints HS256 tokens for one server: its issuer and audience (the resource URL).
pub struct TokenMinter {
    key: EncodingKey,
    issuer: String,
    audience: String,
    lifetime: Duration,
    client_id: Option<String>,
    tenant: Option<String>,
    /// Further claims, for attributes ([`JwtVerifier::attributes`](crate::auth::JwtVerifier::attributes)).
    claims: Map<String, Value>,
}

impl TokenMinter {
    /// Tokens signed with `secret`, issued by `issuer` for the server at `audience`, valid for
    /// five minutes.
    pub fn hs256(secret: &SecretString, issuer: &str, audience: &str) -> Self {
        crate::auth::jwt_crypto::install();
        Self {
            key: EncodingKey::from_secret(secret.expose_secret().as_bytes()),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            lifetime: Duration::from_secs(300),
            client_id: None,
            tenant: None,
            claims: Map::new(),
        }
    }

    /// How long the tokens are valid.
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// The OAuth client the tokens are issued to (`client_id`).
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// The tenant the tokens name (claim `tenant`, which
    /// [`JwtVerifier::tenant_claim`](crate::auth::JwtVerifier::tenant_claim) reads).
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// The claim `name` with `value` in every token (e.g. `roles`, `limit`, which
    /// [`JwtVerifier::attributes`](crate::auth::JwtVerifier::attributes) reads); the registered
    /// claims this minter sets (`iss`, `aud`, `sub`, `scope`, `iat`, `exp`) are not overridden.
    pub fn claim(mut self, name: impl Into<String>, value: Value) -> Self {
        self.claims.insert(name.into(), value);
        self
    }

    /// Tokens bound to `key` (`cnf.jkt`, RFC 9449): accepted only with its DPoP proofs.
    #[cfg(feature = "http")]
    pub fn bound_to(self, key: &DpopKey) -> Self {
        self.claim("cnf", json!({ "jkt": key.thumbprint() }))
    }

    /// A token for `subject` with `scopes`; a scope that is not an RFC 6749 scope-token is
    /// refused, as the verifier would refuse the token.
    pub fn mint<I, S>(&self, subject: &str, scopes: I) -> Result<String, ScopeSyntaxError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut scope = Vec::new();
        for s in scopes {
            check_scope(s.as_ref())?;
            scope.push(s.as_ref().to_owned());
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let mut claims = json!({
            "iss": self.issuer, "aud": self.audience, "sub": subject, "scope": scope.join(" "),
            "iat": now, "exp": now + self.lifetime.as_secs(),
        });
        if let Some(client) = &self.client_id {
            claims["client_id"] = json!(client);
        }
        if let Some(tenant) = &self.tenant {
            claims["tenant"] = json!(tenant);
        }
        for (name, value) in &self.claims {
            if claims.get(name).is_none() {
                claims[name] = value.clone();
            }
        }
        Ok(self.sign(&claims))
    }

    /// A token with exactly these claims (nothing added): for tokens a verifier must refuse.
    pub fn mint_claims(&self, claims: Map<String, Value>) -> String {
        self.sign(&Value::Object(claims))
    }

    fn sign(&self, claims: &Value) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.key)
            .unwrap_or_else(|e| unreachable!("HS256 signs any JSON object: {e}"))
    }
}

impl std::fmt::Debug for TokenMinter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenMinter")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

/// `principal` as the caller being served, as a tool receives it: for tests of code that binds
/// the caller to an owned table's owner or tenant column (`sql!`), outside a server. It stays
/// the caller for as long as it lives: no request ends. Feature
/// `testing`, which belongs in `[dev-dependencies]` only: resolver 2 then leaves it out of
/// the server's own build, where a call does not compile. A tool never needs it: the
/// `Principal` it takes is the caller.
///
/// ```
/// use mcp_secure::{auth::Principal, testing::as_caller};
/// assert!(as_caller(Principal::new("alice", ["notes:read"])).is_the_caller());
/// ```
#[cfg(feature = "testing")]
pub fn as_caller(principal: crate::auth::Principal) -> crate::auth::Principal {
    principal.into_caller(crate::auth::CallMark::unending())
}
