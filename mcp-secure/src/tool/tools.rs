//! A server's tools as one value: the rmcp router and the policy of each tool, from which the
//! HTTP layer, the manifest and the entry points take everything they need.

use std::{ops::Deref, sync::Arc};

use rmcp::{
    RoleServer,
    handler::server::router::tool::ToolRouter,
    model::{CacheScope, ListToolsResult, ProtocolVersion, ResultType, Tool},
    service::RequestContext,
};

use super::{Access, ToolPolicy};
use crate::auth::{Principal, ScopeCatalog};

/// The tools of a server: its rmcp router (every route guarded) with the policy of each tool and
/// the scopes those policies were declared against. What `#[mcp_tools]` generates as
/// `Self::tools()`.
///
/// Hold one in the server value and point rmcp's `#[tool_handler]` at it
/// (`#[tool_handler(router = self.tools)]`: it dereferences to the router). Hand the same value
/// to [`http::Endpoint`](crate::http::Endpoint) and [`Manifest`](crate::manifest::Manifest), so
/// that the 403 scope check, the scopes the metadata advertises and the manifest cannot be left
/// out or disagree with the tools. Cloning it shares the routes' schemas: building the router
/// (every schema) happens once per server, not once per session.
///
/// Several `#[mcp_tools]` impl blocks (`#[mcp_tools(router = name)]`) combine with `+`.
///
/// [`listed_by_authorization`](Self::listed_by_authorization) makes `tools/list` show each
/// caller only the tools its scopes allow.
pub struct Tools<S> {
    router: ToolRouter<S>,
    policies: Arc<Vec<&'static ToolPolicy>>,
    by_authorization: bool,
}

impl<S> Clone for Tools<S> {
    fn clone(&self) -> Self {
        Self {
            router: self.router.clone(),
            policies: self.policies.clone(),
            by_authorization: self.by_authorization,
        }
    }
}

impl<S: Send + Sync + 'static> Tools<S> {
    /// The router and the policies of its guarded tools (what generated code calls). Each
    /// tool's definition gets its digest in its `_meta` ([`super::digest`]).
    pub fn new(mut router: ToolRouter<S>, policies: &'static [ToolPolicy]) -> Self {
        for route in router.map.values_mut() {
            super::digest::seal(&mut route.attr);
        }
        Self {
            router,
            policies: Arc::new(policies.iter().collect()),
            by_authorization: false,
        }
    }

    /// Lists to each caller only the tools its scopes allow (implication included), in name
    /// order: the same listing for the same authorization, over HTTP and stdio. A tool hidden
    /// this way can still be called; the call is refused as any call without the scope is
    /// (over HTTP, the `403` step-up challenge), so a client that knows its name can step up.
    ///
    /// Turn it on when callers (and the models behind them) should not see what they cannot
    /// use; leave it off when clients discover what to ask for from the listing, since a
    /// hidden tool cannot be discovered there. Needs the listing of
    /// [`tool_handler`](crate::tool_handler) (the prelude's): a listing without the request
    /// (rmcp's own `#[tool_handler]`, or [`Self::list_all`]) shows nothing rather than
    /// everything.
    pub fn listed_by_authorization(mut self) -> Self {
        self.by_authorization = true;
        self
    }

    /// Whether [`Self::listed_by_authorization`] is on.
    pub fn is_listed_by_authorization(&self) -> bool {
        self.by_authorization
    }

    /// Every tool, in name order; none when the listing is by authorization, since there is no
    /// caller to decide for (see [`Self::list`]).
    pub fn list_all(&self) -> Vec<Tool> {
        if self.by_authorization {
            tracing::error!(target: "mcp_secure", "tools listed by authorization were listed without a request: serve them with mcp_secure's #[tool_handler] (the prelude's); nothing is listed");
            return Vec::new();
        }
        self.router.list_all()
    }

    /// The `tools/list` answer for the request `context`: every tool, or, when listed by
    /// authorization, those the request's caller may call (public tools only for an anonymous
    /// one), in name order.
    pub fn list(&self, context: &RequestContext<RoleServer>) -> ListToolsResult {
        let (tools, scope) = match self.by_authorization {
            false => (self.router.list_all(), CacheScope::Public),
            true => {
                let caller = Principal::from_request(context);
                let tools = self
                    .router
                    .list_all()
                    .into_iter()
                    .filter(|tool| self.may_call(caller.as_ref(), &tool.name))
                    .collect();
                // The listing varies with the caller: no shared cache may serve it to another.
                (tools, CacheScope::Private)
            }
        };
        listing(tools, scope, context)
    }

    /// Whether `caller` may call the tool `name`: public, or its scope granted. A tool without a
    /// policy (not guarded) is callable by whoever reaches the server.
    fn may_call(&self, caller: Option<&Principal>, name: &str) -> bool {
        match self.policy(name).map(ToolPolicy::access) {
            None | Some(Access::Public) => true,
            Some(Access::Scope(scope, catalog)) => {
                caller.is_some_and(|caller| caller.is_granted(scope, catalog))
            }
        }
    }

    /// The rmcp router.
    pub fn router(&self) -> &ToolRouter<S> {
        &self.router
    }

    /// The policy of each guarded tool, in declaration order.
    pub fn policies(&self) -> &[&'static ToolPolicy] {
        &self.policies
    }

    /// The policy of the tool `name`, if it is guarded.
    pub fn policy(&self, name: &str) -> Option<&'static ToolPolicy> {
        self.policies.iter().copied().find(|p| p.name() == name)
    }

    /// The scopes the tools were declared against (`crate::MCP_SCOPES`), when a tool has one.
    pub fn scopes(&self) -> Option<&'static ScopeCatalog> {
        self.policies.iter().find_map(|p| match p.access() {
            Access::Scope(_, catalog) => Some(catalog),
            Access::Public => None,
        })
    }
}

