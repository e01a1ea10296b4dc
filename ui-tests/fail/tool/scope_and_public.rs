use mcp_secure::prelude::*;

mcp_secure::scopes! { "notes:read" }

pub struct Server;

#[mcp_tools]
impl Server {
    #[mcp_tool(scope = "notes:read", public, rate = "10/s")]
    async fn both(&self) -> String {
        String::new()
    }
}

fn main() {}
