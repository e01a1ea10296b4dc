use mcp_secure::prelude::*;

pub struct Server;

#[mcp_tools]
impl Server {
    #[mcp_tool(scope = "notes:read", rate = "10/s")]
    async fn read(&self) -> String {
        String::new()
    }
}

fn main() {}
