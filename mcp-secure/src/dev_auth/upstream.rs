//! The OAuth proxy's upstream: one identity provider, to which the proxy is a pre-registered
//! confidential client. OpenID Connect discovery; the code flow with PKCE (S256), a `state`
//! and a `nonce` of its own per sign-in; the code exchanged with the client's secret; the ID
//! token checked (the provider's published keys, `iss`, `aud` naming this client, `exp`, the
//! `nonce` sent, `azp` when several audiences) before its `sub` is believed.

use std::fmt;

use base64::Engine;
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{
    auth::{Audience, JwtVerifier},
    fetch::{FetchPolicy, Fetcher},
    secret::SecretString,
};

/// The identity provider the proxy signs users in with, and the client it is registered as.
pub struct Upstream {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    client_id: String,
    client_secret: SecretString,
    scope: String,
    /// The provider sends `iss` with its authorization responses (RFC 9207): then it must.
    iss_in_response: bool,
    id_tokens: JwtVerifier,
    http: Fetcher,
}

/// Why the upstream could not be configured, or a sign-in through it failed. The reason is
/// for the operator's log; the provider's answers are never quoted, nor the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamError(String);

impl UpstreamError {
    fn new(reason: impl Into<String>) -> Self {
        Self(reason.into())
    }
}

impl fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "upstream identity provider: {}", self.0)
    }
}

impl std::error::Error for UpstreamError {}

/// A sign-in started at the provider: where to send the browser, and what its answer must
/// match (kept by the proxy until the callback, used once).
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct UpstreamRequest {
    pub(crate) url: String,
    pub(crate) state: String,
    pub(crate) nonce: String,
    pub(crate) verifier: String,
}

/// Who the provider says signed in. The provider's tokens are not kept: nothing here uses
/// them, and the proxy never passes them on.
pub(crate) struct UpstreamIdentity {
    pub(crate) subject: String,
    /// The ID token's claims, for the configured attributes.
    pub(crate) claims: Map<String, Value>,
    /// The provider's refresh token, if it issued one (many need a scope such as
    /// `offline_access` for it): the proxy keeps it, sealed, to ask the provider again at
    /// each refresh.
    pub(crate) refresh_token: Option<zeroize::Zeroizing<String>>,
}

/// Why the provider did not renew a user's sign-in.
#[derive(Debug)]
pub(crate) enum UpstreamRefresh {
    /// It refused: the user is no longer signed in there (disabled, revoked, logged out).
    Refused,
    /// It could not be asked, or answered nonsense: decide later.
    Unavailable(String),
}

#[derive(Deserialize)]
struct TokenResponse {
    id_token: Option<String>,
    token_type: Option<String>,
    refresh_token: Option<String>,
}

