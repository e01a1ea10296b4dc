use mcp_secure::prelude::*;

mod auth {
    mcp_secure::scopes! {
        "notes:read",
    }
}

pub struct Server;

#[mcp_tools]
impl Server {
    #[mcp_tool(scope = "notes:read", rate = "10/s")]
    async fn read(&self) -> String {
        String::new()
    }

    #[mcp_tool(public, rate = "10/s")]
    async fn status(&self) -> String {
        String::new()
    }
}

fn main() {}
