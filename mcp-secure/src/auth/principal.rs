//! The authenticated caller of a tool.

use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use rmcp::{
    RoleServer,
    handler::server::{common::FromContextPart, tool::ToolCallContext},
    service::RequestContext,
};

use crate::{auth::ScopeCatalog, security::Security};

/// Who is calling: the subject a verifier authenticated, who vouched for it (the issuer), the
/// scopes it was granted and the client the credential was issued to.
///
/// A principal's identity is its issuer and subject together ([`id`](Self::id)): the JWT
/// subject `demo` of one issuer, the API-key user `demo` and the JWT subject `demo` of another
/// issuer are three callers, with their own objects ([`super::Owned`]), rate limits and
/// sessions. The HTTP layer stamps every principal with the issuer of the verifier that
/// accepted it ([`super::TokenVerifier::issuer`]).
///
/// A tool takes it as a parameter (`caller: Principal`). Over streamable HTTP it comes from the
/// request, where an authentication layer such as [`crate::http::AuthLayer`] put it; over
/// stdio it is the principal given at start-up ([`crate::SecurityBuilder::local_principal`]).
/// An HTTP request never falls back to the start-up principal.
///
/// ```
/// use mcp_secure::auth::Principal;
/// let p = Principal::new("alice", ["notes:read"]).with_client_id("cli");
/// assert_eq!(p.subject(), "alice");
/// assert_eq!(p.issuer(), "local");
/// assert_eq!(p.id(), "local#alice");
/// assert!(p.has_scope("notes:read"));
/// assert_eq!(p.client_id(), Some("cli"));
///
/// let jwt = Principal::new("alice", ["notes:read"]).with_issuer("https://auth.example.com").unwrap();
/// assert_ne!(jwt.id(), p.id(), "the same subject of another issuer is another caller");
/// ```
#[derive(Clone)]
pub struct Principal {
    inner: Arc<Inner>,
    /// The call it was handed to a tool for ([`Principal::caller_of`]): live until the guard's
    /// call returns (or its future is dropped), so a copy kept past it (in a static, a cache,
    /// the server) is no longer the caller. The only principal `sql!` binds to an owner or
    /// tenant column.
    caller: Option<CallMark>,
}

/// A call in progress, as the principals handed to it see it: one flag, shared with the
/// [`CallEnd`] the guard holds. The guard's own, not rmcp's request token: a client reusing an
/// in-flight request id replaces rmcp's, and the first request's is then never cancelled.
#[derive(Clone)]
pub(crate) struct CallMark(Arc<AtomicBool>);

/// Ends its [`CallMark`] when dropped: held by the guard for the length of the call.
pub(crate) struct CallEnd(Arc<AtomicBool>);

impl CallMark {
    /// A call that starts now, and the value whose drop ends it.
    pub(crate) fn begin() -> (Self, CallEnd) {
        let live = Arc::new(AtomicBool::new(true));
        (Self(live.clone()), CallEnd(live))
    }

    /// A call no one ends: `testing::as_caller`'s.
    #[cfg(feature = "testing")]
    pub(crate) fn unending() -> Self {
        Self(Arc::new(AtomicBool::new(true)))
    }

    fn is_live(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

impl Drop for CallEnd {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// Two principals are equal when they are the same identity, whoever holds them.
impl PartialEq for Principal {
    fn eq(&self, other: &Self) -> bool {
        self.inner == other.inner
    }
}

impl Eq for Principal {}

#[derive(Clone, PartialEq, Eq)]
struct Inner {
    /// `issuer#subject`; the issuer has no `#`, so this names one (issuer, subject) pair.
    id: String,
    issuer_len: usize,
    scopes: Vec<String>,
    client_id: Option<String>,
    /// The tenant its issuer vouched for ([`super::check_tenant`]ed).
    tenant: Option<String>,
    /// Typed attributes ([`super::check_attribute`]ed), by name, each once.
    attributes: Vec<(String, super::Attribute)>,
    /// The key its token is bound to (`cnf.jkt`, RFC 9449): the token was only accepted with a
    /// proof of that key.
    bound_key: Option<String>,
}

/// The issuer of principals made with [`Principal::new`]: configured in the process itself
/// (a stdio server's start-up principal, tests).
pub const LOCAL_ISSUER: &str = "local";

/// The issuer of [`Principal::anonymous`].
pub const ANONYMOUS_ISSUER: &str = "anonymous";

/// Why an issuer name was refused by [`check_issuer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerError {
    message: &'static str,
}

impl fmt::Display for IssuerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message)
    }
}

