//! A server's tools as one value: the rmcp router and the policy of each tool, from which the
//! HTTP layer, the manifest and the entry points take everything they need.

use std::{ops::Deref, sync::Arc};

use rmcp::handler::server::router::tool::ToolRouter;

use super::{Access, ToolPolicy};
use crate::auth::ScopeCatalog;

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
pub struct Tools<S> {
    router: ToolRouter<S>,
    policies: Arc<Vec<&'static ToolPolicy>>,
}

impl<S> Clone for Tools<S> {
    fn clone(&self) -> Self {
        Self {
            router: self.router.clone(),
            policies: self.policies.clone(),
        }
    }
}

impl<S: Send + Sync + 'static> Tools<S> {
    /// The router and the policies of its guarded tools (what generated code calls).
    pub fn new(router: ToolRouter<S>, policies: &'static [ToolPolicy]) -> Self {
        Self {
            router,
            policies: Arc::new(policies.iter().collect()),
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

    fn add(self, other: Self) -> Self {
        let mut policies = Vec::clone(&self.policies);
        policies.extend(other.policies.iter());
        Self {
            router: self.router + other.router,
            policies: Arc::new(policies),
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
