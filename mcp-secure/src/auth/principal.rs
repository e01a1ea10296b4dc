//! The authenticated caller of a tool.

use std::{fmt, sync::Arc};

use rmcp::{
    RoleServer,
    handler::server::{common::FromContextPart, tool::ToolCallContext},
    service::RequestContext,
};

use crate::{auth::ScopeCatalog, security::Security};

/// Who is calling: the subject a verifier authenticated, the scopes it granted and the client
/// the credential was issued to.
///
/// A tool takes it as a parameter (`caller: Principal`). Over streamable HTTP it comes from the
/// request, where an authentication layer such as [`crate::http::ApiKeyLayer`] put it; over
/// stdio it is the principal given at start-up ([`crate::SecurityBuilder::local_principal`]).
/// An HTTP request never falls back to the start-up principal.
///
/// ```
/// use mcp_secure::auth::Principal;
/// let p = Principal::new("alice", ["notes:read"]).with_client_id("cli");
/// assert_eq!(p.subject(), "alice");
/// assert!(p.has_scope("notes:read"));
/// assert_eq!(p.client_id(), Some("cli"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Principal {
    inner: Arc<Inner>,
}

#[derive(Clone, PartialEq, Eq)]
struct Inner {
    subject: String,
    scopes: Vec<String>,
    client_id: Option<String>,
}

impl Principal {
    /// A principal with a subject and the scopes it was granted.
    pub fn new<S: Into<String>>(
        subject: impl Into<String>,
        scopes: impl IntoIterator<Item = S>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                subject: subject.into(),
                scopes: scopes.into_iter().map(Into::into).collect(),
                client_id: None,
            }),
        }
    }

    /// The principal of a caller nobody authenticated, which only `public` tools accept.
    pub fn anonymous() -> Self {
        Self::new("anonymous", std::iter::empty::<String>())
    }

    /// The same principal, issued to `client_id`.
    pub fn with_client_id(self, client_id: impl Into<String>) -> Self {
        let inner = Arc::unwrap_or_clone(self.inner);
        Self {
            inner: Arc::new(Inner {
                client_id: Some(client_id.into()),
                ..inner
            }),
        }
    }

    /// The authenticated subject (a user or service id).
    pub fn subject(&self) -> &str {
        &self.inner.subject
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
    /// over HTTP, otherwise the start-up principal of the installed [`Security`].
    pub fn from_request(ctx: &RequestContext<RoleServer>) -> Option<Self> {
        match ctx.extensions.get::<http::request::Parts>() {
            Some(parts) => parts.extensions.get::<Principal>().cloned(),
            None => Security::global().local_principal().cloned(),
        }
    }
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Principal")
            .field("subject", &self.inner.subject)
            .field("scopes", &self.inner.scopes)
            .field("client_id", &self.inner.client_id)
            .finish()
    }
}

/// Lets a plain rmcp `#[tool]` take `Principal` too; a call without one is refused.
impl<S> FromContextPart<ToolCallContext<'_, S>> for Principal {
    fn from_context_part(context: &mut ToolCallContext<'_, S>) -> Result<Self, rmcp::ErrorData> {
        Principal::from_request(&context.request_context).ok_or_else(|| {
            rmcp::ErrorData::invalid_request("unauthenticated: this call needs credentials", None)
        })
    }
}