impl std::error::Error for IssuerError {}

/// Checks an issuer name: not empty, at most 1024 bytes, no `#` (an RFC 8414 issuer has no
/// fragment), no whitespace, controls or invisible characters.
///
/// ```
/// use mcp_secure::auth::check_issuer;
/// assert!(check_issuer("https://auth.example.com").is_ok());
/// assert!(check_issuer("api-key").is_ok());
/// assert!(check_issuer("https://auth.example.com#x").is_err());
/// assert!(check_issuer("").is_err());
/// ```
pub fn check_issuer(issuer: &str) -> Result<(), IssuerError> {
    let err = |message| Err(IssuerError { message });
    if issuer.is_empty() || issuer.len() > 1024 {
        return err("an issuer has 1 to 1024 bytes");
    }
    if issuer.contains('#') {
        return err("an issuer has no `#` (RFC 8414: no fragment)");
    }
    if issuer
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || crate::sanitize::is_invisible(c))
    {
        return err("an issuer has no whitespace, control or invisible characters");
    }
    Ok(())
}

/// [`check_issuer`], and not one of the names of principals no verifier makes
/// ([`LOCAL_ISSUER`], [`ANONYMOUS_ISSUER`]): what a verifier may vouch as.
pub(crate) fn check_verifier_issuer(issuer: &str) -> Result<(), IssuerError> {
    check_issuer(issuer)?;
    if issuer == LOCAL_ISSUER || issuer == ANONYMOUS_ISSUER {
        return Err(IssuerError {
            message: "`local` and `anonymous` name principals no verifier made; a verifier vouches under another name",
        });
    }
    Ok(())
}

impl Principal {
    /// A principal with a subject and the scopes it was granted, vouched for by this process
    /// ([`LOCAL_ISSUER`]).
    pub fn new<S: Into<String>>(
        subject: impl Into<String>,
        scopes: impl IntoIterator<Item = S>,
    ) -> Self {
        Self::issued(LOCAL_ISSUER, &subject.into(), scopes)
    }

    /// A principal of `issuer`, which the caller has checked with [`check_issuer`].
    pub(crate) fn issued<S: Into<String>>(
        issuer: &str,
        subject: &str,
        scopes: impl IntoIterator<Item = S>,
    ) -> Self {
        debug_assert!(check_issuer(issuer).is_ok(), "{issuer:?}");
        Self {
            inner: Arc::new(Inner {
                id: format!("{issuer}#{subject}"),
                issuer_len: issuer.len(),
                scopes: scopes.into_iter().map(Into::into).collect(),
                client_id: None,
                tenant: None,
                attributes: Vec::new(),
                bound_key: None,
            }),
            caller: None,
        }
    }

    /// The same principal, vouched for by `issuer` (see [`check_issuer`]).
    pub fn with_issuer(self, issuer: &str) -> Result<Self, IssuerError> {
        check_issuer(issuer)?;
        Ok(self.issued_by(issuer))
    }

    /// [`with_issuer`](Self::with_issuer) for an issuer already checked.
    pub(crate) fn issued_by(self, issuer: &str) -> Self {
        if self.issuer() == issuer {
            return self;
        }
        let inner = Arc::unwrap_or_clone(self.inner);
        let id = format!("{issuer}#{}", &inner.id[inner.issuer_len + 1..]);
        Self {
            inner: Arc::new(Inner {
                id,
                issuer_len: issuer.len(),
                ..inner
            }),
            caller: None,
        }
    }

    /// The principal of a caller nobody authenticated, which only `public` tools accept.
    pub fn anonymous() -> Self {
        Self::issued(ANONYMOUS_ISSUER, "anonymous", std::iter::empty::<String>())
    }

    /// The same principal, issued to `client_id`.
    pub fn with_client_id(self, client_id: impl Into<String>) -> Self {
        let caller = self.caller.clone();
        let inner = Arc::unwrap_or_clone(self.inner);
        Self {
            inner: Arc::new(Inner {
                client_id: Some(client_id.into()),
                ..inner
            }),
            caller,
        }
    }