impl<S> Deref for Tools<S> {
    type Target = ToolRouter<S>;

    fn deref(&self) -> &ToolRouter<S> {
        &self.router
    }
}

impl<S: Send + Sync + 'static> std::ops::Add for Tools<S> {
    type Output = Self;

    /// # Panics
    ///
    /// When both name a tool alike: rmcp would route the call to one while the policy of the
    /// other decided its scope check and its manifest entry. Two tools of one server need two
    /// names.
    fn add(self, other: Self) -> Self {
        if let Some(name) = self
            .router
            .map
            .keys()
            .find(|name| other.router.map.contains_key(*name))
        {
            panic!(
                "two tools of this server are named `{name}`: rename one (#[mcp_tool(name = \"…\")]) before combining their Tools with `+`"
            );
        }
        let mut policies = Vec::clone(&self.policies);
        policies.extend(other.policies.iter());
        // Each side's tools were sealed when it was made.
        Self {
            router: self.router + other.router,
            policies: Arc::new(policies),
            by_authorization: self.by_authorization || other.by_authorization,
        }
    }
}

impl<S> std::fmt::Debug for Tools<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tools")
            .field(
                "policies",
                &self.policies.iter().map(|p| p.name()).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// A `tools/list` answer: the cache hints of spec 2026-07-28 for a client that negotiated it
/// (fresh for no time, as rmcp's own listing says), none for an older one.
fn listing(
    tools: Vec<Tool>,
    scope: CacheScope,
    context: &RequestContext<RoleServer>,
) -> ListToolsResult {
    let hints = context
        .protocol_version()
        .is_some_and(|version| version >= ProtocolVersion::V_2026_07_28);
    ListToolsResult {
        result_type: Some(ResultType::COMPLETE),
        tools,
        meta: None,
        next_cursor: None,
        ttl_ms: hints.then_some(0),
        cache_scope: hints.then_some(scope),
    }
}

/// What `#[tool_handler]`'s `tools/list` asks of its router: [`Tools`] lists by authorization
/// when told to; a plain rmcp [`ToolRouter`] lists everything, as rmcp does.
#[doc(hidden)]
pub trait ToolListing {
    /// The answer to `tools/list` for the request `context`.
    fn list(&self, context: &RequestContext<RoleServer>) -> ListToolsResult;
}

impl<S: Send + Sync + 'static> ToolListing for Tools<S> {
    fn list(&self, context: &RequestContext<RoleServer>) -> ListToolsResult {
        Tools::list(self, context)
    }
}

impl<S: Send + Sync + 'static> ToolListing for ToolRouter<S> {
    fn list(&self, context: &RequestContext<RoleServer>) -> ListToolsResult {
        listing(self.list_all(), CacheScope::Public, context)
    }
}
