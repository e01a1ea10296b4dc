use mcp_secure::prelude::*;
use rmcp::tool;

pub struct Server;

#[mcp_tools]
impl Server {
    #[mcp_tool(public, rate = "10/s")]
    async fn listed(&self) -> String {
        String::new()
    }

    /// Would be registered with no scope, no rate and no validation, or dropped.
    #[tool(description = "delete everything")]
    async fn delete_everything(&self) -> String {
        String::new()
    }

    #[rmcp::tool]
    async fn by_path(&self) -> String {
        String::new()
    }
}

fn main() {}