    /// The same principal, whose token is bound to the key of RFC 7638 SHA-256 thumbprint
    /// `jkt` (its `cnf.jkt` claim, RFC 9449): what a verifier sets when the token names one.
    /// The HTTP layer then accepts the token only with a DPoP proof signed by that key, never
    /// as a bearer token.
    ///
    /// ```
    /// use mcp_secure::auth::Principal;
    /// let p = Principal::new("alice", ["notes:read"]).with_bound_key("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
    /// assert_eq!(p.bound_key(), Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"));
    /// ```
    pub fn with_bound_key(self, jkt: impl Into<String>) -> Self {
        let caller = self.caller.clone();
        let inner = Arc::unwrap_or_clone(self.inner);
        Self {
            inner: Arc::new(Inner {
                bound_key: Some(jkt.into()),
                ..inner
            }),
            caller,
        }
    }

    /// The thumbprint of the key its token is bound to, if it is ([`Self::with_bound_key`]).
    pub fn bound_key(&self) -> Option<&str> {
        self.inner.bound_key.as_deref()
    }

    /// Whether this is the caller being served, as a tool receives it (the `Principal`
    /// parameter of a `#[mcp_tool]`; not a plain rmcp `#[tool]`'s), rather than a principal made with
    /// [`new`](Self::new) or changed since by [`with_issuer`](Self::with_issuer) or
    /// [`with_tenant`](Self::with_tenant). Only the caller can be bound to an owned table's
    /// owner or tenant column ([`crate::sql::owner`]): a principal made from a tool's input
    /// (the classic object-level authorization bug) renders no query.
    ///
    /// It stays the caller until its call returns (or the call's future is dropped):
    /// a copy kept for a later call (the "last caller" in a static or in the server) is not
    /// that later call's caller. While its own call still runs, a copy another call reads from
    /// shared state still is; keep principals out of shared state.
    ///
    /// ```
    /// use mcp_secure::auth::Principal;
    /// assert!(!Principal::new("alice", ["notes:read"]).is_the_caller());
    /// ```
    pub fn is_the_caller(&self) -> bool {
        self.caller.as_ref().is_some_and(CallMark::is_live)
    }

    /// The same principal, as the caller of the request whose token `call` is.
    pub(crate) fn into_caller(mut self, call: CallMark) -> Self {
        self.caller = Some(call);
        self
    }

    /// The same principal, acting for `tenant` (see [`super::check_tenant`]): what a verifier
    /// sets from a configured claim ([`JwtVerifier::tenant_claim`](super::JwtVerifier::tenant_claim)).
    pub fn with_tenant(self, tenant: &str) -> Result<Self, super::TenantError> {
        super::check_tenant(tenant)?;
        let inner = Arc::unwrap_or_clone(self.inner);
        Ok(Self {
            inner: Arc::new(Inner {
                tenant: Some(tenant.to_owned()),
                ..inner
            }),
            caller: None,
        })
    }

    /// The same principal with the attribute `name` set to `value` (see
    /// [`super::check_attribute`]): what a verifier sets from configured claims
    /// ([`JwtVerifier::attributes`](super::JwtVerifier::attributes)).
    ///
    /// ```
    /// use mcp_secure::auth::{Attribute, Principal};
    /// let p = Principal::new("alice", ["notes:read"])
    ///     .with_attribute("roles", Attribute::Texts(vec!["editor".into()]))
    ///     .unwrap();
    /// assert_eq!(p.attribute("roles"), Some(&Attribute::Texts(vec!["editor".into()])));
    /// assert_eq!(p.attribute("limit"), None);
    /// ```
    pub fn with_attribute(
        self,
        name: &str,
        value: super::Attribute,
    ) -> Result<Self, super::AttributeError> {
        super::check_attribute(name, &value)?;
        Ok(self.with_checked_attribute(name, value))
    }

    /// [`with_attribute`](Self::with_attribute) of a name and value already checked.
    pub(crate) fn with_checked_attribute(self, name: &str, value: super::Attribute) -> Self {
        let mut inner = Arc::unwrap_or_clone(self.inner);
        inner.attributes.retain(|(n, _)| n != name);
        inner.attributes.push((name.to_owned(), value));
        Self {
            inner: Arc::new(inner),
            caller: None,
        }
    }