impl Upstream {
    /// The provider at `issuer` (`https`, or `http` on loopback), found by discovery (RFC 8414
    /// or OpenID Connect; the document must name `issuer` exactly and publish both
    /// endpoints), signing users in with `scopes` (`openid` is always asked for) as the
    /// confidential client `client_id` with `client_secret` (`client_secret_basic`).
    pub async fn discover(
        issuer: &str,
        client_id: &str,
        client_secret: SecretString,
        scopes: &[String],
        policy: &FetchPolicy,
    ) -> Result<Self, UpstreamError> {
        if client_id.is_empty() || client_id.chars().any(char::is_control) {
            return Err(UpstreamError::new(
                "the client id is empty or holds a control character",
            ));
        }
        if client_secret.expose_secret().is_empty() {
            return Err(UpstreamError::new("the client secret is empty"));
        }
        let (id_tokens, document) =
            JwtVerifier::discover_document(issuer, Audience::Url(client_id.to_owned()), policy)
                .await
                .map_err(|e| UpstreamError::new(e.to_string()))?;
        let endpoint = |name: &str| -> Result<String, UpstreamError> {
            let url = document
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| UpstreamError::new(format!("its metadata names no `{name}`")))?;
            crate::auth::checked_url(url, crate::auth::JwtConfigErrorKind::Discovery, name)
                .map_err(|e| UpstreamError::new(e.to_string()))?;
            Ok(url.to_owned())
        };
        let authorization_endpoint = endpoint("authorization_endpoint")?;
        let token_endpoint = endpoint("token_endpoint")?;
        if let Some(Value::Array(methods)) = document.get("code_challenge_methods_supported")
            && !methods.iter().any(|m| m == "S256")
        {
            return Err(UpstreamError::new(
                "it does not support PKCE with S256 (`code_challenge_methods_supported`)",
            ));
        }
        let mut scope = vec!["openid".to_owned()];
        for s in scopes {
            crate::auth::check_scope(s).map_err(|e| UpstreamError::new(e.to_string()))?;
            if !scope.contains(s) {
                scope.push(s.clone());
            }
        }
        let http = Fetcher::new(policy)
            .map_err(|e| UpstreamError::new(format!("the HTTP client: {e}")))?;
        Ok(Self {
            issuer: issuer.to_owned(),
            authorization_endpoint,
            token_endpoint,
            client_id: client_id.to_owned(),
            client_secret,
            scope: scope.join(" "),
            iss_in_response: document
                .get("authorization_response_iss_parameter_supported")
                .is_some_and(|v| v == true),
            id_tokens,
            http,
        })
    }

    /// The provider's issuer: the issuer of the principals it signs in.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Its authorization endpoint (the consent page lets its form lead there).
    pub(crate) fn authorization_url(&self) -> Option<url::Url> {
        url::Url::parse(&self.authorization_endpoint).ok()
    }

    /// A new sign-in, answered at `redirect_uri` (the proxy's callback).
    pub(crate) fn request(&self, redirect_uri: &str) -> UpstreamRequest {
        let state = super::random_token();
        let nonce = super::random_token();
        let verifier = super::random_token();
        let challenge = super::base64url(&Sha256::digest(verifier.as_bytes()));
        let mut url = match url::Url::parse(&self.authorization_endpoint) {
            Ok(url) => url,
            Err(_) => unreachable!("checked when discovered"),
        };
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", &self.scope)
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        UpstreamRequest {
            url: url.into(),
            state,
            nonce,
            verifier,
        }
    }

    /// Whether a callback's `iss` (RFC 9207) is this provider's: required when the provider
    /// says it sends one, compared exactly when present.
    pub(crate) fn accepts_iss(&self, iss: Option<&str>) -> bool {
        match iss {
            Some(iss) => iss == self.issuer,
            None => !self.iss_in_response,
        }
    }

    /// Exchanges the callback's `code` for tokens, and checks the ID token against `nonce`.
    pub(crate) async fn finish(
        &self,
        code: &str,
        request: &UpstreamRequest,
        redirect_uri: &str,
    ) -> Result<UpstreamIdentity, UpstreamError> {
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "authorization_code")
            .append_pair("code", code)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("code_verifier", &request.verifier)
            .finish();
        let parsed = match self.token_request(form).await {
            Ok(parsed) => parsed,
            Err(UpstreamRefresh::Refused) => {
                return Err(UpstreamError::new("its token endpoint refused the code"));
            }
            Err(UpstreamRefresh::Unavailable(why)) => return Err(UpstreamError::new(why)),
        };
        if !parsed
            .token_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("bearer") || t.eq_ignore_ascii_case("dpop"))
        {
            return Err(UpstreamError::new(
                "its token response names no usable `token_type`",
            ));
        }
        let id_token = parsed
            .id_token
            .ok_or_else(|| UpstreamError::new("its token response has no `id_token`"))?;
        let claims: Map<String, Value> = self
            .id_tokens
            .verified_claims(&id_token)
            .await
            .map_err(|e| UpstreamError::new(format!("its ID token: {}", e.reason())))?;
        let nonce = claims.get("nonce").and_then(Value::as_str).unwrap_or("");
        if !bool::from(nonce.as_bytes().ct_eq(request.nonce.as_bytes())) {
            return Err(UpstreamError::new(
                "its ID token's `nonce` is not the one sent",
            ));
        }
        // OpenID Connect Core §3.1.3.7: an ID token for several audiences names its `azp`.
        if let Some(Value::Array(audiences)) = claims.get("aud")
            && audiences.len() > 1
            && claims.get("azp").and_then(Value::as_str) != Some(self.client_id.as_str())
        {
            return Err(UpstreamError::new(
                "its ID token has several audiences and its `azp` is not this client",
            ));
        }
        let subject = claims
            .get("sub")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty() && s.len() <= 255 && !s.chars().any(char::is_control))
            .ok_or_else(|| UpstreamError::new("its ID token has no usable `sub`"))?
            .to_owned();
        Ok(UpstreamIdentity {
            subject,
            claims,
            refresh_token: parsed.refresh_token.map(zeroize::Zeroizing::new),
        })
    }

    /// Asks the provider to renew the sign-in of the user whose refresh token is `token`: its
    /// next refresh token if it rotated it.
    pub(crate) async fn refresh(
        &self,
        token: &str,
    ) -> Result<Option<zeroize::Zeroizing<String>>, UpstreamRefresh> {
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "refresh_token")
            .append_pair("refresh_token", token)
            .finish();
        Ok(self
            .token_request(form)
            .await?
            .refresh_token
            .map(zeroize::Zeroizing::new))
    }

    /// A request to the provider's token endpoint, as the proxy's client
    /// (`client_secret_basic`); its answer's body is never quoted.
    async fn token_request(&self, form: String) -> Result<TokenResponse, UpstreamRefresh> {
        let unavailable =
            |why: String| UpstreamRefresh::Unavailable(format!("its token endpoint: {why}"));
        // RFC 6749 §2.3.1: each form-encoded before they are joined.
        let encode =
            |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            encode(&self.client_id),
            encode(self.client_secret.expose_secret())
        ));
        let post = self
            .http
            .request(reqwest::Method::POST, &self.token_endpoint)
            .map_err(|e| unavailable(e.to_string()))?
            .header("Authorization", format!("Basic {basic}"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Accept", "application/json")
            .body(form);
        let response = Fetcher::send(post)
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        let status = response.status();
        // RFC 6749 §5.2: a refused grant is a 400 (`invalid_grant`), or a 401 for the client.
        if status == reqwest::StatusCode::BAD_REQUEST || status == reqwest::StatusCode::UNAUTHORIZED
        {
            return Err(UpstreamRefresh::Refused);
        }
        if !status.is_success() {
            return Err(unavailable(format!("it answered {status}")));
        }
        let body = crate::fetch::read_capped(response, 64 * 1024)
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        serde_json::from_slice(&body)
            .map_err(|_| unavailable("its answer is not a token response".into()))
    }
}

impl fmt::Debug for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upstream")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}
