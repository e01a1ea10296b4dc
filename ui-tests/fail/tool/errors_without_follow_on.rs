//! A mistake in `#[mcp_tools]` is reported alone: the router and policies functions that the
//! rest of the server uses still exist, so no follow-on error hides it.
use mcp_secure::prelude::*;

#[derive(Clone)]
pub struct Server;

#[mcp_tools]
impl Server {
    #[mcp_tool(public, rate = "10/s", limit = "5")]
    async fn listed(&self) -> String {
        String::new()
    }
}

pub struct Other;

#[mcp_tools(router = named_router, default_rate = "fast")]
impl Other {
    #[mcp_tool(public)]
    async fn other(&self) -> String {
        String::new()
    }
}

fn main() {
    let _router = Server::tool_router();
    let _policies = Server::tool_policies();
    let _named = Other::named_router();
    let _named_policies = Other::named_router_policies();
}