    /// The attribute `name`, if the caller has it.
    pub fn attribute(&self, name: &str) -> Option<&super::Attribute> {
        self.inner
            .attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    /// Every attribute the caller has, by name.
    pub fn attributes(&self) -> impl Iterator<Item = (&str, &super::Attribute)> {
        self.inner.attributes.iter().map(|(n, v)| (n.as_str(), v))
    }

    /// The tenant the caller acts for, as its issuer named it; unique only within its
    /// [`issuer`](Self::issuer): key anything per tenant by [`tenant_key`](Self::tenant_key).
    pub fn tenant(&self) -> Option<&str> {
        self.inner.tenant.as_deref()
    }

    /// What rows of a tenant-owned table are keyed by: `issuer#tenant` (`issuer#` for a
    /// caller without a tenant, which no named tenant equals).
    ///
    /// ```
    /// use mcp_secure::auth::Principal;
    /// let alice = Principal::new("alice", ["notes:read"]).with_tenant("acme").unwrap();
    /// assert_eq!(alice.tenant_key(), "local#acme");
    /// let other = alice.clone().with_issuer("https://auth.example.com").unwrap();
    /// assert_ne!(other.tenant_key(), alice.tenant_key(), "another issuer's acme");
    /// assert_eq!(Principal::new("bob", ["notes:read"]).tenant_key(), "local#");
    /// ```
    pub fn tenant_key(&self) -> String {
        super::tenant::tenant_key(self.issuer(), self.tenant())
    }

    /// The authenticated subject (a user or service id), unique only within its
    /// [`issuer`](Self::issuer): key anything per caller by [`id`](Self::id).
    pub fn subject(&self) -> &str {
        &self.inner.id[self.inner.issuer_len + 1..]
    }

    /// Who vouched for the subject: a JWT's `iss`, a verifier's name (`api-key`), or
    /// [`LOCAL_ISSUER`].
    pub fn issuer(&self) -> &str {
        &self.inner.id[..self.inner.issuer_len]
    }

    /// The caller's identity, `issuer#subject`: what objects are owned by, rate limits are
    /// kept per, and sessions are bound to. Two principals have the same id only if they have
    /// the same issuer and subject.
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// The scopes granted to this caller, as given by the credential.
    pub fn scopes(&self) -> &[String] {
        &self.inner.scopes
    }

    /// The client the credential was issued to, when the credential says.
    pub fn client_id(&self) -> Option<&str> {
        self.inner.client_id.as_deref()
    }

    /// Whether this caller holds exactly `scope` (no implication; see [`Self::is_granted`]).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.inner.scopes.iter().any(|s| s == scope)
    }

    /// Whether this caller holds `scope` itself or a scope that implies it in `catalog`.
    pub fn is_granted(&self, scope: &str, catalog: &ScopeCatalog) -> bool {
        self.inner
            .scopes
            .iter()
            .any(|held| catalog.grants(held, scope))
    }

    /// The caller of this request: from the HTTP request's extensions when the request came
    /// over HTTP, otherwise the start-up principal of the server's [`Security`]. Not
    /// [`is_the_caller`](Self::is_the_caller): a tool can edit its copy of the context, so
    /// only the `Principal` handed to it before its code runs is.
    pub fn from_request(ctx: &RequestContext<RoleServer>) -> Option<Self> {
        #[cfg(feature = "http")]
        if let Some(parts) = ctx.extensions.get::<http::request::Parts>() {
            return parts.extensions.get::<Principal>().cloned();
        }
        Security::from_request(ctx)?.local_principal().cloned()
    }

    /// [`from_request`](Self::from_request), as the caller of the call `call` marks: what the
    /// guard hands a tool, before the tool's own code runs (a tool can edit its own copy of the
    /// request context, so what it reads there later is not the caller).
    pub(crate) fn caller_of(ctx: &RequestContext<RoleServer>, call: CallMark) -> Option<Self> {
        Self::from_request(ctx).map(|principal| principal.into_caller(call))
    }
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Principal")
            .field("issuer", &self.issuer())
            .field("subject", &self.subject())
            .field("scopes", &self.inner.scopes)
            .field("client_id", &self.inner.client_id)
            .field("tenant", &self.inner.tenant)
            .field("attributes", &self.inner.attributes)
            .finish()
    }
}

/// Lets a plain rmcp `#[tool]` take `Principal` too; a call without one is refused. It is not
/// [`is_the_caller`](Principal::is_the_caller): nothing of this library runs when such a tool
/// returns, to end the mark, so only a `#[mcp_tool]` binds its caller to owned tables.
impl<S> FromContextPart<ToolCallContext<'_, S>> for Principal {
    fn from_context_part(context: &mut ToolCallContext<'_, S>) -> Result<Self, rmcp::ErrorData> {
        Principal::from_request(&context.request_context).ok_or_else(|| {
            rmcp::ErrorData::invalid_request("unauthenticated: this call needs credentials", None)
        })
    }
}
