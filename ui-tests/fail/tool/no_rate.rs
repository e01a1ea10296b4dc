use mcp_secure::prelude::*;

pub struct Server;

#[mcp_tools]
impl Server {
    #[mcp_tool(public)]
    async fn unmetered(&self) -> String {
        String::new()
    }
}

#[mcp_tools(router = other_router, default_rate = "fast")]
impl Server {
    #[mcp_tool(public)]
    async fn also_unmetered(&self) -> String {
        String::new()
    }
}

fn main() {}
