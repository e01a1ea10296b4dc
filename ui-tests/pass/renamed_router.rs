// `router = name` renames the router, its policies and its `Tools`; two impls of one type can
// each have one, and their `Tools` combine with `+`; `default_rate` gives a rate to the tools
// of an impl that state none.
use mcp_secure::prelude::*;

#[derive(Clone)]
pub struct Server;

#[mcp_tools(router = admin_router)]
impl Server {
    #[mcp_tool(public, rate = "10/s")]
    async fn status(&self) -> String {
        "ok".into()
    }
}

#[mcp_tools(default_rate = "20/min")]
impl Server {
    #[mcp_tool(public)]
    async fn version(&self) -> String {
        "1".into()
    }
}

fn main() {
    let all = Server::tool_router() + Server::admin_router();
    assert_eq!(all.list_all().len(), 2);
    assert_eq!(Server::admin_router_policies()[0].name(), "status");
    assert_eq!(Server::tool_policies()[0].rate().to_string(), "20/min");
    let tools = Server::tools() + Server::admin_router_tools();
    assert_eq!(tools.list_all().len(), 2);
    let names: Vec<_> = tools.policies().iter().map(|p| p.name()).collect();
    assert_eq!(names, ["version", "status"]);
    assert!(tools.policy("status").is_some() && tools.scopes().is_none());
}
